/*
 * cmd_bench.c - `deepc bench MODEL [-p 512] [-n 128] [-t THREADS] [--ctx-depth N] [--reps R] [--json]`
 *
 * Prompt processing: one batched pass over -p token ids (fixed pseudo-random
 * ids, the same every run).  Decode: -n single-token steps after the prompt
 * (or after --ctx-depth cached positions).  Reports tokens/s for both and the
 * bytes of weights read per decoded token (the model's active bytes: for MoE
 * only the k chosen experts of each MoE layer, and one embedding row), so
 * achieved GB/s can be compared with memory bandwidth.
 * The best of --reps repetitions is reported (least disturbed by other load).
 */
#include <json-c/json.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "deepc.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int cmd_bench(int argc, char **argv) {
    const char *path = NULL;
    long n_prompt = 512, n_gen = 128, threads = 0, depth = 0, reps = 3;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-p") && i + 1 < argc) n_prompt = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc) n_gen = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-t") && i + 1 < argc) threads = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--ctx-depth") && i + 1 < argc) depth = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!path && argv[i][0] != '-') path = argv[i];
        else {
            fprintf(stderr, "deepc bench: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!path || n_prompt < 0 || n_gen < 0 || depth < 0 || threads < 0 || reps < 1 || n_prompt > 1 << 20 ||
        n_gen > 1 << 20 || depth > 1 << 24) {
        fprintf(stderr, "usage: deepc bench MODEL [-p 512] [-n 128] [-t THREADS] [--ctx-depth N] [--reps R] [--json]\n");
        return 2;
    }
    if (threads > 0) omp_set_num_threads((int)threads);
    char err[DC_ERR_LEN];
    struct dc_model *m = NULL;
    struct dc_session *s = NULL;
    int32_t *ids = NULL;
    int rc = 1;
    if (dc_model_load(&m, path, err)) {
        fprintf(stderr, "deepc: %s\n", err);
        return 1;
    }
    struct dc_model_info mi;
    dc_model_get_info(m, &mi);
    int64_t n_ctx = (depth > n_prompt ? depth : n_prompt) + n_gen + 1;
    if (dc_session_create(&s, m, n_ctx, 512, err)) {
        fprintf(stderr, "deepc: %s\n", err);
        goto done;
    }
    int64_t n_ids = n_ctx;
    ids = malloc((size_t)n_ids * sizeof(*ids));
    if (!ids) goto done;
    unsigned long long st = 0x9e3779b97f4a7c15ULL;
    for (int64_t i = 0; i < n_ids; i++) {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        ids[i] = (int32_t)(st % (unsigned long long)mi.n_vocab);
    }
    double best_pp = 0, best_tg = 0;
    for (long r = 0; r < reps; r++) {
        dc_session_truncate(s, 0);
        if (n_prompt > 0) {
            double t0 = now_s();
            if (dc_session_eval(s, ids, n_prompt, NULL, err)) {
                fprintf(stderr, "deepc: %s\n", err);
                goto done;
            }
            double tps = (double)n_prompt / (now_s() - t0);
            if (tps > best_pp) best_pp = tps;
        }
        if (n_gen > 0) {
            dc_session_truncate(s, 0);
            if (depth > 0 && dc_session_eval(s, ids, depth, NULL, err)) {
                fprintf(stderr, "deepc: %s\n", err);
                goto done;
            }
            double t0 = now_s();
            for (long i = 0; i < n_gen; i++) {
                if (dc_session_eval(s, &ids[depth + i], 1, NULL, err)) {
                    fprintf(stderr, "deepc: %s\n", err);
                    goto done;
                }
            }
            double tps = (double)n_gen / (now_s() - t0);
            if (tps > best_tg) best_tg = tps;
        }
    }
    /* Weights one decoded token reads (spec/MODEL.md 7): every bound weight
     * once, except all but one row of an untied embedding table and, for MoE
     * models, the routed experts the token does not choose (k of E per MoE
     * layer are read).  A tied head reads the whole embedding matrix. */
    double bytes_per_tok = (double)(mi.active_bytes_per_token ? mi.active_bytes_per_token : mi.weight_bytes);
    double gbs = bytes_per_tok * best_tg / 1e9;
    int nt = threads > 0 ? (int)threads : omp_get_max_threads();
    if (json) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "model", json_object_new_string(path));
        json_object_object_add(o, "threads", json_object_new_int(nt));
        json_object_object_add(o, "n_prompt", json_object_new_int64(n_prompt));
        json_object_object_add(o, "n_gen", json_object_new_int64(n_gen));
        json_object_object_add(o, "ctx_depth", json_object_new_int64(depth));
        json_object_object_add(o, "prompt_tps", json_object_new_double(best_pp));
        json_object_object_add(o, "decode_tps", json_object_new_double(best_tg));
        json_object_object_add(o, "weight_bytes_per_token", json_object_new_double(bytes_per_tok));
        json_object_object_add(o, "weight_bytes_total", json_object_new_double((double)mi.weight_bytes));
        json_object_object_add(o, "decode_gbs", json_object_new_double(gbs));
        json_object_object_add(o, "kernels", json_object_new_string(mi.kernels));
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    } else {
        printf("model %s, %d threads, kernels %s\n", path, nt, mi.kernels);
        printf("prompt  %ld tokens: %.2f tokens/s\n", n_prompt, best_pp);
        printf("decode  %ld tokens at depth %ld: %.2f tokens/s, %.1f MB of weights/token, %.2f GB/s\n", n_gen, depth,
               best_tg, bytes_per_tok / 1e6, gbs);
        if (mi.n_expert > 0)
            printf("        (MoE: %lld of %lld experts per token; all weights %.1f MB)\n", (long long)mi.n_expert_used,
                   (long long)mi.n_expert, (double)mi.weight_bytes / 1e6);
    }
    rc = 0;
done:
    free(ids);
    dc_session_free(s);
    dc_model_free(m);
    return rc;
}
