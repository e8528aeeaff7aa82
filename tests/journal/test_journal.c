/* cw_journal unit tests: real SQLite files in a temporary directory. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cw_test.h"
#include "journal.h"

static char dir[256];

static void fresh_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/cw-journal-test-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    /* a subdirectory, so open has to create it */
    strncat(dir, "/j", sizeof dir - strlen(dir) - 1);
}

static void rm_dir(void)
{
    char cmd[600], top[256];
    snprintf(top, sizeof top, "%s", dir);
    *strrchr(top, '/') = '\0';
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

static cw_document doc(const char *id, const char *text)
{
    cw_document d = {
        .id = (char *)id, .text = (char *)text, .namespace = "default", .name = (char *)id,
        .kind = "Deployment", .api_version = "apps/v1", .api_group = "apps", .labels = "a=b",
    };
    return d;
}

static cw_journal *open_ok(uint64_t max_bytes)
{
    cw_error err;
    cw_error_clear(&err);
    cw_journal *j = cw_journal_open(dir, max_bytes, CW_JOURNAL_APPEND, &err);
    if (j == NULL)
        fprintf(stderr, "open: %s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    return j;
}

static void test_append_load_settle(void)
{
    fresh_dir();
    cw_journal *j = open_ok(0);
    cw_error err;
    cw_error_clear(&err);
    char *dels[] = { "x", "y" };
    cw_document ups[] = { doc("a", "text a"), doc("b", "text b") };
    int64_t first = 0, last = 0;
    CU_ASSERT_EQUAL(cw_journal_append(j, dels, 2, ups, 2, &first, &last, &err), 0);
    CU_ASSERT_EQUAL(first, 1);
    CU_ASSERT_EQUAL(last, 4);
    CU_ASSERT_EQUAL(cw_journal_append(j, NULL, 0, ups, 1, &first, &last, &err), 0);
    CU_ASSERT_EQUAL(first, 5);
    CU_ASSERT_EQUAL(last, 5);

    cw_journal_stats st;
    cw_journal_stats_get(j, &st);
    CU_ASSERT_EQUAL(st.backlog_ops, 5);
    CU_ASSERT_EQUAL(st.last_seq, 5);
    CU_ASSERT_EQUAL(st.first_unapplied, 1);
    CU_ASSERT(st.oldest_ms > 0);

    cw_journal_chunks c;
    CU_ASSERT_EQUAL(cw_journal_load(j, 0, 100, 100, &c, &err), 0);
    CU_ASSERT_EQUAL_FATAL(c.len, 2);
    CU_ASSERT_EQUAL(c.items[0].req, 1);
    CU_ASSERT_EQUAL(c.items[0].n_deletes, 2);
    CU_ASSERT_STRING_EQUAL(c.items[0].deletes[1], "y");
    CU_ASSERT_EQUAL(c.items[0].n_upserts, 2);
    CU_ASSERT_STRING_EQUAL(c.items[0].upserts[1].id, "b");
    CU_ASSERT_STRING_EQUAL(c.items[0].upserts[1].text, "text b");
    CU_ASSERT_STRING_EQUAL(c.items[0].upserts[1].labels, "a=b");
    CU_ASSERT_STRING_EQUAL(c.items[0].upserts[1].api_group, "apps");
    CU_ASSERT_EQUAL(c.items[0].first_seq, 1);
    CU_ASSERT_EQUAL(c.items[0].last_seq, 4);
    CU_ASSERT_EQUAL(c.items[1].req, 5);
    CU_ASSERT_EQUAL(c.last_seq, 5);
    cw_journal_chunks_clear(&c);

    /* A load bounded by ops splits the first request, keeping its order. */
    CU_ASSERT_EQUAL(cw_journal_load(j, 0, 3, 100, &c, &err), 0);
    CU_ASSERT_EQUAL_FATAL(c.len, 1);
    CU_ASSERT_EQUAL(c.items[0].n_deletes, 2);
    CU_ASSERT_EQUAL(c.items[0].n_upserts, 1);
    CU_ASSERT_EQUAL(c.last_seq, 3);
    cw_journal_chunks_clear(&c);
    /* ... and by upserts */
    CU_ASSERT_EQUAL(cw_journal_load(j, 2, 100, 1, &c, &err), 0);
    CU_ASSERT_EQUAL_FATAL(c.len, 1);
    CU_ASSERT_EQUAL(c.items[0].n_upserts, 1);
    CU_ASSERT_EQUAL(c.last_seq, 3);
    cw_journal_chunks_clear(&c);

    CU_ASSERT_EQUAL(cw_journal_settle(j, 4, NULL, 0, &err), 0);
    cw_journal_stats_get(j, &st);
    CU_ASSERT_EQUAL(st.backlog_ops, 1);
    CU_ASSERT_EQUAL(st.first_unapplied, 5);
    CU_ASSERT_EQUAL(cw_journal_load(j, 0, 100, 100, &c, &err), 0);
    CU_ASSERT_EQUAL(c.len, 1);
    CU_ASSERT_EQUAL(c.items[0].first_seq, 5);
    cw_journal_chunks_clear(&c);
    cw_journal_close(j);

    /* Reopened: what was not settled is still there; seqs go on. */
    j = open_ok(0);
    cw_journal_stats_get(j, &st);
    CU_ASSERT_EQUAL(st.backlog_ops, 1);
    CU_ASSERT_EQUAL(st.first_unapplied, 5);
    CU_ASSERT_EQUAL(st.last_seq, 5);
    CU_ASSERT_EQUAL(cw_journal_settle(j, 5, NULL, 0, &err), 0);
    cw_journal_close(j);
    j = open_ok(0);
    CU_ASSERT_EQUAL(cw_journal_append(j, dels, 1, NULL, 0, &first, &last, &err), 0);
    CU_ASSERT_EQUAL(first, 6);                  /* never reused, even when empty */
    cw_journal_close(j);
    rm_dir();
}

static void test_dead_letters_and_requeue(void)
{
    fresh_dir();
    cw_journal *j = open_ok(0);
    cw_error err;
    cw_error_clear(&err);
    cw_document ups[] = { doc("a", "A"), doc("b", "B"), doc("c", "C") };
    int64_t f, l;
    CU_ASSERT_EQUAL(cw_journal_append(j, NULL, 0, ups, 1, &f, &l, &err), 0);
    CU_ASSERT_EQUAL(cw_journal_append(j, NULL, 0, ups + 1, 1, &f, &l, &err), 0);
    CU_ASSERT_EQUAL(cw_journal_append(j, NULL, 0, ups + 2, 1, &f, &l, &err), 0);
    cw_journal_dead d = { 2, 2, "chroma upsert: HTTP 422: bad metadata" };
    CU_ASSERT_EQUAL(cw_journal_settle(j, 3, &d, 1, &err), 0);
    cw_journal_stats st;
    cw_journal_stats_get(j, &st);
    CU_ASSERT_EQUAL(st.backlog_ops, 0);
    CU_ASSERT_EQUAL(st.dead_letters, 1);
    CU_ASSERT_EQUAL(cw_journal_dead_in_range(j, 1, 3), 1);
    CU_ASSERT_EQUAL(cw_journal_dead_in_range(j, 3, 3), 0);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    CU_ASSERT_EQUAL(cw_journal_dead_print(j, out, 0, 0, &err), 1);
    fclose(out);
    CU_ASSERT_STRING_EQUAL(text, "2 upsert b: chroma upsert: HTTP 422: bad metadata\n");
    free(text);

    CU_ASSERT_EQUAL(cw_journal_requeue_dead(j, &err), 1);
    cw_journal_stats_get(j, &st);
    CU_ASSERT_EQUAL(st.dead_letters, 0);
    CU_ASSERT_EQUAL(st.backlog_ops, 1);
    CU_ASSERT_EQUAL(st.first_unapplied, 4);
    cw_journal_chunks c;
    CU_ASSERT_EQUAL(cw_journal_load(j, 3, 10, 10, &c, &err), 0);
    CU_ASSERT_EQUAL_FATAL(c.len, 1);
    CU_ASSERT_EQUAL(c.items[0].first_seq, 4);
    CU_ASSERT_EQUAL(c.items[0].req, 4);
    CU_ASSERT_STRING_EQUAL(c.items[0].upserts[0].id, "b");
    cw_journal_chunks_clear(&c);
    cw_journal_close(j);
    rm_dir();
}

static void test_full_refuses(void)
{
    fresh_dir();
    cw_journal *j = open_ok(250);               /* room for two small ops (98 bytes each) */
    cw_error err;
    cw_error_clear(&err);
    cw_document ups[] = { doc("a", "A") };
    int64_t f, l;
    CU_ASSERT_EQUAL(cw_journal_append(j, NULL, 0, ups, 1, &f, &l, &err), 0);
    CU_ASSERT_EQUAL(cw_journal_append(j, NULL, 0, ups, 1, &f, &l, &err), 0);
    CU_ASSERT_EQUAL(cw_journal_append(j, NULL, 0, ups, 1, &f, &l, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(err.retry_after_s, 5);
    CU_ASSERT(strncmp(err.msg, "journal full: ", 14) == 0);
    cw_journal_stats st;
    cw_journal_stats_get(j, &st);
    CU_ASSERT_EQUAL(st.backlog_ops, 2);
    CU_ASSERT_EQUAL(st.full_refusals, 1);
    CU_ASSERT_EQUAL(st.last_seq, 2);
    /* Settling makes room again. */
    CU_ASSERT_EQUAL(cw_journal_settle(j, 2, NULL, 0, &err), 0);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_journal_append(j, NULL, 0, ups, 1, &f, &l, &err), 0);
    CU_ASSERT_EQUAL(f, 3);
    cw_journal_close(j);
    rm_dir();
}

static void test_locked_by_another(void)
{
    fresh_dir();
    cw_journal *j = open_ok(0);
    cw_error err;
    cw_error_clear(&err);
    cw_journal *k = cw_journal_open(dir, 0, CW_JOURNAL_APPEND, &err);
    CU_ASSERT_PTR_NULL(k);
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    char want[512];
    snprintf(want, sizeof want, "journal %s is in use by another process (pid %ld) (one journal "
             "per server: give each its own --journal directory)", dir, (long)getpid());
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    /* Reading alongside is fine. */
    cw_error_clear(&err);
    k = cw_journal_open(dir, 0, CW_JOURNAL_READ, &err);
    CU_ASSERT_PTR_NOT_NULL(k);
    cw_journal_close(k);
    cw_journal_close(j);
    rm_dir();
}

static void test_damaged_file(void)
{
    fresh_dir();
    CU_ASSERT_EQUAL(mkdir(dir, 0700), 0);
    char path[300];
    snprintf(path, sizeof path, "%s/journal.db", dir);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("this is not a database, but a file of some length............................."
          "..............................................................................", f);
    fclose(f);
    cw_error err;
    cw_error_clear(&err);
    cw_journal *j = cw_journal_open(dir, 0, CW_JOURNAL_APPEND, &err);
    CU_ASSERT_PTR_NULL(j);
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    char want[2048];
    snprintf(want, sizeof want,
             "journal %s is damaged (file is not a database): stop the server, move %s aside to "
             "start with an empty journal (its unapplied operations are then lost unless salvaged "
             "with `sqlite3 OLD.db .recover | sqlite3 %s`), then start again", path, dir, path);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    CU_ASSERT(strchr(err.msg, '\n') == NULL);
    rm_dir();
}

/* A real journal cut short: its first pages only. */
static void test_truncated_file(void)
{
    fresh_dir();
    cw_journal *j = open_ok(0);
    cw_error err;
    cw_error_clear(&err);
    char text[2048];
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    for (int i = 0; i < 200; i++) {
        char id[32];
        snprintf(id, sizeof id, "id-%d", i);
        cw_document d = doc(id, text);
        int64_t f, l;
        CU_ASSERT_EQUAL(cw_journal_append(j, NULL, 0, &d, 1, &f, &l, &err), 0);
    }
    cw_journal_close(j);                        /* checkpoints the WAL into journal.db */
    char path[300];
    snprintf(path, sizeof path, "%s/journal.db", dir);
    struct stat sb;
    CU_ASSERT_EQUAL_FATAL(stat(path, &sb), 0);
    CU_ASSERT(sb.st_size > 100000);
    CU_ASSERT_EQUAL(truncate(path, sb.st_size / 3), 0);
    cw_error_clear(&err);
    j = cw_journal_open(dir, 0, CW_JOURNAL_APPEND, &err);
    CU_ASSERT_PTR_NULL(j);
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    char want[400];
    snprintf(want, sizeof want, "journal %s is damaged (", path);
    CU_ASSERT(strncmp(err.msg, want, strlen(want)) == 0);
    CU_ASSERT(strstr(err.msg, ".recover") != NULL);
    cw_journal_close(j);
    rm_dir();
}

/* Concurrent appends: every one gets its own contiguous range, and
 * together they take fewer transactions than appends (group commit). */
typedef struct appender_arg {
    cw_journal *j;
    int64_t first[50], last[50];
    int failed;
} appender_arg;

static void *append_many(void *p)
{
    appender_arg *a = p;
    char *dels[] = { "d1", "d2", "d3" };
    for (int i = 0; i < 50; i++) {
        cw_error err;
        cw_error_clear(&err);
        if (cw_journal_append(a->j, dels, 3, NULL, 0, &a->first[i], &a->last[i], &err) != 0)
            a->failed++;
    }
    return NULL;
}

static void test_group_commit(void)
{
    fresh_dir();
    cw_journal *j = open_ok(0);
    enum { T = 8 };
    appender_arg args[T];
    pthread_t th[T];
    for (int t = 0; t < T; t++) {
        memset(&args[t], 0, sizeof args[t]);
        args[t].j = j;
        pthread_create(&th[t], NULL, append_many, &args[t]);
    }
    for (int t = 0; t < T; t++)
        pthread_join(th[t], NULL);
    unsigned char *seen = calloc(T * 50 * 3 + 1, 1);
    for (int t = 0; t < T; t++) {
        CU_ASSERT_EQUAL(args[t].failed, 0);
        for (int i = 0; i < 50; i++) {
            CU_ASSERT_EQUAL(args[t].last[i] - args[t].first[i], 2);
            for (int64_t s = args[t].first[i]; s <= args[t].last[i]; s++) {
                CU_ASSERT(s >= 1 && s <= T * 50 * 3);
                if (s >= 1 && s <= T * 50 * 3) {
                    CU_ASSERT_EQUAL(seen[s], 0);
                    seen[s] = 1;
                }
            }
        }
    }
    free(seen);
    cw_journal_stats st;
    cw_journal_stats_get(j, &st);
    CU_ASSERT_EQUAL(st.appends, T * 50);
    CU_ASSERT_EQUAL(st.backlog_ops, T * 50 * 3);
    CU_ASSERT(st.group_commits <= st.appends);
    CU_ASSERT(st.group_commits >= 1);
    printf("\n    %llu appends in %llu transactions\n", (unsigned long long)st.appends,
           (unsigned long long)st.group_commits);
    /* Loaded back: requests whole, in seq order. */
    cw_error err;
    cw_error_clear(&err);
    cw_journal_chunks c;
    CU_ASSERT_EQUAL(cw_journal_load(j, 0, 10000, 10000, &c, &err), 0);
    CU_ASSERT_EQUAL(c.len, T * 50);
    for (size_t i = 0; i < c.len; i++) {
        CU_ASSERT_EQUAL(c.items[i].n_deletes, 3);
        CU_ASSERT_EQUAL(c.items[i].first_seq, (int64_t)(i * 3 + 1));
    }
    cw_journal_chunks_clear(&c);
    cw_journal_close(j);
    rm_dir();
}

static void test_default_dir(void)
{
    char buf[512];
    setenv("XDG_STATE_HOME", "/var/state", 1);
    CU_ASSERT_STRING_EQUAL(cw_journal_default_dir(buf, sizeof buf),
                           "/var/state/cluster-whisperer/journal");
    unsetenv("XDG_STATE_HOME");
    setenv("HOME", "/home/op", 1);
    CU_ASSERT_STRING_EQUAL(cw_journal_default_dir(buf, sizeof buf),
                           "/home/op/.local/state/cluster-whisperer/journal");
    unsetenv("HOME");
    CU_ASSERT_PTR_NULL(cw_journal_default_dir(buf, sizeof buf));
}

static CU_TestInfo tests[] = {
    { "append, load in chunks, settle, reopen", test_append_load_settle },
    { "dead letters: settle, print, requeue", test_dead_letters_and_requeue },
    { "full: 503 with retry, room after settle", test_full_refuses },
    { "one appending process per journal", test_locked_by_another },
    { "not a database: one line naming the file", test_damaged_file },
    { "truncated database: one line naming the file", test_truncated_file },
    { "8 threads: contiguous ranges, group commit", test_group_commit },
    { "default directory", test_default_dir },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cw_test_run("journal", tests);
}
