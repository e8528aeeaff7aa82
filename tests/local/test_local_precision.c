/* The local embedder's precisions and compute budget, with the installed
 * model:
 *  - bf16 and int8 against fp32: cosine >= 0.999 (bf16) and >= 0.995 (int8)
 *    for every text of reference_texts.json and 240 generated resource
 *    texts (kinds, names, namespaces, labels, descriptions); int8 measured
 *    with per-token and per-tensor activation scales (per token is used);
 *  - "which databases are running" ranks the postgres StatefulSet first in
 *    every precision;
 *  - fallback: --embed-precision fp32 (the option) and a CPU whose features
 *    are hidden (CW_EMBED_CPU_FEATURES=none) give fp32;
 *  - the thread budget: between calls no thread of the process uses CPU
 *    (/proc/self/task/N/stat utime+stime sampled 1 s apart).
 * CW_TEST_LOCAL_PRECISIONS (default "bf16 int8") lists the oneDNN modes to
 * hold against fp32; contrib/test.sh empties it under valgrind, which
 * neither runs AVX-512 nor copes quickly with oneDNN's JIT code. A mode
 * oneDNN has no implementation of on this CPU is reported and skipped. */
#include <dirent.h>
#include <json-c/json.h>
#include <math.h>
#include <unistd.h>

#include "local_test.h"

#define DIM LT_DIM
#define NGEN 240

static const char *precisions_under_test(void)
{
    const char *p = getenv("CW_TEST_LOCAL_PRECISIONS");
    return p != NULL ? p : "bf16 int8";
}

static cw_embedder *open_prec(cw_local_precision p, int per_tensor, cw_error *err)
{
    cw_local_options o = { .precision = p, .int8_per_tensor = per_tensor };
    cw_error_clear(err);
    return cw_embedder_local_create(lt_model_dir(), &o, err);
}

/* The texts: reference_texts.json, then NGEN generated resource texts in
 * the stored document's shape (cw_document). *n receives the count. */
static char **corpus(size_t *n)
{
    static const char *const kinds[][2] = {
        { "Deployment", "apps/v1" }, { "StatefulSet", "apps/v1" }, { "Service", "v1" },
        { "ConfigMap", "v1" }, { "CronJob", "batch/v1" }, { "Ingress", "networking.k8s.io/v1" },
        { "DaemonSet", "apps/v1" }, { "Cluster", "postgresql.cnpg.io/v1" },
        { "Namespace", "v1" }, { "PersistentVolumeClaim", "v1" },
    };
    static const char *const apps[] = { "payments-api", "postgres", "nginx-ingress", "redis-cache",
                                        "kafka-broker", "grafana", "checkout-web", "fluent-bit",
                                        "elasticsearch", "auth-service", "mongodb", "rabbitmq" };
    static const char *const nss[] = { "prod-eu", "db", "web", "cache", "streaming",
                                       "monitoring", "default", "kube-system" };
    static const char *const descs[] = {
        "Handles card payments for the shop",
        "Primary PostgreSQL database with two streaming replicas",
        "Nightly backup of the orders database to object storage",
        "Collects container logs and ships them to Elasticsearch",
        "Session tokens for every other service",
        "",
    };
    char path[1200];
    snprintf(path, sizeof path, "%s/tests/local/reference_texts.json",
             getenv("CW_SOURCE_DIR") != NULL ? getenv("CW_SOURCE_DIR") : ".");
    json_object *root = json_object_from_file(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    json_object *jt = json_object_object_get(root, "texts");
    CU_ASSERT_PTR_NOT_NULL_FATAL(jt);
    size_t nref = json_object_array_length(jt);
    char **t = calloc(nref + NGEN, sizeof *t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    for (size_t i = 0; i < nref; i++)
        t[i] = strdup(json_object_get_string(json_object_array_get_idx(jt, i)));
    json_object_put(root);
    for (size_t i = 0; i < NGEN; i++) {
        const char *const *k = kinds[i % 10];
        const char *app = apps[(i * 7 + i / 10) % 12];
        const char *ns = nss[(i * 5 + i / 3) % 8];
        const char *d = descs[(i * 3 + i / 7) % 6];
        char buf[512];
        int len = snprintf(buf, sizeof buf, "%s %s-%zu | namespace: %s | apiVersion: %s", k[0], app,
                           i, ns, k[1]);
        if (i % 4 != 3)
            len += snprintf(buf + len, sizeof buf - (size_t)len,
                            " | labels: app.kubernetes.io/name=%s, app.kubernetes.io/part-of=%s%s",
                            app, ns, i % 2 ? ", app.kubernetes.io/managed-by=Helm, tier=backend" : "");
        if (d[0] != '\0')
            snprintf(buf + len, sizeof buf - (size_t)len, " | %s", d);
        t[nref + i] = strdup(buf);
    }
    *n = nref + NGEN;
    return t;
}

static void corpus_free(char **t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i]);
    free(t);
}

/* Min cosine of precision p (int8: per_tensor) against fp32 over the
 * corpus; -1 when oneDNN has no such matmul here. */
static double min_cosine(cw_local_precision p, int per_tensor, const float *want,
                         const char *const *texts, size_t n)
{
    cw_error err;
    cw_embedder *e = open_prec(p, per_tensor, &err);
    if (e == NULL) {
        fprintf(stderr, "[%s]", err.msg);
        CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
        return -1.0;
    }
    fprintf(stderr, "[%s] ", cw_embedder_local_describe(e));
    float *got = lt_embed_all(e, texts, n);
    double m = 2.0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        double c = lt_dot(got + i * DIM, want + i * DIM);
        if (c < m) {
            m = c;
            worst = i;
        }
    }
    fprintf(stderr, "[min cosine %.5f over %zu texts, worst \"%.40s\"] ", m, n, texts[worst]);
    free(got);
    cw_embedder_destroy(e);
    return m;
}

static void test_precision_cosine(void)
{
    const char *modes = precisions_under_test();
    if (strstr(modes, "bf16") == NULL && strstr(modes, "int8") == NULL) {
        fprintf(stderr, "[no oneDNN modes under test: CW_TEST_LOCAL_PRECISIONS='%s'] ", modes);
        return;
    }
    size_t n = 0;
    char **texts = corpus(&n);
    CU_ASSERT_FATAL(n >= 200 + 20);
    cw_error err;
    cw_embedder *ref = open_prec(CW_LOCAL_FP32, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
    float *want = lt_embed_all(ref, (const char *const *)texts, n);
    cw_embedder_destroy(ref);
    if (strstr(modes, "bf16") != NULL) {
        double m = min_cosine(CW_LOCAL_BF16, 0, want, (const char *const *)texts, n);
        if (m >= -0.5)
            CU_ASSERT(m >= 0.999);
    }
    if (strstr(modes, "int8") != NULL) {
        double m = min_cosine(CW_LOCAL_INT8, 0, want, (const char *const *)texts, n);
        if (m >= -0.5)
            CU_ASSERT(m >= 0.995);
        /* Measured, not required: one scale for the whole activation matrix. */
        fprintf(stderr, "[per-tensor:] ");
        (void)min_cosine(CW_LOCAL_INT8, 1, want, (const char *const *)texts, n);
    }
    free(want);
    corpus_free(texts, n);
}

static const char *const k8s_docs[] = {
    "StatefulSet postgres | namespace: db | apiVersion: apps/v1 | labels: app=postgres",
    "Service nginx | namespace: web | apiVersion: v1 | labels: app=nginx",
    "ConfigMap app-settings | namespace: default | apiVersion: v1",
};

/* The ranking of test_local_embed, in every precision under test. */
static void test_precision_ranking(void)
{
    const char *modes = precisions_under_test();
    static const cw_local_precision ps[] = { CW_LOCAL_BF16, CW_LOCAL_INT8, CW_LOCAL_AUTO };
    static const char *const names[] = { "bf16", "int8", "auto" };
    for (size_t i = 0; i < 3; i++) {
        if (strstr(modes, names[i]) == NULL && ps[i] != CW_LOCAL_AUTO)
            continue;
        if (ps[i] == CW_LOCAL_AUTO && strstr(modes, "int8") == NULL && strstr(modes, "bf16") == NULL)
            continue;
        cw_error err;
        cw_embedder *e = open_prec(ps[i], 0, &err);
        if (e == NULL) {
            fprintf(stderr, "[%s: %s] ", names[i], err.msg);
            continue;
        }
        float *docs = lt_embed_all(e, k8s_docs, 3);
        float q[DIM];
        const char *query = "which databases are running";
        cw_error_clear(&err);
        CU_ASSERT_EQUAL_FATAL(cw_embedder_embed(e, &query, 1, CW_EMBED_QUERY, q, &err), 0);
        double pg = lt_dot(q, docs), web = lt_dot(q, docs + DIM), cm = lt_dot(q, docs + 2 * DIM);
        fprintf(stderr, "[%s: postgres %.3f nginx %.3f configmap %.3f] ", names[i], pg, web, cm);
        CU_ASSERT(pg > web);
        CU_ASSERT(pg > cm);
        free(docs);
        cw_embedder_destroy(e);
    }
}

static void test_precision_parse(void)
{
    cw_local_precision p = CW_LOCAL_INT8;
    CU_ASSERT_EQUAL(cw_local_precision_parse("auto", &p), 0);
    CU_ASSERT_EQUAL(p, CW_LOCAL_AUTO);
    CU_ASSERT_EQUAL(cw_local_precision_parse("fp32", &p), 0);
    CU_ASSERT_EQUAL(p, CW_LOCAL_FP32);
    CU_ASSERT_EQUAL(cw_local_precision_parse("bf16", &p), 0);
    CU_ASSERT_EQUAL(p, CW_LOCAL_BF16);
    CU_ASSERT_EQUAL(cw_local_precision_parse("int8", &p), 0);
    CU_ASSERT_EQUAL(p, CW_LOCAL_INT8);
    CU_ASSERT_EQUAL(cw_local_precision_parse("fp16", &p), -1);
    CU_ASSERT_EQUAL(cw_local_precision_parse("", &p), -1);
    CU_ASSERT_EQUAL(cw_local_precision_parse(NULL, &p), -1);
}

/* fp32 by the option (on oneDNN's f32 JIT where the CPU has AVX2, else
 * OpenBLAS), and by hiding the CPU's features from `auto` (OpenBLAS): the
 * two fp32 implementations give the same vectors. */
static void test_fallback(void)
{
    cw_error err;
    cw_embedder *e = open_prec(CW_LOCAL_FP32, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(cw_embedder_local_precision(e), CW_LOCAL_FP32);
    const char *d = cw_embedder_local_describe(e);
    fprintf(stderr, "[fp32: %s] ", d);
    CU_ASSERT(strncmp(d, "fp32 (asked; ", 13) == 0);
    /* oneDNN's JIT unless the CPU lacks AVX2 or the environment hides it
     * (contrib/test.sh's valgrind stage does). */
    __builtin_cpu_init();
    const char *feat = getenv("CW_EMBED_CPU_FEATURES");
    int want_jit = __builtin_cpu_supports("avx2") && (feat == NULL || strstr(feat, "jit") != NULL);
    CU_ASSERT_EQUAL(strstr(d, "openblas") == NULL, want_jit);
    float *jit = lt_embed_all(e, k8s_docs, 3);
    cw_embedder_destroy(e);

    const char *saved = getenv("CW_EMBED_CPU_FEATURES");
    char *keep = saved != NULL ? strdup(saved) : NULL;
    setenv("CW_EMBED_CPU_FEATURES", "none", 1);
    CU_ASSERT_EQUAL(cw_local_precision_auto(), CW_LOCAL_FP32);
    e = open_prec(CW_LOCAL_AUTO, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    fprintf(stderr, "[features hidden: %s] ", cw_embedder_local_describe(e));
    CU_ASSERT_EQUAL(cw_embedder_local_precision(e), CW_LOCAL_FP32);
    CU_ASSERT(strncmp(cw_embedder_local_describe(e), "fp32 (auto; openblas ", 21) == 0);
    float *v = lt_embed_all(e, k8s_docs, 3);
    CU_ASSERT_DOUBLE_EQUAL(lt_dot(v, v), 1.0, 1e-5);
    for (size_t i = 0; i < 3; i++)
        CU_ASSERT(lt_dot(jit + i * DIM, v + i * DIM) >= 0.99999);
    free(v);
    free(jit);
    cw_embedder_destroy(e);
    /* Keeping only vnni: auto is int8 exactly when this CPU has VNNI. */
    setenv("CW_EMBED_CPU_FEATURES", "vnni", 1);
    cw_local_precision only_vnni = cw_local_precision_auto();
    CU_ASSERT(only_vnni == CW_LOCAL_INT8 || only_vnni == CW_LOCAL_FP32);
    if (keep != NULL)
        setenv("CW_EMBED_CPU_FEATURES", keep, 1);
    else
        unsetenv("CW_EMBED_CPU_FEATURES");
    free(keep);
    fprintf(stderr, "[auto here: %s] ", cw_local_precision_auto() == CW_LOCAL_INT8   ? "int8"
                                        : cw_local_precision_auto() == CW_LOCAL_BF16 ? "bf16"
                                                                                     : "fp32");
}

/* Clock ticks of CPU (user + system) each thread of this process has used;
 * tid[i], ticks[i] for at most cap threads. Returns the count. */
static size_t thread_ticks(long *tid, unsigned long long *ticks, size_t cap)
{
    DIR *d = opendir("/proc/self/task");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < cap) {
        if (de->d_name[0] == '.')
            continue;
        char path[300], buf[1024];
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", de->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;   /* the thread ended */
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        /* Fields after the ")" closing comm: state is field 3, utime 14, stime 15. */
        const char *p = strrchr(buf, ')');
        if (p == NULL)
            continue;
        unsigned long long ut = 0, st = 0;
        if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
            continue;
        tid[n] = strtol(de->d_name, NULL, 10);
        ticks[n] = ut + st;
        n++;
    }
    closedir(d);
    return n;
}

/* After calls in the default (auto) precision and in fp32, every thread
 * of the process is idle: no BLAS or OpenMP thread spins between calls. */
static void test_idle_threads(void)
{
    cw_error err;
    cw_embedder *e = open_prec(CW_LOCAL_AUTO, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    cw_embedder *e32 = open_prec(CW_LOCAL_FP32, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e32);
    for (int i = 0; i < 2; i++) {
        free(lt_embed_all(e, k8s_docs, 3));
        free(lt_embed_all(e32, k8s_docs, 3));
    }
    enum { CAP = 256 };
    long tid0[CAP], tid1[CAP];
    unsigned long long t0[CAP], t1[CAP];
    usleep(100 * 1000);   /* past any spin-then-sleep of a pool */
    size_t n0 = thread_ticks(tid0, t0, CAP);
    sleep(1);
    size_t n1 = thread_ticks(tid1, t1, CAP);
    size_t busy = 0;
    for (size_t i = 0; i < n1; i++) {
        for (size_t j = 0; j < n0; j++) {
            /* The main thread is this test (reading /proc costs it a tick
             * now and then, several under valgrind): not counted. More than
             * 1 tick (10 ms) in 1 s is a thread burning CPU. */
            if (tid1[i] == tid0[j] && tid1[i] != (long)getpid() && t1[i] - t0[j] > 1) {
                fprintf(stderr, "\nthread %ld used %llu ticks while idle\n", tid1[i],
                        t1[i] - t0[j]);
                busy++;
            }
        }
    }
    fprintf(stderr, "[%zu threads, %zu busy while idle] ", n1, busy);
    CU_ASSERT_EQUAL(busy, 0);
    cw_embedder_destroy(e);
    cw_embedder_destroy(e32);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "bf16 >= 0.999, int8 >= 0.995 cosine vs fp32", test_precision_cosine },
        { "database query ranks postgres first in every precision", test_precision_ranking },
        { "--embed-precision names", test_precision_parse },
        { "fp32 by option and with the CPU features hidden", test_fallback },
        { "no thread burns CPU between calls", test_idle_threads },
        CU_TEST_INFO_NULL,
    };
    return cw_test_run("local_precision", tests);
}
