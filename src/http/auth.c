/* cw_http_auth — see auth.h. */
#include "auth.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cw_log.h"
#include "cw_secret.h"
#include "cw_time.h"

#define RECHECK_MS 1000

/* What identifies one version of the file. */
typedef struct file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_id;

struct cw_http_auth {
    char *path;
    pthread_mutex_t lock;      /* guards token, id, checked_ms, warned */
    char *token;
    file_id id;
    int64_t checked_ms;
    int warned;                /* the current unreadable version was logged */
    atomic_int reload;         /* SIGHUP: read before the next check */
    atomic_ulong reloads;
};

static int stat_id(const char *path, file_id *id)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    memset(id, 0, sizeof *id);
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    id->size = st.st_size;
    id->mtime = st.st_mtim;
    return 0;
}

static int same_id(const file_id *a, const file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size
        && a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

cw_http_auth *cw_http_auth_open(const char *path, cw_error *err)
{
    cw_http_auth *a = calloc(1, sizeof *a);
    if (a == NULL || (a->path = strdup(path)) == NULL) {
        free(a);
        cw_error_set(err, CW_E_NOMEM, "auth: out of memory");
        return NULL;
    }
    pthread_mutex_init(&a->lock, NULL);
    atomic_init(&a->reload, 0);
    atomic_init(&a->reloads, 0);
    stat_id(path, &a->id);
    a->token = cw_secret_read_file(path, err);
    if (a->token == NULL) {
        cw_http_auth_close(a);
        return NULL;
    }
    a->checked_ms = cw_now_ms();
    return a;
}

void cw_http_auth_close(cw_http_auth *a)
{
    if (a == NULL)
        return;
    cw_secret_free(a->token);
    pthread_mutex_destroy(&a->lock);
    free(a->path);
    free(a);
}

/* Under the lock: read the file again if it changed or a reload was asked. */
static void refresh_locked(cw_http_auth *a)
{
    int asked = atomic_exchange(&a->reload, 0);
    int64_t now = cw_now_ms();
    if (!asked && now - a->checked_ms < RECHECK_MS)
        return;
    a->checked_ms = now;
    file_id id;
    int have = stat_id(a->path, &id) == 0;
    if (!asked && have && same_id(&id, &a->id))
        return;
    cw_error err;
    cw_error_clear(&err);
    char *fresh = cw_secret_read_file(a->path, &err);
    if (fresh == NULL) {
        if (!a->warned || asked)
            cw_log_warn("auth: keeping the token in use: %s", err.msg);
        a->warned = 1;
        if (have)
            a->id = id;           /* warn again only when the file changes again */
        return;
    }
    a->warned = 0;
    if (have)
        a->id = id;
    if (strcmp(fresh, a->token) == 0) {
        cw_secret_free(fresh);
        return;
    }
    cw_secret_free(a->token);
    a->token = fresh;
    atomic_fetch_add(&a->reloads, 1);
    cw_log_info("auth: token file %s read again: a new token is in use", a->path);
}

int cw_http_auth_check(cw_http_auth *a, const char *authorization)
{
    const char *given = NULL;
    if (authorization != NULL && strncasecmp(authorization, "Bearer ", 7) == 0) {
        given = authorization + 7;
        while (*given == ' ')
            given++;
    }
    pthread_mutex_lock(&a->lock);
    refresh_locked(a);
    int ok = given != NULL && cw_secret_equal(a->token, given, strlen(given));
    pthread_mutex_unlock(&a->lock);
    return ok;
}

void cw_http_auth_reload(cw_http_auth *a)
{
    if (a != NULL)
        atomic_store(&a->reload, 1);
}

unsigned long cw_http_auth_reloads(cw_http_auth *a)
{
    return atomic_load(&a->reloads);
}
