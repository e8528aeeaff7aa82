#include "terms.h"

#include <stdlib.h>
#include <string.h>

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static int ends_with(const char *w, size_t n, const char *suffix)
{
    size_t s = strlen(suffix);
    return n >= s && memcmp(w + n - s, suffix, s) == 0;
}

void cw_terms_fold(char *w)
{
    size_t n = strlen(w);
    if (n <= 3)
        return;
    if (ends_with(w, n, "ies") && n > 4) {
        strcpy(w + n - 3, "y");
    } else if (ends_with(w, n, "sses") || ends_with(w, n, "xes") || ends_with(w, n, "ches") ||
               ends_with(w, n, "shes")) {
        w[n - 2] = '\0';
    } else if (w[n - 1] == 's' && !ends_with(w, n, "ss") && !ends_with(w, n, "us") &&
               !ends_with(w, n, "is")) {
        w[n - 1] = '\0';
    }
    /* the singulars the rules above cannot tell from the plural:
     * "cache"/"caches" and "match"/"matches" both end "ch",
     * "cookie"/"cookies" both "y" */
    n = strlen(w);
    if (ends_with(w, n, "che"))
        w[n - 1] = '\0';
    else if (n > 3 && ends_with(w, n, "ie"))
        strcpy(w + n - 2, "y");
}

static const char *const STOPWORDS[] = {
    "a", "all", "an", "and", "any", "are", "as", "at", "be", "by", "can", "do", "does", "for",
    "from", "get", "have", "how", "i", "in", "is", "it", "its", "list", "me", "my", "of", "on",
    "or", "our", "run", "running", "show", "that", "the", "their", "there", "this", "to", "us",
    "we", "what", "where", "which", "who", "with",
};

int cw_terms_is_stopword(const char *w)
{
    for (size_t i = 0; i < sizeof STOPWORDS / sizeof STOPWORDS[0]; i++)
        if (strcmp(w, STOPWORDS[i]) == 0)
            return 1;
    return 0;
}

static int push(cw_terms *t, const char *s, size_t n, cw_error *err)
{
    if (t->len == t->cap) {
        size_t cap = t->cap != 0 ? t->cap * 2 : 32;
        char **v = realloc(t->v, cap * sizeof *v);
        if (v == NULL)
            return cw_error_set(err, CW_E_NOMEM, "search: out of memory");
        t->v = v;
        t->cap = cap;
    }
    char *w = malloc(n + 1);
    if (w == NULL)
        return cw_error_set(err, CW_E_NOMEM, "search: out of memory");
    for (size_t i = 0; i < n; i++)
        w[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    w[n] = '\0';
    cw_terms_fold(w);
    t->v[t->len++] = w;
    return 0;
}

/* The humps of a CamelCase word: a new part at each upper-case letter that
 * follows a lower-case one. Nothing when the word has a single part. */
static int push_humps(cw_terms *t, const char *s, size_t n, cw_error *err)
{
    size_t start = 0, parts = 0;
    for (size_t i = 1; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z' && s[i - 1] >= 'a' && s[i - 1] <= 'z')
            parts++;
    if (parts == 0)
        return 0;
    for (size_t i = 1; i <= n; i++) {
        if (i == n || (s[i] >= 'A' && s[i] <= 'Z' && s[i - 1] >= 'a' && s[i - 1] <= 'z')) {
            if (push(t, s + start, i - start, err) != 0)
                return -1;
            start = i;
        }
    }
    return 0;
}

int cw_terms_add(cw_terms *t, const char *text, int split_first_camel, cw_error *err)
{
    size_t had = t->len;
    int first = 1;
    const char *p = text;
    while (*p != '\0') {
        while (*p != '\0' && !is_word_byte((unsigned char)*p))
            p++;
        const char *s = p;
        while (*p != '\0' && is_word_byte((unsigned char)*p))
            p++;
        if (p == s)
            break;
        if (push(t, s, (size_t)(p - s), err) != 0 ||
            (first && split_first_camel && push_humps(t, s, (size_t)(p - s), err) != 0)) {
            while (t->len > had)
                free(t->v[--t->len]);
            return -1;
        }
        first = 0;
    }
    return 0;
}

void cw_terms_free(cw_terms *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->len; i++)
        free(t->v[i]);
    free(t->v);
    memset(t, 0, sizeof *t);
}
