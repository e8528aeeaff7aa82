#!/usr/bin/env bash
# ctest `schema_drill` (issue 12 item 5): the payload-change workflow
# itself, on a scratch copy of the tree — add a field of every type to
# schema/sync_payload.schema, run the `regen` target, rebuild the parser
# library, and parse a payload that uses the new fields (exact values and
# an exact refusal). The real tree is only read.
#
#   drill.sh SOURCE_DIR SCRATCH_DIR
set -euo pipefail
src=$1
scratch=$2
cc=${CC:-cc}

rm -rf "$scratch"
mkdir -p "$scratch/tree"
# The tree without builds, VCS data, npm packages and caches.
tar -C "$src" --exclude='./build*' --exclude='./.git' --exclude='node_modules' \
    --exclude='./.cache' -cf - . | tar -C "$scratch/tree" -xf -
cd "$scratch/tree"

# 1. The change: a field of every type (and a new record) in the payload.
python3 - <<'PY'
import re
p = 'schema/sync_payload.schema'
s = open(p).read()
s = s.replace('''record resource_instance {''', '''record owner_ref {
    kind:       string;
    name:       string nonempty;
    controller: bool nullable optional;          # Go *bool
}

record resource_instance {''')
s = s.replace('''    createdAt:   string format(datetime) maxlen(64);''', '''    createdAt:   string format(datetime) maxlen(64);
    generation:  int optional min(0);
    replicas:    int nullable optional min(0) max(1000);
    ready:       bool optional;
    cpu:         number nullable optional;
    phase:       enum("Pending", "Running", "Failed") optional default("Pending");
    updatedAt:   string nullable optional format(rfc3339);
    owner:       owner_ref optional;
    owners:      list<owner_ref> nullable optional;
    ports:       map<int> nullable optional min(1) max(65535);
    conditions:  map<list<string>> optional;''')
open(p, 'w').write(s)
PY

# 2. regen, 3. rebuild the parser (the schema compiler first, as always).
cmake -S . -B build -DCW_WERROR=ON -DCMAKE_BUILD_TYPE=Debug >build-configure.log 2>&1 ||
  { cat build-configure.log; exit 1; }
cmake --build build --target regen >build-regen.log 2>&1 || { cat build-regen.log; exit 1; }
cmake --build build -j2 --target cw_schema_rt >build-rt.log 2>&1 || { cat build-rt.log; exit 1; }
git_diff=$(diff -u "$src/generated/sync_payload.h" generated/sync_payload.h | grep -c '^[+-] ' || true)
echo "drill: generated/sync_payload.h changed in $git_diff lines"

# 4. Parse a payload that uses every new field.
cat >drill.c <<'C'
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "sync_payload.h"

#define BASE "\"namespace\":\"default\",\"name\":\"web\",\"kind\":\"Deployment\"," \
             "\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\",\"createdAt\":\"2024-01-15T10:30:00Z\""

int main(void)
{
    static const char ok[] =
        "{\"upserts\":[{\"id\":\"default/apps/v1/Deployment/web\"," BASE ","
        "\"generation\":7,\"replicas\":3,\"ready\":true,\"cpu\":0.25,\"phase\":\"Running\","
        "\"updatedAt\":\"2024-01-15T12:30:00+02:00\",\"owner\":{\"kind\":\"ReplicaSet\",\"name\":\"web-1\"},"
        "\"owners\":[{\"kind\":\"ReplicaSet\",\"name\":\"web-1\",\"controller\":true}],"
        "\"ports\":{\"http\":80,\"https\":443},\"conditions\":{\"Ready\":[\"True\",\"MinimumReplicasAvailable\"]}},"
        "{\"id\":\"default/v1/Pod/p\"," BASE ",\"replicas\":null,\"cpu\":null}]}";
    static const char bad[] =
        "{\"upserts\":[{\"id\":\"x\"," BASE ",\"generation\":1.0}]}";
    cw_sync_payload p;
    cw_issues issues;

    if (cw_sync_payload_parse(ok, strlen(ok), &p, &issues) != 0) {
        char *j = cw_issues_to_json(&issues);
        printf("refused: %s\n", j);
        return 1;
    }
    for (size_t i = 0; i < p.upserts.len; i++) {
        const cw_resource_instance *r = &p.upserts.items[i];
        printf("%s generation=%" PRId64 " replicas=%s%" PRId64 " ready=%d cpu=%s%g phase=%d updatedAt=%s"
               " owner=%s/%s owners=%zu",
               r->id, r->generation, r->has_replicas ? "" : "none:", r->replicas, r->ready,
               r->has_cpu ? "" : "none:", r->cpu, (int)r->phase, r->updated_at, r->owner.kind,
               r->owner.name, r->owners.len);
        for (size_t k = 0; k < r->owners.len; k++)
            printf(" [%s/%s controller=%d]", r->owners.items[k].kind, r->owners.items[k].name,
                   r->owners.items[k].has_controller && r->owners.items[k].controller);
        for (size_t k = 0; k < r->ports.len; k++)
            printf(" port %s=%" PRId64, r->ports.items[k].key, r->ports.items[k].value);
        for (size_t k = 0; k < r->conditions.len; k++)
            printf(" condition %s=%zu:%s", r->conditions.items[k].key,
                   r->conditions.items[k].value.len, r->conditions.items[k].value.items[0]);
        printf("\n");
    }
    cw_sync_payload_free(&p);
    if (cw_sync_payload_parse(bad, strlen(bad), &p, &issues) == 0)
        return 1;
    printf("%s %s %s\n", issues.items[0].path, issues.items[0].code, issues.items[0].message);
    return 0;
}
C
rt=$(find build -name libcw_schema_rt.a | head -1)
common=$(find build -name libcw_common.a | head -1)
"$cc" -std=gnu11 -Wall -Wextra -Werror -Isrc/schema_rt -Isrc/common -Igenerated drill.c \
      "$rt" "$common" $(pkg-config --libs json-c) -lm -o drill
./drill >got.txt
cat >expected.txt <<'TXT'
default/apps/v1/Deployment/web generation=7 replicas=3 ready=1 cpu=0.25 phase=1 updatedAt=2024-01-15T12:30:00+02:00 owner=ReplicaSet/web-1 owners=1 [ReplicaSet/web-1 controller=1] port http=80 port https=443 condition Ready=2:True
default/v1/Pod/p generation=0 replicas=none:0 ready=0 cpu=none:0 phase=0 updatedAt= owner=/ owners=0
["upserts",0,"generation"] invalid_type expected integer, got a number with a fraction or exponent
TXT
if ! diff -u expected.txt got.txt; then
  echo "drill: the parser built from the changed schema gave other results"
  exit 1
fi
echo "drill: regen + rebuild + parse with a field of every type: ok"
rm -rf "$scratch"
