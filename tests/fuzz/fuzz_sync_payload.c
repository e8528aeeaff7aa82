/* libFuzzer entry point for the generated payload parsers: every input
 * goes through the sync payload's, the CRD payload's and all_types' (every
 * type of the schema language, tests/payload/all_types.schema).
 *
 *   CC=clang cmake -S . -B build/fuzz -DCW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
 *   cmake --build build/fuzz --target fuzz_sync_payload
 *   build/fuzz/tests/payload/fuzz_sync_payload -max_total_time=60 tests/fuzz/corpus
 *
 * Checks beyond "no crash, no leak": an accepted payload holds only valid
 * UTF-8 strings without NUL, non-empty ids and well-formed datetimes, ints
 * within their bounds, finite numbers, enums in range; a refused one has
 * at least one issue, a zeroed output and renders as JSON. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "all_types.h"
#include "crd_sync_payload.h"
#include "schema_rt.h"
#include "sync_payload.h"

static void must(int cond)
{
    if (!cond)
        abort();
}

static void check_string(const char *s)
{
    must(s != NULL);
    must(cw_rt_utf8_valid(s, strlen(s)));
}

static void check_map(const cw_str_map *m)
{
    for (size_t i = 0; i < m->len; i++) {
        check_string(m->items[i].key);
        check_string(m->items[i].value);
    }
}

static void check_refused(const cw_issues *issues)
{
    must(issues->len >= 1 && issues->total >= issues->len);
    char *json = cw_issues_to_json(issues);
    must(json != NULL);
    struct json_object *parsed = json_tokener_parse(json);
    must(parsed != NULL);   /* the 400 body is itself valid JSON */
    json_object_put(parsed);
    free(json);
}

static void check_str_list(const cw_str_list *l, int nonempty)
{
    for (size_t i = 0; i < l->len; i++) {
        check_string(l->items[i]);
        must(!nonempty || l->items[i][0] != '\0');
    }
}

static void check_owner(const tt_owner *o)
{
    check_string(o->name);
    must(o->name[0] != '\0');
    must(o->has_controller || !o->controller);
}

static void fuzz_crd(const uint8_t *data, size_t size)
{
    cw_crd_sync_payload p;
    cw_issues issues;

    if (cw_crd_sync_payload_parse((const char *)data, size, &p, &issues) == 0) {
        check_str_list(&p.upserts, 1);
        check_str_list(&p.deletes, 1);
        cw_crd_sync_payload_free(&p);
    } else {
        must(p.arena_ == NULL && p.upserts.items == NULL && p.deletes.items == NULL);
        check_refused(&issues);
    }
}

static void fuzz_all_types(const uint8_t *data, size_t size)
{
    tt_all_types p;
    cw_issues issues;

    if (tt_all_types_parse((const char *)data, size, &p, &issues) != 0) {
        must(p.arena_ == NULL && p.owners.items == NULL && p.tags.items == NULL);
        check_refused(&issues);
        return;
    }
    must(p.count >= 0 && p.count <= 100);
    must(isfinite(p.ratio) && isfinite(p.weight));
    must(p.phase <= TT_ALL_TYPES_PHASE_SUCCEEDED && p.mode <= TT_ALL_TYPES_MODE_SAFE);
    check_string(p.at);
    must(cw_rt_datetime_valid(p.at, strlen(p.at)));
    check_string(p.when);
    must(cw_rt_rfc3339_valid(p.when, strlen(p.when)));
    check_string(p.label);
    check_owner(&p.owner);
    for (size_t i = 0; i < p.owners.len; i++)
        check_owner(&p.owners.items[i]);
    for (size_t i = 0; i < p.by_name.len; i++) {
        check_string(p.by_name.items[i].key);
        check_owner(&p.by_name.items[i].value);
    }
    for (size_t i = 0; i < p.counts.len; i++)
        must(p.counts.items[i].value >= 0 && p.counts.items[i].value <= 255);
    for (size_t i = 0; i < p.grid.len; i++) {
        for (size_t k = 0; k < p.grid.items[i].len; k++)
            must(p.grid.items[i].items[k] >= -9 && p.grid.items[i].items[k] <= 9);
    }
    for (size_t i = 0; i < p.ratios.len; i++)
        must(isfinite(p.ratios.items[i].value));
    for (size_t i = 0; i < p.phases.len; i++)
        must(p.phases.items[i] <= TT_ALL_TYPES_PHASES_B);
    for (size_t i = 0; i < p.tags.len; i++) {
        check_string(p.tags.items[i].key);
        for (size_t k = 0; k < p.tags.items[i].value.len; k++) {
            const char *t = p.tags.items[i].value.items[k];
            check_string(t);
            must(t[0] != '\0' && strlen(t) <= 8);
        }
    }
    for (size_t i = 0; i < p.stamps.len; i++)
        must(cw_rt_rfc3339_valid(p.stamps.items[i], strlen(p.stamps.items[i])));
    must(p.has_maybe || p.maybe == 0);
    tt_all_types_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cw_sync_payload p;
    cw_issues issues;

    fuzz_crd(data, size);
    fuzz_all_types(data, size);

    if (cw_sync_payload_parse((const char *)data, size, &p, &issues) == 0) {
        for (size_t i = 0; i < p.upserts.len; i++) {
            const cw_resource_instance *r = &p.upserts.items[i];
            check_string(r->id);
            must(r->id[0] != '\0');
            check_string(r->namespace);
            check_string(r->name);
            check_string(r->kind);
            check_string(r->api_version);
            check_string(r->api_group);
            check_string(r->created_at);
            must(cw_rt_datetime_valid(r->created_at, strlen(r->created_at)));
            check_map(&r->labels);
            check_map(&r->annotations);
        }
        for (size_t i = 0; i < p.deletes.len; i++) {
            check_string(p.deletes.items[i]);
            must(p.deletes.items[i][0] != '\0');
        }
        cw_sync_payload_free(&p);
    } else {
        must(p.arena_ == NULL && p.upserts.items == NULL && p.deletes.items == NULL);
        check_refused(&issues);
    }
    return 0;
}
