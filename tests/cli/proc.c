#include "proc.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

unsigned short proc_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    unsigned short port = 0;
    if (bind(s, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(s, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    close(s);
    return port;
}

typedef struct sink { char *buf; size_t len; } sink;

static size_t sink_write(char *data, size_t size, size_t n, void *ud)
{
    sink *s = ud;
    size_t add = size * n;
    char *nb = realloc(s->buf, s->len + add + 1);
    if (nb == NULL)
        return 0;
    memcpy(nb + s->len, data, add);
    s->len += add;
    nb[s->len] = '\0';
    s->buf = nb;
    return add;
}

long proc_http(unsigned short port, const char *method, const char *path,
               const char *content_type, const char *body, char **resp)
{
    CURL *h = curl_easy_init();
    if (h == NULL)
        return 0;
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    sink s = { NULL, 0 };
    struct curl_slist *hdrs = NULL;
    if (content_type != NULL) {
        char line[256];
        snprintf(line, sizeof line, "Content-Type: %s", content_type);
        hdrs = curl_slist_append(hdrs, line);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    if (hdrs != NULL)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (body != NULL)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    long code = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (resp != NULL)
        *resp = s.buf != NULL ? s.buf : strdup("");
    else
        free(s.buf);
    return code;
}

int proc_wait_http(unsigned short port, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        if (proc_http(port, "GET", "/healthz", NULL, NULL, NULL) == 200)
            return 1;
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
    }
    return 0;
}
