/*
 * test_smollm2.c - greedy decoding of the real SmolLM2-135M-Instruct Q4_1 GGUF
 * against llama.cpp on the same file, token for token.
 *
 * tests/data/smollm2/ref.json (tools/make_smollm2_ref.py, llama-cpp-python
 * built with clang) holds, per prompt, the prompt ids, llama.cpp's 32 greedy
 * ids and its top-2 logits at each step.  deepc runs the same ids; at every
 * step its argmax must be llama.cpp's token, except at a near tie: where
 * llama.cpp's top-2 margin is under NEAR_TIE and deepc ranks the same two
 * ids within NEAR_TIE of each other, both are printed and the comparison
 * goes on from llama.cpp's token (teacher forcing), so one tie does not hide
 * the rest of the sequence.
 *
 * Logit bounds.  Both engines quantize activations to 8 bits per 32 values
 * (Q8_1 for the Q4_1 weights, Q8_0 for the Q8_0 embedding/output) and keep an
 * f32 KV cache.  This model carries outlier activations, so a block's scale
 * is large and one int8 rounding flip (the quantizers' rounding rules differ
 * in detail) moves the other values of the block a lot: measured here,
 * deepc's own reference and AVX-512 kernels differ by up to 2.0 on a logit
 * of ~25, and llama.cpp differs from f32 torch on the dequantized weights by
 * up to 0.9.  So each logit must be within LOGIT_TOL of llama.cpp's and the
 * median difference within LOGIT_MEDIAN_TOL; the token-for-token check is
 * the sharp one.  The worst step (chat_capital step 5, llama.cpp 11.80) is
 * also the most sensitive to f32 rounding inside attention: with the scalar
 * attention of the time, its difference was 1.84; the same code with the
 * q.k sum taken in reverse order 2.81, or as two interleaved partial sums
 * 2.83 (mathematically equal, equally accurate); the vectorized kernels
 * (kern_attn) 2.49 (2.62 with a since-removed decode path).  Hence 3.0.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "deepc.h"
#include "test.h"

#define NEAR_TIE 0.5
#define LOGIT_TOL 3.0
#define LOGIT_MEDIAN_TOL 0.3

static const char *smollm2_path(void) {
    const char *p = getenv("DEEPC_SMOLLM2");
    return p ? p : ".deps/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

static int argmax(const float *x, int64_t n) {
    int64_t b = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return (int)b;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_smollm2_greedy_vs_llamacpp(void) {
    char path[512], err[DC_ERR_LEN];
    snprintf(path, sizeof(path), "%s/smollm2/ref.json", t_data_dir());
    struct json_object *root = json_object_from_file(path), *prompts;
    T_CHECK(root && json_object_object_get_ex(root, "prompts", &prompts), "cannot read %s", path);
    if (!root) return;
    struct dc_model *m = NULL;
    int rc = dc_model_load(&m, smollm2_path(), err);
    T_CHECK(rc == 0, "load %s: %s (run tools/setup.sh)", smollm2_path(), err);
    if (rc) {
        json_object_put(root);
        return;
    }
    struct dc_model_info mi;
    dc_model_get_info(m, &mi);
    int total = 0, ties = 0, n_dl = 0;
    double worst = 0, dls[1024];
    for (size_t p = 0; p < json_object_array_length(prompts); p++) {
        struct json_object *po = json_object_array_get_idx(prompts, p), *jname, *jp, *jg, *steps;
        json_object_object_get_ex(po, "name", &jname);
        json_object_object_get_ex(po, "prompt_ids", &jp);
        json_object_object_get_ex(po, "generated_ids", &jg);
        json_object_object_get_ex(po, "steps", &steps);
        int64_t np = (int64_t)json_object_array_length(jp), ng = (int64_t)json_object_array_length(jg);
        int32_t *ids = malloc((size_t)(np + ng) * sizeof(int32_t));
        for (int64_t i = 0; i < np; i++) ids[i] = json_object_get_int(json_object_array_get_idx(jp, (size_t)i));
        for (int64_t i = 0; i < ng; i++) ids[np + i] = json_object_get_int(json_object_array_get_idx(jg, (size_t)i));
        struct dc_session *s = NULL;
        rc = dc_session_create(&s, m, np + ng, 512, err);
        if (!rc) rc = dc_session_eval(s, ids, np, NULL, err);
        T_CHECK(rc == 0, "%s: %s", json_object_get_string(jname), err);
        int matched = 0;
        for (int64_t i = 0; i < ng && !rc; i++) {
            const float *lg = dc_session_logits(s);
            int want = ids[np + i], got = argmax(lg, mi.n_vocab);
            struct json_object *st = json_object_array_get_idx(steps, (size_t)i), *top2, *jm;
            json_object_object_get_ex(st, "top2", &top2);
            json_object_object_get_ex(st, "margin", &jm);
            struct json_object *t0 = json_object_array_get_idx(top2, 0), *t1 = json_object_array_get_idx(top2, 1), *v;
            json_object_object_get_ex(t0, "logit", &v);
            double want_logit = json_object_get_double(v);
            json_object_object_get_ex(t1, "id", &v);
            int second = json_object_get_int(v);
            double margin = json_object_get_double(jm);
            double dl = fabs((double)lg[want] - want_logit);
            if (dl > worst) worst = dl;
            if (n_dl < (int)(sizeof(dls) / sizeof(dls[0]))) dls[n_dl++] = dl;
            T_CHECK(dl <= LOGIT_TOL, "%s step %lld: logit of %d is %.4f, llama.cpp %.4f", json_object_get_string(jname),
                    (long long)i, want, (double)lg[want], want_logit);
            if (got == want) {
                matched++;
            } else {
                int tie = margin < NEAR_TIE && fabs((double)lg[got] - (double)lg[want]) < NEAR_TIE;
                (void)second;
                printf("  %s step %lld: deepc %d (%.4f) vs llama.cpp %d (%.4f), llama.cpp margin %.4f -> %s\n",
                       json_object_get_string(jname), (long long)i, got, (double)lg[got], want, (double)lg[want],
                       margin, tie ? "near tie, continuing from llama.cpp's token" : "MISMATCH");
                T_CHECK(tie, "%s step %lld: token %d != llama.cpp %d outside a near tie", json_object_get_string(jname),
                        (long long)i, got, want);
                ties += tie;
            }
            total++;
            if (i + 1 < ng) rc = dc_session_eval(s, &ids[np + i], 1, NULL, err);
            T_CHECK(rc == 0, "eval: %s", err);
        }
        printf("  %-16s %d/%lld tokens identical to llama.cpp\n", json_object_get_string(jname), matched, (long long)ng);
        dc_session_free(s);
        free(ids);
    }
    qsort(dls, (size_t)n_dl, sizeof(double), cmp_double);
    double median = n_dl ? dls[n_dl / 2] : 0;
    printf("  %d steps, %d near ties, |logit - llama.cpp| median %.4f, worst %.4f\n", total, ties, median, worst);
    T_CHECK(median <= LOGIT_MEDIAN_TOL, "median logit difference %.4f", median);
    T_CHECK(total >= 3 * 32, "only %d steps compared", total);
    dc_model_free(m);
    json_object_put(root);
}

int main(void) {
    T_BEGIN("smollm2");
    T_RUN(test_smollm2_greedy_vs_llamacpp);
    return T_END();
}
