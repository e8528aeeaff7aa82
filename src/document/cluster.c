/* cw_cluster — see cluster.h. */
#include "cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int label_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Whether the client's name may be echoed in a message. */
static int quotable(const char *name, size_t len)
{
    if (len > CW_CLUSTER_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7e || name[i] == '\'')
            return 0;
    return 1;
}

int cw_cluster_name_check(const char *name, size_t len, cw_error *err)
{
    static const char RULE[] = "a DNS-1123 label: 1-63 characters of a-z, 0-9 and '-', "
                               "starting and ending with a letter or digit";
    if (name == NULL || len == 0)
        return cw_error_set(err, CW_E_INVALID, "cluster name is empty (it must be %s)", RULE);
    char q[CW_CLUSTER_NAME_MAX + 4] = "";
    if (quotable(name, len))
        snprintf(q, sizeof q, "'%.*s' ", (int)len, name);
    if (len > CW_CLUSTER_NAME_MAX)
        return cw_error_set(err, CW_E_INVALID,
                            "cluster name of %zu bytes is too long (at most %d: %s)", len,
                            CW_CLUSTER_NAME_MAX, RULE);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (label_char(c))
            continue;
        if (c >= 0x21 && c <= 0x7e)
            return cw_error_set(err, CW_E_INVALID,
                                "cluster name %sis not %s ('%c' at position %zu)", q, RULE, c,
                                i + 1);
        return cw_error_set(err, CW_E_INVALID,
                            "cluster name %sis not %s (byte 0x%02x at position %zu)", q, RULE, c,
                            i + 1);
    }
    if (name[0] == '-' || name[len - 1] == '-')
        return cw_error_set(err, CW_E_INVALID, "cluster name %sis not %s ('-' at the %s)", q,
                            RULE, name[0] == '-' ? "start" : "end");
    return 0;
}

char *cw_cluster_qualify(const char *cluster, const char *id)
{
    if (id == NULL)
        id = "";
    if (cluster == NULL)
        return strdup(id);
    size_t nc = strlen(cluster), ni = strlen(id);
    char *s = malloc(nc + 1 + ni + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, cluster, nc);
    s[nc] = CW_CLUSTER_SEP;
    memcpy(s + nc + 1, id, ni + 1);
    return s;
}

size_t cw_cluster_of_id(const char *id)
{
    if (id == NULL)
        return 0;
    const char *sep = strchr(id, CW_CLUSTER_SEP);
    if (sep == NULL)
        return 0;
    size_t n = (size_t)(sep - id);
    return cw_cluster_name_check(id, n, NULL) == 0 ? n : 0;
}

int cw_cluster_id_is_qualified(const char *id)
{
    return cw_cluster_of_id(id) > 0;
}

size_t cw_cluster_payload_issues(const cw_sync_payload *payload, const char *cluster,
                                 cw_issues *issues)
{
    if (cluster != NULL)
        return 0;
    static const char MSG[] = "id '%.*s...' reads as an id of cluster '%.*s' (NAME:...): name "
                              "the cluster in the URL (?cluster=NAME) or drop the prefix";
    size_t n = 0;
    cw_rt_ctx ctx;
    cw_rt_ctx_init(&ctx, issues, "", 0);    /* no bytes to scan: only the path and the issues */
    for (size_t i = 0; i < payload->deletes.len; i++) {
        const char *id = payload->deletes.items[i];
        size_t c = cw_cluster_of_id(id);
        if (c == 0)
            continue;
        cw_rt_push_key(&ctx, "deletes", 7);
        cw_rt_push_index(&ctx, i);
        cw_rt_issue(&ctx, CW_ISSUE_QUALIFIED_ID, MSG, (int)(c + 1), id, (int)c, id);
        cw_rt_pop(&ctx);
        cw_rt_pop(&ctx);
        n++;
    }
    for (size_t i = 0; i < payload->upserts.len; i++) {
        const char *id = payload->upserts.items[i].id;
        size_t c = cw_cluster_of_id(id);
        if (c == 0)
            continue;
        cw_rt_push_key(&ctx, "upserts", 7);
        cw_rt_push_index(&ctx, i);
        cw_rt_push_key(&ctx, "id", 2);
        cw_rt_issue(&ctx, CW_ISSUE_QUALIFIED_ID, MSG, (int)(c + 1), id, (int)c, id);
        cw_rt_pop(&ctx);
        cw_rt_pop(&ctx);
        cw_rt_pop(&ctx);
        n++;
    }
    cw_rt_ctx_done(&ctx);
    return n;
}
