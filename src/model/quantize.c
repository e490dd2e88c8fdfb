/*
 * quantize.c - re-encode a model into a GGUF file of another weight type
 * (`deepc quantize SRC OUT.gguf --type TYPE`, see quantize.h).
 *
 * SRC is a GGUF file (every key is copied, every tensor re-encoded) or a
 * Hugging Face checkpoint directory of a dense llama/qwen2 model (keys are
 * written the way llama.cpp's converter writes them: architecture keys from
 * config.json, tokenizer keys from tokenizer.json, llama q/k rows permuted to
 * the interleaved RoPE layout, rope_freqs for llama3 scaling) or of a
 * deepseek2 model (DeepseekV2/V3, BF16 or FP8 with block scales: deepseek2.*
 * keys and llama.cpp's MLA tensor layout, kv_b_proj split into attn_k_b /
 * attn_v_b, experts stacked, MTP layers left out).  TYPE is F32,
 * F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K or the mixed preset Q4_K_M
 * (output.weight Q6_K; attn_v and ffn_down Q6_K in the first and last eighth
 * of the layers and every third layer between, as llama.cpp's Q4_K_M;
 * everything else Q4_K).  1-D tensors (norms, biases) and router weights stay
 * F32; the output head (or the tied embedding) gets Q6_K under the 4-bit
 * presets, as llama.cpp does.  A row whose length is not a multiple of 256 falls back to a 32-block
 * type (Q4_K -> Q4_1, Q6_K -> Q8_0), and one that is not a multiple of 32 to
 * F16.  Each row is dequantized to f32 and quantized with the reference
 * quantizers, rows in parallel; a progress bar goes to stderr.
 */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "quantize.h"
#include "dtype.h"
#include "err.h"
#include "gguf.h"
#include "gguf_write.h"
#include "kern.h"
#include "model.h"
#include "safetensors.h"
#include "tokenizer.h"

enum { PRESET_NONE = -1, PRESET_Q4_K_M = 1000 };

/* llama.cpp's llama_ftype values for general.file_type. */
static int file_type_of(int preset) {
    switch (preset) {
    case DT_F32: return 0;
    case DT_F16: return 1;
    case DT_Q4_0: return 2;
    case DT_Q4_1: return 3;
    case DT_Q8_0: return 7;
    case DT_Q4_K: return 14; /* Q4_K_S: all Q4_K */
    case DT_Q6_K: return 18;
    case DT_BF16: return 32;
    case PRESET_Q4_K_M: return 15;
    default: return 0;
    }
}

struct qtensor {
    char name[64];
    const struct tensor_view *src;
    int n_dims;
    int64_t ne[4];
    int type;          /* target */
    int64_t permute_heads; /* > 0: llama q/k rows, heads of ne1 / n */
    const float *synth;    /* data computed here (rope_freqs), f32 */
    /* Rows from bound weights (deepseek2 HF, FP8 included) instead of src:
     * mats[n_mats], each giving mat_rows rows of the tensor, stacked in order
     * (the slowest index of a 3-D tensor picks the matrix).  transpose: row i
     * of slab j is column i of mats[j] (mats[j] is [ne0 x mat_rows]). */
    const struct model_mat *mats;
    int64_t n_mats, mat_rows;
    int transpose;
};

/* Layers that get more bits in Q4_K_M (llama.cpp use_more_bits). */
static int use_more_bits(int64_t i, int64_t n) {
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static int pick_type(const char *name, int n_dims, const int64_t *ne, int preset, int64_t n_layer, int has_output) {
    if (n_dims < 2 || ends_with(name, ".bias") || strstr(name, "_norm") || strstr(name, "rope_freqs") ||
        strstr(name, "ffn_gate_inp") || strstr(name, "exp_probs_b"))
        return DT_F32;
    int t = preset;
    /* The output head (or the embedding serving as it) is the most sensitive
     * matrix: like llama.cpp, give it Q6_K under every 4-bit preset. */
    int is_output = !strcmp(name, "output.weight") || (!has_output && !strcmp(name, "token_embd.weight"));
    if (is_output && (preset == DT_Q4_0 || preset == DT_Q4_1 || preset == DT_Q4_K || preset == PRESET_Q4_K_M))
        t = DT_Q6_K;
    else if (preset == PRESET_Q4_K_M) {
        int layer = -1;
        sscanf(name, "blk.%d.", &layer);
        t = DT_Q4_K;
        if ((strstr(name, "attn_v.") || strstr(name, "ffn_down")) && layer >= 0 && use_more_bits(layer, n_layer))
            t = DT_Q6_K;
    }
    if (dtype_block_elems(t) == 256 && ne[0] % 256) t = t == DT_Q6_K ? DT_Q8_0 : DT_Q4_1;
    if (dtype_block_elems(t) == 32 && ne[0] % 32) t = DT_F16;
    return t;
}

/* ---- tokenizer keys from tokenizer.json (HF sources) ---------------------- */

/* GPT-2 byte-level alphabet: byte b -> code point (printable bytes map to
 * themselves, the rest to 256 + k). */
static int byte_cp(int b) {
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) return b;
    int k = 0;
    for (int c = 0; c < b; c++)
        if (!((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255))) k++;
    return 256 + k;
}

static size_t put_utf8(char *o, int cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/* GGUF .pre name from the pre-tokenizer regexes of tokenizer.json. */
static const char *detect_pre(const char *tokenizer_json) {
    int cjk = strstr(tokenizer_json, "\\u4e00") || strstr(tokenizer_json, "一-龥") ||
              strstr(tokenizer_json, "\\u4E00") || strstr(tokenizer_json, "一");
    int n13 = strstr(tokenizer_json, "\\\\p{N}{1,3}") != NULL;
    int contractions = strstr(tokenizer_json, "(?i:'s|'t|'re|'ve|'m|'ll|'d)") != NULL;
    if (n13 && cjk) return "deepseek-v3";
    if (contractions && n13) return "llama-bpe";
    if (contractions) return "qwen2";
    if (strstr(tokenizer_json, "\"Digits\"")) return "smollm";
    return "gpt-2";
}

static int write_tokenizer_keys(struct gguf_writer *w, const struct st_model *st, int64_t n_vocab_model, char *warn,
                                char *err) {
    const char *tj = st_aux_json(st, "tokenizer.json");
    if (!tj) {
        snprintf(warn, DC_ERR_LEN, "no tokenizer.json: the output has no tokenizer keys");
        return DC_OK;
    }
    struct tok *t = NULL;
    int rc = tok_load_path(&t, st_dir(st), err);
    if (rc) return rc;
    int64_t n = n_vocab_model > tok_n_vocab(t) ? n_vocab_model : tok_n_vocab(t);
    char **strs = calloc((size_t)n, sizeof(char *));
    size_t *lens = calloc((size_t)n, sizeof(size_t));
    int32_t *types = calloc((size_t)n, sizeof(int32_t));
    struct json_object *root = NULL;
    char **mstrs = NULL;
    size_t *mlens = NULL;
    size_t n_merges = 0;
    if (!strs || !lens || !types) {
        rc = dc_errf(err, DC_ENOMEM, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        int ty = i < tok_n_vocab(t) ? tok_type(t, (int32_t)i) : TOK_TYPE_UNUSED;
        size_t len = 0;
        const char *p = i < tok_n_vocab(t) ? tok_piece(t, (int32_t)i, &len) : NULL;
        if (ty == TOK_TYPE_UNUSED || !p) {
            char buf[32];
            int k = snprintf(buf, sizeof(buf), "[PAD%lld]", (long long)i);
            strs[i] = strdup(buf);
            lens[i] = (size_t)k;
            types[i] = TOK_TYPE_UNUSED;
        } else if (ty == TOK_TYPE_CONTROL || ty == TOK_TYPE_USER_DEFINED) {
            strs[i] = malloc(len + 1);
            if (strs[i]) memcpy(strs[i], p, len);
            lens[i] = len;
            types[i] = ty;
        } else {
            strs[i] = malloc(2 * len + 1);
            size_t o = 0;
            for (size_t k = 0; strs[i] && k < len; k++) o += put_utf8(strs[i] + o, byte_cp((uint8_t)p[k]));
            lens[i] = o;
            types[i] = TOK_TYPE_NORMAL;
        }
        if (!strs[i]) {
            rc = dc_errf(err, DC_ENOMEM, "out of memory");
            goto done;
        }
    }
    /* Merges, as "a b" strings (tokenizer.json has strings or pairs). */
    root = json_tokener_parse(tj);
    struct json_object *model, *merges;
    if (root && json_object_object_get_ex(root, "model", &model) &&
        json_object_object_get_ex(model, "merges", &merges) && json_object_is_type(merges, json_type_array)) {
        n_merges = json_object_array_length(merges);
        mstrs = calloc(n_merges ? n_merges : 1, sizeof(char *));
        mlens = calloc(n_merges ? n_merges : 1, sizeof(size_t));
        if (!mstrs || !mlens) {
            rc = dc_errf(err, DC_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n_merges; i++) {
            struct json_object *e = json_object_array_get_idx(merges, i);
            if (json_object_is_type(e, json_type_string)) {
                mstrs[i] = strdup(json_object_get_string(e));
            } else if (json_object_is_type(e, json_type_array) && json_object_array_length(e) == 2) {
                const char *a = json_object_get_string(json_object_array_get_idx(e, 0));
                const char *b = json_object_get_string(json_object_array_get_idx(e, 1));
                size_t l = strlen(a) + strlen(b) + 2;
                if ((mstrs[i] = malloc(l))) snprintf(mstrs[i], l, "%s %s", a, b);
            }
            if (!mstrs[i]) {
                rc = dc_errf(err, DC_EFORMAT, "tokenizer.json: merge %zu is malformed", i);
                goto done;
            }
            mlens[i] = strlen(mstrs[i]);
        }
    }
    const char *pre = detect_pre(tj);
    if ((rc = gguf_w_str(w, "tokenizer.ggml.model", "gpt2", 4)) ||
        (rc = gguf_w_str(w, "tokenizer.ggml.pre", pre, strlen(pre))) ||
        (rc = gguf_w_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)strs, lens, (uint64_t)n)) ||
        (rc = gguf_w_arr(w, "tokenizer.ggml.token_type", GGUF_I32, types, (uint64_t)n)) ||
        (n_merges && (rc = gguf_w_arr_str(w, "tokenizer.ggml.merges", (const char *const *)mstrs, mlens, n_merges))))
        goto keys_fail;
    if (tok_bos(t) >= 0 && (rc = gguf_w_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)tok_bos(t)))) goto keys_fail;
    if (tok_eos(t) >= 0 && (rc = gguf_w_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)tok_eos(t)))) goto keys_fail;
    if (tok_pad(t) >= 0 && (rc = gguf_w_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)tok_pad(t))))
        goto keys_fail;
    if ((rc = gguf_w_bool(w, "tokenizer.ggml.add_bos_token", tok_add_bos(t)))) goto keys_fail;
    const char *tc = st_aux_json(st, "tokenizer_config.json");
    if (tc) {
        struct json_object *o = json_tokener_parse(tc), *v;
        if (o && json_object_object_get_ex(o, "chat_template", &v) && json_object_is_type(v, json_type_string))
            rc = gguf_w_str(w, "tokenizer.chat_template", json_object_get_string(v),
                            (size_t)json_object_get_string_len(v));
        json_object_put(o);
        if (rc) goto keys_fail;
    }
    goto done;
keys_fail:
    rc = dc_errf(err, rc, "cannot write tokenizer keys");
done:
    if (strs)
        for (int64_t i = 0; i < n; i++) free(strs[i]);
    free(strs);
    free(lens);
    free(types);
    if (mstrs)
        for (size_t i = 0; i < n_merges; i++) free(mstrs[i]);
    free(mstrs);
    free(mlens);
    json_object_put(root);
    tok_free(t);
    return rc;
}

/* Architecture keys from the hyperparameters (HF sources). */
static int write_arch_keys(struct gguf_writer *w, const struct hparams *hp, const char *name) {
    char k[128];
    const char *a = hp->arch_name;
    int rc = 0;
#define KEY(s) (snprintf(k, sizeof(k), "%s.%s", a, s), k)
    rc |= gguf_w_str(w, "general.architecture", a, strlen(a));
    rc |= gguf_w_str(w, "general.name", name, strlen(name));
    rc |= gguf_w_u32(w, KEY("context_length"), (uint32_t)hp->n_ctx_train);
    rc |= gguf_w_u32(w, KEY("embedding_length"), (uint32_t)hp->n_embd);
    rc |= gguf_w_u32(w, KEY("block_count"), (uint32_t)hp->n_layer);
    rc |= gguf_w_u32(w, KEY("feed_forward_length"), (uint32_t)hp->n_ff);
    rc |= gguf_w_u32(w, KEY("attention.head_count"), (uint32_t)hp->n_head);
    rc |= gguf_w_u32(w, KEY("attention.head_count_kv"), (uint32_t)hp->n_head_kv);
    rc |= gguf_w_f32(w, KEY("rope.freq_base"), hp->rope_theta);
    rc |= gguf_w_f32(w, KEY("attention.layer_norm_rms_epsilon"), hp->rms_eps);
    if (hp->head_dim != hp->n_embd / hp->n_head || hp->arch == HP_ARCH_LLAMA) {
        rc |= gguf_w_u32(w, KEY("attention.key_length"), (uint32_t)hp->head_dim);
        rc |= gguf_w_u32(w, KEY("attention.value_length"), (uint32_t)hp->head_dim);
    }
    if (hp->arch == HP_ARCH_LLAMA) {
        rc |= gguf_w_u32(w, KEY("rope.dimension_count"), (uint32_t)hp->rope_dim);
        rc |= gguf_w_u32(w, KEY("vocab_size"), (uint32_t)hp->n_vocab);
    }
    if (hp->rope_scaling == HP_ROPE_SCALING_LINEAR || hp->rope_scaling == HP_ROPE_SCALING_YARN) {
        const char *t = hp->rope_scaling == HP_ROPE_SCALING_YARN ? "yarn" : "linear";
        rc |= gguf_w_str(w, KEY("rope.scaling.type"), t, strlen(t));
        rc |= gguf_w_f32(w, KEY("rope.scaling.factor"), hp->rope_factor);
        if (hp->rope_scaling == HP_ROPE_SCALING_YARN)
            rc |= gguf_w_u32(w, KEY("rope.scaling.original_context_length"), (uint32_t)hp->rope_orig_ctx);
    }
#undef KEY
    return rc ? DC_ENOMEM : DC_OK;
}

/* ---- deepseek2 from a Hugging Face directory ------------------------------ */

/* mscale_all_dim exactly as config.json spells it (the converter writes
 * 0.1 * it, computed in double and then rounded to f32; hparams keeps only a
 * float).  0 when absent. */
static double ds_mscale_all_dim(const struct model *m) {
    const char *cfg = st_config_json(m->st);
    struct json_object *root = cfg ? json_tokener_parse(cfg) : NULL, *rs, *v;
    double r = (double)m->hp.yarn_mscale_all_dim;
    if (root && (json_object_object_get_ex(root, "rope_scaling", &rs) ||
                 json_object_object_get_ex(root, "rope_parameters", &rs)) &&
        json_object_is_type(rs, json_type_object) && json_object_object_get_ex(rs, "mscale_all_dim", &v) &&
        (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
        r = json_object_get_double(v);
    json_object_put(root);
    return r;
}

/* deepseek2.* keys as llama.cpp's converter writes them for the MLA layout:
 * one KV "head" holding the latent, key_length = r_kv + d_r, value_length =
 * r_kv, the per-head sizes in key_length_mla / value_length_mla. */
static int write_ds_keys(struct gguf_writer *w, const struct model *m, const char *name) {
    const struct hparams *hp = &m->hp;
    char k[128];
    int rc = 0;
#define KEY(s) (snprintf(k, sizeof(k), "deepseek2.%s", s), k)
    rc |= gguf_w_str(w, "general.architecture", "deepseek2", 9);
    rc |= gguf_w_str(w, "general.type", "model", 5);
    rc |= gguf_w_str(w, "general.name", name, strlen(name));
    rc |= gguf_w_u32(w, KEY("block_count"), (uint32_t)hp->n_layer);
    rc |= gguf_w_u32(w, KEY("context_length"), (uint32_t)hp->n_ctx_train);
    rc |= gguf_w_u32(w, KEY("embedding_length"), (uint32_t)hp->n_embd);
    rc |= gguf_w_u32(w, KEY("feed_forward_length"), (uint32_t)hp->n_ff);
    rc |= gguf_w_u32(w, KEY("attention.head_count"), (uint32_t)hp->n_head);
    rc |= gguf_w_u32(w, KEY("attention.head_count_kv"), 1);
    const int yarn = hp->rope_scaling == HP_ROPE_SCALING_YARN;
    if (yarn || hp->rope_scaling == HP_ROPE_SCALING_LINEAR) {
        rc |= gguf_w_str(w, KEY("rope.scaling.type"), yarn ? "yarn" : "linear", yarn ? 4 : 6);
        rc |= gguf_w_f32(w, KEY("rope.scaling.factor"), hp->rope_factor);
    }
    if (yarn) {
        rc |= gguf_w_u32(w, KEY("rope.scaling.original_context_length"), (uint32_t)hp->rope_orig_ctx);
        rc |= gguf_w_f32(w, KEY("rope.scaling.yarn_beta_fast"), hp->yarn_beta_fast);
        rc |= gguf_w_f32(w, KEY("rope.scaling.yarn_beta_slow"), hp->yarn_beta_slow);
    }
    rc |= gguf_w_f32(w, KEY("rope.freq_base"), hp->rope_theta);
    rc |= gguf_w_f32(w, KEY("attention.layer_norm_rms_epsilon"), hp->rms_eps);
    rc |= gguf_w_u32(w, KEY("expert_count"), (uint32_t)hp->n_expert);
    rc |= gguf_w_u32(w, KEY("expert_used_count"), (uint32_t)hp->n_expert_used);
    rc |= gguf_w_u32(w, KEY("expert_group_count"), (uint32_t)hp->n_group);
    rc |= gguf_w_u32(w, KEY("expert_group_used_count"), (uint32_t)hp->n_group_used);
    rc |= gguf_w_u32(w, KEY("expert_gating_func"), (uint32_t)hp->expert_gating);
    rc |= gguf_w_u32(w, KEY("leading_dense_block_count"), (uint32_t)hp->n_layer_dense);
    rc |= gguf_w_u32(w, KEY("vocab_size"), (uint32_t)hp->n_vocab);
    if (hp->q_lora_rank > 0) rc |= gguf_w_u32(w, KEY("attention.q_lora_rank"), (uint32_t)hp->q_lora_rank);
    rc |= gguf_w_u32(w, KEY("attention.kv_lora_rank"), (uint32_t)hp->kv_lora_rank);
    rc |= gguf_w_u32(w, KEY("attention.key_length"), (uint32_t)(hp->kv_lora_rank + hp->rope_dim));
    rc |= gguf_w_u32(w, KEY("attention.value_length"), (uint32_t)hp->kv_lora_rank);
    rc |= gguf_w_u32(w, KEY("attention.key_length_mla"), (uint32_t)(hp->qk_nope_dim + hp->rope_dim));
    rc |= gguf_w_u32(w, KEY("attention.value_length_mla"), (uint32_t)hp->v_head_dim);
    rc |= gguf_w_u32(w, KEY("expert_feed_forward_length"), (uint32_t)hp->n_ff_exp);
    rc |= gguf_w_u32(w, KEY("expert_shared_count"), (uint32_t)hp->n_expert_shared);
    rc |= gguf_w_f32(w, KEY("expert_weights_scale"), hp->expert_weights_scale);
    if (hp->expert_weights_norm) rc |= gguf_w_bool(w, KEY("expert_weights_norm"), 1);
    rc |= gguf_w_u32(w, KEY("rope.dimension_count"), (uint32_t)hp->rope_dim);
    const double mad = yarn ? ds_mscale_all_dim(m) : 0.0;
    if (mad != 0.0) rc |= gguf_w_f32(w, KEY("rope.scaling.yarn_log_multiplier"), (float)(0.1 * mad));
#undef KEY
    return rc ? DC_ENOMEM : DC_OK;
}

/* One output tensor whose rows come from n bound matrices (see struct qtensor). */
static void ds_add(struct qtensor *qt, size_t *n_qt, const char *name, const struct model_mat *mats, int64_t n,
                   int n_dims, int transpose) {
    struct qtensor *q = &qt[(*n_qt)++];
    snprintf(q->name, sizeof(q->name), "%s", name);
    q->n_dims = n_dims;
    q->mats = mats;
    q->n_mats = n;
    q->transpose = transpose;
    q->mat_rows = transpose ? mats[0].cols : mats[0].rows;
    q->ne[0] = transpose ? mats[0].rows : mats[0].cols;
    q->ne[1] = q->mat_rows;
    q->ne[2] = n;
    q->ne[3] = 1;
}

/* A 1-D tensor straight from the file (norms: BF16/F32; the router bias F32). */
static int ds_add_vec(const struct model *m, struct qtensor *qt, size_t *n_qt, const char *name, int optional,
                      char *err) {
    const struct tensor_view *t = model_find_tensor(m, name);
    if (!t) return optional ? DC_OK : dc_errf(err, DC_EFORMAT, "missing tensor %s", name);
    struct qtensor *q = &qt[(*n_qt)++];
    snprintf(q->name, sizeof(q->name), "%s", name);
    q->src = t;
    q->n_dims = 1;
    q->ne[0] = tensor_nelems(t);
    q->ne[1] = q->ne[2] = q->ne[3] = 1;
    return DC_OK;
}

/* Tensor plan of llama.cpp's deepseek2 converter (spec 12.2), from the bound
 * weights so FP8 matrices come out dequantized with their block scales:
 * kv_b_proj split per head into attn_k_b {d_n, r_kv, H} (W_UK[h] transposed)
 * and attn_v_b {r_kv, d_v, H} (W_UV[h]); routed experts stacked into
 * ffn_*_exps {cols, rows, E} (expert slowest); e_score_correction_bias ->
 * exp_probs_b.bias; MTP layers (index >= n_layer) left out.  qt has room for
 * 20 tensors per layer + 3. */
static int ds_plan(const struct model *m, struct qtensor *qt, size_t *n_qt, char *err) {
    const struct hparams *hp = &m->hp;
    const int64_t H = hp->n_head, E = hp->n_expert;
    char nm[64];
    int rc;
#define LN(s) (snprintf(nm, sizeof(nm), "blk.%lld.%s", (long long)l, s), nm)
    ds_add(qt, n_qt, "token_embd.weight", &m->tok_embd, 1, 2, 0);
    for (int64_t l = 0; l < hp->n_layer; l++) {
        const struct model_layer *L = &m->layers[l];
        if ((rc = ds_add_vec(m, qt, n_qt, LN("attn_norm.weight"), 0, err))) return rc;
        if (hp->q_lora_rank > 0) {
            ds_add(qt, n_qt, LN("attn_q_a.weight"), &L->wq_a, 1, 2, 0);
            if ((rc = ds_add_vec(m, qt, n_qt, LN("attn_q_a_norm.weight"), 0, err))) return rc;
            ds_add(qt, n_qt, LN("attn_q_b.weight"), &L->wq_b, 1, 2, 0);
        } else {
            ds_add(qt, n_qt, LN("attn_q.weight"), &L->wq, 1, 2, 0);
        }
        ds_add(qt, n_qt, LN("attn_kv_a_mqa.weight"), &L->wkv_a, 1, 2, 0);
        if ((rc = ds_add_vec(m, qt, n_qt, LN("attn_kv_a_norm.weight"), 0, err))) return rc;
        if (!L->wk_bt) return dc_errf(err, DC_EFORMAT, "layer %lld: no kv_b_proj", (long long)l);
        ds_add(qt, n_qt, LN("attn_k_b.weight"), L->wk_bt, H, 3, 1);
        ds_add(qt, n_qt, LN("attn_v_b.weight"), L->wv_b, H, 3, 0);
        ds_add(qt, n_qt, LN("attn_output.weight"), &L->wo, 1, 2, 0);
        if ((rc = ds_add_vec(m, qt, n_qt, LN("ffn_norm.weight"), 0, err))) return rc;
        if (!L->is_moe) {
            ds_add(qt, n_qt, LN("ffn_gate.weight"), &L->w_gate, 1, 2, 0);
            ds_add(qt, n_qt, LN("ffn_up.weight"), &L->w_up, 1, 2, 0);
            ds_add(qt, n_qt, LN("ffn_down.weight"), &L->w_down, 1, 2, 0);
            continue;
        }
        ds_add(qt, n_qt, LN("ffn_gate_inp.weight"), &L->gate_inp, 1, 2, 0);
        /* written whenever the checkpoint has it, as the converter does */
        if ((rc = ds_add_vec(m, qt, n_qt, LN("exp_probs_b.bias"), 1, err))) return rc;
        ds_add(qt, n_qt, LN("ffn_gate_exps.weight"), L->exp_gate, E, 3, 0);
        ds_add(qt, n_qt, LN("ffn_up_exps.weight"), L->exp_up, E, 3, 0);
        ds_add(qt, n_qt, LN("ffn_down_exps.weight"), L->exp_down, E, 3, 0);
        if (hp->n_expert_shared > 0) {
            ds_add(qt, n_qt, LN("ffn_gate_shexp.weight"), &L->sh_gate, 1, 2, 0);
            ds_add(qt, n_qt, LN("ffn_up_shexp.weight"), &L->sh_up, 1, 2, 0);
            ds_add(qt, n_qt, LN("ffn_down_shexp.weight"), &L->sh_down, 1, 2, 0);
        }
    }
#undef LN
    if ((rc = ds_add_vec(m, qt, n_qt, "output_norm.weight", 0, err))) return rc;
    if (!hp->tied_embeddings) ds_add(qt, n_qt, "output.weight", &m->output, 1, 2, 0);
    return DC_OK;
}

static void progress(size_t done, size_t total, const char *name, int tty) {
    if (!tty) return;
    int pct = total ? (int)(done * 100 / total) : 100;
    int bars = pct * 30 / 100;
    fprintf(stderr, "\r[%.*s%*s] %3d%% %-40.40s", bars, "##############################", 30 - bars, "", pct, name);
    fflush(stderr);
}

static int parse_preset(const char *s) {
    if (!strcasecmp(s, "Q4_K_M")) return PRESET_Q4_K_M;
    if (!strcasecmp(s, "Q4_K_S")) return DT_Q4_K;
    int t = dtype_from_name(s);
    switch (t) {
    case DT_F32: case DT_F16: case DT_BF16: case DT_Q8_0: case DT_Q4_0: case DT_Q4_1: case DT_Q4_K: case DT_Q6_K:
        return t;
    default: return PRESET_NONE;
    }
}

int quant_run(const char *src, const char *dst, const char *type_s, int show_progress, char *warn, char *err) {
    int preset = type_s ? parse_preset(type_s) : PRESET_NONE;
    if (preset == PRESET_NONE)
        return dc_errf(err, DC_EINVAL, "unknown type '%s' (F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q4_K Q6_K Q4_K_M)",
                       type_s ? type_s : "");
    kern_init();
    warn[0] = 0;
    struct model *m = NULL;
    struct gguf_writer *w = NULL;
    struct qtensor *qt = NULL;
    size_t n_qt = 0;
    float *rope_freqs = NULL;
    void *outbuf = NULL;
    float *tbuf = NULL; /* transposed source slab */
    size_t tbuf_n = 0;
    const int tty = show_progress;
    int rc = model_load(&m, src, err);
    if (rc) goto fail;
    const struct hparams *hp = &m->hp;
    if ((rc = gguf_writer_create(&w, dst, 0, err))) goto fail;
    int64_t nt = model_n_tensors(m);
    /* deepseek2 from HF may write more tensors than it reads (kv_b -> k_b + v_b) */
    qt = calloc((size_t)nt + 20 * (size_t)hp->n_layer + 4, sizeof(*qt));
    if (!qt) {
        rc = dc_errf(err, DC_ENOMEM, "out of memory");
        goto fail;
    }
    if (m->source == MODEL_SRC_GGUF) {
        /* Every key is copied except the ones describing the encoding. */
        for (int64_t i = 0; i < gguf_n_kv(m->gguf); i++) {
            const char *k = gguf_kv_key(m->gguf, i);
            if (!strcmp(k, "general.file_type") || !strcmp(k, "general.quantization_version") ||
                !strcmp(k, "general.alignment"))
                continue;
            if ((rc = gguf_w_copy_kv(w, m->gguf, i, err))) goto fail;
        }
        for (int64_t i = 0; i < nt; i++) {
            const struct tensor_view *t = model_tensor_at(m, i);
            struct qtensor *q = &qt[n_qt++];
            snprintf(q->name, sizeof(q->name), "%s", t->name);
            q->src = t;
            q->n_dims = t->n_dims;
            memcpy(q->ne, t->ne, sizeof(q->ne));
        }
    } else if (hp->arch == HP_ARCH_DEEPSEEK2) {
        const char *dir = st_dir(m->st);
        const char *base = dir ? strrchr(dir, '/') : NULL;
        if ((rc = write_ds_keys(w, m, base && base[1] ? base + 1 : (dir ? dir : "model")))) {
            rc = dc_errf(err, rc, "cannot write keys");
            goto fail;
        }
        if ((rc = write_tokenizer_keys(w, m->st, hp->n_vocab, warn, err))) goto fail;
        if ((rc = ds_plan(m, qt, &n_qt, err))) goto fail;
    } else {
        if (hp->arch != HP_ARCH_LLAMA && hp->arch != HP_ARCH_QWEN2) {
            rc = dc_errf(err, DC_EUNSUPPORTED, "quantize from safetensors supports llama, qwen2 and deepseek2 (got %s)",
                         hp->arch_name);
            goto fail;
        }
        const char *dir = st_dir(m->st);
        const char *base = dir ? strrchr(dir, '/') : NULL;
        if ((rc = write_arch_keys(w, hp, base && base[1] ? base + 1 : (dir ? dir : "model")))) {
            rc = dc_errf(err, rc, "cannot write keys");
            goto fail;
        }
        if ((rc = write_tokenizer_keys(w, m->st, hp->n_vocab, warn, err))) goto fail;
        /* Tensors in llama.cpp's order: embedding, layers, norm, head. */
        static const char *layer_names[] = {"attn_norm.weight", "attn_q.weight",  "attn_q.bias",  "attn_k.weight",
                                            "attn_k.bias",      "attn_v.weight",  "attn_v.bias",  "attn_output.weight",
                                            "ffn_norm.weight",  "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"};
        char nm[64];
        const struct tensor_view *t = model_find_tensor(m, "token_embd.weight");
        if (t) qt[n_qt++] = (struct qtensor){.name = "token_embd.weight", .src = t, .n_dims = 2,
                                             .ne = {t->ne[0], t->ne[1], 1, 1}};
        for (int64_t l = 0; l < hp->n_layer; l++) {
            for (size_t j = 0; j < sizeof(layer_names) / sizeof(layer_names[0]); j++) {
                snprintf(nm, sizeof(nm), "blk.%lld.%s", (long long)l, layer_names[j]);
                if (!(t = model_find_tensor(m, nm))) continue;
                struct qtensor *q = &qt[n_qt++];
                memcpy(q->name, nm, sizeof(q->name));
                q->src = t;
                q->n_dims = t->ne[1] > 1 ? 2 : 1;
                memcpy(q->ne, t->ne, sizeof(q->ne));
                /* llama.cpp rotates adjacent pairs: permute HF's half-split rows. */
                if (hp->arch == HP_ARCH_LLAMA && (strstr(nm, "attn_q.") || strstr(nm, "attn_k.")))
                    q->permute_heads = strstr(nm, "attn_q.") ? hp->n_head : hp->n_head_kv;
            }
        }
        if ((t = model_find_tensor(m, "output_norm.weight")))
            qt[n_qt++] = (struct qtensor){.name = "output_norm.weight", .src = t, .n_dims = 1,
                                            .ne = {t->ne[0], 1, 1, 1}};
        if (!hp->tied_embeddings && (t = model_find_tensor(m, "output.weight")))
            qt[n_qt++] = (struct qtensor){.name = "output.weight", .src = t, .n_dims = 2,
                                            .ne = {t->ne[0], t->ne[1], 1, 1}};
        if (hp->arch == HP_ARCH_LLAMA && hp->rope_scaling == HP_ROPE_SCALING_LLAMA3) {
            /* rope_freqs: per-pair divisor = unscaled / scaled frequency. */
            int64_t half = hp->rope_dim / 2;
            rope_freqs = malloc((size_t)half * sizeof(float));
            struct hparams plain = *hp;
            plain.rope_scaling = HP_ROPE_SCALING_NONE;
            struct rope r0;
            if (!rope_freqs || rope_init(&r0, &plain, NULL, err)) {
                rc = DC_ENOMEM;
                goto fail;
            }
            /* llama3 blend (HF _compute_llama3_parameters), as a divisor. */
            const double lo = (double)hp->rope_low_freq_factor, hi = (double)hp->rope_high_freq_factor,
                         old = (double)hp->rope_orig_ctx;
            for (int64_t i = 0; i < half; i++) {
                double wl = 2.0 * M_PI / (double)r0.inv_freq[i], f;
                if (wl < old / hi) f = 1.0;
                else if (wl > old / lo) f = (double)hp->rope_factor;
                else {
                    double sm = (old / wl - lo) / (hi - lo);
                    f = 1.0 / ((1.0 - sm) / (double)hp->rope_factor + sm);
                }
                rope_freqs[i] = (float)f;
            }
            qt[n_qt++] = (struct qtensor){.name = "rope_freqs.weight", .n_dims = 1, .ne = {half, 1, 1, 1},
                                            .synth = rope_freqs};
        }
    }
    size_t max_bytes = 0, total_rows = 0;
    int has_output = 0;
    for (size_t i = 0; i < n_qt; i++) has_output |= !strcmp(qt[i].name, "output.weight");
    for (size_t i = 0; i < n_qt; i++) {
        struct qtensor *q = &qt[i];
        q->type = q->synth ? DT_F32 : pick_type(q->name, q->n_dims, q->ne, preset, hp->n_layer, has_output);
        if (q->src && kern_act_type(q->src->type) < 0 && q->src->type != q->type) {
            rc = dc_errf(err, DC_EUNSUPPORTED, "tensor %s has type %s, which deepc cannot read", q->name,
                         dtype_name(q->src->type));
            goto fail;
        }
        if (gguf_w_tensor(w, q->name, q->type, q->n_dims, q->ne) < 0) {
            rc = dc_errf(err, DC_EINVAL, "cannot declare tensor %s", q->name);
            goto fail;
        }
        int64_t rows = q->ne[1] * q->ne[2] * q->ne[3], chunk = q->transpose ? q->mat_rows : 4096;
        size_t bytes = (size_t)dtype_row_bytes(q->type, q->ne[0]) * (size_t)(rows < chunk ? rows : chunk);
        if (q->transpose && (size_t)(q->ne[0] * q->mat_rows) > tbuf_n) tbuf_n = (size_t)(q->ne[0] * q->mat_rows);
        if (bytes > max_bytes) max_bytes = bytes;
        total_rows += (size_t)rows;
    }
    if ((rc = gguf_w_u32(w, "general.quantization_version", 2)) ||
        (rc = gguf_w_u32(w, "general.file_type", (uint32_t)file_type_of(preset)))) {
        rc = dc_errf(err, DC_EINVAL, "cannot write general.file_type");
        goto fail;
    }
    if ((rc = gguf_w_begin_data(w, err))) goto fail;
    outbuf = malloc(max_bytes ? max_bytes : 64);
    tbuf = malloc((tbuf_n ? tbuf_n : 1) * sizeof(float));
    if (!outbuf || !tbuf) {
        rc = dc_errf(err, DC_ENOMEM, "out of memory");
        goto fail;
    }
    size_t rows_done = 0;
    uint64_t bytes_in = 0, bytes_out = 0;
    time_t t0 = time(NULL);
    for (size_t i = 0; i < n_qt; i++) {
        struct qtensor *q = &qt[i];
        const int64_t cols = q->ne[0], rows = q->ne[1] * q->ne[2] * q->ne[3];
        const int64_t orb = dtype_row_bytes(q->type, cols);
        struct kern_mat sm = {0};
        if (q->src) {
            sm = (struct kern_mat){q->src->type, q->src->data, rows, cols, NULL};
            bytes_in += q->src->nbytes;
        }
        for (int64_t j = 0; j < q->n_mats; j++) bytes_in += model_mat_bytes(&q->mats[j]);
        /* a transposed tensor goes one slab at a time: the slab's source
         * matrix is decoded whole into tbuf [ne0 x mat_rows] first */
        const int64_t chunk = q->transpose ? q->mat_rows : 4096;
        for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
            int64_t nr = rows - r0 < chunk ? rows - r0 : chunk;
            int fail_flag = 0;
            if (q->transpose)
                for (int64_t c = 0; c < cols; c++) model_mat_get_row(&q->mats[r0 / chunk], c, tbuf + c * chunk);
#pragma omp parallel
            {
                float *x = malloc((size_t)cols * sizeof(float));
                if (!x) fail_flag = 1;
#pragma omp for schedule(dynamic, 16)
                for (int64_t r = 0; r < nr; r++) {
                    if (!x) continue;
                    int64_t dr = r0 + r, sr = dr;
                    if (q->permute_heads > 0) { /* dest row 2j+i2 of a head <- source row i2*hd/2 + j */
                        int64_t hd = rows / q->permute_heads, h = dr / hd, k = dr % hd;
                        sr = h * hd + (k % 2) * (hd / 2) + k / 2;
                    }
                    if (q->synth) {
                        memcpy(x, q->synth + sr * cols, (size_t)cols * sizeof(float));
                    } else if (q->transpose) {
                        for (int64_t c = 0; c < cols; c++) x[c] = tbuf[c * chunk + r];
                    } else if (q->mats) {
                        model_mat_get_row(&q->mats[sr / q->mat_rows], sr % q->mat_rows, x);
                    } else {
                        kern_get_row(&sm, sr, x);
                    }
                    if (kern_quantize_row_ref(q->type, x, (uint8_t *)outbuf + (size_t)r * (size_t)orb, cols))
                        fail_flag = 2;
                }
                free(x);
            }
            if (fail_flag) {
                rc = fail_flag == 2 ? dc_errf(err, DC_EUNSUPPORTED, "no quantizer for type %s", dtype_name(q->type))
                                    : dc_errf(err, DC_ENOMEM, "out of memory");
                goto fail;
            }
            if ((rc = gguf_w_tensor_data(w, outbuf, (size_t)nr * (size_t)orb, err))) goto fail;
            bytes_out += (uint64_t)nr * (uint64_t)orb;
            rows_done += (size_t)nr;
            progress(rows_done, total_rows, q->name, tty);
        }
    }
    if ((rc = gguf_writer_finish(w, err))) {
        w = NULL;
        goto fail;
    }
    w = NULL;
    if (tty) fprintf(stderr, "\r\033[K");
    if (show_progress)
        fprintf(stderr, "deepc: wrote %s: %zu tensors, %.2f MiB -> %.2f MiB (%s) in %lld s\n", dst, n_qt,
                (double)bytes_in / 1048576.0, (double)bytes_out / 1048576.0, type_s, (long long)(time(NULL) - t0));
    free(outbuf);
    free(tbuf);
    free(rope_freqs);
    free(qt);
    model_free(m);
    return DC_OK;
fail:
    if (tty) fprintf(stderr, "\n");
    gguf_writer_free(w);
    free(outbuf);
    free(tbuf);
    free(rope_freqs);
    free(qt);
    model_free(m);
    return rc ? rc : DC_EINVAL;
}
