/* RFC 3629 UTF-8 validation (cw_rt_utf8_valid), stricter than json-c's:
 * overlong forms, UTF-16 surrogates (U+D800-DFFF), code points above
 * U+10FFFF, truncated sequences and NUL bytes are all refused. */
#include "schema_rt.h"

int cw_rt_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        unsigned char c = p[i];
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;   /* range of the second byte */

        if (c == 0x00)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c == 0xE0) {
            need = 2; lo = 0xA0;              /* no overlong 3-byte forms */
        } else if (c >= 0xE1 && c <= 0xEC) {
            need = 2;
        } else if (c == 0xED) {
            need = 2; hi = 0x9F;              /* no surrogates */
        } else if (c >= 0xEE && c <= 0xEF) {
            need = 2;
        } else if (c == 0xF0) {
            need = 3; lo = 0x90;              /* no overlong 4-byte forms */
        } else if (c >= 0xF1 && c <= 0xF3) {
            need = 3;
        } else if (c == 0xF4) {
            need = 3; hi = 0x8F;              /* nothing above U+10FFFF */
        } else {
            return 0;                         /* 80-C1 (continuation, overlong), F5-FF */
        }
        if (len - i - 1 < need)
            return 0;                         /* truncated */
        if (p[i + 1] < lo || p[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= need; k++) {
            if (p[i + k] < 0x80 || p[i + k] > 0xBF)
                return 0;
        }
        i += need + 1;
    }
    return 1;
}
