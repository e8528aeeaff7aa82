/* cw_http_metrics — request counters and the Prometheus text of /metrics.
 *
 * Counted here: requests by route and status code, request body sizes (a
 * histogram, sync route only). Read from the pipeline at scrape time:
 * queue depth, batches, embed calls/inputs/latency, store latency.
 *
 * Thread-safety: one mutex guards every counter; connection threads of
 * both listeners record concurrently.
 */
#ifndef CW_HTTP_METRICS_H
#define CW_HTTP_METRICS_H

#include <stddef.h>

#include "pipeline.h"
#include "routes.h"

typedef struct cw_http_metrics cw_http_metrics;

/* NULL when out of memory. */
cw_http_metrics *cw_http_metrics_create(void);
void cw_http_metrics_destroy(cw_http_metrics *m);   /* NULL-safe */

/* One answered request. */
void cw_http_metrics_count(cw_http_metrics *m, cw_http_route route, unsigned status);

/* One received sync body of `bytes` bytes. */
void cw_http_metrics_body(cw_http_metrics *m, size_t bytes);

/* The Prometheus text exposition (format 0.0.4), malloc'd; NULL on OOM.
 * `in_flight` is the server's gauge of requests in flight. `pipeline` may
 * be NULL (its series are then left out). */
char *cw_http_metrics_render(cw_http_metrics *m, size_t in_flight, cw_pipeline *pipeline);

#endif
