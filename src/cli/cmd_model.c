/*
 * cmd_model.c - `deepc info`, `deepc logits`, `deepc run --ids`: model
 * inspection and raw token-id evaluation.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "deepc.h"

int cli_parse_ids(const char *s, int32_t **ids, int64_t *n) {
    size_t cap = 16, cnt = 0;
    int32_t *v = malloc(cap * sizeof(*v));
    if (!v) return -1;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x < 0 || x > INT32_MAX || (*end && *end != ',')) {
            free(v);
            return -1;
        }
        if (cnt == cap) {
            cap *= 2;
            int32_t *nv = realloc(v, cap * sizeof(*v));
            if (!nv) {
                free(v);
                return -1;
            }
            v = nv;
        }
        v[cnt++] = (int32_t)x;
        p = *end ? end + 1 : end;
    }
    if (cnt == 0) {
        free(v);
        return -1;
    }
    *ids = v;
    *n = (int64_t)cnt;
    return 0;
}

uint64_t cli_rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long long size, res;
    int ok = fscanf(f, "%llu %llu", &size, &res) == 2;
    fclose(f);
    return ok ? (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

static double mib(uint64_t b) { return (double)b / (1024.0 * 1024.0); }

int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!path && argv[i][0] != '-') path = argv[i];
        else {
            fprintf(stderr, "deepc info: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: deepc info MODEL [--json]\n");
        return 2;
    }
    char err[DC_ERR_LEN];
    uint64_t rss0 = cli_rss_bytes();
    struct dc_model *m;
    if (dc_model_load(&m, path, err)) {
        fprintf(stderr, "deepc: %s\n", err);
        return 1;
    }
    uint64_t rss1 = cli_rss_bytes();
    struct dc_model_info mi;
    dc_model_get_info(m, &mi);
    /* What a session of a typical size allocates on top: the KV cache and
     * the activation scratch, sized once from the config. */
    int64_t sess_ctx = mi.n_ctx_train < 4096 ? mi.n_ctx_train : 4096;
    uint64_t sess_kv = 0, sess_scratch = 0;
    struct dc_session *sess = NULL;
    if (dc_session_create(&sess, m, sess_ctx, 512, err) == 0) {
        sess_kv = dc_session_kv_bytes(sess);
        sess_scratch = dc_session_scratch_bytes(sess);
        dc_session_free(sess);
    }
    /* Count tensors per type. */
    const char *tnames[64];
    int64_t tcounts[64];
    int ntypes = 0;
    for (int64_t i = 0; i < dc_model_n_tensors(m); i++) {
        const char *name, *tn;
        int64_t ne[4];
        dc_model_tensor_info(m, i, &name, &tn, ne);
        int j;
        for (j = 0; j < ntypes; j++)
            if (!strcmp(tnames[j], tn)) break;
        if (j == ntypes && ntypes < 64) {
            tnames[ntypes] = tn;
            tcounts[ntypes++] = 0;
        }
        if (j < 64) tcounts[j]++;
    }
    if (json) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "path", json_object_new_string(path));
        json_object_object_add(o, "format", json_object_new_string(mi.source));
        json_object_object_add(o, "architecture", json_object_new_string(mi.arch));
        json_object_object_add(o, "n_params", json_object_new_int64(mi.n_params));
        json_object_object_add(o, "n_vocab", json_object_new_int64(mi.n_vocab));
        json_object_object_add(o, "n_embd", json_object_new_int64(mi.n_embd));
        json_object_object_add(o, "n_layer", json_object_new_int64(mi.n_layer));
        json_object_object_add(o, "n_head", json_object_new_int64(mi.n_head));
        json_object_object_add(o, "n_head_kv", json_object_new_int64(mi.n_head_kv));
        json_object_object_add(o, "head_dim", json_object_new_int64(mi.head_dim));
        json_object_object_add(o, "n_ff", json_object_new_int64(mi.n_ff));
        json_object_object_add(o, "context_length", json_object_new_int64(mi.n_ctx_train));
        json_object_object_add(o, "file_size", json_object_new_int64((int64_t)mi.file_size));
        json_object_object_add(o, "weight_bytes", json_object_new_int64((int64_t)mi.weight_bytes));
        json_object_object_add(o, "allocated_at_load_bytes", json_object_new_int64((int64_t)mi.owned_bytes));
        json_object_object_add(o, "packed_weight_bytes", json_object_new_int64((int64_t)mi.packed_bytes));
        json_object_object_add(o, "kv_bytes_per_token", json_object_new_int64((int64_t)mi.kv_bytes_per_token));
        json_object_object_add(o, "rss_after_load_bytes", json_object_new_int64((int64_t)rss1));
        json_object_object_add(o, "rss_growth_on_load_bytes", json_object_new_int64((int64_t)(rss1 - rss0)));
        json_object_object_add(o, "session_ctx", json_object_new_int64(sess_ctx));
        json_object_object_add(o, "session_kv_bytes", json_object_new_int64((int64_t)sess_kv));
        json_object_object_add(o, "session_scratch_bytes", json_object_new_int64((int64_t)sess_scratch));
        json_object_object_add(o, "tied_embeddings", json_object_new_boolean(mi.tied_embeddings));
        json_object_object_add(o, "rope_scaling", json_object_new_string(mi.rope_scaling));
        json_object_object_add(o, "kernels", json_object_new_string(mi.kernels));
        json_object_object_add(o, "n_expert", json_object_new_int64(mi.n_expert));
        json_object_object_add(o, "n_expert_used", json_object_new_int64(mi.n_expert_used));
        json_object_object_add(o, "active_bytes_per_token", json_object_new_int64((int64_t)mi.active_bytes_per_token));
        json_object_object_add(o, "mtp_layers_not_run", json_object_new_int64(mi.n_mtp_layers));
        struct json_object *types = json_object_new_object();
        for (int j = 0; j < ntypes; j++) json_object_object_add(types, tnames[j], json_object_new_int64(tcounts[j]));
        json_object_object_add(o, "tensor_types", types);
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    } else {
        printf("model:            %s (%s)\n", path, mi.source);
        printf("architecture:     %s\n", mi.arch);
        printf("parameters:       %lld (%.2f M)\n", (long long)mi.n_params, (double)mi.n_params / 1e6);
        printf("layers:           %lld, hidden %lld, heads %lld (kv %lld, dim %lld), ffn %lld, vocab %lld\n",
               (long long)mi.n_layer, (long long)mi.n_embd, (long long)mi.n_head, (long long)mi.n_head_kv,
               (long long)mi.head_dim, (long long)mi.n_ff, (long long)mi.n_vocab);
        printf("context length:   %lld (rope scaling: %s)\n", (long long)mi.n_ctx_train, mi.rope_scaling);
        printf("tensor types:    ");
        for (int j = 0; j < ntypes; j++) printf(" %s x%lld", tnames[j], (long long)tcounts[j]);
        printf("\n");
        printf("file size:        %.2f MiB (weights %.2f MiB, used in place)\n", mib(mi.file_size),
               mib(mi.weight_bytes));
        printf("allocated:        %.3f MiB at load (f32 copies of small vectors); RSS after load %.2f MiB\n",
               mib(mi.owned_bytes), mib(rss1));
        if (mi.packed_bytes > 0)
            printf("packed weights:   %.2f MiB copied for the %s kernels\n", mib(mi.packed_bytes), mi.kernels);
        if (mi.n_expert > 0)
            printf("experts:          %lld routed, %lld per token: a decoded token reads %.2f MiB of weights\n",
                   (long long)mi.n_expert, (long long)mi.n_expert_used, mib(mi.active_bytes_per_token));
        if (mi.n_mtp_layers > 0)
            printf("MTP:              %lld multi-token-prediction layer(s) in the file, recognised and not run\n",
                   (long long)mi.n_mtp_layers);
        printf("KV cache:         %llu bytes per token (f32%s)\n", (unsigned long long)mi.kv_bytes_per_token,
               strncmp(mi.arch, "deepseek", 8) == 0 ? ", MLA latent + rope key per layer" : "");
        printf("session:          context %lld allocates KV cache %.2f MiB + scratch %.2f MiB (batch 512)\n",
               (long long)sess_ctx, mib(sess_kv), mib(sess_scratch));
        printf("kernels:          %s\n", mi.kernels);
    }
    dc_model_free(m);
    return 0;
}

int cmd_logits(int argc, char **argv) {
    const char *path = NULL, *ids_s = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ids") && i + 1 < argc) ids_s = argv[++i];
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!path && argv[i][0] != '-') path = argv[i];
        else {
            fprintf(stderr, "deepc logits: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!path || !ids_s || !out) {
        fprintf(stderr, "usage: deepc logits MODEL --ids 1,2,3 --out FILE\n");
        return 2;
    }
    int32_t *ids;
    int64_t n;
    if (cli_parse_ids(ids_s, &ids, &n)) {
        fprintf(stderr, "deepc logits: --ids must be a comma-separated list of non-negative integers\n");
        return 2;
    }
    char err[DC_ERR_LEN];
    int rc = 1;
    struct dc_model *m = NULL;
    struct dc_session *s = NULL;
    float *logits = NULL;
    FILE *f = NULL;
    if (dc_model_load(&m, path, err) || dc_session_create(&s, m, n, 512, err)) {
        fprintf(stderr, "deepc: %s\n", err);
        goto done;
    }
    struct dc_model_info mi;
    dc_model_get_info(m, &mi);
    logits = malloc((size_t)n * (size_t)mi.n_vocab * sizeof(float));
    if (!logits) {
        fprintf(stderr, "deepc: out of memory for %lld x %lld logits\n", (long long)n, (long long)mi.n_vocab);
        goto done;
    }
    if (dc_session_eval(s, ids, n, logits, err)) {
        fprintf(stderr, "deepc: %s\n", err);
        goto done;
    }
    f = fopen(out, "wb");
    if (!f || fwrite(logits, sizeof(float), (size_t)n * (size_t)mi.n_vocab, f) != (size_t)n * (size_t)mi.n_vocab) {
        fprintf(stderr, "deepc: cannot write %s: %s\n", out, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (f && fclose(f) && rc == 0) {
        fprintf(stderr, "deepc: cannot write %s\n", out);
        rc = 1;
    }
    free(logits);
    free(ids);
    dc_session_free(s);
    dc_model_free(m);
    return rc;
}

static int argmax(const float *x, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return (int)best;
}

int cmd_run_ids(int argc, char **argv) {
    const char *path = NULL, *ids_s = NULL;
    long n_gen = 32;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ids") && i + 1 < argc) ids_s = argv[++i];
        else if (!strcmp(argv[i], "-n") && i + 1 < argc) n_gen = strtol(argv[++i], NULL, 10);
        else if (!path && argv[i][0] != '-') path = argv[i];
        else {
            fprintf(stderr, "deepc run: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!path || !ids_s || n_gen < 0 || n_gen > 1000000) {
        fprintf(stderr, "usage: deepc run MODEL --ids 1,2,3 [-n N]\n");
        return 2;
    }
    int32_t *ids;
    int64_t n;
    if (cli_parse_ids(ids_s, &ids, &n)) {
        fprintf(stderr, "deepc run: --ids must be a comma-separated list of non-negative integers\n");
        return 2;
    }
    char err[DC_ERR_LEN];
    int rc = 1;
    struct dc_model *m = NULL;
    struct dc_session *s = NULL;
    if (dc_model_load(&m, path, err) || dc_session_create(&s, m, n + n_gen, 512, err) ||
        dc_session_eval(s, ids, n, NULL, err)) {
        fprintf(stderr, "deepc: %s\n", err);
        goto done;
    }
    struct dc_model_info mi;
    dc_model_get_info(m, &mi);
    for (long i = 0; i < n_gen; i++) {
        int32_t next = argmax(dc_session_logits(s), mi.n_vocab);
        printf("%s%d", i ? " " : "", next);
        fflush(stdout);
        if (i + 1 < n_gen && dc_session_eval(s, &next, 1, NULL, err)) {
            fprintf(stderr, "deepc: %s\n", err);
            goto done;
        }
    }
    printf("\n");
    rc = 0;
done:
    free(ids);
    dc_session_free(s);
    dc_model_free(m);
    return rc;
}
