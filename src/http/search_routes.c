/* The search API's handlers (routes.h): GET|POST /api/v1/instances/search
 * and GET /api/v1/instances/ID, on the server's own embedder and Chroma
 * client. The work is the search module's (src/search); this file turns a
 * request into a cw_search_request and the outcome into an answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "metrics.h"
#include "routes.h"
#include "schema_rt.h"
#include "search.h"

static void bad_request(cw_http_answer *a, const char *message)
{
    cw_http_answer_error(a, 400, "Bad request", message);
}

/* A failure of the search itself (the request was valid): 503 + Retry-After
 * when Chroma or the embedder is unavailable (or the collection holds
 * vectors of another size), else 500. Never 400: the client's request was
 * fine. */
static void answer_run_error(cw_http_answer *a, const cw_error *err)
{
    int status = cw_status_http(err->code);
    if (status == 503)
        cw_http_answer_unavailable(a, err->msg, err->retry_after_s);
    else
        cw_http_answer_error(a, 500, "Internal error", err->msg);
    cw_http_answer_note_error(a, "%s: %s", cw_status_name(err->code), err->msg);
}

/* The request of a GET: its query parameters. 0, or -1 with `a` filled. */
static int request_of_args(cw_http_answer *a, const cw_http_args *args, cw_search_request *req)
{
    cw_error err;
    cw_error_clear(&err);
    cw_search_request_init(req);
    if (args->more) {
        char msg[96];
        snprintf(msg, sizeof msg, "more than %d query parameters", CW_HTTP_MAX_ARGS);
        bad_request(a, msg);
        return -1;
    }
    unsigned seen = 0;
    for (size_t i = 0; i < args->len; i++) {
        const cw_http_arg *g = &args->items[i];
        if (cw_search_request_param(req, &seen, g->key, g->value, g->value_len, &err) != 0) {
            bad_request(a, err.msg);
            return -1;
        }
    }
    if (req->query == NULL) {
        bad_request(a, "q: missing (GET /api/v1/instances/search?q=...)");
        return -1;
    }
    if (cw_search_request_check(req, &err) != 0) {
        bad_request(a, err.msg);
        return -1;
    }
    return 0;
}

/* The request of a POST: a JSON object. On success *tree holds the parsed
 * body the request borrows from (json_object_put it). 0, or -1 with `a`. */
static int request_of_body(cw_http_answer *a, const cw_http_args *args, const char *body, size_t len,
                           cw_search_request *req, json_object **tree)
{
    *tree = NULL;
    if (args->len > 0 || args->more) {
        bad_request(a, "POST takes its parameters in the JSON body, not in the query string");
        return -1;
    }
    cw_issues *issues = malloc(sizeof *issues);
    if (issues == NULL) {
        cw_http_answer_unavailable(a, "out of memory", 0);
        return -1;
    }
    cw_issues_init(issues);
    json_object *root = cw_rt_parse_tree(issues, body, len);
    if (root == NULL) {
        if (cw_issues_is_oom(issues)) {
            cw_http_answer_unavailable(a, "out of memory while parsing", 0);
        } else {
            char msg[256];
            snprintf(msg, sizeof msg, "the body is not a JSON object: %s",
                     issues->len > 0 ? issues->items[0].message : "malformed JSON");
            bad_request(a, msg);
        }
        free(issues);
        return -1;
    }
    free(issues);
    cw_error err;
    cw_error_clear(&err);
    if (cw_search_request_from_json(req, root, &err) != 0) {
        bad_request(a, err.msg);
        json_object_put(root);
        return -1;
    }
    *tree = root;
    return 0;
}

void cw_http_handle_search(cw_http_answer *a, cw_chroma *chroma, cw_embedder *embedder,
                           struct cw_http_metrics *metrics, const char *method,
                           const cw_http_args *args, const char *body, size_t len)
{
    cw_search_request req;
    json_object *tree = NULL;
    int rc = strcmp(method, "POST") == 0 ? request_of_body(a, args, body, len, &req, &tree)
                                         : request_of_args(a, args, &req);
    if (rc != 0)
        return;

    cw_search_results res;
    cw_error err;
    cw_error_clear(&err);
    if (cw_search_run(chroma, embedder, &req, &res, &err) != 0) {
        answer_run_error(a, &err);
    } else {
        cw_http_answer_json(a, 200, cw_search_results_json(req.query, req.mode, &res, req.explain));
        cw_http_metrics_search(metrics, req.mode, res.len);
        cw_search_results_free(&res);
    }
    json_object_put(tree);
}

void cw_http_handle_instance(cw_http_answer *a, cw_chroma *chroma, const char *path)
{
    const char *id = path + sizeof CW_HTTP_INSTANCE_PREFIX - 1;
    cw_chroma_records recs;
    cw_error err;
    cw_error_clear(&err);
    if (cw_search_get(chroma, id, &recs, &err) != 0) {
        if (err.code == CW_E_INVALID)
            bad_request(a, err.msg);
        else
            answer_run_error(a, &err);
        return;
    }
    if (recs.len == 0) {
        char msg[CW_SEARCH_MAX_ID + 64];
        snprintf(msg, sizeof msg, "no instance with id %s", id);
        cw_http_answer_error(a, 404, "Not found", msg);
        return;
    }
    cw_http_answer_json(a, 200, cw_search_instance_json(&recs.items[0]));
    cw_chroma_records_free(&recs);
}
