/*
 * hparams.c - hyperparameters from GGUF metadata or config.json (see hparams.h).
 */
#include "hparams.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "gguf.h"

/* Ceilings far above any real model, so a hostile file cannot make us size
 * buffers from absurd numbers. */
#define HP_MAX_DIM (1 << 20)
#define HP_MAX_VOCAB (1 << 22)
#define HP_MAX_LAYERS 1024
#define HP_MAX_HEADS 4096

static int arch_from_name(const char *name) {
    if (!strcmp(name, "llama")) return HP_ARCH_LLAMA;
    if (!strcmp(name, "qwen2")) return HP_ARCH_QWEN2;
    /* GGUF general.architecture, and HF model_type of both generations */
    if (!strcmp(name, "deepseek2") || !strcmp(name, "deepseek_v2") || !strcmp(name, "deepseek_v3"))
        return HP_ARCH_DEEPSEEK2;
    return -1;
}

static void hparams_defaults(struct hparams *hp) {
    memset(hp, 0, sizeof(*hp));
    hp->rms_eps = 1e-6f;
    hp->rope_theta = 10000.0f;
    hp->rope_factor = 1.0f;
    hp->yarn_beta_fast = 32.0f;
    hp->yarn_beta_slow = 1.0f;
    hp->yarn_truncate = 1;
    hp->rope_low_freq_factor = 1.0f;
    hp->rope_high_freq_factor = 4.0f;
    hp->moe_layer_freq = 1;
    hp->expert_gating = HP_GATING_SOFTMAX;
    hp->expert_weights_scale = 1.0f;
    hp->n_group = 1;
    hp->n_group_used = 1;
}

/* Softmax scale of MLA: d_qk^-1/2, times m^2 with m = 1 + yarn_log_mul * ln(factor)
 * when RoPE scaling is on (HF yarn_apply_mscale: any non-default rope type with
 * a non-zero mscale_all_dim; llama.cpp: kq_scale = m^2 / sqrt(d_qk)).  The whole
 * logit is scaled, nope and rope parts alike (spec 1.3, pitfall 1). */
static void hparams_mla_scale(struct hparams *hp) {
    double d_qk = (double)(hp->qk_nope_dim + hp->rope_dim);
    double scale = 1.0 / sqrt(d_qk);
    if (hp->rope_scaling != HP_ROPE_SCALING_NONE && hp->yarn_log_mul != 0.0f && hp->rope_factor > 1.0f) {
        double m = 1.0 + (double)hp->yarn_log_mul * log((double)hp->rope_factor);
        scale *= m * m;
    }
    hp->attn_scale = (float)scale;
}

/* Bounds and consistency of the deepseek2 fields. */
static int hparams_validate_deepseek2(const struct hparams *hp, char *err) {
#define HP_RANGE(field, lo, hi)                                                                  \
    if (hp->field < (lo) || hp->field > (hi))                                                    \
        return dc_errf(err, DC_EFORMAT, "model: %s = %lld out of range [%lld, %lld]", #field,     \
                       (long long)hp->field, (long long)(lo), (long long)(hi));
    HP_RANGE(q_lora_rank, 0, HP_MAX_DIM);
    HP_RANGE(kv_lora_rank, 1, 65536);
    HP_RANGE(qk_nope_dim, 1, 4096);
    HP_RANGE(v_head_dim, 1, 4096);
    HP_RANGE(rope_dim, 2, 4096);
    HP_RANGE(n_layer_dense, 0, hp->n_layer);
    HP_RANGE(moe_layer_freq, 1, HP_MAX_LAYERS);
    HP_RANGE(n_expert, 0, 65536);
    HP_RANGE(n_mtp_layers, 0, HP_MAX_LAYERS);
    if (hp->n_expert > 0) {
        HP_RANGE(n_expert_used, 1, hp->n_expert);
        HP_RANGE(n_expert_shared, 0, 1024);
        HP_RANGE(n_ff_exp, 1, HP_MAX_DIM);
        HP_RANGE(n_group, 1, hp->n_expert);
        HP_RANGE(n_group_used, 1, hp->n_group);
    }
#undef HP_RANGE
    if (hp->n_expert > 0 && hp->n_expert % hp->n_group)
        return dc_errf(err, DC_EFORMAT, "model: %lld experts do not split into %lld groups", (long long)hp->n_expert,
                       (long long)hp->n_group);
    if (hp->n_expert > 0 && hp->group_rule != HP_GROUP_NONE &&
        hp->n_expert_used > hp->n_group_used * (hp->n_expert / hp->n_group))
        return dc_errf(err, DC_EFORMAT, "model: %lld experts per token do not fit in %lld of %lld groups",
                       (long long)hp->n_expert_used, (long long)hp->n_group_used, (long long)hp->n_group);
    if (hp->group_rule == HP_GROUP_TOP2 && hp->n_expert / hp->n_group < 2)
        return dc_errf(err, DC_EFORMAT, "model: top-2 group scores need at least 2 experts per group");
    if (hp->expert_gating != HP_GATING_SOFTMAX && hp->expert_gating != HP_GATING_SIGMOID)
        return dc_errf(err, DC_EUNSUPPORTED, "model: expert gating function %d not supported", hp->expert_gating);
    if (!isfinite(hp->expert_weights_scale) || !isfinite(hp->attn_scale) || !(hp->attn_scale > 0.0f))
        return dc_errf(err, DC_EFORMAT, "model: expert weight scale or attention scale is not finite");
    if (hp->head_dim != hp->qk_nope_dim + hp->rope_dim)
        return dc_errf(err, DC_EFORMAT, "model: head dim %lld != nope %lld + rope %lld", (long long)hp->head_dim,
                       (long long)hp->qk_nope_dim, (long long)hp->rope_dim);
    return DC_OK;
}

int hparams_validate(const struct hparams *hp, char *err) {
#define HP_RANGE(field, lo, hi)                                                                  \
    if (hp->field < (lo) || hp->field > (hi))                                                    \
        return dc_errf(err, DC_EFORMAT, "model: %s = %lld out of range [%lld, %lld]", #field,     \
                       (long long)hp->field, (long long)(lo), (long long)(hi));
    HP_RANGE(n_vocab, 1, HP_MAX_VOCAB);
    HP_RANGE(n_embd, 1, HP_MAX_DIM);
    HP_RANGE(n_layer, 1, HP_MAX_LAYERS);
    HP_RANGE(n_head, 1, HP_MAX_HEADS);
    HP_RANGE(n_head_kv, 1, hp->n_head);
    HP_RANGE(head_dim, 1, 4096);
    HP_RANGE(n_ff, 1, HP_MAX_DIM);
    HP_RANGE(rope_dim, 0, hp->head_dim);
    HP_RANGE(n_ctx_train, 1, (int64_t)1 << 26);
#undef HP_RANGE
    if (hp->arch == HP_ARCH_DEEPSEEK2) {
        int rc = hparams_validate_deepseek2(hp, err);
        if (rc) return rc;
    }
    if (hp->n_head % hp->n_head_kv)
        return dc_errf(err, DC_EFORMAT, "model: head count %lld is not a multiple of kv head count %lld",
                       (long long)hp->n_head, (long long)hp->n_head_kv);
    if (hp->rope_dim % 2) return dc_errf(err, DC_EFORMAT, "model: rope dimension %lld is odd", (long long)hp->rope_dim);
    if (!(hp->rms_eps > 0.0f && hp->rms_eps < 1.0f))
        return dc_errf(err, DC_EFORMAT, "model: rms_norm_eps %g out of range", (double)hp->rms_eps);
    if (!(hp->rope_theta > 1.0f && hp->rope_theta < 1e12f))
        return dc_errf(err, DC_EFORMAT, "model: rope theta %g out of range", (double)hp->rope_theta);
    if (hp->rope_scaling != HP_ROPE_SCALING_NONE) {
        if (!(hp->rope_factor >= 1.0f && hp->rope_factor <= 1024.0f))
            return dc_errf(err, DC_EFORMAT, "model: rope scaling factor %g out of range", (double)hp->rope_factor);
        if ((hp->rope_scaling == HP_ROPE_SCALING_LLAMA3 || hp->rope_scaling == HP_ROPE_SCALING_YARN) &&
            (hp->rope_orig_ctx < 1 || hp->rope_orig_ctx > ((int64_t)1 << 26)))
            return dc_errf(err, DC_EFORMAT, "model: rope scaling needs original context length (got %lld)",
                           (long long)hp->rope_orig_ctx);
        if (hp->rope_scaling == HP_ROPE_SCALING_LLAMA3 &&
            !(hp->rope_high_freq_factor > hp->rope_low_freq_factor && hp->rope_low_freq_factor > 0.0f))
            return dc_errf(err, DC_EFORMAT, "model: llama3 rope needs high_freq_factor > low_freq_factor > 0");
    }
    return DC_OK;
}

/* ---- GGUF ---------------------------------------------------------------- */

static int gg_int(const struct gguf *g, const char *arch, const char *suffix, int64_t *out, int required,
                  char *err) {
    char key[128];
    snprintf(key, sizeof(key), "%s.%s", arch, suffix);
    int rc = gguf_get_int(g, key, out);
    if (rc == DC_ENOTFOUND && !required) return DC_OK;
    if (rc == DC_ENOTFOUND) return dc_errf(err, DC_EFORMAT, "gguf: missing key %s", key);
    if (rc) return dc_errf(err, DC_EFORMAT, "gguf: key %s is not an integer", key);
    return DC_OK;
}

static int gg_float(const struct gguf *g, const char *arch, const char *suffix, float *out, char *err) {
    char key[128];
    snprintf(key, sizeof(key), "%s.%s", arch, suffix);
    double v;
    int rc = gguf_get_float(g, key, &v);
    if (rc == DC_ENOTFOUND) return DC_OK;
    if (rc) return dc_errf(err, DC_EFORMAT, "gguf: key %s is not a number", key);
    if (!isfinite(v)) return dc_errf(err, DC_EFORMAT, "gguf: key %s is not finite", key);
    *out = (float)v;
    return DC_OK;
}

/* deepseek2 keys (spec 12.1, 2.4).  MLA GGUFs (llama.cpp since April 2025)
 * describe the model as MQA over the latent: key_length = r_kv + d_r,
 * value_length = r_kv, with the true head sizes in key_length_mla /
 * value_length_mla; legacy GGUFs give the head sizes directly. */
static int gguf_deepseek2(struct hparams *hp, const struct gguf *g, const char *arch, char *err) {
    int rc;
    int64_t key_len = 0, val_len = 0, key_mla = 0, val_mla = 0;
    if ((rc = gg_int(g, arch, "attention.key_length", &key_len, 1, err))) return rc;
    if ((rc = gg_int(g, arch, "attention.value_length", &val_len, 1, err))) return rc;
    if ((rc = gg_int(g, arch, "attention.key_length_mla", &key_mla, 0, err))) return rc;
    if ((rc = gg_int(g, arch, "attention.value_length_mla", &val_mla, 0, err))) return rc;
    if ((rc = gg_int(g, arch, "attention.q_lora_rank", &hp->q_lora_rank, 0, err))) return rc;
    if ((rc = gg_int(g, arch, "attention.kv_lora_rank", &hp->kv_lora_rank, 1, err))) return rc;
    if ((rc = gg_int(g, arch, "rope.dimension_count", &hp->rope_dim, 1, err))) return rc;
    if (key_mla > 0 && (key_len != hp->kv_lora_rank + hp->rope_dim || val_len != hp->kv_lora_rank))
        return dc_errf(err, DC_EFORMAT, "gguf: MLA key/value length %lld/%lld != kv_lora_rank + rope %lld / %lld",
                       (long long)key_len, (long long)val_len, (long long)(hp->kv_lora_rank + hp->rope_dim),
                       (long long)hp->kv_lora_rank);
    hp->head_dim = key_mla > 0 ? key_mla : key_len;
    hp->v_head_dim = val_mla > 0 ? val_mla : val_len;
    hp->qk_nope_dim = hp->head_dim - hp->rope_dim;
    hp->n_head_kv = 1;
    if ((rc = gg_int(g, arch, "leading_dense_block_count", &hp->n_layer_dense, 0, err))) return rc;
    if ((rc = gg_int(g, arch, "expert_count", &hp->n_expert, 0, err))) return rc;
    if ((rc = gg_int(g, arch, "expert_used_count", &hp->n_expert_used, hp->n_expert > 0, err))) return rc;
    if ((rc = gg_int(g, arch, "expert_shared_count", &hp->n_expert_shared, 0, err))) return rc;
    if ((rc = gg_int(g, arch, "expert_feed_forward_length", &hp->n_ff_exp, hp->n_expert > 0, err))) return rc;
    if ((rc = gg_float(g, arch, "expert_weights_scale", &hp->expert_weights_scale, err))) return rc;
    if (hp->expert_weights_scale == 0.0f) hp->expert_weights_scale = 1.0f; /* llama.cpp: 0 means none */
    int64_t v = 0;
    if ((rc = gg_int(g, arch, "expert_weights_norm", &v, 0, err))) return rc;
    hp->expert_weights_norm = v != 0;
    /* absent in GGUFs converted before sigmoid gating existed: softmax */
    v = HP_GATING_SOFTMAX;
    if ((rc = gg_int(g, arch, "expert_gating_func", &v, 0, err))) return rc;
    hp->expert_gating = (int)v;
    if ((rc = gg_int(g, arch, "expert_group_count", &hp->n_group, 0, err))) return rc;
    if ((rc = gg_int(g, arch, "expert_group_used_count", &hp->n_group_used, 0, err))) return rc;
    if (hp->n_group < 1) hp->n_group = 1;
    if (hp->n_group_used < 1) hp->n_group_used = hp->n_group;
    /* Group rule: max unless the router has a correction bias (then top-2
     * sum), as the DeepSeek reference decides; the model loader switches to
     * HP_GROUP_TOP2 when it finds exp_probs_b (see docs/DEEPSEEK.md). */
    hp->group_rule = hp->n_group > 1 && hp->n_group_used < hp->n_group ? HP_GROUP_MAX : HP_GROUP_NONE;
    if ((rc = gg_int(g, arch, "nextn_predict_layers", &hp->n_mtp_layers, 0, err))) return rc;
    /* llama.cpp runs deepseek2 with rope type NORM and the converter does not
     * permute q/k: adjacent pairs, like the HF weights (spec 2.5). */
    hp->rope_pairing = HP_ROPE_ADJACENT;
    return DC_OK;
}

int hparams_from_gguf(struct hparams *hp, const struct gguf *g, char *err) {
    hparams_defaults(hp);
    const char *arch;
    uint64_t alen;
    if (gguf_get_str(g, "general.architecture", &arch, &alen))
        return dc_errf(err, DC_EFORMAT, "gguf: missing general.architecture");
    if (alen >= sizeof(hp->arch_name)) return dc_errf(err, DC_EUNSUPPORTED, "gguf: unknown architecture");
    memcpy(hp->arch_name, arch, alen + 1);
    hp->arch = arch_from_name(arch);
    if (hp->arch < 0)
        return dc_errf(err, DC_EUNSUPPORTED, "gguf: architecture '%s' is not supported (llama, qwen2, deepseek2)",
                       arch);

    int rc;
    if ((rc = gg_int(g, arch, "embedding_length", &hp->n_embd, 1, err))) return rc;
    if ((rc = gg_int(g, arch, "block_count", &hp->n_layer, 1, err))) return rc;
    if ((rc = gg_int(g, arch, "feed_forward_length", &hp->n_ff, 1, err))) return rc;
    if ((rc = gg_int(g, arch, "attention.head_count", &hp->n_head, 1, err))) return rc;
    hp->n_head_kv = hp->n_head;
    if ((rc = gg_int(g, arch, "attention.head_count_kv", &hp->n_head_kv, 0, err))) return rc;
    hp->n_ctx_train = 4096;
    if ((rc = gg_int(g, arch, "context_length", &hp->n_ctx_train, 0, err))) return rc;
    if ((rc = gg_float(g, arch, "attention.layer_norm_rms_epsilon", &hp->rms_eps, err))) return rc;
    if ((rc = gg_float(g, arch, "rope.freq_base", &hp->rope_theta, err))) return rc;
    if (hp->n_head < 1 || hp->n_embd < 1)
        return dc_errf(err, DC_EFORMAT, "gguf: head count and embedding length must be positive");
    hp->n_vocab = 0;
    if ((rc = gg_int(g, arch, "vocab_size", &hp->n_vocab, 0, err))) return rc;
    if (hp->arch == HP_ARCH_DEEPSEEK2) {
        if ((rc = gguf_deepseek2(hp, g, arch, err))) return rc;
    } else {
        hp->head_dim = hp->n_embd / hp->n_head;
        if ((rc = gg_int(g, arch, "attention.key_length", &hp->head_dim, 0, err))) return rc;
        int64_t vlen = hp->head_dim;
        if ((rc = gg_int(g, arch, "attention.value_length", &vlen, 0, err))) return rc;
        if (vlen != hp->head_dim)
            return dc_errf(err, DC_EUNSUPPORTED, "gguf: key length %lld != value length %lld",
                           (long long)hp->head_dim, (long long)vlen);
        hp->rope_dim = hp->head_dim;
        if ((rc = gg_int(g, arch, "rope.dimension_count", &hp->rope_dim, 0, err))) return rc;
        /* llama.cpp's converter permutes llama q/k rows so that RoPE rotates
         * adjacent pairs; qwen2 keeps the HF half-split layout ("neox"). */
        hp->rope_pairing = hp->arch == HP_ARCH_LLAMA ? HP_ROPE_ADJACENT : HP_ROPE_HALF;
        hp->qkv_bias = hp->arch == HP_ARCH_QWEN2;
    }

    char key[128];
    const char *stype;
    uint64_t slen;
    snprintf(key, sizeof(key), "%s.rope.scaling.type", arch);
    if (gguf_get_str(g, key, &stype, &slen) == DC_OK && strcmp(stype, "none") != 0) {
        if (!strcmp(stype, "linear")) hp->rope_scaling = HP_ROPE_SCALING_LINEAR;
        else if (!strcmp(stype, "yarn")) hp->rope_scaling = HP_ROPE_SCALING_YARN;
        else return dc_errf(err, DC_EUNSUPPORTED, "gguf: rope scaling type '%s' not supported", stype);
        if ((rc = gg_float(g, arch, "rope.scaling.factor", &hp->rope_factor, err))) return rc;
        if ((rc = gg_int(g, arch, "rope.scaling.original_context_length", &hp->rope_orig_ctx, 0, err))) return rc;
        if ((rc = gg_float(g, arch, "rope.scaling.yarn_beta_fast", &hp->yarn_beta_fast, err))) return rc;
        if ((rc = gg_float(g, arch, "rope.scaling.yarn_beta_slow", &hp->yarn_beta_slow, err))) return rc;
        if (hp->rope_factor <= 1.0f) hp->rope_scaling = HP_ROPE_SCALING_NONE;
    }
    if (hp->arch == HP_ARCH_DEEPSEEK2) {
        /* The converter stores 0.1 * mscale_all_dim (spec 2.4, pitfall 3):
         * m = 1 + stored * ln(factor).  llama.cpp keeps the rotation at unit
         * magnitude for deepseek2 (its YaRN attn_factor is cancelled), so no
         * cos/sin factor here; the m^2 goes into the softmax scale. */
        if ((rc = gg_float(g, arch, "rope.scaling.yarn_log_multiplier", &hp->yarn_log_mul, err))) return rc;
        hp->yarn_attn_factor = 1.0f;
        hp->rms_eps_latent = hp->rms_eps;
        hparams_mla_scale(hp);
    }
    /* llama3 scaling in GGUF is carried by the rope_freqs tensor (bound by the
     * model loader), not by keys. */
    return DC_OK;
}

/* ---- config.json --------------------------------------------------------- */

static int js_int(struct json_object *o, const char *k, int64_t *out) {
    struct json_object *v;
    if (!json_object_object_get_ex(o, k, &v) || v == NULL) return DC_ENOTFOUND;
    if (!json_object_is_type(v, json_type_int)) return DC_EFORMAT;
    *out = json_object_get_int64(v);
    return DC_OK;
}

static int js_num(struct json_object *o, const char *k, float *out) {
    struct json_object *v;
    if (!json_object_object_get_ex(o, k, &v) || v == NULL) return DC_ENOTFOUND;
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) return DC_EFORMAT;
    double d = json_object_get_double(v);
    if (!isfinite(d)) return DC_EFORMAT;
    *out = (float)d;
    return DC_OK;
}

static int js_bool(struct json_object *o, const char *k, int *out) {
    struct json_object *v;
    if (!json_object_object_get_ex(o, k, &v) || v == NULL) return DC_ENOTFOUND;
    if (!json_object_is_type(v, json_type_boolean)) return DC_EFORMAT;
    *out = json_object_get_boolean(v);
    return DC_OK;
}

static const char *js_str(struct json_object *o, const char *k) {
    struct json_object *v;
    if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string)) return NULL;
    return json_object_get_string(v);
}

/* deepseek_v2 / deepseek_v3 config.json keys (spec 6.1).  Absent keys take
 * the value transformers gives them for that model_type: its V2 classes
 * always use softmax scores and ignore norm_topk_prob's renormalisation
 * only in the remote code's "else" branch; its V3 classes always use
 * sigmoid + correction bias + top-2-sum groups (noaux_tc). */
static int hf_deepseek2(struct hparams *hp, struct json_object *root, const char *model_type, char *err) {
    const int v3 = !strcmp(model_type, "deepseek_v3");
    int64_t q_lora = 0;
    int rc = js_int(root, "q_lora_rank", &q_lora);
    if (rc == DC_EFORMAT) return dc_errf(err, DC_EFORMAT, "config.json: q_lora_rank is not an integer or null");
    hp->q_lora_rank = rc == DC_OK ? q_lora : 0;
    const char *need[] = {"kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"};
    int64_t *dst[] = {&hp->kv_lora_rank, &hp->qk_nope_dim, &hp->rope_dim, &hp->v_head_dim};
    for (int i = 0; i < 4; i++)
        if (js_int(root, need[i], dst[i])) return dc_errf(err, DC_EFORMAT, "config.json: missing or bad '%s'", need[i]);
    hp->head_dim = hp->qk_nope_dim + hp->rope_dim;
    hp->n_head_kv = 1;
    const char *opt[] = {"first_k_dense_replace", "moe_layer_freq", "n_routed_experts", "num_experts_per_tok",
                         "n_shared_experts", "moe_intermediate_size", "n_group", "topk_group",
                         "num_nextn_predict_layers"};
    int64_t *odst[] = {&hp->n_layer_dense, &hp->moe_layer_freq, &hp->n_expert, &hp->n_expert_used,
                       &hp->n_expert_shared, &hp->n_ff_exp, &hp->n_group, &hp->n_group_used, &hp->n_mtp_layers};
    if (v3) { /* transformers' DeepseekV3Config defaults */
        hp->n_group = 8;
        hp->n_group_used = 4;
    }
    for (int i = 0; i < 9; i++)
        if (js_int(root, opt[i], odst[i]) == DC_EFORMAT)
            return dc_errf(err, DC_EFORMAT, "config.json: '%s' is not an integer", opt[i]);
    if (js_int(root, "num_mtp_layers", &hp->n_mtp_layers) == DC_EFORMAT)
        return dc_errf(err, DC_EFORMAT, "config.json: 'num_mtp_layers' is not an integer");
    if (hp->n_group < 1) hp->n_group = 1;
    if (hp->n_group_used < 1) hp->n_group_used = hp->n_group;
    if (js_num(root, "routed_scaling_factor", &hp->expert_weights_scale) == DC_EFORMAT)
        return dc_errf(err, DC_EFORMAT, "config.json: routed_scaling_factor is not a number");
    hp->expert_weights_norm = v3;
    if (js_bool(root, "norm_topk_prob", &hp->expert_weights_norm) == DC_EFORMAT)
        return dc_errf(err, DC_EFORMAT, "config.json: norm_topk_prob is not a boolean");
    const char *sf = js_str(root, "scoring_func");
    if (!sf) sf = v3 ? "sigmoid" : "softmax";
    if (!strcmp(sf, "softmax")) hp->expert_gating = HP_GATING_SOFTMAX;
    else if (!strcmp(sf, "sigmoid")) hp->expert_gating = HP_GATING_SIGMOID;
    else return dc_errf(err, DC_EUNSUPPORTED, "config.json: scoring_func '%s' not supported", sf);
    const char *tm = js_str(root, "topk_method");
    if (!tm) tm = v3 ? "noaux_tc" : "greedy";
    if (!strcmp(tm, "greedy")) {
        hp->group_rule = HP_GROUP_NONE;
    } else if (!strcmp(tm, "group_limited_greedy")) {
        hp->group_rule = HP_GROUP_MAX;
    } else if (!strcmp(tm, "noaux_tc")) {
        hp->group_rule = HP_GROUP_TOP2;
        hp->expert_bias = 1;
    } else {
        return dc_errf(err, DC_EUNSUPPORTED, "config.json: topk_method '%s' not supported", tm);
    }
    /* Pairing of the rope dims: V2 code rotates complex (adjacent) pairs; V3
     * does too unless rope_interleave is false (then rotate_half). */
    int interleave = 1;
    if (v3 && js_bool(root, "rope_interleave", &interleave) == DC_EFORMAT)
        return dc_errf(err, DC_EFORMAT, "config.json: rope_interleave is not a boolean");
    hp->rope_pairing = interleave ? HP_ROPE_ADJACENT : HP_ROPE_HALF;
    /* DeepseekV{2,3}RMSNorm(kv_lora_rank) / (q_lora_rank): default eps, whatever rms_norm_eps says */
    hp->rms_eps_latent = 1e-6f;
    /* yarn_apply_mscale: m^2 on the logits only when mscale_all_dim is set */
    hp->yarn_log_mul = 0.1f * hp->yarn_mscale_all_dim;
    hparams_mla_scale(hp);
    return DC_OK;
}

int hparams_from_hf_config(struct hparams *hp, const char *config_json, char *err) {
    hparams_defaults(hp);
    int rc = DC_OK;
    struct json_object *root = json_tokener_parse(config_json);
    if (!root || !json_object_is_type(root, json_type_object)) {
        rc = dc_errf(err, DC_EFORMAT, "config.json: not a JSON object");
        goto done;
    }
    const char *mt = js_str(root, "model_type");
    if (!mt) {
        rc = dc_errf(err, DC_EFORMAT, "config.json: missing model_type");
        goto done;
    }
    snprintf(hp->arch_name, sizeof(hp->arch_name), "%s", mt);
    hp->arch = arch_from_name(mt);
    if (hp->arch < 0) {
        rc = dc_errf(err, DC_EUNSUPPORTED,
                     "config.json: model_type '%s' is not supported (llama, qwen2, deepseek_v2, deepseek_v3)", mt);
        goto done;
    }
#define REQ_INT(key, field)                                                                 \
    if (js_int(root, key, &hp->field)) {                                                    \
        rc = dc_errf(err, DC_EFORMAT, "config.json: missing or non-integer '%s'", key);     \
        goto done;                                                                          \
    }
#define OPT_INT(key, field)                                                                 \
    if (js_int(root, key, &hp->field) == DC_EFORMAT) {                                      \
        rc = dc_errf(err, DC_EFORMAT, "config.json: '%s' is not an integer", key);           \
        goto done;                                                                          \
    }
#define OPT_NUM(obj, key, field)                                                            \
    if (js_num(obj, key, &hp->field) == DC_EFORMAT) {                                       \
        rc = dc_errf(err, DC_EFORMAT, "config.json: '%s' is not a number", key);             \
        goto done;                                                                          \
    }
    REQ_INT("vocab_size", n_vocab);
    REQ_INT("hidden_size", n_embd);
    REQ_INT("num_hidden_layers", n_layer);
    REQ_INT("num_attention_heads", n_head);
    REQ_INT("intermediate_size", n_ff);
    hp->n_head_kv = hp->n_head;
    OPT_INT("num_key_value_heads", n_head_kv);
    hp->n_ctx_train = 4096;
    OPT_INT("max_position_embeddings", n_ctx_train);
    if (hp->n_head < 1) {
        rc = dc_errf(err, DC_EFORMAT, "config.json: num_attention_heads must be positive");
        goto done;
    }
    hp->head_dim = hp->n_embd / hp->n_head;
    OPT_INT("head_dim", head_dim);
    hp->rope_dim = hp->head_dim;
    OPT_NUM(root, "rms_norm_eps", rms_eps);
    OPT_NUM(root, "rope_theta", rope_theta);
    hp->tied_embeddings = 0;
    if (js_bool(root, "tie_word_embeddings", &hp->tied_embeddings) == DC_EFORMAT) {
        rc = dc_errf(err, DC_EFORMAT, "config.json: tie_word_embeddings is not a boolean");
        goto done;
    }
    hp->qkv_bias = hp->arch == HP_ARCH_QWEN2;
    if (hp->arch == HP_ARCH_LLAMA) {
        int b = 0;
        if (js_bool(root, "attention_bias", &b) == DC_OK) hp->qkv_bias = b;
    }
    /* HF modeling keeps q/k in rotate_half layout for both families. */
    hp->rope_pairing = HP_ROPE_HALF;

    /* transformers >= 5 writes "rope_parameters" {rope_theta, rope_type, factor, ...}
     * in place of rope_theta + rope_scaling; read either. */
    struct json_object *rs = NULL;
    if (json_object_object_get_ex(root, "rope_parameters", &rs) && rs && json_object_is_type(rs, json_type_object)) {
        OPT_NUM(rs, "rope_theta", rope_theta);
    } else if (!json_object_object_get_ex(root, "rope_scaling", &rs)) {
        rs = NULL;
    }
    if (rs && json_object_is_type(rs, json_type_object)) {
        const char *t = js_str(rs, "rope_type");
        if (!t) t = js_str(rs, "type");
        if (!t) {
            rc = dc_errf(err, DC_EFORMAT, "config.json: rope_scaling without rope_type");
            goto done;
        }
        if (!strcmp(t, "default")) {
            hp->rope_scaling = HP_ROPE_SCALING_NONE;
        } else if (!strcmp(t, "linear")) {
            hp->rope_scaling = HP_ROPE_SCALING_LINEAR;
        } else if (!strcmp(t, "llama3")) {
            hp->rope_scaling = HP_ROPE_SCALING_LLAMA3;
        } else if (!strcmp(t, "yarn")) {
            hp->rope_scaling = HP_ROPE_SCALING_YARN;
        } else {
            rc = dc_errf(err, DC_EUNSUPPORTED, "config.json: rope scaling type '%s' not supported", t);
            goto done;
        }
        OPT_NUM(rs, "factor", rope_factor);
        OPT_NUM(rs, "low_freq_factor", rope_low_freq_factor);
        OPT_NUM(rs, "high_freq_factor", rope_high_freq_factor);
        OPT_NUM(rs, "beta_fast", yarn_beta_fast);
        OPT_NUM(rs, "beta_slow", yarn_beta_slow);
        OPT_NUM(rs, "mscale", yarn_mscale);
        OPT_NUM(rs, "mscale_all_dim", yarn_mscale_all_dim);
        OPT_NUM(rs, "attention_factor", yarn_attn_factor);
        int trunc = 1;
        if (js_bool(rs, "truncate", &trunc) == DC_OK) hp->yarn_truncate = trunc;
        hp->rope_orig_ctx = hp->n_ctx_train;
        if (js_int(rs, "original_max_position_embeddings", &hp->rope_orig_ctx) == DC_EFORMAT) {
            rc = dc_errf(err, DC_EFORMAT, "config.json: original_max_position_embeddings is not an integer");
            goto done;
        }
    }
    if (hp->arch == HP_ARCH_DEEPSEEK2) rc = hf_deepseek2(hp, root, mt, err);
#undef REQ_INT
#undef OPT_INT
#undef OPT_NUM
done:
    json_object_put(root);
    return rc;
}
