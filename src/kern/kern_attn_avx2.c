/*
 * kern_attn_avx2.c - dense attention for AVX2 + FMA (Haswell and later, Zen).
 * Compiled with its own -m flags; used only when kern_cpu_has(KERN_ISA_AVX2).
 * Math and job layout: kern_attn.h; scratch layout: kern_attn_impl.h.
 *
 * The "rows in lanes" scheme of kern_attn_avx512.c with 8 lanes and 16 ymm
 * registers: up to 16 query rows (2 vectors) per pass, 4 keys (S^T = K Q^T)
 * or 4 dims (O^T += V^T P^T) per step, 8 accumulators.  The softmax runs
 * online over tiles of ATTN_TILE positions with per-lane running max and
 * sum; lanes mask positions past their own n_pos.  Like the AVX-512 file,
 * a token's output has the same bits whatever block it is in (see there).
 *
 * exp: kern_exp256.h.
 */
#include <immintrin.h>
#include <math.h>

#include "kern_attn.h"
#include "kern_attn_impl.h"
#include "kern_exp256.h"

#define AI static inline __attribute__((always_inline))


AI void qk_block(const float *k, int64_t ldkv, int64_t E, const float *qt, float scale, float *pt, const int NV,
                 const int KJ) {
    const __m256 sc = _mm256_set1_ps(scale);
    __m256 acc[4][2];
    #pragma GCC unroll 8
    for (int kj = 0; kj < KJ; kj++)
        #pragma GCC unroll 8
        for (int v = 0; v < NV; v++) acc[kj][v] = _mm256_setzero_ps();
    for (int64_t i = 0; i < E; i++) {
        __m256 qv[2];
        #pragma GCC unroll 8
        for (int v = 0; v < NV; v++) qv[v] = _mm256_load_ps(qt + i * ATTN_ROWS + 8 * v);
        #pragma GCC unroll 8
        for (int kj = 0; kj < KJ; kj++) {
            const __m256 b = _mm256_broadcast_ss(k + kj * ldkv + i);
            #pragma GCC unroll 8
            for (int v = 0; v < NV; v++) acc[kj][v] = _mm256_fmadd_ps(qv[v], b, acc[kj][v]);
        }
    }
    #pragma GCC unroll 8
    for (int kj = 0; kj < KJ; kj++)
        #pragma GCC unroll 8
        for (int v = 0; v < NV; v++) _mm256_store_ps(pt + kj * ATTN_ROWS + 8 * v, _mm256_mul_ps(acc[kj][v], sc));
}

AI void pv_block(const float *vr, int64_t ldkv, int64_t np, int64_t c0, const float *pt, const float *alpha,
                 float *ot, const int NV, const int CW) {
    __m256 acc[4][2], al[2];
    #pragma GCC unroll 8
    for (int v = 0; v < NV; v++) al[v] = _mm256_load_ps(alpha + 8 * v);
    #pragma GCC unroll 8
    for (int c = 0; c < CW; c++)
        #pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            acc[c][v] = _mm256_mul_ps(al[v], _mm256_load_ps(ot + (c0 + c) * ATTN_ROWS + 8 * v));
    for (int64_t jj = 0; jj < np; jj++) {
        __m256 pv[2];
        #pragma GCC unroll 8
        for (int v = 0; v < NV; v++) pv[v] = _mm256_load_ps(pt + jj * ATTN_ROWS + 8 * v);
        const float *vrow = vr + jj * ldkv + c0;
        #pragma GCC unroll 8
        for (int c = 0; c < CW; c++) {
            const __m256 b = _mm256_broadcast_ss(vrow + c);
            #pragma GCC unroll 8
            for (int v = 0; v < NV; v++) acc[c][v] = _mm256_fmadd_ps(pv[v], b, acc[c][v]);
        }
    }
    #pragma GCC unroll 8
    for (int c = 0; c < CW; c++)
        #pragma GCC unroll 8
        for (int v = 0; v < NV; v++) _mm256_store_ps(ot + (c0 + c) * ATTN_ROWS + 8 * v, acc[c][v]);
}

/* One pass over rows r0 .. r0 + nr - 1 (nr <= 8 NV) of the job. */
/* Rows [p0, p0 + np) of a 16-bit K and V widened to f32 rows of E at kc, vc. */
static void widen_tile(const struct kern_attn_job *j, int64_t p0, int64_t np, float *kc, float *vc) {
    const int64_t E = j->E;
    for (int64_t r = 0; r < np; r++) {
        const uint16_t *ks = j->k16 + (p0 + r) * j->ldkv, *vs = j->v16 + (p0 + r) * j->ldkv;
        int64_t i = 0;
        for (; i + 8 <= E; i += 8) {
            _mm256_storeu_ps(kc + r * E + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(ks + i))));
            _mm256_storeu_ps(vc + r * E + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(vs + i))));
        }
        for (; i < E; i++) {
            kc[r * E + i] = _cvtsh_ss(ks[i]);
            vc[r * E + i] = _cvtsh_ss(vs[i]);
        }
    }
}

AI void lanes_pass(const struct kern_attn_job *j, float *scr, int64_t r0, int64_t nr, const int NV) {
    const int64_t E = j->E, nh = j->nh;
    float *qt = scr, *ot = qt + E * ATTN_ROWS, *pt = ot + E * ATTN_ROWS;
    float *m = pt + ATTN_TILE * ATTN_ROWS, *l = m + ATTN_ROWS, *alpha = l + ATTN_ROWS;
    int32_t *npos = (int32_t *)(alpha + ATTN_ROWS);
    int64_t nmax = 1;
    for (int r = 0; r < 8 * NV; r++) {
        if (r < nr) {
            const int64_t t = (r0 + r) / nh, h = (r0 + r) % nh;
            const float *q = j->q + t * j->ldq + h * E;
            for (int64_t i = 0; i < E; i++) qt[i * ATTN_ROWS + r] = q[i];
            npos[r] = j->n_pos[t];
            if (npos[r] > nmax) nmax = npos[r];
        } else { /* idle lane: zero query, attends to position 0 only */
            for (int64_t i = 0; i < E; i++) qt[i * ATTN_ROWS + r] = 0.0f;
            npos[r] = 1;
        }
        m[r] = -INFINITY;
        l[r] = 0.0f;
        for (int64_t i = 0; i < E; i++) ot[i * ATTN_ROWS + r] = 0.0f;
    }
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    for (int64_t p0 = 0; p0 < nmax; p0 += ATTN_TILE) {
        const int64_t np = nmax - p0 < ATTN_TILE ? nmax - p0 : ATTN_TILE;
        const float *kb = j->k16 ? scr + attn_conv_floats(E) : j->k + p0 * j->ldkv;
        const float *vb = j->k16 ? kb + ATTN_TILE * E : j->v + p0 * j->ldkv;
        const int64_t ld = j->k16 ? E : j->ldkv;
        if (j->k16) widen_tile(j, p0, np, (float *)kb, (float *)vb);
        int64_t jb = 0;
        for (; jb + 4 <= np; jb += 4) qk_block(kb + jb * ld, ld, E, qt, j->scale, pt + jb * ATTN_ROWS, NV, 4);
        for (; jb < np; jb++) qk_block(kb + jb * ld, ld, E, qt, j->scale, pt + jb * ATTN_ROWS, NV, 1);
        #pragma GCC unroll 8
        for (int v = 0; v < NV; v++) {
            const __m256i nv = _mm256_load_si256((const __m256i *)(npos + 8 * v));
            const __m256 mold = _mm256_load_ps(m + 8 * v);
            __m256 mx = mold;
            for (int64_t jj = 0; jj < np; jj++) {
                const __m256 ok = _mm256_castsi256_ps(_mm256_cmpgt_epi32(nv, _mm256_set1_epi32((int32_t)(p0 + jj))));
                mx = _mm256_max_ps(mx, _mm256_blendv_ps(ninf, _mm256_load_ps(pt + jj * ATTN_ROWS + 8 * v), ok));
            }
            __m256 sum = _mm256_setzero_ps();
            for (int64_t jj = 0; jj < np; jj++) {
                const __m256 ok = _mm256_castsi256_ps(_mm256_cmpgt_epi32(nv, _mm256_set1_epi32((int32_t)(p0 + jj))));
                const __m256 e =
                    _mm256_and_ps(ok, kern_exp256(_mm256_sub_ps(_mm256_load_ps(pt + jj * ATTN_ROWS + 8 * v), mx)));
                _mm256_store_ps(pt + jj * ATTN_ROWS + 8 * v, e);
                sum = _mm256_add_ps(sum, e);
            }
            const __m256 a = kern_exp256(_mm256_sub_ps(mold, mx)); /* first tile: exp(-inf) -> ~0, l and ot are 0 */
            _mm256_store_ps(alpha + 8 * v, a);
            _mm256_store_ps(l + 8 * v, _mm256_fmadd_ps(_mm256_load_ps(l + 8 * v), a, sum));
            _mm256_store_ps(m + 8 * v, mx);
        }
        int64_t c0 = 0;
        for (; c0 + 4 <= E; c0 += 4) pv_block(vb, ld, np, c0, pt, alpha, ot, NV, 4);
        for (; c0 < E; c0++) pv_block(vb, ld, np, c0, pt, alpha, ot, NV, 1);
    }
    for (int64_t r = 0; r < nr; r++) {
        const int64_t t = (r0 + r) / nh, h = (r0 + r) % nh;
        float *o = j->o + t * j->ldo + h * E;
        const float inv = 1.0f / l[r];
        for (int64_t i = 0; i < E; i++) o[i] = ot[i * ATTN_ROWS + r] * inv;
    }
}

static void attn_run_avx2(const struct kern_attn_job *j, void *scratch) {
    const int64_t nq = j->nt * j->nh;
    for (int64_t r0 = 0; r0 < nq; r0 += 16) {
        const int64_t nr = nq - r0 < 16 ? nq - r0 : 16;
        if (nr > 8) lanes_pass(j, scratch, r0, nr, 2);
        else lanes_pass(j, scratch, r0, nr, 1);
    }
}

const struct kern_attn_ops kern_attn_avx2 = {"avx2", attn_run_avx2};
