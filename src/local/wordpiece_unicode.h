/* Unicode character classes the BERT tokenizer needs, without ICU.
 * Internal to src/local (wordpiece.c); every function is pure.
 * The tables cover the blocks named in wordpiece.h; see wordpiece_unicode.c. */
#ifndef CW_WORDPIECE_UNICODE_H
#define CW_WORDPIECE_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* Rust char::is_whitespace (Unicode White_Space). */
int cw_uc_is_whitespace(uint32_t c);

/* Control / format / private-use / noncharacter (removed by clean_text);
 * '\t', '\n', '\r' are not controls here. */
int cw_uc_is_control(uint32_t c);

/* ASCII punctuation and symbols, or Unicode punctuation (P*). */
int cw_uc_is_punct(uint32_t c);

/* CJK ideograph (the ranges of the reference BertNormalizer). */
int cw_uc_is_cjk(uint32_t c);

/* Nonspacing mark dropped by accent stripping. */
int cw_uc_is_nonspacing_mark(uint32_t c);

/* NFD of `c` with nonspacing marks removed: writes up to 3 code points into
 * out and returns how many (1 with out[0] == c when nothing changes). */
size_t cw_uc_strip_accents(uint32_t c, uint32_t out[3]);

/* Simple lowercase mapping (c itself when not covered). */
uint32_t cw_uc_lower(uint32_t c);

/* Decode one UTF-8 sequence from s[0..len) (len >= 1): returns the bytes
 * consumed (>= 1) and the code point, U+FFFD for an invalid sequence. */
size_t cw_uc_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/* Encode `c` into out (4 bytes room); returns bytes written. */
size_t cw_uc_utf8_encode(uint32_t c, char *out);

#endif
