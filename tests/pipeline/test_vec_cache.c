/* cw_vec_cache on its own: exact-text hits, replacement, the byte bound
 * and least-recently-used eviction. */
#include "cw_test.h"
#include "tests.h"
#include "vec_cache.h"

#define VDIM 4

static size_t entry_bytes(cw_vec_cache *c, const char *id, const char *text)
{
    cw_vec_cache *probe = cw_vec_cache_create(1 << 20);
    float v[VDIM] = { 0 };
    cw_vec_cache_put(probe, id, text, v, VDIM);
    size_t n = cw_vec_cache_bytes(probe);
    cw_vec_cache_destroy(probe);
    (void)c;
    return n;
}

void test_vec_cache_hits_exact_text(void)
{
    cw_vec_cache *c = cw_vec_cache_create(1 << 20);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    float v1[VDIM] = { 1, 2, 3, 4 }, v2[VDIM] = { 5, 6, 7, 8 }, out[VDIM] = { 0 };
    CU_ASSERT_EQUAL(cw_vec_cache_get(c, "a", "text", VDIM, out), 0);
    cw_vec_cache_put(c, "a", "text", v1, VDIM);
    CU_ASSERT_EQUAL(cw_vec_cache_len(c), 1);
    CU_ASSERT_EQUAL(cw_vec_cache_get(c, "a", "text", VDIM, out), 1);
    CU_ASSERT(memcmp(out, v1, sizeof v1) == 0);
    CU_ASSERT_EQUAL(cw_vec_cache_get(c, "a", "text2", VDIM, out), 0);   /* other text */
    CU_ASSERT_EQUAL(cw_vec_cache_get(c, "a", "tex", VDIM, out), 0);
    CU_ASSERT_EQUAL(cw_vec_cache_get(c, "a", "text", VDIM - 1, out), 0); /* other dim */
    CU_ASSERT_EQUAL(cw_vec_cache_get(c, "b", "text", VDIM, out), 0);   /* other id */
    /* replacing an id drops its old text */
    cw_vec_cache_put(c, "a", "new", v2, VDIM);
    CU_ASSERT_EQUAL(cw_vec_cache_len(c), 1);
    CU_ASSERT_EQUAL(cw_vec_cache_get(c, "a", "text", VDIM, out), 0);
    CU_ASSERT_EQUAL(cw_vec_cache_get(c, "a", "new", VDIM, out), 1);
    CU_ASSERT(memcmp(out, v2, sizeof v2) == 0);
    /* many ids: the table grows and every one is still found */
    char id[32], text[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "ns/v1/Pod/p%d", i);
        snprintf(text, sizeof text, "Pod p%d", i);
        float v[VDIM] = { (float)i, 0, 0, 0 };
        cw_vec_cache_put(c, id, text, v, VDIM);
    }
    CU_ASSERT_EQUAL(cw_vec_cache_len(c), 1001);
    int found = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "ns/v1/Pod/p%d", i);
        snprintf(text, sizeof text, "Pod p%d", i);
        found += cw_vec_cache_get(c, id, text, VDIM, out) == 1 && out[0] == (float)i;
    }
    CU_ASSERT_EQUAL(found, 1000);
    cw_vec_cache_destroy(c);
    cw_vec_cache_destroy(NULL);
}

void test_vec_cache_bound_evicts_least_recent(void)
{
    size_t one = entry_bytes(NULL, "a", "t");
    cw_vec_cache *c = cw_vec_cache_create(3 * one);
    float v[VDIM] = { 1, 1, 1, 1 }, out[VDIM];
    cw_vec_cache_put(c, "a", "t", v, VDIM);
    cw_vec_cache_put(c, "b", "t", v, VDIM);
    cw_vec_cache_put(c, "c", "t", v, VDIM);
    CU_ASSERT_EQUAL(cw_vec_cache_len(c), 3);
    CU_ASSERT_EQUAL(cw_vec_cache_bytes(c), 3 * one);
    CU_ASSERT_EQUAL(cw_vec_cache_get(c, "a", "t", VDIM, out), 1);       /* a is now recent */
    cw_vec_cache_put(c, "d", "t", v, VDIM);                            /* evicts b */
    CU_ASSERT_EQUAL(cw_vec_cache_len(c), 3);
    CU_ASSERT_EQUAL(cw_vec_cache_get(c, "b", "t", VDIM, out), 0);
    CU_ASSERT_EQUAL(cw_vec_cache_get(c, "a", "t", VDIM, out), 1);
    CU_ASSERT_EQUAL(cw_vec_cache_get(c, "c", "t", VDIM, out), 1);
    CU_ASSERT_EQUAL(cw_vec_cache_get(c, "d", "t", VDIM, out), 1);
    CU_ASSERT(cw_vec_cache_bytes(c) <= 3 * one);
    /* an entry larger than the whole bound is not kept, and evicts nothing */
    char big[512];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cw_vec_cache_put(c, "e", big, v, VDIM);
    CU_ASSERT_EQUAL(cw_vec_cache_get(c, "e", big, VDIM, out), 0);
    CU_ASSERT_EQUAL(cw_vec_cache_len(c), 3);
    cw_vec_cache_destroy(c);

    /* a bound of 0 keeps nothing */
    c = cw_vec_cache_create(0);
    cw_vec_cache_put(c, "a", "t", v, VDIM);
    CU_ASSERT_EQUAL(cw_vec_cache_len(c), 0);
    CU_ASSERT_EQUAL(cw_vec_cache_get(c, "a", "t", VDIM, out), 0);
    cw_vec_cache_destroy(c);
}
