/* proc — run the cluster-whisperer binary from tests: capture a command's
 * output and exit code, or start `serve` in the background, wait until it
 * answers, and stop it. Used by tests/cli and tests/reliability. */
#ifndef CW_TEST_PROC_H
#define CW_TEST_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* Run argv (NULL-terminated) with stdin from /dev/null; capture stdout and
 * stderr (each malloc'd, NUL-terminated; caller frees). Returns the exit
 * code, or -1 if it could not run or was killed. */
int proc_run(char *const argv[], char **out, char **err);

/* Start argv in the background with stdout/stderr appended to `log_path`.
 * Returns the pid or -1. */
pid_t proc_start(char *const argv[], const char *log_path);

/* Send `sig`, wait up to timeout_ms; return the exit code, or -1 (killed
 * with SIGKILL after the timeout, or died by a signal). */
int proc_stop(pid_t pid, int sig, int timeout_ms);

/* Poll GET /healthz until 200 or timeout; 1 when up. */
int proc_wait_http(unsigned short port, int timeout_ms);

/* proc_start() a server that listens on `port`, then proc_wait_http() it
 * for up to timeout_ms. The pid, or -1 with one line printed saying which
 * step failed (a server that did not answer is killed; nothing is left
 * running). */
pid_t proc_serve(char *const argv[], const char *log_path, unsigned short port, int timeout_ms);

#endif
