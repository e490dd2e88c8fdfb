/*
 * deepseek.c - the DeepSeek-V2/V3 forward pass: Multi-head Latent Attention
 * in its absorbed form over a latent KV cache, and DeepSeekMoE
 * (spec/MODEL.md 0.1, 1, 2, 3).  Reads top to bottom: small helpers, the
 * single-thread and per-head products, the router, MLA, the feed-forward
 * (dense MLP, MoE experts split two ways), then the pass.
 *
 * Dimension legend: T tokens in the pass, D n_embd, H heads, d_n / d_r / d_v
 * the nope / rope / value head widths, d_qk = d_n + d_r, r_q q_lora_rank,
 * r_kv kv_lora_rank, W = r_kv + d_r (one cache row), E routed experts, k used
 * per token, F_e expert width, S shared experts, P positions attended.
 *
 * Per layer, as HF modeling_deepseek_v3.py / _v2.py compute it:
 *   q       = q_b_proj(rms_q(q_a_proj(x)))  or  q_proj(x)         [T, H, d_qk]
 *   c, kpe  = split(kv_a_proj_with_mqa(x)); c = rms_kv(c)         [T, r_kv], [T, d_r]
 *   q_pe, kpe rotated (adjacent pairs, YaRN frequencies)
 *   s[h,t]  = (q_nope[h] . (W_UK[h] c_t) + q_pe[h] . kpe_t) * scale
 *   o[h]    = W_UV[h] sum_t softmax(s)[h,t] c_t;  out = o_proj(o)
 *   ffn     = dense SwiGLU, or sum_j w_j E_j(x) + shared(x)
 * Keys and values are never expanded per head: q_nope is folded into latent
 * space, q_lat[h] = W_UK[h]^T q_nope[h], so every head scores the same W-wide
 * cache rows [c | kpe] with the query [q_lat | q_pe] (MQA over the latent),
 * and the value is the latent itself, up-projected after the weighted sum.
 * This is the DeepSeek reference's "absorb" mode and llama.cpp's MLA graph;
 * prefill uses it too (docs/DEEPSEEK.md says why).
 */
#include "deepseek.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "dtype.h"
#include "kern.h"
#include "kern_fp8.h"
#include "kern_lat.h"
#include "model.h"
#include "rope.h"

/* ---------------------------------------------------------------- helpers */

/* Element offset of (layer, slot, position) in the cache: [n_layer][n_seq][n_ctx][W]. */
static inline size_t ds_cache_off(const struct fwd *f, int64_t layer, int32_t seq, int64_t pos) {
    return (((size_t)layer * (size_t)f->n_seq + (size_t)seq) * (size_t)f->n_ctx + (size_t)pos) * (size_t)f->kv_dim;
}

/* First position of (layer, seq)'s slot in the 8-bit cache's three parts
 * (kern_lat.h: a part's offset is this times its bytes per position). */
static inline size_t ds_q8_slot(const struct fwd *f, int64_t layer, int32_t seq) {
    return ((size_t)layer * (size_t)f->n_seq + (size_t)seq) * (size_t)KERN_LAT_Q8_POS(f->n_ctx);
}

/* y = w * x / sqrt(mean(x^2) + eps) over n values (HF DeepseekV3RMSNorm in f32;
 * the sum of squares in double). y may equal x. */
static void rms_row(float *y, const float *x, const float *w, int64_t n, float eps) {
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++) ss += (double)x[i] * (double)x[i];
    const float r = 1.0f / sqrtf((float)(ss / (double)n) + eps);
    for (int64_t i = 0; i < n; i++) y[i] = w[i] * (x[i] * r);
}

/* rms_row of T rows: each row's double chain as rms_row sums it, rows 8 at a
 * time so that the chains overlap. */
static void rms_rows(float *y, const float *x, const float *w, int64_t T, int64_t n, float eps) {
    int64_t t0 = 0;
    for (; t0 + 8 <= T; t0 += 8) {
        const float *x0 = x + t0 * n;
        double ss[8] = {0.0};
        for (int64_t i = 0; i < n; i++) {
#pragma GCC unroll 8 /* a fixed trip count: the 8 sums stay in registers */
            for (int t = 0; t < 8; t++) ss[t] += (double)x0[t * n + i] * (double)x0[t * n + i];
        }
        for (int t = 0; t < 8; t++) {
            const float r = 1.0f / sqrtf((float)(ss[t] / (double)n) + eps);
            const float *xt = x0 + t * n;
            float *yt = y + (t0 + t) * n;
            for (int64_t i = 0; i < n; i++) yt[i] = w[i] * (xt[i] * r);
        }
    }
    for (; t0 < T; t0++) rms_row(y + t0 * n, x + t0 * n, w, n, eps);
}

static inline void axpy(float *restrict y, float a, const float *restrict x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

/* silu(g) * u in place of g (HF ACT2FN["silu"]: g * sigmoid(g)). */
static void swiglu(float *g, const float *u, int64_t n) { kern_swiglu(g, u, n); }

/* Every product goes through here so the pass can count the matrix bytes it
 * reads (fwd.bytes_read; the tests compare it with the active-parameter
 * formula, model.active_bytes - model.vector_bytes: 1-D norm weights and
 * biases, about 1e-4 of the total, are not counted). */
static void mm(struct fwd *f, const struct model_mat *w, const float *x, int64_t ldx, int64_t n, float *y,
               int64_t ldy) {
    model_matmul(w, x, ldx, n, y, ldy, f->mm_scratch);
    f->bytes_read += model_mat_bytes(w);
}

/* mm of two matrices with the same input (model_matmul_multi: one parallel region). */
static void mm2(struct fwd *f, const struct model_mat *w0, float *y0, int64_t ld0, const struct model_mat *w1,
                float *y1, int64_t ld1, const float *x, int64_t ldx, int64_t n) {
    const struct model_mat *w[2] = {w0, w1};
    float *y[2] = {y0, y1};
    const int64_t ld[2] = {ld0, ld1};
    model_matmul_multi(2, w, x, ldx, n, y, ld, f->mm_scratch);
    f->bytes_read += model_mat_bytes(w0) + model_mat_bytes(w1);
}

static struct kern_fp8_mat fp8_view(const struct model_mat *w) {
    struct kern_fp8_mat v = {w->data, w->scale, w->rows, w->cols, w->row0, w->scale_ld, w->blk_r, w->blk_c};
    return v;
}

/* ------------------------------------------- single-thread products */

/* y[t * ldy + r] = W x[t * ldx] for n rows, on the calling thread: the work
 * of one per-head or per-expert work item.  Same kernels (the active table's
 * vec_dot, or the FP8 rows kernel) and activation quantization as
 * kern_matmul.  qbuf: model_mat_scratch(w, n) bytes for the quantized
 * activation rows. */
static void mm_single(const struct model_mat *w, const float *x, int64_t ldx, int64_t n, float *y, int64_t ldy,
                      void *qbuf) {
    if (w->type == DT_F8_E4M3) {
        struct kern_fp8_mat v = fp8_view(w);
        kern_fp8_rows_active()(&v, x, ldx, n, y, ldy, 0, w->rows);
        return;
    }
    /* the variant's whole-matrix kernels on this thread alone: activation
     * quantized once, then the GEMV (or the GEMM for several tokens) with the
     * same bits as vec_dot per row and token */
    const struct kern_mat k = {w->type, w->data, w->rows, w->cols, w->pk};
    kern_matmul_local(kern_active(), &k, x, ldx, n, y, ldy, qbuf);
}

/* For every head h: y_h[t] = W_h x_h[t] with W_h = mats[h] [rows x cols],
 * x_h[t] at x + h*xh + t*ldx, y_h[t] at y + h*yh + t*ldy.  One head per work
 * item (the team is shared by heads, not by rows: each W_h is small). */
static void heads_matmul(struct fwd *f, const struct model_mat *mats, int64_t H, const float *x, int64_t xh,
                         int64_t ldx, int64_t T, float *y, int64_t yh, int64_t ldy) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(f->n_threads)
    for (int64_t h = 0; h < H; h++)
        mm_single(&mats[h], x + h * xh, ldx, T, y + h * yh, ldy,
                  (uint8_t *)f->head_buf + (size_t)omp_get_thread_num() * f->head_buf_bytes);
}

/* For every head h: y_h[t] = W_h^T x_h[t] (W_h [rows x cols], x_h of `rows`
 * values, y_h of `cols`): the unsplit kv_b layout stores W_UK[h] as [d_n x r_kv],
 * so q_lat = W_UK^T q_nope is a sum of dequantized rows scaled by q_nope. */
static void heads_tmatmul(struct fwd *f, const struct model_mat *mats, int64_t H, const float *x, int64_t xh,
                          int64_t ldx, int64_t T, float *y, int64_t yh, int64_t ldy) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(f->n_threads)
    for (int64_t h = 0; h < H; h++) {
        const struct model_mat *w = &mats[h];
        float *row = (float *)((uint8_t *)f->head_buf + (size_t)omp_get_thread_num() * f->head_buf_bytes);
        for (int64_t t = 0; t < T; t++) memset(y + h * yh + t * ldy, 0, (size_t)w->cols * sizeof(float));
        for (int64_t r = 0; r < w->rows; r++) {
            model_mat_get_row(w, r, row);
            for (int64_t t = 0; t < T; t++) axpy(y + h * yh + t * ldy, x[h * xh + t * ldx + r], row, w->cols);
        }
    }
}

/* ----------------------------------------------------------------- router */

/* Index of the largest v[i] for i < n; ties go to the lower index. */
static int64_t argmax_f(const float *v, int64_t n) {
    int64_t b = 0;
    for (int64_t i = 1; i < n; i++)
        if (v[i] > v[b]) b = i;
    return b;
}

void ds_route(const struct hparams *hp, const float *z, const float *bias, float *s, int32_t *ids, float *w) {
    const int64_t E = hp->n_expert, K = hp->n_expert_used;
    float *u = s + E, *gs = s + 2 * E, *kept = s + 3 * E;
    /* 1. scores, f32 (HF: softmax over all experts, or per-expert sigmoid) */
    if (hp->expert_gating == HP_GATING_SOFTMAX) {
        float mx = z[argmax_f(z, E)], sum = 0.0f;
        for (int64_t e = 0; e < E; e++) sum += s[e] = expf(z[e] - mx);
        for (int64_t e = 0; e < E; e++) s[e] /= sum;
    } else {
        for (int64_t e = 0; e < E; e++) s[e] = 1.0f / (1.0f + expf(-z[e]));
    }
    /* 2. selection scores: the correction bias only chooses (pitfall 6) */
    for (int64_t e = 0; e < E; e++) u[e] = bias ? s[e] + bias[e] : s[e];
    /* 3. keep the n_group_used best groups of E / n_group contiguous experts:
     *    group score = max (V2) or sum of the two largest (V3); others -inf */
    if (hp->group_rule != HP_GROUP_NONE && hp->n_group > 1 && hp->n_group_used < hp->n_group) {
        const int64_t G = hp->n_group, gsz = E / G;
        for (int64_t g = 0; g < G; g++) {
            const float *ug = u + g * gsz;
            int64_t a = argmax_f(ug, gsz);
            if (hp->group_rule == HP_GROUP_MAX) {
                gs[g] = ug[a];
            } else {
                int64_t b = a == 0 ? 1 : 0;
                for (int64_t i = 0; i < gsz; i++)
                    if (i != a && ug[i] > ug[b]) b = i;
                gs[g] = ug[a] + ug[b];
            }
        }
        for (int64_t g = 0; g < G; g++) kept[g] = 0.0f;
        for (int64_t j = 0; j < hp->n_group_used; j++) {
            int64_t g = argmax_f(gs, G);
            kept[g] = 1.0f;
            gs[g] = -INFINITY;
        }
        for (int64_t g = 0; g < G; g++)
            if (kept[g] == 0.0f)
                for (int64_t i = 0; i < gsz; i++) u[g * gsz + i] = -INFINITY;
    }
    /* 4. top-k of the selection scores (k <= unmasked experts, checked at load) */
    for (int64_t j = 0; j < K; j++) {
        int64_t b = argmax_f(u, E);
        ids[j] = (int32_t)b;
        u[b] = -INFINITY;
    }
    for (int64_t j = 1; j < K; j++) /* ascending ids: a canonical order for traces */
        for (int64_t i = j; i > 0 && ids[i - 1] > ids[i]; i--) {
            int32_t tmp = ids[i];
            ids[i] = ids[i - 1];
            ids[i - 1] = tmp;
        }
    /* 5. weights from the unbiased scores, optionally renormalised, then scaled */
    float sum = 0.0f;
    for (int64_t j = 0; j < K; j++) sum += w[j] = s[ids[j]];
    if (hp->expert_weights_norm)
        for (int64_t j = 0; j < K; j++) w[j] /= sum + 1e-20f; /* HF: denominator + 1e-20 */
    for (int64_t j = 0; j < K; j++) w[j] *= hp->expert_weights_scale;
}

/* -------------------------------------------------------------------- MLA */

/* Causal attention over the latent cache for the batch's tokens, each over
 * its own slot's positions 0..pos (this pass's rows already written).
 *
 * A token's positions are cut into segments of f->lat_seg (fixed for the
 * context size).  A segment is walked in tiles from its first position: per
 * tile and per block of heads (DS_ATT_HB, DS_ATT_HB_Q8 for the 8-bit cache),
 * the scores (kern_lat), an online-softmax step (running max and sum per
 * head), then the tile's values added into the accumulators, which the values
 * kernel first rescales by exp(m_old - m_new).  The segments' results are
 * merged (ds_merge) in groups of DS_ATT_MGRP in order, then the groups in
 * order.  Small passes (decode) make one work item per (token, segment) with
 * all heads - a cache row is read once for every head, and the threads share
 * a token's positions; at short contexts per (head block, token, segment)
 * instead - then merge each group on the thread that computed most of it, then
 * per (token, head) the groups, all in one parallel region; larger passes make
 * one item per (token, head block) that walks the segments in order.  Segments,
 * tiles and head blocks never depend on the batch, and both ways do the same
 * operations per head, so a token's output has the same bits whether it is
 * decoded alone, in a batch with other sequences, or in a prompt pass (the
 * prefix cache relies on it). */

/* Positions [j0, j1) of token t for heads [h0, h0 + nh): a fresh softmax state
 * m[nh], l[nh] and unnormalised accumulators acc[nh][R].  s, al: scratch. */
static void ds_att_seg(const struct fwd *f, int64_t layer, const struct fwd_tok *tk, int64_t t, int64_t j0,
                       int64_t j1, int64_t h0, int64_t nh, float *s, float *m, float *l, float *al, float *acc) {
    const struct hparams *hp = &f->m->hp;
    const int64_t H = hp->n_head, R = hp->kv_lora_rank, W = f->kv_dim, LDS = DS_ATT_TILE_Q8;
    const float scale = hp->attn_scale;
    const struct kern_lat_ops *lat = kern_lat_active();
    const int64_t TJ = f->kv_q8k ? DS_ATT_TILE_Q8 : DS_ATT_TILE;
    const size_t q8p = f->kv_q8k ? ds_q8_slot(f, layer, tk->seq) : 0;
    const size_t co = ds_cache_off(f, layer, tk->seq, 0);
    const float *qt = f->q_lat + ((size_t)t * (size_t)H + (size_t)h0) * (size_t)W;
    for (int64_t h = 0; h < nh; h++) {
        m[h] = -INFINITY;
        l[h] = 0.0f;
    }
    const int64_t HB = f->kv_q8k ? DS_ATT_HB_Q8 : DS_ATT_HB;
    for (int64_t j = j0; j < j1; j += TJ) {
        const int64_t n = j1 - j < TJ ? j1 - j : TJ;
        for (int64_t b = 0; b < nh; b += HB) {
            const int64_t nb = nh - b < HB ? nh - b : HB;
            const float *a = j == j0 ? NULL : al + b; /* the first tile starts the accumulators */
            float *ob = acc + b * R;
            if (f->kv_q8k) {
                const uint8_t *k = f->kv_q8k + (q8p + (size_t)j) * (size_t)W;
                const int8_t *v = f->kv_q8v + (q8p + (size_t)j) * (size_t)R;
                const float *sc = f->kv_q8s + (q8p + (size_t)j) * 2;
                const size_t qo = (size_t)t * (size_t)H + (size_t)(h0 + b);
                lat->scores_q8(k, sc, n, f->q8_lat + qo * (size_t)W, W, (const struct kern_lat_q8_head *)f->q8_head + qo,
                               nb, R, W, scale, s, LDS);
                lat->softmax(s, LDS, nb, n, m + b, l + b, al + b);
                lat->values_q8(v, sc, n, s, LDS, nb, R, a, ob, R);
            } else if (f->kv_bf16) {
                const uint16_t *rows = f->kv_bf16 + co + (size_t)j * (size_t)W;
                lat->scores_bf16(rows, W, n, qt + b * W, W, nb, W, scale, s, LDS);
                lat->softmax(s, LDS, nb, n, m + b, l + b, al + b);
                lat->values_bf16(rows, W, n, s, LDS, nb, R, a, ob, R);
            } else {
                const float *rows = f->k_cache + co + (size_t)j * (size_t)W;
                lat->scores(rows, W, n, qt + b * W, W, nb, W, scale, s, LDS);
                lat->softmax(s, LDS, nb, n, m + b, l + b, al + b); /* online softmax step, f32 */
                lat->values(rows, W, n, s, LDS, nb, R, a, ob, R);
            }
        }
    }
}

/* Merge one head's segment (m, l, a[R]) into the running (M, L, A[R]). */
static void ds_merge(int64_t R, float *M, float *L, float *A, float m, float l, const float *a, int first) {
    if (first) {
        *M = m;
        *L = l;
        memcpy(A, a, (size_t)R * sizeof(float));
        return;
    }
    const float mn = m > *M ? m : *M, x = expf(*M - mn), y = expf(m - mn);
    *M = mn;
    *L = *L * x + l * y;
#pragma omp simd
    for (int64_t c = 0; c < R; c++) A[c] = A[c] * x + a[c] * y; /* elementwise: same bits in any width */
}

/* Segments [g0, g1) of a token with P positions, one merge group, for nh
 * heads of a small pass whose items before the group hold `before` of `total`
 * work (positions x heads) over nth threads: the group's work, and the
 * threads of its first and last segments and of its middle (an item goes to
 * the thread whose share holds its middle). */
struct ds_grp {
    int64_t g1, work, first, last, mid;
};
/* The thread of an item of `work` after `before` of the pass's `total`: the one
 * whose share holds the item's middle. */
static inline int64_t ds_owner(int64_t before, int64_t work, int64_t total, int64_t nth) {
    return (2 * before + work) * nth / (2 * total);
}
static struct ds_grp ds_grp_of(int64_t g0, int64_t ns, int64_t P, int64_t SEG, int64_t nh, int64_t before,
                               int64_t total, int64_t nth) {
    struct ds_grp g;
    g.g1 = g0 + DS_ATT_MGRP < ns ? g0 + DS_ATT_MGRP : ns;
    const int64_t end = P < g.g1 * SEG ? P : g.g1 * SEG, end0 = P < (g0 + 1) * SEG ? P : (g0 + 1) * SEG;
    const int64_t wf = (end0 - g0 * SEG) * nh, wl = (end - (g.g1 - 1) * SEG) * nh;
    g.work = (end - g0 * SEG) * nh;
    g.first = ds_owner(before, wf, total, nth);
    g.last = ds_owner(before + g.work - wl, wl, total, nth);
    g.mid = ds_owner(before, g.work, total, nth);
    return g;
}

/* One thread's part of a small pass, items in order (head block, token,
 * segment), a group's segments consecutive.  Step 0, the items: a group whose
 * first and last segments go to this thread (owners never decrease along the
 * items) is computed and folded as it goes, into the group's first partial; a
 * segment of a group split between threads leaves its own partial.  Step 1,
 * after a barrier: the split groups, each folded by the thread whose share
 * holds its middle.  first[t]: token t's first item; the blocks take bw heads;
 * total: the pass's work (positions x heads). */
static void ds_small_walk(struct fwd *f, int64_t layer, const struct fwd_tok *toks, int64_t T, const int64_t *first,
                          int64_t nblk, int64_t bw, int64_t total, int64_t ith, int64_t nth, int step) {
    const int64_t H = f->m->hp.n_head, R = f->m->hp.kv_lora_rank, SEG = f->lat_seg;
    const size_t pstride = (size_t)H * (size_t)(R + 2);
    float *w = f->lat_work + (size_t)ith * DS_LAT_WORK(H, R);
    float *al = w + DS_LAT_SCORES, *sm = al + H, *sl = sm + H, *sacc = sl + H; /* a segment's state */
    int64_t before = 0; /* work of the items before the group */
    int lead = step == 0 && f->kv_q8k != NULL; /* the run's first codes: no kernel prefetched them */
    for (int64_t b = 0; b < nblk; b++) {
        const int64_t h0 = b * bw, nh = h0 + bw < H ? bw : H - h0;
        for (int64_t t = 0; t < T; t++) {
            const int64_t P = toks[t].pos + 1, ns = first[t + 1] - first[t];
            for (int64_t g0 = 0; g0 < ns; g0 += DS_ATT_MGRP) {
                const struct ds_grp g = ds_grp_of(g0, ns, P, SEG, nh, before, total, nth);
                float *pg = f->lat_part + ((size_t)t * (size_t)f->lat_nseg + (size_t)g0) * pstride;
                const int split = g.first != g.last;
                if (step == 1) {
                    if (split && g.mid == ith)
                        for (int64_t sg = g0 + 1; sg < g.g1; sg++) {
                            const float *ps = pg + (size_t)(sg - g0) * pstride;
                            for (int64_t h = h0; h < h0 + nh; h++)
                                ds_merge(R, &pg[h], &pg[H + h], pg + 2 * H + h * R, ps[h], ps[H + h],
                                         ps + 2 * H + h * R, 0);
                        }
                    before += g.work;
                    continue;
                }
                for (int64_t sg = g0, bs = before; sg < g.g1; sg++) {
                    const int64_t j0 = sg * SEG, j1 = P < j0 + SEG ? P : j0 + SEG, work = (j1 - j0) * nh;
                    const int64_t owner = ds_owner(bs, work, total, nth);
                    bs += work;
                    if (owner != ith) continue;
                    if (lead) { /* 16K decode +1.5-3 % (docs/PERFORMANCE.md entry 46) */
                        const size_t q8p = ds_q8_slot(f, layer, toks[t].seq) + (size_t)j0;
                        kern_lat_q8_lead(f->kv_q8k + q8p * (size_t)f->kv_dim, f->kv_q8v + q8p * (size_t)R);
                        lead = 0;
                    }
                    float *ps = pg + (size_t)(sg - g0) * pstride;
                    if (split || sg == g0) { /* the segment's own partial */
                        ds_att_seg(f, layer, &toks[t], t, j0, j1, h0, nh, w, ps + h0, ps + H + h0, al,
                                   ps + 2 * H + (size_t)h0 * (size_t)R);
                        continue;
                    }
                    ds_att_seg(f, layer, &toks[t], t, j0, j1, h0, nh, w, sm, sl, al, sacc);
                    for (int64_t h = 0; h < nh; h++)
                        ds_merge(R, &pg[h0 + h], &pg[H + h0 + h], pg + 2 * H + (h0 + h) * R, sm[h], sl[h],
                                 sacc + h * R, 0);
                }
                before += g.work;
            }
        }
    }
}

static void mla_attention(struct fwd *f, int64_t layer, const struct fwd_tok *toks, int64_t T) {
    const struct hparams *hp = &f->m->hp;
    const struct kern_lat_ops *lat = kern_lat_active();
    const int64_t H = hp->n_head, R = hp->kv_lora_rank, SEG = f->lat_seg;
    const int64_t hb = H < DS_ATT_HB ? H : DS_ATT_HB, nhb = (H + hb - 1) / hb;
    const size_t pstride = (size_t)H * (size_t)(R + 2); /* one segment's partial: m[H], l[H], acc[H][R] */
    if (T <= f->lat_part_tok && T <= DS_SMALL_T) {
        int64_t first[DS_SMALL_T + 1], npos = 0, big = 0;
        first[0] = 0;
        for (int64_t t = 0; t < T; t++) {
            first[t + 1] = first[t] + (toks[t].pos + SEG) / SEG;
            npos += toks[t].pos + 1;
            big = toks[t].pos + 1 > big ? toks[t].pos + 1 : big;
        }
        big = big < SEG ? big : SEG; /* the longest segment */
        /* Items: (token, segment) with all heads, so that a cache row is read
         * once for every head.  When whole segments cannot be shared out
         * evenly (the longest is over 1.25 x a thread's share of the
         * positions: a short context), the items are (head block, token,
         * segment), head blocks outermost, and each thread reads about its
         * share of the heads over all positions.  A head's arithmetic is the
         * same either way (the kernels treat each head on its own). */
        const int64_t nblk = 4 * big * (int64_t)f->n_threads > 5 * npos ? nhb : 1, bw = nblk > 1 ? hb : H;
        const int64_t total = npos * H;
        /* One region: the queries' codes (8-bit cache), the items, the merge.
         * Each thread takes a contiguous run of items holding about its share
         * of the work (positions x heads): an item goes to the thread whose
         * share holds the item's middle.  (Equal item counts would give one
         * thread two whole segments more than the other when the last segment
         * is short.) */
#pragma omp parallel num_threads(f->n_threads)
        {
            const int64_t ith = omp_get_thread_num(), nth = omp_get_num_threads();
            if (f->kv_q8k) { /* the queries as 8-bit codes */
#pragma omp for schedule(static)
                for (int64_t i = 0; i < T * H; i++)
                    lat->query_q8(f->q_lat + (size_t)i * (size_t)f->kv_dim, R, f->kv_dim,
                                  f->q8_lat + (size_t)i * (size_t)f->kv_dim, (struct kern_lat_q8_head *)f->q8_head + i);
            }
            ds_small_walk(f, layer, toks, T, first, nblk, bw, total, ith, nth, 0); /* the items */
#pragma omp barrier
            ds_small_walk(f, layer, toks, T, first, nblk, bw, total, ith, nth, 1); /* the split groups */
#pragma omp barrier
#pragma omp for schedule(static)
            for (int64_t it = 0; it < T * H; it++) { /* the groups in order */
                const int64_t t = it / H, h = it % H, ns = first[t + 1] - first[t];
                float *out = f->o_lat + (size_t)it * (size_t)R, M = 0.0f, L = 0.0f;
                for (int64_t g0 = 0; g0 < ns; g0 += DS_ATT_MGRP) {
                    const float *part = f->lat_part + ((size_t)t * (size_t)f->lat_nseg + (size_t)g0) * pstride;
                    ds_merge(R, &M, &L, out, part[h], part[H + h], part + 2 * H + h * R, g0 == 0);
                }
                const float inv = 1.0f / L;
                for (int64_t c = 0; c < R; c++) out[c] = out[c] * inv;
            }
        }
        return;
    }
    if (f->kv_q8k) { /* the queries as 8-bit codes */
#pragma omp parallel for schedule(static) num_threads(f->n_threads)
        for (int64_t i = 0; i < T * H; i++)
            lat->query_q8(f->q_lat + (size_t)i * (size_t)f->kv_dim, R, f->kv_dim,
                          f->q8_lat + (size_t)i * (size_t)f->kv_dim, (struct kern_lat_q8_head *)f->q8_head + i);
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(f->n_threads)
    for (int64_t it = 0; it < T * nhb; it++) {
        const int64_t t = it / nhb, h0 = (it % nhb) * hb, nh = h0 + hb < H ? hb : H - h0;
        const int64_t P = toks[t].pos + 1;
        float *s = f->lat_work + (size_t)omp_get_thread_num() * DS_LAT_WORK(H, R);
        float *m = s + DS_LAT_SCORES, *l = m + H, *al = l + H, *M = al + H, *L = M + H, *Mg = L + H, *Lg = Mg + H;
        float *acc = Lg + H, *A = acc + H * R, *Ag = A + H * R;
        const int64_t ns = (P + SEG - 1) / SEG;
        for (int64_t sg = 0; sg < ns; sg++) { /* segments into their group, each group at its end into the token */
            const int64_t j0 = sg * SEG;
            ds_att_seg(f, layer, &toks[t], t, j0, P < j0 + SEG ? P : j0 + SEG, h0, nh, s, m, l, al, acc);
            for (int64_t h = 0; h < nh; h++)
                ds_merge(R, &Mg[h], &Lg[h], Ag + h * R, m[h], l[h], acc + h * R, sg % DS_ATT_MGRP == 0);
            if (sg % DS_ATT_MGRP == DS_ATT_MGRP - 1 || sg == ns - 1)
                for (int64_t h = 0; h < nh; h++)
                    ds_merge(R, &M[h], &L[h], A + h * R, Mg[h], Lg[h], Ag + h * R, sg < DS_ATT_MGRP);
        }
        float *out = f->o_lat + ((size_t)t * (size_t)H + (size_t)h0) * (size_t)R;
        for (int64_t h = 0; h < nh; h++) {
            const float inv = 1.0f / L[h];
            for (int64_t c = 0; c < R; c++) out[h * R + c] = A[h * R + c] * inv;
        }
    }
}

/* Attention block of layer l on the normed input f->xn; adds its output to x. */
static void mla(struct fwd *f, const struct model_layer *L, int64_t l, const struct fwd_tok *toks, int64_t T) {
    const struct model *m = f->m;
    const struct hparams *hp = &m->hp;
    const int64_t D = hp->n_embd, H = hp->n_head, dqk = hp->head_dim, dn = hp->qk_nope_dim, dr = hp->rope_dim,
                  dv = hp->v_head_dim, R = hp->kv_lora_rank, W = f->kv_dim, QW = H * dqk;
    /* queries [T][H][d_qk] */
    /* with the latent and shared rope key (kv_a), which read the same input */
    if (hp->q_lora_rank > 0) {
        mm2(f, &L->wq_a, f->qa, hp->q_lora_rank, &L->wkv_a, f->kva, W, f->xn, D, T);
        rms_rows(f->qa, f->qa, L->q_a_norm, T, hp->q_lora_rank, hp->rms_eps_latent);
        mm(f, &L->wq_b, f->qa, hp->q_lora_rank, T, f->q, QW);
    } else {
        mm2(f, &L->wq, f->q, QW, &L->wkv_a, f->kva, W, f->xn, D, T);
    }
    /* latent and shared rope key -> the cache row [c | k_pe] of each token;
     * the rope half of each query head -> the tail of its absorbed query */
    for (int64_t t = 0; t < T; t++) {
        float *kv = f->kva + t * W; /* -> [c | k_pe] in place, then into the cache */
        rms_row(kv, kv, L->kv_a_norm, R, hp->rms_eps_latent);
        rope_apply_cs(&m->rope, kv + R, f->rope_cs + t * m->rope.n_dims);
        const size_t o = ds_cache_off(f, l, toks[t].seq, toks[t].pos);
        if (f->kv_q8k) {
            const size_t so = ds_q8_slot(f, l, toks[t].seq);
            kern_lat_q8_put(f->kv_q8k + so * (size_t)W, f->kv_q8v + so * (size_t)R, f->kv_q8s + so * 2, toks[t].pos, kv,
                            R, W);
        } else if (f->kv_bf16) {
            for (int64_t i = 0; i < W; i++) f->kv_bf16[o + (size_t)i] = f32_to_bf16(kv[i]);
        } else {
            memcpy(f->k_cache + o, kv, (size_t)W * sizeof(float));
        }
        for (int64_t h = 0; h < H; h++) {
            float *qh = f->q + t * QW + h * dqk;
            rope_apply_cs(&m->rope, qh + dn, f->rope_cs + t * m->rope.n_dims);
            memcpy(f->q_lat + (t * H + h) * W + R, qh + dn, (size_t)dr * sizeof(float));
        }
    }
    /* absorb: q_lat[h] = W_UK[h]^T q_nope[h] */
    if (L->wk_b) {
        heads_matmul(f, L->wk_b, H, f->q, dqk, QW, T, f->q_lat, W, H * W);
        for (int64_t h = 0; h < H; h++) f->bytes_read += model_mat_bytes(&L->wk_b[h]);
    } else {
        heads_tmatmul(f, L->wk_bt, H, f->q, dqk, QW, T, f->q_lat, W, H * W);
        f->bytes_read += model_mat_bytes(&L->wkv_b); /* W_UK and W_UV together */
    }
    mla_attention(f, l, toks, T);
    /* values: o[h] = W_UV[h] o_lat[h], then o_proj */
    heads_matmul(f, L->wv_b, H, f->o_lat, R, H * R, T, f->att, dv, H * dv);
    if (L->wk_b)
        for (int64_t h = 0; h < H; h++) f->bytes_read += model_mat_bytes(&L->wv_b[h]);
    mm(f, &L->wo, f->att, H * dv, T, f->xo, D);
    for (int64_t i = 0; i < T * D; i++) f->x[i] += f->xo[i];
}

/* -------------------------------------------------------------------- FFN */

/* SwiGLU MLP of the normed rows x [n][D] through (gate, up, down) into y [n][D]. */
static void mlp(struct fwd *f, const struct model_mat *g, const struct model_mat *u, const struct model_mat *d,
                const float *x, int64_t n, float *y) {
    const int64_t D = f->m->hp.n_embd, F = g->rows;
    mm2(f, g, f->gate, F, u, f->up, F, x, D, n);
    swiglu(f->gate, f->up, n * F);
    mm(f, d, f->gate, F, n, y, D);
}

/* Runs every chosen expert over its tokens (f->exp_off / exp_list, grouped
 * by a counting sort in moe()), the whole team on each expert in turn
 * (rows split across threads): for batches, where an expert has many tokens.
 * Weighted outputs in expert order, then the shared experts, summed in xo. */
static void moe_experts_rows(struct fwd *f, const struct model_layer *L, int64_t T) {
    const struct hparams *hp = &f->m->hp;
    const int64_t D = hp->n_embd, E = hp->n_expert, K = hp->n_expert_used;
    const int32_t *off = f->exp_off;
    memset(f->xo, 0, (size_t)(T * D) * sizeof(float));
    for (int64_t e = 0; e < E; e++) {
        const int64_t n = off[e + 1] - off[e];
        if (n == 0) continue; /* never read */
        const int32_t *lst = f->exp_list + off[e];
        for (int64_t i = 0; i < n; i++) memcpy(f->moe_x + i * D, f->xn + (lst[i] / K) * D, (size_t)D * sizeof(float));
        mlp(f, &L->exp_gate[e], &L->exp_up[e], &L->exp_down[e], f->moe_x, n, f->moe_y);
        for (int64_t i = 0; i < n; i++) axpy(f->xo + (lst[i] / K) * D, f->exp_w[lst[i]], f->moe_y + i * D, D);
    }
    if (L->sh_gate.rows > 0) { /* shared experts: never gated */
        mlp(f, &L->sh_gate, &L->sh_up, &L->sh_down, f->xn, T, f->moe_y);
        for (int64_t i = 0; i < T * D; i++) f->xo[i] += f->moe_y[i];
    }
}

/* The same for a few tokens (decode steps; T <= DS_SMALL_T): one work item
 * per chosen expert (and one for the shared experts), each run whole by one
 * thread, so a decode step has one parallel region for all its experts
 * instead of three per expert.  Outputs go to f->exp_out in exp_list order
 * and are summed afterwards in the order moe_experts_rows uses. */
static void moe_experts_split(struct fwd *f, const struct model_layer *L, int64_t T) {
    const struct hparams *hp = &f->m->hp;
    const int64_t D = hp->n_embd, E = hp->n_expert, K = hp->n_expert_used;
    const int32_t *off = f->exp_off;
    int32_t *units = f->exp_off + E + 1; /* fill cursors are done with: reuse as the work list */
    int64_t nu = 0;
    if (L->sh_gate.rows > 0) units[nu++] = -1; /* the largest item first */
    for (int64_t e = 0; e < E; e++)
        if (off[e + 1] > off[e]) units[nu++] = (int32_t)e;
    float *sh_out = f->exp_out + (size_t)(DS_SMALL_T * K * D);
#pragma omp parallel for schedule(dynamic, 1) num_threads(f->n_threads)
    for (int64_t u = 0; u < nu; u++) {
        const int32_t e = units[u];
        const struct model_mat *g = e < 0 ? &L->sh_gate : &L->exp_gate[e], *up = e < 0 ? &L->sh_up : &L->exp_up[e],
                               *dn = e < 0 ? &L->sh_down : &L->exp_down[e];
        const int64_t n = e < 0 ? T : off[e + 1] - off[e], F = g->rows;
        float *xb = (float *)((uint8_t *)f->exp_buf + (size_t)omp_get_thread_num() * f->exp_buf_bytes);
        float *gb = xb + DS_SMALL_T * D, *ub = gb + DS_SMALL_T * f->exp_buf_ff;
        void *qb = (void *)(((uintptr_t)(ub + DS_SMALL_T * f->exp_buf_ff) + 63) & ~(uintptr_t)63);
        const float *x = f->xn;
        if (e >= 0) {
            for (int64_t i = 0; i < n; i++)
                memcpy(xb + i * D, f->xn + (f->exp_list[off[e] + i] / K) * D, (size_t)D * sizeof(float));
            x = xb;
        }
        mm_single(g, x, D, n, gb, F, qb);
        mm_single(up, x, D, n, ub, F, qb);
        swiglu(gb, ub, n * F);
        mm_single(dn, gb, F, n, e < 0 ? sh_out : f->exp_out + (size_t)off[e] * (size_t)D, D, qb);
    }
    memset(f->xo, 0, (size_t)(T * D) * sizeof(float));
    for (int64_t e = 0; e < E; e++)
        for (int64_t i = off[e]; i < off[e + 1]; i++) {
            const int32_t li = f->exp_list[i];
            axpy(f->xo + (li / K) * D, f->exp_w[li], f->exp_out + (size_t)i * (size_t)D, D);
        }
    for (int64_t u = 0; u < nu; u++) {
        const int32_t e = units[u];
        const struct model_mat *g = e < 0 ? &L->sh_gate : &L->exp_gate[e], *up = e < 0 ? &L->sh_up : &L->exp_up[e],
                               *dn = e < 0 ? &L->sh_down : &L->exp_down[e];
        f->bytes_read += model_mat_bytes(g) + model_mat_bytes(up) + model_mat_bytes(dn);
    }
    if (L->sh_gate.rows > 0)
        for (int64_t i = 0; i < T * D; i++) f->xo[i] += sh_out[i];
}

/* MoE block of layer l on f->xn (HF DeepseekV3MoE.forward): route every
 * token, group the (token, slot) pairs by expert, and run each expert that
 * at least one token chose once over all its tokens - its weights are read
 * once per pass, unchosen experts never; weighted outputs summed, plus the
 * shared experts; added to x. */
static void moe(struct fwd *f, const struct model_layer *L, int64_t l, int64_t T) {
    const struct hparams *hp = &f->m->hp;
    const int64_t D = hp->n_embd, E = hp->n_expert, K = hp->n_expert_used;
    mm(f, &L->gate_inp, f->xn, D, T, f->router, E);
    float *rs = f->router + T * E;
    for (int64_t t = 0; t < T; t++) ds_route(hp, f->router + t * E, L->exp_bias, rs, f->exp_ids + t * K, f->exp_w + t * K);
    struct fwd_trace *tr = f->trace;
    if (tr && tr->expert_ids)
        for (int64_t t = 0; t < T && tr->n + t < tr->cap; t++) {
            size_t o = ((size_t)l * (size_t)tr->cap + (size_t)(tr->n + t)) * (size_t)K;
            memcpy(tr->expert_ids + o, f->exp_ids + t * K, (size_t)K * sizeof(int32_t));
            if (tr->expert_w) memcpy(tr->expert_w + o, f->exp_w + t * K, (size_t)K * sizeof(float));
        }
    /* group (token, slot) pairs by expert: counting sort */
    int32_t *off = f->exp_off, *cur = f->exp_off + E + 1;
    memset(off, 0, (size_t)(E + 1) * sizeof(int32_t));
    for (int64_t i = 0; i < T * K; i++) off[f->exp_ids[i] + 1]++;
    for (int64_t e = 0; e < E; e++) off[e + 1] += off[e];
    memcpy(cur, off, (size_t)(E + 1) * sizeof(int32_t));
    for (int64_t i = 0; i < T * K; i++) f->exp_list[cur[f->exp_ids[i]]++] = (int32_t)i;
    if (T <= DS_SMALL_T) moe_experts_split(f, L, T);
    else moe_experts_rows(f, L, T);
    for (int64_t i = 0; i < T * D; i++) f->x[i] += f->xo[i];
}

/* ------------------------------------------------------------------- pass */

void ds_forward_batch(struct fwd *f, const struct fwd_tok *toks, int64_t T, float *logits) {
    const struct model *m = f->m;
    const struct hparams *hp = &m->hp;
    const int64_t D = hp->n_embd;

    for (int64_t t = 0; t < T; t++) model_mat_get_row(&m->tok_embd, toks[t].id, f->x + t * D);
    f->bytes_read += (uint64_t)T * (model_mat_bytes(&m->tok_embd) / (uint64_t)hp->n_vocab);
    for (int64_t t = 0; t < T; t++) rope_angles(&m->rope, toks[t].pos, f->rope_cs + t * m->rope.n_dims);

    for (int64_t l = 0; l < hp->n_layer; l++) {
        const struct model_layer *L = &m->layers[l];
        rms_rows(f->xn, f->x, L->attn_norm, T, D, hp->rms_eps);
        mla(f, L, l, toks, T);
        rms_rows(f->xn, f->x, L->ffn_norm, T, D, hp->rms_eps);
        if (L->is_moe) {
            moe(f, L, l, T);
        } else {
            mlp(f, &L->w_gate, &L->w_up, &L->w_down, f->xn, T, f->xo);
            for (int64_t i = 0; i < T * D; i++) f->x[i] += f->xo[i];
        }
        struct fwd_trace *tr = f->trace;
        if (tr && tr->hidden)
            for (int64_t t = 0; t < T && tr->n + t < tr->cap; t++)
                memcpy(tr->hidden + ((size_t)l * (size_t)tr->cap + (size_t)(tr->n + t)) * (size_t)D, f->x + t * D,
                       (size_t)D * sizeof(float));
    }
    if (f->trace) f->trace->n += T;

    /* rows that want logits, in output-row order: final norm, head */
    int64_t n_out = 0;
    for (int64_t t = 0; t < T; t++)
        if (toks[t].out >= 0) {
            memcpy(f->xo + (size_t)toks[t].out * (size_t)D, f->x + t * D, (size_t)D * sizeof(float));
            n_out++;
        }
    if (n_out) {
        rms_rows(f->xn, f->xo, m->output_norm, n_out, D, hp->rms_eps);
        mm(f, &m->output, f->xn, D, n_out, logits, hp->n_vocab);
    }
    for (int64_t t = 0; t < T; t++) f->n_past[toks[t].seq] = toks[t].pos + 1;
}
