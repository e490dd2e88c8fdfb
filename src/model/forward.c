/*
 * forward.c - buffers and KV cache for every architecture, batch validation,
 * and the dense transformer forward pass for the llama and qwen2 families
 * (deepseek2 passes go to deepseek.c).
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
#include <strings.h>
#include <sys/mman.h>

#include "deepseek.h"
#include "kern_lat.h"
#include "dtype.h"
#include "err.h"
#include "kern.h"
#include "kern_attn.h"
#include "model.h"

static void *alloc_aligned(size_t bytes, size_t *total) {
    if (bytes == 0) bytes = 64;
    bytes = (bytes + 63) & ~(size_t)63;
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes)) return NULL;
    *total += bytes;
    return p;
}

/* As alloc_aligned, 2 MiB-aligned and, where the kernel allows, on 2 MiB pages
 * (advice only; the pages are faulted in as the cache fills): the 8-bit
 * latent cache is streamed per layer between the weights' streams, and with
 * 4 KiB pages every 4 KiB of it is a TLB miss whose page walk misses the
 * caches too (16K decode on V2-Lite shapes +3-4 %, docs/PERFORMANCE.md). */
static void *alloc_huge(size_t bytes, size_t *total) {
    const size_t huge = (size_t)2 << 20, span = bytes ? (bytes + huge - 1) & ~(huge - 1) : huge;
    void *p = NULL;
    if (posix_memalign(&p, huge, span)) return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, span, MADV_HUGEPAGE);
#endif
    *total += (bytes + 63) & ~(size_t)63; /* the cache's size, as alloc_aligned counts it */
    return p;
}

size_t fwd_kv_bytes_per_token(const struct model *m) {
    const struct hparams *hp = &m->hp;
    if (hp->arch == HP_ARCH_DEEPSEEK2) /* latent + rope key per layer (spec 1.5) */
        return (size_t)hp->n_layer * (size_t)(hp->kv_lora_rank + hp->rope_dim) * sizeof(float);
    return (size_t)hp->n_layer * 2 * (size_t)(hp->n_head_kv * hp->head_dim) * sizeof(float);
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

/* Largest matmul scratch any bound matrix needs for n rows. */
static size_t mm_scratch_max(const struct model *m, int64_t n) {
    const struct hparams *hp = &m->hp;
    size_t mm = model_mat_scratch(&m->output, n);
    for (int64_t l = 0; l < hp->n_layer; l++) {
        const struct model_layer *L = &m->layers[l];
        const struct model_mat *ms[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down,
                                        &L->wq_a, &L->wq_b, &L->wkv_a, &L->gate_inp, &L->sh_gate, &L->sh_up,
                                        &L->sh_down};
        for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
            if (ms[i]->rows > 0) mm = max_sz(mm, model_mat_scratch(ms[i], n));
        if (L->is_moe) /* experts of a layer share a type in every format we read; check them all anyway */
            for (int64_t e = 0; e < hp->n_expert; e++) {
                mm = max_sz(mm, model_mat_scratch(&L->exp_gate[e], n));
                mm = max_sz(mm, model_mat_scratch(&L->exp_up[e], n));
                mm = max_sz(mm, model_mat_scratch(&L->exp_down[e], n));
            }
    }
    return mm;
}

/* Per-thread bytes for the per-head products of deepseek.c: T activation
 * rows quantized for one head's matrix, or one dequantized latent row. */
static size_t head_buf_size(const struct model *m, int64_t n) {
    const struct hparams *hp = &m->hp;
    size_t b = (size_t)hp->kv_lora_rank * sizeof(float);
    for (int64_t l = 0; l < hp->n_layer; l++) {
        const struct model_layer *L = &m->layers[l];
        if (L->wk_b) b = max_sz(b, model_mat_scratch(&L->wk_b[0], n));
        b = max_sz(b, model_mat_scratch(&L->wv_b[0], n));
    }
    return (b + 63) & ~(size_t)63;
}

/* Largest activation scratch of an expert or shared-expert matrix for n rows. */
static size_t expert_scratch_max(const struct model *m, int64_t n) {
    size_t b = 64;
    for (int64_t l = 0; l < m->hp.n_layer; l++) {
        const struct model_layer *L = &m->layers[l];
        if (!L->is_moe) continue;
        const struct model_mat *ms[] = {&L->exp_gate[0], &L->exp_up[0], &L->exp_down[0], &L->sh_gate, &L->sh_up,
                                        &L->sh_down};
        for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
            if (ms[i]->rows > 0) b = max_sz(b, model_mat_scratch(ms[i], n));
    }
    return b;
}

int fwd_init(struct fwd *f, const struct model *m, int64_t n_ctx, int64_t n_batch, int32_t n_seq, char *err) {
    return fwd_init_kv(f, m, n_ctx, n_batch, n_seq, DT_F32, err);
}

int fwd_init_kv(struct fwd *f, const struct model *m, int64_t n_ctx, int64_t n_batch, int32_t n_seq, int kv_type,
                char *err) {
    memset(f, 0, sizeof(*f));
    const struct hparams *hp = &m->hp;
    const int ds = hp->arch == HP_ARCH_DEEPSEEK2;
    if (kv_type != DT_F32 && !(ds ? kv_type == DT_BF16 || kv_type == DT_I8 : kv_type == DT_F16))
        return dc_errf(err, DC_EUNSUPPORTED, "KV cache type %s is not supported for %s (%s)",
                       kv_type == DT_I8 ? "q8" : dtype_name(kv_type), hp->arch_name,
                       ds ? "f32, bf16 or q8" : "f32 or f16");
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
    const size_t D = (size_t)hp->n_embd, T = (size_t)n_batch, H = (size_t)hp->n_head;
    size_t QW, KW, AW, F;
    if (ds) {
        QW = H * (size_t)hp->head_dim;
        KW = (size_t)(hp->kv_lora_rank + hp->rope_dim);
        AW = H * (size_t)hp->v_head_dim;
        F = max_sz((size_t)hp->n_ff, (size_t)((hp->n_expert_shared > 1 ? hp->n_expert_shared : 1) * hp->n_ff_exp));
    } else {
        QW = AW = H * (size_t)hp->head_dim;
        KW = (size_t)(hp->n_head_kv * hp->head_dim);
        F = (size_t)hp->n_ff;
    }
    f->kv_dim = (int64_t)KW;
    f->kv_type = kv_type;
    const size_t esz = kv_type == DT_BF16 || kv_type == DT_F16 ? 2 : sizeof(float);
    size_t kv = (size_t)hp->n_layer * (size_t)n_seq * (size_t)n_ctx * KW * esz;
    if (kv / esz / KW / (size_t)n_seq != (size_t)hp->n_layer * (size_t)n_ctx)
        return dc_errf(err, DC_ENOMEM, "KV cache size overflows");
    if (kv_type == DT_I8) { /* codes twice (scores and values order) + 2 scales per position */
        const size_t R = (size_t)hp->kv_lora_rank, np = (size_t)hp->n_layer * (size_t)n_seq *
                                                        (size_t)KERN_LAT_Q8_POS(n_ctx);
        if (R % 4 || KW % 4)
            return dc_errf(err, DC_EUNSUPPORTED, "8-bit latent cache needs kv_lora_rank and its row (%zu, %zu) "
                           "to be multiples of 4", R, KW);
        f->kv_q8k = alloc_huge(np * KW, &f->kv_bytes);
        f->kv_q8v = alloc_huge(np * R, &f->kv_bytes);
        f->kv_q8s = alloc_aligned(np * 2 * sizeof(float), &f->kv_bytes);
    } else if (kv_type == DT_BF16) {
        f->kv_bf16 = alloc_aligned(kv, &f->kv_bytes);
    } else if (kv_type == DT_F16) {
        f->k16 = alloc_aligned(kv, &f->kv_bytes);
        f->v16 = alloc_aligned(kv, &f->kv_bytes);
    } else {
        f->k_cache = alloc_aligned(kv, &f->kv_bytes);
    }
    if (!ds && kv_type == DT_F32) f->v_cache = alloc_aligned(kv, &f->kv_bytes);
    f->n_past = calloc((size_t)n_seq, sizeof(*f->n_past));
    f->x = alloc_aligned(T * D * 4, &f->scratch_bytes);
    f->xn = alloc_aligned(T * D * 4, &f->scratch_bytes);
    f->xo = alloc_aligned(T * D * 4, &f->scratch_bytes);
    f->q = alloc_aligned(T * QW * 4, &f->scratch_bytes);
    f->k = alloc_aligned(ds ? 0 : T * KW * 4, &f->scratch_bytes);
    f->v = alloc_aligned(ds ? 0 : T * KW * 4, &f->scratch_bytes);
    f->att = alloc_aligned(T * AW * 4, &f->scratch_bytes);
    f->gate = alloc_aligned(T * F * 4, &f->scratch_bytes);
    f->up = alloc_aligned(T * F * 4, &f->scratch_bytes);
    if (!ds) { /* per-thread kern_attn scratch, the pass's attention positions and token blocks */
        f->attn_buf_bytes = kern_attn_scratch_bytes(hp->n_head / hp->n_head_kv, hp->head_dim, n_ctx);
        f->attn_buf = alloc_aligned((size_t)f->n_threads * f->attn_buf_bytes, &f->scratch_bytes);
        f->attn_npos = alloc_aligned(T * sizeof(int32_t), &f->scratch_bytes);
        f->attn_blk = alloc_aligned((T + 1) * sizeof(int32_t), &f->scratch_bytes);
    }
    f->logits = alloc_aligned((size_t)hp->n_vocab * 4, &f->scratch_bytes);
    f->rope_cs = alloc_aligned(T * (size_t)(m->rope.n_dims > 0 ? m->rope.n_dims : 1) * 4, &f->scratch_bytes);
    f->toks = alloc_aligned(T * sizeof(struct fwd_tok), &f->scratch_bytes);
    f->mm_scratch_bytes = mm_scratch_max(m, n_batch);
    f->mm_scratch = alloc_aligned(f->mm_scratch_bytes, &f->scratch_bytes);
    int ok = (f->k_cache || f->kv_bf16 || (f->kv_q8k && f->kv_q8v && f->kv_q8s) || (f->k16 && f->v16)) &&
             (ds || f->v_cache || f->v16) && f->n_past && f->x && f->xn && f->xo && f->q && f->k && f->v &&
             f->att && f->gate && f->up && f->logits && f->rope_cs && f->toks && f->mm_scratch &&
             (ds || (f->attn_buf && f->attn_npos && f->attn_blk));
    if (ds && ok) {
        const size_t E = (size_t)hp->n_expert, K = (size_t)hp->n_expert_used;
        f->qa = alloc_aligned(T * (size_t)hp->q_lora_rank * 4, &f->scratch_bytes);
        f->kva = alloc_aligned(T * KW * 4, &f->scratch_bytes);
        f->q_lat = alloc_aligned(T * H * KW * 4, &f->scratch_bytes);
        f->o_lat = alloc_aligned(T * H * (size_t)hp->kv_lora_rank * 4, &f->scratch_bytes);
        f->moe_x = alloc_aligned(T * D * 4, &f->scratch_bytes);
        f->moe_y = alloc_aligned(T * D * 4, &f->scratch_bytes);
        f->router = alloc_aligned((T + 4) * E * 4, &f->scratch_bytes); /* + ds_route scratch */
        f->exp_ids = alloc_aligned(T * K * 4, &f->scratch_bytes);
        f->exp_w = alloc_aligned(T * K * 4, &f->scratch_bytes);
        f->exp_list = alloc_aligned(T * K * 4, &f->scratch_bytes);
        f->exp_off = alloc_aligned(2 * (E + 1) * 4, &f->scratch_bytes); /* offsets + fill cursors */
        f->head_buf_bytes = head_buf_size(m, n_batch);
        f->head_buf = alloc_aligned((size_t)f->n_threads * f->head_buf_bytes, &f->scratch_bytes);
        /* small passes: per-thread [S][D] gathered rows + 2 x [S][ff] hidden + quantized activations */
        const size_t S = DS_SMALL_T;
        f->exp_buf_ff = (int64_t)max_sz((size_t)hp->n_ff_exp, (size_t)(hp->n_expert_shared * hp->n_ff_exp));
        f->exp_buf_bytes = (S * D + 2 * S * (size_t)f->exp_buf_ff) * 4 + 64 + expert_scratch_max(m, DS_SMALL_T);
        f->exp_buf_bytes = (f->exp_buf_bytes + 63) & ~(size_t)63;
        f->exp_buf = alloc_aligned((size_t)f->n_threads * f->exp_buf_bytes, &f->scratch_bytes);
        f->exp_out = alloc_aligned(S * (K + 1) * D * 4, &f->scratch_bytes);
        f->lat_work = alloc_aligned((size_t)f->n_threads * DS_LAT_WORK(hp->n_head, hp->kv_lora_rank) * 4,
                                    &f->scratch_bytes);
        /* attention segments: fixed per context size (a token's bits must not depend on the
         * batch), at most DS_ATT_NSEG per slot; partials for the tokens of a small pass */
        f->lat_seg = DS_ATT_SEG_MIN;
        while (f->lat_seg * DS_ATT_NSEG < n_ctx) f->lat_seg *= 2;
        f->lat_nseg = (n_ctx + f->lat_seg - 1) / f->lat_seg;
        const size_t part1 = (size_t)f->lat_nseg * H * (size_t)(hp->kv_lora_rank + 2) * 4;
        f->lat_part_tok = (int64_t)(DS_ATT_PART_BYTES / part1);
        if (f->lat_part_tok > (int64_t)T) f->lat_part_tok = (int64_t)T;
        if (f->lat_part_tok < 1) f->lat_part_tok = 1;
        f->lat_part = alloc_aligned((size_t)f->lat_part_tok * part1, &f->scratch_bytes);
        if (kv_type == DT_I8) {
            f->q8_lat = alloc_aligned(T * H * KW, &f->scratch_bytes);
            f->q8_head = alloc_aligned(T * H * sizeof(struct kern_lat_q8_head), &f->scratch_bytes);
            ok = f->q8_lat && f->q8_head;
        }
        ok = ok && f->lat_part && f->lat_work && f->qa && f->kva && f->q_lat && f->o_lat && f->moe_x && f->moe_y && f->router && f->exp_ids &&
             f->exp_w && f->exp_list && f->exp_off && f->head_buf && f->exp_buf && f->exp_out;
    }
    if (!ok) {
        fwd_free(f);
        return dc_errf(err, DC_ENOMEM, "out of memory for %d x %lld-token context", n_seq, (long long)n_ctx);
    }
    return DC_OK;
}

int fwd_kv_type_parse(const char *name, int *kv_type, char *err) {
    if (!name || !strcasecmp(name, "f32")) *kv_type = DT_F32;
    else if (!strcasecmp(name, "f16")) *kv_type = DT_F16;
    else if (!strcasecmp(name, "bf16")) *kv_type = DT_BF16;
    else if (!strcasecmp(name, "q8")) *kv_type = DT_I8;
    else return dc_errf(err, DC_EINVAL, "cache type '%s' unknown (f32, f16, bf16, q8)", name);
    return DC_OK;
}

void fwd_free(struct fwd *f) {
    free(f->k_cache);
    free(f->kv_bf16);
    free(f->k16);
    free(f->v16);
    free(f->kv_q8k);
    free(f->kv_q8v);
    free(f->kv_q8s);
    free(f->lat_part);
    free(f->q8_lat);
    free(f->q8_head);
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
    free(f->attn_buf);
    free(f->attn_npos);
    free(f->attn_blk);
    free(f->logits);
    free(f->rope_cs);
    free(f->mm_scratch);
    free(f->toks);
    free(f->n_past);
    free(f->qa);
    free(f->kva);
    free(f->q_lat);
    free(f->o_lat);
    free(f->moe_x);
    free(f->moe_y);
    free(f->router);
    free(f->exp_ids);
    free(f->exp_w);
    free(f->exp_list);
    free(f->exp_off);
    free(f->head_buf);
    free(f->exp_buf);
    free(f->exp_out);
    free(f->lat_work);
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

/* Dense models: row of (layer, slot, KV head, pos) - a slot's block holds
 * each KV head's n_ctx positions in turn. */
static inline size_t kv_head_row(const struct fwd *f, int64_t layer, int32_t seq, int64_t kvh, int64_t pos) {
    const size_t E = (size_t)f->m->hp.head_dim;
    return kv_row(f, layer, seq, 0) + ((size_t)kvh * (size_t)f->n_ctx + (size_t)pos) * E;
}

int fwd_seq_copy(struct fwd *f, int32_t src, int32_t dst, int64_t n) {
    if (src < 0 || src >= f->n_seq || dst < 0 || dst >= f->n_seq || n < 0 || n > f->n_past[src])
        return DC_EINVAL;
    if (src != dst) {
        for (int64_t l = 0; l < f->m->hp.n_layer; l++) {
            if (f->kv_bf16) {
                memcpy(f->kv_bf16 + kv_row(f, l, dst, 0), f->kv_bf16 + kv_row(f, l, src, 0),
                       (size_t)n * (size_t)f->kv_dim * sizeof(uint16_t));
                continue;
            }
            if (f->kv_q8k) { /* whole 64-position blocks: the positions past n are rewritten before use */
                const size_t np = (size_t)KERN_LAT_Q8_POS(f->n_ctx), ng = (size_t)KERN_LAT_Q8_POS(n);
                const size_t so = ((size_t)l * (size_t)f->n_seq + (size_t)src) * np,
                             d0 = ((size_t)l * (size_t)f->n_seq + (size_t)dst) * np, R = (size_t)f->m->hp.kv_lora_rank;
                memcpy(f->kv_q8k + d0 * (size_t)f->kv_dim, f->kv_q8k + so * (size_t)f->kv_dim, ng * (size_t)f->kv_dim);
                memcpy(f->kv_q8v + d0 * R, f->kv_q8v + so * R, ng * R);
                memcpy(f->kv_q8s + d0 * 2, f->kv_q8s + so * 2, ng * 2 * sizeof(float));
                continue;
            }
            if (f->k16) { /* dense f16: per KV head, as below */
                const size_t b16 = (size_t)n * (size_t)f->m->hp.head_dim * sizeof(uint16_t);
                for (int64_t h = 0; h < f->m->hp.n_head_kv; h++) {
                    memcpy(f->k16 + kv_head_row(f, l, dst, h, 0), f->k16 + kv_head_row(f, l, src, h, 0), b16);
                    memcpy(f->v16 + kv_head_row(f, l, dst, h, 0), f->v16 + kv_head_row(f, l, src, h, 0), b16);
                }
                continue;
            }
            if (!f->v_cache) { /* MLA: the latent row is both key and value */
                memcpy(f->k_cache + kv_row(f, l, dst, 0), f->k_cache + kv_row(f, l, src, 0),
                       (size_t)n * (size_t)f->kv_dim * sizeof(float));
                continue;
            }
            const size_t bytes = (size_t)n * (size_t)f->m->hp.head_dim * sizeof(float);
            for (int64_t h = 0; h < f->m->hp.n_head_kv; h++) {
                memcpy(f->k_cache + kv_head_row(f, l, dst, h, 0), f->k_cache + kv_head_row(f, l, src, h, 0), bytes);
                memcpy(f->v_cache + kv_head_row(f, l, dst, h, 0), f->v_cache + kv_head_row(f, l, src, h, 0), bytes);
            }
        }
    }
    f->n_past[dst] = n;
    return DC_OK;
}

/* y[t] = w * x[t] / sqrt(mean(x[t]^2) + eps), in f32 (HF LlamaRMSNorm).  Each
 * row's sum of squares is one float chain in element order (the order the
 * reference checks were made with; 8 interleaved partial sums moved a real
 * model's greedy answer at a near-tie, docs/PERFORMANCE.md entry 32); rows go
 * 8 at a time so that their chains overlap instead of waiting on each other. */
static void rmsnorm_scale(float *y, const float *x, const float *w, int64_t D, float ss, float eps) {
    const float r = 1.0f / sqrtf(ss / (float)D + eps);
    for (int64_t i = 0; i < D; i++) y[i] = w[i] * (x[i] * r);
}

static void rmsnorm(float *y, const float *x, const float *w, int64_t T, int64_t D, float eps) {
    int64_t t0 = 0;
    for (; t0 + 8 <= T; t0 += 8) {
        const float *x0 = x + t0 * D;
        float ss[8] = {0.0f};
        for (int64_t i = 0; i < D; i++) {
#pragma GCC unroll 8 /* a fixed trip count: the 8 sums stay in registers */
            for (int t = 0; t < 8; t++) ss[t] += x0[t * D + i] * x0[t * D + i];
        }
        for (int t = 0; t < 8; t++) rmsnorm_scale(y + (t0 + t) * D, x0 + t * D, w, D, ss[t], eps);
    }
    for (; t0 < T; t0++) { /* the rest one at a time, the sum in a register */
        const float *xt = x + t0 * D;
        float ss = 0.0f;
        for (int64_t i = 0; i < D; i++) ss += xt[i] * xt[i];
        rmsnorm_scale(y + t0 * D, xt, w, D, ss, eps);
    }
}

/* y[i] += b[i] for i < n (b may be NULL). */
static void add_bias(float *y, const float *b, int64_t n) {
    if (!b) return;
    for (int64_t i = 0; i < n; i++) y[i] += b[i];
}

/* Token t's queries of KV head kvh's group and its key and value of that
 * head, fresh from the q/k/v products: biases, rotations, then the key and
 * value into the cache. */
static void qkv_finish(struct fwd *f, const struct model_layer *L, int64_t layer, const struct fwd_tok *toks, int64_t t,
                       int64_t kvh) {
    const struct model *m = f->m;
    const int64_t E = m->hp.head_dim, H = m->hp.n_head, Hk = m->hp.n_head_kv, group = H / Hk, QW = H * E, KW = Hk * E;
    float *q = f->q + t * QW + kvh * group * E, *k = f->k + t * KW + kvh * E, *v = f->v + t * KW + kvh * E;
    add_bias(q, L->bq ? L->bq + kvh * group * E : NULL, group * E);
    add_bias(k, L->bk ? L->bk + kvh * E : NULL, E);
    add_bias(v, L->bv ? L->bv + kvh * E : NULL, E);
    const float *cs = f->rope_cs + t * m->rope.n_dims;
    for (int64_t h = 0; h < group; h++) rope_apply_cs(&m->rope, q + h * E, cs);
    rope_apply_cs(&m->rope, k, cs);
    const size_t r = kv_head_row(f, layer, toks[t].seq, kvh, toks[t].pos);
    if (f->k16) { /* round to half, as the cache keeps it */
        for (int64_t i = 0; i < E; i++) {
            f->k16[r + (size_t)i] = f32_to_fp16(k[i]);
            f->v16[r + (size_t)i] = f32_to_fp16(v[i]);
        }
    } else {
        memcpy(f->k_cache + r, k, (size_t)E * sizeof(float));
        memcpy(f->v_cache + r, v, (size_t)E * sizeof(float));
    }
}

/* Cuts the pass into kern_attn jobs: runs of consecutive tokens of one slot,
 * at most KERN_ATTN_MAX_T long (a job reuses each K/V row for all its
 * tokens).  Fills f->attn_npos and f->attn_blk; returns the block count. */
static int64_t attn_blocks(struct fwd *f, const struct fwd_tok *toks, int64_t T) {
    int64_t nb = 0;
    for (int64_t t = 0; t < T; t++) {
        f->attn_npos[t] = (int32_t)(toks[t].pos + 1);
        if (t == 0 || toks[t].seq != toks[t - 1].seq || t - f->attn_blk[nb - 1] == KERN_ATTN_MAX_T)
            f->attn_blk[nb++] = (int32_t)t;
    }
    f->attn_blk[nb] = (int32_t)T;
    return nb;
}

/* Causal attention of the batch's tokens, each over its own slot's cache
 * positions 0..pos, after the region has finished this batch's q/k/v rows
 * (qkv_finish: biases, rotations, keys and values into the cache, split
 * between the threads instead of run by the calling thread alone).  Work
 * item = (token block, KV head) with the group of query heads sharing that
 * head, so each K/V row is read once per item; items go out largest first (a
 * prompt's later blocks attend to more positions).  Decode of one sequence
 * has only n_head_kv items (3 for SmolLM2: 2 + 1 on two threads); one item
 * per query head instead measured slower (each head re-reads the K/V rows). */
static void attention(struct fwd *f, const struct model_layer *L, int64_t layer, const struct fwd_tok *toks, int64_t T,
                      int64_t nb) {
    const struct hparams *hp = &f->m->hp;
    const int64_t H = hp->n_head, Hk = hp->n_head_kv, E = hp->head_dim, group = H / Hk;
    const int64_t QW = H * E;
    const struct kern_attn_ops *ops = kern_attn_active();
#pragma omp parallel
    {
        /* first every (token, KV head)'s biases, rotations and cache rows (a block
         * reads the rows earlier blocks of its sequence write), then the items */
#pragma omp for schedule(static)
        for (int64_t it = 0; it < T * Hk; it++) qkv_finish(f, L, layer, toks, it / Hk, it % Hk);
#pragma omp for schedule(dynamic, 1)
        for (int64_t it = nb * Hk - 1; it >= 0; it--) {
            const int64_t b = it / Hk, kvh = it % Hk, t0 = f->attn_blk[b], h0 = kvh * group;
            const size_t row0 = kv_head_row(f, layer, toks[t0].seq, kvh, 0);
            const int h16 = f->k16 != NULL;
            const struct kern_attn_job j = {
                .q = f->q + t0 * QW + h0 * E, .ldq = QW, .o = f->att + t0 * QW + h0 * E, .ldo = QW,
                .k = h16 ? NULL : f->k_cache + row0, .v = h16 ? NULL : f->v_cache + row0,
                .k16 = h16 ? f->k16 + row0 : NULL, .v16 = h16 ? f->v16 + row0 : NULL, .ldkv = E, .n_pos = f->attn_npos + t0,
                .nt = f->attn_blk[b + 1] - t0, .nh = group, .E = E, .scale = 1.0f / sqrtf((float)E)};
            ops->run(&j, (char *)f->attn_buf + (size_t)omp_get_thread_num() * f->attn_buf_bytes);
        }
    }
}

/* One pass over T <= n_batch validated tokens. */
static void forward_batch(struct fwd *f, const struct fwd_tok *toks, int64_t T, float *logits) {
    const struct model *m = f->m;
    const struct hparams *hp = &m->hp;
    const int64_t D = hp->n_embd, E = hp->head_dim, H = hp->n_head, Hk = hp->n_head_kv, F = hp->n_ff;
    const int64_t QW = H * E, KW = Hk * E;

    for (int64_t t = 0; t < T; t++) model_mat_get_row(&m->tok_embd, toks[t].id, f->x + t * D);
    const int64_t nb = attn_blocks(f, toks, T);

    for (int64_t t = 0; t < T; t++) rope_angles(&m->rope, toks[t].pos, f->rope_cs + t * m->rope.n_dims);
    for (int64_t l = 0; l < hp->n_layer; l++) {
        const struct model_layer *L = &m->layers[l];
        rmsnorm(f->xn, f->x, L->attn_norm, T, D, hp->rms_eps);
        {
            const struct model_mat *w3[3] = {&L->wq, &L->wk, &L->wv};
            float *y3[3] = {f->q, f->k, f->v};
            const int64_t ld3[3] = {QW, KW, KW};
            model_matmul_multi(3, w3, f->xn, D, T, y3, ld3, f->mm_scratch);
        }
        attention(f, L, l, toks, T, nb);
        model_matmul(&L->wo, f->att, QW, T, f->xn, D, f->mm_scratch);
        for (int64_t i = 0; i < T * D; i++) f->x[i] += f->xn[i];

        rmsnorm(f->xn, f->x, L->ffn_norm, T, D, hp->rms_eps);
        {
            const struct model_mat *w2[2] = {&L->w_gate, &L->w_up};
            float *y2[2] = {f->gate, f->up};
            const int64_t ld2[2] = {F, F};
            model_matmul_multi(2, w2, f->xn, D, T, y2, ld2, f->mm_scratch);
        }
        kern_swiglu(f->gate, f->up, T * F); /* silu(gate) * up */
        model_matmul(&L->w_down, f->gate, F, T, f->xn, D, f->mm_scratch);
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
        model_matmul(&m->output, f->xn, D, n_out, logits, hp->n_vocab, f->mm_scratch);
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
    if (hp->arch == HP_ARCH_DEEPSEEK2) ds_forward_batch(f, toks, n, logits);
    else forward_batch(f, toks, n, logits);
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
