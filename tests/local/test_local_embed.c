/* The local embedder end to end, with the installed model:
 *  - vectors equal to an independent implementation (@lat.md/embed, WASM):
 *    node runs reference_vectors.mjs at test time on reference_texts.json;
 *    every text must reach cosine >= 0.999;
 *  - "which databases are running" ranks the postgres StatefulSet first;
 *  - batching, concurrent callers, threads = 1 give the same vectors;
 *  - a Hugging Face F32 model.safetensors with "bert." names works;
 *  - missing or corrupt model files give one clear CW_E_CONFIG line;
 *  - cw_local_default_model_dir() follows CW_MODEL_DIR / XDG / HOME. */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local_test.h"
#include "safetensors.h"

#define DIM LT_DIM

static cw_embedder *open_model(size_t threads)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(lt_model_file("tokenizer.json"));
    cw_error err;
    cw_error_clear(&err);
    /* fp32: these tests hold the reference model's own vectors (the other
     * precisions are held against fp32 in test_local_precision). */
    cw_local_options o = { .threads = threads, .precision = CW_LOCAL_FP32 };
    cw_embedder *e = cw_embedder_local_create(lt_model_dir(), &o, &err);
    if (e == NULL)
        fprintf(stderr, "\n%s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    return e;
}

/* Run node on reference_vectors.mjs; 0 when it exited 0. */
static int run_reference_script(const char *out_path)
{
    const char *src = getenv("CW_SOURCE_DIR");
    const char *node = getenv("CW_NODE");
    char script[1024], texts[1024], modules[1024];
    if (src == NULL) {
        fprintf(stderr, "\nCW_SOURCE_DIR not set (run through ctest)\n");
        return -1;
    }
    if (node == NULL || node[0] == '\0')
        node = "node";
    snprintf(script, sizeof script, "%s/tests/local/reference_vectors.mjs", src);
    snprintf(texts, sizeof texts, "%s/tests/local/reference_texts.json", src);
    snprintf(modules, sizeof modules, "%s/contrib/npm/node_modules", src);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execlp(node, node, script, modules, lt_model_dir(), texts, out_path, (char *)NULL);
        fprintf(stderr, "exec %s: %s (install Node.js)\n", node, strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void test_reference_vectors(void)
{
    cw_embedder *e = open_model(0);
    CU_ASSERT_EQUAL_FATAL(run_reference_script("reference_vectors.json"), 0);
    json_object *root = json_object_from_file("reference_vectors.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    json_object *jt = json_object_object_get(root, "texts");
    json_object *jv = json_object_object_get(root, "vectors");
    CU_ASSERT_PTR_NOT_NULL_FATAL(jt);
    CU_ASSERT_PTR_NOT_NULL_FATAL(jv);
    size_t n = json_object_array_length(jt);
    CU_ASSERT_EQUAL_FATAL(json_object_array_length(jv), n);
    CU_ASSERT_FATAL(n >= 20);
    const char **texts = calloc(n, sizeof *texts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(texts);
    for (size_t i = 0; i < n; i++)
        texts[i] = json_object_get_string(json_object_array_get_idx(jt, i));
    float *out = lt_embed_all(e, texts, n);
    double min_cos = 2.0;
    float ref[DIM];
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(jv, i);
        CU_ASSERT_EQUAL_FATAL(json_object_array_length(v), DIM);
        for (size_t k = 0; k < DIM; k++)
            ref[k] = (float)json_object_get_double(json_object_array_get_idx(v, k));
        double cos = lt_dot(out + i * DIM, ref) / sqrt(lt_dot(ref, ref));
        if (cos < 0.999)
            fprintf(stderr, "\ntext %zu \"%.50s\": cosine %.6f < 0.999\n", i, texts[i], cos);
        CU_ASSERT(cos >= 0.999);
        min_cos = cos < min_cos ? cos : min_cos;
    }
    fprintf(stderr, "[%zu texts, min cosine vs @lat.md/embed %.7f] ", n, min_cos);
    free(out);
    free(texts);
    json_object_put(root);
    cw_embedder_destroy(e);
}

static const char *const k8s_docs[] = {
    "StatefulSet postgres | namespace: db | apiVersion: apps/v1 | labels: app=postgres",
    "Service nginx | namespace: web | apiVersion: v1 | labels: app=nginx",
    "ConfigMap app-settings | namespace: default | apiVersion: v1",
};

static void test_database_query_ranking(void)
{
    cw_embedder *e = open_model(0);
    float *docs = lt_embed_all(e, k8s_docs, 3);
    float q[DIM];
    const char *query = "which databases are running";
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL_FATAL(cw_embedder_embed(e, &query, 1, CW_EMBED_QUERY, q, &err), 0);
    double pg = lt_dot(q, docs), web = lt_dot(q, docs + DIM), cm = lt_dot(q, docs + 2 * DIM);
    fprintf(stderr, "[postgres %.3f nginx %.3f configmap %.3f] ", pg, web, cm);
    CU_ASSERT(pg > web);
    CU_ASSERT(pg > cm);
    free(docs);
    cw_embedder_destroy(e);
}

static void test_properties(void)
{
    cw_embedder *e = open_model(0);
    CU_ASSERT_STRING_EQUAL(e->name, "local");
    CU_ASSERT_STRING_EQUAL(e->model, "all-MiniLM-L6-v2");
    CU_ASSERT_EQUAL(e->dim, DIM);
    CU_ASSERT_EQUAL(e->max_batch, CW_LOCAL_MAX_BATCH);
    float *v = lt_embed_all(e, k8s_docs, 3);
    for (size_t i = 0; i < 3; i++)
        CU_ASSERT_DOUBLE_EQUAL(lt_dot(v + i * DIM, v + i * DIM), 1.0, 1e-5);
    /* Zero texts: nothing to do, success. */
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, NULL, 0, CW_EMBED_DOCUMENT, NULL, &err), 0);
    free(v);
    cw_embedder_destroy(e);
    cw_embedder_destroy(NULL);
}

/* Batched, one by one, and with threads = 1: the same vectors. */
static void test_batch_equals_single(void)
{
    cw_embedder *e = open_model(0);
    cw_embedder *e1 = open_model(1);
    const char *texts[12];
    for (size_t i = 0; i < 12; i++)
        texts[i] = k8s_docs[i % 3];
    texts[4] = "";
    texts[7] = "Deployment api | namespace: prod | apiVersion: apps/v1 | labels: app=api, "
               "tier=backend, team=payments | Handles card payments. Owned by team payments";
    float *batch = lt_embed_all(e, texts, 12);
    float *batch1 = lt_embed_all(e1, texts, 12);
    for (size_t i = 0; i < 12; i++) {
        float *one = lt_embed_all(e, &texts[i], 1);
        CU_ASSERT(lt_dot(one, batch + i * DIM) > 0.99999);
        CU_ASSERT(lt_dot(one, batch1 + i * DIM) > 0.99999);
        free(one);
    }
    free(batch);
    free(batch1);
    cw_embedder_destroy(e);
    cw_embedder_destroy(e1);
}

typedef struct caller {
    cw_embedder *e;
    const char *const *texts;
    size_t n;
    float *out;
    int rc;
} caller;

static void *caller_main(void *arg)
{
    caller *c = arg;
    cw_error err;
    cw_error_clear(&err);
    for (int round = 0; round < 3 && c->rc == 0; round++)
        c->rc = cw_embedder_embed(c->e, c->texts, c->n, CW_EMBED_DOCUMENT, c->out, &err);
    return NULL;
}

static void test_concurrent_callers(void)
{
    cw_embedder *e = open_model(0);
    float *want = lt_embed_all(e, k8s_docs, 3);
    enum { NCALLERS = 4 };
    caller callers[NCALLERS];
    pthread_t th[NCALLERS];
    for (size_t i = 0; i < NCALLERS; i++) {
        callers[i] = (caller){ e, k8s_docs, 1 + i % 3, malloc(3 * DIM * sizeof(float)), 0 };
        CU_ASSERT_PTR_NOT_NULL_FATAL(callers[i].out);
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, caller_main, &callers[i]), 0);
    }
    for (size_t i = 0; i < NCALLERS; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(callers[i].rc, 0);
        for (size_t j = 0; j < callers[i].n; j++)
            CU_ASSERT(lt_dot(callers[i].out + j * DIM, want + j * DIM) > 0.99999);
        free(callers[i].out);
    }
    free(want);
    cw_embedder_destroy(e);
}

/* Write the installed F16 weights as a Hugging Face style F32 file with
 * "bert." names (the position_ids I64 tensor is dropped, as newer exports do). */
static void write_f32_model(const char *src, const char *dst)
{
    cw_error err;
    cw_error_clear(&err);
    cw_safetensors *st = cw_safetensors_create(src, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    json_object *hdr = json_object_new_object();
    size_t off = 0;
    for (size_t i = 0; i < cw_safetensors_count(st); i++) {
        const cw_st_tensor *t = cw_safetensors_at(st, i);
        if (t->dtype != CW_ST_F16)
            continue;
        json_object *entry = json_object_new_object();
        json_object *shape = json_object_new_array();
        for (size_t d = 0; d < t->ndim; d++)
            json_object_array_add(shape, json_object_new_int64((int64_t)t->shape[d]));
        json_object *offs = json_object_new_array();
        json_object_array_add(offs, json_object_new_int64((int64_t)off));
        json_object_array_add(offs, json_object_new_int64((int64_t)(off + 4 * t->nelem)));
        json_object_object_add(entry, "dtype", json_object_new_string("F32"));
        json_object_object_add(entry, "shape", shape);
        json_object_object_add(entry, "data_offsets", offs);
        char name[256];
        snprintf(name, sizeof name, "bert.%s", t->name);
        json_object_object_add(hdr, name, entry);
        off += 4 * t->nelem;
    }
    const char *js = json_object_to_json_string_ext(hdr, JSON_C_TO_STRING_PLAIN);
    size_t hlen = strlen(js);
    FILE *f = fopen(dst, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int i = 0; i < 8; i++)
        fputc((int)(((uint64_t)hlen >> (8 * i)) & 0xff), f);
    fwrite(js, 1, hlen, f);
    for (size_t i = 0; i < cw_safetensors_count(st); i++) {
        const cw_st_tensor *t = cw_safetensors_at(st, i);
        if (t->dtype != CW_ST_F16)
            continue;
        float *buf = malloc(t->nelem * sizeof *buf);
        CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
        CU_ASSERT_EQUAL(cw_safetensors_to_f32(t, buf, t->nelem, &err), 0);
        CU_ASSERT_EQUAL(fwrite(buf, sizeof *buf, t->nelem, f), t->nelem);
        free(buf);
    }
    CU_ASSERT_EQUAL(fclose(f), 0);
    json_object_put(hdr);
    cw_safetensors_destroy(st);
}

/* A model dir with config/tokenizer linked from the installed model. */
static void make_model_dir(const char *dir, int link_config)
{
    char path[1024];
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    unlink(path);
    CU_ASSERT_EQUAL(symlink(lt_model_file("tokenizer.json"), path), 0);
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    if (link_config)
        CU_ASSERT_EQUAL(symlink(lt_model_file("config.json"), path), 0);
}

static void test_hf_f32_layout(void)
{
    const char *w16 = lt_model_file("model.fp16.safetensors");
    CU_ASSERT_PTR_NOT_NULL_FATAL(w16);
    make_model_dir("hf_f32", 1);
    write_f32_model(w16, "hf_f32/model.safetensors");
    /* model.safetensors wins: a broken F16 file beside it is not read. */
    CU_ASSERT_EQUAL_FATAL(lt_write_file("hf_f32/model.fp16.safetensors", "garbage", 7), 0);
    cw_error err;
    cw_error_clear(&err);
    cw_embedder *hf = cw_embedder_local_create("./hf_f32//", &(cw_local_options){ .precision = CW_LOCAL_FP32 }, &err);
    if (hf == NULL)
        fprintf(stderr, "\n%s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hf);
    CU_ASSERT_STRING_EQUAL(hf->model, "hf_f32");
    cw_embedder *e = open_model(0);
    float *a = lt_embed_all(hf, k8s_docs, 3);
    float *b = lt_embed_all(e, k8s_docs, 3);
    for (size_t i = 0; i < 3; i++)
        CU_ASSERT(lt_dot(a + i * DIM, b + i * DIM) > 0.99999);   /* same weights, upcast */
    free(a);
    free(b);
    cw_embedder_destroy(hf);
    cw_embedder_destroy(e);
    unlink("hf_f32/model.safetensors");
    unlink("hf_f32/model.fp16.safetensors");
}

static const char *const fix =
    "; run contrib/install-model.sh (or point --model-dir at a directory with tokenizer.json, "
    "config.json and model.safetensors)";

static void expect_create_error(const char *dir, const char *what)
{
    char want[1024];
    snprintf(want, sizeof want, "local embedding model: %s%s", what, fix);
    cw_error err;
    cw_error_clear(&err);
    cw_embedder *e = cw_embedder_local_create(dir, NULL, &err);
    CU_ASSERT_PTR_NULL(e);
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    if (strcmp(err.msg, want) != 0)
        fprintf(stderr, "\nwant: %s\ngot:  %s\n", want, err.msg);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    CU_ASSERT_PTR_NULL(strchr(err.msg, '\n'));
    cw_embedder_destroy(e);
}

static void test_missing_model(void)
{
    expect_create_error("no-model-here", "no-model-here/config.json: No such file or directory");
    make_model_dir("only_json", 1);
    expect_create_error("only_json",
                        "only_json/model.fp16.safetensors: No such file or directory");
    expect_create_error("", "no model directory given");
}

static void test_corrupt_model(void)
{
    const char *w16 = lt_model_file("model.fp16.safetensors");
    CU_ASSERT_PTR_NOT_NULL_FATAL(w16);
    make_model_dir("corrupt", 1);
    CU_ASSERT_EQUAL_FATAL(lt_copy_prefix(w16, "corrupt/model.fp16.safetensors", 30000000), 0);
    expect_create_error("corrupt",
                        "corrupt/model.fp16.safetensors: tensor "
                        "'encoder.layer.1.output.dense.weight': data_offsets [29759488, "
                        "30939136] outside the 29988591-byte data (truncated file?)");
    /* A config.json that does not match the weights. */
    make_model_dir("mismatch", 0);
    static const char cfg[] =
        "{\"hidden_size\": 384, \"num_hidden_layers\": 6, \"num_attention_heads\": 12,"
        " \"intermediate_size\": 1024, \"vocab_size\": 30522, \"max_position_embeddings\": 512}";
    CU_ASSERT_EQUAL_FATAL(lt_write_file("mismatch/config.json", cfg, sizeof cfg - 1), 0);
    unlink("mismatch/model.fp16.safetensors");
    CU_ASSERT_EQUAL(symlink(w16, "mismatch/model.fp16.safetensors"), 0);
    expect_create_error("mismatch",
                        "mismatch/model.fp16.safetensors: tensor "
                        "'encoder.layer.0.intermediate.dense.weight' has the wrong shape for "
                        "config.json");
    static const char bad_cfg[] = "{\"hidden_size\": 384}";
    CU_ASSERT_EQUAL_FATAL(lt_write_file("mismatch/config.json", bad_cfg, sizeof bad_cfg - 1), 0);
    expect_create_error("mismatch", "mismatch/config.json: missing or bad \"num_hidden_layers\"");
    /* Regression: a non-string hidden_act (null) crashed in strcmp. */
    static const char null_act[] =
        "{\"hidden_size\": 384, \"num_hidden_layers\": 6, \"num_attention_heads\": 12,"
        " \"intermediate_size\": 1536, \"vocab_size\": 30522, \"max_position_embeddings\": 512,"
        " \"hidden_act\": null}";
    CU_ASSERT_EQUAL_FATAL(lt_write_file("mismatch/config.json", null_act, sizeof null_act - 1), 0);
    expect_create_error("mismatch", "mismatch/config.json: unsupported hidden_act null");
    /* A LayerNorm epsilon that is not positive would make NaN vectors. */
    static const char neg_eps[] =
        "{\"hidden_size\": 384, \"num_hidden_layers\": 6, \"num_attention_heads\": 12,"
        " \"intermediate_size\": 1536, \"vocab_size\": 30522, \"max_position_embeddings\": 512,"
        " \"layer_norm_eps\": -1e-12}";
    CU_ASSERT_EQUAL_FATAL(lt_write_file("mismatch/config.json", neg_eps, sizeof neg_eps - 1), 0);
    expect_create_error("mismatch", "mismatch/config.json: bad \"layer_norm_eps\"");
    unlink("corrupt/model.fp16.safetensors");
}

/* Regression: a weights file that is well formed but holds a NaN (a
 * flipped bit) loaded fine and then gave NaN vectors (which Chroma refuses:
 * every request would fail) and undefined behaviour in the exp kernel. It
 * must be refused at load like any other corrupt model. */
static void test_non_finite_weight(void)
{
    const char *w16 = lt_model_file("model.fp16.safetensors");
    CU_ASSERT_PTR_NOT_NULL_FATAL(w16);
    cw_error err;
    cw_error_clear(&err);
    cw_safetensors *st = cw_safetensors_create(w16, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    const unsigned char *data0 = NULL;
    for (size_t i = 0; i < cw_safetensors_count(st); i++) {
        const cw_st_tensor *t = cw_safetensors_at(st, i);
        if (data0 == NULL || t->data < data0)
            data0 = t->data;
    }
    const cw_st_tensor *t = cw_safetensors_find(st, "encoder.layer.2.output.dense.bias");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL_FATAL(t->dtype, CW_ST_F16);
    size_t in_data = (size_t)(t->data - data0) + 2 * 5;   /* the 6th value */
    cw_safetensors_destroy(st);

    make_model_dir("nan_model", 1);
    CU_ASSERT_EQUAL_FATAL(lt_copy_prefix(w16, "nan_model/model.fp16.safetensors", (size_t)-1), 0);
    FILE *f = fopen("nan_model/model.fp16.safetensors", "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    unsigned char len8[8];
    CU_ASSERT_EQUAL_FATAL(fread(len8, 1, 8, f), 8);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | len8[i];
    static const unsigned char nan16[2] = { 0x00, 0x7E };   /* F16 quiet NaN */
    CU_ASSERT_EQUAL_FATAL(fseek(f, (long)(8 + hlen + in_data), SEEK_SET), 0);
    CU_ASSERT_EQUAL_FATAL(fwrite(nan16, 1, 2, f), 2);
    CU_ASSERT_EQUAL_FATAL(fclose(f), 0);
    expect_create_error("nan_model",
                        "nan_model/model.fp16.safetensors: tensor "
                        "'encoder.layer.2.output.dense.bias' holds a non-finite value at 5 "
                        "(corrupt file?)");
    /* +Inf is refused the same way. */
    static const unsigned char inf16[2] = { 0x00, 0x7C };
    f = fopen("nan_model/model.fp16.safetensors", "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL_FATAL(fseek(f, (long)(8 + hlen + in_data), SEEK_SET), 0);
    CU_ASSERT_EQUAL_FATAL(fwrite(inf16, 1, 2, f), 2);
    CU_ASSERT_EQUAL_FATAL(fclose(f), 0);
    expect_create_error("nan_model",
                        "nan_model/model.fp16.safetensors: tensor "
                        "'encoder.layer.2.output.dense.bias' holds a non-finite value at 5 "
                        "(corrupt file?)");
    unlink("nan_model/model.fp16.safetensors");
}

static void test_default_model_dir(void)
{
    (void)lt_model_dir();   /* computed before the environment changes */
    char *saved[3];
    const char *names[3] = { "CW_MODEL_DIR", "XDG_DATA_HOME", "HOME" };
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(names[i]);
        saved[i] = v != NULL ? strdup(v) : NULL;
    }
    char buf[256];
    setenv("CW_MODEL_DIR", "/models/minilm", 1);
    setenv("XDG_DATA_HOME", "/xdg", 1);
    setenv("HOME", "/home/u", 1);
    CU_ASSERT_STRING_EQUAL(cw_local_default_model_dir(buf, sizeof buf), "/models/minilm");
    setenv("CW_MODEL_DIR", "", 1);
    CU_ASSERT_STRING_EQUAL(cw_local_default_model_dir(buf, sizeof buf),
                           "/xdg/cluster-whisperer/all-MiniLM-L6-v2");
    unsetenv("CW_MODEL_DIR");
    unsetenv("XDG_DATA_HOME");
    CU_ASSERT_STRING_EQUAL(cw_local_default_model_dir(buf, sizeof buf),
                           "/home/u/.local/share/cluster-whisperer/all-MiniLM-L6-v2");
    char small[8];
    CU_ASSERT_STRING_EQUAL(cw_local_default_model_dir(small, sizeof small), "/home/u");
    for (int i = 0; i < 3; i++) {
        if (saved[i] != NULL)
            setenv(names[i], saved[i], 1);
        else
            unsetenv(names[i]);
        free(saved[i]);
    }
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "vectors match @lat.md/embed (cosine >= 0.999)", test_reference_vectors },
        { "database query ranks postgres first", test_database_query_ranking },
        { "name, dim, unit vectors", test_properties },
        { "batch == single == threads 1", test_batch_equals_single },
        { "concurrent callers", test_concurrent_callers },
        { "Hugging Face F32 layout with bert. prefix", test_hf_f32_layout },
        { "missing model: one clear line", test_missing_model },
        { "corrupt model: one clear line", test_corrupt_model },
        { "NaN/Inf weight: refused at load", test_non_finite_weight },
        { "default model dir", test_default_model_dir },
        CU_TEST_INFO_NULL,
    };
    return cw_test_run("local_embed", tests);
}
