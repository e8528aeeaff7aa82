/* cli_env — what the contract tests of the real binary (cli_end_to_end,
 * cli_logs) set up in main() and share in their test cases:
 *   - libcurl initialised and SIGPIPE ignored;
 *   - the URL of the Chroma the ctest fixture started;
 *   - a collection name of this process (<prefix>_<pid>) and a server log
 *     path ($CW_TEST_STATE or /tmp, <suite>.server.log);
 *   - a mock embedding server (tests/support/mock_embedder.h);
 *   - one HTTP request to a server on 127.0.0.1.
 * The cli_env owns its mock and chroma_url; cli_env_close() frees both. */
#ifndef CW_TEST_CLI_ENV_H
#define CW_TEST_CLI_ENV_H

#include <stddef.h>

#include "mock_embedder.h"

typedef struct cli_env {
    cw_mock_embedder *mock;
    char *chroma_url;
    char collection[64];
    char log[256];
} cli_env;

/* Set up all of the above for the test executable `suite` (its name in
 * messages), the mock making `mock_dim`-d vectors. 0, or -1 with one line
 * printed; cli_env_close() it either way. */
int cli_env_open(cli_env *e, const char *suite, const char *collection_prefix, size_t mock_dim);

/* Stop the mock, free, clean up libcurl. */
void cli_env_close(cli_env *e);

/* argv for `command` of $CW_BIN against the env's Chroma and collection,
 * with the mock embedder when `mock` is 1 (--embedder openai --embed-url),
 * followed by `extra` (NULL-terminated; NULL: none). Static storage: valid
 * until the next call. */
char **cli_argv(const cli_env *e, const char *command, int mock, const char *const *extra);

/* `method` http://127.0.0.1:port/path with `body` as application/json
 * (NULL: no body). The status, 0 on a network error; when `resp` is not
 * NULL, *resp receives the answer's body (malloc'd, "" when none). */
long cli_call(unsigned short port, const char *method, const char *path, const char *body,
              char **resp);

#endif
