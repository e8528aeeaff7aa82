#include "cli_env.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cw_test.h"
#include "http_client.h"

int cli_env_open(cli_env *e, const char *suite, const char *collection_prefix, size_t mock_dim)
{
    memset(e, 0, sizeof *e);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    e->chroma_url = cw_test_chroma_url();
    if (e->chroma_url == NULL) {
        fprintf(stderr, "%s: no Chroma (CW_TEST_CHROMA_URL_FILE unset or unreadable)\n", suite);
        return -1;
    }
    snprintf(e->collection, sizeof e->collection, "%s_%ld", collection_prefix, (long)getpid());
    const char *state = getenv("CW_TEST_STATE");
    snprintf(e->log, sizeof e->log, "%s/%s.server.log", state != NULL ? state : "/tmp", suite);
    e->mock = cw_mock_embedder_start(0, mock_dim);
    if (e->mock == NULL) {
        fprintf(stderr, "%s: mock embedder did not start\n", suite);
        return -1;
    }
    return 0;
}

void cli_env_close(cli_env *e)
{
    cw_mock_embedder_stop(e->mock);
    free(e->chroma_url);
    memset(e, 0, sizeof *e);
    curl_global_cleanup();
}

char **cli_argv(const cli_env *e, const char *command, int mock, const char *const *extra)
{
    static char *argv[40];
    size_t k = 0;
    argv[k++] = getenv("CW_BIN");
    argv[k++] = (char *)command;
    argv[k++] = "--chroma-url";
    argv[k++] = e->chroma_url;
    argv[k++] = "--collection";
    argv[k++] = (char *)e->collection;
    if (mock) {
        argv[k++] = "--embedder";
        argv[k++] = "openai";
        argv[k++] = "--embed-url";
        argv[k++] = (char *)cw_mock_embedder_url(e->mock);
    }
    for (size_t i = 0; extra != NULL && extra[i] != NULL && k < 39; i++)
        argv[k++] = (char *)extra[i];
    argv[k] = NULL;
    return argv;
}

long cli_call(unsigned short port, const char *method, const char *path, const char *body,
              char **resp)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    http_reply r;
    int rc = http_request(method, url, body != NULL ? "application/json" : NULL, body,
                          body != NULL ? strlen(body) : 0, 0, &r);
    long status = rc == 0 ? r.status : 0;
    if (resp != NULL)
        *resp = strdup(r.body != NULL ? r.body : "");
    http_reply_free(&r);
    return status;
}
