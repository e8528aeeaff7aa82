/* Unicode tables for the BERT tokenizer — see wordpiece_unicode.h.
 *
 * Sources: Unicode 15 general categories (P*, Cc, Cf, Co, Mn) and canonical
 * decompositions, restricted to the blocks below. Anything outside these
 * tables is treated as a plain letter: not punctuation, not a control, no
 * decomposition, no case mapping. */
#include "wordpiece_unicode.h"

typedef struct uc_range {
    uint32_t lo, hi;
} uc_range;

static int uc_in(const uc_range *r, size_t n, uint32_t c)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < r[mid].lo)
            hi = mid;
        else if (c > r[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

#define UC_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const uc_range uc_space[] = {
    { 0x0009, 0x000D }, { 0x0020, 0x0020 }, { 0x0085, 0x0085 }, { 0x00A0, 0x00A0 },
    { 0x1680, 0x1680 }, { 0x2000, 0x200A }, { 0x2028, 0x2029 }, { 0x202F, 0x202F },
    { 0x205F, 0x205F }, { 0x3000, 0x3000 },
};

/* Cc, Cf, Co, noncharacters (sorted, disjoint). */
static const uc_range uc_control[] = {
    { 0x0000, 0x0008 },   { 0x000B, 0x000C },   { 0x000E, 0x001F },   { 0x007F, 0x009F },
    { 0x00AD, 0x00AD },   { 0x0600, 0x0605 },   { 0x061C, 0x061C },   { 0x06DD, 0x06DD },
    { 0x070F, 0x070F },   { 0x08E2, 0x08E2 },   { 0x180E, 0x180E },   { 0x200B, 0x200F },
    { 0x202A, 0x202E },   { 0x2060, 0x2064 },   { 0x2066, 0x206F },   { 0xD800, 0xF8FF },
    { 0xFDD0, 0xFDEF },   { 0xFEFF, 0xFEFF },   { 0xFFF9, 0xFFFB },   { 0xFFFE, 0xFFFF },
    { 0x110BD, 0x110BD }, { 0x110CD, 0x110CD }, { 0x1BCA0, 0x1BCA3 }, { 0x1D173, 0x1D17A },
    { 0xE0001, 0xE0001 }, { 0xE0020, 0xE007F }, { 0xF0000, 0x10FFFF },
};

/* Unicode punctuation (P*) beyond ASCII (sorted, disjoint). */
static const uc_range uc_punct[] = {
    { 0x00A1, 0x00A1 }, { 0x00A7, 0x00A7 }, { 0x00AB, 0x00AB }, { 0x00B6, 0x00B7 },
    { 0x00BB, 0x00BB }, { 0x00BF, 0x00BF }, { 0x037E, 0x037E }, { 0x0387, 0x0387 },
    { 0x055A, 0x055F }, { 0x0589, 0x058A }, { 0x05BE, 0x05BE }, { 0x05C0, 0x05C0 },
    { 0x05C3, 0x05C3 }, { 0x05C6, 0x05C6 }, { 0x05F3, 0x05F4 }, { 0x0609, 0x060A },
    { 0x060C, 0x060D }, { 0x061B, 0x061B }, { 0x061D, 0x061F }, { 0x066A, 0x066D },
    { 0x06D4, 0x06D4 }, { 0x0964, 0x0965 }, { 0x0970, 0x0970 }, { 0x0E4F, 0x0E4F },
    { 0x0E5A, 0x0E5B }, { 0x10FB, 0x10FB }, { 0x1360, 0x1368 }, { 0x166E, 0x166E },
    { 0x169B, 0x169C }, { 0x16EB, 0x16ED }, { 0x17D4, 0x17D6 }, { 0x17D8, 0x17DA },
    { 0x1800, 0x180A }, { 0x2010, 0x2027 }, { 0x2030, 0x2043 }, { 0x2045, 0x2051 },
    { 0x2053, 0x205E }, { 0x207D, 0x207E }, { 0x208D, 0x208E }, { 0x2308, 0x230B },
    { 0x2329, 0x232A }, { 0x2768, 0x2775 }, { 0x27C5, 0x27C6 }, { 0x27E6, 0x27EF },
    { 0x2983, 0x2998 }, { 0x29D8, 0x29DB }, { 0x29FC, 0x29FD }, { 0x2CF9, 0x2CFC },
    { 0x2CFE, 0x2CFF }, { 0x2E00, 0x2E2E }, { 0x2E30, 0x2E4F }, { 0x2E52, 0x2E5D },
    { 0x3001, 0x3003 }, { 0x3008, 0x3011 }, { 0x3014, 0x301F }, { 0x3030, 0x3030 },
    { 0x303D, 0x303D }, { 0x30A0, 0x30A0 }, { 0x30FB, 0x30FB }, { 0xFE10, 0xFE19 },
    { 0xFE30, 0xFE52 }, { 0xFE54, 0xFE61 }, { 0xFE63, 0xFE63 }, { 0xFE68, 0xFE68 },
    { 0xFE6A, 0xFE6B }, { 0xFF01, 0xFF03 }, { 0xFF05, 0xFF0A }, { 0xFF0C, 0xFF0F },
    { 0xFF1A, 0xFF1B }, { 0xFF1F, 0xFF20 }, { 0xFF3B, 0xFF3D }, { 0xFF3F, 0xFF3F },
    { 0xFF5B, 0xFF5B }, { 0xFF5D, 0xFF5D }, { 0xFF5F, 0xFF65 },
};

static const uc_range uc_cjk[] = {
    { 0x3400, 0x4DBF },   { 0x4E00, 0x9FFF },   { 0xF900, 0xFAFF },   { 0x20000, 0x2A6DF },
    { 0x2A700, 0x2B73F }, { 0x2B740, 0x2B81F }, { 0x2B920, 0x2CEAF }, { 0x2F800, 0x2FA1F },
};

static const uc_range uc_mark[] = {
    { 0x0300, 0x036F }, { 0x0483, 0x0487 }, { 0x1AB0, 0x1ABD }, { 0x1ABF, 0x1ACE },
    { 0x1DC0, 0x1DFF }, { 0x20D0, 0x20DC }, { 0x20E1, 0x20E1 }, { 0x20E5, 0x20F0 },
    { 0x3099, 0x309A }, { 0xFE20, 0xFE2F },
};

int cw_uc_is_whitespace(uint32_t c)
{
    return uc_in(uc_space, UC_COUNT(uc_space), c);
}

int cw_uc_is_control(uint32_t c)
{
    return uc_in(uc_control, UC_COUNT(uc_control), c);
}

int cw_uc_is_punct(uint32_t c)
{
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
        (c >= 123 && c <= 126))
        return 1;
    return c >= 0xA1 && uc_in(uc_punct, UC_COUNT(uc_punct), c);
}

int cw_uc_is_cjk(uint32_t c)
{
    return uc_in(uc_cjk, UC_COUNT(uc_cjk), c);
}

int cw_uc_is_nonspacing_mark(uint32_t c)
{
    return uc_in(uc_mark, UC_COUNT(uc_mark), c);
}

/* Base letter of U+00C0..U+00FF and U+0100..U+017F; '.' = no decomposition. */
static const char uc_latin1_base[] = "AAAAAA.CEEEEIIII"
                                     ".NOOOOO..UUUUY.."
                                     "aaaaaa.ceeeeiiii"
                                     ".nooooo..uuuuy.y";
static const char uc_latin_a_base[] = "AaAaAaCcCcCcCcDd"
                                      "..EeEeEeEeEeGgGg"
                                      "GgGgHh..IiIiIiIi"
                                      "I...JjKk.LlLlLl."
                                      "...NnNnNn...OoOo"
                                      "Oo..RrRrRrSsSsSs"
                                      "SsTtTt..UuUuUuUu"
                                      "UuUuWwYyYZzZzZz.";

typedef struct uc_pair {
    uint16_t from, to;
} uc_pair;

/* Greek and Cyrillic letters with diacritics → base letter (sorted). */
static const uc_pair uc_decomp[] = {
    { 0x0386, 0x0391 }, { 0x0388, 0x0395 }, { 0x0389, 0x0397 }, { 0x038A, 0x0399 },
    { 0x038C, 0x039F }, { 0x038E, 0x03A5 }, { 0x038F, 0x03A9 }, { 0x0390, 0x03B9 },
    { 0x03AA, 0x0399 }, { 0x03AB, 0x03A5 }, { 0x03AC, 0x03B1 }, { 0x03AD, 0x03B5 },
    { 0x03AE, 0x03B7 }, { 0x03AF, 0x03B9 }, { 0x03B0, 0x03C5 }, { 0x03CA, 0x03B9 },
    { 0x03CB, 0x03C5 }, { 0x03CC, 0x03BF }, { 0x03CD, 0x03C5 }, { 0x03CE, 0x03C9 },
    { 0x0400, 0x0415 }, { 0x0401, 0x0415 }, { 0x0403, 0x0413 }, { 0x0407, 0x0406 },
    { 0x040C, 0x041A }, { 0x040D, 0x0418 }, { 0x040E, 0x0423 }, { 0x0419, 0x0418 },
    { 0x0439, 0x0438 }, { 0x0450, 0x0435 }, { 0x0451, 0x0435 }, { 0x0453, 0x0433 },
    { 0x0457, 0x0456 }, { 0x045C, 0x043A }, { 0x045D, 0x0438 }, { 0x045E, 0x0443 },
    { 0x04C1, 0x0416 }, { 0x04C2, 0x0436 }, { 0x04D0, 0x0410 }, { 0x04D1, 0x0430 },
    { 0x04D2, 0x0410 }, { 0x04D3, 0x0430 }, { 0x04E6, 0x041E }, { 0x04E7, 0x043E },
};

/* Japanese kana with (han)dakuten → the plain kana; 0 = not voiced. */
static uint32_t uc_kana_base(uint32_t c)
{
    uint32_t off = 0;
    if (c >= 0x30A0 && c <= 0x30FF) {
        off = 0x60;           /* katakana: same layout as hiragana */
        c -= 0x60;
    }
    if (c >= 0x304C && c <= 0x3062 && (c % 2) == 0)
        return c - 1 + off;   /* が..ぢ */
    if (c == 0x3065 || c == 0x3067 || c == 0x3069)
        return c - 1 + off;   /* づ で ど */
    if (c >= 0x3070 && c <= 0x307D) {
        uint32_t k = (c - 0x3070) % 3;
        if (k != 2)
            return c - 1 - k + off;   /* ば ぱ → は, ... */
        return 0;
    }
    if (c == 0x3094)
        return 0x3046 + off;  /* ゔ → う */
    if (c == 0x309E)
        return 0x309D + off;  /* ゞ → ゝ */
    if (off != 0 && c + off >= 0x30F7 && c + off <= 0x30FA)
        return c + off - 8;   /* ヷ..ヺ → ワ..ヲ */
    return 0;
}

size_t cw_uc_strip_accents(uint32_t c, uint32_t out[3])
{
    out[0] = c;
    if (c < 0xC0)
        return 1;
    if (c <= 0x17F) {
        char b = c < 0x100 ? uc_latin1_base[c - 0xC0] : uc_latin_a_base[c - 0x100];
        if (b != '.')
            out[0] = (uint32_t)b;
        return 1;
    }
    if (c >= 0xAC00 && c <= 0xD7A3) {   /* Hangul syllable → jamo */
        uint32_t s = c - 0xAC00;
        out[0] = 0x1100 + s / 588;
        out[1] = 0x1161 + (s % 588) / 28;
        if (s % 28 == 0)
            return 2;
        out[2] = 0x11A7 + s % 28;
        return 3;
    }
    if (c >= 0x3040 && c <= 0x30FF) {
        uint32_t b = uc_kana_base(c);
        if (b != 0)
            out[0] = b;
        return 1;
    }
    size_t lo = 0, hi = UC_COUNT(uc_decomp);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < uc_decomp[mid].from) {
            hi = mid;
        } else if (c > uc_decomp[mid].from) {
            lo = mid + 1;
        } else {
            out[0] = uc_decomp[mid].to;
            break;
        }
    }
    return 1;
}

uint32_t cw_uc_lower(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
        return c + 32;
    if (c >= 0x100 && c <= 0x17F) {
        if (c == 0x130)
            return 'i';
        if (c == 0x178)
            return 0xFF;
        if ((c <= 0x137 || (c >= 0x14A && c <= 0x177)) && (c % 2) == 0)
            return c + 1;
        if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) && (c % 2) == 1)
            return c + 1;
        return c;
    }
    if (c >= 0x391 && c <= 0x3AB && c != 0x3A2)
        return c + 32;
    if (c == 0x386)
        return 0x3AC;
    if (c >= 0x388 && c <= 0x38A)
        return c + 37;
    if (c == 0x38C)
        return 0x3CC;
    if (c == 0x38E || c == 0x38F)
        return c + 63;
    if (c >= 0x410 && c <= 0x42F)
        return c + 32;
    if (c >= 0x400 && c <= 0x40F)
        return c + 80;
    if (((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF)) && (c % 2) == 0)
        return c + 1;
    if (c >= 0xFF21 && c <= 0xFF3A)
        return c + 32;
    return c;
}

size_t cw_uc_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char b = s[0];
    size_t need;
    uint32_t c, min;
    if (b < 0x80) {
        *cp = b;
        return 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
        need = 1;
        c = b & 0x1F;
        min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2;
        c = b & 0x0F;
        min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3;
        c = b & 0x07;
        min = 0x10000;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (len < need + 1) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = c;
    return need + 1;
}

size_t cw_uc_utf8_encode(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}
