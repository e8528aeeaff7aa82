/* cw_test_chroma — how tests read what Chroma holds straight from Chroma
 * (the product's own client, not through the server under test): open a
 * client on a collection, ask whether one id is stored, count the records. Shared by the
 * in-process HTTP fixture (tests/http) and the reliability harness
 * (tests/reliability); header-only like cw_test.h, for executables that
 * link cw_chroma. Errors are printed as one line on stderr. */
#ifndef CW_TEST_CHROMA_H
#define CW_TEST_CHROMA_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chroma.h"

/* A client for `collection` at `url` (connect 1 s, read 10 s), or NULL.
 * The caller owns it (cw_chroma_destroy). The collection is not created. */
static inline cw_chroma *cw_test_chroma_open(const char *url, const char *collection)
{
    cw_chroma_config cc;
    memset(&cc, 0, sizeof cc);
    cc.url = url;
    cc.collection = collection;
    cc.connect_timeout_ms = 1000;
    cc.read_timeout_ms = 10000;
    cw_error err;
    cw_error_clear(&err);
    cw_chroma *c = cw_chroma_create(&cc, &err);
    if (c == NULL)
        fprintf(stderr, "\n  cw_chroma_create: %s\n", err.msg);
    return c;
}

/* 1 when `id` is stored, 0 when not, -1 when Chroma could not be read.
 * When `text` is not NULL, *text receives the stored document (malloc'd,
 * the caller's) or NULL. */
static inline int cw_test_chroma_stored(cw_chroma *c, const char *id, char **text)
{
    cw_chroma_records recs;
    cw_error err;
    cw_error_clear(&err);
    const char *ids[1] = { id };
    if (text != NULL)
        *text = NULL;
    if (cw_chroma_get(c, ids, 1, 0, &recs, &err) != 0) {
        fprintf(stderr, "\n  reading %s from Chroma: %s\n", id, err.msg);
        return -1;
    }
    int found = recs.len == 1;
    if (found && text != NULL && recs.items[0].document != NULL)
        *text = strdup(recs.items[0].document);
    cw_chroma_records_free(&recs);
    return found;
}

/* How many records the collection holds, or -1 when Chroma could not be
 * read (printed). */
static inline long cw_test_chroma_count(cw_chroma *c)
{
    size_t n = 0;
    cw_error err;
    cw_error_clear(&err);
    if (cw_chroma_count(c, &n, &err) != 0) {
        fprintf(stderr, "\n  counting Chroma's records: %s\n", err.msg);
        return -1;
    }
    return (long)n;
}

#endif
