/* cw_rt_parse_tree — strict JSON to a json-c tree, for the hand-written
 * handlers that take free-form JSON (the search API's POST body, MCP
 * messages). The bytes are checked by the same scanner the generated
 * parsers use (scan.c: RFC 8259, UTF-8, no NUL, no lone surrogates, depth,
 * numbers), then json-c builds the tree from text known to be valid. */
#include "schema_rt.h"

#include <limits.h>

#include <json-c/json.h>

struct json_object *cw_rt_parse_tree(cw_issues *issues, const char *bytes, size_t len)
{
    struct json_object *root = NULL;
    json_tokener *tok = NULL;
    cw_rt_ctx ctx;
    cw_rt_ctx_init(&ctx, issues, bytes, len);
    int ok = cw_rt_document_begin(&ctx) && cw_rt_skip_value(&ctx) && cw_rt_document_end(&ctx);
    cw_rt_ctx_done(&ctx);
    if (!ok || issues->total > 0)
        goto out;
    tok = json_tokener_new_ex(CW_RT_MAX_DEPTH + 1);
    if (tok == NULL)
        goto oom;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tok, bytes, (int)len);   /* len ≤ INT_MAX: document_begin */
    if (root != NULL && json_object_is_type(root, json_type_object))
        goto out;
    json_object_put(root);
    root = NULL;
    /* The scanner took it and json-c did not (json-c 0.16 has no error
     * code of its own for out of memory): reported as malformed. */
    cw_rt_ctx_init(&ctx, issues, bytes, len);
    cw_rt_issue_tier(&ctx, 2, CW_ISSUE_INVALID_JSON, "malformed JSON: %s",
                     json_tokener_error_desc(json_tokener_get_error(tok)));
    cw_rt_ctx_done(&ctx);
    goto out;
oom:
    cw_rt_ctx_init(&ctx, issues, bytes, len);
    cw_rt_oom(&ctx);
    cw_rt_ctx_done(&ctx);
out:
    if (tok != NULL)
        json_tokener_free(tok);
    return root;
}
