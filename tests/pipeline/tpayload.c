#include "tpayload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        abort();
    return d;
}

cw_sync_payload *tp_new(const char *spec)
{
    cw_sync_payload *p = calloc(1, sizeof *p);
    size_t n = 1;
    for (const char *c = spec; *c != '\0'; c++)
        n += *c == ' ';
    p->upserts.items = calloc(n, sizeof *p->upserts.items);
    p->deletes.items = calloc(n, sizeof *p->deletes.items);
    char *copy = xstrdup(spec);
    char *save = NULL;
    for (char *tok = strtok_r(copy, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
        if (tok[0] == '-') {
            p->deletes.items[p->deletes.len++] = xstrdup(tok + 1);
            continue;
        }
        char *name = strchr(tok, ':');
        if (name != NULL)
            *name++ = '\0';
        else
            name = tok + 1;
        cw_resource_instance *in = &p->upserts.items[p->upserts.len++];
        in->id = xstrdup(tok + 1);
        in->namespace = xstrdup("default");
        in->name = xstrdup(name);
        in->kind = xstrdup("Deployment");
        in->api_version = xstrdup("apps/v1");
        in->api_group = xstrdup("apps");
        in->created_at = xstrdup("2026-01-01T00:00:00Z");
    }
    free(copy);
    return p;
}

void tp_free(cw_sync_payload *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->deletes.len; i++)
        free((char *)p->deletes.items[i]);
    for (size_t i = 0; i < p->upserts.len; i++) {
        cw_resource_instance *in = &p->upserts.items[i];
        free((char *)in->id);
        free((char *)in->namespace);
        free((char *)in->name);
        free((char *)in->kind);
        free((char *)in->api_version);
        free((char *)in->api_group);
        free((char *)in->created_at);
    }
    free(p->upserts.items);
    free(p->deletes.items);
    free(p);
}

const char *tp_text(const char *name)
{
    static _Thread_local char buf[256];
    snprintf(buf, sizeof buf, "Deployment %s | namespace: default | apiVersion: apps/v1", name);
    return buf;
}
