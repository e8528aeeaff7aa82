/* cw_float — see cw_float.h.
 *
 * Why one double multiplication decides the digits: a finite float v ≠ 0
 * is exact as a double; x = |v| * 10^(8-e) lies in [1e8, 1e9] for the right
 * decimal exponent e, and its computed value is within 3 ulps of the exact
 * product (10^k as a correctly rounded literal, one rounding of the
 * product): an absolute error below 1e9 * 3 * 2^-53 < 4e-7. So rounding x
 * to the nearest integer gives the exact 9 digits unless the fraction of x
 * is within that error of 0.5, and those values (including exact ties,
 * which printf breaks to even) go to snprintf. The tests compare with
 * snprintf on millions of values. */
#include "cw_float.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* 10^k for k = -30..53 (what 8 - e spans for float32's e = -45..38). */
#define P10_MIN (-30)
static const double P10[] = {
    1e-30, 1e-29, 1e-28, 1e-27, 1e-26, 1e-25, 1e-24, 1e-23, 1e-22, 1e-21,
    1e-20, 1e-19, 1e-18, 1e-17, 1e-16, 1e-15, 1e-14, 1e-13, 1e-12, 1e-11,
    1e-10, 1e-9,  1e-8,  1e-7,  1e-6,  1e-5,  1e-4,  1e-3,  1e-2,  1e-1,
    1e0,   1e1,   1e2,   1e3,   1e4,   1e5,   1e6,   1e7,   1e8,   1e9,
    1e10,  1e11,  1e12,  1e13,  1e14,  1e15,  1e16,  1e17,  1e18,  1e19,
    1e20,  1e21,  1e22,  1e23,  1e24,  1e25,  1e26,  1e27,  1e28,  1e29,
    1e30,  1e31,  1e32,  1e33,  1e34,  1e35,  1e36,  1e37,  1e38,  1e39,
    1e40,  1e41,  1e42,  1e43,  1e44,  1e45,  1e46,  1e47,  1e48,  1e49,
    1e50,  1e51,  1e52,  1e53,
};
#define P10_MAX (P10_MIN + (int)(sizeof P10 / sizeof P10[0]) - 1)

static size_t slow(float v, char *out)
{
    int n = snprintf(out, CW_FLOAT_FMT_MAX + 1, "%.9g", (double)v);
    return n > 0 ? (size_t)n : 0;
}

size_t cw_float_format(float v, char *out)
{
    if (!isfinite(v))
        return slow(v, out);
    char *o = out;
    if (signbit(v))
        *o++ = '-';
    double d = fabs((double)v);
    if (d == 0.0) {
        *o++ = '0';
        *o = '\0';
        return (size_t)(o - out);
    }
    /* e ~ floor(log10(d)) from the binary exponent, then corrected */
    int b2;
    (void)frexp(d, &b2);                  /* d = m * 2^b2, m in [0.5, 1) */
    int e = (int)floor((b2 - 1) * 0.30102999566398120);
    double x;
    for (int tries = 0;; tries++) {
        int k = 8 - e;
        if (k < P10_MIN || k > P10_MAX || tries > 3)
            return slow(v, out);
        x = d * P10[k - P10_MIN];
        if (x < 99999999.5) {             /* fewer than 9 digits: e too big */
            e--;
            continue;
        }
        if (x >= 999999999.5) {           /* rounds to 10 digits: e too small */
            e++;
            continue;
        }
        break;
    }
    double r = floor(x);
    double frac = x - r;
    if (fabs(frac - 0.5) < 1e-6)
        return slow(v, out);              /* too close to a tie to decide here */
    uint32_t dig = (uint32_t)r + (frac > 0.5);
    char s[9];
    for (int i = 8; i >= 0; i--) {
        s[i] = (char)('0' + dig % 10);
        dig /= 10;
    }
    int nd = 9;                           /* significant digits after trimming zeros */
    while (nd > 1 && s[nd - 1] == '0')
        nd--;
    if (e < -4 || e >= 9) {
        *o++ = s[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, s + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        *o++ = 'e';
        *o++ = e < 0 ? '-' : '+';
        int ae = e < 0 ? -e : e;
        *o++ = (char)('0' + ae / 10);
        *o++ = (char)('0' + ae % 10);
    } else if (e >= 0) {
        memcpy(o, s, (size_t)e + 1);
        o += e + 1;
        if (nd > e + 1) {
            *o++ = '.';
            memcpy(o, s + e + 1, (size_t)(nd - e - 1));
            o += nd - e - 1;
        }
    } else {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -e - 1; i++)
            *o++ = '0';
        memcpy(o, s, (size_t)nd);
        o += nd;
    }
    *o = '\0';
    return (size_t)(o - out);
}

size_t cw_float_format_list(const float *v, size_t n, char *out)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            out[len++] = ',';
        len += cw_float_format(v[i], out + len);
    }
    out[len] = '\0';
    return len;
}
