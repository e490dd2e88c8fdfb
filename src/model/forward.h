/*
 * forward.h - the forward pass: activations, KV cache, and evaluation.
 *
 * struct fwd holds everything one sequence needs to run through a model: the
 * KV cache sized for n_ctx positions and the activation scratch sized for a
 * batch of n_batch tokens, all allocated once by fwd_init ("the last big
 * allocation").  fwd_eval runs a run of token ids at the next positions as
 * batched passes of up to n_batch tokens (a prompt is one pass per batch, not
 * a token loop) and writes logits.  It allocates nothing.
 */
#ifndef DC_FORWARD_H
#define DC_FORWARD_H

#include <stddef.h>
#include <stdint.h>

struct model;

struct fwd {
    const struct model *m;   /* borrowed */
    int64_t n_ctx;           /* KV cache capacity in positions */
    int64_t n_batch;         /* max tokens per pass */
    int64_t n_past;          /* positions already in the cache */
    int n_threads;           /* scratch rows for per-thread buffers */

    float *k_cache;          /* [n_layer][n_ctx][n_head_kv * head_dim] */
    float *v_cache;          /* [n_layer][n_ctx][n_head_kv * head_dim] */

    float *x;                /* [n_batch][n_embd] residual stream */
    float *xn;               /* [n_batch][n_embd] normed input of a block */
    float *q;                /* [n_batch][n_head * head_dim] */
    float *k, *v;            /* [n_batch][n_head_kv * head_dim] */
    float *att;              /* [n_batch][n_head * head_dim] attention output */
    float *gate, *up;        /* [n_batch][n_ff] */
    float *scores;           /* [n_threads][n_ctx] softmax rows */
    float *logits;           /* [n_vocab] last-token logits */
    void *mm_scratch;        /* kern_matmul scratch (activation quantization) */
    size_t mm_scratch_bytes;

    size_t kv_bytes;         /* bytes of the KV cache */
    size_t scratch_bytes;    /* bytes of all other buffers */
};

/* Allocates the cache and scratch.  n_batch <= n_ctx.  Free with fwd_free. */
int fwd_init(struct fwd *f, const struct model *m, int64_t n_ctx, int64_t n_batch, char *err);
void fwd_free(struct fwd *f); /* safe on a zeroed struct */

/* KV cache bytes per token of context for this model. */
size_t fwd_kv_bytes_per_token(const struct model *m);

/* Runs ids[0..n) at positions n_past..n_past+n-1.  logits_all != NULL: writes
 * n rows of n_vocab floats there.  Otherwise the last token's logits are left
 * in f->logits.  Errors: DC_ERANGE when the context would overflow, DC_EINVAL
 * for an id outside the vocabulary (nothing is evaluated then). */
int fwd_eval(struct fwd *f, const int32_t *ids, int64_t n, float *logits_all, char *err);

/* Forgets positions >= n_past (n_past <= f->n_past). */
void fwd_truncate(struct fwd *f, int64_t n_past);

#endif
