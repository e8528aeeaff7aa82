#include "proc.h"

#include "http_client.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *slurp_fd(int fd)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    ssize_t got;
    while (buf != NULL) {
        if (len + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) { free(buf); return NULL; }
            buf = nb;
            cap *= 2;
        }
        got = read(fd, buf + len, cap - len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    if (buf != NULL)
        buf[len] = '\0';
    return buf;
}

int proc_run(char *const argv[], char **out, char **err)
{
    char tmpl_out[] = "/tmp/cw-proc-out-XXXXXX", tmpl_err[] = "/tmp/cw-proc-err-XXXXXX";
    int fo = mkstemp(tmpl_out), fe = mkstemp(tmpl_err);
    if (fo < 0 || fe < 0)
        return -1;
    unlink(tmpl_out);
    unlink(tmpl_err);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    lseek(fo, 0, SEEK_SET);
    lseek(fe, 0, SEEK_SET);
    char *o = slurp_fd(fo), *e = slurp_fd(fe);
    close(fo);
    close(fe);
    if (out != NULL) *out = o; else free(o);
    if (err != NULL) *err = e; else free(e);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

pid_t proc_start(char *const argv[], const char *log_path)
{
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(devnull, 0);
        dup2(log, 1);
        dup2(log, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

int proc_stop(pid_t pid, int sig, int timeout_ms)
{
    int status = 0;
    kill(pid, sig);
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        struct timespec ts = { 0, 20 * 1000000L };
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

int proc_wait_http(unsigned short port, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%u/healthz", port);
        http_reply r;
        int up = http_request("GET", url, NULL, NULL, 0, 0, &r) == 0 && r.status == 200;
        http_reply_free(&r);
        if (up)
            return 1;
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
    }
    return 0;
}

pid_t proc_serve(char *const argv[], const char *log_path, unsigned short port, int timeout_ms)
{
    pid_t pid = proc_start(argv, log_path);
    if (pid <= 0) {
        fprintf(stderr, "proc: cannot start %s\n", argv[0]);
        return -1;
    }
    if (!proc_wait_http(port, timeout_ms)) {
        fprintf(stderr, "proc: %s did not answer GET /healthz on port %u in %d ms; log %s\n",
                argv[0], (unsigned)port, timeout_ms, log_path);
        proc_stop(pid, SIGKILL, 5000);
        return -1;
    }
    return pid;
}
