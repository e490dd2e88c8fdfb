/*
 * kern_attn_avx2.c - dense attention for AVX2 + FMA (Haswell and later, Zen).
 * Compiled with its own -m flags; used only when kern_cpu_has(KERN_ISA_AVX2).
 * Math and job layout: kern_attn.h; scratch layout: kern_attn_impl.h.
 *
 * The "rows in lanes" scheme of kern_attn_avx512.c with 8 lanes and 16 ymm
 * registers: up to 16 query rows (2 vectors) per pass, 4 keys (S^T = K Q^T)
 * or 4 dims (O^T += V^T P^T) per step, 8 accumulators.  The softmax runs
 * online over tiles of ATTN_TILE positions with per-lane running max and
 * sum; lanes mask positions past their own n_pos.  Jobs of at most 6 rows
 * (decode with groups up to 6) run with keys in lanes instead, as in the
 * AVX-512 file.  Like there, a token's output has the same bits whatever
 * block it is in and whichever path its block took.
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
        const float *kb, *vb;
        int64_t ld;
        attn_tile_src(j, scr, p0, &kb, &vb, &ld);
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

/* ---- keys in lanes (jobs of at most KEYS_MAX_ROWS rows) ---------------- */

/* The AVX-512 file's keys-in-lanes path with 8 lanes (see there for why the
 * bits match the lanes path's): each tile's K rows transposed 8 keys at a
 * time, every row's scores an fma chain over i against its broadcast query
 * element, the softmax per row on vectors of positions with the weights added
 * position by position, O with dims in lanes. */
#define KEYS_MAX_ROWS 6

AI __m256i mask8(int64_t n) {
    const int32_t c = n >= 8 ? 8 : n <= 0 ? 0 : (int32_t)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* 8 x 8 floats: r[c][k] = r_in[k][c]. */
AI void transpose8(__m256 r[8]) {
    __m256 a[8], b[8];
    #pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        a[2 * k] = _mm256_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        a[2 * k + 1] = _mm256_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    #pragma GCC unroll 2
    for (int k = 0; k < 2; k++) {
        b[4 * k + 0] = _mm256_shuffle_ps(a[4 * k], a[4 * k + 2], _MM_SHUFFLE(1, 0, 1, 0));
        b[4 * k + 1] = _mm256_shuffle_ps(a[4 * k], a[4 * k + 2], _MM_SHUFFLE(3, 2, 3, 2));
        b[4 * k + 2] = _mm256_shuffle_ps(a[4 * k + 1], a[4 * k + 3], _MM_SHUFFLE(1, 0, 1, 0));
        b[4 * k + 3] = _mm256_shuffle_ps(a[4 * k + 1], a[4 * k + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    /* b[4k + m], 128-bit half h: column 4h + m of rows 4k .. 4k + 3 */
    #pragma GCC unroll 4
    for (int m = 0; m < 4; m++) {
        r[m] = _mm256_permute2f128_ps(b[m], b[4 + m], 0x20);
        r[4 + m] = _mm256_permute2f128_ps(b[m], b[4 + m], 0x31);
    }
}

/* kt[g][i][8] = K[8 g + k][i] for the tile's np rows (rows past np: 0). */
static void keys_transpose(const float *k, int64_t ld, int64_t np, int64_t E, float *kt) {
    for (int64_t g = 0; g * 8 < np; g++) {
        const int64_t nk = np - 8 * g < 8 ? np - 8 * g : 8;
        float *d = kt + g * E * 8;
        for (int64_t c0 = 0; c0 < E; c0 += 8) {
            const __m256i m = mask8(E - c0);
            __m256 r[8];
            #pragma GCC unroll 8
            for (int kk = 0; kk < 8; kk++)
                r[kk] = kk >= nk     ? _mm256_setzero_ps()
                        : E - c0 >= 8 ? _mm256_loadu_ps(k + (8 * g + kk) * ld + c0)
                                      : _mm256_maskload_ps(k + (8 * g + kk) * ld + c0, m);
            transpose8(r);
            const int64_t nc = E - c0 < 8 ? E - c0 : 8;
            #pragma GCC unroll 8
            for (int c = 0; c < 8; c++)
                if (c < nc) _mm256_store_ps(d + (c0 + c) * 8, r[c]);
        }
    }
}

/* sc[r][8 g + k] = scale * (q_r . K[8 g + k]) for rows r < NR, groups g < NG. */
AI void keys_qk(const float *const *qs, const float *kt, int64_t E, float scale, float *sc, struct attn_pf *pf, int npf,
                const int NR, const int NG) {
    __m256 acc[3][4];
    #pragma GCC unroll 3
    for (int r = 0; r < NR; r++)
        #pragma GCC unroll 4
        for (int g = 0; g < NG; g++) acc[r][g] = _mm256_setzero_ps();
    for (int64_t i = 0; i < E; i++) {
        attn_pf_step(pf, npf);
        __m256 kv[4];
        #pragma GCC unroll 4
        for (int g = 0; g < NG; g++) kv[g] = _mm256_load_ps(kt + (g * E + i) * 8);
        #pragma GCC unroll 3
        for (int r = 0; r < NR; r++) {
            const __m256 qb = _mm256_broadcast_ss(qs[r] + i);
            #pragma GCC unroll 4
            for (int g = 0; g < NG; g++) acc[r][g] = _mm256_fmadd_ps(qb, kv[g], acc[r][g]);
        }
    }
    const __m256 scv = _mm256_set1_ps(scale);
    #pragma GCC unroll 3
    for (int r = 0; r < NR; r++)
        #pragma GCC unroll 4
        for (int g = 0; g < NG; g++) _mm256_store_ps(sc + r * ATTN_TILE + 8 * g, _mm256_mul_ps(acc[r][g], scv));
}

/* ot[r][c] = alpha_r ot[r][c] + sum_jj e[r][jj] V[jj][c] for rows r0 .. r0 +
 * NR - 1 (NR <= 2), dims c0 .. c0 + 8 CW (MSK: masked past E; vmaskmovps is
 * slow on AMD cores, so whole vectors use plain loads). */
AI void keys_pv(const float *vr, int64_t ld, int64_t np, int64_t E, int64_t c0, const float *e, const float *alpha,
                float *ot, int64_t r0, struct attn_pf *pf, int npf, const int NR, const int CW, const int MSK) {
    __m256 acc[2][4];
    __m256i mk[4];
    #pragma GCC unroll 4
    for (int c = 0; c < CW; c++) mk[c] = mask8(E - c0 - 8 * c);
    #pragma GCC unroll 2
    for (int r = 0; r < NR; r++) {
        const __m256 al = _mm256_set1_ps(alpha[r0 + r]);
        #pragma GCC unroll 4
        for (int c = 0; c < CW; c++)
            acc[r][c] = _mm256_mul_ps(al, MSK ? _mm256_maskload_ps(ot + (r0 + r) * E + c0 + 8 * c, mk[c])
                                              : _mm256_loadu_ps(ot + (r0 + r) * E + c0 + 8 * c));
    }
    for (int64_t jj = 0; jj < np; jj++) {
        attn_pf_step(pf, npf);
        const float *vrow = vr + jj * ld + c0;
        __m256 pb[2];
        #pragma GCC unroll 2
        for (int r = 0; r < NR; r++) pb[r] = _mm256_broadcast_ss(e + (r0 + r) * ATTN_TILE + jj);
        #pragma GCC unroll 4
        for (int c = 0; c < CW; c++) {
            const __m256 v = MSK ? _mm256_maskload_ps(vrow + 8 * c, mk[c]) : _mm256_loadu_ps(vrow + 8 * c);
            #pragma GCC unroll 2
            for (int r = 0; r < NR; r++) acc[r][c] = _mm256_fmadd_ps(pb[r], v, acc[r][c]);
        }
    }
    #pragma GCC unroll 2
    for (int r = 0; r < NR; r++)
        #pragma GCC unroll 4
        for (int c = 0; c < CW; c++) {
            if (MSK) _mm256_maskstore_ps(ot + (r0 + r) * E + c0 + 8 * c, mk[c], acc[r][c]);
            else _mm256_storeu_ps(ot + (r0 + r) * E + c0 + 8 * c, acc[r][c]);
        }
}

#define KEYS_QK_CASES(NG)                                                                                     \
    switch (nb) {                                                                                             \
    case 3: keys_qk(qs + rb, kt + g * E * 8, E, j->scale, sc + rb * ATTN_TILE + 8 * g, &pk, npk, 3, NG); break;         \
    case 2: keys_qk(qs + rb, kt + g * E * 8, E, j->scale, sc + rb * ATTN_TILE + 8 * g, &pk, npk, 2, NG); break;         \
    default: keys_qk(qs + rb, kt + g * E * 8, E, j->scale, sc + rb * ATTN_TILE + 8 * g, &pk, npk, 1, NG); break;        \
    }

#define KEYS_PV_CASES(NR)                                                                        \
    if (E - c0 >= 32) keys_pv(vb, ld, np, E, c0, sc, alpha, ot, r, &pv, npv, NR, 4, 0);                    \
    else switch (cw) {                                                                           \
        case 4: keys_pv(vb, ld, np, E, c0, sc, alpha, ot, r, &pv, npv, NR, 4, 1); break;                   \
        case 3: keys_pv(vb, ld, np, E, c0, sc, alpha, ot, r, &pv, npv, NR, 3, 1); break;                   \
        case 2: keys_pv(vb, ld, np, E, c0, sc, alpha, ot, r, &pv, npv, NR, 2, 1); break;                   \
        default: keys_pv(vb, ld, np, E, c0, sc, alpha, ot, r, &pv, npv, NR, 1, 1); break;                  \
        }

/* The whole job (nr = nt * nh <= KEYS_MAX_ROWS).  Scratch as in the AVX-512
 * file: ot [rows][E] and kt [8][E][8] where the lanes path keeps qt and ot,
 * scores / weights [rows][ATTN_TILE] in pt, m, l, alpha there, kc and vc for
 * 16-bit caches. */
static void run_keys(const struct kern_attn_job *j, float *scr) {
    const int64_t E = j->E, nr = j->nt * j->nh;
    float *ot = scr, *kt = ot + 16 * E, *sc = scr + 2 * E * ATTN_ROWS;
    float *m = sc + ATTN_TILE * ATTN_ROWS, *l = m + ATTN_ROWS, *alpha = l + ATTN_ROWS;
    const float *qs[KEYS_MAX_ROWS];
    int32_t npos[KEYS_MAX_ROWS];
    const int64_t nmax = attn_keys_init(j, qs, npos, m, l, ot);
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    struct attn_pf pk, pv;
    attn_pf_start(j, nmax, &pk, &pv);
    for (int64_t p0 = 0; p0 < nmax; p0 += ATTN_TILE) {
        const int64_t np = nmax - p0 < ATTN_TILE ? nmax - p0 : ATTN_TILE;
        const float *kb, *vb;
        int64_t ld;
        attn_tile_src(j, scr, p0, &kb, &vb, &ld);
        /* the next tile's lines over this tile's q.K and p.V iterations */
        attn_pf_upto(j, p0, nmax, &pk, &pv);
        const int64_t ng8 = (np + 7) / 8, lk = (pk.end - pk.p) / 64, lv = (pv.end - pv.p) / 64,
                      itk = (ng8 / 4 + ng8 % 4) * ((nr + 2) / 3) * E, itv = (nr + 1) / 2 * ((E + 31) / 32) * np;
        const int npk = (int)((lk + itk - 1) / itk), npv = (int)((lv + itv - 1) / itv);
        if (j->k16) widen_tile(j, p0, np, (float *)kb, (float *)vb);
        keys_transpose(kb, ld, np, E, kt);
        const int64_t ngr = (np + 7) / 8;
        for (int64_t rb = 0; rb < nr; rb += 3) {
            const int64_t nb = nr - rb < 3 ? nr - rb : 3;
            int64_t g = 0;
            for (; g + 4 <= ngr; g += 4) KEYS_QK_CASES(4)
            for (; g < ngr; g++) KEYS_QK_CASES(1)
        }
        float sum[KEYS_MAX_ROWS];
        for (int64_t r = 0; r < nr; r++) {
            float *s = sc + r * ATTN_TILE;
            const float mold = m[r];
            __m256 mxv = _mm256_set1_ps(mold);
            for (int64_t jj = 0; jj < np; jj += 8) {
                const __m256 ok = _mm256_castsi256_ps(_mm256_and_si256(mask8(np - jj), mask8(npos[r] - p0 - jj)));
                mxv = _mm256_max_ps(mxv, _mm256_blendv_ps(ninf, _mm256_load_ps(s + jj), ok));
            }
            __m128 h4 = _mm_max_ps(_mm256_castps256_ps128(mxv), _mm256_extractf128_ps(mxv, 1));
            h4 = _mm_max_ps(h4, _mm_movehl_ps(h4, h4));
            h4 = _mm_max_ss(h4, _mm_shuffle_ps(h4, h4, 1));
            const float mx = _mm_cvtss_f32(h4); /* every row has position 0: finite from the first tile on */
            mxv = _mm256_set1_ps(mx);
            for (int64_t jj = 0; jj < np; jj += 8) {
                const __m256i ld8 = mask8(np - jj);
                const __m256 ok = _mm256_castsi256_ps(_mm256_and_si256(ld8, mask8(npos[r] - p0 - jj)));
                const __m256 ev = _mm256_and_ps(ok, kern_exp256(_mm256_sub_ps(_mm256_load_ps(s + jj), mxv)));
                _mm256_maskstore_ps(s + jj, ld8, ev);
            }
            alpha[r] = _mm256_cvtss_f32(kern_exp256(_mm256_set1_ps(mold - mx)));
            m[r] = mx;
            sum[r] = 0.0f;
        }
        for (int64_t jj = 0; jj < np; jj++)
            for (int64_t r = 0; r < nr; r++) sum[r] += sc[r * ATTN_TILE + jj];
        for (int64_t r = 0; r < nr; r++) l[r] = fmaf(l[r], alpha[r], sum[r]);
        for (int64_t c0 = 0; c0 < E; c0 += 32) {
            const int cw = (int)((E - c0 + 7) / 8 < 4 ? (E - c0 + 7) / 8 : 4);
            int64_t r = 0;
            for (; r + 2 <= nr; r += 2) KEYS_PV_CASES(2)
            for (; r < nr; r++) KEYS_PV_CASES(1)
        }
    }
    attn_keys_out(j, ot, l);
}

static void attn_run_avx2(const struct kern_attn_job *j, void *scratch) {
    const int64_t nq = j->nt * j->nh;
    if (nq <= KEYS_MAX_ROWS) {
        run_keys(j, scratch);
        return;
    }
    for (int64_t r0 = 0; r0 < nq; r0 += 16) {
        const int64_t nr = nq - r0 < 16 ? nq - r0 : 16;
        if (nr > 8) lanes_pass(j, scratch, r0, nr, 2);
        else lanes_pass(j, scratch, r0, nr, 1);
    }
}

const struct kern_attn_ops kern_attn_avx2 = {"avx2", attn_run_avx2};
