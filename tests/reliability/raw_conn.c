#define _GNU_SOURCE   /* strcasestr */
#include "raw_conn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cw_time.h"

int rc_send(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Wait up to `ms` for something to read; recv it into buf[cap]. Returns the
 * bytes read, 0 on EOF or reset, -1 when the time ran out. */
static ssize_t recv_within(int fd, char *buf, size_t cap, int ms)
{
    struct pollfd p = { fd, POLLIN, 0 };
    int pr = poll(&p, 1, ms < 0 ? 0 : ms);
    if (pr == 0)
        return -1;
    ssize_t n = recv(fd, buf, cap, 0);
    return n < 0 ? 0 : n;
}

/* Length of the whole answer at the start of `s` (headers + Content-Length
 * body), 0 while incomplete. */
static size_t answer_length(const char *s, size_t len)
{
    const char *end = strstr(s, "\r\n\r\n");
    if (end == NULL)
        return 0;
    size_t head = (size_t)(end + 4 - s);
    size_t body = 0;
    const char *cl = strcasestr(s, "\r\nContent-Length:");
    if (cl != NULL && cl < end)
        body = strtoul(cl + 17, NULL, 10);
    return len >= head + body ? head + body : 0;
}

int rc_read_answer(int fd, int timeout_ms, char *out, size_t cap, size_t *extra)
{
    int64_t until = cw_now_ms() + timeout_ms;
    size_t len = 0, whole = 0;
    out[0] = '\0';
    if (extra != NULL)
        *extra = 0;
    while (len + 1 < cap) {
        ssize_t n = recv_within(fd, out + len, cap - 1 - len, (int)cw_ms_left(until));
        if (n <= 0)
            break;
        len += (size_t)n;
        out[len] = '\0';
        whole = answer_length(out, len);
        if (whole > 0)
            break;
    }
    if (whole == 0)
        return 0;
    if (extra != NULL)
        *extra = len - whole;
    int status = 0;
    if (sscanf(out, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    return status;
}

long rc_wait_closed(int fd, int timeout_ms, size_t *extra)
{
    int64_t t0 = cw_now_ms();
    int64_t until = t0 + timeout_ms;
    char buf[16384];
    for (;;) {
        ssize_t n = recv_within(fd, buf, sizeof buf, (int)cw_ms_left(until));
        if (n == 0)
            return (long)(cw_now_ms() - t0);
        if (n < 0)
            return -1;
        if (extra != NULL)
            *extra += (size_t)n;
    }
}

int rc_is_closed(int fd)
{
    char c;
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll(&p, 1, 0) <= 0)
        return 0;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

void rc_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

int rc_answer_body_is(const char *answer, const char *body)
{
    const char *end = strstr(answer, "\r\n\r\n");
    return end != NULL && strcmp(end + 4, body) == 0;
}
