/* cw-schemac import-go: Go struct declarations → a schema in our language.
 *
 *   cw-schemac import-go FILE.go TYPE...
 *
 * Reads one Go source file (a small tokenizer of its own: identifiers,
 * literals, comments, brackets and Go's automatic semicolons — enough to
 * find `type` declarations and skip everything else) and prints, for the
 * named root TYPE(s) and every named struct they reach, the schema that
 * accepts what Go's encoding/json sends:
 *
 *   string, bool → string, bool      int*, uint* → int (+ min/max of the Go type)
 *   float32/64   → number            time.Time   → string format(rfc3339)
 *   []T → list<T> nullable           map[string]T → map<T> nullable
 *   *T  → T nullable                 []byte      → string nullable (base64)
 *   named struct → record <snake_case name>   omitempty/omitzero → optional
 *
 * A field without a json tag is keyed by its Go name, `json:"-"` and
 * unexported fields are skipped. `nullable` says what the field itself may
 * be; the schema cannot say that an element of a list or a value of a map
 * is null, so a nil inside ([]*T, map[string][]string) is not marked.
 * Records come in dependency order, the roots last, then `root` for the
 * first TYPE. Anything else the importer reaches (interfaces, channels,
 * funcs, arrays, embedded or anonymous structs, non-string map keys,
 * generics, types with a MarshalJSON/MarshalText method, types from other
 * packages but time.Time) is an error.
 */
#ifndef CW_SCHEMAC_IMPORT_GO_H
#define CW_SCHEMAC_IMPORT_GO_H

#include <stdio.h>

#include "schemac.h"

/* Import the `ntypes` types named in `types` (borrowed) from the Go file
 * at `path`, and write the schema to `out` (borrowed, left open). The
 * schema is written whole or not at all. Returns 0, or 2 after printing
 * the first error to stderr: `path:line: message` for the Go source,
 * `path: no struct type NAME` for a TYPE the file does not declare as a
 * struct, `cw-schemac: ...` for I/O and memory. */
SCHEMAC_MUST_CHECK int import_go(const char *path, char *const *types, int ntypes, FILE *out);

#endif
