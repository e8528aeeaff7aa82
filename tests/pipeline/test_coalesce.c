/* cw_coalesce: per-id last op wins, in op order. */
#include "coalesce.h"
#include "cw_test.h"
#include "tests.h"

static void check(const cw_coalesce_op *ops, size_t n, const char *want_deletes,
                  const char *want_upserts)
{
    cw_coalesce_result res;
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL_FATAL(cw_coalesce(ops, n, &res, &err), 0);
    char got_d[256] = "", got_u[256] = "";
    for (size_t i = 0; i < res.n_deletes; i++) {
        strcat(got_d, i > 0 ? "," : "");
        strcat(got_d, ops[res.deletes[i]].id);
    }
    for (size_t i = 0; i < res.n_upserts; i++) {
        char idx[32];
        snprintf(idx, sizeof idx, "%s%s#%zu", i > 0 ? "," : "", ops[res.upserts[i]].id,
                 res.upserts[i]);
        strcat(got_u, idx);
    }
    CU_ASSERT_STRING_EQUAL(got_d, want_deletes);
    CU_ASSERT_STRING_EQUAL(got_u, want_upserts);
    cw_coalesce_result_clear(&res);
}

void test_coalesce_empty(void)
{
    cw_coalesce_result res;
    CU_ASSERT_EQUAL(cw_coalesce(NULL, 0, &res, NULL), 0);
    CU_ASSERT_EQUAL(res.n_deletes, 0);
    CU_ASSERT_EQUAL(res.n_upserts, 0);
    CU_ASSERT_PTR_NULL(res.deletes);
    cw_coalesce_result_clear(&res);
    cw_coalesce_result_clear(NULL);
}

void test_coalesce_delete_then_upsert(void)
{
    /* one request: deletes [x, y], upserts [x] → x present, y deleted */
    cw_coalesce_op ops[] = { { "x", 0 }, { "y", 0 }, { "x", 1 } };
    check(ops, 3, "y", "x#2");
}

void test_coalesce_repeated_upsert(void)
{
    cw_coalesce_op ops[] = { { "a", 1 }, { "b", 1 }, { "a", 1 } };
    check(ops, 3, "", "b#1,a#2");
}

void test_coalesce_across_requests(void)
{
    /* req1 upsert x; req2 delete x; req3 upsert y; req4 delete y, upsert y */
    cw_coalesce_op ops[] = { { "x", 1 }, { "x", 0 }, { "y", 1 }, { "y", 0 }, { "y", 1 } };
    check(ops, 5, "x", "y#4");
}

void test_coalesce_empty_delete_id_dropped(void)
{
    cw_coalesce_op ops[] = { { "", 0 }, { "a", 0 }, { "a", 0 } };
    check(ops, 3, "a", "");
}

void test_coalesce_many_ids(void)
{
    /* 1000 distinct ids, then the even ones deleted: exercises the table. */
    static char ids[1000][8];
    static cw_coalesce_op ops[1500];
    size_t n = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(ids[i], sizeof ids[i], "id%d", i);
        ops[n].id = ids[i];
        ops[n++].is_upsert = 1;
    }
    for (int i = 0; i < 1000; i += 2) {
        ops[n].id = ids[i];
        ops[n++].is_upsert = 0;
    }
    cw_coalesce_result res;
    CU_ASSERT_EQUAL_FATAL(cw_coalesce(ops, n, &res, NULL), 0);
    CU_ASSERT_EQUAL(res.n_upserts, 500);
    CU_ASSERT_EQUAL(res.n_deletes, 500);
    CU_ASSERT_STRING_EQUAL(ops[res.upserts[0]].id, "id1");
    CU_ASSERT_STRING_EQUAL(ops[res.upserts[499]].id, "id999");
    CU_ASSERT_STRING_EQUAL(ops[res.deletes[0]].id, "id0");
    CU_ASSERT_STRING_EQUAL(ops[res.deletes[499]].id, "id998");
    cw_coalesce_result_clear(&res);
}
