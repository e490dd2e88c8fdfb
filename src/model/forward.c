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

int fwd_init(struct fwd *f, const struct model *m, int64_t n_ctx, int64_t n_batch, char *err) {
    memset(f, 0, sizeof(*f));
    const struct hparams *hp = &m->hp;
    if (n_ctx < 1 || n_ctx > ((int64_t)1 << 24))
        return dc_errf(err, DC_EINVAL, "context length %lld out of range", (long long)n_ctx);
    if (n_batch < 1) n_batch = 1;
    if (n_batch > n_ctx) n_batch = n_ctx;
    f->m = m;
    f->n_ctx = n_ctx;
    f->n_batch = n_batch;
    f->n_threads = omp_get_max_threads();
    const size_t D = (size_t)hp->n_embd, QW = (size_t)(hp->n_head * hp->head_dim),
                 KW = (size_t)(hp->n_head_kv * hp->head_dim), F = (size_t)hp->n_ff, T = (size_t)n_batch;
    size_t kv = (size_t)hp->n_layer * (size_t)n_ctx * KW * sizeof(float);
    f->k_cache = alloc_aligned(kv, &f->kv_bytes);
    f->v_cache = alloc_aligned(kv, &f->kv_bytes);
    f->x = alloc_aligned(T * D * 4, &f->scratch_bytes);
    f->xn = alloc_aligned(T * D * 4, &f->scratch_bytes);
    f->q = alloc_aligned(T * QW * 4, &f->scratch_bytes);
    f->k = alloc_aligned(T * KW * 4, &f->scratch_bytes);
    f->v = alloc_aligned(T * KW * 4, &f->scratch_bytes);
    f->att = alloc_aligned(T * QW * 4, &f->scratch_bytes);
    f->gate = alloc_aligned(T * F * 4, &f->scratch_bytes);
    f->up = alloc_aligned(T * F * 4, &f->scratch_bytes);
    f->scores = alloc_aligned((size_t)f->n_threads * (size_t)n_ctx * 4, &f->scratch_bytes);
    f->logits = alloc_aligned((size_t)hp->n_vocab * 4, &f->scratch_bytes);
    size_t mm = kern_matmul_scratch(&m->output, n_batch);
    for (int64_t l = 0; l < hp->n_layer; l++) {
        const struct model_layer *L = &m->layers[l];
        const struct kern_mat *ms[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) mm = max_sz(mm, kern_matmul_scratch(ms[i], n_batch));
    }
    f->mm_scratch_bytes = mm;
    f->mm_scratch = alloc_aligned(mm, &f->scratch_bytes);
    if (!f->k_cache || !f->v_cache || !f->x || !f->xn || !f->q || !f->k || !f->v || !f->att || !f->gate ||
        !f->up || !f->scores || !f->logits || !f->mm_scratch) {
        fwd_free(f);
        return dc_errf(err, DC_ENOMEM, "out of memory for a %lld-token context", (long long)n_ctx);
    }
    return DC_OK;
}

void fwd_free(struct fwd *f) {
    free(f->k_cache);
    free(f->v_cache);
    free(f->x);
    free(f->xn);
    free(f->q);
    free(f->k);
    free(f->v);
    free(f->att);
    free(f->gate);
    free(f->up);
    free(f->scores);
    free(f->logits);
    free(f->mm_scratch);
    memset(f, 0, sizeof(*f));
}

void fwd_truncate(struct fwd *f, int64_t n_past) {
    if (n_past >= 0 && n_past < f->n_past) f->n_past = n_past;
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

/* Causal attention of T new tokens over the cache (positions 0..p0+t). */
static void attention(struct fwd *f, int64_t layer, int64_t T, int64_t p0) {
    const struct hparams *hp = &f->m->hp;
    const int64_t H = hp->n_head, Hk = hp->n_head_kv, E = hp->head_dim, group = H / Hk;
    const int64_t QW = H * E, KW = Hk * E;
    const float scale = 1.0f / sqrtf((float)E);
    const float *kc = f->k_cache + (size_t)layer * (size_t)f->n_ctx * (size_t)KW;
    const float *vc = f->v_cache + (size_t)layer * (size_t)f->n_ctx * (size_t)KW;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t t = 0; t < T; t++) {
        for (int64_t h = 0; h < H; h++) {
            float *sc = f->scores + (size_t)omp_get_thread_num() * (size_t)f->n_ctx;
            const float *q = f->q + t * QW + h * E;
            const int64_t kvh = h / group, n_pos = p0 + t + 1;
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

/* One pass of T <= n_batch tokens at positions p0.. */
/* want: 0 no logits, 1 last token's into f->logits, 2 all T rows into logits_all. */
static void forward_batch(struct fwd *f, const int32_t *ids, int64_t T, int want, float *logits_all) {
    const struct model *m = f->m;
    const struct hparams *hp = &m->hp;
    const int64_t D = hp->n_embd, E = hp->head_dim, H = hp->n_head, Hk = hp->n_head_kv, F = hp->n_ff;
    const int64_t QW = H * E, KW = Hk * E, p0 = f->n_past;

    for (int64_t t = 0; t < T; t++) kern_get_row(&m->tok_embd, ids[t], f->x + t * D);

    for (int64_t l = 0; l < hp->n_layer; l++) {
        const struct model_layer *L = &m->layers[l];
        rmsnorm(f->xn, f->x, L->attn_norm, T, D, hp->rms_eps);
        kern_matmul(&L->wq, f->xn, D, T, f->q, QW, f->mm_scratch);
        kern_matmul(&L->wk, f->xn, D, T, f->k, KW, f->mm_scratch);
        kern_matmul(&L->wv, f->xn, D, T, f->v, KW, f->mm_scratch);
        add_bias(f->q, L->bq, T, QW);
        add_bias(f->k, L->bk, T, KW);
        add_bias(f->v, L->bv, T, KW);
        float *kc = f->k_cache + ((size_t)l * (size_t)f->n_ctx + (size_t)p0) * (size_t)KW;
        float *vc = f->v_cache + ((size_t)l * (size_t)f->n_ctx + (size_t)p0) * (size_t)KW;
        for (int64_t t = 0; t < T; t++) {
            for (int64_t h = 0; h < H; h++) rope_apply(&m->rope, f->q + t * QW + h * E, p0 + t);
            for (int64_t h = 0; h < Hk; h++) rope_apply(&m->rope, f->k + t * KW + h * E, p0 + t);
        }
        memcpy(kc, f->k, (size_t)(T * KW) * sizeof(float));
        memcpy(vc, f->v, (size_t)(T * KW) * sizeof(float));
        attention(f, l, T, p0);
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

    if (want == 2) {
        rmsnorm(f->xn, f->x, m->output_norm, T, D, hp->rms_eps);
        kern_matmul(&m->output, f->xn, D, T, logits_all, hp->n_vocab, f->mm_scratch);
    } else if (want == 1) {
        rmsnorm(f->xn, f->x + (T - 1) * D, m->output_norm, 1, D, hp->rms_eps);
        kern_matmul(&m->output, f->xn, D, 1, f->logits, hp->n_vocab, f->mm_scratch);
    }
    f->n_past += T;
}

int fwd_eval(struct fwd *f, const int32_t *ids, int64_t n, float *logits_all, char *err) {
    const struct hparams *hp = &f->m->hp;
    if (n < 1) return dc_errf(err, DC_EINVAL, "no tokens to evaluate");
    if (n > f->n_ctx - f->n_past)
        return dc_errf(err, DC_ERANGE, "context full: %lld cached + %lld new > %lld", (long long)f->n_past,
                       (long long)n, (long long)f->n_ctx);
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= hp->n_vocab)
            return dc_errf(err, DC_EINVAL, "token id %d at %lld outside the vocabulary [0, %lld)", ids[i],
                           (long long)i, (long long)hp->n_vocab);
    for (int64_t i = 0; i < n; i += f->n_batch) {
        int64_t T = n - i < f->n_batch ? n - i : f->n_batch;
        float *la = logits_all ? logits_all + (size_t)i * (size_t)hp->n_vocab : NULL;
        int want = logits_all ? 2 : (i + T == n ? 1 : 0);
        forward_batch(f, ids + i, T, want, la);
    }
    return DC_OK;
}
