/*
 * kern_attn_avx512.c - dense attention for AVX-512 (F; Skylake-SP and later,
 * Zen 4).  Compiled with its own -m flags; used only when
 * kern_cpu_has(KERN_ISA_AVX512).  Math and job layout: kern_attn.h; scratch
 * layout: kern_attn_impl.h.
 *
 * Rows in lanes: up to 48 query rows (row r = token r / nh, head r % nh; 3
 * vectors of 16) per pass; the queries are transposed once, so that S^T =
 * K Q^T is formed with one broadcast of a key element against 1-3 query
 * vectors (8 keys at a time: 24 accumulators), and O^T += V^T P^T with one
 * broadcast of a value element against 1-3 probability vectors (8 dims at a
 * time).  No horizontal sums and no shuffles.  The softmax runs online over
 * tiles of ATTN_TILE positions: per lane a running max m and sum l; a tile
 * whose max exceeds m rescales l and O^T by exp(m - m_new).  Each lane masks
 * positions past its own n_pos (-inf score, 0 weight).
 *
 * Batch invariance: every lane runs the same operations in the same order
 * whatever the other lanes hold (tiles start at position 0; a masked
 * position adds exact zeros; a tile past a lane's n_pos rescales by
 * exp(0) = 1), so a token's output has the same bits alone or in any block,
 * which the engine needs (a prompt evaluated in one pass or in pieces, or
 * with a cached prefix, must give the same logits).  A decode job uses only
 * nh of the 16 lanes; a keys-in-lanes path with a shuffle-tree reduction was
 * 1.6x faster there but summed in another order, so it was dropped.
 *
 * exp is a degree-7 Taylor polynomial on |r| <= ln2/2 after n = round(x /
 * ln2), x clamped to [-87, 88], then scalef by n: about 1 ulp, no special
 * cases needed since every argument is <= 0 (x - running max).
 */
#include <immintrin.h>
#include <math.h>

#include "kern_attn.h"
#include "kern_attn_impl.h"
#include "kern_exp512.h"

#define AI static inline __attribute__((always_inline))

AI __mmask16 mask16(int64_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }

/* ---- rows in lanes ---------------------------------------------------- */

/* pt[jj][v] = K[p0 + jb + kj] . qt[.][v] for KJ keys, NV row vectors. */
AI void qk_block(const float *k, int64_t ldkv, int64_t E, const float *qt, float scale, float *pt, const int NV,
                 const int KJ) {
    const __m512 sc = _mm512_set1_ps(scale);
    __m512 acc[8][3];
    #pragma GCC unroll 8
    for (int kj = 0; kj < KJ; kj++)
        #pragma GCC unroll 8
        for (int v = 0; v < NV; v++) acc[kj][v] = _mm512_setzero_ps();
    for (int64_t i = 0; i < E; i++) {
        __m512 qv[3];
        #pragma GCC unroll 8
        for (int v = 0; v < NV; v++) qv[v] = _mm512_load_ps(qt + i * ATTN_ROWS + 16 * v);
        #pragma GCC unroll 8
        for (int kj = 0; kj < KJ; kj++) {
            const __m512 b = _mm512_set1_ps(k[kj * ldkv + i]);
            #pragma GCC unroll 8
            for (int v = 0; v < NV; v++) acc[kj][v] = _mm512_fmadd_ps(qv[v], b, acc[kj][v]);
        }
    }
    #pragma GCC unroll 8
    for (int kj = 0; kj < KJ; kj++)
        #pragma GCC unroll 8
        for (int v = 0; v < NV; v++) _mm512_store_ps(pt + kj * ATTN_ROWS + 16 * v, _mm512_mul_ps(acc[kj][v], sc));
}

/* ot[c0 + c][v] = alpha[v] ot[c0 + c][v] + sum_jj pt[jj][v] V[jj][c0 + c], CW dims. */
AI void pv_block(const float *vr, int64_t ldkv, int64_t np, int64_t c0, const float *pt, const float *alpha,
                 float *ot, const int NV, const int CW) {
    __m512 acc[8][3], al[3];
    #pragma GCC unroll 8
    for (int v = 0; v < NV; v++) al[v] = _mm512_load_ps(alpha + 16 * v);
    #pragma GCC unroll 8
    for (int c = 0; c < CW; c++)
        #pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            acc[c][v] = _mm512_mul_ps(al[v], _mm512_load_ps(ot + (c0 + c) * ATTN_ROWS + 16 * v));
    for (int64_t jj = 0; jj < np; jj++) {
        __m512 pv[3];
        #pragma GCC unroll 8
        for (int v = 0; v < NV; v++) pv[v] = _mm512_load_ps(pt + jj * ATTN_ROWS + 16 * v);
        const float *vrow = vr + jj * ldkv + c0;
        #pragma GCC unroll 8
        for (int c = 0; c < CW; c++) {
            const __m512 b = _mm512_set1_ps(vrow[c]);
            #pragma GCC unroll 8
            for (int v = 0; v < NV; v++) acc[c][v] = _mm512_fmadd_ps(pv[v], b, acc[c][v]);
        }
    }
    #pragma GCC unroll 8
    for (int c = 0; c < CW; c++)
        #pragma GCC unroll 8
        for (int v = 0; v < NV; v++) _mm512_store_ps(ot + (c0 + c) * ATTN_ROWS + 16 * v, acc[c][v]);
}

/* Rows [p0, p0 + np) of a 16-bit K and V widened to f32 rows of E at kc, vc. */
static void widen_tile(const struct kern_attn_job *j, int64_t p0, int64_t np, float *kc, float *vc) {
    const int64_t E = j->E;
    for (int64_t r = 0; r < np; r++) {
        const uint16_t *ks = j->k16 + (p0 + r) * j->ldkv, *vs = j->v16 + (p0 + r) * j->ldkv;
        for (int64_t i = 0; i < E; i += 16) {
            const __mmask16 m = E - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (E - i)) - 1u);
            _mm512_mask_storeu_ps(kc + r * E + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, ks + i)));
            _mm512_mask_storeu_ps(vc + r * E + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, vs + i)));
        }
    }
}

/* One pass over rows r0 .. r0 + nr - 1 (nr <= 16 NV) of the job. */
AI void lanes_pass(const struct kern_attn_job *j, float *scr, int64_t r0, int64_t nr, const int NV) {
    const int64_t E = j->E, nh = j->nh;
    float *qt = scr, *ot = qt + E * ATTN_ROWS, *pt = ot + E * ATTN_ROWS;
    float *m = pt + ATTN_TILE * ATTN_ROWS, *l = m + ATTN_ROWS, *alpha = l + ATTN_ROWS;
    int32_t *npos = (int32_t *)(alpha + ATTN_ROWS);
    int64_t nmax = 1;
    for (int r = 0; r < 16 * NV; r++) {
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
    for (int64_t p0 = 0; p0 < nmax; p0 += ATTN_TILE) {
        const int64_t np = nmax - p0 < ATTN_TILE ? nmax - p0 : ATTN_TILE;
        const float *kb = j->k16 ? scr + attn_conv_floats(E) : j->k + p0 * j->ldkv;
        const float *vb = j->k16 ? kb + ATTN_TILE * E : j->v + p0 * j->ldkv;
        const int64_t ld = j->k16 ? E : j->ldkv;
        if (j->ldkv == E) attn_prefetch_next(j, p0, nmax);
        if (j->k16) widen_tile(j, p0, np, (float *)kb, (float *)vb);
        int64_t jb = 0;
        for (; jb + 8 <= np; jb += 8) qk_block(kb + jb * ld, ld, E, qt, j->scale, pt + jb * ATTN_ROWS, NV, 8);
        for (; jb < np; jb++) qk_block(kb + jb * ld, ld, E, qt, j->scale, pt + jb * ATTN_ROWS, NV, 1);
        #pragma GCC unroll 8
        for (int v = 0; v < NV; v++) {
            const __m512i nv = _mm512_load_si512(npos + 16 * v);
            const __m512 mold = _mm512_load_ps(m + 16 * v);
            __m512 mx = mold;
            for (int64_t jj = 0; jj < np; jj++) {
                const __mmask16 ok = _mm512_cmpgt_epi32_mask(nv, _mm512_set1_epi32((int32_t)(p0 + jj)));
                mx = _mm512_mask_max_ps(mx, ok, mx, _mm512_load_ps(pt + jj * ATTN_ROWS + 16 * v));
            }
            /* every lane has position 0 valid, so mx is finite from the first tile on */
            __m512 sum = _mm512_setzero_ps();
            for (int64_t jj = 0; jj < np; jj++) {
                const __mmask16 ok = _mm512_cmpgt_epi32_mask(nv, _mm512_set1_epi32((int32_t)(p0 + jj)));
                const __m512 e =
                    _mm512_maskz_mov_ps(ok, kern_exp512(_mm512_sub_ps(_mm512_load_ps(pt + jj * ATTN_ROWS + 16 * v), mx)));
                _mm512_store_ps(pt + jj * ATTN_ROWS + 16 * v, e);
                sum = _mm512_add_ps(sum, e);
            }
            const __m512 a = kern_exp512(_mm512_sub_ps(mold, mx)); /* first tile: exp(-inf) -> ~0, l and ot are 0 */
            _mm512_store_ps(alpha + 16 * v, a);
            _mm512_store_ps(l + 16 * v, _mm512_fmadd_ps(_mm512_load_ps(l + 16 * v), a, sum));
            _mm512_store_ps(m + 16 * v, mx);
        }
        int64_t c0 = 0;
        for (; c0 + 8 <= E; c0 += 8) pv_block(vb, ld, np, c0, pt, alpha, ot, NV, 8);
        for (; c0 < E; c0++) pv_block(vb, ld, np, c0, pt, alpha, ot, NV, 1);
    }
    for (int64_t r = 0; r < nr; r++) {
        const int64_t t = (r0 + r) / nh, h = (r0 + r) % nh;
        float *o = j->o + t * j->ldo + h * E;
        const float inv = 1.0f / l[r];
        for (int64_t i = 0; i < E; i++) o[i] = ot[i * ATTN_ROWS + r] * inv;
    }
}

static void run_lanes(const struct kern_attn_job *j, float *scr) {
    const int64_t nq = j->nt * j->nh;
    for (int64_t r0 = 0; r0 < nq; r0 += ATTN_ROWS) {
        const int64_t nr = nq - r0 < ATTN_ROWS ? nq - r0 : ATTN_ROWS;
        if (nr > 32) lanes_pass(j, scr, r0, nr, 3);
        else if (nr > 16) lanes_pass(j, scr, r0, nr, 2);
        else lanes_pass(j, scr, r0, nr, 1);
    }
}

static void attn_run_avx512(const struct kern_attn_job *j, void *scratch) { run_lanes(j, scratch); }

const struct kern_attn_ops kern_attn_avx512 = {"avx512", attn_run_avx512};
