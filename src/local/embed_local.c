/* cw_embedder_local — see embed_local.h. */
#define _GNU_SOURCE   /* pthread_setname_np */
#include "embed_local.h"

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bert.h"
#include "wordpiece.h"

/* Tokens one forward pass packs at most (bounds the scratch memory). */
#define LOCAL_PASS_TOKENS 2048

typedef struct local_embedder {
    cw_embedder base;          /* must stay first: the vtable casts */
    cw_wordpiece *wp;          /* read-only after create */
    cw_bert *bert;             /* read-only after create */
    size_t max_tokens;         /* per text, <= the model's positions */
    char model[128];           /* name shown as base.model */
    pthread_mutex_t lock;      /* guards free_slots */
    pthread_cond_t slot_freed; /* signalled when free_slots grows */
    size_t free_slots;         /* compute slots not in use (<= threads) */
    int sync_ready;            /* lock and cond initialised */
    cw_local_precision precision;   /* never AUTO */
    char describe[160];
} local_embedder;

/* One share of a call: texts [first, first + count) computed by one thread. */
typedef struct local_job {
    const local_embedder *le;
    const int32_t *ids;        /* tokens of text `first` onwards, back to back */
    const size_t *lens;        /* lens[first...] */
    size_t count;
    float *out;                /* out rows of these texts */
    cw_error err;
    pthread_t thread;
    int started;
} local_job;

const char *cw_local_default_model_dir(char *buf, size_t cap)
{
    const char *dir = getenv("CW_MODEL_DIR");
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    if (cap == 0)
        return buf;
    if (dir != NULL && dir[0] != '\0')
        snprintf(buf, cap, "%s", dir);
    else if (xdg != NULL && xdg[0] != '\0')
        snprintf(buf, cap, "%s/cluster-whisperer/all-MiniLM-L6-v2", xdg);
    else
        snprintf(buf, cap, "%s/.local/share/cluster-whisperer/all-MiniLM-L6-v2",
                 home != NULL && home[0] != '\0' ? home : ".");
    return buf;
}

/* Mean of the token rows h[len x dim], L2-normalised, into v[dim]. */
static void local_pool(const float *h, size_t len, size_t dim, float *v)
{
    for (size_t k = 0; k < dim; k++)
        v[k] = 0.0f;
    for (size_t t = 0; t < len; t++) {
        const float *row = h + t * dim;
        for (size_t k = 0; k < dim; k++)
            v[k] += row[k];
    }
    double norm = 0.0;
    for (size_t k = 0; k < dim; k++) {
        v[k] /= (float)len;
        norm += (double)v[k] * v[k];
    }
    float inv = norm > 0.0 ? (float)(1.0 / sqrt(norm)) : 0.0f;
    for (size_t k = 0; k < dim; k++)
        v[k] *= inv;
}

/* Compute one job: passes of at most LOCAL_PASS_TOKENS tokens (a longer
 * single text gets its own pass). Returns 0 or -1 with job->err set. */
static int local_job_run(local_job *job)
{
    const cw_bert_config *c = cw_bert_get_config(job->le->bert);
    size_t dim = c->hidden;
    size_t done = 0;
    const int32_t *ids = job->ids;
    int rc = -1;
    float *scratch = NULL, *hidden = NULL;
    cw_dense_ctx *ctx = NULL;
    /* Pass size: LOCAL_PASS_TOKENS (or one longest text), but no more than
     * this job needs, so a short query allocates little. */
    size_t cap = LOCAL_PASS_TOKENS > job->le->max_tokens ? LOCAL_PASS_TOKENS : job->le->max_tokens;
    size_t job_tokens = 0, max_len = 0;
    for (size_t i = 0; i < job->count; i++) {
        job_tokens += job->lens[i];
        max_len = job->lens[i] > max_len ? job->lens[i] : max_len;
    }
    cap = job_tokens < cap ? job_tokens : cap;
    scratch = malloc(cw_bert_scratch_floats(job->le->bert, cap, max_len) * sizeof *scratch);
    hidden = malloc(cap * dim * sizeof *hidden);
    if (scratch == NULL || hidden == NULL) {
        cw_error_set(&job->err, CW_E_NOMEM, "local embedder: out of memory for %zu tokens", cap);
        goto out;
    }
    ctx = cw_bert_ctx_create(job->le->bert, cap > max_len ? cap : max_len, &job->err);
    if (ctx == NULL)
        goto out;
    while (done < job->count) {
        size_t n = 0, tokens = 0;
        while (done + n < job->count && (n == 0 || tokens + job->lens[done + n] <= cap)) {
            tokens += job->lens[done + n];
            n++;
        }
        if (cw_bert_forward(job->le->bert, ids, job->lens + done, n, scratch, ctx, hidden,
                            &job->err) != 0)
            goto out;
        const float *h = hidden;
        for (size_t i = 0; i < n; i++) {
            local_pool(h, job->lens[done + i], dim, job->out + (done + i) * dim);
            h += job->lens[done + i] * dim;
        }
        ids += tokens;
        done += n;
    }
    rc = 0;
out:
    cw_dense_ctx_destroy(ctx);
    free(scratch);
    free(hidden);
    return rc;
}

static void *local_job_thread(void *arg)
{
    local_job *job = arg;
    pthread_setname_np(pthread_self(), "cw-compute");
    (void)local_job_run(job);   /* the error stays in job->err */
    return NULL;
}

/* Take one slot (waiting), then up to want - 1 more if free. Returns the
 * number taken (>= 1). */
static size_t local_slots_take(local_embedder *le, size_t want)
{
    pthread_mutex_lock(&le->lock);
    while (le->free_slots == 0)
        pthread_cond_wait(&le->slot_freed, &le->lock);
    size_t got = want < le->free_slots ? want : le->free_slots;
    got = got > 0 ? got : 1;
    le->free_slots -= got;
    pthread_mutex_unlock(&le->lock);
    return got;
}

static void local_slots_give(local_embedder *le, size_t n)
{
    pthread_mutex_lock(&le->lock);
    le->free_slots += n;
    pthread_cond_broadcast(&le->slot_freed);
    pthread_mutex_unlock(&le->lock);
}

/* Run texts over `g` jobs balanced by token count; job 0 runs on this
 * thread, the others on helper threads started for this call. */
static int local_compute(local_embedder *le, const int32_t *ids, const size_t *lens, size_t n,
                         size_t total, size_t g, float *out, cw_error *err)
{
    size_t dim = le->base.dim;
    local_job *jobs = calloc(g, sizeof *jobs);   /* heap: callers may have small stacks */
    if (jobs == NULL)
        return cw_error_set(err, CW_E_NOMEM, "local embedder: out of memory");
    /* Contiguous shares: job j ends near total * (j + 1) / g tokens. */
    size_t first = 0, tok_before = 0, used = 0;
    const int32_t *p = ids;
    for (size_t j = 0; j < g && first < n; j++) {
        size_t target = total * (j + 1) / g;
        size_t count = 0, tokens = 0;
        while (first + count < n) {
            size_t next = lens[first + count];
            int last_job = j + 1 == g;
            if (count > 0 && !last_job && tok_before + tokens + next / 2 > target)
                break;
            tokens += next;
            count++;
        }
        jobs[j] = (local_job){ .le = le, .ids = p, .lens = lens + first, .count = count,
                               .out = out + first * dim };
        p += tokens;
        tok_before += tokens;
        first += count;
        used = j + 1;
    }
    for (size_t j = 1; j < used; j++) {
        if (pthread_create(&jobs[j].thread, NULL, local_job_thread, &jobs[j]) == 0)
            jobs[j].started = 1;
    }
    (void)local_job_run(&jobs[0]);   /* errors are collected below */
    for (size_t j = 1; j < used; j++) {
        if (jobs[j].started)
            pthread_join(jobs[j].thread, NULL);
        else
            (void)local_job_run(&jobs[j]);   /* no thread: run it here */
    }
    int rc = 0;
    for (size_t j = 0; j < used; j++) {
        if (jobs[j].err.code != CW_OK) {
            cw_error_copy(err, &jobs[j].err);
            rc = -1;
        }
    }
    free(jobs);
    return rc;
}

static int local_embed(cw_embedder *self, const char *const *texts, size_t n,
                       cw_embed_purpose purpose, float *out, cw_error *err)
{
    local_embedder *le = (local_embedder *)self;
    int rc = -1;
    int32_t *ids = NULL;
    size_t *lens = NULL;
    (void)purpose;
    if (n == 0)
        return 0;
    ids = malloc(n * le->max_tokens * sizeof *ids);
    lens = malloc(n * sizeof *lens);
    if (ids == NULL || lens == NULL) {
        cw_error_set(err, CW_E_NOMEM, "local embedder: out of memory for %zu texts", n);
        goto out;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const char *t = texts[i] != NULL ? texts[i] : "";
        if (cw_wordpiece_encode(le->wp, t, strlen(t), ids + total, le->max_tokens, &lens[i], err)
            != 0)
            goto out;
        total += lens[i];
    }
    size_t g = local_slots_take(le, n);
    rc = local_compute(le, ids, lens, n, total, g, out, err);
    local_slots_give(le, g);
out:
    free(ids);
    free(lens);
    return rc;
}

static void local_destroy(cw_embedder *self)
{
    local_embedder *le = (local_embedder *)self;
    if (le == NULL)
        return;
    cw_wordpiece_destroy(le->wp);
    cw_bert_destroy(le->bert);
    if (le->sync_ready) {
        pthread_mutex_destroy(&le->lock);
        pthread_cond_destroy(&le->slot_freed);
    }
    free(le);
}

static const cw_embedder_vtable local_vtable = {
    .embed = local_embed,
    .destroy = local_destroy,
};

static int local_file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Wrap a load error into the one-line startup message. */
static void local_fail(cw_error *err, const cw_error *inner)
{
    cw_error_set(err, inner->code == CW_E_NOMEM ? CW_E_NOMEM : CW_E_CONFIG,
                 "local embedding model: %s; run contrib/install-model.sh (or point --model-dir "
                 "at a directory with tokenizer.json, config.json and model.safetensors)",
                 inner->msg);
}

int cw_local_precision_parse(const char *s, cw_local_precision *out)
{
    static const char *const names[] = { "auto", "fp32", "bf16", "int8" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (s != NULL && strcmp(s, names[i]) == 0) {
            *out = (cw_local_precision)i;
            return 0;
        }
    }
    return -1;
}

static const char *local_precision_name(cw_local_precision p)
{
    switch (p) {
    case CW_LOCAL_FP32: return "fp32";
    case CW_LOCAL_BF16: return "bf16";
    case CW_LOCAL_INT8: return "int8";
    case CW_LOCAL_AUTO: break;
    }
    return "auto";
}

#define LOCAL_CPU_VNNI 1u
#define LOCAL_CPU_BF16 2u
#define LOCAL_CPU_JIT 4u    /* oneDNN JITs f32 matmuls here (AVX2 or better) */

/* The CPU features the modes need, as cpuid and oneDNN's effective ISA
 * (ONEDNN_MAX_CPU_ISA) both see them, less what CW_EMBED_CPU_FEATURES
 * hides. */
static unsigned local_cpu_features(void)
{
    unsigned f = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if ((isa & dnnl_cpu_isa_avx2) == dnnl_cpu_isa_avx2)
        f |= LOCAL_CPU_JIT;
    if (__builtin_cpu_supports("avx512vnni") &&
        (isa & dnnl_cpu_isa_avx512_core_vnni) == dnnl_cpu_isa_avx512_core_vnni)
        f |= LOCAL_CPU_VNNI;
    if (__builtin_cpu_supports("avx512bf16") &&
        (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16)
        f |= LOCAL_CPU_BF16;
#endif
    const char *keep = getenv("CW_EMBED_CPU_FEATURES");
    if (keep != NULL) {
        unsigned k = 0;
        if (strstr(keep, "vnni") != NULL)
            k |= LOCAL_CPU_VNNI;
        if (strstr(keep, "bf16") != NULL)
            k |= LOCAL_CPU_BF16;
        if (strstr(keep, "jit") != NULL)
            k |= LOCAL_CPU_JIT;
        f &= k;
    }
    return f;
}

cw_local_precision cw_local_precision_auto(void)
{
    unsigned f = local_cpu_features();
    if (f & LOCAL_CPU_VNNI)
        return CW_LOCAL_INT8;
    if (f & LOCAL_CPU_BF16)
        return CW_LOCAL_BF16;
    return CW_LOCAL_FP32;
}

cw_local_precision cw_embedder_local_precision(const cw_embedder *e)
{
    return ((const local_embedder *)e)->precision;
}

const char *cw_embedder_local_describe(const cw_embedder *e)
{
    return ((const local_embedder *)e)->describe;
}

/* The dense products' precision: fp32 on oneDNN's JIT where it has one. */
static cw_dense_precision local_dense_precision(cw_local_precision p, unsigned feat)
{
    return p == CW_LOCAL_INT8 ? CW_DENSE_INT8
         : p == CW_LOCAL_BF16 ? CW_DENSE_BF16
         : (feat & LOCAL_CPU_JIT) ? CW_DENSE_FP32_ONEDNN
                                  : CW_DENSE_FP32;
}

/* The tokenizer and the encoder from model_dir into le (le->precision
 * set). -1 + inner (the bare reason; the caller wraps it) on failure. */
static int local_load(local_embedder *le, const char *model_dir, const cw_bert_options *bo,
                      cw_error *inner)
{
    char tok_path[4096], cfg_path[4096], w_path[4096];
    if (model_dir == NULL || model_dir[0] == '\0')
        return cw_error_set(inner, CW_E_CONFIG, "no model directory given");
    snprintf(tok_path, sizeof tok_path, "%s/tokenizer.json", model_dir);
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", model_dir);
    snprintf(w_path, sizeof w_path, "%s/model.safetensors", model_dir);
    if (!local_file_exists(w_path))
        snprintf(w_path, sizeof w_path, "%s/model.fp16.safetensors", model_dir);
    const char *need[] = { cfg_path, tok_path, w_path };
    for (size_t i = 0; i < 3; i++) {
        if (!local_file_exists(need[i]))
            return cw_error_set(inner, CW_E_CONFIG, "%s: %s", need[i], strerror(ENOENT));
    }
    le->wp = cw_wordpiece_create(tok_path, inner);
    if (le->wp == NULL)
        return -1;
    le->bert = cw_bert_create(cfg_path, w_path, bo, inner);
    if (le->bert == NULL)
        return -1;
    const cw_bert_config *c = cw_bert_get_config(le->bert);
    if (cw_wordpiece_id_limit(le->wp) > c->vocab)
        return cw_error_set(inner, CW_E_CONFIG, "%s: token ids up to %zu but the model has %zu",
                            tok_path, cw_wordpiece_id_limit(le->wp) - 1, c->vocab);
    le->max_tokens = CW_LOCAL_MAX_TOKENS < c->max_positions ? CW_LOCAL_MAX_TOKENS
                                                            : c->max_positions;
    return 0;
}

/* le->describe: "int8 (auto; brg:avx512_core_vnni), 2 compute threads". */
static void local_describe(local_embedder *le, int asked, cw_dense_precision dp, size_t threads,
                           unsigned feat)
{
    int native = le->precision == CW_LOCAL_FP32 ||
                 (le->precision == CW_LOCAL_INT8 && (feat & LOCAL_CPU_VNNI)) ||
                 (le->precision == CW_LOCAL_BF16 && (feat & LOCAL_CPU_BF16));
    int blas = dp == CW_DENSE_FP32;
    snprintf(le->describe, sizeof le->describe, "%s (%s; %s%s), %zu compute thread%s%s",
             local_precision_name(le->precision), asked ? "asked" : "auto",
             blas ? "openblas " : "", blas ? openblas_get_corename() : cw_bert_impl(le->bert),
             threads, threads == 1 ? "" : "s", native ? "" : ", not native on this CPU");
}

/* The model's name is the directory's last component. */
static void local_model_name(local_embedder *le, const char *model_dir)
{
    size_t end = strlen(model_dir);
    while (end > 1 && model_dir[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && model_dir[start - 1] != '/')
        start--;
    snprintf(le->model, sizeof le->model, "%.*s", (int)(end - start), model_dir + start);
}

cw_embedder *cw_embedder_local_create(const char *model_dir, const cw_local_options *opt,
                                      cw_error *err)
{
    cw_local_options o = { 0 };
    if (opt != NULL)
        o = *opt;
    local_embedder *le = calloc(1, sizeof *le);
    cw_error inner;
    cw_error_clear(&inner);
    if (le == NULL) {
        cw_error_set(err, CW_E_NOMEM, "local embedder: out of memory");
        goto fail;
    }
    le->base.vt = &local_vtable;
    le->base.name = "local";
    le->precision = o.precision == CW_LOCAL_AUTO ? cw_local_precision_auto() : o.precision;
    unsigned feat = local_cpu_features();
    cw_bert_options bo = {
        .precision = local_dense_precision(le->precision, feat),
        .act = o.int8_per_tensor ? CW_DENSE_ACT_PER_TENSOR : CW_DENSE_ACT_PER_TOKEN,
    };
    if (local_load(le, model_dir, &bo, &inner) != 0) {
        local_fail(err, &inner);
        goto fail;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t ncores = cores > 0 ? (size_t)cores : 1;
    size_t threads = o.threads == 0 || o.threads > ncores ? ncores : o.threads;
    le->free_slots = threads;
    if (pthread_mutex_init(&le->lock, NULL) != 0) {
        cw_error_set(err, CW_E_INTERNAL, "local embedder: pthread_mutex_init failed");
        goto fail;
    }
    if (pthread_cond_init(&le->slot_freed, NULL) != 0) {
        pthread_mutex_destroy(&le->lock);
        cw_error_set(err, CW_E_INTERNAL, "local embedder: pthread_cond_init failed");
        goto fail;
    }
    le->sync_ready = 1;
    openblas_set_num_threads(1);
    local_describe(le, o.precision != CW_LOCAL_AUTO, bo.precision, threads, feat);
    local_model_name(le, model_dir);
    le->base.model = le->model;
    le->base.dim = cw_bert_get_config(le->bert)->hidden;
    le->base.max_batch = CW_LOCAL_MAX_BATCH;
    return &le->base;
fail:
    local_destroy(le != NULL ? &le->base : NULL);
    return NULL;
}
