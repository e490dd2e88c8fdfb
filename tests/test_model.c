/*
 * test_model.c - loading maps weights in place; hostile model content is refused.
 *
 * Uses the real SmolLM2-135M-Instruct Q4_1 GGUF that tools/setup.sh installs
 * (.deps/models) and the tiny fixtures from tests/data/dense.
 */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "deepc.h"
#include "test.h"

static uint64_t rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long long size, res;
    int ok = fscanf(f, "%llu %llu", &size, &res) == 2;
    fclose(f);
    return ok ? (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

static const char *smollm2_path(void) {
    const char *p = getenv("DEEPC_SMOLLM2");
    return p ? p : ".deps/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

/* Loading must not copy weights: resident memory grows by the metadata pages
 * touched, not by the ~94 MiB of weights. */
static void test_model_load_maps_in_place(void) {
#ifdef __SANITIZE_ADDRESS__
    printf("  (skipped in the ASan build: shadow memory distorts RSS; checked in the normal build)\n");
    return;
#endif
    char err[DC_ERR_LEN];
    uint64_t r0 = rss_bytes();
    struct dc_model *m = NULL;
    int rc = dc_model_load(&m, smollm2_path(), err);
    T_CHECK(rc == 0, "load %s: %s (run tools/setup.sh)", smollm2_path(), err);
    if (rc) return;
    uint64_t r1 = rss_bytes();
    struct dc_model_info mi;
    dc_model_get_info(m, &mi);
    printf("  file %.1f MiB, weights %.1f MiB, RSS growth on load %.2f MiB, owned copies %llu bytes\n",
           (double)mi.file_size / 1048576.0, (double)mi.weight_bytes / 1048576.0, (double)(r1 - r0) / 1048576.0,
           (unsigned long long)mi.owned_bytes);
    T_CHECK(mi.weight_bytes > 90u << 20, "weights %llu bytes", (unsigned long long)mi.weight_bytes);
    T_CHECK(r1 - r0 < mi.weight_bytes / 8, "RSS grew by %llu bytes on load: weights were copied?",
            (unsigned long long)(r1 - r0));
    T_CHECK(mi.owned_bytes == 0, "F32 norms should be used in place, %llu bytes copied",
            (unsigned long long)mi.owned_bytes);
    T_CHECK(!strcmp(mi.arch, "llama") && mi.n_layer == 30 && mi.n_embd == 576 && mi.n_head == 9 &&
                mi.n_head_kv == 3 && mi.n_vocab == 49152,
            "SmolLM2-135M shapes: arch %s layers %lld embd %lld", mi.arch, (long long)mi.n_layer,
            (long long)mi.n_embd);
    dc_model_free(m);
}

/* A model whose tensors do not fit its hyperparameters is refused with a
 * message, and a missing file gives an i/o error. */
static void test_model_load_errors(void) {
    char err[DC_ERR_LEN] = "";
    struct dc_model *m = NULL;
    T_CHECK(dc_model_load(&m, "/nonexistent/model.gguf", err) < 0 && m == NULL && err[0], "missing file");
    printf("  missing file: %s\n", err);
    /* An HF directory whose config.json disagrees with its tensors. */
    char dir[] = "/tmp/deepc-test-model-XXXXXX";
    T_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[512], src[512];
    snprintf(path, sizeof(path), "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"model_type\": \"llama\", \"vocab_size\": 320, \"hidden_size\": 128, \"num_hidden_layers\": 3,"
               " \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"intermediate_size\": 160}");
    fclose(f);
    snprintf(src, sizeof(src), "%s/dense/llama_gqa/hf/model.safetensors", t_data_dir());
    snprintf(path, sizeof(path), "%s/model.safetensors", dir);
    char abs[1024];
    T_CHECK(realpath(src, abs) != NULL, "realpath %s", src);
    T_CHECK(symlink(abs, path) == 0, "symlink");
    err[0] = 0;
    int rc = dc_model_load(&m, dir, err);
    T_CHECK(rc < 0 && m == NULL && strstr(err, "shape"), "mismatched config accepted: rc %d %s", rc, err);
    printf("  mismatched config: %s\n", err);
    /* Unsupported architecture. */
    snprintf(path, sizeof(path), "%s/config.json", dir);
    f = fopen(path, "w");
    fprintf(f, "{\"model_type\": \"gpt_neox\", \"vocab_size\": 320}");
    fclose(f);
    err[0] = 0;
    rc = dc_model_load(&m, dir, err);
    T_CHECK(rc < 0 && strstr(err, "gpt_neox"), "unsupported arch: %s", err);
    printf("  unsupported architecture: %s\n", err);
    /* Not JSON at all. */
    f = fopen(path, "w");
    fprintf(f, "{\"model_type\": ");
    fclose(f);
    err[0] = 0;
    rc = dc_model_load(&m, dir, err);
    T_CHECK(rc < 0 && err[0], "truncated config.json accepted");
    printf("  truncated config.json: %s\n", err);
    unlink(path);
    snprintf(path, sizeof(path), "%s/model.safetensors", dir);
    unlink(path);
    rmdir(dir);
}

int main(void) {
    T_BEGIN("model");
    T_RUN(test_model_load_maps_in_place);
    T_RUN(test_model_load_errors);
    return T_END();
}
