/* cw_wordpiece — see wordpiece.h. */
#include "wordpiece.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "wordpiece_unicode.h"

/* One vocabulary slot of the open-addressing table (key == NULL: empty). */
typedef struct wp_slot {
    const char *key;       /* into wp->strings */
    uint32_t len;
    int32_t id;
} wp_slot;

struct cw_wordpiece {
    wp_slot *slots;
    size_t mask;             /* capacity - 1 (capacity a power of two) */
    size_t count;
    size_t id_limit;         /* 1 + largest id */
    char *strings;           /* all tokens, NUL-terminated, back to back */
    char prefix[16];         /* continuing_subword_prefix ("##") */
    size_t prefix_len;
    size_t max_word_chars;   /* max_input_chars_per_word (100) */
    int32_t unk, cls, sep;
    int lowercase, strip_accents, clean_text, chinese_chars;
};

static uint64_t wp_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int32_t wp_lookup(const cw_wordpiece *wp, const char *s, size_t len)
{
    size_t i = (size_t)wp_hash(s, len) & wp->mask;
    while (wp->slots[i].key != NULL) {
        if (wp->slots[i].len == len && memcmp(wp->slots[i].key, s, len) == 0)
            return wp->slots[i].id;
        i = (i + 1) & wp->mask;
    }
    return -1;
}

int32_t cw_wordpiece_id(const cw_wordpiece *wp, const char *token)
{
    return wp_lookup(wp, token, strlen(token));
}

size_t cw_wordpiece_vocab_size(const cw_wordpiece *wp)
{
    return wp->count;
}

size_t cw_wordpiece_id_limit(const cw_wordpiece *wp)
{
    return wp->id_limit;
}

static json_object *wp_get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (o == NULL || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

/* A boolean flag of the normalizer; null/absent gives `dflt`. */
static int wp_flag(json_object *norm, const char *key, int dflt)
{
    json_object *v = wp_get(norm, key);
    if (v == NULL || json_object_is_type(v, json_type_null))
        return dflt;
    return json_object_get_boolean(v) ? 1 : 0;
}

static int wp_load_vocab(cw_wordpiece *wp, const char *path, json_object *vocab, cw_error *err)
{
    size_t n = 0, bytes = 0;
    json_object_object_foreach(vocab, k, v) {
        (void)v;
        n++;
        bytes += strlen(k) + 1;
    }
    if (n == 0)
        return cw_error_set(err, CW_E_CONFIG, "%s: model.vocab is empty", path);
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    wp->slots = calloc(cap, sizeof *wp->slots);
    wp->strings = malloc(bytes);
    if (wp->slots == NULL || wp->strings == NULL)
        return cw_error_set(err, CW_E_NOMEM, "%s: out of memory", path);
    wp->mask = cap - 1;
    char *sp = wp->strings;
    json_object_object_foreach(vocab, key, val) {
        if (!json_object_is_type(val, json_type_int))
            return cw_error_set(err, CW_E_CONFIG, "%s: vocab entry '%s' has no integer id", path,
                                key);
        int64_t id = json_object_get_int64(val);
        if (id < 0 || id > INT32_MAX)
            return cw_error_set(err, CW_E_CONFIG, "%s: vocab entry '%s' has id %lld", path, key,
                                (long long)id);
        size_t len = strlen(key);
        memcpy(sp, key, len + 1);
        size_t i = (size_t)wp_hash(sp, len) & wp->mask;
        while (wp->slots[i].key != NULL)
            i = (i + 1) & wp->mask;
        wp->slots[i].key = sp;
        wp->slots[i].len = (uint32_t)len;
        wp->slots[i].id = (int32_t)id;
        sp += len + 1;
        wp->count++;
        if ((size_t)id + 1 > wp->id_limit)
            wp->id_limit = (size_t)id + 1;
    }
    return 0;
}

/* The id of a special token named in tokenizer.json; -1 + err if unknown. */
static int wp_special(cw_wordpiece *wp, const char *path, const char *name, int32_t *out,
                      cw_error *err)
{
    *out = cw_wordpiece_id(wp, name);
    if (*out < 0)
        return cw_error_set(err, CW_E_CONFIG, "%s: token '%s' is not in the vocabulary", path,
                            name);
    return 0;
}

/* [CLS]/[SEP] from post_processor.special_tokens when present. */
static const char *wp_post_token(json_object *root, const char *dflt)
{
    json_object *sp = wp_get(wp_get(wp_get(root, "post_processor"), "special_tokens"), dflt);
    json_object *id = wp_get(sp, "id");
    if (id != NULL && json_object_is_type(id, json_type_string))
        return json_object_get_string(id);
    return dflt;
}

cw_wordpiece *cw_wordpiece_create(const char *path, cw_error *err)
{
    cw_wordpiece *wp = calloc(1, sizeof *wp);
    json_object *root = NULL;
    if (wp == NULL) {
        cw_error_set(err, CW_E_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    root = json_object_from_file(path);
    if (root == NULL) {
        cw_error_set(err, CW_E_CONFIG, "%s: cannot read tokenizer JSON (%s)", path,
                     json_util_get_last_err() != NULL ? json_util_get_last_err() : "unknown");
        goto fail;
    }
    json_object *model = wp_get(root, "model");
    json_object *type = wp_get(model, "type");
    if (model == NULL || type == NULL || strcmp(json_object_get_string(type), "WordPiece") != 0) {
        cw_error_set(err, CW_E_CONFIG, "%s: not a WordPiece tokenizer", path);
        goto fail;
    }
    json_object *vocab = wp_get(model, "vocab");
    if (vocab == NULL || !json_object_is_type(vocab, json_type_object)) {
        cw_error_set(err, CW_E_CONFIG, "%s: model.vocab missing", path);
        goto fail;
    }
    if (wp_load_vocab(wp, path, vocab, err) != 0)
        goto fail;

    json_object *pfx = wp_get(model, "continuing_subword_prefix");
    const char *prefix = pfx != NULL && json_object_is_type(pfx, json_type_string)
                             ? json_object_get_string(pfx)
                             : "##";
    if (strlen(prefix) >= sizeof wp->prefix) {
        cw_error_set(err, CW_E_CONFIG, "%s: continuing_subword_prefix too long", path);
        goto fail;
    }
    strcpy(wp->prefix, prefix);
    wp->prefix_len = strlen(prefix);
    json_object *maxc = wp_get(model, "max_input_chars_per_word");
    wp->max_word_chars = 100;
    if (maxc != NULL) {
        int64_t mw = json_object_get_int64(maxc);
        if (!json_object_is_type(maxc, json_type_int) || mw < 1 || mw > 1000000) {
            cw_error_set(err, CW_E_CONFIG, "%s: bad model.max_input_chars_per_word", path);
            goto fail;
        }
        wp->max_word_chars = (size_t)mw;
    }
    json_object *unk = wp_get(model, "unk_token");
    const char *unk_name = unk != NULL && json_object_is_type(unk, json_type_string)
                               ? json_object_get_string(unk)
                               : "[UNK]";
    if (wp_special(wp, path, unk_name, &wp->unk, err) != 0 ||
        wp_special(wp, path, wp_post_token(root, "[CLS]"), &wp->cls, err) != 0 ||
        wp_special(wp, path, wp_post_token(root, "[SEP]"), &wp->sep, err) != 0)
        goto fail;

    json_object *norm = wp_get(root, "normalizer");
    wp->lowercase = wp_flag(norm, "lowercase", 1);
    wp->strip_accents = wp_flag(norm, "strip_accents", wp->lowercase);
    wp->clean_text = wp_flag(norm, "clean_text", 1);
    wp->chinese_chars = wp_flag(norm, "handle_chinese_chars", 1);
    json_object_put(root);
    return wp;
fail:
    json_object_put(root);
    cw_wordpiece_destroy(wp);
    return NULL;
}

void cw_wordpiece_destroy(cw_wordpiece *wp)
{
    if (wp == NULL)
        return;
    free(wp->slots);
    free(wp->strings);
    free(wp);
}

/* Token sink: appends ids until `cap` is reached. */
typedef struct wp_out {
    int32_t *ids;
    size_t n, cap;
} wp_out;

static void wp_emit(wp_out *o, int32_t id)
{
    if (o->n < o->cap)
        o->ids[o->n++] = id;
}

/* Per-call state: the word being collected and the WordPiece buffers, all
 * sized by max_word_chars (a longer word is [UNK] without being looked at),
 * so memory does not grow with the text. */
typedef struct wp_state {
    uint32_t *word;       /* first max_word_chars + 1 code points of the word */
    size_t wlen;          /* code points in the word (may exceed the buffer) */
    char *utf;            /* 4 * max_word_chars bytes */
    char *key;            /* prefix + 4 * max_word_chars bytes */
    size_t *offs;         /* max_word_chars + 1 byte offsets */
} wp_state;

/* WordPiece the collected word (greedy longest match, "##" continuations). */
static void wp_flush(const cw_wordpiece *wp, wp_state *ws, wp_out *o)
{
    size_t n = ws->wlen;
    ws->wlen = 0;
    if (n == 0)
        return;
    if (n > wp->max_word_chars) {
        wp_emit(o, wp->unk);
        return;
    }
    ws->offs[0] = 0;
    for (size_t i = 0; i < n; i++)
        ws->offs[i + 1] = ws->offs[i] + cw_uc_utf8_encode(ws->word[i], ws->utf + ws->offs[i]);
    memcpy(ws->key, wp->prefix, wp->prefix_len);
    size_t first = o->n;
    size_t start = 0;
    while (start < n) {
        int32_t found = -1;
        size_t end = n;
        for (; end > start; end--) {
            size_t plen = ws->offs[end] - ws->offs[start];
            if (start == 0) {
                found = wp_lookup(wp, ws->utf, plen);
            } else {
                memcpy(ws->key + wp->prefix_len, ws->utf + ws->offs[start], plen);
                found = wp_lookup(wp, ws->key, wp->prefix_len + plen);
            }
            if (found >= 0)
                break;
        }
        if (found < 0) {
            o->n = first;   /* the whole word becomes one [UNK] */
            wp_emit(o, wp->unk);
            return;
        }
        wp_emit(o, found);
        start = end;
    }
}

/* Pre-tokenize one normalised code point: whitespace ends a word,
 * punctuation is a word of its own, anything else extends the word. */
static void wp_push(const cw_wordpiece *wp, wp_state *ws, wp_out *o, uint32_t c)
{
    if (cw_uc_is_whitespace(c)) {
        wp_flush(wp, ws, o);
    } else if (cw_uc_is_punct(c)) {
        wp_flush(wp, ws, o);
        ws->word[0] = c;
        ws->wlen = 1;
        wp_flush(wp, ws, o);
    } else {
        if (ws->wlen <= wp->max_word_chars)
            ws->word[ws->wlen] = c;
        ws->wlen++;
    }
}

/* Normalise one input code point (BertNormalizer order: clean text, CJK
 * spacing, accent stripping, lowercase) and push the result. */
static void wp_normalize(const cw_wordpiece *wp, wp_state *ws, wp_out *o, uint32_t c)
{
    if (wp->clean_text) {
        if (c == 0 || c == 0xFFFD || cw_uc_is_control(c))
            return;
        if (cw_uc_is_whitespace(c))
            c = ' ';
    }
    if (wp->chinese_chars && cw_uc_is_cjk(c)) {
        wp_push(wp, ws, o, ' ');
        wp_push(wp, ws, o, c);
        wp_push(wp, ws, o, ' ');
        return;
    }
    uint32_t d[3];
    size_t nd = 1;
    d[0] = c;
    if (wp->strip_accents) {
        if (cw_uc_is_nonspacing_mark(c))
            return;
        nd = cw_uc_strip_accents(c, d);
    }
    for (size_t k = 0; k < nd; k++)
        wp_push(wp, ws, o, wp->lowercase ? cw_uc_lower(d[k]) : d[k]);
}

int cw_wordpiece_encode(const cw_wordpiece *wp, const char *text, size_t len, int32_t *ids,
                        size_t max_tokens, size_t *n_out, cw_error *err)
{
    int rc = -1;
    size_t mw = wp->max_word_chars;
    wp_state ws = { 0 };
    *n_out = 0;
    if (max_tokens < 2)
        return cw_error_set(err, CW_E_INTERNAL, "wordpiece: max_tokens %zu < 2", max_tokens);
    ws.word = malloc((mw + 1) * sizeof *ws.word);
    ws.utf = malloc(4 * mw);
    ws.key = malloc(wp->prefix_len + 4 * mw);
    ws.offs = malloc((mw + 1) * sizeof *ws.offs);
    if (ws.word == NULL || ws.utf == NULL || ws.key == NULL || ws.offs == NULL) {
        cw_error_set(err, CW_E_NOMEM, "wordpiece: out of memory");
        goto out;
    }
    wp_out o = { ids, 0, max_tokens - 1 };   /* keep one slot for [SEP] */
    wp_emit(&o, wp->cls);
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len && o.n < o.cap) {   /* stop once the ids are full */
        uint32_t c;
        i += cw_uc_utf8_decode(s + i, len - i, &c);
        wp_normalize(wp, &ws, &o, c);
    }
    wp_flush(wp, &ws, &o);
    o.cap = max_tokens;
    wp_emit(&o, wp->sep);
    *n_out = o.n;
    rc = 0;
out:
    free(ws.word);
    free(ws.utf);
    free(ws.key);
    free(ws.offs);
    return rc;
}
