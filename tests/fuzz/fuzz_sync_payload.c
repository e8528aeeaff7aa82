/* libFuzzer entry point for the generated sync payload parser.
 *
 *   CC=clang cmake -S . -B build/fuzz -DCW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
 *   cmake --build build/fuzz --target fuzz_sync_payload
 *   build/fuzz/tests/payload/fuzz_sync_payload -max_total_time=60 tests/fuzz/corpus
 *
 * Checks beyond "no crash, no leak": an accepted payload holds only valid
 * UTF-8 strings without NUL, non-empty ids and well-formed datetimes; a
 * refused one has at least one issue, a zeroed output and renders as JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cw_sync_payload p;
    cw_issues issues;

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
        must(issues.len >= 1 && issues.total >= issues.len);
        must(p.arena_ == NULL && p.upserts.items == NULL && p.deletes.items == NULL);
        char *json = cw_issues_to_json(&issues);
        must(json != NULL);
        struct json_object *parsed = json_tokener_parse(json);
        must(parsed != NULL);   /* the 400 body is itself valid JSON */
        json_object_put(parsed);
        free(json);
    }
    return 0;
}
