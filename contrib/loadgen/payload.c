#include "payload.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct kind_info {
    const char *kind;
    const char *api_version;
    const char *api_group;
    int cluster_scoped;
    const char *noun;          /* for the description */
} kind_info;

static const kind_info KINDS[] = {
    { "Deployment", "apps/v1", "apps", 0, "deployment" },
    { "Service", "v1", "", 0, "service" },
    { "ConfigMap", "v1", "", 0, "configuration" },
    { "StatefulSet", "apps/v1", "apps", 0, "stateful set" },
    { "Ingress", "networking.k8s.io/v1", "networking.k8s.io", 0, "ingress" },
    { "CronJob", "batch/v1", "batch", 0, "scheduled job" },
    { "Cluster", "postgresql.cnpg.io/v1", "postgresql.cnpg.io", 0, "PostgreSQL cluster" },
    { "Namespace", "v1", "", 1, "namespace" },
    { "Node", "v1", "", 1, "worker node" },
    { "CustomResourceDefinition", "apiextensions.k8s.io/v1", "apiextensions.k8s.io", 1,
      "custom resource definition" },
};

/* Weighted mix: most objects of a cluster are Deployments, Services and
 * ConfigMaps. Indexes into KINDS. */
static const unsigned char KIND_MIX[16] = { 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 4, 5, 6, 7, 8, 9 };

static const char *const APPS[] = {
    "checkout", "payments", "inventory", "search", "auth",
    "frontend", "orders", "ledger", "catalog", "notifications",
};
static const char *const NAMESPACES[] = {
    "default", "shop", "payments", "data", "monitoring", "platform", "search",
};
static const char *const TEAMS[] = { "storefront", "platform", "data", "payments", "sre" };
static const char *const TIERS[] = { "frontend", "backend", "data", "batch" };
static const char *const DOES[] = {
    "serves the public HTTP API behind the shop's load balancer",
    "keeps customer orders and their line items",
    "stores product images and thumbnails for the catalog",
    "runs nightly reconciliation of card payments against the bank files",
    "issues and validates session tokens for every other service",
    "indexes the product catalog for full-text search",
    "sends order confirmation e-mails and push notifications",
    "holds the primary PostgreSQL database with streaming replicas",
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* 2025-01-01T00:00:00Z; createdAt falls in the 400 days after it. */
#define CREATED_BASE 1735689600L
#define CREATED_SPAN (400L * 86400L)

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

int lg_run_valid(const char *run)
{
    if (run == NULL || run[0] == '\0' || strlen(run) > LG_RUN_MAX)
        return 0;
    for (const char *p = run; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            return 0;
    }
    return 1;
}

/* What one instance is made of; strings are static or in `name`. */
typedef struct instance {
    const kind_info *kind;
    const char *app;
    const char *namespace;
    char name[96];
    uint64_t h;
} instance;

static void instance_make(const char *run, unsigned client, unsigned long seq, instance *out)
{
    uint64_t h = mix64(((uint64_t)client << 40) ^ (uint64_t)seq ^ mix64((uint64_t)client));
    out->h = h;
    out->kind = &KINDS[KIND_MIX[h & 15]];
    out->app = APPS[(h >> 4) % COUNT(APPS)];
    out->namespace = out->kind->cluster_scoped ? "_cluster" : NAMESPACES[(h >> 12) % COUNT(NAMESPACES)];
    /* Unique per (run, client, seq) whatever the kind and namespace. */
    snprintf(out->name, sizeof out->name, "%s-%s-c%u-%lu", out->app, run, client, seq);
}

static void write_id(FILE *f, const instance *in)
{
    fprintf(f, "%s/%s/%s/%s", in->namespace, in->kind->api_version, in->kind->kind, in->name);
}

static void write_instance(FILE *f, const instance *in)
{
    uint64_t h = in->h;
    fputs("{\"id\":\"", f);
    write_id(f, in);
    fprintf(f, "\",\"namespace\":\"%s\",\"name\":\"%s\",\"kind\":\"%s\",\"apiVersion\":\"%s\","
               "\"apiGroup\":\"%s\"",
            in->namespace, in->name, in->kind->kind, in->kind->api_version, in->kind->api_group);

    if ((h >> 20) % 7 == 0) {
        fputs(",\"labels\":null", f);                  /* a Go nil map */
    } else {
        unsigned n = 1 + (unsigned)((h >> 24) % 4);
        fprintf(f, ",\"labels\":{\"app.kubernetes.io/name\":\"%s\"", in->app);
        if (n > 1)
            fputs(",\"app.kubernetes.io/part-of\":\"shop\"", f);
        if (n > 2)
            fputs(",\"app.kubernetes.io/managed-by\":\"Helm\"", f);
        if (n > 3)
            fprintf(f, ",\"tier\":\"%s\"", TIERS[(h >> 28) % COUNT(TIERS)]);
        fputc('}', f);
    }

    if ((h >> 32) % 5 == 0) {
        fputs(",\"annotations\":null", f);
    } else {
        fprintf(f, ",\"annotations\":{\"description\":\"The %s %s of the %s team; it %s.\"}",
                in->app, in->kind->noun, TEAMS[(h >> 36) % COUNT(TEAMS)],
                DOES[(h >> 40) % COUNT(DOES)]);
    }

    time_t t = (time_t)(CREATED_BASE + (long)((h >> 44) % (uint64_t)CREATED_SPAN));
    struct tm tm;
    char when[32];
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(f, ",\"createdAt\":\"%s\"}", when);
}

/* A memory stream for one body of run `run`: NULL when `run` is not a run
 * token or out of memory. finish() closes it and hands *buf out. */
static FILE *start(const char *run, char **buf, size_t *blen)
{
    *buf = NULL;
    *blen = 0;
    if (!lg_run_valid(run))
        return NULL;
    return open_memstream(buf, blen);
}

/* Close the stream; the buffer on success, NULL (buffer freed) on error. */
static char *finish(FILE *f, char **buf, size_t *blen, size_t *len)
{
    int bad = ferror(f);
    int closed = fclose(f);            /* sets *buf and *blen */
    if (closed != 0 || bad || *buf == NULL) {
        free(*buf);
        return NULL;
    }
    if (len != NULL)
        *len = *blen;
    return *buf;
}

char *lg_payload_upserts(const char *run, unsigned client, unsigned long first_seq, size_t n,
                         size_t *len)
{
    char *buf;
    size_t blen;
    FILE *f = start(run, &buf, &blen);
    if (f == NULL)
        return NULL;
    fputs("{\"upserts\":[", f);
    for (size_t i = 0; i < n; i++) {
        instance in;
        instance_make(run, client, first_seq + i, &in);
        if (i > 0)
            fputc(',', f);
        write_instance(f, &in);
    }
    fputs("],\"deletes\":null}", f);
    return finish(f, &buf, &blen, len);
}

char *lg_payload_delete(const char *run, unsigned client, unsigned long seq, size_t *len)
{
    char *buf;
    size_t blen;
    FILE *f = start(run, &buf, &blen);
    if (f == NULL)
        return NULL;
    instance in;
    instance_make(run, client, seq, &in);
    fputs("{\"upserts\":null,\"deletes\":[\"", f);
    write_id(f, &in);
    fputs("\"]}", f);
    return finish(f, &buf, &blen, len);
}

char *lg_instance_id(const char *run, unsigned client, unsigned long seq)
{
    char *buf;
    size_t blen;
    FILE *f = start(run, &buf, &blen);
    if (f == NULL)
        return NULL;
    instance in;
    instance_make(run, client, seq, &in);
    write_id(f, &in);
    return finish(f, &buf, &blen, NULL);
}
