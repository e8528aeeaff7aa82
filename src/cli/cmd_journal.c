/* cluster-whisperer journal — look into serve's journal (DESIGN §6a):
 *   status         backlog (operations, bytes, oldest), dead letters
 *   dead-letters   what Chroma or the embedder refused for good, and why
 *   requeue        move the dead letters back to be applied again (needs
 *                  the server stopped: it takes the journal's lock)
 * Reading works while the server runs (SQLite WAL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "cw_log.h"
#include "journal.h"
#include "options.h"

static int status(cw_journal *j, int json)
{
    cw_journal_stats st;
    cw_journal_stats_get(j, &st);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    double age = st.oldest_ms > 0 && now > st.oldest_ms ? (double)(now - st.oldest_ms) / 1000 : 0;
    if (json)
        printf("{\"path\":\"%s\",\"backlog_operations\":%llu,\"backlog_bytes\":%llu,"
               "\"oldest_unapplied_seconds\":%.3f,\"first_unapplied_seq\":%lld,"
               "\"last_seq\":%lld,\"dead_letters\":%llu}\n",
               cw_journal_path(j), (unsigned long long)st.backlog_ops,
               (unsigned long long)st.backlog_bytes, age, (long long)st.first_unapplied,
               (long long)st.last_seq, (unsigned long long)st.dead_letters);
    else
        printf("journal %s: %llu operations (%llu bytes) not yet applied%s%.1f s old; "
               "%llu dead letters; last seq %lld\n",
               cw_journal_path(j), (unsigned long long)st.backlog_ops,
               (unsigned long long)st.backlog_bytes, st.backlog_ops > 0 ? ", the oldest " : ", ",
               age, (unsigned long long)st.dead_letters, (long long)st.last_seq);
    return 0;
}

int cw_cmd_journal(int argc, char **argv)
{
    cw_options o;
    int early = cw_options_begin(&o, CW_CMD_JOURNAL, argc, argv, CW_LOG_WARN);
    if (early >= 0)
        return early;
    const char *dir = o.journal, *what = o.positional;
    int json = o.json;
    size_t limit = o.limit;
    int requeue = strcmp(what, "requeue") == 0;
    if (!requeue && strcmp(what, "status") != 0 && strcmp(what, "dead-letters") != 0) {
        fprintf(stderr, "cluster-whisperer journal: unknown action '%s': status, dead-letters or requeue\n", what);
        return 2;
    }
    char dflt[4096];
    if (dir == NULL || strcmp(dir, "off") == 0)
        dir = cw_journal_default_dir(dflt, sizeof dflt);
    if (dir == NULL) {
        fprintf(stderr, "cluster-whisperer journal: no journal directory: set --journal DIR\n");
        return 2;
    }

    int rc = 1;
    cw_error err;
    cw_error_clear(&err);
    cw_journal *j = cw_journal_open(dir, 0, requeue ? CW_JOURNAL_APPEND : CW_JOURNAL_READ, &err);
    if (j == NULL) {
        fprintf(stderr, "cluster-whisperer journal: %s\n", err.msg);
        goto out;
    }
    if (strcmp(what, "status") == 0) {
        rc = status(j, json);
    } else if (strcmp(what, "dead-letters") == 0) {
        if (cw_journal_dead_print(j, stdout, json, limit, &err) < 0) {
            fprintf(stderr, "cluster-whisperer journal: %s\n", err.msg);
            goto out;
        }
        rc = 0;
    } else {
        int64_t n = cw_journal_requeue_dead(j, &err);
        if (n < 0) {
            fprintf(stderr, "cluster-whisperer journal: %s\n", err.msg);
            goto out;
        }
        printf("requeued %lld dead letters into %s: the server applies them when it runs\n",
               (long long)n, cw_journal_path(j));
        rc = 0;
    }
out:
    cw_journal_close(j);
    return rc;
}
