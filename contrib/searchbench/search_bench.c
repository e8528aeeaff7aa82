/* cw-search-bench — retrieval quality of the search module on one
 * fictional cluster (inventory.json, 274 resources) and questions.tsv
 * (59 questions in 5 categories), with the local MiniLM model and a real
 * Chroma: the inventory is stored exactly as the server stores it
 * (cw_document + local embedder + cw_chroma_upsert, fresh collection),
 * then every question is asked in vector, lexical and hybrid mode
 * (cw_search_run, n = 10). Prints R@1, R@3 (share of questions with a
 * relevant resource in the top 1 / 3) and MRR@10 per category and mode.
 *
 * --verbose also prints, for every question not answered first by all
 * three modes, the rank of the first relevant result in each (0 = not in
 * the top 10).
 *
 * usage: cw-search-bench --chroma-url URL [--collection NAME] [--model-dir DIR]
 *                        [--data DIR] [--questions FILE] [--verbose]
 * --questions: another question file than DIR/questions.tsv (holdout.tsv).
 * Exit 0, 1 on failure, 2 on a usage error. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "chroma.h"
#include "document.h"
#include "embed_local.h"
#include "search.h"
#include "sync_payload.h"
#include "terms.h"

#define MAXQ 256
#define NCAT 5
static const char *const CATS[NCAT] = { "name", "meaning", "kind", "team", "no-shared-word" };

typedef struct question { int cat; char *text; char *rel; } question;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b != NULL && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b != NULL) {
        b[n] = '\0';
        *len = (size_t)n;
    }
    return b;
}

static const cw_resource_instance *find(const cw_sync_payload *p, const char *id)
{
    for (size_t i = 0; i < p->upserts.len; i++)
        if (strcmp(p->upserts.items[i].id, id) == 0)
            return &p->upserts.items[i];
    return NULL;
}

static const char *label(const cw_resource_instance *in, const char *key)
{
    for (size_t i = 0; i < in->labels.len; i++)
        if (strcmp(in->labels.items[i].key, key) == 0)
            return in->labels.items[i].value;
    return NULL;
}

/* One selector (kind:K+ns:N+team:T+name:X, or an id) against an instance. */
static int matches(const cw_resource_instance *in, const char *sel)
{
    if (strchr(sel, ':') == NULL || strncmp(sel, "_cluster/", 9) == 0 || strchr(sel, '/') != NULL)
        return strcmp(in->id, sel) == 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", sel);
    for (char *save = NULL, *t = strtok_r(buf, "+", &save); t != NULL; t = strtok_r(NULL, "+", &save)) {
        char *v = strchr(t, ':');
        if (v == NULL)
            return 0;
        *v++ = '\0';
        const char *have = strcmp(t, "kind") == 0 ? in->kind : strcmp(t, "ns") == 0 ? in->namespace
                         : strcmp(t, "name") == 0 ? in->name : strcmp(t, "team") == 0 ? label(in, "team") : NULL;
        if (have == NULL || strcmp(have, v) != 0)
            return 0;
    }
    return 1;
}

static int relevant(const cw_resource_instance *in, const char *rel)
{
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", rel);
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save))
        if (matches(in, t))
            return 1;
    return 0;
}

/* A no-shared-word question sharing a word with a relevant document: the
 * word, else NULL. */
static const char *shared_word(const question *q, const cw_sync_payload *p, char *word, size_t cap)
{
    cw_terms qt = { 0 };
    if (cw_terms_add(&qt, q->text, 0, NULL) != 0)
        return "?";
    const char *hit = NULL;
    for (size_t i = 0; i < p->upserts.len && hit == NULL; i++) {
        if (!relevant(&p->upserts.items[i], q->rel))
            continue;
        cw_document d;
        cw_terms dt = { 0 };
        if (cw_document_from_instance(&p->upserts.items[i], &d, NULL) != 0)
            continue;
        if (cw_terms_add(&dt, d.text, 1, NULL) == 0)
            for (size_t a = 0; a < qt.len && hit == NULL; a++)
                for (size_t b = 0; b < dt.len && hit == NULL; b++)
                    if (!cw_terms_is_stopword(qt.v[a]) && strcmp(qt.v[a], dt.v[b]) == 0) {
                        snprintf(word, cap, "%s", qt.v[a]);
                        hit = word;
                    }
        cw_terms_free(&dt);
        cw_document_clear(&d);
    }
    cw_terms_free(&qt);
    return hit;
}

/* --signals FILE: every signal of every stored record for every question
 * (TSV), for studying the fusion away from C. */
static int dump_signals(const char *path, cw_chroma *ch, cw_embedder *e, const cw_sync_payload *p,
                        const question *qs, size_t nq)
{
    int rc = -1;
    cw_error err;
    cw_error_clear(&err);
    cw_chroma_records corpus = { 0 };
    FILE *f = fopen(path, "w");
    float *vec = malloc(e->dim * sizeof *vec);
    if (f == NULL || vec == NULL || cw_chroma_scan(ch, NULL, NULL, CW_SEARCH_MAX_CORPUS, &corpus, &err) != 0)
        goto out;
    fprintf(f, "q\tcat\tid\tkind\trelevant\tvrank\tsim\tlrank\tbm25\tlexical\tkindb\tscopeb\tworkload\n");
    for (size_t i = 0; i < nq; i++) {
        cw_chroma_hits hits = { 0 };
        cw_search_results r;
        const char *texts[1] = { qs[i].text };
        if (cw_embedder_embed(e, texts, 1, CW_EMBED_QUERY, vec, &err) != 0 ||
            cw_chroma_query(ch, vec, e->dim, corpus.len, NULL, NULL, &hits, &err) != 0 ||
            cw_search_rank(&corpus, &hits, qs[i].text, CW_SEARCH_HYBRID, corpus.len, &r, &err) != 0) {
            cw_chroma_hits_free(&hits);
            goto out;
        }
        for (size_t k = 0; k < r.len; k++) {
            const cw_search_result *h = &r.items[k];
            const cw_resource_instance *in = find(p, h->id);
            fprintf(f, "%zu\t%s\t%s\t%s\t%d\t%zu\t%.6f\t%zu\t%.6f\t%.6f\t%.4f\t%.4f\t%.4f\n", i, CATS[qs[i].cat], h->id,
                    h->kind != NULL ? h->kind : "", in != NULL && relevant(in, qs[i].rel), h->vector_rank,
                    1.0 - h->distance, h->lexical_rank, h->bm25, h->lexical_part / CW_SEARCH_W_LEXICAL,
                    h->kind_part, h->scope_part, h->workload_part);
        }
        cw_search_results_free(&r);
        cw_chroma_hits_free(&hits);
    }
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "cw-search-bench: signals: %s\n", err.msg[0] != '\0' ? err.msg : "cannot write");
    if (f != NULL)
        fclose(f);
    free(vec);
    cw_chroma_records_free(&corpus);
    return rc;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *collection = "search-bench", *model_dir = NULL, *data = "contrib/searchbench";
    const char *signals = NULL, *questions = NULL;
    int verbose = 0;
    static const struct option opts[] = {
        { "chroma-url", required_argument, NULL, 'u' }, { "collection", required_argument, NULL, 'c' },
        { "model-dir", required_argument, NULL, 'm' }, { "data", required_argument, NULL, 'd' },
        { "verbose", no_argument, NULL, 'v' }, { "signals", required_argument, NULL, 's' },
        { "questions", required_argument, NULL, 'q' }, { NULL, 0, NULL, 0 } };
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 'u': url = optarg; break;
        case 'c': collection = optarg; break;
        case 'm': model_dir = optarg; break;
        case 'd': data = optarg; break;
        case 'v': verbose = 1; break;
        case 's': signals = optarg; break;
        case 'q': questions = optarg; break;
        default: fprintf(stderr, "usage: cw-search-bench --chroma-url URL [--collection NAME] [--model-dir DIR] [--data DIR] [--questions FILE] [--verbose]\n"); return 2;
        }
    }
    if (url == NULL) {
        fprintf(stderr, "cw-search-bench: --chroma-url is required\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_ALL);
    int rc = 1;
    cw_error err;
    cw_error_clear(&err);
    char path[PATH_MAX], mdir[PATH_MAX];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/inventory.json", data);
    char *body = slurp(path, &len);
    cw_sync_payload p;
    memset(&p, 0, sizeof p);
    cw_issues issues;
    cw_embedder *e = NULL;
    cw_chroma *ch = NULL;
    cw_document *docs = NULL;
    float *vecs = NULL;
    question qs[MAXQ];
    size_t nq = 0;
    char *qbody = NULL;
    if (body == NULL || cw_sync_payload_parse(body, len, &p, &issues) != 0) {
        fprintf(stderr, "cw-search-bench: cannot read %s\n", path);
        goto out;
    }
    if (questions != NULL)
        snprintf(path, sizeof path, "%s", questions);
    else
        snprintf(path, sizeof path, "%s/questions.tsv", data);
    qbody = slurp(path, &len);
    if (qbody == NULL) {
        fprintf(stderr, "cw-search-bench: cannot read %s\n", path);
        goto out;
    }
    for (char *save = NULL, *line = strtok_r(qbody, "\n", &save); line != NULL && nq < MAXQ;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *t1 = strchr(line, '\t'), *t2 = t1 != NULL ? strchr(t1 + 1, '\t') : NULL;
        if (t2 == NULL) {
            fprintf(stderr, "cw-search-bench: bad line: %s\n", line);
            goto out;
        }
        *t1 = *t2 = '\0';
        int cat = -1;
        for (int k = 0; k < NCAT; k++)
            if (strcmp(line, CATS[k]) == 0)
                cat = k;
        if (cat < 0) {
            fprintf(stderr, "cw-search-bench: unknown category %s\n", line);
            goto out;
        }
        qs[nq++] = (question){ cat, t1 + 1, t2 + 1 };
    }
    for (size_t i = 0; i < nq; i++) {
        size_t nrel = 0;
        for (size_t j = 0; j < p.upserts.len; j++)
            nrel += (size_t)relevant(&p.upserts.items[j], qs[i].rel);
        char w[128];
        if (nrel == 0) {
            fprintf(stderr, "cw-search-bench: no resource is relevant to '%s'\n", qs[i].text);
            goto out;
        }
        if (qs[i].cat == NCAT - 1 && shared_word(&qs[i], &p, w, sizeof w) != NULL) {
            fprintf(stderr, "cw-search-bench: '%s' shares the word '%s' with a relevant document\n", qs[i].text, w);
            goto out;
        }
    }

    e = cw_embedder_local_create(model_dir != NULL ? model_dir : cw_local_default_model_dir(mdir, sizeof mdir), NULL, &err);
    cw_chroma_config cfg = { .url = url, .collection = collection };
    if (e == NULL || (ch = cw_chroma_create(&cfg, &err)) == NULL || cw_chroma_delete_collection(ch, &err) != 0 ||
        cw_chroma_ensure_collection(ch, &err) != 0) {
        fprintf(stderr, "cw-search-bench: %s\n", err.msg);
        goto out;
    }
    size_t n = p.upserts.len, dim = e->dim;
    docs = calloc(n, sizeof *docs);
    vecs = malloc(n * dim * sizeof *vecs);
    if (docs == NULL || vecs == NULL)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (cw_document_from_instance(&p.upserts.items[i], &docs[i], &err) != 0)
            goto out;
    for (size_t at = 0; at < n; at += 32) {
        const char *texts[32];
        size_t m = n - at < 32 ? n - at : 32;
        for (size_t j = 0; j < m; j++)
            texts[j] = docs[at + j].text;
        if (cw_embedder_embed(e, texts, m, CW_EMBED_DOCUMENT, vecs + at * dim, &err) != 0) {
            fprintf(stderr, "cw-search-bench: %s\n", err.msg);
            goto out;
        }
    }
    if (cw_chroma_upsert(ch, docs, vecs, n, dim, &err) != 0) {
        fprintf(stderr, "cw-search-bench: %s\n", err.msg);
        goto out;
    }

    if (signals != NULL) {
        rc = dump_signals(signals, ch, e, &p, qs, nq) == 0 ? 0 : 1;
        goto out;
    }
    static const cw_search_mode modes[3] = { CW_SEARCH_VECTOR, CW_SEARCH_LEXICAL, CW_SEARCH_HYBRID };
    double r1[3][NCAT + 1] = { { 0 } }, r3[3][NCAT + 1] = { { 0 } }, mrr[3][NCAT + 1] = { { 0 } };
    size_t count[NCAT + 1] = { 0 };
    for (size_t i = 0; i < nq; i++) {
        count[qs[i].cat]++;
        count[NCAT]++;
        size_t firsts[3] = { 0 };
        const char *tops[3] = { "-", "-", "-" };
        char topbuf[3][256];
        for (int m = 0; m < 3; m++) {
            cw_search_request req = { .query = qs[i].text, .n = 10, .mode = modes[m] };
            cw_search_results res;
            if (cw_search_run(ch, e, &req, &res, &err) != 0) {
                fprintf(stderr, "cw-search-bench: %s\n", err.msg);
                goto out;
            }
            size_t first = 0;
            for (size_t k = 0; k < res.len && first == 0; k++) {
                const cw_resource_instance *in = find(&p, res.items[k].id);
                if (in != NULL && relevant(in, qs[i].rel))
                    first = k + 1;
            }
            firsts[m] = first;
            if (res.len > 0) {
                snprintf(topbuf[m], sizeof topbuf[m], "%s", res.items[0].id);
                tops[m] = topbuf[m];
            }
            int cats[2] = { qs[i].cat, NCAT };
            for (int c = 0; c < 2; c++) {
                r1[m][cats[c]] += first == 1;
                r3[m][cats[c]] += first >= 1 && first <= 3;
                mrr[m][cats[c]] += first > 0 ? 1.0 / (double)first : 0;
            }
            cw_search_results_free(&res);
        }
        /* rank of the first relevant result per mode (0 = not in the top
         * 10), and the top result of hybrid when it is not relevant */
        if (verbose && (firsts[0] != 1 || firsts[1] != 1 || firsts[2] != 1))
            printf("%-14s vector %2zu lexical %2zu hybrid %2zu  %s%s%s\n", CATS[qs[i].cat], firsts[0], firsts[1],
                   firsts[2], qs[i].text, firsts[2] != 1 ? " -> " : "", firsts[2] != 1 ? tops[2] : "");
    }
    printf("| category | questions | vector R@1 | R@3 | MRR@10 | lexical R@1 | R@3 | MRR@10 | hybrid R@1 | R@3 | MRR@10 |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int c = 0; c <= NCAT; c++) {
        double q = (double)(count[c] > 0 ? count[c] : 1);
        printf("| %s | %zu |", c < NCAT ? CATS[c] : "**overall**", count[c]);
        for (int m = 0; m < 3; m++)
            printf(" %.2f | %.2f | %.2f |", r1[m][c] / q, r3[m][c] / q, mrr[m][c] / q);
        printf("\n");
    }
    /* issue 15's targets, read off the table above */
    double all = (double)count[NCAT], nsw = (double)(count[NCAT - 1] > 0 ? count[NCAT - 1] : 1);
    int below = 0;
    for (int c = 0; c <= NCAT; c++)
        below += r1[2][c] < r1[0][c] || r3[2][c] < r3[0][c] || mrr[2][c] < mrr[0][c] - 1e-12;
    printf("\nhybrid: R@3 %.2f overall (target >= 0.90), %.2f on no-shared-word (target >= 0.60), "
           "below vector in %d category rows (target 0)\n", r3[2][NCAT] / all, r3[2][NCAT - 1] / nsw, below);
    printf("%zu resources, %zu questions, model %s (%zu-d), collection %s\n", n, nq, e->model, dim, collection);
    rc = 0;
out:
    for (size_t i = 0; docs != NULL && i < p.upserts.len; i++)
        cw_document_clear(&docs[i]);
    free(docs);
    free(vecs);
    cw_chroma_destroy(ch);
    cw_embedder_destroy(e);
    cw_sync_payload_free(&p);
    free(body);
    free(qbody);
    curl_global_cleanup();
    return rc;
}
