#define _GNU_SOURCE   /* strcasestr */
#include "http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

typedef struct sink {
    char *data;
    size_t len;
} sink;


/* The total timeout of every request (http_set_timeout_ms). */
static long g_timeout_ms = HTTP_DEFAULT_TIMEOUT_MS;

void http_set_timeout_ms(long ms)
{
    __atomic_store_n(&g_timeout_ms, ms > 0 ? ms : HTTP_DEFAULT_TIMEOUT_MS, __ATOMIC_RELAXED);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    sink *s = userdata;
    size_t n = size * nmemb;
    char *nd = realloc(s->data, s->len + n + 1);
    if (nd == NULL)
        return 0;
    s->data = nd;
    memcpy(s->data + s->len, ptr, n);
    s->len += n;
    s->data[s->len] = '\0';
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    http_reply *r = userdata;
    size_t n = size * nmemb;
    size_t have = strlen(r->headers);
    if (have + n < sizeof r->headers) {
        memcpy(r->headers + have, ptr, n);
        r->headers[have + n] = '\0';
    }
    return n;
}

int http_request(const char *method, const char *url, const char *ctype, const char *body,
                 size_t len, int chunked, http_reply *out)
{
    return http_request_with(method, url, ctype, NULL, body, len, chunked, out);
}

int http_request_with(const char *method, const char *url, const char *ctype, const char *extra,
                      const char *body, size_t len, int chunked, http_reply *out)
{
    memset(out, 0, sizeof *out);
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return -1;
    sink s = { NULL, 0 };
    struct curl_slist *headers = NULL;
    char line[256];
    if (ctype != NULL) {
        snprintf(line, sizeof line, "Content-Type: %s", ctype);
        headers = curl_slist_append(headers, line);
    } else if (body != NULL) {
        headers = curl_slist_append(headers, "Content-Type:");   /* none at all */
    }
    if (chunked)
        headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    if (extra != NULL)
        headers = curl_slist_append(headers, extra);
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        if (!chunked)
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, __atomic_load_n(&g_timeout_ms, __ATOMIC_RELAXED));
    CURLcode rc = curl_easy_perform(curl);
    out->curl_code = (int)rc;
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    out->body = s.data != NULL ? s.data : strdup("");
    out->body_len = s.len;
    return rc == CURLE_OK ? 0 : -1;
}

int http_post_sync(const char *base, const char *json, http_reply *out)
{
    char url[256];
    snprintf(url, sizeof url, "%s/api/v1/instances/sync", base);
    return http_request("POST", url, "application/json", json, strlen(json), 0, out);
}

int http_reply_header(const http_reply *r, const char *name, char *buf, size_t cap)
{
    size_t n = strlen(name);
    const char *p = r->headers;
    buf[0] = '\0';
    while (*p != '\0') {
        const char *eol = strstr(p, "\r\n");
        size_t linelen = eol != NULL ? (size_t)(eol - p) : strlen(p);
        if (linelen > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            size_t vlen = linelen - (size_t)(v - p);
            if (vlen >= cap)
                vlen = cap - 1;
            memcpy(buf, v, vlen);
            buf[vlen] = '\0';
            return 1;
        }
        p += linelen;
        if (eol != NULL)
            p += 2;
    }
    return 0;
}

void http_reply_free(http_reply *r)
{
    free(r->body);
    r->body = NULL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int http_raw(unsigned short port, const char *head, const char *body, int drip_ms,
             char *out, size_t cap)
{
    out[0] = '\0';
    int fd = http_connect_local(port);
    if (fd < 0)
        return 0;
    int ok = send(fd, head, strlen(head), MSG_NOSIGNAL) == (ssize_t)strlen(head);
    if (ok && body != NULL) {
        size_t blen = strlen(body);
        if (drip_ms <= 0) {
            ok = send(fd, body, blen, MSG_NOSIGNAL) == (ssize_t)blen;
        } else {
            for (size_t i = 0; ok && i < blen; i++) {
                ok = send(fd, body + i, 1, MSG_NOSIGNAL) == 1;
                sleep_ms(drip_ms);
            }
        }
    }
    size_t len = 0;
    for (int waited = 0; waited < 10000 && len + 1 < cap;) {
        struct pollfd p = { fd, POLLIN, 0 };
        int pr = poll(&p, 1, 100);
        if (pr == 0) {
            waited += 100;
            continue;
        }
        ssize_t n = recv(fd, out + len, cap - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        out[len] = '\0';
        const char *end = strstr(out, "\r\n\r\n");
        const char *cl = strcasestr(out, "\r\nContent-Length:");
        if (end != NULL && cl != NULL && cl < end &&
            len >= (size_t)(end + 4 - out) + strtoul(cl + 17, NULL, 10))
            break;                    /* the whole answer is in */
    }
    close(fd);
    int status = 0;
    if (sscanf(out, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    return status;
}

int http_connect_local(unsigned short port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

unsigned short http_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    unsigned short port = 0;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}
