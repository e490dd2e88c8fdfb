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
 * with a cached prefix, must give the same logits).  Jobs of at most 16
 * rows (a decode job has nh) would leave lanes idle: they run with keys in
 * lanes instead ("keys in lanes" below), with every row's arithmetic in the
 * same order, so the bits do not depend on which path a token took.  (An
 * earlier keys-in-lanes path with a shuffle-tree reduction of each dot
 * product summed in another order and was dropped.)
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
        const float *kb, *vb;
        int64_t ld;
        attn_tile_src(j, scr, p0, &kb, &vb, &ld);
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

/* ---- keys in lanes (jobs of at most 16 rows) ------------------------- */

/* A decode job has nt * nh = nh rows (3 for SmolLM2, 6 for Qwen2-1.5B): in
 * lanes they would fill 3-6 of 16.  With at most 16 rows the scores are
 * formed with keys in lanes instead: each tile's K rows are transposed (16
 * keys at a time) so that one vector holds element i of 16 keys, and every
 * row's score vector is an fma chain over i = 0 .. E-1 against its broadcast
 * query element - per (row, key) the same operations in the same order as
 * the rows-in-lanes chain (fma(q_i, k_i, acc) from 0, then * scale).  The
 * softmax steps per row work on vectors of positions but keep each lane's
 * operations: max is exact in any order, exp is element-wise, and the sum of
 * a tile's weights is added position by position from 0 as the lanes do.
 * O keeps dims in lanes: acc = alpha * o, then fma(p_jj, v_jj, acc) for the
 * tile's positions in order - again the lanes' chain.  So a token gets the
 * same bits from either path, whatever block it is in (test_kern_attn). */

/* 16 x 16 floats: out[c][k] = in[k][c] (in: 16 rows of 16, c < 16). */
AI void transpose16(__m512 r[16]) {
    __m512 a[16], b[16];
    #pragma GCC unroll 8
    for (int k = 0; k < 8; k++) {
        a[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        a[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    #pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        b[4 * k + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a[4 * k]), _mm512_castps_pd(a[4 * k + 2])));
        b[4 * k + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a[4 * k]), _mm512_castps_pd(a[4 * k + 2])));
        b[4 * k + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a[4 * k + 1]), _mm512_castps_pd(a[4 * k + 3])));
        b[4 * k + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a[4 * k + 1]), _mm512_castps_pd(a[4 * k + 3])));
    }
    /* b[4k + m], 128-bit lane j: column 4j + m of rows 4k .. 4k + 3 */
    #pragma GCC unroll 4
    for (int m = 0; m < 4; m++) {
        const __m512 u0 = _mm512_shuffle_f32x4(b[m], b[4 + m], _MM_SHUFFLE(2, 0, 2, 0));
        const __m512 u1 = _mm512_shuffle_f32x4(b[m], b[4 + m], _MM_SHUFFLE(3, 1, 3, 1));
        const __m512 u2 = _mm512_shuffle_f32x4(b[8 + m], b[12 + m], _MM_SHUFFLE(2, 0, 2, 0));
        const __m512 u3 = _mm512_shuffle_f32x4(b[8 + m], b[12 + m], _MM_SHUFFLE(3, 1, 3, 1));
        r[m] = _mm512_shuffle_f32x4(u0, u2, _MM_SHUFFLE(2, 0, 2, 0));
        r[8 + m] = _mm512_shuffle_f32x4(u0, u2, _MM_SHUFFLE(3, 1, 3, 1));
        r[4 + m] = _mm512_shuffle_f32x4(u1, u3, _MM_SHUFFLE(2, 0, 2, 0));
        r[12 + m] = _mm512_shuffle_f32x4(u1, u3, _MM_SHUFFLE(3, 1, 3, 1));
    }
}

/* kt[g][i][16] = K[16 g + k][i] for the tile's np rows (rows past np: 0). */
static void keys_transpose(const float *k, int64_t ld, int64_t np, int64_t E, float *kt) {
    for (int64_t g = 0; g * 16 < np; g++) {
        const int64_t nk = np - 16 * g < 16 ? np - 16 * g : 16;
        float *d = kt + g * E * 16;
        for (int64_t c0 = 0; c0 < E; c0 += 16) {
            const __mmask16 m = mask16(E - c0);
            __m512 r[16];
            #pragma GCC unroll 16
            for (int kk = 0; kk < 16; kk++)
                r[kk] = kk < nk ? _mm512_maskz_loadu_ps(m, k + (16 * g + kk) * ld + c0) : _mm512_setzero_ps();
            transpose16(r);
            const int64_t nc = E - c0 < 16 ? E - c0 : 16;
            #pragma GCC unroll 16
            for (int c = 0; c < 16; c++)
                if (c < nc) _mm512_store_ps(d + (c0 + c) * 16, r[c]);
        }
    }
}

/* sc[r][16 g + k] = scale * (q_r . K[16 g + k]) for rows r < NR of qs[],
 * groups g < NG (NG <= 2 at a time). */
AI void keys_qk(const float *const *qs, const float *kt, int64_t E, float scale, float *sc, struct attn_pf *pf, int npf,
                const int NR, const int NG) {
    __m512 acc[8][2];
    #pragma GCC unroll 8
    for (int r = 0; r < NR; r++)
        #pragma GCC unroll 2
        for (int g = 0; g < NG; g++) acc[r][g] = _mm512_setzero_ps();
    for (int64_t i = 0; i < E; i++) {
        attn_pf_step(pf, npf);
        __m512 kv[2];
        #pragma GCC unroll 2
        for (int g = 0; g < NG; g++) kv[g] = _mm512_load_ps(kt + (g * E + i) * 16);
        #pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            const __m512 qb = _mm512_set1_ps(qs[r][i]);
            #pragma GCC unroll 2
            for (int g = 0; g < NG; g++) acc[r][g] = _mm512_fmadd_ps(qb, kv[g], acc[r][g]);
        }
    }
    const __m512 scv = _mm512_set1_ps(scale);
    #pragma GCC unroll 8
    for (int r = 0; r < NR; r++)
        #pragma GCC unroll 2
        for (int g = 0; g < NG; g++) _mm512_store_ps(sc + r * ATTN_TILE + 16 * g, _mm512_mul_ps(acc[r][g], scv));
}

/* ot[r][c] = alpha_r ot[r][c] + sum_jj e[r][jj] V[jj][c] for rows r0 .. r0 +
 * NR - 1 (NR <= 2), dims c0 .. c0 + 16 CW (masked past E). */
AI void keys_pv(const float *vr, int64_t ld, int64_t np, int64_t E, int64_t c0, const float *e, const float *alpha,
                float *ot, int64_t r0, struct attn_pf *pf, int npf, const int NR, const int CW) {
    __m512 acc[2][8];
    __mmask16 mk[8];
    #pragma GCC unroll 8
    for (int c = 0; c < CW; c++) mk[c] = mask16(E - c0 - 16 * c);
    #pragma GCC unroll 2
    for (int r = 0; r < NR; r++) {
        const __m512 al = _mm512_set1_ps(alpha[r0 + r]);
        #pragma GCC unroll 8
        for (int c = 0; c < CW; c++)
            acc[r][c] = _mm512_mul_ps(al, _mm512_maskz_loadu_ps(mk[c], ot + (r0 + r) * E + c0 + 16 * c));
    }
    for (int64_t jj = 0; jj < np; jj++) {
        attn_pf_step(pf, npf);
        const float *vrow = vr + jj * ld + c0;
        __m512 pb[2];
        #pragma GCC unroll 2
        for (int r = 0; r < NR; r++) pb[r] = _mm512_set1_ps(e[(r0 + r) * ATTN_TILE + jj]);
        #pragma GCC unroll 8
        for (int c = 0; c < CW; c++) {
            const __m512 v = _mm512_maskz_loadu_ps(mk[c], vrow + 16 * c);
            #pragma GCC unroll 2
            for (int r = 0; r < NR; r++) acc[r][c] = _mm512_fmadd_ps(pb[r], v, acc[r][c]);
        }
    }
    #pragma GCC unroll 2
    for (int r = 0; r < NR; r++)
        #pragma GCC unroll 8
        for (int c = 0; c < CW; c++) _mm512_mask_storeu_ps(ot + (r0 + r) * E + c0 + 16 * c, mk[c], acc[r][c]);
}

#define KEYS_QK_CASES(NG)                                                                      \
    switch (nb) {                                                                              \
    case 8: keys_qk(qs + rb, kt + g * E * 16, E, j->scale, sc + rb * ATTN_TILE + 16 * g, &pk, npk, 8, NG); break; \
    case 7: keys_qk(qs + rb, kt + g * E * 16, E, j->scale, sc + rb * ATTN_TILE + 16 * g, &pk, npk, 7, NG); break; \
    case 6: keys_qk(qs + rb, kt + g * E * 16, E, j->scale, sc + rb * ATTN_TILE + 16 * g, &pk, npk, 6, NG); break; \
    case 5: keys_qk(qs + rb, kt + g * E * 16, E, j->scale, sc + rb * ATTN_TILE + 16 * g, &pk, npk, 5, NG); break; \
    case 4: keys_qk(qs + rb, kt + g * E * 16, E, j->scale, sc + rb * ATTN_TILE + 16 * g, &pk, npk, 4, NG); break; \
    case 3: keys_qk(qs + rb, kt + g * E * 16, E, j->scale, sc + rb * ATTN_TILE + 16 * g, &pk, npk, 3, NG); break; \
    case 2: keys_qk(qs + rb, kt + g * E * 16, E, j->scale, sc + rb * ATTN_TILE + 16 * g, &pk, npk, 2, NG); break; \
    default: keys_qk(qs + rb, kt + g * E * 16, E, j->scale, sc + rb * ATTN_TILE + 16 * g, &pk, npk, 1, NG); break; \
    }

#define KEYS_PV_CASES(NR)                                                         \
    switch (cw) {                                                                 \
    case 8: keys_pv(vb, ld, np, E, c0, sc, alpha, ot, r, &pv, npv, NR, 8); break;           \
    case 7: keys_pv(vb, ld, np, E, c0, sc, alpha, ot, r, &pv, npv, NR, 7); break;           \
    case 6: keys_pv(vb, ld, np, E, c0, sc, alpha, ot, r, &pv, npv, NR, 6); break;           \
    case 5: keys_pv(vb, ld, np, E, c0, sc, alpha, ot, r, &pv, npv, NR, 5); break;           \
    case 4: keys_pv(vb, ld, np, E, c0, sc, alpha, ot, r, &pv, npv, NR, 4); break;           \
    case 3: keys_pv(vb, ld, np, E, c0, sc, alpha, ot, r, &pv, npv, NR, 3); break;           \
    case 2: keys_pv(vb, ld, np, E, c0, sc, alpha, ot, r, &pv, npv, NR, 2); break;           \
    default: keys_pv(vb, ld, np, E, c0, sc, alpha, ot, r, &pv, npv, NR, 1); break;          \
    }

/* The whole job (nr = nt * nh <= 16 rows).  Scratch: ot [16][E] and kt
 * [4][E][16] where the lanes path keeps qt and ot; scores / weights sc
 * [16][ATTN_TILE] in pt; m, l, alpha as there; kc, vc for 16-bit caches. */
static void run_keys(const struct kern_attn_job *j, float *scr) {
    const int64_t E = j->E, nr = j->nt * j->nh;
    float *ot = scr, *kt = ot + 16 * E, *sc = scr + 2 * E * ATTN_ROWS;
    float *m = sc + ATTN_TILE * ATTN_ROWS, *l = m + ATTN_ROWS, *alpha = l + ATTN_ROWS;
    const float *qs[16];
    int32_t npos[16];
    const int64_t nmax = attn_keys_init(j, qs, npos, m, l, ot);
    struct attn_pf pk, pv;
    attn_pf_start(j, nmax, &pk, &pv);
    for (int64_t p0 = 0; p0 < nmax; p0 += ATTN_TILE) {
        const int64_t np = nmax - p0 < ATTN_TILE ? nmax - p0 : ATTN_TILE;
        const float *kb, *vb;
        int64_t ld;
        attn_tile_src(j, scr, p0, &kb, &vb, &ld);
        /* the next tile's lines over this tile's q.K and p.V iterations */
        attn_pf_upto(j, p0, nmax, &pk, &pv);
        const int64_t lk = (pk.end - pk.p) / 64, lv = (pv.end - pv.p) / 64, itk = (np + 31) / 32 * ((nr + 7) / 8) * E,
                      itv = (nr + 1) / 2 * ((E + 127) / 128) * np;
        const int npk = (int)((lk + itk - 1) / itk), npv = (int)((lv + itv - 1) / itv);
        if (j->k16) widen_tile(j, p0, np, (float *)kb, (float *)vb);
        keys_transpose(kb, ld, np, E, kt);
        const int64_t ngr = (np + 15) / 16;
        for (int64_t rb = 0; rb < nr; rb += 8) {
            const int64_t nb = nr - rb < 8 ? nr - rb : 8;
            int64_t g = 0;
            for (; g + 2 <= ngr; g += 2) KEYS_QK_CASES(2)
            for (; g < ngr; g++) KEYS_QK_CASES(1)
        }
        float sum[16];
        for (int64_t r = 0; r < nr; r++) {
            float *s = sc + r * ATTN_TILE;
            const float mold = m[r];
            __m512 mxv = _mm512_set1_ps(mold);
            for (int64_t jj = 0; jj < np; jj += 16) {
                const int64_t nv = npos[r] - p0 - jj;
                const __mmask16 ok = nv <= 0 ? 0 : (__mmask16)(mask16(np - jj) & mask16(nv));
                mxv = _mm512_mask_max_ps(mxv, ok, mxv, _mm512_load_ps(s + jj));
            }
            /* every row has position 0, so mx is finite from the first tile on */
            const float mx = _mm512_reduce_max_ps(mxv);
            mxv = _mm512_set1_ps(mx);
            for (int64_t jj = 0; jj < np; jj += 16) {
                const __mmask16 ld16 = mask16(np - jj);
                const int64_t nv = npos[r] - p0 - jj;
                const __mmask16 ok = nv <= 0 ? 0 : (__mmask16)(ld16 & mask16(nv));
                const __m512 ev = _mm512_maskz_mov_ps(ok, kern_exp512(_mm512_sub_ps(_mm512_load_ps(s + jj), mxv)));
                _mm512_mask_store_ps(s + jj, ld16, ev);
            }
            alpha[r] = _mm512_cvtss_f32(kern_exp512(_mm512_set1_ps(mold - mx)));
            m[r] = mx;
            sum[r] = 0.0f;
        }
        /* each row's weights added position by position (independent chains) */
        for (int64_t jj = 0; jj < np; jj++)
            for (int64_t r = 0; r < nr; r++) sum[r] += sc[r * ATTN_TILE + jj];
        for (int64_t r = 0; r < nr; r++) l[r] = fmaf(l[r], alpha[r], sum[r]);
        for (int64_t c0 = 0; c0 < E; c0 += 128) {
            const int cw = (int)((E - c0 + 15) / 16 < 8 ? (E - c0 + 15) / 16 : 8);
            int64_t r = 0;
            for (; r + 2 <= nr; r += 2) KEYS_PV_CASES(2)
            for (; r < nr; r++) KEYS_PV_CASES(1)
        }
    }
    attn_keys_out(j, ot, l);
}

static void attn_run_avx512(const struct kern_attn_job *j, void *scratch) {
    if (j->nt * j->nh <= 16) run_keys(j, scratch);
    else run_lanes(j, scratch);
}

const struct kern_attn_ops kern_attn_avx512 = {"avx512", attn_run_avx512};
