/*
 * model.h - a loaded model: hyperparameters plus weights bound as views.
 *
 * model_load() recognises a GGUF file (magic "GGUF") or a Hugging Face
 * checkpoint (a directory with config.json and safetensors, or an index
 * .json), reads the hyperparameters, and binds every tensor the architecture
 * needs to a view in the mapped file with its dtype and shape checked.
 * Matrices are never copied, FP8 ones included (their block scales are
 * applied inside the kernel).  The only owned weight memory is the f32 copy of
 * small tensors (norm weights, biases, FP8 block scales) that are stored in
 * another type or misaligned; model->owned_bytes counts it.
 *
 * deepseek2 (spec/MODEL.md 1, 3, 12): the MLA weights bind from either GGUF
 * layout - split attn_k_b / attn_v_b (llama.cpp MLA) or the legacy unsplit
 * attn_kv_b - and from HF kv_b_proj; per-head matrices are views (row slices)
 * of those tensors.  Routed experts are per-expert views of the stacked GGUF
 * tensors, of HF per-expert tensors, or of HF fused gate_up_proj/down_proj.
 * An MTP layer in the file (layer index >= n_layer) is counted and not bound.
 */
#ifndef DC_MODEL_H
#define DC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "hparams.h"
#include "kern.h"
#include "kern_fp8.h"
#include "rope.h"

struct gguf;
struct st_model;

/* A linear weight [rows x cols] (row = output channel): a borrowed view into
 * the mapped file.  type is a GGUF block type or F32/F16/BF16, computed by
 * kern_matmul, or DT_F8_E4M3 with block scales, computed by kern_fp8. */
struct model_mat {
    int type;             /* enum dtype */
    const void *data;     /* row 0 of the view */
    int64_t rows, cols;
    /* DT_F8_E4M3 only: see struct kern_fp8_mat */
    const float *scale;
    int64_t scale_ld, row0;
    int32_t blk_r, blk_c;
    /* the rows packed for the kernels (kern_pack, at load), or NULL; tile_bytes per 16 rows */
    const uint8_t *pk;
    size_t pk_tile;
};

/* Rows [r0, r0 + n) of w as a view. */
struct model_mat model_mat_rows(const struct model_mat *w, int64_t r0, int64_t n);
/* Scratch bytes model_matmul needs for n activation rows. */
size_t model_mat_scratch(const struct model_mat *w, int64_t n);
/* y[t * ldy + r] = sum_c W[r][c] * x[t * ldx + c]; threading as kern_matmul. */
void model_matmul(const struct model_mat *w, const float *x, int64_t ldx, int64_t n, float *y, int64_t ldy,
                  void *scratch);
/* model_matmul of up to 4 matrices with the same input (kern_matmul_multi:
 * one parallel region when they can share it; the same bits either way). */
void model_matmul_multi(int nm, const struct model_mat *const *w, const float *x, int64_t ldx, int64_t n,
                        float *const *y, const int64_t *ldy, void *scratch);
/* Row r as floats (y: cols floats). */
void model_mat_get_row(const struct model_mat *w, int64_t r, float *y);
/* Bytes a product reads: weights (and FP8 scales). */
uint64_t model_mat_bytes(const struct model_mat *w);

struct model_layer {
    const float *attn_norm;          /* [n_embd] */
    struct model_mat wq, wk, wv, wo; /* dense: [n_head*hd, n_embd], [n_kv*hd, n_embd] x2, [n_embd, n_head*hd];
                                        deepseek2: wq = q_proj [H*d_qk, D] without q-LoRA, wo = o_proj [D, H*d_v] */
    const float *bq, *bk, *bv;       /* q/k/v biases or NULL */
    const float *ffn_norm;           /* [n_embd] */
    struct model_mat w_gate, w_up;   /* dense MLP [n_ff, n_embd] (also deepseek2's leading dense layers) */
    struct model_mat w_down;         /* [n_embd, n_ff] */

    /* deepseek2 MLA (spec 1.1) */
    struct model_mat wq_a;           /* [r_q, D] (q-LoRA) */
    const float *q_a_norm;           /* [r_q] */
    struct model_mat wq_b;           /* [H*d_qk, r_q] */
    struct model_mat wkv_a;          /* [r_kv + d_r, D]: latent rows then the shared rope key */
    const float *kv_a_norm;          /* [r_kv] */
    struct model_mat *wk_b;          /* split layout: [H] of [r_kv, d_n]: q_lat[h] = wk_b[h] q_nope[h]; else NULL */
    struct model_mat *wk_bt;         /* unsplit kv_b: [H] of [d_n, r_kv] (W_UK rows): q_lat[h] = wk_bt[h]^T q_nope[h] */
    struct model_mat *wv_b;          /* [H] of [d_v, r_kv]: o[h] = wv_b[h] o_lat[h] (both layouts) */
    struct model_mat wkv_b;          /* unsplit kv_b [H*(d_n+d_v), r_kv] whole (the views above slice it) */

    /* deepseek2 MoE (spec 3) */
    int is_moe;
    struct model_mat gate_inp;       /* router [E, D] */
    const float *exp_bias;           /* [E] e_score_correction_bias, f32, or NULL */
    struct model_mat *exp_gate;      /* [E] of [F_e, D] */
    struct model_mat *exp_up;        /* [E] of [F_e, D] */
    struct model_mat *exp_down;      /* [E] of [D, F_e] */
    struct model_mat sh_gate, sh_up; /* shared experts as one MLP [S*F_e, D]; rows 0 when S = 0 */
    struct model_mat sh_down;        /* [D, S*F_e] */
};

enum model_source { MODEL_SRC_GGUF = 0, MODEL_SRC_SAFETENSORS = 1 };

/* deepseek2 attention weight layout as found in the file. */
enum model_mla_layout {
    MODEL_MLA_NONE = 0,   /* not deepseek2 */
    MODEL_MLA_SPLIT = 1,  /* GGUF attn_k_b + attn_v_b */
    MODEL_MLA_KV_B = 2,   /* GGUF legacy attn_kv_b, or HF kv_b_proj */
};

struct model {
    struct hparams hp;
    int source;                       /* enum model_source */
    struct gguf *gguf;                /* owned, when source is GGUF */
    struct st_model *st;              /* owned, when source is safetensors */
    struct model_mat tok_embd;        /* [n_vocab, n_embd] */
    struct model_mat output;          /* [n_vocab, n_embd]; == tok_embd when tied */
    const float *output_norm;         /* [n_embd] */
    struct model_layer *layers;       /* [n_layer], owned */
    struct rope rope;
    int mla_layout;                   /* enum model_mla_layout */
    int64_t n_mtp_layers;             /* MTP layers found in the file (indices >= n_layer); never run */
    int32_t fp8_blk_r, fp8_blk_c;     /* FP8 block shape from config.json (128 x 128 default) */
    uint64_t file_size;               /* bytes of all mapped files */
    int64_t n_params;                 /* elements of all bound tensors */
    uint64_t weight_bytes;            /* bytes of all bound tensors */
    uint64_t expert_bytes;            /* bytes of all routed-expert tensors (part of weight_bytes) */
    uint64_t vector_bytes;            /* bytes of all 1-D tensors (norms, biases; part of weight_bytes) */
    uint64_t active_bytes;            /* weight bytes one decoded token reads (spec 7): all but the unused
                                         routed experts (k of E per MoE layer) and all but one embedding row */
    size_t owned_bytes;               /* f32 copies of small tensors */
    void **owned;                     /* those copies */
    int n_owned, cap_owned;
    struct model_mat *views;          /* per-head and per-expert views, owned */
    void *packed;                     /* the packed weights (model_pack) of all matrices, owned, or NULL */
    size_t packed_bytes;
};

/* Packs every matrix the forward pass multiplies into one buffer for the
 * active kernels (kern.h "Packed weights"), so decode and prefill read
 * rows-in-lanes tiles instead of rearranging the mapped rows on every call.
 * Only on request (`--repack`): it copies the weights (about the size of the
 * quantized matrices, allocated once) where loading otherwise uses the
 * mapping in place.  The mapped file stays the source of embeddings and of
 * every path without a packed kernel.  Call before any forward state is
 * created from m (nothing may be running on it); a second call is a no-op. */
int model_pack(struct model *m, char *err);

/* Calls fn on every matrix slot a forward pass multiplies with the plain
 * matmul, in a fixed order (the output head, then each layer's): not the
 * embedding table (rows are looked up) nor the per-head W_UK of an unsplit
 * kv_b (multiplied transposed).  A slot the model does not have comes with
 * rows == 0 or data == NULL, which fn must skip. */
void model_each_matmul(struct model *m, void (*fn)(struct model_mat *, void *), void *arg);

/* Loads and binds.  *out owns everything; free with model_free. */
int model_load(struct model **out, const char *path, char *err);
void model_free(struct model *m); /* NULL is a no-op */

/* Looks a tensor up by its GGUF name ("blk.3.attn_q.weight"); for
 * safetensors sources the HF name is derived.  NULL if absent. */
const struct tensor_view *model_find_tensor(const struct model *m, const char *gguf_name);

/* Tensor directory of the source, for `deepc info`. */
int64_t model_n_tensors(const struct model *m);
const struct tensor_view *model_tensor_at(const struct model *m, int64_t i);

#endif
