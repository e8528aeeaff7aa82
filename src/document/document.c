/* cw_document — instance → text + metadata, as the reference's
 * instanceToDocument() builds them (DESIGN §4). See document.h. */
#include "document.h"

#include <stdlib.h>
#include <string.h>

#include "cluster.h"

/* A growable NUL-terminated string; `failed` sticks after the first
 * allocation failure so callers check once at the end. */
typedef struct strbuf {
    char *data;
    size_t len;
    size_t cap;
    int failed;
} strbuf;

static void sb_append_n(strbuf *sb, const char *s, size_t n)
{
    if (sb->failed)
        return;
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap != 0 ? sb->cap : 128;
        while (cap < sb->len + n + 1)
            cap *= 2;
        char *grown = realloc(sb->data, cap);
        if (grown == NULL) {
            sb->failed = 1;
            return;
        }
        sb->data = grown;
        sb->cap = cap;
    }
    memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

static void sb_append(strbuf *sb, const char *s)
{
    sb_append_n(sb, s, strlen(s));
}

/* Hand the string out (never NULL unless allocation failed). */
static char *sb_take(strbuf *sb)
{
    if (!sb->failed && sb->data == NULL)
        sb_append_n(sb, "", 0);
    if (sb->failed) {
        free(sb->data);
        sb->data = NULL;
        return NULL;
    }
    char *s = sb->data;
    sb->data = NULL;
    return s;
}

/* NULL strings (never produced by the parser) are treated as "". */
static const char *str_or_empty(const char *s)
{
    return s != NULL ? s : "";
}

/* "k1=v1<sep>k2=v2" in payload order. */
static void append_pairs(strbuf *sb, const cw_str_map *map, const char *sep)
{
    for (size_t i = 0; i < map->len; i++) {
        if (i > 0)
            sb_append(sb, sep);
        sb_append(sb, str_or_empty(map->items[i].key));
        sb_append(sb, "=");
        sb_append(sb, str_or_empty(map->items[i].value));
    }
}

static char *build_text(const cw_resource_instance *in, const char *cluster)
{
    strbuf sb = { 0 };
    sb_append(&sb, str_or_empty(in->kind));
    sb_append(&sb, " ");
    sb_append(&sb, str_or_empty(in->name));
    sb_append(&sb, " | namespace: ");
    sb_append(&sb, str_or_empty(in->namespace));
    if (cluster != NULL) {
        sb_append(&sb, " | cluster: ");
        sb_append(&sb, cluster);
    }
    sb_append(&sb, " | apiVersion: ");
    sb_append(&sb, str_or_empty(in->api_version));
    if (in->labels.len > 0) {
        sb_append(&sb, " | labels: ");
        append_pairs(&sb, &in->labels, ", ");
    }
    if (in->annotations.len > 0) {
        sb_append(&sb, " | ");
        for (size_t i = 0; i < in->annotations.len; i++) {
            if (i > 0)
                sb_append(&sb, ". ");
            sb_append(&sb, str_or_empty(in->annotations.items[i].value));
        }
    }
    return sb_take(&sb);
}

static char *build_labels(const cw_resource_instance *in)
{
    strbuf sb = { 0 };
    append_pairs(&sb, &in->labels, ",");
    return sb_take(&sb);
}

static char *dup_or_empty(const char *s)
{
    return strdup(str_or_empty(s));
}

int cw_document_from_instance(const cw_resource_instance *in, cw_document *out,
                              cw_error *err)
{
    return cw_document_from_instance_in(in, NULL, out, err);
}

int cw_document_from_instance_in(const cw_resource_instance *in, const char *cluster,
                                 cw_document *out, cw_error *err)
{
    int rc = -1;
    memset(out, 0, sizeof *out);

    out->id = cw_cluster_qualify(cluster, in->id);
    out->text = build_text(in, cluster);
    out->namespace = dup_or_empty(in->namespace);
    out->name = dup_or_empty(in->name);
    out->kind = dup_or_empty(in->kind);
    out->api_version = dup_or_empty(in->api_version);
    out->api_group = dup_or_empty(in->api_group);
    out->labels = build_labels(in);
    out->cluster = cluster != NULL ? strdup(cluster) : NULL;
    if (out->id == NULL || out->text == NULL || out->namespace == NULL ||
        out->name == NULL || out->kind == NULL || out->api_version == NULL ||
        out->api_group == NULL || out->labels == NULL || (cluster != NULL && out->cluster == NULL)) {
        cw_error_set(err, CW_E_NOMEM, "out of memory building document");
        goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        cw_document_clear(out);
    return rc;
}

int cw_document_copy(const cw_document *src, cw_document *dst, cw_error *err)
{
    int rc = -1;
    memset(dst, 0, sizeof *dst);

    dst->id = dup_or_empty(src->id);
    dst->text = dup_or_empty(src->text);
    dst->namespace = dup_or_empty(src->namespace);
    dst->name = dup_or_empty(src->name);
    dst->kind = dup_or_empty(src->kind);
    dst->api_version = dup_or_empty(src->api_version);
    dst->api_group = dup_or_empty(src->api_group);
    dst->labels = dup_or_empty(src->labels);
    dst->cluster = src->cluster != NULL ? strdup(src->cluster) : NULL;
    if (dst->id == NULL || dst->text == NULL || dst->namespace == NULL ||
        dst->name == NULL || dst->kind == NULL || dst->api_version == NULL ||
        dst->api_group == NULL || dst->labels == NULL ||
        (src->cluster != NULL && dst->cluster == NULL)) {
        cw_error_set(err, CW_E_NOMEM, "out of memory copying document");
        goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        cw_document_clear(dst);
    return rc;
}

void cw_document_clear(cw_document *doc)
{
    if (doc == NULL)
        return;
    free(doc->id);
    free(doc->text);
    free(doc->namespace);
    free(doc->name);
    free(doc->kind);
    free(doc->api_version);
    free(doc->api_group);
    free(doc->labels);
    free(doc->cluster);
    memset(doc, 0, sizeof *doc);
}
