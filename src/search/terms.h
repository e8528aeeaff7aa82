/* terms — the words the lexical signal and the intent detector compare:
 * ASCII letters and digits (bytes >= 0x80 count as letters), everything
 * else separates, so names split on - . _ / and spaces. Lower-cased, with
 * plural forms folded ("ingresses" → "ingress", "policies" → "policy",
 * "databases" → "database"). Internal to src/search/. */
#ifndef CW_SEARCH_TERMS_H
#define CW_SEARCH_TERMS_H

#include <stddef.h>

#include "cw_error.h"

typedef struct cw_terms {
    char **v;              /* each malloc'd, NUL-terminated */
    size_t len, cap;
} cw_terms;

/* Append the terms of text[0..) to t. With `split_first_camel`, the first
 * word is also split at its CamelCase humps ("StatefulSet" → statefulset,
 * stateful, set). 0, or -1 with CW_E_NOMEM (t keeps what it had). */
CW_MUST_CHECK int cw_terms_add(cw_terms *t, const char *text, int split_first_camel, cw_error *err);

/* Fold one lower-case word in place (plural → singular; "cache" and
 * "caches" both → "cach"): what matters is that a word and its plural fold
 * alike, not that the result is English. */
void cw_terms_fold(char *w);

/* 1 when w is a question word that carries no meaning ("which", "the"...). */
int cw_terms_is_stopword(const char *w);

void cw_terms_free(cw_terms *t);

#endif
