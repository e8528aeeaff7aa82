/* cw_wordpiece — the BERT uncased tokenizer (Hugging Face "BertNormalizer" +
 * "BertPreTokenizer" + "WordPiece"), driven by a tokenizer.json.
 *
 * From tokenizer.json it reads: model.vocab, model.unk_token,
 * model.continuing_subword_prefix, model.max_input_chars_per_word, the
 * normalizer flags (lowercase, strip_accents, clean_text,
 * handle_chinese_chars) and the [CLS]/[SEP] tokens of the post-processor.
 * Its own truncation/padding settings are ignored: the caller chooses the
 * maximum length (all-MiniLM-L6-v2 uses 256).
 *
 * Pipeline, as in the reference: clean text (drop NUL, U+FFFD and control
 * characters, whitespace → ' '), put spaces around CJK ideographs, strip
 * accents (NFD, drop nonspacing marks), lowercase, split on whitespace and
 * punctuation, WordPiece greedy longest match with "##" continuations
 * (a word that cannot be covered, or longer than max_input_chars_per_word
 * characters, becomes one [UNK]), then [CLS] ... [SEP].
 *
 * Limits (no ICU): accent stripping decomposes Latin-1, Latin Extended-A,
 * Greek and Cyrillic letters with diacritics, Hangul syllables and Japanese
 * voiced kana, and drops the combining diacritical mark blocks; marks of
 * other scripts (Hebrew, Arabic, Indic vowel signs) are kept. Lowercasing
 * covers ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic and fullwidth
 * Latin. Unicode punctuation/control tables cover the common blocks (see
 * wordpiece_unicode.c). Invalid UTF-8 bytes are treated as U+FFFD (dropped).
 *
 * Ownership: the tokenizer owns its vocabulary; after create it is
 * read-only, so cw_wordpiece_encode() may run on several threads at once.
 */
#ifndef CW_WORDPIECE_H
#define CW_WORDPIECE_H

#include <stddef.h>
#include <stdint.h>

#include "cw_error.h"

typedef struct cw_wordpiece cw_wordpiece;

/* Load `tokenizer_json_path`. NULL + err (CW_E_CONFIG "<path>: <problem>",
 * or CW_E_NOMEM) on failure. */
CW_MUST_CHECK cw_wordpiece *cw_wordpiece_create(const char *tokenizer_json_path, cw_error *err);

/* Free; NULL is a no-op. */
void cw_wordpiece_destroy(cw_wordpiece *wp);

/* Tokenize text[0..len) into ids[0..*n_out): [CLS] pieces... [SEP], keeping
 * at most max_tokens ids in all (pieces past max_tokens - 2 are dropped;
 * max_tokens must be >= 2). Returns 0, or -1 + err (CW_E_NOMEM). */
CW_MUST_CHECK int cw_wordpiece_encode(const cw_wordpiece *wp, const char *text, size_t len,
                                      int32_t *ids, size_t max_tokens, size_t *n_out,
                                      cw_error *err);

/* Id of a vocabulary token (exact match), or -1. */
int32_t cw_wordpiece_id(const cw_wordpiece *wp, const char *token);

/* Number of vocabulary entries, and 1 + the largest id. */
size_t cw_wordpiece_vocab_size(const cw_wordpiece *wp);
size_t cw_wordpiece_id_limit(const cw_wordpiece *wp);

#endif
