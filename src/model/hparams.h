/*
 * hparams.h - hyperparameters of a model, from GGUF metadata or config.json.
 *
 * One struct for every architecture deepc runs.  The loaders fill it from the
 * keys the files really carry (GGUF `<arch>.*` keys as llama.cpp's converters
 * write them; Hugging Face config.json as transformers reads it) and check
 * that the numbers are consistent (heads divide, dims positive and bounded),
 * so the forward pass can trust them.
 */
#ifndef DC_HPARAMS_H
#define DC_HPARAMS_H

#include <stdint.h>

struct gguf;

enum hp_arch { HP_ARCH_LLAMA = 0, HP_ARCH_QWEN2 = 1, HP_ARCH_DEEPSEEK2 = 2 };

/* How RoPE pairs the dimensions of a head. */
enum hp_rope_pairing {
    HP_ROPE_ADJACENT = 0, /* (2i, 2i+1): llama.cpp "norm" type, GGUF llama (q/k permuted by the converter) */
    HP_ROPE_HALF = 1,     /* (i, i + d/2): "neox" / HF rotate_half */
};

enum hp_rope_scaling { HP_ROPE_SCALING_NONE = 0, HP_ROPE_SCALING_LINEAR, HP_ROPE_SCALING_LLAMA3,
                       HP_ROPE_SCALING_YARN };

struct hparams {
    int arch;             /* enum hp_arch */
    char arch_name[32];   /* "llama", "qwen2", ... as the file says */
    int64_t n_vocab;
    int64_t n_embd;       /* hidden size */
    int64_t n_layer;
    int64_t n_head;
    int64_t n_head_kv;
    int64_t head_dim;     /* per-head q/k/v width (dense models) */
    int64_t n_ff;         /* dense MLP intermediate size */
    int64_t n_ctx_train;  /* max_position_embeddings / context_length */
    float rms_eps;
    int tied_embeddings;  /* output head reuses token_embd */
    int qkv_bias;         /* q/k/v projections carry biases (qwen2) */

    /* RoPE */
    int rope_pairing;     /* enum hp_rope_pairing */
    int64_t rope_dim;     /* rotated dims per head (== head_dim for dense) */
    float rope_theta;
    int rope_scaling;     /* enum hp_rope_scaling */
    float rope_factor;
    int64_t rope_orig_ctx;     /* original_max_position_embeddings */
    float rope_low_freq_factor, rope_high_freq_factor; /* llama3 */
    float yarn_beta_fast, yarn_beta_slow;              /* yarn (defaults 32, 1) */
    float yarn_mscale, yarn_mscale_all_dim;            /* yarn attention factor inputs (0 = absent) */
    float yarn_attn_factor;                            /* explicit attention_factor (0 = derive) */
    int yarn_truncate;                                 /* floor/ceil the correction range (HF default 1) */
};

/* Fills hp from GGUF metadata.  Returns DC_OK, DC_EUNSUPPORTED for an
 * architecture deepc does not run, DC_EFORMAT for missing/inconsistent keys. */
int hparams_from_gguf(struct hparams *hp, const struct gguf *g, char *err);

/* Fills hp from the text of a Hugging Face config.json. */
int hparams_from_hf_config(struct hparams *hp, const char *config_json, char *err);

/* Checks bounds and divisibility shared by both loaders. */
int hparams_validate(const struct hparams *hp, char *err);

#endif
