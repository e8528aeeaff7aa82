/* cw_base64 — see cw_base64.h. */
#include "cw_base64.h"

#include <stdint.h>
#include <string.h>

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0..63 for an alphabet character, 64 for '=', 255 for anything else. */
static const unsigned char REVERSE[256] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  62, 255, 255, 255,  63,
     52,  53,  54,  55,  56,  57,  58,  59,  60,  61, 255, 255, 255,  64, 255, 255,
    255,   0,   1,   2,   3,   4,   5,   6,   7,   8,   9,  10,  11,  12,  13,  14,
     15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25, 255, 255, 255, 255, 255,
    255,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,
     41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
};

size_t cw_base64_encode(const void *src, size_t n, char *dst)
{
    const unsigned char *s = src;
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        dst[o++] = ALPHABET[v >> 18];
        dst[o++] = ALPHABET[(v >> 12) & 63];
        dst[o++] = ALPHABET[(v >> 6) & 63];
        dst[o++] = ALPHABET[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
        dst[o++] = ALPHABET[v >> 18];
        dst[o++] = ALPHABET[(v >> 12) & 63];
        dst[o++] = i + 1 < n ? ALPHABET[(v >> 6) & 63] : '=';
        dst[o++] = '=';
    }
    dst[o] = '\0';
    return o;
}

long cw_base64_decode(const char *src, size_t len, unsigned char *dst, size_t cap)
{
    const unsigned char *t = REVERSE;
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0;
    if (len % 4 != 0)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        unsigned a = t[s[i]], b = t[s[i + 1]], c = t[s[i + 2]], d = t[s[i + 3]];
        int last = i + 4 == len;
        if (a > 63 || b > 63)
            return -1;
        if (c == 64 || d == 64) {
            /* padding: only in the last group, "xx==" or "xxx=" */
            if (!last || d != 64 || (c == 64 ? 0 : c > 63))
                return -1;
            if (c == 64) {
                if ((b & 15) != 0 || o + 1 > cap)
                    return -1;
                dst[o++] = (unsigned char)(a << 2 | b >> 4);
            } else {
                if ((c & 3) != 0 || o + 2 > cap)
                    return -1;
                dst[o++] = (unsigned char)(a << 2 | b >> 4);
                dst[o++] = (unsigned char)((b & 15) << 4 | c >> 2);
            }
            break;
        }
        if (c > 63 || d > 63 || o + 3 > cap)
            return -1;
        dst[o++] = (unsigned char)(a << 2 | b >> 4);
        dst[o++] = (unsigned char)((b & 15) << 4 | c >> 2);
        dst[o++] = (unsigned char)((c & 3) << 6 | d);
    }
    return (long)o;
}

long cw_base64_decode_f32le(const char *src, size_t len, float *out, size_t max)
{
    /* Decode straight into out (4 * max bytes), then fix the byte order. */
    if (len / 4 * 3 > 4 * max + 2)
        return -1;
    long got = cw_base64_decode(src, len, (unsigned char *)out, 4 * max);
    if (got < 0 || got % 4 != 0)
        return -1;
    size_t n = (size_t)got / 4;
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &out[i], 4);
        u = __builtin_bswap32(u);
        memcpy(&out[i], &u, 4);
    }
#endif
    return (long)n;
}

size_t cw_base64_encode_f32le(const float *v, size_t n, char *dst)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return cw_base64_encode(v, 4 * n, dst);
#else
    size_t o = 0;
    /* groups of 3 floats = 12 bytes = 16 characters, then the rest */
    for (size_t i = 0; i < n; i += 3) {
        unsigned char b[12];
        size_t m = n - i < 3 ? n - i : 3;
        for (size_t k = 0; k < m; k++) {
            uint32_t u;
            memcpy(&u, &v[i + k], 4);
            u = __builtin_bswap32(u);
            memcpy(&b[4 * k], &u, 4);
        }
        o += cw_base64_encode(b, 4 * m, dst + o);
    }
    dst[o] = '\0';
    return o;
#endif
}
