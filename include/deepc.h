/*
 * deepc.h - the public C API of deepc: load a model, run token ids through it.
 *
 *   struct dc_model *m;  char err[DC_ERR_LEN];
 *   if (dc_model_load(&m, "model.gguf", err)) { fprintf(stderr, "%s\n", err); ... }
 *   struct dc_session *s;
 *   dc_session_create(&s, m, 4096, 512, err);     // context 4096, batches of 512
 *   dc_session_eval(s, ids, n, NULL, err);         // prompt: one batched pass
 *   const float *logits = dc_session_logits(s);    // next-token logits [n_vocab]
 *   ...
 *   dc_session_free(s); dc_model_free(m);
 *
 * A model is read-only after loading and may be shared by many sessions.  A
 * session owns one KV cache and must be used by one thread at a time.  All
 * functions that can fail return 0 or a negative DC_E* code and write a
 * one-line message into err (DC_ERR_LEN bytes) when err is not NULL.
 * MODEL paths are a GGUF file or a Hugging Face checkpoint directory.
 */
#ifndef DEEPC_H
#define DEEPC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DC_ERR_LEN 256

struct dc_model;
struct dc_session;

struct dc_model_info {
    const char *arch;          /* "llama", "qwen2", ... */
    const char *source;        /* "gguf" or "safetensors" */
    int64_t n_params;          /* elements of all bound weights */
    int64_t n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff;
    int64_t n_ctx_train;       /* trained context length */
    uint64_t file_size;        /* bytes of the mapped file(s) */
    uint64_t weight_bytes;     /* bytes of the bound weights (views into the map) */
    uint64_t owned_bytes;      /* bytes copied at load (small vectors converted to f32) */
    uint64_t packed_bytes;     /* bytes of weights copied by dc_model_pack (0 if not packed) */
    uint64_t kv_bytes_per_token;
    int tied_embeddings;
    const char *rope_scaling;  /* "none", "linear", "llama3", "yarn" */
    const char *kernels;       /* active kernel variant: "ref", "avx2", "avx512" */
    int64_t n_expert, n_expert_used; /* MoE: routed experts and experts per token (0 for dense models) */
    int64_t n_mtp_layers;      /* multi-token-prediction layers in the file: recognised, never run */
    uint64_t active_bytes_per_token; /* weight bytes one decoded token reads (MoE: only k of E experts;
                                        one embedding row) */
};

int dc_model_load(struct dc_model **out, const char *path, char *err);
void dc_model_free(struct dc_model *m); /* NULL is a no-op */
/* Copies the weight matrices into the kernels' packed layout (faster 4-bit
 * decode and prompt processing; costs a second copy of the matrices in
 * memory and load time).  Call right after dc_model_load, before any session
 * is created; a second call does nothing. */
int dc_model_pack(struct dc_model *m, char *err);
void dc_model_get_info(const struct dc_model *m, struct dc_model_info *info);
/* The model's weight stream alone: every matrix a forward pass multiplies
 * (all routed experts of a MoE layer) times one token, one call per matrix,
 * back to back, with the kernels and threads of a decode step; one untimed
 * pass, then reps timed ones (1..1000).  What decode's products reach when
 * nothing runs between them.  Per weight type, the bytes and the seconds of
 * the fastest pass. */
#define DC_PRODUCTS_MAX_TYPES 16
struct dc_products {
    int64_t n_mats;          /* matrices in a pass */
    uint64_t bytes;          /* weight bytes of a pass */
    double best_s, median_s; /* the fastest and the median pass, seconds */
    int reps, n_types;
    struct {
        const char *type_name; /* "Q4_0", ... */
        int64_t n_mats;
        uint64_t bytes;
        double s;              /* seconds of the fastest pass spent on this type */
    } types[DC_PRODUCTS_MAX_TYPES];
};
int dc_model_time_products(struct dc_model *m, int reps, struct dc_products *out, char *err);
/* Name and type of weight tensor i (0 <= i < n), for inspection. */
int64_t dc_model_n_tensors(const struct dc_model *m);
int dc_model_tensor_info(const struct dc_model *m, int64_t i, const char **name, const char **type_name,
                         int64_t ne[4]);

/* n_ctx: positions the KV cache holds; n_batch: max tokens per pass. */
int dc_session_create(struct dc_session **out, const struct dc_model *m, int64_t n_ctx, int64_t n_batch,
                      char *err);
/* The same with the KV cache element type: NULL or "f32" (the default),
 * "f16" (dense models: keys and values as IEEE half, half the bytes),
 * "bf16" (DeepSeek latent cache: half the bytes, bf16 attention kernels) or
 * "q8" (DeepSeek latent cache as 8-bit codes, integer attention kernels);
 * DC_EINVAL for another name, DC_EUNSUPPORTED for f16 on a DeepSeek model
 * or bf16/q8 on a dense one. */
int dc_session_create_kv(struct dc_session **out, const struct dc_model *m, int64_t n_ctx, int64_t n_batch,
                         const char *cache_type, char *err);
void dc_session_free(struct dc_session *s); /* NULL is a no-op */
/* Evaluates ids at the next positions.  logits_all: NULL, or room for
 * n * n_vocab floats that receives every position's logits. */
int dc_session_eval(struct dc_session *s, const int32_t *ids, int64_t n, float *logits_all, char *err);
/* Logits of the last evaluated token when logits_all was NULL [n_vocab]. */
const float *dc_session_logits(const struct dc_session *s);
int64_t dc_session_n_past(const struct dc_session *s);
/* Drops cached positions >= n_past. */
void dc_session_truncate(struct dc_session *s, int64_t n_past);
/* Bytes this session allocated: KV cache and scratch. */
uint64_t dc_session_kv_bytes(const struct dc_session *s);
uint64_t dc_session_scratch_bytes(const struct dc_session *s);

#ifdef __cplusplus
}
#endif

#endif
