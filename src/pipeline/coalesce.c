/* cw_coalesce — see coalesce.h. An open-addressing hash table maps each id
 * to the index of its last op; a second pass keeps the ops that are last. */
#include "coalesce.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLOT_EMPTY SIZE_MAX

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL;          /* FNV-1a */
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* The slot holding `id`, or the empty slot where it belongs. */
static size_t find_slot(const size_t *slots, size_t mask, const cw_coalesce_op *ops,
                        const char *id)
{
    size_t i = (size_t)hash_id(id) & mask;
    while (slots[i] != SLOT_EMPTY && strcmp(ops[slots[i]].id, id) != 0)
        i = (i + 1) & mask;
    return i;
}

int cw_coalesce(const cw_coalesce_op *ops, size_t n, cw_coalesce_result *out,
                cw_error *err)
{
    int rc = -1;
    size_t *slots = NULL;
    size_t cap = 16;

    memset(out, 0, sizeof *out);
    if (n == 0)
        return 0;
    while (cap < n * 2)
        cap *= 2;
    slots = malloc(cap * sizeof *slots);
    out->deletes = malloc(n * sizeof *out->deletes);
    out->upserts = malloc(n * sizeof *out->upserts);
    if (slots == NULL || out->deletes == NULL || out->upserts == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory coalescing %zu operations", n);
        goto out;
    }
    for (size_t i = 0; i < cap; i++)
        slots[i] = SLOT_EMPTY;

    /* Pass 1: every id's slot ends up holding its last op. */
    for (size_t i = 0; i < n; i++)
        slots[find_slot(slots, cap - 1, ops, ops[i].id)] = i;

    /* Pass 2: keep op i only if it is its id's last op. */
    for (size_t i = 0; i < n; i++) {
        if (slots[find_slot(slots, cap - 1, ops, ops[i].id)] != i)
            continue;
        if (ops[i].is_upsert)
            out->upserts[out->n_upserts++] = i;
        else if (ops[i].id[0] != '\0')
            out->deletes[out->n_deletes++] = i;
    }
    rc = 0;
out:
    free(slots);
    if (rc != 0)
        cw_coalesce_result_clear(out);
    return rc;
}

void cw_coalesce_result_clear(cw_coalesce_result *res)
{
    if (res == NULL)
        return;
    free(res->deletes);
    free(res->upserts);
    memset(res, 0, sizeof *res);
}
