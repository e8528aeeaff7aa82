/* cw_safetensors: well-formed files read exactly; every kind of corrupt or
 * truncated file refused with an error (never a crash — this test also runs
 * under ASan+UBSan). Synthetic files are written into the test's working
 * directory; the truncated ones are cut from the installed model. */
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "local_test.h"
#include "safetensors.h"

/* Write a safetensors file: 8-byte length, header, data. */
static void st_write(const char *path, const char *header, const void *data, size_t data_len)
{
    size_t hlen = strlen(header);
    size_t total = 8 + hlen + data_len;
    unsigned char *buf = malloc(total);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    memcpy(buf + 8, header, hlen);
    if (data_len > 0)
        memcpy(buf + 8 + hlen, data, data_len);
    CU_ASSERT_EQUAL(lt_write_file(path, buf, total), 0);
    free(buf);
}

/* Open `path`, expecting failure with exactly `msg`. */
static void st_expect_error(const char *path, const char *msg)
{
    cw_error err;
    cw_error_clear(&err);
    cw_safetensors *st = cw_safetensors_create(path, &err);
    CU_ASSERT_PTR_NULL(st);
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    if (strcmp(err.msg, msg) != 0)
        fprintf(stderr, "\nwant: %s\ngot:  %s\n", msg, err.msg);
    CU_ASSERT_STRING_EQUAL(err.msg, msg);
    cw_safetensors_destroy(st);
}

static const unsigned char good_data[] = {
    0x00, 0x3C, 0x00, 0xC0,                 /* F16 [1.0, -2.0] */
    0x00, 0x00, 0x00, 0x3F, 0x00, 0x00, 0x50, 0x40,   /* F32 [0.5, 3.25] */
    0x80, 0x3F, 0x00, 0x40,                 /* BF16 [1.0, 2.0] */
    0x07, 0, 0, 0, 0, 0, 0, 0,              /* I64 [7] */
};

static const char good_header[] =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
    "\"b\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[4,12]},"
    "\"c\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[12,16]},"
    "\"ids\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[16,24]}}    ";

static void test_read_good_file(void)
{
    st_write("st_good.safetensors", good_header, good_data, sizeof good_data);
    cw_error err;
    cw_error_clear(&err);
    cw_safetensors *st = cw_safetensors_create("st_good.safetensors", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_EQUAL(cw_safetensors_count(st), 4);
    CU_ASSERT_PTR_NULL(cw_safetensors_find(st, "__metadata__"));
    CU_ASSERT_PTR_NULL(cw_safetensors_find(st, "missing"));
    CU_ASSERT_PTR_NULL(cw_safetensors_at(st, 4));

    const cw_st_tensor *a = cw_safetensors_find(st, "a");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(a->dtype, CW_ST_F16);
    CU_ASSERT_EQUAL(a->ndim, 1);
    CU_ASSERT_EQUAL(a->shape[0], 2);
    CU_ASSERT_EQUAL(a->nbytes, 4);
    float v[2];
    CU_ASSERT_EQUAL(cw_safetensors_to_f32(a, v, 2, &err), 0);
    CU_ASSERT_EQUAL(v[0], 1.0f);
    CU_ASSERT_EQUAL(v[1], -2.0f);

    const cw_st_tensor *b = cw_safetensors_find(st, "b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(b->ndim, 2);
    CU_ASSERT_EQUAL(b->shape[1], 2);
    CU_ASSERT_EQUAL(cw_safetensors_to_f32(b, v, 2, &err), 0);
    CU_ASSERT_EQUAL(v[0], 0.5f);
    CU_ASSERT_EQUAL(v[1], 3.25f);

    const cw_st_tensor *c = cw_safetensors_find(st, "c");
    CU_ASSERT_EQUAL(cw_safetensors_to_f32(c, v, 2, &err), 0);
    CU_ASSERT_EQUAL(v[0], 1.0f);
    CU_ASSERT_EQUAL(v[1], 2.0f);

    /* Wrong dtype for a float read, wrong element count. */
    const cw_st_tensor *ids = cw_safetensors_find(st, "ids");
    CU_ASSERT_EQUAL(ids->dtype, CW_ST_OTHER);
    CU_ASSERT_EQUAL(cw_safetensors_to_f32(ids, v, 1, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.msg, "tensor 'ids': dtype I64 is not a float type");
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_safetensors_to_f32(a, v, 1, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.msg, "tensor 'a': 2 elements, expected 1");
    cw_safetensors_destroy(st);
    cw_safetensors_destroy(NULL);
}

static void test_f16_conversion(void)
{
    CU_ASSERT_EQUAL(cw_f16_to_f32(0x0000), 0.0f);
    CU_ASSERT_TRUE(signbit(cw_f16_to_f32(0x8000)));
    CU_ASSERT_EQUAL(cw_f16_to_f32(0x3C00), 1.0f);
    CU_ASSERT_EQUAL(cw_f16_to_f32(0x3555), 0.333251953125f);
    CU_ASSERT_EQUAL(cw_f16_to_f32(0x7BFF), 65504.0f);
    CU_ASSERT_EQUAL(cw_f16_to_f32(0x0001), ldexpf(1.0f, -24));   /* smallest subnormal */
    CU_ASSERT_EQUAL(cw_f16_to_f32(0x03FF), ldexpf(1023.0f, -24)); /* largest subnormal */
    CU_ASSERT_EQUAL(cw_f16_to_f32(0x0400), ldexpf(1.0f, -14));   /* smallest normal */
    CU_ASSERT_TRUE(isinf(cw_f16_to_f32(0x7C00)));
    CU_ASSERT_TRUE(isinf(cw_f16_to_f32(0xFC00)) && cw_f16_to_f32(0xFC00) < 0);
    CU_ASSERT_TRUE(isnan(cw_f16_to_f32(0x7E00)));
}

static void test_missing_and_short(void)
{
    st_expect_error("st_missing.safetensors", "st_missing.safetensors: No such file or directory");
    CU_ASSERT_EQUAL_FATAL(lt_write_file("st_short.safetensors", "\x10\0\0\0", 4), 0);
    st_expect_error("st_short.safetensors",
                    "st_short.safetensors: too short for a safetensors file (4 bytes)");
}

static void test_bad_header_length(void)
{
    /* Claims a 1 MiB header in a 20-byte file. */
    unsigned char buf[20] = { 0x00, 0x00, 0x10, 0x00, 0, 0, 0, 0, '{', '}' };
    CU_ASSERT_EQUAL_FATAL(lt_write_file("st_hlen.safetensors", buf, sizeof buf), 0);
    st_expect_error("st_hlen.safetensors",
                    "st_hlen.safetensors: header length 1048576 does not fit the 20-byte file "
                    "(truncated or not a safetensors file)");
    /* All ones: would overflow 8 + N. */
    memset(buf, 0xff, 8);
    CU_ASSERT_EQUAL_FATAL(lt_write_file("st_hlen2.safetensors", buf, sizeof buf), 0);
    st_expect_error("st_hlen2.safetensors",
                    "st_hlen2.safetensors: header length 18446744073709551615 does not fit the "
                    "20-byte file (truncated or not a safetensors file)");
}

static void test_header_garbage(void)
{
    st_write("st_garbage.safetensors", "{\"a\": [1, 2,, oops", NULL, 0);
    st_expect_error("st_garbage.safetensors",
                    "st_garbage.safetensors: header is not valid JSON (unexpected character)");
    st_write("st_cut.safetensors", "{\"a\": {\"dtype\": ", NULL, 0);
    st_expect_error("st_cut.safetensors",
                    "st_cut.safetensors: header is not valid JSON (unexpected end)");
    st_write("st_array.safetensors", "[1, 2, 3]", NULL, 0);
    st_expect_error("st_array.safetensors", "st_array.safetensors: header is not a JSON object");
    st_write("st_trail.safetensors", "{} x", NULL, 0);
    st_expect_error("st_trail.safetensors",
                    "st_trail.safetensors: header is not valid JSON (unexpected character)");
    /* A nesting bomb is refused by the tokener's depth limit, not by the
     * stack. */
    enum { DEEP = 100000 };
    char *deep = malloc(2 * DEEP + 16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(deep);
    size_t at = (size_t)sprintf(deep, "{\"w\":");
    memset(deep + at, '[', DEEP);
    memset(deep + at + DEEP, ']', DEEP);
    strcpy(deep + at + 2 * DEEP, "}");
    st_write("st_deep.safetensors", deep, NULL, 0);
    free(deep);
    st_expect_error("st_deep.safetensors",
                    "st_deep.safetensors: header is not valid JSON (nesting too deep)");
    /* A dtype that is not a string. */
    st_write("st_dtype_num.safetensors", "{\"w\":{\"dtype\":7,\"shape\":[],\"data_offsets\":[0,0]}}",
             NULL, 0);
    st_expect_error("st_dtype_num.safetensors", "st_dtype_num.safetensors: tensor 'w': missing dtype");
    st_write("st_entry.safetensors", "{\"w\": 5}", NULL, 0);
    st_expect_error("st_entry.safetensors",
                    "st_entry.safetensors: tensor 'w': entry is not an object");
}

static void test_offsets_past_end(void)
{
    unsigned char data[8] = { 0 };
    st_write("st_past.safetensors",
             "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", data, 8);
    st_expect_error("st_past.safetensors",
                    "st_past.safetensors: tensor 'w': data_offsets [0, 16] outside the 8-byte "
                    "data (truncated file?)");
    st_write("st_rev.safetensors",
             "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", data, 8);
    st_expect_error("st_rev.safetensors",
                    "st_rev.safetensors: tensor 'w': data_offsets [8, 4] outside the 8-byte "
                    "data (truncated file?)");
    st_write("st_neg.safetensors",
             "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", data, 8);
    st_expect_error("st_neg.safetensors", "st_neg.safetensors: tensor 'w': bad data_offsets");
    st_write("st_size.safetensors",
             "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data, 8);
    st_expect_error("st_size.safetensors",
                    "st_size.safetensors: tensor 'w': 8 bytes for 3 elements of F32");
    st_write("st_huge.safetensors",
             "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
             "\"data_offsets\":[0,8]}}",
             data, 8);
    st_expect_error("st_huge.safetensors", "st_huge.safetensors: tensor 'w': shape overflows");
}

static void test_wrong_dtype_and_shape(void)
{
    unsigned char data[8] = { 0 };
    st_write("st_dtype.safetensors",
             "{\"w\":{\"dtype\":\"Q4_K\",\"shape\":[2],\"data_offsets\":[0,8]}}", data, 8);
    st_expect_error("st_dtype.safetensors",
                    "st_dtype.safetensors: tensor 'w': unknown dtype 'Q4_K'");
    st_write("st_nodtype.safetensors", "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", data, 8);
    st_expect_error("st_nodtype.safetensors", "st_nodtype.safetensors: tensor 'w': missing dtype");
    st_write("st_shape.safetensors",
             "{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", data, 8);
    st_expect_error("st_shape.safetensors", "st_shape.safetensors: tensor 'w': bad shape");
    st_write("st_dims.safetensors",
             "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}",
             data, 8);
    st_expect_error("st_dims.safetensors", "st_dims.safetensors: tensor 'w': too many dimensions");
}

static void test_truncated_model(void)
{
    const char *model = lt_model_file("model.fp16.safetensors");
    CU_ASSERT_PTR_NOT_NULL_FATAL(model);
    /* Cut inside the header: the header length no longer fits. */
    CU_ASSERT_EQUAL_FATAL(lt_copy_prefix(model, "st_trunc_hdr.safetensors", 1000), 0);
    st_expect_error("st_trunc_hdr.safetensors",
                    "st_trunc_hdr.safetensors: header length 11401 does not fit the 1000-byte "
                    "file (truncated or not a safetensors file)");
    /* Cut inside the data: the first tensor past the end is named. */
    CU_ASSERT_EQUAL_FATAL(lt_copy_prefix(model, "st_trunc_data.safetensors", 20000000), 0);
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_PTR_NULL(cw_safetensors_create("st_trunc_data.safetensors", &err));
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "outside the 19988591-byte data (truncated file?)"));
    unlink("st_trunc_data.safetensors");
    /* The full file opens and has the expected tensors. */
    cw_error_clear(&err);
    cw_safetensors *st = cw_safetensors_create(model, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_EQUAL(cw_safetensors_count(st), 104);
    const cw_st_tensor *w = cw_safetensors_find(st, "embeddings.word_embeddings.weight");
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    CU_ASSERT_EQUAL(w->dtype, CW_ST_F16);
    CU_ASSERT_EQUAL(w->shape[0], 30522);
    CU_ASSERT_EQUAL(w->shape[1], 384);
    cw_safetensors_destroy(st);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "read F16/F32/BF16/I64 tensors", test_read_good_file },
        { "F16 conversion is exact", test_f16_conversion },
        { "missing and too-short files", test_missing_and_short },
        { "bad header length", test_bad_header_length },
        { "header JSON garbage", test_header_garbage },
        { "offsets past the end, size mismatch", test_offsets_past_end },
        { "wrong dtype and shape", test_wrong_dtype_and_shape },
        { "truncated real model", test_truncated_model },
        CU_TEST_INFO_NULL,
    };
    return cw_test_run("local_safetensors", tests);
}
