/*
 * forward.h - the forward pass: activations, KV cache, and evaluation.
 *
 * struct fwd holds everything needed to run token batches through a model:
 * a KV cache of n_seq independent sequence slots of n_ctx positions each, and
 * the activation scratch for a batch of n_batch tokens, all allocated once by
 * fwd_init ("the last big allocation").  Evaluation allocates nothing.
 *
 * fwd_eval_batch runs one pass over the weights for tokens that may belong
 * to different sequences (continuous batching): every matrix product covers
 * all tokens of the batch; attention of a token reads only its own slot,
 * positions 0..pos.  fwd_eval is the single-sequence convenience (slot 0) used
 * by the CLI and tests: a long prompt is split into passes of n_batch tokens.
 *
 * deepseek2 models (src/model/deepseek.c) run absorbed MLA for every token,
 * prefill included: the cache holds per layer, slot and position one row of
 * kv_dim = kv_lora_rank + qk_rope_head_dim f32 values - the normed latent c
 * then the roped shared key k_pe (spec/MODEL.md 1.4) - and v_cache is NULL.
 * The MoE feed-forward groups a pass's tokens by expert, so each chosen
 * expert's weights are read once per pass and unchosen experts not at all.
 */
#ifndef DC_FORWARD_H
#define DC_FORWARD_H

#include <stddef.h>
#include <stdint.h>

struct model;

/* One token of a batch. */
struct fwd_tok {
    int32_t id;    /* token id */
    int32_t seq;   /* sequence slot, 0 <= seq < n_seq */
    int64_t pos;   /* position in its sequence; every earlier position must be cached or in this batch */
    int32_t out;   /* row of the logits output to fill, or -1 for none */
};

/* Optional per-layer record of a pass, for tests (fwd.trace, NULL normally).
 * Each pass appends its tokens in batch order at rows n, n+1, ...; rows past
 * cap are dropped. */
struct fwd_trace {
    int64_t cap;          /* token rows the arrays hold */
    int64_t n;            /* rows recorded so far */
    float *hidden;        /* [n_layer][cap][n_embd]: residual stream after each layer, or NULL */
    int32_t *expert_ids;  /* [n_layer][cap][n_expert_used]: chosen experts, ascending (MoE layers), or NULL */
    float *expert_w;      /* [n_layer][cap][n_expert_used]: their weights, or NULL */
};

struct fwd {
    const struct model *m;   /* borrowed */
    int64_t n_ctx;           /* positions per sequence slot */
    int64_t n_batch;         /* max tokens per pass */
    int32_t n_seq;           /* sequence slots */
    int64_t *n_past;         /* [n_seq] positions cached per slot */
    int n_threads;           /* rows of the per-thread buffers */

    /* KV cache, f32, for K and for V: dense models [n_layer][n_seq][n_head_kv][n_ctx][head_dim] (one KV
     * head's positions contiguous: an attention job streams them in order); deepseek2
     * [n_layer][n_seq][n_ctx][kv_dim]. */
    float *k_cache, *v_cache;
    int64_t kv_dim;          /* floats per token per layer in each of K and V */
    int kv_type;             /* DT_F32 (k_cache), dense DT_F16 (k16/v16), deepseek2 DT_BF16 (kv_bf16) or DT_I8 (kv_q8*) */
    uint16_t *k16, *v16;     /* dense f16 cache (IEEE half), k_cache's layout; NULL otherwise */
    uint16_t *kv_bf16;       /* deepseek2 bf16 latent cache, k_cache's layout; NULL otherwise */
    /* deepseek2 8-bit latent cache (kern_lat.h), per (layer, slot) KERN_LAT_Q8_POS(n_ctx) positions:
     * codes in the scores order, in the values order, and the two scales per position; NULL otherwise */
    uint8_t *kv_q8k;
    int8_t *kv_q8v;
    float *kv_q8s;

    float *x;                /* [n_batch][n_embd] residual stream */
    float *xn;               /* [n_batch][n_embd] normed input of a block */
    float *xo;               /* [n_batch][n_embd] rows gathered for the output head */
    float *q;                /* [n_batch][n_head * head_dim] */
    float *k, *v;            /* [n_batch][n_head_kv * head_dim] */
    float *att;              /* [n_batch][n_head * head_dim] attention output */
    float *gate, *up;        /* [n_batch][n_ff] */
    void *attn_buf;          /* dense: [n_threads][attn_buf_bytes] kern_attn scratch */
    size_t attn_buf_bytes;
    int32_t *attn_npos;      /* dense: [n_batch] positions each token of the pass attends to (pos + 1) */
    int32_t *attn_blk;       /* dense: [n_batch + 1] starts of the pass's token blocks (kern_attn jobs) */
    float *logits;           /* [n_vocab] fwd_eval's last-token logits */
    float *rope_cs;          /* [n_batch][rope.n_dims]: the pass's rotations, one rope_angles per token */
    struct fwd_tok *toks;    /* [n_batch] fwd_eval's batch */
    void *mm_scratch;        /* kern_matmul scratch (activation quantization) */
    size_t mm_scratch_bytes;

    /* deepseek2 (MLA + MoE) scratch; NULL for dense models.  Dense buffers above are
     * reused: q [n_batch][H * d_qk], att [n_batch][H * d_v], gate/up [n_batch][max FFN width],
     * xo (also the MoE sum). */
    float *qa;               /* [n_batch][r_q]: q-LoRA down-projection */
    float *kva;              /* [n_batch][r_kv + d_r]: kv_a_proj_with_mqa output */
    float *q_lat;            /* [n_batch][n_head][r_kv + d_r]: absorbed query, latent part then rope part */
    float *o_lat;            /* [n_batch][n_head][r_kv]: attention output in latent space */
    float *moe_x, *moe_y;    /* [n_batch][n_embd]: rows routed to one expert, and its output */
    float *router;           /* [n_batch + 4][n_expert]: router logits (+ routing scratch) */
    int32_t *exp_ids;        /* [n_batch][n_expert_used]: chosen experts */
    float *exp_w;            /* [n_batch][n_expert_used]: their weights */
    int32_t *exp_list;       /* [n_batch * n_expert_used]: (token * k + slot), grouped by expert */
    int32_t *exp_off;        /* [2][n_expert + 1]: start of each expert's run in exp_list; fill cursors */
    void *head_buf;          /* [n_threads][head_buf_bytes]: per-thread rows of the per-head products */
    size_t head_buf_bytes;
    float *lat_work;         /* [n_threads][DS_LAT_WORK(n_head, r_kv)]: per-thread latent-attention state */
    float *lat_part;         /* [lat_part_tok][lat_nseg][n_head][r_kv + 2]: per-segment partial attention (m, l, acc) */
    int64_t lat_seg;         /* positions per attention segment (deepseek.c) */
    int64_t lat_nseg;        /* segments of a full slot */
    int64_t lat_part_tok;    /* tokens lat_part holds */
    int8_t *q8_lat;          /* [n_batch][n_head][r_kv + d_r]: q_lat as 8-bit codes (8-bit cache only) */
    void *q8_head;           /* [n_batch][n_head] struct kern_lat_q8_head: their scales */
    float *exp_out;          /* [DS_SMALL_T * (n_expert_used + 1)][n_embd]: expert outputs of a small pass */
    void *exp_buf;           /* [n_threads][exp_buf_bytes]: one expert's rows, hidden and quantized activations */
    size_t exp_buf_bytes;
    int64_t exp_buf_ff;      /* widest expert MLP (routed or shared) */
    uint64_t bytes_read;     /* deepseek2: matrix bytes read by all passes so far (each once per pass) */
    struct fwd_trace *trace; /* borrowed, optional */

    size_t kv_bytes;         /* bytes of the KV cache */
    size_t scratch_bytes;    /* bytes of all other buffers */
};

/* Allocates the cache (n_seq slots of n_ctx) and scratch.  Free with fwd_free. */
int fwd_init(struct fwd *f, const struct model *m, int64_t n_ctx, int64_t n_batch, int32_t n_seq, char *err);
/* The same with the cache element type: DT_F32 (fwd_init), or DT_BF16 for
 * deepseek2 models (half the memory; latents and rope keys rounded to bf16,
 * which moves logits by ~1e-2, see docs/DEEPSEEK.md).  DC_EUNSUPPORTED
 * otherwise. */
int fwd_init_kv(struct fwd *f, const struct model *m, int64_t n_ctx, int64_t n_batch, int32_t n_seq, int kv_type,
                char *err);
void fwd_free(struct fwd *f); /* safe on a zeroed struct */

/* KV cache element type by name: NULL or "f32" -> DT_F32, "bf16" -> DT_BF16
 * (case-insensitive); DC_EINVAL for anything else. */
int fwd_kv_type_parse(const char *name, int *kv_type, char *err);

/* KV cache bytes per token of context for this model with fwd_init's f32
 * cache (all layers; K and V for dense models, latent + rope key for
 * deepseek2).  A bf16 deepseek2 cache takes half. */
size_t fwd_kv_bytes_per_token(const struct model *m);

/* One pass over toks[0..n) (n <= n_batch).  logits receives n_out rows of
 * n_vocab floats, row r for the token with out == r.  Checks ids, slots and
 * positions first: DC_EINVAL / DC_ERANGE and nothing evaluated on bad input. */
int fwd_eval_batch(struct fwd *f, const struct fwd_tok *toks, int64_t n, float *logits, char *err);

/* Slot 0: runs ids[0..n) at positions n_past..n_past+n-1 in passes of up to
 * n_batch.  logits_all != NULL: writes n rows of n_vocab floats there;
 * otherwise the last token's logits are left in f->logits. */
int fwd_eval(struct fwd *f, const int32_t *ids, int64_t n, float *logits_all, char *err);

/* Forgets positions >= n_past of a slot (n_past <= its current length). */
void fwd_seq_truncate(struct fwd *f, int32_t seq, int64_t n_past);
/* Copies the first n cached positions of slot src into slot dst (prefix reuse);
 * dst then holds exactly n positions. */
int fwd_seq_copy(struct fwd *f, int32_t src, int32_t dst, int64_t n);

/* Slot 0 helpers kept for the single-sequence API. */
static inline int64_t fwd_n_past(const struct fwd *f) { return f->n_past[0]; }
static inline void fwd_truncate(struct fwd *f, int64_t n_past) { fwd_seq_truncate(f, 0, n_past); }

#endif
