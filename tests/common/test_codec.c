/* cw_base64 and cw_float: exact encodings (RFC 4648 test vectors, packed
 * float32 bit patterns) and "%.9g" byte for byte, read back to the same
 * float. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_base64.h"
#include "cw_float.h"
#include "cw_test.h"

static void expect_b64(const char *plain, const char *want)
{
    char out[64];
    unsigned char back[64];
    size_t n = strlen(plain);
    CU_ASSERT_EQUAL(cw_base64_encode(plain, n, out), strlen(want));
    CU_ASSERT_STRING_EQUAL(out, want);
    CU_ASSERT_EQUAL(CW_BASE64_ENCODED_LEN(n), strlen(want));
    long got = cw_base64_decode(want, strlen(want), back, sizeof back);
    CU_ASSERT_EQUAL(got, (long)n);
    CU_ASSERT(got >= 0 && memcmp(back, plain, n) == 0);
}

static void test_rfc4648(void)
{
    expect_b64("", "");
    expect_b64("f", "Zg==");
    expect_b64("fo", "Zm8=");
    expect_b64("foo", "Zm9v");
    expect_b64("foob", "Zm9vYg==");
    expect_b64("fooba", "Zm9vYmE=");
    expect_b64("foobar", "Zm9vYmFy");
    /* every alphabet character, + and / included */
    unsigned char all[48];
    for (int i = 0; i < 48; i++)
        all[i] = (unsigned char)(i * 5 + 3);
    char out[80];
    unsigned char back[48];
    cw_base64_encode("\xfb\xff\xbf", 3, out);
    CU_ASSERT_STRING_EQUAL(out, "+/+/");
    cw_base64_encode(all, sizeof all, out);
    CU_ASSERT_EQUAL(cw_base64_decode(out, strlen(out), back, sizeof back), 48);
    CU_ASSERT(memcmp(all, back, 48) == 0);
}

static void test_decode_refuses(void)
{
    unsigned char b[16];
    const char *bad[] = {
        "Zg",        /* not a multiple of 4 */
        "Zg=",       /* same */
        "Z===",      /* three pads */
        "Zg==Zg==",  /* padding before the end */
        "Zh==",      /* unused bits set: not the one encoding of "f" */
        "Zm9=",      /* same for two bytes */
        "Zm9v\n",    /* white space */
        "Zm-v",      /* URL-safe alphabet */
        "Zm_v",
        "=Zm9",
        "Zm=v",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(cw_base64_decode(bad[i], strlen(bad[i]), b, sizeof b), -1);
    CU_ASSERT_EQUAL(cw_base64_decode("Zm9vYmFy", 8, b, 5), -1);   /* too small a buffer */
    CU_ASSERT_EQUAL(cw_base64_decode("Zm9vYmFy", 8, b, 6), 6);
}

static void test_f32le(void)
{
    /* 1.0f = 00 00 80 3f, -2.0f = 00 00 00 c0, 0.5f = 00 00 00 3f (little-endian) */
    const float v[3] = { 1.0f, -2.0f, 0.5f };
    char out[CW_BASE64_ENCODED_LEN(12) + 1];
    CU_ASSERT_EQUAL(cw_base64_encode_f32le(v, 3, out), 16);
    CU_ASSERT_STRING_EQUAL(out, "AACAPwAAAMAAAAA/");
    float back[4];
    CU_ASSERT_EQUAL(cw_base64_decode_f32le(out, 16, back, 4), 3);
    CU_ASSERT(memcmp(back, v, sizeof v) == 0);
    CU_ASSERT_EQUAL(cw_base64_decode_f32le(out, 16, back, 2), -1);      /* more than max */
    CU_ASSERT_EQUAL(cw_base64_decode_f32le("AACAPwAA", 8, back, 4), -1); /* 6 bytes */
    CU_ASSERT_EQUAL(cw_base64_decode_f32le("AACAPw==", 8, back, 4), 1);
    CU_ASSERT_EQUAL(back[0], 1.0f);
    /* bit-identical round trip of odd values: subnormal, -0, max, NaN payload */
    uint32_t bits[5] = { 0x00000001u, 0x80000000u, 0x7f7fffffu, 0x7fc01234u, 0x3eaaaaabu };
    float f[5], g[5];
    memcpy(f, bits, sizeof f);
    char o2[CW_BASE64_ENCODED_LEN(20) + 1];
    cw_base64_encode_f32le(f, 5, o2);
    CU_ASSERT_EQUAL(cw_base64_decode_f32le(o2, strlen(o2), g, 5), 5);
    CU_ASSERT(memcmp(f, g, sizeof f) == 0);
}

/* 1 when cw_float_format(v) is printf's "%.9g" and reads back as v. */
static int same_as_printf(float v)
{
    char a[CW_FLOAT_FMT_MAX + 1], b[64];
    size_t n = cw_float_format(v, a);
    snprintf(b, sizeof b, "%.9g", (double)v);
    if (strcmp(a, b) != 0 || n != strlen(b)) {
        fprintf(stderr, "float %a: got '%s', printf '%s'\n", (double)v, a, b);
        return 0;
    }
    if (isfinite(v) && strtof(a, NULL) != v && !(v == 0.0f)) {
        fprintf(stderr, "float %a: '%s' does not read back\n", (double)v, a);
        return 0;
    }
    return 1;
}

static void test_float_exact_cases(void)
{
    char out[CW_FLOAT_FMT_MAX + 1];
    struct { float v; const char *want; } cases[] = {
        { 0.0f, "0" }, { -0.0f, "-0" }, { 1.0f, "1" }, { -1.5f, "-1.5" },
        { 0.1f, "0.100000001" }, { 0.0001f, "9.99999975e-05" }, { 0.001f, "0.00100000005" },
        { 123456789.0f, "123456792" }, { 1e9f, "1e+09" }, { 1e10f, "1e+10" },
        { 3.4028234663852886e38f, "3.40282347e+38" }, { 1.17549435e-38f, "1.17549435e-38" },
        { 1.4e-45f, "1.40129846e-45" }, { 100.0f, "100" }, { 0.03125f, "0.03125" },
        { 16777216.0f, "16777216" }, { 0.333333343f, "0.333333343" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cw_float_format(cases[i].v, out);
        CU_ASSERT_STRING_EQUAL(out, cases[i].want);
        CU_ASSERT(same_as_printf(cases[i].v));
    }
    CU_ASSERT(same_as_printf(NAN));
    CU_ASSERT(same_as_printf(-INFINITY));
    const float list[3] = { 1.0f, -0.25f, 1e-7f };
    char lo[3 * (CW_FLOAT_FMT_MAX + 1) + 1];
    CU_ASSERT_EQUAL(cw_float_format_list(list, 3, lo), strlen("1,-0.25,1.00000001e-07"));
    CU_ASSERT_STRING_EQUAL(lo, "1,-0.25,1.00000001e-07");
    CU_ASSERT_EQUAL(cw_float_format_list(list, 0, lo), 0);
    CU_ASSERT_STRING_EQUAL(lo, "");
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static void test_float_many(void)
{
    long bad = 0;
    /* every bit pattern at random, 1M of them */
    for (long i = 0; i < 1000000 && bad < 10; i++) {
        uint32_t u = next32();
        float f;
        memcpy(&f, &u, 4);
        bad += !same_as_printf(f);
    }
    /* the values embeddings hold: uniform in [-1, 1], and near powers of ten */
    for (long i = 0; i < 500000 && bad < 10; i++)
        bad += !same_as_printf((float)((double)next32() / 2147483648.0 - 1.0));
    for (int k = -45; k <= 38 && bad < 10; k++) {
        float p = (float)pow(10.0, k);
        uint32_t u;
        memcpy(&u, &p, 4);
        for (int d = -300; d <= 300; d++) {
            uint32_t w = u + (uint32_t)d;
            float f;
            memcpy(&f, &w, 4);
            bad += !same_as_printf(f);
        }
    }
    /* every float of [1, 2) with a short decimal form's neighbours */
    for (uint32_t u = 0x3f800000u; u < 0x3f800000u + (1u << 18) && bad < 10; u++) {
        float f;
        memcpy(&f, &u, 4);
        bad += !same_as_printf(f);
    }
    CU_ASSERT_EQUAL(bad, 0);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "base64: the RFC 4648 vectors, both ways", test_rfc4648 },
        { "base64: strict decoding refuses all but the one encoding", test_decode_refuses },
        { "base64 float32 little-endian: exact bytes, bit-identical round trip", test_f32le },
        { "float format: %.9g exactly on chosen values", test_float_exact_cases },
        { "float format: %.9g byte for byte on 1.8M values, each read back", test_float_many },
        CU_TEST_INFO_NULL,
    };
    return cw_test_run("common_codec", tests);
}
