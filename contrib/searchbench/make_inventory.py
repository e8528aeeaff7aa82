#!/usr/bin/env python3
"""Writes inventory.json: one fictional cluster ("acme", an online shop) as
the controller would push it (a sync payload), for the retrieval benchmark
(cw-search-bench). Deterministic: run it again, get the same bytes.
Only some resources carry a description annotation, as in real clusters."""
import json, sys

T = "2026-11-02T09:00:00Z"
items = []

def add(ns, kind, name, api="apps/v1", labels=None, desc=None, extra=None):
    group = api.split("/")[0] if "/" in api else ""
    ann = {}
    if desc:
        ann["description"] = desc
    if extra:
        ann.update(extra)
    items.append({
        "id": f"{ns}/{api}/{kind}/{name}", "namespace": ns, "name": name, "kind": kind,
        "apiVersion": api, "apiGroup": group, "labels": labels or {},
        "annotations": ann or None, "createdAt": T,
    })

def app(ns, name, team, desc=None, svc=True, pdb=False, cm=False, hpa=False, ingress=None,
        kind="Deployment", tier=None, svc_desc=None):
    labels = {"app": name, "team": team}
    if tier:
        labels["tier"] = tier
    add(ns, kind, name, "apps/v1", labels, desc)
    if svc:
        add(ns, "Service", name, "v1", {"app": name, "team": team}, svc_desc)
    if pdb:
        add(ns, "PodDisruptionBudget", f"{name}-pdb", "policy/v1", {"app": name})
    if cm:
        add(ns, "ConfigMap", f"{name}-config", "v1", {"app": name})
    if hpa:
        add(ns, "HorizontalPodAutoscaler", name, "autoscaling/v2", {"app": name})
    if ingress:
        add(ns, "Ingress", name, "networking.k8s.io/v1", {"app": name}, None,
            {"nginx.ingress.kubernetes.io/rewrite-target": "/"} if False else None)
        # host is in a label the controller keeps
        items[-1]["labels"]["host"] = ingress

# --- storefront (team web) ---
app("shop", "storefront-web", "web", "Customer-facing web shop frontend (Next.js)", pdb=True, cm=True, hpa=True,
    ingress="www.acme-shop.example", tier="frontend")
app("shop", "product-catalog", "web", "Product listings, prices and stock levels API", pdb=True, cm=True, hpa=True)
app("shop", "cart-service", "web", None, pdb=True, cm=True)
app("shop", "recommendations", "web", "Suggests related products using purchase history", cm=True)
app("shop", "image-resizer", "web", None)
app("shop", "reviews-api", "web", "Stores and serves customer product reviews and star ratings")
app("shop", "wishlist", "web", None)
app("shop", "sitemap-generator", "web", None, svc=False)
# --- checkout & payments (team payments) ---
app("payments", "checkout-api", "payments", "Orchestrates checkout: validates cart, reserves stock, takes payment",
    pdb=True, cm=True, hpa=True, ingress="checkout.acme-shop.example")
app("payments", "payment-gateway", "payments", "Talks to Stripe and Adyen to authorize and capture card payments",
    pdb=True, cm=True)
app("payments", "fraud-detector", "payments", "Scores transactions for fraud risk with an ML model", cm=True)
app("payments", "refund-worker", "payments", None, svc=False)
app("payments", "ledger", "payments", "Double-entry bookkeeping of every money movement", pdb=True)
app("payments", "currency-rates", "payments", None, cm=True)
# --- orders & fulfilment (team fulfilment) ---
app("orders", "order-service", "fulfilment", "Creates and tracks customer orders through their lifecycle",
    pdb=True, cm=True, hpa=True)
app("orders", "shipping-calculator", "fulfilment", None, cm=True)
app("orders", "warehouse-sync", "fulfilment", "Pushes stock reservations to the warehouse management system")
app("orders", "label-printer", "fulfilment", None)
app("orders", "returns-portal", "fulfilment", "Lets customers request returns and print return labels",
    ingress="returns.acme-shop.example")
app("orders", "delivery-tracker", "fulfilment", None)
# --- identity (team identity) ---
app("identity", "auth-server", "identity", "OAuth2 / OpenID Connect login and token issuing (Keycloak)",
    pdb=True, cm=True, hpa=True, ingress="login.acme-shop.example")
app("identity", "user-profile", "identity", None, pdb=True)
app("identity", "session-store", "identity", None)
app("identity", "mfa-service", "identity", "One-time passwords and WebAuthn second factor")
app("identity", "password-reset", "identity", None)
# --- search (team discovery) ---
app("search", "search-api", "discovery", "Full-text product search over the catalog index", pdb=True, cm=True,
    hpa=True, ingress="search.acme-shop.example")
app("search", "indexer", "discovery", None, cm=True)
app("search", "autocomplete", "discovery", None)
app("search", "synonyms-loader", "discovery", None, svc=False)
# --- notifications (team engagement) ---
app("notify", "email-sender", "engagement", "Sends transactional emails (order confirmations, receipts) via SES",
    cm=True)
app("notify", "sms-gateway", "engagement", None)
app("notify", "push-notifications", "engagement", None)
app("notify", "newsletter", "engagement", "Marketing campaigns and subscriber lists")
app("notify", "template-renderer", "engagement", None)
# --- data stores (team data) ---
def db(ns, name, team, desc, extra_labels=None, svc=True, pdb=True):
    labels = {"app": name, "team": team}
    labels.update(extra_labels or {})
    add(ns, "StatefulSet", name, "apps/v1", labels, desc)
    if svc:
        add(ns, "Service", name, "v1", {"app": name, "team": team})
    if pdb:
        add(ns, "PodDisruptionBudget", f"{name}-pdb", "policy/v1", {"app": name})
    add(ns, "ConfigMap", f"{name}-config", "v1", {"app": name})

db("data", "orders-postgres", "data", "Primary PostgreSQL 16 cluster for orders and payments (Patroni)")
db("data", "catalog-mongodb", "data", None, {"app.kubernetes.io/name": "mongodb"})
db("data", "redis-cache", "data", "In-memory cache for sessions and carts", {"app.kubernetes.io/name": "redis"})
db("data", "legacy-mysql", "data", None, {"app.kubernetes.io/name": "mysql"})
db("data", "analytics-clickhouse", "data", "Column store for clickstream analytics")
db("search", "elasticsearch", "discovery", None, {"app.kubernetes.io/name": "elasticsearch"})
db("messaging", "kafka", "platform", "Event streaming backbone (Strimzi)")
db("messaging", "zookeeper", "platform", None)
db("messaging", "rabbitmq", "platform", None)
db("ml", "feature-store-cassandra", "ml", None, {"app.kubernetes.io/name": "cassandra"})
db("monitoring", "prometheus", "sre", "Metrics collection and alert rule evaluation", svc=True)
db("monitoring", "alertmanager", "sre", None)
db("logging", "loki", "sre", None)
db("identity", "keycloak-postgres", "identity", None, {"app.kubernetes.io/name": "postgresql"})
db("data", "minio", "data", "S3-compatible object storage for product images and exports")
# --- ml (team ml) ---
app("ml", "model-server", "ml", "Serves the recommendation and fraud models over gRPC (Triton)",
    pdb=True, hpa=True)
app("ml", "training-scheduler", "ml", None, svc=False)
app("ml", "notebook-hub", "ml", "JupyterHub for data scientists", ingress="notebooks.acme-internal.example")
# --- platform / observability ---
app("monitoring", "grafana", "sre", "Dashboards for metrics and logs", ingress="grafana.acme-internal.example",
    cm=True)
app("monitoring", "blackbox-exporter", "sre", None, cm=True)
app("monitoring", "kube-state-metrics", "sre", None)
app("logging", "fluent-bit", "sre", "Ships container logs to Loki", kind="DaemonSet", svc=False, cm=True)
app("monitoring", "node-exporter", "sre", None, kind="DaemonSet")
app("ingress-nginx", "ingress-nginx-controller", "platform", "Routes external HTTP(S) traffic into the cluster",
    pdb=True, cm=True, hpa=True)
app("cert-manager", "cert-manager", "platform", None, cm=False)
app("cert-manager", "cert-manager-webhook", "platform", None)
app("platform", "argocd-server", "platform", "GitOps continuous delivery UI and API",
    ingress="argocd.acme-internal.example")
app("platform", "argocd-repo-server", "platform", None)
app("platform", "external-dns", "platform", "Publishes Ingress hostnames to Route53", svc=False)
app("platform", "sealed-secrets-controller", "platform", None)
app("platform", "vault", "platform", "Secrets management and dynamic database credentials", kind="StatefulSet",
    pdb=True)
app("platform", "docker-registry-mirror", "platform", None)
app("kube-system", "coredns", "platform", None, pdb=True)
app("kube-system", "metrics-server", "platform", None)
app("kube-system", "cluster-autoscaler", "platform", "Adds and removes nodes when pods cannot be scheduled",
    svc=False)
app("kube-system", "kube-proxy", "platform", None, kind="DaemonSet", svc=False)
app("kube-system", "calico-node", "platform", None, kind="DaemonSet", svc=False)
app("default", "hello-world", "platform", None)
app("default", "debug-toolbox", "sre", None, svc=False)
app("messaging", "kafka-ui", "platform", None, ingress="kafka.acme-internal.example")
app("messaging", "schema-registry", "platform", "Avro schemas for Kafka topics")

# --- CronJobs ---
def cron(ns, name, team, desc=None):
    add(ns, "CronJob", name, "batch/v1", {"app": name, "team": team}, desc)

cron("data", "postgres-backup", "data", "Nightly pg_dump of the orders database to S3")
cron("data", "mongodb-backup", "data", None)
cron("payments", "invoice-generator", "payments", "Builds monthly PDF invoices for business customers")
cron("payments", "settlement-report", "payments", None)
cron("shop", "cache-warmer", "web", None)
cron("shop", "stale-cart-cleanup", "web", "Deletes abandoned carts older than 30 days")
cron("shop", "sitemap-builder", "web", None)
cron("search", "reindex-catalog", "discovery", "Rebuilds the product search index from scratch every night")
cron("notify", "digest-mailer", "engagement", None)
cron("logging", "log-retention", "sre", "Drops log chunks older than 14 days")
cron("cert-manager", "cert-expiry-check", "platform", None)
cron("ml", "retrain-recommender", "ml", "Weekly retraining of the recommendation model")
cron("orders", "carrier-status-poll", "fulfilment", None)
cron("identity", "inactive-user-purge", "identity", "GDPR: deletes accounts inactive for 3 years")

# --- Certificates and issuers (cert-manager CRDs) ---
for ns, name, host in [("shop", "storefront-tls", "www.acme-shop.example"),
                       ("payments", "checkout-tls", "checkout.acme-shop.example"),
                       ("identity", "login-tls", "login.acme-shop.example"),
                       ("search", "search-tls", "search.acme-shop.example"),
                       ("orders", "returns-tls", "returns.acme-shop.example"),
                       ("monitoring", "grafana-tls", "grafana.acme-internal.example"),
                       ("platform", "argocd-tls", "argocd.acme-internal.example"),
                       ("ml", "notebooks-tls", "notebooks.acme-internal.example"),
                       ("messaging", "kafka-ui-tls", "kafka.acme-internal.example")]:
    add(ns, "Certificate", name, "cert-manager.io/v1", {"host": host})
add("_cluster", "ClusterIssuer", "letsencrypt-prod", "cert-manager.io/v1", {},
    "ACME issuer for public hostnames")
add("_cluster", "ClusterIssuer", "internal-ca", "cert-manager.io/v1", {})
# --- Kafka topics (Strimzi CRD) ---
for t, d in [("orders.created", "One event per placed order"), ("payments.captured", None),
             ("inventory.changed", None), ("clickstream", "Raw page views from the storefront"),
             ("emails.outbox", None)]:
    add("messaging", "KafkaTopic", t, "kafka.strimzi.io/v1beta2", {"strimzi.io/cluster": "kafka"}, d)
# --- ServiceMonitors (Prometheus operator CRD) ---
for ns, name in [("payments", "checkout-api"), ("shop", "storefront-web"), ("orders", "order-service"),
                 ("data", "orders-postgres"), ("messaging", "kafka")]:
    add(ns, "ServiceMonitor", name, "monitoring.coreos.com/v1", {"release": "prometheus"})
# --- NetworkPolicies ---
for ns in ["payments", "data", "identity"]:
    add(ns, "NetworkPolicy", "default-deny", "networking.k8s.io/v1", {})
add("data", "NetworkPolicy", "allow-postgres-from-orders", "networking.k8s.io/v1", {},
    "Only order-service and checkout-api may reach PostgreSQL")
# --- Namespaces ---
for ns in ["shop", "payments", "orders", "identity", "search", "notify", "data", "messaging", "ml",
           "monitoring", "logging", "ingress-nginx", "cert-manager", "platform"]:
    add("_cluster", "Namespace", ns, "v1", {"kubernetes.io/metadata.name": ns})
# --- PVC / misc ---
add("ml", "PersistentVolumeClaim", "training-data", "v1", {"app": "training-scheduler"},
    "2 TiB of labelled images for model training")
add("shop", "Secret", "storefront-env", "v1", {"app": "storefront-web"})

ids = [i["id"] for i in items]
assert len(ids) == len(set(ids)), "duplicate ids"
json.dump({"upserts": items, "deletes": None}, sys.stdout, indent=1, sort_keys=False)
sys.stdout.write("\n")
sys.stderr.write(f"{len(items)} resources\n")
