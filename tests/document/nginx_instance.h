/* The reference's nginx Deployment (DESIGN §4) as an instance, shared by
 * test_document (its document of no cluster) and test_cluster (the same
 * instance in a cluster). Header-only: each test executable has its copy. */
#ifndef CW_TEST_NGINX_INSTANCE_H
#define CW_TEST_NGINX_INSTANCE_H

#include "document.h"

static cw_str_pair nginx_labels[] = { { "app", "nginx" }, { "tier", "frontend" } };
static cw_str_pair nginx_annotations[] = { { "description", "Main web server" } };

static inline cw_resource_instance nginx(void)
{
    cw_resource_instance in = {
        .id = "default/apps/v1/Deployment/nginx",
        .namespace = "default",
        .name = "nginx",
        .kind = "Deployment",
        .api_version = "apps/v1",
        .api_group = "apps",
        .labels = { nginx_labels, 2 },
        .annotations = { nginx_annotations, 1 },
        .created_at = "2026-01-01T00:00:00Z",
    };
    return in;
}

#endif
