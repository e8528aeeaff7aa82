/* cluster-whisperer journal — look into serve's journal (DESIGN §6a):
 *   status         backlog (operations, bytes, oldest), dead letters
 *   dead-letters   what Chroma or the embedder refused for good, and why
 *   requeue        move the dead letters back to be applied again (needs
 *                  the server stopped: it takes the journal's lock)
 * Reading works while the server runs (SQLite WAL). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "journal.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cluster-whisperer journal status|dead-letters|requeue [OPTIONS]\n\n"
            "Inspect serve's journal of accepted requests not yet applied to Chroma.\n"
            "  status         operations waiting, their bytes and age, dead letters\n"
            "  dead-letters   the operations refused for good, with the reason\n"
            "  requeue        move the dead letters back to the journal to be applied again\n"
            "                 (stop the server first; it applies them when started)\n\n"
            "options:\n"
            "  --journal DIR          the journal directory (env CW_JOURNAL, default\n"
            "                         $XDG_STATE_HOME or ~/.local/state: cluster-whisperer/journal)\n"
            "  --json                 JSON output (status, dead-letters)\n"
            "  --limit N              dead-letters: at most N (default all)\n"
            "  -h, --help             show this help\n");
}

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
    const char *dir = getenv("CW_JOURNAL");
    int json = 0;
    size_t limit = 0;
    static const struct option longopts[] = {
        { "journal", required_argument, NULL, 'j' },
        { "json", no_argument, NULL, 'J' },
        { "limit", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': dir = optarg; break;
        case 'J': json = 1; break;
        case 'l': {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || v < 1) {
                fprintf(stderr, "cluster-whisperer journal: --limit wants a number from 1, got '%s'\n", optarg);
                return 2;
            }
            limit = (size_t)v;
            break;
        }
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "cluster-whisperer journal: option '%s' needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "cluster-whisperer journal: unknown option '%s' (see --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "cluster-whisperer journal: missing status, dead-letters or requeue (see --help)\n");
        return 2;
    }
    const char *what = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "cluster-whisperer journal: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
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
