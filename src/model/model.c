/*
 * model.c - model loading and weight binding (see model.h).
 */
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dtype.h"
#include "err.h"
#include "gguf.h"
#include "safetensors.h"

/* ---- name mapping: GGUF names -> Hugging Face names ---------------------- */

struct name_pair {
    const char *gguf; /* suffix after "blk.N." */
    const char *hf;   /* suffix after "model.layers.N." */
};

static const struct name_pair layer_names[] = {
    {"attn_norm.weight", "input_layernorm.weight"},
    {"attn_q.weight", "self_attn.q_proj.weight"},
    {"attn_q.bias", "self_attn.q_proj.bias"},
    {"attn_k.weight", "self_attn.k_proj.weight"},
    {"attn_k.bias", "self_attn.k_proj.bias"},
    {"attn_v.weight", "self_attn.v_proj.weight"},
    {"attn_v.bias", "self_attn.v_proj.bias"},
    {"attn_output.weight", "self_attn.o_proj.weight"},
    {"ffn_norm.weight", "post_attention_layernorm.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight"},
    {"ffn_up.weight", "mlp.up_proj.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight"},
};

/* Writes the HF name for a GGUF name into buf; 0 on success, -1 if unknown. */
static int hf_name(const char *gguf_name, char *buf, size_t cap) {
    if (!strcmp(gguf_name, "token_embd.weight")) return snprintf(buf, cap, "model.embed_tokens.weight") < 0;
    if (!strcmp(gguf_name, "output_norm.weight")) return snprintf(buf, cap, "model.norm.weight") < 0;
    if (!strcmp(gguf_name, "output.weight")) return snprintf(buf, cap, "lm_head.weight") < 0;
    int layer, used = 0;
    if (sscanf(gguf_name, "blk.%d.%n", &layer, &used) == 1 && used > 0) {
        for (size_t i = 0; i < sizeof(layer_names) / sizeof(layer_names[0]); i++)
            if (!strcmp(gguf_name + used, layer_names[i].gguf))
                return snprintf(buf, cap, "model.layers.%d.%s", layer, layer_names[i].hf) < 0;
    }
    return -1;
}

const struct tensor_view *model_find_tensor(const struct model *m, const char *gguf_name) {
    if (m->source == MODEL_SRC_GGUF) return gguf_find_tensor(m->gguf, gguf_name);
    char name[256];
    if (hf_name(gguf_name, name, sizeof(name))) return NULL;
    return st_find_tensor(m->st, name);
}

int64_t model_n_tensors(const struct model *m) {
    return m->source == MODEL_SRC_GGUF ? gguf_n_tensors(m->gguf) : st_n_tensors(m->st);
}

const struct tensor_view *model_tensor_at(const struct model *m, int64_t i) {
    return m->source == MODEL_SRC_GGUF ? gguf_tensor(m->gguf, i) : st_tensor(m->st, i);
}

/* ---- binding -------------------------------------------------------------- */

static int owned_push(struct model *m, void *p, size_t bytes) {
    if (m->n_owned == m->cap_owned) {
        int cap = m->cap_owned ? m->cap_owned * 2 : 64;
        void **np = realloc(m->owned, (size_t)cap * sizeof(*np));
        if (!np) return DC_ENOMEM;
        m->owned = np;
        m->cap_owned = cap;
    }
    m->owned[m->n_owned++] = p;
    m->owned_bytes += bytes;
    return DC_OK;
}

static void count_tensor(struct model *m, const struct tensor_view *t) {
    m->n_params += tensor_nelems(t);
    m->weight_bytes += t->nbytes;
}

/* Binds a 2-D weight [rows, cols] (ne = {cols, rows}). */
static int bind_mat(struct model *m, struct kern_mat *out, const char *name, int64_t rows, int64_t cols,
                    int optional, char *err) {
    memset(out, 0, sizeof(*out));
    const struct tensor_view *t = model_find_tensor(m, name);
    if (!t) {
        if (optional) return DC_ENOTFOUND;
        return dc_errf(err, DC_EFORMAT, "model: missing tensor %s", name);
    }
    if (t->ne[0] != cols || t->ne[1] != rows || t->ne[2] != 1 || t->ne[3] != 1)
        return dc_errf(err, DC_EFORMAT, "model: tensor %s has shape {%lld, %lld, %lld, %lld}, expected {%lld, %lld}",
                       name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                       (long long)cols, (long long)rows);
    if (kern_act_type(t->type) < 0)
        return dc_errf(err, DC_EUNSUPPORTED, "model: tensor %s has type %s, which deepc cannot compute with", name,
                       dtype_name(t->type));
    if (dtype_row_bytes(t->type, cols) < 0)
        return dc_errf(err, DC_EFORMAT, "model: tensor %s row of %lld is not whole %s blocks", name,
                       (long long)cols, dtype_name(t->type));
    out->type = t->type;
    out->data = t->data;
    out->rows = rows;
    out->cols = cols;
    count_tensor(m, t);
    return DC_OK;
}

/* Binds a 1-D f32 vector of n elements, converting to an owned f32 copy when
 * the file stores it in another type or misaligned. */
static int bind_vec(struct model *m, const float **out, const char *name, int64_t n, int optional, char *err) {
    *out = NULL;
    const struct tensor_view *t = model_find_tensor(m, name);
    if (!t) {
        if (optional) return DC_ENOTFOUND;
        return dc_errf(err, DC_EFORMAT, "model: missing tensor %s", name);
    }
    if (tensor_nelems(t) != n || t->ne[0] != n)
        return dc_errf(err, DC_EFORMAT, "model: tensor %s has %lld elements, expected %lld", name,
                       (long long)tensor_nelems(t), (long long)n);
    count_tensor(m, t);
    if (t->type == DT_F32 && ((uintptr_t)t->data % sizeof(float)) == 0) {
        *out = t->data;
        return DC_OK;
    }
    if (t->type != DT_F32 && t->type != DT_F16 && t->type != DT_BF16)
        return dc_errf(err, DC_EUNSUPPORTED, "model: vector %s has type %s (want F32/F16/BF16)", name,
                       dtype_name(t->type));
    float *v = malloc((size_t)n * sizeof(float));
    if (!v || owned_push(m, v, (size_t)n * sizeof(float))) {
        free(v);
        return dc_errf(err, DC_ENOMEM, "model: out of memory for %s", name);
    }
    const uint8_t *p = t->data;
    for (int64_t i = 0; i < n; i++) {
        if (t->type == DT_F32) {
            memcpy(&v[i], p + 4 * i, 4);
        } else {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            v[i] = t->type == DT_F16 ? fp16_to_f32(h) : bf16_to_f32(h);
        }
    }
    *out = v;
    return DC_OK;
}

static int bind_dense(struct model *m, char *err) {
    const struct hparams *hp = &m->hp;
    const int64_t d = hp->n_embd, hd = hp->head_dim;
    int rc;
    if ((rc = bind_mat(m, &m->tok_embd, "token_embd.weight", hp->n_vocab, d, 0, err))) return rc;
    if ((rc = bind_vec(m, &m->output_norm, "output_norm.weight", d, 0, err))) return rc;
    rc = bind_mat(m, &m->output, "output.weight", hp->n_vocab, d, 1, err);
    if (rc == DC_ENOTFOUND) {
        m->output = m->tok_embd; /* tied head */
        m->hp.tied_embeddings = 1;
    } else if (rc) {
        return rc;
    }
    m->layers = calloc((size_t)hp->n_layer, sizeof(*m->layers));
    if (!m->layers) return dc_errf(err, DC_ENOMEM, "model: out of memory");
    for (int64_t l = 0; l < hp->n_layer; l++) {
        struct model_layer *L = &m->layers[l];
        char nm[96];
#define NAME(s) (snprintf(nm, sizeof(nm), "blk.%lld.%s", (long long)l, s), nm)
        if ((rc = bind_vec(m, &L->attn_norm, NAME("attn_norm.weight"), d, 0, err))) return rc;
        if ((rc = bind_mat(m, &L->wq, NAME("attn_q.weight"), hp->n_head * hd, d, 0, err))) return rc;
        if ((rc = bind_mat(m, &L->wk, NAME("attn_k.weight"), hp->n_head_kv * hd, d, 0, err))) return rc;
        if ((rc = bind_mat(m, &L->wv, NAME("attn_v.weight"), hp->n_head_kv * hd, d, 0, err))) return rc;
        if ((rc = bind_mat(m, &L->wo, NAME("attn_output.weight"), d, hp->n_head * hd, 0, err))) return rc;
        int opt = !hp->qkv_bias;
        rc = bind_vec(m, &L->bq, NAME("attn_q.bias"), hp->n_head * hd, opt, err);
        if (rc && rc != DC_ENOTFOUND) return rc;
        rc = bind_vec(m, &L->bk, NAME("attn_k.bias"), hp->n_head_kv * hd, opt, err);
        if (rc && rc != DC_ENOTFOUND) return rc;
        rc = bind_vec(m, &L->bv, NAME("attn_v.bias"), hp->n_head_kv * hd, opt, err);
        if (rc && rc != DC_ENOTFOUND) return rc;
        if ((rc = bind_vec(m, &L->ffn_norm, NAME("ffn_norm.weight"), d, 0, err))) return rc;
        if ((rc = bind_mat(m, &L->w_gate, NAME("ffn_gate.weight"), hp->n_ff, d, 0, err))) return rc;
        if ((rc = bind_mat(m, &L->w_up, NAME("ffn_up.weight"), hp->n_ff, d, 0, err))) return rc;
        if ((rc = bind_mat(m, &L->w_down, NAME("ffn_down.weight"), d, hp->n_ff, 0, err))) return rc;
#undef NAME
    }
    return DC_OK;
}

static int is_gguf_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char magic[4] = {0};
    size_t n = fread(magic, 1, 4, f);
    fclose(f);
    return n == 4 && !memcmp(magic, "GGUF", 4);
}

int model_load(struct model **out, const char *path, char *err) {
    *out = NULL;
    int rc;
    struct model *m = calloc(1, sizeof(*m));
    if (!m) return dc_errf(err, DC_ENOMEM, "model: out of memory");
    const float *freq_factors = NULL;
    struct stat st;
    if (stat(path, &st) != 0) {
        rc = dc_errf(err, DC_EIO, "cannot open model %s: %s", path, strerror(errno));
        goto fail;
    }
    if (is_gguf_file(path)) {
        m->source = MODEL_SRC_GGUF;
        if ((rc = gguf_open(&m->gguf, path, err))) goto fail;
        if ((rc = hparams_from_gguf(&m->hp, m->gguf, err))) goto fail;
        m->file_size = gguf_file_size(m->gguf);
        if (m->hp.n_vocab == 0) {
            const struct tensor_view *te = gguf_find_tensor(m->gguf, "token_embd.weight");
            if (!te) {
                rc = dc_errf(err, DC_EFORMAT, "model: missing tensor token_embd.weight");
                goto fail;
            }
            m->hp.n_vocab = te->ne[1];
        }
    } else {
        m->source = MODEL_SRC_SAFETENSORS;
        if ((rc = st_open(&m->st, path, err))) goto fail;
        const char *cfg = st_config_json(m->st);
        if (!cfg) {
            rc = dc_errf(err, DC_EFORMAT, "model: %s has no config.json next to the safetensors", path);
            goto fail;
        }
        if ((rc = hparams_from_hf_config(&m->hp, cfg, err))) goto fail;
        m->file_size = st_file_size(m->st);
    }
    if ((rc = hparams_validate(&m->hp, err))) goto fail;
    if ((rc = bind_dense(m, err))) goto fail;
    /* GGUF llama3 scaling: per-pair divisors in rope_freqs.weight. */
    const float *ff = NULL;
    rc = bind_vec(m, &ff, "rope_freqs.weight", m->hp.rope_dim / 2, 1, err);
    if (rc && rc != DC_ENOTFOUND) goto fail;
    freq_factors = ff;
    if ((rc = rope_init(&m->rope, &m->hp, freq_factors, err))) goto fail;
    *out = m;
    return DC_OK;
fail:
    model_free(m);
    return rc;
}

void model_free(struct model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    gguf_free(m->gguf);
    st_free(m->st);
    free(m);
}
