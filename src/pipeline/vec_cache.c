/* cw_vec_cache — see vec_cache.h. A chained hash table (FNV-1a of the id,
 * power-of-two buckets, doubled at load 1) plus a doubly linked list in
 * use order. Each entry is one allocation: header, vector, id, text. */
#include "vec_cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    struct entry *chain;          /* next in the bucket */
    struct entry *prev, *next;    /* use order: head = most recent */
    uint64_t hash;
    size_t dim;
    size_t bytes;                 /* what this entry counts against the bound */
    const char *id;               /* inside this allocation */
    const char *text;             /* inside this allocation */
    float vec[];                  /* dim floats, then id, then text */
} entry;

struct cw_vec_cache {
    entry **buckets;
    size_t n_buckets;             /* power of two, or 0 */
    size_t len;
    size_t bytes;
    size_t max_bytes;
    entry *head, *tail;
};

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

cw_vec_cache *cw_vec_cache_create(size_t max_bytes)
{
    cw_vec_cache *c = calloc(1, sizeof *c);
    if (c != NULL)
        c->max_bytes = max_bytes;
    return c;
}

void cw_vec_cache_destroy(cw_vec_cache *c)
{
    if (c == NULL)
        return;
    entry *e = c->head;
    while (e != NULL) {
        entry *next = e->next;
        free(e);
        e = next;
    }
    free(c->buckets);
    free(c);
}

static entry **find(cw_vec_cache *c, const char *id, uint64_t h)
{
    if (c->n_buckets == 0)
        return NULL;
    entry **link = &c->buckets[h & (c->n_buckets - 1)];
    while (*link != NULL && ((*link)->hash != h || strcmp((*link)->id, id) != 0))
        link = &(*link)->chain;
    return link;
}

static void list_unlink(cw_vec_cache *c, entry *e)
{
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void list_push_front(cw_vec_cache *c, entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head != NULL)
        c->head->prev = e;
    else
        c->tail = e;
    c->head = e;
}

/* Unlink `e` (found at *link) from everything and free it. */
static void drop(cw_vec_cache *c, entry **link, entry *e)
{
    *link = e->chain;
    list_unlink(c, e);
    c->len--;
    c->bytes -= e->bytes;
    free(e);
}

int cw_vec_cache_get(cw_vec_cache *c, const char *id, const char *text, size_t dim, float *out)
{
    entry **link = find(c, id, hash_id(id));
    if (link == NULL || *link == NULL)
        return 0;
    entry *e = *link;
    if (e->dim != dim || strcmp(e->text, text) != 0)
        return 0;
    memcpy(out, e->vec, dim * sizeof *out);
    if (c->head != e) {
        list_unlink(c, e);
        list_push_front(c, e);
    }
    return 1;
}

/* Double the buckets (at load 1); on out of memory keep the old ones
 * (chains just get longer). */
static void grow(cw_vec_cache *c)
{
    size_t n = c->n_buckets == 0 ? 64 : c->n_buckets * 2;
    entry **b = calloc(n, sizeof *b);
    if (b == NULL)
        return;
    for (entry *e = c->head; e != NULL; e = e->next) {
        size_t i = e->hash & (n - 1);
        e->chain = b[i];
        b[i] = e;
    }
    free(c->buckets);
    c->buckets = b;
    c->n_buckets = n;
}

void cw_vec_cache_put(cw_vec_cache *c, const char *id, const char *text, const float *vec,
                      size_t dim)
{
    uint64_t h = hash_id(id);
    size_t id_len = strlen(id) + 1, text_len = strlen(text) + 1;
    size_t bytes = sizeof(entry) + dim * sizeof(float) + id_len + text_len;

    entry **link = find(c, id, h);
    if (link != NULL && *link != NULL)
        drop(c, link, *link);
    if (bytes > c->max_bytes)
        return;
    while (c->bytes + bytes > c->max_bytes && c->tail != NULL)
        drop(c, find(c, c->tail->id, c->tail->hash), c->tail);

    entry *e = malloc(bytes);
    if (e == NULL)
        return;
    e->hash = h;
    e->dim = dim;
    e->bytes = bytes;
    memcpy(e->vec, vec, dim * sizeof(float));
    char *strs = (char *)(e->vec + dim);
    memcpy(strs, id, id_len);
    memcpy(strs + id_len, text, text_len);
    e->id = strs;
    e->text = strs + id_len;

    if (c->len + 1 > c->n_buckets)
        grow(c);
    if (c->n_buckets == 0) {
        free(e);
        return;
    }
    size_t i = h & (c->n_buckets - 1);
    e->chain = c->buckets[i];
    c->buckets[i] = e;
    list_push_front(c, e);
    c->len++;
    c->bytes += bytes;
}

size_t cw_vec_cache_len(const cw_vec_cache *c)
{
    return c->len;
}

size_t cw_vec_cache_bytes(const cw_vec_cache *c)
{
    return c->bytes;
}
