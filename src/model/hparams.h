/*
 * hparams.h - hyperparameters of a model, from GGUF metadata or config.json.
 *
 * One struct for every architecture deepc runs.  The loaders fill it from the
 * keys the files really carry (GGUF `<arch>.*` keys as llama.cpp's converters
 * write them; Hugging Face config.json as transformers reads it) and check
 * that the numbers are consistent (heads divide, dims positive and bounded),
 * so the forward pass can trust them.
 *
 * deepseek2 (DeepSeek-V2/V2-Lite/V3/R1; GGUF `deepseek2.*`, HF model_type
 * deepseek_v2 / deepseek_v3) adds the MLA and MoE fields below.  Every
 * routing and attention choice is taken from keys (q_lora_rank,
 * expert_gating_func / scoring_func, topk_method, n_group, norm_topk_prob,
 * routed_scaling_factor, ...), never from the architecture name or the layer
 * count; where a key is absent the value is what the reading implementation
 * (llama.cpp for GGUF, transformers for config.json) assumes.
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

/* Router score function (GGUF expert_gating_func values). */
enum hp_gating { HP_GATING_SOFTMAX = 1, HP_GATING_SIGMOID = 2 };

/* How experts are restricted to the best groups before the top-k (spec 3.3). */
enum hp_group_rule {
    HP_GROUP_NONE = 0, /* plain top-k over all experts (V2-Lite "greedy") */
    HP_GROUP_MAX = 1,  /* group score = max score in the group (V2 "group_limited_greedy") */
    HP_GROUP_TOP2 = 2, /* group score = sum of the 2 best biased scores (V3 "noaux_tc") */
};

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

    /* deepseek2 MLA (spec 1).  head_dim = d_qk = qk_nope_dim + rope_dim; n_head_kv = 1 (one shared latent
     * "head" per token is all the cache holds). */
    int64_t q_lora_rank;       /* r_q; 0 = q_proj straight from the normed hidden state (V2-Lite) */
    int64_t kv_lora_rank;      /* r_kv: latent width */
    int64_t qk_nope_dim;       /* d_n; the rope part d_r is rope_dim */
    int64_t v_head_dim;        /* d_v */
    float rms_eps_latent;      /* eps of the q/kv latent norms: 1e-6 in HF (not rms_norm_eps), rms_eps in llama.cpp */
    float yarn_log_mul;        /* 0.1 * mscale_all_dim: logit mscale m = 1 + yarn_log_mul * ln(factor) */
    float attn_scale;          /* softmax scale d_qk^-1/2 * m^2 (spec 1.3); deepseek2 only */
    /* deepseek2 MoE (spec 3). */
    int64_t n_layer_dense;     /* leading dense layers (first_k_dense_replace / leading_dense_block_count) */
    int64_t moe_layer_freq;    /* from there on, layer l is MoE when l % freq == 0 (always 1 so far) */
    int64_t n_expert;          /* routed experts E */
    int64_t n_expert_used;     /* k */
    int64_t n_expert_shared;   /* S: shared experts, run as one MLP of width S * n_ff_exp */
    int64_t n_ff_exp;          /* F_e */
    int expert_gating;         /* enum hp_gating */
    int expert_weights_norm;   /* renormalise the k weights to sum 1 */
    float expert_weights_scale;/* routed_scaling_factor */
    int64_t n_group, n_group_used;  /* expert groups and groups kept (1, 1 = no groups) */
    int group_rule;            /* enum hp_group_rule */
    int expert_bias;           /* selection adds e_score_correction_bias (GGUF: set by the model from the tensor) */
    int64_t n_mtp_layers;      /* MTP layers the config announces (num_nextn_predict_layers); never run */
};

/* 1 if layer l of a deepseek2 model has a MoE feed-forward (else dense). */
static inline int hparams_layer_is_moe(const struct hparams *hp, int64_t l) {
    return hp->n_expert > 0 && l >= hp->n_layer_dense && (hp->moe_layer_freq <= 1 || l % hp->moe_layer_freq == 0);
}

/* Fills hp from GGUF metadata.  Returns DC_OK, DC_EUNSUPPORTED for an
 * architecture deepc does not run, DC_EFORMAT for missing/inconsistent keys. */
int hparams_from_gguf(struct hparams *hp, const struct gguf *g, char *err);

/* Fills hp from the text of a Hugging Face config.json. */
int hparams_from_hf_config(struct hparams *hp, const char *config_json, char *err);

/* Checks bounds and divisibility shared by both loaders. */
int hparams_validate(const struct hparams *hp, char *err);

#endif
