/*
 * model.c - model loading and weight binding (see model.h).
 *
 * Sections: linear weights (model_mat over kern and kern_fp8), name mapping
 * GGUF -> HF, binding helpers, dense llama/qwen2 binding, deepseek2 binding
 * (MLA in both GGUF layouts and HF, MoE experts stacked / per expert /
 * fused, MTP detection), loading.
 */
#include "model.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "dtype.h"
#include "err.h"
#include "gguf.h"
#include "safetensors.h"

/* ---- linear weights -------------------------------------------------------- */

static struct kern_mat mat_kern(const struct model_mat *w) {
    struct kern_mat k = {w->type, w->data, w->rows, w->cols, w->pk};
    return k;
}

static struct kern_fp8_mat mat_fp8(const struct model_mat *w) {
    struct kern_fp8_mat f = {w->data, w->scale, w->rows, w->cols, w->row0, w->scale_ld, w->blk_r, w->blk_c};
    return f;
}

struct model_mat model_mat_rows(const struct model_mat *w, int64_t r0, int64_t n) {
    struct model_mat v = *w;
    if (w->type == DT_F8_E4M3) {
        v.data = (const uint8_t *)w->data + (size_t)r0 * (size_t)w->cols;
        v.row0 = w->row0 + r0;
    } else {
        v.data = (const uint8_t *)w->data + (size_t)r0 * (size_t)dtype_row_bytes(w->type, w->cols);
    }
    /* packed tiles are 16 rows: a view starting inside one has none */
    v.pk = w->pk && r0 % 16 == 0 ? w->pk + (size_t)(r0 / 16) * w->pk_tile : NULL;
    if (!v.pk) v.pk_tile = 0;
    v.rows = n;
    return v;
}

size_t model_mat_scratch(const struct model_mat *w, int64_t n) {
    if (w->type == DT_F8_E4M3 || w->rows == 0) return 64;
    struct kern_mat k = mat_kern(w);
    return kern_matmul_scratch(&k, n);
}

void model_matmul(const struct model_mat *w, const float *x, int64_t ldx, int64_t n, float *y, int64_t ldy,
                  void *scratch) {
    if (w->type == DT_F8_E4M3) {
        struct kern_fp8_mat f = mat_fp8(w);
        kern_fp8_matmul(&f, x, ldx, n, y, ldy);
    } else {
        struct kern_mat k = mat_kern(w);
        kern_matmul(&k, x, ldx, n, y, ldy, scratch);
    }
}

void model_matmul_multi(int nm, const struct model_mat *const *w, const float *x, int64_t ldx, int64_t n,
                        float *const *y, const int64_t *ldy, void *scratch) {
    struct kern_mat k[4];
    int fp8 = nm > 4;
    for (int i = 0; i < nm && !fp8; i++) fp8 = w[i]->type == DT_F8_E4M3;
    if (fp8) {
        for (int i = 0; i < nm; i++) model_matmul(w[i], x, ldx, n, y[i], ldy[i], scratch);
        return;
    }
    for (int i = 0; i < nm; i++) k[i] = mat_kern(w[i]);
    kern_matmul_multi(kern_active(), nm, k, x, ldx, n, y, ldy, scratch);
}

void model_mat_get_row(const struct model_mat *w, int64_t r, float *y) {
    if (w->type == DT_F8_E4M3) {
        struct kern_fp8_mat f = mat_fp8(w);
        kern_fp8_get_row(&f, r, y);
    } else {
        struct kern_mat k = mat_kern(w);
        kern_get_row(&k, r, y);
    }
}

uint64_t model_mat_bytes(const struct model_mat *w) {
    if (w->type == DT_F8_E4M3) {
        struct kern_fp8_mat f = mat_fp8(w);
        return kern_fp8_bytes(&f);
    }
    return (uint64_t)dtype_row_bytes(w->type, w->cols) * (uint64_t)w->rows;
}

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
    /* deepseek2 (spec 12.2; gguf-py tensor_mapping.py) */
    {"attn_q_a.weight", "self_attn.q_a_proj.weight"},
    {"attn_q_a_norm.weight", "self_attn.q_a_layernorm.weight"},
    {"attn_q_b.weight", "self_attn.q_b_proj.weight"},
    {"attn_kv_a_mqa.weight", "self_attn.kv_a_proj_with_mqa.weight"},
    {"attn_kv_a_norm.weight", "self_attn.kv_a_layernorm.weight"},
    {"attn_kv_b.weight", "self_attn.kv_b_proj.weight"},
    {"ffn_gate_inp.weight", "mlp.gate.weight"},
    {"exp_probs_b.bias", "mlp.gate.e_score_correction_bias"},
    {"ffn_gate_shexp.weight", "mlp.shared_experts.gate_proj.weight"},
    {"ffn_up_shexp.weight", "mlp.shared_experts.up_proj.weight"},
    {"ffn_down_shexp.weight", "mlp.shared_experts.down_proj.weight"},
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

/* Finds a tensor by GGUF name; for safetensors also returns the HF name in
 * hf (cap bytes), used to find an FP8 weight's scales. */
static const struct tensor_view *find_named(const struct model *m, const char *gguf_name, char *hf, size_t cap) {
    hf[0] = 0;
    if (m->source == MODEL_SRC_GGUF) return gguf_find_tensor(m->gguf, gguf_name);
    if (hf_name(gguf_name, hf, cap)) return NULL;
    return st_find_tensor(m->st, hf);
}

const struct tensor_view *model_find_tensor(const struct model *m, const char *gguf_name) {
    char hf[256];
    return find_named(m, gguf_name, hf, sizeof(hf));
}

int64_t model_n_tensors(const struct model *m) {
    return m->source == MODEL_SRC_GGUF ? gguf_n_tensors(m->gguf) : st_n_tensors(m->st);
}

const struct tensor_view *model_tensor_at(const struct model *m, int64_t i) {
    return m->source == MODEL_SRC_GGUF ? gguf_tensor(m->gguf, i) : st_tensor(m->st, i);
}

/* ---- binding helpers ------------------------------------------------------- */

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

/* The n elements of t as f32: in place when stored as aligned F32, else an
 * owned converted copy (F16/BF16/F32). */
static int tensor_f32(struct model *m, const struct tensor_view *t, int64_t n, const float **out, char *err) {
    if (t->type == DT_F32 && ((uintptr_t)t->data % sizeof(float)) == 0) {
        *out = t->data;
        return DC_OK;
    }
    if (t->type != DT_F32 && t->type != DT_F16 && t->type != DT_BF16)
        return dc_errf(err, DC_EUNSUPPORTED, "model: tensor %s has type %s (want F32/F16/BF16)", t->name,
                       dtype_name(t->type));
    float *v = malloc((size_t)n * sizeof(float));
    if (!v || owned_push(m, v, (size_t)n * sizeof(float))) {
        free(v);
        return dc_errf(err, DC_ENOMEM, "model: out of memory for %s", t->name);
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

/* Fills out with the whole 2-D (or leading slab of a 3-D) tensor t as a
 * [rows x cols] matrix after checking its type.  FP8 weights need their
 * block scales: HF tensor `<hf>_scale_inv`, shape [ceil(rows/br), ceil(cols/bc)]. */
static int bind_view(struct model *m, struct model_mat *out, const struct tensor_view *t, const char *hf,
                     int64_t rows, int64_t cols, char *err) {
    memset(out, 0, sizeof(*out));
    out->type = t->type;
    out->data = t->data;
    out->rows = rows;
    out->cols = cols;
    if (t->type == DT_F8_E4M3) {
        char sname[300];
        snprintf(sname, sizeof(sname), "%s_scale_inv", hf ? hf : "");
        const struct tensor_view *s = m->st && hf ? st_find_tensor(m->st, sname) : NULL;
        if (!s) return dc_errf(err, DC_EFORMAT, "model: FP8 tensor %s has no %s", t->name, sname);
        const int64_t br = m->fp8_blk_r, bc = m->fp8_blk_c;
        const int64_t srows = (rows + br - 1) / br, scols = (cols + bc - 1) / bc;
        if (s->ne[0] != scols || s->ne[1] != srows || s->ne[2] != 1 || s->ne[3] != 1)
            return dc_errf(err, DC_EFORMAT, "model: %s has shape {%lld, %lld}, expected {%lld, %lld} for %lldx%lld blocks",
                           sname, (long long)s->ne[0], (long long)s->ne[1], (long long)scols, (long long)srows,
                           (long long)br, (long long)bc);
        int rc = tensor_f32(m, s, srows * scols, &out->scale, err);
        if (rc) return rc;
        out->scale_ld = scols;
        out->blk_r = (int32_t)br;
        out->blk_c = (int32_t)bc;
        count_tensor(m, s);
        return DC_OK;
    }
    if (kern_act_type(t->type) < 0)
        return dc_errf(err, DC_EUNSUPPORTED, "model: tensor %s has type %s, which deepc cannot compute with", t->name,
                       dtype_name(t->type));
    if (dtype_row_bytes(t->type, cols) < 0)
        return dc_errf(err, DC_EFORMAT, "model: tensor %s row of %lld is not whole %s blocks", t->name,
                       (long long)cols, dtype_name(t->type));
    return DC_OK;
}

static int shape_err(const struct tensor_view *t, const int64_t *want, int nd, char *err) {
    return dc_errf(err, DC_EFORMAT, "model: tensor %s has shape {%lld, %lld, %lld, %lld}, expected {%lld, %lld, %lld}",
                   t->name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                   (long long)want[0], (long long)want[1], (long long)(nd > 2 ? want[2] : 1));
}

/* Binds a 2-D weight [rows, cols] (ne = {cols, rows}) by GGUF name. */
static int bind_mat(struct model *m, struct model_mat *out, const char *name, int64_t rows, int64_t cols,
                    int optional, char *err) {
    memset(out, 0, sizeof(*out));
    char hf[256];
    const struct tensor_view *t = find_named(m, name, hf, sizeof(hf));
    if (!t) {
        if (optional) return DC_ENOTFOUND;
        return dc_errf(err, DC_EFORMAT, "model: missing tensor %s", m->source == MODEL_SRC_GGUF || !hf[0] ? name : hf);
    }
    const int64_t want[2] = {cols, rows};
    if (t->ne[0] != cols || t->ne[1] != rows || t->ne[2] != 1 || t->ne[3] != 1) return shape_err(t, want, 2, err);
    int rc = bind_view(m, out, t, hf[0] ? hf : NULL, rows, cols, err);
    if (rc) return rc;
    count_tensor(m, t);
    return DC_OK;
}

/* Binds a 1-D f32 vector of n elements, converting to an owned f32 copy when
 * the file stores it in another type or misaligned. */
static int bind_vec(struct model *m, const float **out, const char *name, int64_t n, int optional, char *err) {
    *out = NULL;
    char hf[256];
    const struct tensor_view *t = find_named(m, name, hf, sizeof(hf));
    if (!t) {
        if (optional) return DC_ENOTFOUND;
        return dc_errf(err, DC_EFORMAT, "model: missing tensor %s", m->source == MODEL_SRC_GGUF || !hf[0] ? name : hf);
    }
    if (tensor_nelems(t) != n || t->ne[0] != n)
        return dc_errf(err, DC_EFORMAT, "model: tensor %s has %lld elements, expected %lld", t->name,
                       (long long)tensor_nelems(t), (long long)n);
    count_tensor(m, t);
    m->vector_bytes += t->nbytes;
    return tensor_f32(m, t, n, out, err);
}

/* ---- dense llama / qwen2 --------------------------------------------------- */

/* Embedding, final norm and output head (tied when output.weight is absent). */
static int bind_io(struct model *m, char *err) {
    const struct hparams *hp = &m->hp;
    int rc;
    if ((rc = bind_mat(m, &m->tok_embd, "token_embd.weight", hp->n_vocab, hp->n_embd, 0, err))) return rc;
    if ((rc = bind_vec(m, &m->output_norm, "output_norm.weight", hp->n_embd, 0, err))) return rc;
    rc = bind_mat(m, &m->output, "output.weight", hp->n_vocab, hp->n_embd, 1, err);
    if (rc == DC_ENOTFOUND) {
        m->output = m->tok_embd; /* tied head */
        m->hp.tied_embeddings = 1;
    } else if (rc) {
        return rc;
    }
    m->layers = calloc((size_t)hp->n_layer, sizeof(*m->layers));
    if (!m->layers) return dc_errf(err, DC_ENOMEM, "model: out of memory");
    return DC_OK;
}

#define LNAME(buf, l, s) (snprintf(buf, sizeof(buf), "blk.%lld.%s", (long long)(l), s), buf)

static int bind_dense(struct model *m, char *err) {
    const struct hparams *hp = &m->hp;
    const int64_t d = hp->n_embd, hd = hp->head_dim;
    int rc;
    if ((rc = bind_io(m, err))) return rc;
    for (int64_t l = 0; l < hp->n_layer; l++) {
        struct model_layer *L = &m->layers[l];
        char nm[96];
        if ((rc = bind_vec(m, &L->attn_norm, LNAME(nm, l, "attn_norm.weight"), d, 0, err))) return rc;
        if ((rc = bind_mat(m, &L->wq, LNAME(nm, l, "attn_q.weight"), hp->n_head * hd, d, 0, err))) return rc;
        if ((rc = bind_mat(m, &L->wk, LNAME(nm, l, "attn_k.weight"), hp->n_head_kv * hd, d, 0, err))) return rc;
        if ((rc = bind_mat(m, &L->wv, LNAME(nm, l, "attn_v.weight"), hp->n_head_kv * hd, d, 0, err))) return rc;
        if ((rc = bind_mat(m, &L->wo, LNAME(nm, l, "attn_output.weight"), d, hp->n_head * hd, 0, err))) return rc;
        int opt = !hp->qkv_bias;
        rc = bind_vec(m, &L->bq, LNAME(nm, l, "attn_q.bias"), hp->n_head * hd, opt, err);
        if (rc && rc != DC_ENOTFOUND) return rc;
        rc = bind_vec(m, &L->bk, LNAME(nm, l, "attn_k.bias"), hp->n_head_kv * hd, opt, err);
        if (rc && rc != DC_ENOTFOUND) return rc;
        rc = bind_vec(m, &L->bv, LNAME(nm, l, "attn_v.bias"), hp->n_head_kv * hd, opt, err);
        if (rc && rc != DC_ENOTFOUND) return rc;
        if ((rc = bind_vec(m, &L->ffn_norm, LNAME(nm, l, "ffn_norm.weight"), d, 0, err))) return rc;
        if ((rc = bind_mat(m, &L->w_gate, LNAME(nm, l, "ffn_gate.weight"), hp->n_ff, d, 0, err))) return rc;
        if ((rc = bind_mat(m, &L->w_up, LNAME(nm, l, "ffn_up.weight"), hp->n_ff, d, 0, err))) return rc;
        if ((rc = bind_mat(m, &L->w_down, LNAME(nm, l, "ffn_down.weight"), d, hp->n_ff, 0, err))) return rc;
    }
    return DC_OK;
}

/* ---- deepseek2 ----------------------------------------------------------- */

/* Binds a 3-D GGUF tensor {cols, rows, n} (or HF [n, rows, cols]) as n views
 * of [rows x cols], taking `take` rows starting at row r0 of each slab. */
static int bind_stack(struct model *m, struct model_mat *views, const struct tensor_view *t, int64_t n,
                      int64_t rows, int64_t cols, int64_t r0, int64_t take, char *err) {
    const int64_t want[3] = {cols, rows, n};
    if (t->ne[0] != cols || t->ne[1] != rows || t->ne[2] != n || t->ne[3] != 1) return shape_err(t, want, 3, err);
    if (t->type == DT_F8_E4M3)
        return dc_errf(err, DC_EUNSUPPORTED, "model: stacked FP8 tensor %s is not supported (per-expert FP8 is)",
                       t->name);
    struct model_mat whole;
    int rc = bind_view(m, &whole, t, NULL, rows, cols, err);
    if (rc) return rc;
    const size_t slab = (size_t)dtype_row_bytes(t->type, cols) * (size_t)rows;
    for (int64_t j = 0; j < n; j++) {
        struct model_mat s = whole;
        s.data = (const uint8_t *)t->data + (size_t)j * slab;
        views[j] = model_mat_rows(&s, r0, take);
    }
    return DC_OK;
}

/* MLA weights of layer l (spec 1.1, 12.2). */
static int bind_mla(struct model *m, struct model_layer *L, int64_t l, struct model_mat *pool, char *err) {
    const struct hparams *hp = &m->hp;
    const int64_t D = hp->n_embd, H = hp->n_head, dqk = hp->head_dim, dn = hp->qk_nope_dim, dv = hp->v_head_dim,
                  rkv = hp->kv_lora_rank, dr = hp->rope_dim;
    char nm[96];
    int rc;
    if (hp->q_lora_rank > 0) {
        if ((rc = bind_mat(m, &L->wq_a, LNAME(nm, l, "attn_q_a.weight"), hp->q_lora_rank, D, 0, err))) return rc;
        if ((rc = bind_vec(m, &L->q_a_norm, LNAME(nm, l, "attn_q_a_norm.weight"), hp->q_lora_rank, 0, err)))
            return rc;
        if ((rc = bind_mat(m, &L->wq_b, LNAME(nm, l, "attn_q_b.weight"), H * dqk, hp->q_lora_rank, 0, err)))
            return rc;
    } else {
        if ((rc = bind_mat(m, &L->wq, LNAME(nm, l, "attn_q.weight"), H * dqk, D, 0, err))) return rc;
    }
    if ((rc = bind_mat(m, &L->wkv_a, LNAME(nm, l, "attn_kv_a_mqa.weight"), rkv + dr, D, 0, err))) return rc;
    if ((rc = bind_vec(m, &L->kv_a_norm, LNAME(nm, l, "attn_kv_a_norm.weight"), rkv, 0, err))) return rc;
    if ((rc = bind_mat(m, &L->wo, LNAME(nm, l, "attn_output.weight"), D, H * dv, 0, err))) return rc;
    L->wv_b = pool;
    if (m->mla_layout == MODEL_MLA_SPLIT) {
        /* attn_k_b {d_n, r_kv, H}: per head W_UK^T, rows of d_n; attn_v_b {r_kv, d_v, H}: W_UV, rows of r_kv */
        const struct tensor_view *kb = gguf_find_tensor(m->gguf, LNAME(nm, l, "attn_k_b.weight"));
        if (!kb) return dc_errf(err, DC_EFORMAT, "model: missing tensor %s", nm);
        const struct tensor_view *vb = gguf_find_tensor(m->gguf, LNAME(nm, l, "attn_v_b.weight"));
        if (!vb) return dc_errf(err, DC_EFORMAT, "model: missing tensor %s", nm);
        L->wk_b = pool + H;
        if ((rc = bind_stack(m, L->wk_b, kb, H, rkv, dn, 0, rkv, err))) return rc;
        if ((rc = bind_stack(m, L->wv_b, vb, H, dv, rkv, 0, dv, err))) return rc;
        count_tensor(m, kb);
        count_tensor(m, vb);
    } else {
        /* kv_b [H*(d_n+d_v), r_kv]: head h rows [h*(d_n+d_v), +d_n) are W_UK[h], the next d_v rows W_UV[h] */
        if ((rc = bind_mat(m, &L->wkv_b, LNAME(nm, l, "attn_kv_b.weight"), H * (dn + dv), rkv, 0, err))) return rc;
        L->wk_bt = pool + H;
        for (int64_t h = 0; h < H; h++) {
            L->wk_bt[h] = model_mat_rows(&L->wkv_b, h * (dn + dv), dn);
            L->wv_b[h] = model_mat_rows(&L->wkv_b, h * (dn + dv) + dn, dv);
        }
    }
    return DC_OK;
}

/* Routed experts of layer l: GGUF ffn_{gate,up,down}_exps {.., .., E}; HF
 * mlp.experts.J.{gate,up,down}_proj.weight, or the fused
 * mlp.experts.gate_up_proj [E, 2F, D] (gate rows first) + down_proj [E, D, F]. */
static int bind_experts(struct model *m, struct model_layer *L, int64_t l, struct model_mat *pool, char *err) {
    const struct hparams *hp = &m->hp;
    const int64_t E = hp->n_expert, F = hp->n_ff_exp, D = hp->n_embd;
    const uint64_t before = m->weight_bytes;
    char nm[160];
    int rc;
    L->exp_gate = pool;
    L->exp_up = pool + E;
    L->exp_down = pool + 2 * E;
    if (m->source == MODEL_SRC_GGUF) {
        const char *names[3] = {"ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight"};
        struct model_mat *dst[3] = {L->exp_gate, L->exp_up, L->exp_down};
        for (int i = 0; i < 3; i++) {
            const struct tensor_view *t = gguf_find_tensor(m->gguf, LNAME(nm, l, names[i]));
            if (!t) return dc_errf(err, DC_EFORMAT, "model: missing tensor %s", nm);
            if ((rc = bind_stack(m, dst[i], t, E, i < 2 ? F : D, i < 2 ? D : F, 0, i < 2 ? F : D, err))) return rc;
            count_tensor(m, t);
        }
    } else {
        snprintf(nm, sizeof(nm), "model.layers.%lld.mlp.experts.0.gate_proj.weight", (long long)l);
        if (st_find_tensor(m->st, nm)) {
            const char *proj[3] = {"gate_proj", "up_proj", "down_proj"};
            struct model_mat *dst[3] = {L->exp_gate, L->exp_up, L->exp_down};
            for (int64_t j = 0; j < E; j++) {
                for (int i = 0; i < 3; i++) {
                    snprintf(nm, sizeof(nm), "model.layers.%lld.mlp.experts.%lld.%s.weight", (long long)l,
                             (long long)j, proj[i]);
                    const struct tensor_view *t = st_find_tensor(m->st, nm);
                    if (!t) return dc_errf(err, DC_EFORMAT, "model: missing tensor %s", nm);
                    const int64_t rows = i < 2 ? F : D, cols = i < 2 ? D : F, want[2] = {cols, rows};
                    if (t->ne[0] != cols || t->ne[1] != rows || t->ne[2] != 1 || t->ne[3] != 1)
                        return shape_err(t, want, 2, err);
                    if ((rc = bind_view(m, &dst[i][j], t, nm, rows, cols, err))) return rc;
                    count_tensor(m, t);
                }
            }
        } else {
            snprintf(nm, sizeof(nm), "model.layers.%lld.mlp.experts.gate_up_proj", (long long)l);
            const struct tensor_view *gu = st_find_tensor(m->st, nm);
            if (!gu) return dc_errf(err, DC_EFORMAT, "model: layer %lld has no routed expert weights", (long long)l);
            snprintf(nm, sizeof(nm), "model.layers.%lld.mlp.experts.down_proj", (long long)l);
            const struct tensor_view *dn = st_find_tensor(m->st, nm);
            if (!dn) return dc_errf(err, DC_EFORMAT, "model: missing tensor %s", nm);
            if ((rc = bind_stack(m, L->exp_gate, gu, E, 2 * F, D, 0, F, err))) return rc;
            if ((rc = bind_stack(m, L->exp_up, gu, E, 2 * F, D, F, F, err))) return rc;
            if ((rc = bind_stack(m, L->exp_down, dn, E, D, F, 0, D, err))) return rc;
            count_tensor(m, gu);
            count_tensor(m, dn);
        }
    }
    m->expert_bytes += m->weight_bytes - before;
    return DC_OK;
}

/* Feed-forward of layer l: dense SwiGLU, or router + routed + shared experts. */
static int bind_ffn(struct model *m, struct model_layer *L, int64_t l, struct model_mat *pool, char *err) {
    struct hparams *hp = &m->hp;
    const int64_t D = hp->n_embd, E = hp->n_expert, FS = hp->n_expert_shared * hp->n_ff_exp;
    char nm[96];
    int rc;
    if ((rc = bind_vec(m, &L->ffn_norm, LNAME(nm, l, "ffn_norm.weight"), D, 0, err))) return rc;
    L->is_moe = hparams_layer_is_moe(hp, l);
    if (!L->is_moe) {
        if ((rc = bind_mat(m, &L->w_gate, LNAME(nm, l, "ffn_gate.weight"), hp->n_ff, D, 0, err))) return rc;
        if ((rc = bind_mat(m, &L->w_up, LNAME(nm, l, "ffn_up.weight"), hp->n_ff, D, 0, err))) return rc;
        return bind_mat(m, &L->w_down, LNAME(nm, l, "ffn_down.weight"), D, hp->n_ff, 0, err);
    }
    if ((rc = bind_mat(m, &L->gate_inp, LNAME(nm, l, "ffn_gate_inp.weight"), E, D, 0, err))) return rc;
    /* The correction bias: required when the config says noaux_tc; in GGUF its
     * presence is what turns it (and the top-2-sum group rule) on. */
    rc = bind_vec(m, &L->exp_bias, LNAME(nm, l, "exp_probs_b.bias"), E, m->source == MODEL_SRC_GGUF || !hp->expert_bias,
                  err);
    if (rc && rc != DC_ENOTFOUND) return rc;
    if (m->source == MODEL_SRC_GGUF) {
        int64_t first_moe = hp->n_layer_dense;
        while (!hparams_layer_is_moe(hp, first_moe)) first_moe++;
        if (l == first_moe) {
            hp->expert_bias = L->exp_bias != NULL;
            if (hp->expert_bias && hp->group_rule == HP_GROUP_MAX) hp->group_rule = HP_GROUP_TOP2;
        } else if ((L->exp_bias != NULL) != hp->expert_bias) {
            return dc_errf(err, DC_EFORMAT, "model: exp_probs_b.bias present in some MoE layers only");
        }
    } else if (!hp->expert_bias) {
        L->exp_bias = NULL; /* the config's routing does not use it */
    }
    if ((rc = bind_experts(m, L, l, pool, err))) return rc;
    if (FS > 0) {
        if ((rc = bind_mat(m, &L->sh_gate, LNAME(nm, l, "ffn_gate_shexp.weight"), FS, D, 0, err))) return rc;
        if ((rc = bind_mat(m, &L->sh_up, LNAME(nm, l, "ffn_up_shexp.weight"), FS, D, 0, err))) return rc;
        if ((rc = bind_mat(m, &L->sh_down, LNAME(nm, l, "ffn_down_shexp.weight"), D, FS, 0, err))) return rc;
    }
    return DC_OK;
}

/* MTP layers: tensors of layer indices n_layer .. n_layer + 63 in the file
 * (V3 keeps its MTP block as model.layers.61.*).  They are not bound. */
static int64_t count_extra_layers(const struct model *m) {
    uint64_t seen = 0;
    for (int64_t i = 0; i < model_n_tensors(m); i++) {
        const char *name = model_tensor_at(m, i)->name;
        int idx = -1;
        if (sscanf(name, "blk.%d.", &idx) != 1 && sscanf(name, "model.layers.%d.", &idx) != 1) continue;
        if (idx >= m->hp.n_layer && idx < m->hp.n_layer + 64) seen |= 1ull << (idx - m->hp.n_layer);
    }
    return __builtin_popcountll(seen);
}

/* FP8 block shape: config.json quantization_config.weight_block_size. */
static int read_fp8_block(struct model *m, char *err) {
    m->fp8_blk_r = m->fp8_blk_c = 128;
    const char *cfg = m->st ? st_config_json(m->st) : NULL;
    if (!cfg) return DC_OK;
    struct json_object *root = json_tokener_parse(cfg), *qc, *bs;
    int rc = DC_OK;
    if (root && json_object_object_get_ex(root, "quantization_config", &qc) &&
        json_object_is_type(qc, json_type_object) && json_object_object_get_ex(qc, "weight_block_size", &bs)) {
        if (!json_object_is_type(bs, json_type_array) || json_object_array_length(bs) != 2) {
            rc = dc_errf(err, DC_EFORMAT, "config.json: weight_block_size is not [rows, cols]");
        } else {
            int64_t r = json_object_get_int64(json_object_array_get_idx(bs, 0));
            int64_t c = json_object_get_int64(json_object_array_get_idx(bs, 1));
            if (r < 1 || c < 1 || r > 65536 || c > 65536)
                rc = dc_errf(err, DC_EFORMAT, "config.json: weight_block_size [%lld, %lld] out of range",
                             (long long)r, (long long)c);
            m->fp8_blk_r = (int32_t)r;
            m->fp8_blk_c = (int32_t)c;
        }
    }
    json_object_put(root);
    return rc;
}

static int bind_deepseek2(struct model *m, char *err) {
    const struct hparams *hp = &m->hp;
    const int64_t H = hp->n_head, E = hp->n_expert;
    int rc;
    if ((rc = read_fp8_block(m, err))) return rc;
    if ((rc = bind_io(m, err))) return rc;
    m->mla_layout = m->source == MODEL_SRC_GGUF && gguf_find_tensor(m->gguf, "blk.0.attn_k_b.weight") ? MODEL_MLA_SPLIT
                                                                                                     : MODEL_MLA_KV_B;
    const size_t per_layer = (size_t)(2 * H + 3 * E);
    m->views = calloc((size_t)hp->n_layer * per_layer, sizeof(*m->views));
    if (!m->views) return dc_errf(err, DC_ENOMEM, "model: out of memory for weight views");
    for (int64_t l = 0; l < hp->n_layer; l++) {
        struct model_layer *L = &m->layers[l];
        struct model_mat *pool = m->views + (size_t)l * per_layer;
        char nm[96];
        if ((rc = bind_vec(m, &L->attn_norm, LNAME(nm, l, "attn_norm.weight"), hp->n_embd, 0, err))) return rc;
        if ((rc = bind_mla(m, L, l, pool, err))) return rc;
        if ((rc = bind_ffn(m, L, l, pool + 2 * H, err))) return rc;
    }
    m->n_mtp_layers = count_extra_layers(m);
    return DC_OK;
}

#undef LNAME

/* ---- packed weights ------------------------------------------------------- */

void model_each_matmul(struct model *m, void (*fn)(struct model_mat *, void *), void *arg) {
    const struct hparams *hp = &m->hp;
    fn(&m->output, arg);
    for (int64_t l = 0; l < hp->n_layer; l++) {
        struct model_layer *L = &m->layers[l];
        struct model_mat *one[] = {&L->wq,    &L->wk,    &L->wv,       &L->wo,    &L->w_gate, &L->w_up,  &L->w_down,
                                   &L->wq_a,  &L->wq_b,  &L->wkv_a,    &L->gate_inp, &L->sh_gate, &L->sh_up, &L->sh_down};
        for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) fn(one[i], arg);
        if (L->wk_b)
            for (int64_t h = 0; h < hp->n_head; h++) fn(&L->wk_b[h], arg);
        if (L->wv_b)
            for (int64_t h = 0; h < hp->n_head; h++) fn(&L->wv_b[h], arg);
        if (L->exp_gate)
            for (int64_t e = 0; e < hp->n_expert; e++) {
                fn(&L->exp_gate[e], arg);
                fn(&L->exp_up[e], arg);
                fn(&L->exp_down[e], arg);
            }
    }
}

struct pack_list {
    struct model_mat **mats;
    size_t *off;
    size_t n, total;
};

static void pack_collect(struct model_mat *w, void *arg) {
    struct pack_list *pl = arg;
    if (w->type == DT_F8_E4M3 || w->rows <= 0 || !w->data) return;
    const struct kern_mat k = {w->type, w->data, w->rows, w->cols, NULL};
    const size_t b = kern_pack_bytes(&k);
    if (!b) return;
    if (pl->mats) {
        pl->mats[pl->n] = w;
        pl->off[pl->n] = pl->total;
        w->pk_tile = kern_pack_tile_bytes(&k);
    }
    pl->n++;
    pl->total += (b + 63) & ~(size_t)63;
}

/* MemAvailable of /proc/meminfo in bytes, or 0 if unknown. */
static uint64_t mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    fclose(f);
    return (uint64_t)kb * 1024u;
}

int model_pack(struct model *m, char *err) {
    if (m->packed) return DC_OK;
    struct pack_list pl = {0};
    model_each_matmul(m, pack_collect, &pl); /* count */
    if (pl.n == 0) return DC_OK;
    const size_t n = pl.n, total = pl.total;
    /* the copy is anonymous memory: refuse up front rather than let the
     * system run out of memory while it is written */
    const uint64_t avail = mem_available();
    if (avail && (uint64_t)total > avail)
        return dc_errf(err, DC_ENOMEM, "model: --repack needs %.0f MiB for the packed weights but only %.0f MiB "
                                       "of memory is available; run without --repack (weights used in place)",
                       (double)total / 1048576.0, (double)avail / 1048576.0);
    pl = (struct pack_list){calloc(n, sizeof(*pl.mats)), calloc(n, sizeof(*pl.off)), 0, 0};
    /* 2 MiB-aligned and, where the kernel allows, backed by huge pages: the
     * kernels stream the whole buffer per token, and with 4 KiB pages every
     * 4 KiB of it costs a TLB miss */
    void *buf = NULL;
    const size_t huge = (size_t)2 << 20;
    if (!pl.mats || !pl.off || posix_memalign(&buf, huge, (total + huge - 1) & ~(huge - 1)) != 0) {
        free(pl.mats);
        free(pl.off);
        return dc_errf(err, DC_ENOMEM, "model: out of memory for %zu bytes of packed weights (without --repack "
                                       "the weights are used from the mapped file)", total);
    }
#ifdef MADV_HUGEPAGE
    (void)madvise(buf, (total + huge - 1) & ~(huge - 1), MADV_HUGEPAGE); /* advice only: 4 KiB pages also work */
#endif
    model_each_matmul(m, pack_collect, &pl); /* record */
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t i = 0; i < pl.n; i++) {
        struct model_mat *w = pl.mats[i];
        const struct kern_mat k = {w->type, w->data, w->rows, w->cols, NULL};
        kern_pack(&k, (uint8_t *)buf + pl.off[i]);
    }
    for (size_t i = 0; i < pl.n; i++) pl.mats[i]->pk = (const uint8_t *)buf + pl.off[i];
    m->packed = buf;
    m->packed_bytes = total;
    free(pl.mats);
    free(pl.off);
    return DC_OK;
}

/* ---- loading --------------------------------------------------------------- */

static int is_gguf_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char magic[4] = {0};
    size_t n = fread(magic, 1, 4, f);
    fclose(f);
    return n == 4 && !memcmp(magic, "GGUF", 4);
}

/* Weight bytes one decoded token reads (spec 7): everything bound, minus the
 * routed experts it does not use (k of E per MoE layer), minus all but one
 * row of an untied embedding table. */
static void compute_active_bytes(struct model *m) {
    const struct hparams *hp = &m->hp;
    uint64_t a = m->weight_bytes;
    if (hp->n_expert > 0 && m->expert_bytes > 0)
        a -= m->expert_bytes - m->expert_bytes / (uint64_t)hp->n_expert * (uint64_t)hp->n_expert_used;
    if (!hp->tied_embeddings) {
        uint64_t emb = model_mat_bytes(&m->tok_embd);
        a -= emb - emb / (uint64_t)hp->n_vocab;
    }
    m->active_bytes = a;
}

int model_load(struct model **out, const char *path, char *err) {
    *out = NULL;
    int rc;
    struct model *m = calloc(1, sizeof(*m));
    if (!m) return dc_errf(err, DC_ENOMEM, "model: out of memory");
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
    if (m->hp.arch == HP_ARCH_DEEPSEEK2) {
        if ((rc = bind_deepseek2(m, err))) goto fail;
        if ((rc = hparams_validate(&m->hp, err))) goto fail; /* group rule may have changed */
    } else {
        if ((rc = bind_dense(m, err))) goto fail;
    }
    /* GGUF llama3 scaling: per-pair divisors in rope_freqs.weight. */
    const float *ff = NULL;
    rc = bind_vec(m, &ff, "rope_freqs.weight", m->hp.rope_dim / 2, 1, err);
    if (rc && rc != DC_ENOTFOUND) goto fail;
    if ((rc = rope_init(&m->rope, &m->hp, ff, err))) goto fail;
    compute_active_bytes(m);
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
    free(m->views);
    free(m->packed);
    gguf_free(m->gguf);
    st_free(m->st);
    free(m);
}
