/* cw_journal — see journal.h. */
#define _GNU_SOURCE
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* 1: the first format. 2 (issue 14): a `cluster` column in both tables
 * (NULL = no cluster); a version-1 file gets it by ALTER TABLE when a
 * server opens it, and a version-1 build refuses a version-2 file rather
 * than replay cluster operations without their cluster. */
#define SCHEMA_VERSION 2
#define GROUP_MAX_BYTES (64ull * 1024 * 1024)   /* one group commit at most */
#define OP_OVERHEAD_BYTES 64                     /* per row, counted against max_bytes */
#define RETRY_FULL_S 5
#define RETRY_DISK_S 5
#define BUSY_TIMEOUT_MS 5000

#define OP_DELETE 0
#define OP_UPSERT 1

/* The columns an operation row holds, in this order, in both tables. */
#define OP_COLUMNS "seq, req, op, id, text, namespace, name, kind, api_version, api_group, labels, " \
                   "received_ms, bytes, cluster"

static const char SCHEMA_SQL[] =
    "CREATE TABLE IF NOT EXISTS ops ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " req INTEGER NOT NULL,"           /* the request's first seq */
    " op INTEGER NOT NULL,"            /* 0 delete, 1 upsert */
    " id TEXT NOT NULL,"
    " text TEXT, namespace TEXT, name TEXT, kind TEXT,"
    " api_version TEXT, api_group TEXT, labels TEXT,"   /* NULL for a delete */
    " received_ms INTEGER NOT NULL,"   /* wall clock */
    " bytes INTEGER NOT NULL,"
    " cluster TEXT);"                  /* NULL: no cluster (its ids are not qualified) */
    "CREATE TABLE IF NOT EXISTS dead_letters ("
    " seq INTEGER PRIMARY KEY, req INTEGER NOT NULL, op INTEGER NOT NULL, id TEXT NOT NULL,"
    " text TEXT, namespace TEXT, name TEXT, kind TEXT, api_version TEXT, api_group TEXT,"
    " labels TEXT, received_ms INTEGER NOT NULL, bytes INTEGER NOT NULL,"
    " reason TEXT NOT NULL, failed_ms INTEGER NOT NULL, cluster TEXT);";

/* One caller of cw_journal_append(), waiting in the writer queue. */
typedef struct appender {
    const char *cluster;         /* the request's, for its deletes' rows (NULL: none) */
    char *const *deletes;
    size_t n_deletes;
    const cw_document *upserts;
    size_t n_upserts;
    uint64_t bytes;
    int64_t first_seq, last_seq;
    int refused;                 /* set by the leader: not written */
    cw_error err;
    int done;
    struct appender *next;
} appender;

struct cw_journal {
    char *dir;
    char *path;                  /* DIR/journal.db */
    cw_journal_mode mode;
    int lock_fd;                 /* -1 in CW_JOURNAL_READ */
    uint64_t max_bytes;

    pthread_mutex_t wlock;       /* guards wdb and its statements */
    sqlite3 *wdb;
    sqlite3_stmt *ins;           /* INSERT INTO ops */

    pthread_mutex_t rlock;       /* guards rdb */
    sqlite3 *rdb;

    /* `lock` guards the writer queue, next_seq and st. */
    pthread_mutex_t lock;
    pthread_cond_t turn;         /* an append finished: followers look again */
    appender *qhead, *qtail;
    int64_t next_seq;
    uint64_t reserved_bytes;     /* of a group being written */
    cw_journal_stats st;
    int sync_ready;
    int has_cluster;             /* the tables have the `cluster` column (always once
                                    opened to append; a read-only look at a
                                    version-1 file: not) */
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int damaged(const cw_journal *j, const char *what, cw_error *err)
{
    return cw_error_set(err, CW_E_CONFIG,
                        "journal %s is damaged (%s): stop the server, move %s aside to start "
                        "with an empty journal (its unapplied operations are then lost unless "
                        "salvaged with `sqlite3 OLD.db .recover | sqlite3 %s`), then start again",
                        j->path, what, j->dir, j->path);
}

/* An SQLite failure as our error. Corruption and "not a database" are the
 * operator's to fix (CW_E_CONFIG, how to recover); the rest is a disk or
 * database problem a retry may outlive (CW_E_UNAVAILABLE). */
static int db_error(cw_journal *j, sqlite3 *db, int rc, const char *what, cw_error *err)
{
    int prim = rc & 0xff;
    const char *msg = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if (prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB)
        return damaged(j, msg, err);
    if (prim == SQLITE_FULL)
        return cw_error_set_retry(err, CW_E_UNAVAILABLE, RETRY_DISK_S,
                                  "journal %s: %s: the disk is full", j->path, what);
    return cw_error_set_retry(err, CW_E_UNAVAILABLE, RETRY_DISK_S, "journal %s: %s: %s", j->path,
                              what, msg);
}

static int exec_sql(cw_journal *j, sqlite3 *db, const char *sql, cw_error *err)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db_error(j, db, rc, sql, err);
    return 0;
}

/* Run a one-row integer query; *out = its first column (0 when no row). */
static int query_int(cw_journal *j, sqlite3 *db, const char *sql, int64_t *out, cw_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    *out = 0;
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return db_error(j, db, rc, sql, err);
    return 0;
}

/* The lock file: one appending process per journal. */
static int take_lock(cw_journal *j, cw_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/journal.lock", j->dir);
    j->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->lock_fd < 0)
        return cw_error_set(err, CW_E_CONFIG, "journal: cannot open %s: %s", path, strerror(errno));
    if (flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(j->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        return cw_error_set(err, CW_E_CONFIG,
                            "journal %s is in use by another process%s%s%s (one journal per "
                            "server: give each its own --journal directory)",
                            j->dir, pid[0] != '\0' ? " (pid " : "", pid, pid[0] != '\0' ? ")" : "");
    }
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(j->lock_fd, 0) != 0 || pwrite(j->lock_fd, buf, (size_t)len, 0) != len) {
        /* The pid is only for the message above; the lock is what counts. */
    }
    return 0;
}

static int open_db(cw_journal *j, sqlite3 **db, int create, cw_error *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(j->path, db, flags, NULL);
    if (rc != SQLITE_OK) {
        if (!create && (rc & 0xff) == SQLITE_CANTOPEN)
            return cw_error_set(err, CW_E_CONFIG, "no journal at %s (serve creates it on its "
                                "first start)", j->path);
        return db_error(j, *db, rc, "open", err);
    }
    sqlite3_busy_timeout(*db, BUSY_TIMEOUT_MS);
    return 0;
}

/* 1 in *has when `table` has a column `column`. 0 or -1. */
static int has_column(cw_journal *j, const char *table, const char *column, int *has,
                      cw_error *err)
{
    char sql[128];
    sqlite3_stmt *st = NULL;
    *has = 0;
    snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", table);
    int rc = sqlite3_prepare_v2(j->wdb, sql, -1, &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(st, 1);
        if (name != NULL && strcmp((const char *)name, column) == 0)
            *has = 1;
        rc = SQLITE_OK;
    }
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return db_error(j, j->wdb, rc, "table_info", err);
    return 0;
}

/* Bring a version 0 (just created) or 1 file to SCHEMA_VERSION in one
 * transaction: the `cluster` column where a table lacks it (version 1's
 * rows read as of no cluster, as they were written), then the version. */
static int migrate(cw_journal *j, cw_error *err)
{
    static const char *const TABLES[] = { "ops", "dead_letters" };
    char sql[128];
    if (exec_sql(j, j->wdb, "BEGIN IMMEDIATE", err) != 0)
        return -1;
    for (size_t i = 0; i < sizeof TABLES / sizeof TABLES[0]; i++) {
        int has = 0;
        if (has_column(j, TABLES[i], "cluster", &has, err) != 0)
            goto rollback;
        snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN cluster TEXT", TABLES[i]);
        if (!has && exec_sql(j, j->wdb, sql, err) != 0)
            goto rollback;
    }
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", SCHEMA_VERSION);
    if (exec_sql(j, j->wdb, sql, err) != 0 || exec_sql(j, j->wdb, "COMMIT", err) != 0)
        goto rollback;
    return 0;
rollback:
    sqlite3_exec(j->wdb, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* Version, integrity, tables; then the counters from what is on disk. */
static int check_and_load(cw_journal *j, cw_error *err)
{
    int64_t version = 0, v = 0;
    char check[256] = "";
    sqlite3_stmt *st = NULL;

    if (query_int(j, j->wdb, "PRAGMA user_version", &version, err) != 0)
        return -1;
    if (version < 0 || version > SCHEMA_VERSION)
        return cw_error_set(err, CW_E_CONFIG,
                            "journal %s has format version %lld, this build reads %d: move it "
                            "aside or use the release that wrote it to drain it",
                            j->path, (long long)version, SCHEMA_VERSION);
    int rc = sqlite3_prepare_v2(j->wdb, "PRAGMA quick_check", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(check, sizeof check, "%s", t != NULL ? (const char *)t : "?");
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return db_error(j, j->wdb, rc, "integrity check", err);
    if (strcmp(check, "ok") != 0)
        return damaged(j, check, err);

    if (j->mode == CW_JOURNAL_APPEND) {
        if (exec_sql(j, j->wdb, "PRAGMA journal_mode=WAL", err) != 0 ||
            exec_sql(j, j->wdb, "PRAGMA synchronous=FULL", err) != 0 ||
            exec_sql(j, j->wdb, SCHEMA_SQL, err) != 0)
            return -1;
        if (version != SCHEMA_VERSION && migrate(j, err) != 0)
            return -1;
        j->has_cluster = 1;
    } else if (version == 0) {
        return cw_error_set(err, CW_E_CONFIG, "journal: %s holds no journal yet", j->path);
    } else {
        int has = 0;
        if (has_column(j, "ops", "cluster", &has, err) != 0)
            return -1;
        j->has_cluster = has;
    }

    if (query_int(j, j->wdb, "SELECT count(*) FROM ops", &v, err) != 0)
        return -1;
    j->st.backlog_ops = (uint64_t)v;
    if (query_int(j, j->wdb, "SELECT total(bytes) FROM ops", &v, err) != 0)
        return -1;
    j->st.backlog_bytes = (uint64_t)v;
    if (query_int(j, j->wdb, "SELECT received_ms FROM ops ORDER BY seq LIMIT 1", &v, err) != 0)
        return -1;
    j->st.oldest_ms = v;
    if (query_int(j, j->wdb, "SELECT seq FROM ops ORDER BY seq LIMIT 1", &v, err) != 0)
        return -1;
    j->st.first_unapplied = v;
    if (query_int(j, j->wdb, "SELECT count(*) FROM dead_letters", &v, err) != 0)
        return -1;
    j->st.dead_letters = (uint64_t)v;
    if (query_int(j, j->wdb, "SELECT seq FROM sqlite_sequence WHERE name='ops'", &v, err) != 0)
        return -1;
    j->st.last_seq = v;
    j->next_seq = v + 1;
    return 0;
}

cw_journal *cw_journal_open(const char *dir, uint64_t max_bytes, cw_journal_mode mode,
                            cw_error *err)
{
    cw_journal *j = calloc(1, sizeof *j);
    if (j == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory opening the journal");
        return NULL;
    }
    j->lock_fd = -1;
    j->mode = mode;
    j->max_bytes = max_bytes > 0 ? max_bytes : CW_JOURNAL_DEFAULT_MAX_BYTES;
    j->st.max_bytes = j->max_bytes;
    pthread_mutex_init(&j->wlock, NULL);
    pthread_mutex_init(&j->rlock, NULL);
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->turn, NULL);
    j->sync_ready = 1;

    j->dir = strdup(dir);
    if (j->dir == NULL || asprintf(&j->path, "%s/journal.db", dir) < 0) {
        j->path = NULL;
        cw_error_set(err, CW_E_NOMEM, "out of memory opening the journal");
        goto fail;
    }
    if (mode == CW_JOURNAL_APPEND) {
        /* mkdir -p, owner only: the journal holds every resource's metadata. */
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s", dir);
        for (char *p = tmp + 1; ; p++) {
            if (*p == '/' || *p == '\0') {
                char c = *p;
                *p = '\0';
                if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
                    cw_error_set(err, CW_E_CONFIG, "journal: cannot create directory %s: %s", tmp,
                                 strerror(errno));
                    goto fail;
                }
                *p = c;
                if (c == '\0')
                    break;
            }
        }
        if (take_lock(j, err) != 0)
            goto fail;
    }
    if (open_db(j, &j->wdb, mode == CW_JOURNAL_APPEND, err) != 0)
        goto fail;
    if (check_and_load(j, err) != 0)
        goto fail;
    if (open_db(j, &j->rdb, 0, err) != 0)
        goto fail;
    if (mode == CW_JOURNAL_APPEND) {
        int rc = sqlite3_prepare_v2(j->wdb,
                                    "INSERT INTO ops (" OP_COLUMNS ") "
                                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                                    -1, &j->ins, NULL);
        if (rc != SQLITE_OK) {
            db_error(j, j->wdb, rc, "prepare insert", err);
            goto fail;
        }
    }
    return j;
fail:
    cw_journal_close(j);
    return NULL;
}

void cw_journal_close(cw_journal *j)
{
    if (j == NULL)
        return;
    sqlite3_finalize(j->ins);
    sqlite3_close(j->rdb);
    sqlite3_close(j->wdb);
    if (j->lock_fd >= 0)
        close(j->lock_fd);               /* releases the flock */
    if (j->sync_ready) {
        pthread_cond_destroy(&j->turn);
        pthread_mutex_destroy(&j->lock);
        pthread_mutex_destroy(&j->rlock);
        pthread_mutex_destroy(&j->wlock);
    }
    free(j->path);
    free(j->dir);
    free(j);
}

const char *cw_journal_path(const cw_journal *j)
{
    return j->path;
}

/* ---- append (group commit) --------------------------------------------- */

static size_t slen(const char *s)
{
    return s != NULL ? strlen(s) : 0;
}

static uint64_t doc_bytes(const cw_document *d)
{
    return OP_OVERHEAD_BYTES + slen(d->id) + slen(d->text) + slen(d->namespace) + slen(d->name) +
           slen(d->kind) + slen(d->api_version) + slen(d->api_group) + slen(d->labels) +
           slen(d->cluster);
}

static void bind_text(sqlite3_stmt *st, int col, const char *s)
{
    if (s != NULL)
        sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, col);
}

/* Under wlock: one INSERT. `doc` NULL for a delete of `id` in `cluster`. */
static int insert_op(cw_journal *j, int64_t seq, int64_t req, const char *id,
                     const cw_document *doc, const char *cluster, int64_t now, cw_error *err)
{
    sqlite3_stmt *st = j->ins;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_int64(st, 2, req);
    sqlite3_bind_int(st, 3, doc != NULL ? OP_UPSERT : OP_DELETE);
    bind_text(st, 4, id != NULL ? id : "");
    if (doc != NULL) {
        bind_text(st, 5, doc->text);
        bind_text(st, 6, doc->namespace);
        bind_text(st, 7, doc->name);
        bind_text(st, 8, doc->kind);
        bind_text(st, 9, doc->api_version);
        bind_text(st, 10, doc->api_group);
        bind_text(st, 11, doc->labels);
    }
    sqlite3_bind_int64(st, 12, now);
    sqlite3_bind_int64(st, 13, (int64_t)(doc != NULL ? doc_bytes(doc)
                                                     : OP_OVERHEAD_BYTES + slen(id) + slen(cluster)));
    bind_text(st, 14, doc != NULL ? doc->cluster : cluster);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_error(j, j->wdb, rc, "append", err);
    return 0;
}

/* Under wlock: write the first n of the queue from `head` in one
 * transaction; members already refused are skipped. On failure every
 * member gets the error. */
static void write_group(cw_journal *j, appender *head, size_t n)
{
    cw_error err;
    cw_error_clear(&err);
    int64_t now = wall_ms();
    if (exec_sql(j, j->wdb, "BEGIN IMMEDIATE", &err) != 0)
        goto out;
    appender *a = head;
    for (size_t k = 0; k < n && err.code == CW_OK; k++, a = a->next) {
        if (a->refused)
            continue;
        int64_t seq = a->first_seq;
        for (size_t i = 0; i < a->n_deletes && err.code == CW_OK; i++)
            (void)insert_op(j, seq++, a->first_seq, a->deletes[i], NULL, a->cluster, now, &err);
        for (size_t i = 0; i < a->n_upserts && err.code == CW_OK; i++)
            (void)insert_op(j, seq++, a->first_seq, a->upserts[i].id, &a->upserts[i], NULL, now,
                            &err);
    }
    if (err.code == CW_OK && exec_sql(j, j->wdb, "COMMIT", &err) == 0)
        return;
    sqlite3_exec(j->wdb, "ROLLBACK", NULL, NULL, NULL);
out:
    a = head;
    for (size_t k = 0; k < n; k++, a = a->next) {
        if (!a->refused) {
            a->refused = 1;
            cw_error_copy(&a->err, &err);
        }
    }
}

/* Under j->lock, the leader me: the group is the first n_group of the
 * queue (bounded by GROUP_MAX_BYTES); each gets its seqs, or is refused
 * when the journal has no room left for it. Returns n_group. */
static size_t assign_seqs(cw_journal *j, appender *me)
{
    size_t n_group = 1;
    uint64_t group_bytes = me->bytes;
    for (appender *a = me->next; a != NULL && group_bytes + a->bytes <= GROUP_MAX_BYTES;
         a = a->next) {
        group_bytes += a->bytes;
        n_group++;
    }
    uint64_t room = j->max_bytes > j->st.backlog_bytes ? j->max_bytes - j->st.backlog_bytes : 0;
    uint64_t taken = 0;
    appender *a = me;
    for (size_t i = 0; i < n_group; i++, a = a->next) {
        if (taken + a->bytes > room) {
            a->refused = 1;
            cw_error_set_retry(&a->err, CW_E_UNAVAILABLE, RETRY_FULL_S,
                               "journal full: %llu of %llu bytes hold unapplied operations "
                               "(Chroma or the embedder is behind); try again later",
                               (unsigned long long)j->st.backlog_bytes,
                               (unsigned long long)j->max_bytes);
            j->st.full_refusals++;
            continue;
        }
        taken += a->bytes;
        a->first_seq = j->next_seq;
        j->next_seq += (int64_t)(a->n_deletes + a->n_upserts);
        a->last_seq = j->next_seq - 1;
    }
    return n_group;
}

/* Under j->lock, after the group's transaction: count what was written
 * (or give the seqs back when nothing was), take the group off the queue
 * and wake its members. */
static void finish_group(cw_journal *j, appender *me, size_t n_group, int64_t seq_before)
{
    int any = 0;
    int64_t now = wall_ms();
    appender *last = me;
    appender *a = me;
    for (size_t i = 0; i < n_group; i++, a = a->next) {
        last = a;
        if (a->refused) {
            if (a->err.code != CW_OK && strncmp(a->err.msg, "journal full", 12) != 0)
                j->st.append_errors++;
            continue;
        }
        any = 1;
        j->st.appends++;
        j->st.backlog_ops += a->n_deletes + a->n_upserts;
        j->st.backlog_bytes += a->bytes;
        if (j->st.last_seq < a->last_seq)
            j->st.last_seq = a->last_seq;
        if (j->st.first_unapplied == 0) {
            j->st.first_unapplied = a->first_seq;
            j->st.oldest_ms = now;
        }
    }
    if (any)
        j->st.group_commits++;
    else
        j->next_seq = seq_before;   /* nothing written: no seq is used */
    j->qhead = last->next;
    if (j->qhead == NULL)
        j->qtail = NULL;
    a = me;
    for (size_t i = 0; i < n_group; i++) {
        appender *next = a->next;   /* read before `done`: then it may be gone */
        a->done = 1;
        a = next;
    }
    pthread_cond_broadcast(&j->turn);
}

/* Called with j->lock held by the appender at the head of the queue (the
 * leader): take everyone queued (bounded), give them seqs and room, write
 * them in one transaction (j->lock released meanwhile, so appenders can
 * queue behind the group), wake them. Returns with j->lock held. */
static void lead_group(cw_journal *j, appender *me)
{
    int64_t seq_before = j->next_seq;
    size_t n_group = assign_seqs(j, me);
    pthread_mutex_unlock(&j->lock);

    pthread_mutex_lock(&j->wlock);
    write_group(j, me, n_group);
    pthread_mutex_unlock(&j->wlock);

    pthread_mutex_lock(&j->lock);
    finish_group(j, me, n_group, seq_before);
}

int cw_journal_append(cw_journal *j, char *const *deletes, size_t n_deletes,
                      const cw_document *upserts, size_t n_upserts, int64_t *first_seq,
                      int64_t *last_seq, cw_error *err)
{
    return cw_journal_append_in(j, NULL, deletes, n_deletes, upserts, n_upserts, first_seq,
                                last_seq, err);
}

int cw_journal_append_in(cw_journal *j, const char *cluster, char *const *deletes,
                         size_t n_deletes, const cw_document *upserts, size_t n_upserts,
                         int64_t *first_seq, int64_t *last_seq, cw_error *err)
{
    *first_seq = *last_seq = 0;
    if (n_deletes + n_upserts == 0)
        return 0;
    if (j->mode != CW_JOURNAL_APPEND)
        return cw_error_set(err, CW_E_INTERNAL, "journal %s is open read-only", j->path);

    appender me;
    memset(&me, 0, sizeof me);
    me.cluster = cluster;
    me.deletes = deletes;
    me.n_deletes = n_deletes;
    me.upserts = upserts;
    me.n_upserts = n_upserts;
    for (size_t i = 0; i < n_deletes; i++)
        me.bytes += OP_OVERHEAD_BYTES + slen(deletes[i]) + slen(cluster);
    for (size_t i = 0; i < n_upserts; i++)
        me.bytes += doc_bytes(&upserts[i]);

    pthread_mutex_lock(&j->lock);
    if (j->qtail != NULL)
        j->qtail->next = &me;
    else
        j->qhead = &me;
    j->qtail = &me;
    while (!me.done && j->qhead != &me)
        pthread_cond_wait(&j->turn, &j->lock);
    if (!me.done)
        lead_group(j, &me);
    pthread_mutex_unlock(&j->lock);

    if (me.refused) {
        cw_error_copy(err, &me.err);
        return -1;
    }
    *first_seq = me.first_seq;
    *last_seq = me.last_seq;
    return 0;
}

/* ---- load ---------------------------------------------------------------- */

static char *col_dup(sqlite3_stmt *st, int col, int *oom)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    if (t == NULL)
        return NULL;
    char *s = strdup((const char *)t);
    if (s == NULL)
        *oom = 1;
    return s;
}

void cw_journal_chunks_clear(cw_journal_chunks *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->len; i++) {
        cw_journal_chunk *k = &c->items[i];
        for (size_t d = 0; d < k->n_deletes; d++)
            free(k->deletes[d]);
        free(k->deletes);
        for (size_t u = 0; u < k->n_upserts; u++)
            cw_document_clear(&k->upserts[u]);
        free(k->upserts);
    }
    free(c->items);
    memset(c, 0, sizeof *c);
}

/* Grow *arr (of `size`-byte items, *cap of them) to hold one more. */
static int grow(void **arr, size_t *cap, size_t len, size_t size)
{
    if (len < *cap)
        return 0;
    size_t ncap = *cap != 0 ? *cap * 2 : 8;
    void *p = realloc(*arr, ncap * size);
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Where cw_journal_load is in its result: capacities of the arrays it
 * grows and the upserts loaded so far. */
typedef struct load_state {
    size_t chunks_cap, del_cap, up_cap, upserts;
} load_state;

/* The upsert of row st (its id taken) into chunk k. -1 on out of memory
 * (the document is in k, to be freed with it). */
static int load_upsert(sqlite3_stmt *st, cw_journal_chunk *k, load_state *ls, char *id)
{
    int oom = 0;
    if (grow((void **)&k->upserts, &ls->up_cap, k->n_upserts, sizeof *k->upserts) != 0) {
        free(id);
        return -1;
    }
    cw_document *d = &k->upserts[k->n_upserts++];
    memset(d, 0, sizeof *d);
    d->id = id;
    d->text = col_dup(st, 4, &oom);
    d->namespace = col_dup(st, 5, &oom);
    d->name = col_dup(st, 6, &oom);
    d->kind = col_dup(st, 7, &oom);
    d->api_version = col_dup(st, 8, &oom);
    d->api_group = col_dup(st, 9, &oom);
    d->labels = col_dup(st, 10, &oom);
    d->cluster = col_dup(st, 13, &oom);
    ls->upserts++;
    return oom ? -1 : 0;
}

/* Row st into out: a new chunk at a new request, and where a delete
 * follows an upsert (the chunk shape is deletes, then upserts). 1 when
 * the row is past max_upserts (not taken), 0 taken, -1 out of memory. */
static int load_row(sqlite3_stmt *st, size_t max_upserts, cw_journal_chunks *out, load_state *ls)
{
    int64_t seq = sqlite3_column_int64(st, 0);
    int64_t req = sqlite3_column_int64(st, 1);
    int is_upsert = sqlite3_column_int(st, 2) == OP_UPSERT;
    if (is_upsert && ls->upserts >= max_upserts && out->len > 0)
        return 1;
    cw_journal_chunk *k = out->len > 0 ? &out->items[out->len - 1] : NULL;
    if (k == NULL || k->req != req || (!is_upsert && k->n_upserts > 0)) {
        if (grow((void **)&out->items, &ls->chunks_cap, out->len, sizeof *out->items) != 0)
            return -1;
        k = &out->items[out->len++];
        memset(k, 0, sizeof *k);
        k->req = req;
        k->first_seq = seq;
        ls->del_cap = ls->up_cap = 0;
    }
    int oom = 0;
    char *id = col_dup(st, 3, &oom);
    if (oom)
        return -1;
    if (id == NULL && (id = strdup("")) == NULL)
        return -1;
    if (is_upsert) {
        if (load_upsert(st, k, ls, id) != 0)
            return -1;
    } else {
        if (grow((void **)&k->deletes, &ls->del_cap, k->n_deletes, sizeof *k->deletes) != 0) {
            free(id);
            return -1;
        }
        k->deletes[k->n_deletes++] = id;
    }
    k->last_seq = seq;
    out->last_seq = seq;
    return 0;
}

int cw_journal_load(cw_journal *j, int64_t after_seq, size_t max_ops, size_t max_upserts,
                    cw_journal_chunks *out, cw_error *err)
{
    int rc = -1, taken = 0;
    sqlite3_stmt *st = NULL;
    load_state ls = { 0 };

    memset(out, 0, sizeof *out);
    if (max_ops == 0)
        max_ops = 1;
    pthread_mutex_lock(&j->rlock);
    /* A read-only look at a version-1 file has no cluster column: none. */
    int src = sqlite3_prepare_v2(j->rdb,
                                 j->has_cluster
                                     ? "SELECT " OP_COLUMNS " FROM ops WHERE seq > ? ORDER BY seq LIMIT ?"
                                     : "SELECT seq, req, op, id, text, namespace, name, kind, "
                                       "api_version, api_group, labels, received_ms, bytes, NULL "
                                       "FROM ops WHERE seq > ? ORDER BY seq LIMIT ?",
                                 -1, &st, NULL);
    if (src != SQLITE_OK) {
        db_error(j, j->rdb, src, "load", err);
        goto out;
    }
    sqlite3_bind_int64(st, 1, after_seq);
    sqlite3_bind_int64(st, 2, (int64_t)max_ops);
    while ((src = sqlite3_step(st)) == SQLITE_ROW && (taken = load_row(st, max_upserts, out, &ls)) == 0)
        ;
    if (taken < 0) {
        cw_error_set(err, CW_E_NOMEM, "out of memory loading journaled operations");
        goto out;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        db_error(j, j->rdb, src, "load", err);
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&j->rlock);
    if (rc != 0)
        cw_journal_chunks_clear(out);
    return rc;
}

/* ---- settle ------------------------------------------------------------ */

/* Under wlock: a statement with int64 parameters, stepped to the end. */
static int step_sql(cw_journal *j, const char *sql, const int64_t *args, size_t n_args,
                    const char *text_arg, int64_t *changes, cw_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(j->wdb, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        size_t i = 0;
        for (; i < n_args; i++)
            sqlite3_bind_int64(st, (int)i + 1, args[i]);
        if (text_arg != NULL)
            sqlite3_bind_text(st, (int)i + 1, text_arg, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            ;
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return db_error(j, j->wdb, rc, "settle", err);
    if (changes != NULL)
        *changes = sqlite3_changes64(j->wdb);
    return 0;
}

int cw_journal_settle(cw_journal *j, int64_t through_seq, const cw_journal_dead *dead,
                      size_t n_dead, cw_error *err)
{
    int rc = -1;
    int64_t n_ops = 0, bytes = 0, oldest_ms = 0, first = 0, moved = 0;
    if (j->mode != CW_JOURNAL_APPEND)
        return cw_error_set(err, CW_E_INTERNAL, "journal %s is open read-only", j->path);

    pthread_mutex_lock(&j->wlock);
    if (exec_sql(j, j->wdb, "BEGIN IMMEDIATE", err) != 0)
        goto out;
    for (size_t i = 0; i < n_dead; i++) {
        int64_t args[3] = { wall_ms(), dead[i].first_seq, dead[i].last_seq };
        int64_t ch = 0;
        if (step_sql(j,
                     "INSERT OR REPLACE INTO dead_letters (" OP_COLUMNS ", failed_ms, reason) "
                     "SELECT " OP_COLUMNS ", ?1, ?4 FROM ops WHERE seq BETWEEN ?2 AND ?3",
                     args, 3, dead[i].reason != NULL ? dead[i].reason : "refused", &ch, err) != 0)
            goto rollback;
        moved += ch;
    }
    int64_t a[1] = { through_seq };
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(j->wdb, "SELECT count(*), total(bytes) FROM ops WHERE seq <= ?",
                                 -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, through_seq);
        if (sqlite3_step(st) == SQLITE_ROW) {
            n_ops = sqlite3_column_int64(st, 0);
            bytes = sqlite3_column_int64(st, 1);
        }
    }
    sqlite3_finalize(st);
    if (src != SQLITE_OK) {
        db_error(j, j->wdb, src, "settle", err);
        goto rollback;
    }
    if (step_sql(j, "DELETE FROM ops WHERE seq <= ?", a, 1, NULL, NULL, err) != 0)
        goto rollback;
    if (exec_sql(j, j->wdb, "COMMIT", err) != 0)
        goto rollback;
    if (query_int(j, j->wdb, "SELECT seq FROM ops ORDER BY seq LIMIT 1", &first, err) != 0 ||
        query_int(j, j->wdb, "SELECT received_ms FROM ops ORDER BY seq LIMIT 1", &oldest_ms,
                  err) != 0)
        cw_error_clear(err);   /* only the gauges; they are fixed at the next settle */
    pthread_mutex_lock(&j->lock);
    j->st.backlog_ops -= (uint64_t)n_ops <= j->st.backlog_ops ? (uint64_t)n_ops : j->st.backlog_ops;
    j->st.backlog_bytes -= (uint64_t)bytes <= j->st.backlog_bytes ? (uint64_t)bytes
                                                                  : j->st.backlog_bytes;
    j->st.dead_letters += (uint64_t)moved;
    /* An append may have landed after the query: it is newer than `first`. */
    if (first != 0 || j->st.last_seq <= through_seq) {
        j->st.first_unapplied = first;
        j->st.oldest_ms = oldest_ms;
    }
    pthread_mutex_unlock(&j->lock);
    rc = 0;
    goto out;
rollback:
    sqlite3_exec(j->wdb, "ROLLBACK", NULL, NULL, NULL);
out:
    pthread_mutex_unlock(&j->wlock);
    return rc;
}

void cw_journal_stats_get(cw_journal *j, cw_journal_stats *out)
{
    pthread_mutex_lock(&j->lock);
    *out = j->st;
    pthread_mutex_unlock(&j->lock);
}

int64_t cw_journal_dead_in_range(cw_journal *j, int64_t first_seq, int64_t last_seq)
{
    int64_t n = -1;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&j->rlock);
    if (sqlite3_prepare_v2(j->rdb, "SELECT count(*) FROM dead_letters WHERE seq BETWEEN ? AND ?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, first_seq);
        sqlite3_bind_int64(st, 2, last_seq);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&j->rlock);
    return n;
}

/* JSON string body (no quotes) of `s` into `out`. */
static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)(s != NULL ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

int64_t cw_journal_dead_print(cw_journal *j, FILE *out, int json, size_t limit, cw_error *err)
{
    int64_t n = -1;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&j->rlock);
    int rc = sqlite3_prepare_v2(j->rdb,
                                "SELECT seq, op, id, reason, failed_ms, text FROM dead_letters "
                                "ORDER BY seq LIMIT ?",
                                -1, &st, NULL);
    if (rc != SQLITE_OK) {
        db_error(j, j->rdb, rc, "dead letters", err);
        goto out;
    }
    sqlite3_bind_int64(st, 1, limit > 0 ? (int64_t)limit : -1);
    n = 0;
    if (json)
        fputs("[", out);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *op = sqlite3_column_int(st, 1) == OP_UPSERT ? "upsert" : "delete";
        const char *id = (const char *)sqlite3_column_text(st, 2);
        const char *reason = (const char *)sqlite3_column_text(st, 3);
        if (json) {
            fprintf(out, "%s{\"seq\":%lld,\"op\":\"%s\",\"id\":", n > 0 ? "," : "",
                    (long long)sqlite3_column_int64(st, 0), op);
            json_str(out, id);
            fputs(",\"reason\":", out);
            json_str(out, reason);
            fprintf(out, ",\"failed_ms\":%lld,\"text\":", (long long)sqlite3_column_int64(st, 4));
            json_str(out, (const char *)sqlite3_column_text(st, 5));
            fputs("}", out);
        } else {
            fprintf(out, "%lld %s %s: %s\n", (long long)sqlite3_column_int64(st, 0), op,
                    id != NULL ? id : "", reason != NULL ? reason : "");
        }
        n++;
    }
    if (json)
        fputs("]\n", out);
    if (rc != SQLITE_DONE) {
        db_error(j, j->rdb, rc, "dead letters", err);
        n = -1;
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&j->rlock);
    return n;
}

int64_t cw_journal_requeue_dead(cw_journal *j, cw_error *err)
{
    int64_t moved = -1, n = 0, bytes = 0;
    if (j->mode != CW_JOURNAL_APPEND) {
        cw_error_set(err, CW_E_INTERNAL, "journal %s is open read-only", j->path);
        return -1;
    }
    pthread_mutex_lock(&j->wlock);
    pthread_mutex_lock(&j->lock);
    int64_t base = j->next_seq;
    pthread_mutex_unlock(&j->lock);
    if (exec_sql(j, j->wdb, "BEGIN IMMEDIATE", err) != 0)
        goto out;
    /* New seqs in the old order: base + rank. The request identity (req)
     * becomes the new seq of its request's first dead operation. */
    int64_t args[1] = { base };
    if (step_sql(j,
                 "INSERT INTO ops (" OP_COLUMNS ") "
                 "SELECT ?1 + (SELECT count(*) FROM dead_letters e WHERE e.seq < d.seq),"
                 " ?1 + (SELECT count(*) FROM dead_letters e WHERE e.seq < "
                 "        (SELECT min(f.seq) FROM dead_letters f WHERE f.req = d.req)),"
                 " op, id, text, namespace, name, kind, api_version, api_group, labels,"
                 " received_ms, bytes, cluster FROM dead_letters d ORDER BY seq",
                 args, 1, NULL, &n, err) != 0 ||
        query_int(j, j->wdb, "SELECT total(bytes) FROM dead_letters", &bytes, err) != 0 ||
        step_sql(j, "DELETE FROM dead_letters", NULL, 0, NULL, NULL, err) != 0 ||
        exec_sql(j, j->wdb, "COMMIT", err) != 0) {
        sqlite3_exec(j->wdb, "ROLLBACK", NULL, NULL, NULL);
        goto out;
    }
    pthread_mutex_lock(&j->lock);
    j->next_seq = base + n;
    if (n > 0) {
        if (j->st.first_unapplied == 0) {
            j->st.first_unapplied = base;
            j->st.oldest_ms = wall_ms();
        }
        j->st.last_seq = base + n - 1;
    }
    j->st.backlog_ops += (uint64_t)n;
    j->st.backlog_bytes += (uint64_t)bytes;
    j->st.dead_letters = 0;
    pthread_mutex_unlock(&j->lock);
    moved = n;
out:
    pthread_mutex_unlock(&j->wlock);
    return moved;
}

const char *cw_journal_default_dir(char *buf, size_t cap)
{
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    if (state != NULL && state[0] == '/')
        snprintf(buf, cap, "%s/cluster-whisperer/journal", state);
    else if (home != NULL && home[0] != '\0')
        snprintf(buf, cap, "%s/.local/state/cluster-whisperer/journal", home);
    else
        return NULL;
    return buf;
}
