/*
 * forward.c - dense transformer forward pass for the llama and qwen2 families.
 *
 * Dimension legend: T = tokens in this pass, D = n_embd, H = n_head,
 * Hk = n_head_kv, E = head_dim, F = n_ff, V = n_vocab, P = positions cached.
 * Mirrors HF modeling_llama.py / modeling_qwen2.py:
 *   h = x + o_proj(attn(rope(q_proj(rms(x))), rope(k_proj(rms(x))), v_proj(rms(x))))
 *   out = h + down_proj(silu(gate_proj(rms(h))) * up_proj(rms(h)))
 * All arithmetic is f32; every matrix product goes through kern_matmul.
 */
#include "forward.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "kern.h"
#include "model.h"

static void *alloc_aligned(size_t bytes, size_t *total) {
    if (bytes == 0) bytes = 64;
    bytes = (bytes + 63) & ~(size_t)63;
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes)) return NULL;
    *total += bytes;
    return p;
}

size_t fwd_kv_bytes_per_token(const struct model *m) {
    const struct hparams *hp = &m->hp;
    return (size_t)hp->n_layer * 2 * (size_t)(hp->n_head_kv * hp->head_dim) * sizeof(float);
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

int fwd_init(struct fwd *f, const struct model *m, int64_t n_ctx, int64_t n_batch, int32_t n_seq, char *err) {
    memset(f, 0, sizeof(*f));
    const struct hparams *hp = &m->hp;
    if (n_ctx < 1 || n_ctx > ((int64_t)1 << 24))
        return dc_errf(err, DC_EINVAL, "context length %lld out of range", (long long)n_ctx);
    if (n_seq < 1 || n_seq > 4096) return dc_errf(err, DC_EINVAL, "sequence slots %d out of range", n_seq);
    if (n_batch < 1) n_batch = 1;
    if (n_batch > n_ctx * n_seq) n_batch = n_ctx * n_seq;
    f->m = m;
    f->n_ctx = n_ctx;
    f->n_batch = n_batch;
    f->n_seq = n_seq;
    f->n_threads = omp_get_max_threads();
    const size_t D = (size_t)hp->n_embd, QW = (size_t)(hp->n_head * hp->head_dim),
                 KW = (size_t)(hp->n_head_kv * hp->head_dim), F = (size_t)hp->n_ff, T = (size_t)n_batch;
    f->kv_dim = (int64_t)KW;
    size_t kv = (size_t)hp->n_layer * (size_t)n_seq * (size_t)n_ctx * KW * sizeof(float);
    if (kv / sizeof(float) / KW / (size_t)n_seq != (size_t)hp->n_layer * (size_t)n_ctx)
        return dc_errf(err, DC_ENOMEM, "KV cache size overflows");
    f->k_cache = alloc_aligned(kv, &f->kv_bytes);
    f->v_cache = alloc_aligned(kv, &f->kv_bytes);
    f->n_past = calloc((size_t)n_seq, sizeof(*f->n_past));
    f->x = alloc_aligned(T * D * 4, &f->scratch_bytes);
    f->xn = alloc_aligned(T * D * 4, &f->scratch_bytes);
    f->xo = alloc_aligned(T * D * 4, &f->scratch_bytes);
    f->q = alloc_aligned(T * QW * 4, &f->scratch_bytes);
    f->k = alloc_aligned(T * KW * 4, &f->scratch_bytes);
    f->v = alloc_aligned(T * KW * 4, &f->scratch_bytes);
    f->att = alloc_aligned(T * QW * 4, &f->scratch_bytes);
    f->gate = alloc_aligned(T * F * 4, &f->scratch_bytes);
    f->up = alloc_aligned(T * F * 4, &f->scratch_bytes);
    f->scores = alloc_aligned((size_t)f->n_threads * (size_t)n_ctx * 4, &f->scratch_bytes);
    f->logits = alloc_aligned((size_t)hp->n_vocab * 4, &f->scratch_bytes);
    f->toks = alloc_aligned(T * sizeof(struct fwd_tok), &f->scratch_bytes);
    size_t mm = kern_matmul_scratch(&m->output, n_batch);
    for (int64_t l = 0; l < hp->n_layer; l++) {
        const struct model_layer *L = &m->layers[l];
        const struct kern_mat *ms[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) mm = max_sz(mm, kern_matmul_scratch(ms[i], n_batch));
    }
    f->mm_scratch_bytes = mm;
    f->mm_scratch = alloc_aligned(mm, &f->scratch_bytes);
    if (!f->k_cache || !f->v_cache || !f->n_past || !f->x || !f->xn || !f->xo || !f->q || !f->k || !f->v || !f->att ||
        !f->gate || !f->up || !f->scores || !f->logits || !f->toks || !f->mm_scratch) {
        fwd_free(f);
        return dc_errf(err, DC_ENOMEM, "out of memory for %d x %lld-token context", n_seq, (long long)n_ctx);
    }
    return DC_OK;
}

void fwd_free(struct fwd *f) {
    free(f->k_cache);
    free(f->v_cache);
    free(f->x);
    free(f->xn);
    free(f->xo);
    free(f->q);
    free(f->k);
    free(f->v);
    free(f->att);
    free(f->gate);
    free(f->up);
    free(f->scores);
    free(f->logits);
    free(f->mm_scratch);
    free(f->toks);
    free(f->n_past);
    memset(f, 0, sizeof(*f));
}

void fwd_seq_truncate(struct fwd *f, int32_t seq, int64_t n_past) {
    if (seq < 0 || seq >= f->n_seq) return;
    if (n_past >= 0 && n_past < f->n_past[seq]) f->n_past[seq] = n_past;
}

/* Row of (layer, slot, pos) in a cache buffer. */
static inline size_t kv_row(const struct fwd *f, int64_t layer, int32_t seq, int64_t pos) {
    return (((size_t)layer * (size_t)f->n_seq + (size_t)seq) * (size_t)f->n_ctx + (size_t)pos) * (size_t)f->kv_dim;
}

int fwd_seq_copy(struct fwd *f, int32_t src, int32_t dst, int64_t n) {
    if (src < 0 || src >= f->n_seq || dst < 0 || dst >= f->n_seq || n < 0 || n > f->n_past[src])
        return DC_EINVAL;
    if (src != dst) {
        for (int64_t l = 0; l < f->m->hp.n_layer; l++) {
            size_t bytes = (size_t)n * (size_t)f->kv_dim * sizeof(float);
            memcpy(f->k_cache + kv_row(f, l, dst, 0), f->k_cache + kv_row(f, l, src, 0), bytes);
            memcpy(f->v_cache + kv_row(f, l, dst, 0), f->v_cache + kv_row(f, l, src, 0), bytes);
        }
    }
    f->n_past[dst] = n;
    return DC_OK;
}

/* y[t] = w * x[t] / sqrt(mean(x[t]^2) + eps), in f32 (HF LlamaRMSNorm). */
static void rmsnorm(float *y, const float *x, const float *w, int64_t T, int64_t D, float eps) {
    for (int64_t t = 0; t < T; t++) {
        const float *xt = x + t * D;
        float *yt = y + t * D;
        float ss = 0.0f;
        for (int64_t i = 0; i < D; i++) ss += xt[i] * xt[i];
        float r = 1.0f / sqrtf(ss / (float)D + eps);
        for (int64_t i = 0; i < D; i++) yt[i] = w[i] * (xt[i] * r);
    }
}

static void add_bias(float *y, const float *b, int64_t T, int64_t W) {
    if (!b) return;
    for (int64_t t = 0; t < T; t++)
        for (int64_t i = 0; i < W; i++) y[t * W + i] += b[i];
}

/* Causal attention of the batch's tokens, each over its own slot's cache
 * positions 0..pos (already holding this batch's keys and values). */
static void attention(struct fwd *f, int64_t layer, const struct fwd_tok *toks, int64_t T) {
    const struct hparams *hp = &f->m->hp;
    const int64_t H = hp->n_head, Hk = hp->n_head_kv, E = hp->head_dim, group = H / Hk;
    const int64_t QW = H * E, KW = Hk * E;
    const float scale = 1.0f / sqrtf((float)E);
#pragma omp parallel for collapse(2) schedule(dynamic, 4)
    for (int64_t t = 0; t < T; t++) {
        for (int64_t h = 0; h < H; h++) {
            float *sc = f->scores + (size_t)omp_get_thread_num() * (size_t)f->n_ctx;
            const float *kc = f->k_cache + kv_row(f, layer, toks[t].seq, 0);
            const float *vc = f->v_cache + kv_row(f, layer, toks[t].seq, 0);
            const float *q = f->q + t * QW + h * E;
            const int64_t kvh = h / group, n_pos = toks[t].pos + 1;
            float mx = -INFINITY;
            for (int64_t p = 0; p < n_pos; p++) {
                const float *k = kc + p * KW + kvh * E;
                float s = 0.0f;
                for (int64_t i = 0; i < E; i++) s += q[i] * k[i];
                s *= scale;
                sc[p] = s;
                if (s > mx) mx = s;
            }
            float sum = 0.0f;
            for (int64_t p = 0; p < n_pos; p++) {
                sc[p] = expf(sc[p] - mx);
                sum += sc[p];
            }
            float inv = 1.0f / sum;
            float *o = f->att + t * QW + h * E;
            for (int64_t i = 0; i < E; i++) o[i] = 0.0f;
            for (int64_t p = 0; p < n_pos; p++) {
                const float *v = vc + p * KW + kvh * E;
                float w = sc[p] * inv;
                for (int64_t i = 0; i < E; i++) o[i] += w * v[i];
            }
        }
    }
}

/* One pass over T <= n_batch validated tokens. */
static void forward_batch(struct fwd *f, const struct fwd_tok *toks, int64_t T, float *logits) {
    const struct model *m = f->m;
    const struct hparams *hp = &m->hp;
    const int64_t D = hp->n_embd, E = hp->head_dim, H = hp->n_head, Hk = hp->n_head_kv, F = hp->n_ff;
    const int64_t QW = H * E, KW = Hk * E;

    for (int64_t t = 0; t < T; t++) kern_get_row(&m->tok_embd, toks[t].id, f->x + t * D);

    for (int64_t l = 0; l < hp->n_layer; l++) {
        const struct model_layer *L = &m->layers[l];
        rmsnorm(f->xn, f->x, L->attn_norm, T, D, hp->rms_eps);
        kern_matmul(&L->wq, f->xn, D, T, f->q, QW, f->mm_scratch);
        kern_matmul(&L->wk, f->xn, D, T, f->k, KW, f->mm_scratch);
        kern_matmul(&L->wv, f->xn, D, T, f->v, KW, f->mm_scratch);
        add_bias(f->q, L->bq, T, QW);
        add_bias(f->k, L->bk, T, KW);
        add_bias(f->v, L->bv, T, KW);
        for (int64_t t = 0; t < T; t++) {
            for (int64_t h = 0; h < H; h++) rope_apply(&m->rope, f->q + t * QW + h * E, toks[t].pos);
            for (int64_t h = 0; h < Hk; h++) rope_apply(&m->rope, f->k + t * KW + h * E, toks[t].pos);
            memcpy(f->k_cache + kv_row(f, l, toks[t].seq, toks[t].pos), f->k + t * KW, (size_t)KW * sizeof(float));
            memcpy(f->v_cache + kv_row(f, l, toks[t].seq, toks[t].pos), f->v + t * KW, (size_t)KW * sizeof(float));
        }
        attention(f, l, toks, T);
        kern_matmul(&L->wo, f->att, QW, T, f->xn, D, f->mm_scratch);
        for (int64_t i = 0; i < T * D; i++) f->x[i] += f->xn[i];

        rmsnorm(f->xn, f->x, L->ffn_norm, T, D, hp->rms_eps);
        kern_matmul(&L->w_gate, f->xn, D, T, f->gate, F, f->mm_scratch);
        kern_matmul(&L->w_up, f->xn, D, T, f->up, F, f->mm_scratch);
        for (int64_t i = 0; i < T * F; i++) {
            float g = f->gate[i];
            f->gate[i] = g / (1.0f + expf(-g)) * f->up[i]; /* silu(g) * u */
        }
        kern_matmul(&L->w_down, f->gate, F, T, f->xn, D, f->mm_scratch);
        for (int64_t i = 0; i < T * D; i++) f->x[i] += f->xn[i];
    }

    /* Gather the rows that want logits (in output-row order), norm, head. */
    int64_t n_out = 0;
    for (int64_t t = 0; t < T; t++)
        if (toks[t].out >= 0) {
            memcpy(f->xo + (size_t)toks[t].out * (size_t)D, f->x + t * D, (size_t)D * sizeof(float));
            n_out++;
        }
    if (n_out) {
        rmsnorm(f->xn, f->xo, m->output_norm, n_out, D, hp->rms_eps);
        kern_matmul(&m->output, f->xn, D, n_out, logits, hp->n_vocab, f->mm_scratch);
    }
    /* A slot's length is its last written position + 1 (a rewrite truncates). */
    for (int64_t t = 0; t < T; t++) f->n_past[toks[t].seq] = toks[t].pos + 1;
}

int fwd_eval_batch(struct fwd *f, const struct fwd_tok *toks, int64_t n, float *logits, char *err) {
    const struct hparams *hp = &f->m->hp;
    if (n < 1 || n > f->n_batch)
        return dc_errf(err, DC_EINVAL, "batch of %lld tokens (1..%lld allowed)", (long long)n, (long long)f->n_batch);
    int64_t n_out = 0;
    for (int64_t i = 0; i < n; i++) {
        const struct fwd_tok *t = &toks[i];
        if (t->id < 0 || t->id >= hp->n_vocab)
            return dc_errf(err, DC_EINVAL, "token id %d at %lld outside the vocabulary [0, %lld)", t->id,
                           (long long)i, (long long)hp->n_vocab);
        if (t->seq < 0 || t->seq >= f->n_seq) return dc_errf(err, DC_EINVAL, "sequence slot %d out of range", t->seq);
        if (t->pos < 0 || t->pos >= f->n_ctx)
            return dc_errf(err, DC_ERANGE, "context full: position %lld >= %lld", (long long)t->pos,
                           (long long)f->n_ctx);
        /* Every earlier position must be cached or come earlier in this batch. */
        if (t->pos > f->n_past[t->seq]) {
            int found = 0;
            for (int64_t j = i - 1; j >= 0 && !found; j--)
                found = toks[j].seq == t->seq && toks[j].pos == t->pos - 1;
            if (!found)
                return dc_errf(err, DC_EINVAL, "position %lld of slot %d follows a gap", (long long)t->pos, t->seq);
        }
        if (t->out >= 0) {
            if (t->out >= n) return dc_errf(err, DC_EINVAL, "output row %d out of range", t->out);
            n_out++;
        }
    }
    (void)n_out;
    forward_batch(f, toks, n, logits);
    return DC_OK;
}

int fwd_eval(struct fwd *f, const int32_t *ids, int64_t n, float *logits_all, char *err) {
    const struct hparams *hp = &f->m->hp;
    if (n < 1) return dc_errf(err, DC_EINVAL, "no tokens to evaluate");
    if (n > f->n_ctx - f->n_past[0])
        return dc_errf(err, DC_ERANGE, "context full: %lld cached + %lld new > %lld", (long long)f->n_past[0],
                       (long long)n, (long long)f->n_ctx);
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= hp->n_vocab)
            return dc_errf(err, DC_EINVAL, "token id %d at %lld outside the vocabulary [0, %lld)", ids[i],
                           (long long)i, (long long)hp->n_vocab);
    for (int64_t i = 0; i < n; i += f->n_batch) {
        int64_t T = n - i < f->n_batch ? n - i : f->n_batch;
        int64_t p0 = f->n_past[0];
        for (int64_t t = 0; t < T; t++) {
            f->toks[t].id = ids[i + t];
            f->toks[t].seq = 0;
            f->toks[t].pos = p0 + t;
            f->toks[t].out = logits_all ? (int32_t)t : (i + T == n && t == T - 1 ? 0 : -1);
        }
        float *out = logits_all ? logits_all + (size_t)i * (size_t)hp->n_vocab : f->logits;
        int rc = fwd_eval_batch(f, f->toks, T, out, err);
        if (rc) return rc;
    }
    return DC_OK;
}
