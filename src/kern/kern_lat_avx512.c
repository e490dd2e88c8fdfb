/*
 * kern_lat_avx512.c - latent-attention inner loops for AVX-512 (F, BW;
 * Skylake-SP and later, Zen 4).  Compiled with its own -m flags; used only
 * when kern_cpu_has(KERN_ISA_AVX512).  See kern_lat.h for the math.
 *
 * scores: blocks of 4 heads x 4 rows (16 accumulators, one reduction tree);
 * leftover rows or heads one row at a time.
 * values: a 64-float column strip of 4 heads' outputs (16 accumulators, from
 * a[h] * o or zero) stays in registers while all P rows stream through; per
 * row 4 loads and 16 FMAs.
 * The small constant-bound loops carry `#pragma GCC unroll`: without it gcc
 * -O2 keeps the accumulator arrays on the stack (a load and store per FMA).
 * Rows are f32 or bf16 (BF = 1: 16 bf16 widened to f32 by a shift).
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "dtype.h"
#include "kern_exp512.h"
#include "kern_lat.h"

static inline __mmask16 lat_mask(int64_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }

/* 16 row elements from element i of a row, masked. */
static inline __attribute__((always_inline)) __m512 lat_ld(const void *row, int64_t i, __mmask16 m, const int BF) {
    if (BF) {
        __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)row + i);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    return _mm512_maskz_loadu_ps(m, (const float *)row + i);
}

static inline const void *lat_row(const void *rows, int64_t j, int64_t ldr, const int BF) {
    return BF ? (const void *)((const uint16_t *)rows + j * ldr) : (const void *)((const float *)rows + j * ldr);
}

static inline __attribute__((always_inline)) void scores_nh(const void *row, const float *q, int64_t ldq, int64_t W,
                                                            float scale, float *s, int64_t lds, const int NH,
                                                            const int BF) {
    __m512 acc[4];
#pragma GCC unroll 16
    for (int k = 0; k < NH; k++) acc[k] = _mm512_setzero_ps();
    for (int64_t i = 0; i < W; i += 16) {
        const __mmask16 m = lat_mask(W - i);
        const __m512 r = lat_ld(row, i, m, BF);
#pragma GCC unroll 16
        for (int k = 0; k < NH; k++) acc[k] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + k * ldq + i), r, acc[k]);
    }
#pragma GCC unroll 16
    for (int k = 0; k < NH; k++) s[k * lds] = _mm512_reduce_add_ps(acc[k]) * scale;
}

/* Sum of each of v[0..15] in one vector: position 4 * k + f holds the total
 * of v[4 * f + k].  Four levels of lane shuffles and adds (15 adds). */
static inline __attribute__((always_inline)) __m512 lat_reduce16(const __m512 *v) {
    __m512 u[8], w[4], z[2];
#pragma GCC unroll 16
    for (int i = 0; i < 8; i++) /* 128-bit lanes [a01 a23 b01 b23] */
        u[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
#pragma GCC unroll 16
    for (int i = 0; i < 4; i++) /* lane k: 4 partial sums of v[4 i + k] */
        w[i] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
#pragma GCC unroll 16
    for (int i = 0; i < 2; i++) /* lane k: [v(8i+k) v(8i+4+k) v(8i+k) v(8i+4+k)] partials */
        z[i] = _mm512_add_ps(_mm512_unpacklo_ps(w[2 * i], w[2 * i + 1]), _mm512_unpackhi_ps(w[2 * i], w[2 * i + 1]));
    const __m512d lo = _mm512_unpacklo_pd(_mm512_castps_pd(z[0]), _mm512_castps_pd(z[1]));
    const __m512d hi = _mm512_unpackhi_pd(_mm512_castps_pd(z[0]), _mm512_castps_pd(z[1]));
    return _mm512_add_ps(_mm512_castpd_ps(lo), _mm512_castpd_ps(hi));
}

/* Scores of 4 heads x 4 rows j..j+3: each row load feeds 4 heads and each
 * query load 4 rows (16 accumulators), one reduction tree for all 16. */
static inline __attribute__((always_inline)) void scores_4x4(const void *rows, int64_t j, int64_t ldr, const float *q,
                                                             int64_t ldq, int64_t W, float scale, float *s,
                                                             int64_t lds, const int BF) {
    __m512 acc[16];
#pragma GCC unroll 16
    for (int k = 0; k < 16; k++) acc[k] = _mm512_setzero_ps();
    const void *rw[4];
#pragma GCC unroll 16
    for (int k = 0; k < 4; k++) rw[k] = lat_row(rows, j + k, ldr, BF);
    for (int64_t i = 0; i < W; i += 16) {
        const __mmask16 m = lat_mask(W - i);
        __m512 r[4];
#pragma GCC unroll 16
        for (int k = 0; k < 4; k++) r[k] = lat_ld(rw[k], i, m, BF);
#pragma GCC unroll 16
        for (int h = 0; h < 4; h++) {
            const __m512 qv = _mm512_maskz_loadu_ps(m, q + h * ldq + i);
#pragma GCC unroll 16
            for (int k = 0; k < 4; k++) acc[h * 4 + k] = _mm512_fmadd_ps(qv, r[k], acc[h * 4 + k]);
        }
    }
    float t[16];
    _mm512_storeu_ps(t, _mm512_mul_ps(lat_reduce16(acc), _mm512_set1_ps(scale)));
#pragma GCC unroll 16
    for (int h = 0; h < 4; h++) /* t[4 * row + head] */
#pragma GCC unroll 16
        for (int k = 0; k < 4; k++) s[h * lds + j + k] = t[4 * k + h];
}

static inline __attribute__((always_inline)) void scores_all(const void *rows, int64_t ldr, int64_t P,
                                                             const float *q, int64_t ldq, int64_t nh, int64_t W,
                                                             float scale, float *s, int64_t lds, const int BF) {
    int64_t j = 0;
    for (; j + 4 <= P; j += 4) {
        int64_t h = 0;
        for (; h + 4 <= nh; h += 4) scores_4x4(rows, j, ldr, q + h * ldq, ldq, W, scale, s + h * lds, lds, BF);
        for (; h < nh; h++)
            for (int64_t k = j; k < j + 4; k++)
                scores_nh(lat_row(rows, k, ldr, BF), q + h * ldq, ldq, W, scale, s + h * lds + k, lds, 1, BF);
    }
    for (; j < P; j++) {
        const void *row = lat_row(rows, j, ldr, BF);
        int64_t h = 0;
        for (; h + 4 <= nh; h += 4) scores_nh(row, q + h * ldq, ldq, W, scale, s + h * lds + j, lds, 4, BF);
        for (; h < nh; h++) scores_nh(row, q + h * ldq, ldq, W, scale, s + h * lds + j, lds, 1, BF);
    }
}

/* o[k][c0 .. c0 + 16*CW) for NH heads; m masks the last vector of the strip. */
static inline __attribute__((always_inline)) void values_strip(const void *rows, int64_t ldr, int64_t P,
                                                               const float *p, int64_t ldp, const float *a, float *o,
                                                               int64_t ldo, int64_t c0, __mmask16 m, const int NH,
                                                               const int CW, const int BF) {
    __m512 acc[4][4];
#pragma GCC unroll 16
    for (int k = 0; k < NH; k++) {
        const __m512 ak = _mm512_set1_ps(a ? a[k] : 0.0f);
#pragma GCC unroll 16
        for (int v = 0; v < CW; v++)
            acc[k][v] = a ? _mm512_mul_ps(ak, _mm512_maskz_loadu_ps(v == CW - 1 ? m : (__mmask16)0xffff,
                                                                    o + k * ldo + c0 + 16 * v))
                          : _mm512_setzero_ps();
    }
    for (int64_t j = 0; j < P; j++) {
        const void *row = lat_row(rows, j, ldr, BF);
        __m512 r[4];
#pragma GCC unroll 16
        for (int v = 0; v < CW; v++) r[v] = lat_ld(row, c0 + 16 * v, v == CW - 1 ? m : (__mmask16)0xffff, BF);
#pragma GCC unroll 16
        for (int k = 0; k < NH; k++) {
            const __m512 pk = _mm512_set1_ps(p[k * ldp + j]);
#pragma GCC unroll 16
            for (int v = 0; v < CW; v++) acc[k][v] = _mm512_fmadd_ps(pk, r[v], acc[k][v]);
        }
    }
#pragma GCC unroll 16
    for (int k = 0; k < NH; k++)
#pragma GCC unroll 16
        for (int v = 0; v < CW; v++)
            _mm512_mask_storeu_ps(o + k * ldo + c0 + 16 * v, v == CW - 1 ? m : (__mmask16)0xffff, acc[k][v]);
}

#define LAT_STRIP(NH, CW, M)                                                                                    \
    values_strip(rows, ldr, P, p + h * ldp, ldp, a ? a + h : NULL, o + h * ldo, ldo, c, M, NH, CW, BF)

static inline __attribute__((always_inline)) void values_all(const void *rows, int64_t ldr, int64_t P,
                                                             const float *p, int64_t ldp, int64_t nh, int64_t R,
                                                             const float *a, float *o, int64_t ldo, const int BF) {
    for (int64_t h = 0; h < nh; h += 4) {
        const int64_t n = nh - h;
        int64_t c = 0;
        for (; c + 64 <= R; c += 64) {
            if (n >= 4) LAT_STRIP(4, 4, 0xffff);
            else if (n == 3) LAT_STRIP(3, 4, 0xffff);
            else if (n == 2) LAT_STRIP(2, 4, 0xffff);
            else LAT_STRIP(1, 4, 0xffff);
        }
        for (; c < R; c += 16) {
            const __mmask16 m = lat_mask(R - c);
            if (n >= 4) LAT_STRIP(4, 1, m);
            else if (n == 3) LAT_STRIP(3, 1, m);
            else if (n == 2) LAT_STRIP(2, 1, m);
            else LAT_STRIP(1, 1, m);
        }
    }
}

#undef LAT_STRIP

static void lat_scores_avx512(const float *rows, int64_t ldr, int64_t P, const float *q, int64_t ldq, int64_t nh,
                              int64_t W, float scale, float *s, int64_t lds) {
    scores_all(rows, ldr, P, q, ldq, nh, W, scale, s, lds, 0);
}

static void lat_values_avx512(const float *rows, int64_t ldr, int64_t P, const float *p, int64_t ldp, int64_t nh,
                              int64_t R, const float *a, float *o, int64_t ldo) {
    values_all(rows, ldr, P, p, ldp, nh, R, a, o, ldo, 0);
}

/* ------------------------------------------------ bf16 cache: vdpbf16ps
 * The *_bf16 entries round the queries and the probabilities to bf16
 * (nearest even, as kern_lat.h says) and let vdpbf16ps add pairs of exact
 * bf16 products into f32 lanes: 32 multiply-adds per instruction instead of
 * 16, and the cache rows are used as loaded (no widening). */

static inline __mmask32 lat_mask32(int64_t n) { return n >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << n) - 1); }

static inline __attribute__((always_inline)) __m512bh lat_bh(__m512i v) { return (__m512bh)v; }

/* Longest row the query copies on the stack allow; DeepSeek's is 576. */
#define LAT_DP_MAXW 2048

/* qb[k][i] = bf16(q[k * ldq + i]) for k < nh <= 4, i < W (zero-padded to 32). */
static void lat_q_bf16(const float *q, int64_t ldq, int64_t nh, int64_t W, uint16_t *qb, int64_t ldb) {
    for (int64_t k = 0; k < nh; k++)
        for (int64_t i = 0; i < W; i += 32) {
            const __m512 lo = _mm512_maskz_loadu_ps(lat_mask(W - i), q + k * ldq + i);
            const __m512 hi = _mm512_maskz_loadu_ps(W - i > 16 ? lat_mask(W - i - 16) : 0, q + k * ldq + i + 16);
            _mm512_storeu_si512((void *)(qb + k * ldb + i), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        }
}

/* Scores of NH heads (bf16 queries, ld ldb) x NJ rows j..j+NJ. */
static inline __attribute__((always_inline)) void scores_dp(const uint16_t *rows, int64_t j, int64_t ldr,
                                                            const uint16_t *qb, int64_t ldb, int64_t W, float scale,
                                                            float *s, int64_t lds, const int NH, const int NJ) {
    __m512 acc[16];
#pragma GCC unroll 16
    for (int k = 0; k < 16; k++) acc[k] = _mm512_setzero_ps();
    for (int64_t i = 0; i < W; i += 32) {
        const __mmask32 m = lat_mask32(W - i);
        __m512i r[4];
#pragma GCC unroll 4
        for (int k = 0; k < NJ; k++) r[k] = _mm512_maskz_loadu_epi16(m, rows + (j + k) * ldr + i);
#pragma GCC unroll 4
        for (int h = 0; h < NH; h++) {
            const __m512bh qv = lat_bh(_mm512_loadu_si512((const void *)(qb + h * ldb + i)));
#pragma GCC unroll 4
            for (int k = 0; k < NJ; k++) acc[h * 4 + k] = _mm512_dpbf16_ps(acc[h * 4 + k], qv, lat_bh(r[k]));
        }
    }
    float t[16];
    _mm512_storeu_ps(t, _mm512_mul_ps(lat_reduce16(acc), _mm512_set1_ps(scale)));
#pragma GCC unroll 4
    for (int h = 0; h < NH; h++) /* t[4 * row + head] */
#pragma GCC unroll 4
        for (int k = 0; k < NJ; k++) s[h * lds + j + k] = t[4 * k + h];
}

static void lat_scores_bf16_avx512(const uint16_t *rows, int64_t ldr, int64_t P, const float *q, int64_t ldq,
                                   int64_t nh, int64_t W, float scale, float *s, int64_t lds) {
    if (W > LAT_DP_MAXW) { /* not a DeepSeek shape: the reference (same rounding) */
        kern_lat_ref.scores_bf16(rows, ldr, P, q, ldq, nh, W, scale, s, lds);
        return;
    }
    uint16_t qb[4 * LAT_DP_MAXW] __attribute__((aligned(64)));
    const int64_t ldb = (W + 31) / 32 * 32;
    for (int64_t h = 0; h < nh; h += 4) {
        const int64_t n = nh - h < 4 ? nh - h : 4;
        lat_q_bf16(q + h * ldq, ldq, n, W, qb, ldb);
        float *sh = s + h * lds;
        int64_t j = 0;
        if (n == 4) {
            for (; j + 4 <= P; j += 4) scores_dp(rows, j, ldr, qb, ldb, W, scale, sh, lds, 4, 4);
            for (; j < P; j++) scores_dp(rows, j, ldr, qb, ldb, W, scale, sh, lds, 4, 1);
        } else {
            for (; j + 4 <= P; j += 4)
                for (int64_t k = 0; k < n; k++) scores_dp(rows, j, ldr, qb + k * ldb, ldb, W, scale, sh + k * lds, lds, 1, 4);
            for (; j < P; j++)
                for (int64_t k = 0; k < n; k++) scores_dp(rows, j, ldr, qb + k * ldb, ldb, W, scale, sh + k * lds, lds, 1, 1);
        }
    }
}

/* Column order of vpunpck{l,h}wd on two rows of 32 bf16: dword d of the "lo"
 * product holds column 8 (d / 4) + d % 4, of the "hi" product that + 4.
 * Indices for _mm512_permutex2var_ps between that order and columns. */
static const int32_t lat_to_lo[16] = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27};
static const int32_t lat_to_hi[16] = {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31};
static const int32_t lat_from0[16] = {0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23};
static const int32_t lat_from1[16] = {8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31};

/* Rows per chunk of the values kernel (pairs of rounded probabilities on the stack). */
#define LAT_DP_ROWS 64

/* o[k][c0 .. c0 + 32 CW) += sum_j p[k][j] row_j for NH heads over a chunk of
 * P <= LAT_DP_ROWS rows; pb[k][jp]: the bf16 pair (p_2jp, p_2jp+1).  Starts
 * from a[k] * o (a != NULL) or zero.  m masks the last 32 columns. */
static inline __attribute__((always_inline)) void values_dp(const uint16_t *rows, int64_t ldr, int64_t P,
                                                            const uint32_t *pb, const float *a, float *o,
                                                            int64_t ldo, int64_t c0, __mmask32 m, const int NH,
                                                            const int CW) {
    const __m512i to_lo = _mm512_loadu_si512((const void *)lat_to_lo), to_hi = _mm512_loadu_si512((const void *)lat_to_hi);
    __m512 acc[4][2][2];
#pragma GCC unroll 4
    for (int k = 0; k < NH; k++)
#pragma GCC unroll 2
        for (int v = 0; v < CW; v++) {
            const __mmask32 mv = v == CW - 1 ? m : (__mmask32)0xffffffffu;
            if (a) {
                const __m512 ak = _mm512_set1_ps(a[k]);
                const __m512 o0 = _mm512_maskz_loadu_ps((__mmask16)mv, o + k * ldo + c0 + 32 * v);
                const __m512 o1 = _mm512_maskz_loadu_ps((__mmask16)(mv >> 16), o + k * ldo + c0 + 32 * v + 16);
                acc[k][v][0] = _mm512_mul_ps(ak, _mm512_permutex2var_ps(o0, to_lo, o1));
                acc[k][v][1] = _mm512_mul_ps(ak, _mm512_permutex2var_ps(o0, to_hi, o1));
            } else {
                acc[k][v][0] = acc[k][v][1] = _mm512_setzero_ps();
            }
        }
    for (int64_t j = 0; j < P; j += 2) {
        const uint16_t *r0 = rows + j * ldr, *r1 = r0 + ldr;
        __m512i lo[2], hi[2];
#pragma GCC unroll 2
        for (int v = 0; v < CW; v++) {
            const __mmask32 mv = v == CW - 1 ? m : (__mmask32)0xffffffffu;
            const __m512i x0 = _mm512_maskz_loadu_epi16(mv, r0 + c0 + 32 * v);
            const __m512i x1 = j + 1 < P ? _mm512_maskz_loadu_epi16(mv, r1 + c0 + 32 * v) : _mm512_setzero_si512();
            lo[v] = _mm512_unpacklo_epi16(x0, x1);
            hi[v] = _mm512_unpackhi_epi16(x0, x1);
        }
#pragma GCC unroll 4
        for (int k = 0; k < NH; k++) {
            const __m512bh pk = lat_bh(_mm512_set1_epi32((int)pb[k * (LAT_DP_ROWS / 2) + j / 2]));
#pragma GCC unroll 2
            for (int v = 0; v < CW; v++) {
                acc[k][v][0] = _mm512_dpbf16_ps(acc[k][v][0], lat_bh(lo[v]), pk);
                acc[k][v][1] = _mm512_dpbf16_ps(acc[k][v][1], lat_bh(hi[v]), pk);
            }
        }
    }
    const __m512i f0 = _mm512_loadu_si512((const void *)lat_from0), f1 = _mm512_loadu_si512((const void *)lat_from1);
#pragma GCC unroll 4
    for (int k = 0; k < NH; k++)
#pragma GCC unroll 2
        for (int v = 0; v < CW; v++) {
            const __mmask32 mv = v == CW - 1 ? m : (__mmask32)0xffffffffu;
            _mm512_mask_storeu_ps(o + k * ldo + c0 + 32 * v, (__mmask16)mv,
                                  _mm512_permutex2var_ps(acc[k][v][0], f0, acc[k][v][1]));
            _mm512_mask_storeu_ps(o + k * ldo + c0 + 32 * v + 16, (__mmask16)(mv >> 16),
                                  _mm512_permutex2var_ps(acc[k][v][0], f1, acc[k][v][1]));
        }
}

#define LAT_DP(NH, CW, M) values_dp(rc, ldr, n, pb, ak, o + h * ldo, ldo, c, M, NH, CW)

static void lat_values_bf16_avx512(const uint16_t *rows, int64_t ldr, int64_t P, const float *p, int64_t ldp,
                                   int64_t nh, int64_t R, const float *a, float *o, int64_t ldo) {
    uint32_t pb[4 * (LAT_DP_ROWS / 2)];
    float ones[4] = {1.0f, 1.0f, 1.0f, 1.0f};
    for (int64_t h = 0; h < nh; h += 4) {
        const int64_t nk = nh - h < 4 ? nh - h : 4;
        for (int64_t j0 = 0; j0 < P || j0 == 0; j0 += LAT_DP_ROWS) {
            const int64_t n = P - j0 < LAT_DP_ROWS ? P - j0 : LAT_DP_ROWS;
            const uint16_t *rc = rows + j0 * ldr;
            const float *ak = j0 == 0 ? (a ? a + h : NULL) : ones; /* later chunks add to o */
            for (int64_t k = 0; k < nk; k++)
                for (int64_t jp = 0; jp < (n + 1) / 2; jp++) {
                    const float *pk = p + (h + k) * ldp + j0;
                    const uint32_t lo = f32_to_bf16(pk[2 * jp]), hi = 2 * jp + 1 < n ? f32_to_bf16(pk[2 * jp + 1]) : 0;
                    pb[k * (LAT_DP_ROWS / 2) + jp] = lo | hi << 16;
                }
            int64_t c = 0;
            for (; c + 64 <= R; c += 64) {
                if (nk == 4) LAT_DP(4, 2, 0xffffffffu);
                else if (nk == 3) LAT_DP(3, 2, 0xffffffffu);
                else if (nk == 2) LAT_DP(2, 2, 0xffffffffu);
                else LAT_DP(1, 2, 0xffffffffu);
            }
            for (; c < R; c += 32) {
                const __mmask32 m = lat_mask32(R - c);
                if (nk == 4) LAT_DP(4, 1, m);
                else if (nk == 3) LAT_DP(3, 1, m);
                else if (nk == 2) LAT_DP(2, 1, m);
                else LAT_DP(1, 1, m);
            }
            if (P == 0) break;
        }
    }
}

#undef LAT_DP

/* ----------------------------------------------------------- softmax */

static void lat_softmax_avx512(float *s, int64_t lds, int64_t nh, int64_t n, float *m, float *l, float *a) {
    for (int64_t h = 0; h < nh; h++) {
        float *sh = s + h * lds;
        __m512 vm = _mm512_set1_ps(m[h]);
        for (int64_t j = 0; j < n; j += 16) vm = _mm512_mask_max_ps(vm, lat_mask(n - j), vm, _mm512_maskz_loadu_ps(lat_mask(n - j), sh + j));
        const float mn = _mm512_reduce_max_ps(vm);
        const __m512 vmn = _mm512_set1_ps(mn);
        __m512 sum = _mm512_setzero_ps();
        for (int64_t j = 0; j < n; j += 16) {
            const __mmask16 mk = lat_mask(n - j);
            const __m512 e = kern_exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, sh + j), vmn));
            _mm512_mask_storeu_ps(sh + j, mk, e);
            sum = _mm512_mask_add_ps(sum, mk, sum, e);
        }
        a[h] = expf(m[h] - mn);
        l[h] = l[h] * a[h] + _mm512_reduce_add_ps(sum);
        m[h] = mn;
    }
}

/* ------------------------------------------------------- 8-bit cache, VNNI */

/* acc += u8 x s8 (vpdpbusd) with the s8 operand 4 bytes at q broadcast, and
 * with both in registers.  In asm with the accumulator tied ("+v"): written
 * with the intrinsic, gcc 12 copied every loop-carried accumulator to a
 * fresh register around each vpdpbusd (two extra moves per product). */
static inline __attribute__((always_inline)) __m512i q8_dp_bcast(__m512i acc, __m512i u, const int8_t *q) {
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(u), "m"(*(const int32_t *)(const void *)q));
    return acc;
}

static inline __attribute__((always_inline)) __m512i q8_dp(__m512i acc, __m512i u, __m512i s8) {
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(s8));
    return acc;
}

/* The 8-bit kernels stream the cache from DRAM at 7-8 GB/s per core with the
 * hardware prefetchers alone (the rows feed 64 multiply-adds per byte pair and
 * the core waits for each line); prefetching into L2 this many bytes ahead, once
 * per line (the first head block of a call), cut a 16-head, 8,192-position pass
 * from 1.28 to 0.92 ms (in L2: 0.78).  Into L1 (T0) it gained little. */
#define Q8_PF KERN_LAT_Q8_PF

/* Scores of NH heads for one group of 16 positions (m: the valid ones).
 * Per 4 columns: one 64-byte load of K, NH vpdpbusd with a broadcast of the
 * head's 4 query codes; latent and rope parts in separate accumulators. */
static inline __attribute__((always_inline)) void sq8_group(const uint8_t *kg, const float *sg, __mmask16 m,
                                                            const int8_t *q8, int64_t ldq,
                                                            const struct kern_lat_q8_head *qh, int64_t R, int64_t W,
                                                            float scale, float *s, int64_t lds, int pf,
                                                            const int NH) {
    __m512i ac[8], ar[8];
#pragma GCC unroll 8
    for (int h = 0; h < NH; h++) ac[h] = ar[h] = _mm512_setzero_si512();
    int64_t i = 0;
    for (; i < R; i += 4) {
        const __m512i kv = _mm512_loadu_si512(kg + i * 16);
        if (pf) _mm_prefetch((const char *)(kg + i * 16 + Q8_PF), _MM_HINT_T1);
#pragma GCC unroll 8
        for (int h = 0; h < NH; h++) ac[h] = q8_dp_bcast(ac[h], kv, q8 + h * ldq + i);
    }
    for (; i < W; i += 4) {
        const __m512i kv = _mm512_loadu_si512(kg + i * 16);
        if (pf) _mm_prefetch((const char *)(kg + i * 16 + Q8_PF), _MM_HINT_T1);
#pragma GCC unroll 8
        for (int h = 0; h < NH; h++) ar[h] = q8_dp_bcast(ar[h], kv, q8 + h * ldq + i);
    }
    const __m512 dc = _mm512_loadu_ps(sg), dr = _mm512_loadu_ps(sg + 16);
#pragma GCC unroll 8
    for (int h = 0; h < NH; h++) {
        const __m512 fc = _mm512_cvtepi32_ps(_mm512_sub_epi32(ac[h], _mm512_set1_epi32(qh[h].bc)));
        const __m512 fr = _mm512_cvtepi32_ps(_mm512_sub_epi32(ar[h], _mm512_set1_epi32(qh[h].br)));
        __m512 v = _mm512_mul_ps(fc, _mm512_mul_ps(dc, _mm512_set1_ps(qh[h].dc)));
        v = _mm512_fmadd_ps(fr, _mm512_mul_ps(dr, _mm512_set1_ps(qh[h].dr)), v);
        _mm512_mask_storeu_ps(s + h * lds, m, _mm512_mul_ps(v, _mm512_set1_ps(scale)));
    }
}

static void lat_scores_q8_avx512(const uint8_t *k, const float *sc, int64_t P, const int8_t *q8, int64_t ldq,
                                 const struct kern_lat_q8_head *qh, int64_t nh, int64_t R, int64_t W, float scale,
                                 float *s, int64_t lds) {
    for (int64_t g = 0; g * 16 < P; g++) {
        const uint8_t *kg = k + g * 16 * W;
        const float *sg = sc + g * 32;
        const __mmask16 m = lat_mask(P - g * 16);
        float *sj = s + g * 16;
        int64_t h = 0;
        for (; h + 8 <= nh; h += 8)
            sq8_group(kg, sg, m, q8 + h * ldq, ldq, qh + h, R, W, scale, sj + h * lds, lds, h == 0, 8);
        switch (nh - h) {
        case 7: sq8_group(kg, sg, m, q8 + h * ldq, ldq, qh + h, R, W, scale, sj + h * lds, lds, h == 0, 7); break;
        case 6: sq8_group(kg, sg, m, q8 + h * ldq, ldq, qh + h, R, W, scale, sj + h * lds, lds, h == 0, 6); break;
        case 5: sq8_group(kg, sg, m, q8 + h * ldq, ldq, qh + h, R, W, scale, sj + h * lds, lds, h == 0, 5); break;
        case 4: sq8_group(kg, sg, m, q8 + h * ldq, ldq, qh + h, R, W, scale, sj + h * lds, lds, h == 0, 4); break;
        case 3: sq8_group(kg, sg, m, q8 + h * ldq, ldq, qh + h, R, W, scale, sj + h * lds, lds, h == 0, 3); break;
        case 2: sq8_group(kg, sg, m, q8 + h * ldq, ldq, qh + h, R, W, scale, sj + h * lds, lds, h == 0, 2); break;
        case 1: sq8_group(kg, sg, m, q8 + h * ldq, ldq, qh + h, R, W, scale, sj + h * lds, lds, h == 0, 1); break;
        default: break;
        }
    }
}

/* values_q8 step 1 for one head (the reference's lat_q8_probs, 16 at a time,
 * same operations in the same order): p8[j] for j < P, zero up to the next
 * multiple of 16; returns wmax / 255. */
static float vq8_probs(const float *sc, int64_t P, const float *p, uint8_t *p8) {
    __m512 mx = _mm512_setzero_ps();
    for (int64_t j = 0; j < P; j += 16) {
        const __mmask16 m = lat_mask(P - j);
        const __m512 w = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p + j), _mm512_maskz_loadu_ps(m, sc + (j / 16) * 32));
        mx = _mm512_max_ps(mx, w);
    }
    const float wmax = _mm512_reduce_max_ps(mx);
    const __m512 inv = _mm512_set1_ps(wmax > 0.0f ? 255.0f / wmax : 0.0f);
    for (int64_t j = 0; j < P; j += 16) {
        const __mmask16 m = lat_mask(P - j);
        const __m512 w = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p + j), _mm512_maskz_loadu_ps(m, sc + (j / 16) * 32));
        const __m512i c = _mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(w, inv)), _mm512_setzero_si512());
        _mm_storeu_si128((__m128i *)(p8 + j), _mm512_cvtusepi32_epi8(c)); /* saturates at 255 */
    }
    return wmax / 255.0f;
}

/* A strip of NC x 16 columns of NH heads: NH x NC int32 accumulators over the
 * P positions, 4 at a time (one 64-byte line of V per 16 columns, a broadcast
 * of 4 probabilities per head), then o = a o + scale x sum.  v points at the
 * strip's first run of columns in the tile's first block (kern_lat.h: a block
 * of 64 positions takes 64 R bytes, its runs are 1 KB, 64 bytes per 4
 * positions), so a block's strip is NC KB read in order. */
static inline __attribute__((always_inline)) void vq8_strip(const int8_t *v, int64_t R, int64_t G,
                                                            const uint8_t (*p8)[KERN_LAT_Q8_MAXP], const float *ws,
                                                            const float *a, float *o, int64_t ldo, unsigned pf,
                                                            const int NH, const int NC) {
    __m512i acc[4][4];
#pragma GCC unroll 4
    for (int h = 0; h < NH; h++)
#pragma GCC unroll 4
        for (int c = 0; c < NC; c++) acc[h][c] = _mm512_setzero_si512();
    for (int64_t g0 = 0; g0 < G; g0 += 16) {
        const int8_t *vb = v + (g0 / 16) * 64 * R;
        const int64_t gn = G - g0 < 16 ? G - g0 : 16;
        for (int64_t gi = 0; gi < gn; gi++) {
            const int8_t *vg = vb + gi * 64;
            __m512i vv[4];
#pragma GCC unroll 4
            for (int c = 0; c < NC; c++) vv[c] = _mm512_loadu_si512(vg + c * 1024);
            if (pf)
#pragma GCC unroll 4
                for (int c = 0; c < NC; c++)
                    if (pf >> c & 1) _mm_prefetch((const char *)(vg + c * 1024 + Q8_PF), _MM_HINT_T1);
#pragma GCC unroll 4
            for (int h = 0; h < NH; h++) {
                int32_t x;
                memcpy(&x, p8[h] + 4 * (g0 + gi), 4);
                const __m512i pb = _mm512_set1_epi32(x);
#pragma GCC unroll 4
                for (int c = 0; c < NC; c++) acc[h][c] = q8_dp(acc[h][c], pb, vv[c]);
            }
        }
    }
#pragma GCC unroll 4
    for (int h = 0; h < NH; h++) {
        const __m512 sh = _mm512_set1_ps(ws[h]);
#pragma GCC unroll 4
        for (int c = 0; c < NC; c++) {
            float *op = o + h * ldo + c * 16;
            const __m512 f = _mm512_cvtepi32_ps(acc[h][c]);
            if (a) _mm512_storeu_ps(op, _mm512_fmadd_ps(f, sh, _mm512_mul_ps(_mm512_set1_ps(a[h]), _mm512_loadu_ps(op))));
            else _mm512_storeu_ps(op, _mm512_mul_ps(f, sh));
        }
    }
}

/* Which of a strip's NC lines (bit c: line c) the head group k of ng
 * prefetches for a later tile: the groups take them in turn, so that the
 * prefetches are spread over all the strip's passes, not issued four to a
 * vpdpbusd group in its first (measured: 16K decode +1 %, entry 45). */
static inline unsigned vq8_pfm(int64_t k, int64_t ng, int NC) {
    unsigned m = 0;
    for (int c = 0; c < NC; c++)
        if (c % ng == k) m |= 1u << c;
    return m;
}

/* NC x 16 columns of nh heads: the heads go through the strip of V (NC x 16
 * columns of the tile's positions) 4 at a time. */
static inline __attribute__((always_inline)) void vq8_cols(const int8_t *v, int64_t R, int64_t G,
                                                           const uint8_t (*p8)[KERN_LAT_Q8_MAXP], const float *ws,
                                                           const float *a, float *o, int64_t ldo, int64_t nh, int pf,
                                                           const int NC) {
    const int64_t ng = (nh + 3) / 4;
    int64_t h = 0;
    for (; h + 4 <= nh; h += 4)
        vq8_strip(v, R, G, p8 + h, ws + h, a ? a + h : NULL, o + h * ldo, ldo, pf ? vq8_pfm(h / 4, ng, NC) : 0, 4, NC);
    const float *ah = a ? a + h : NULL;
    const unsigned pm = pf ? vq8_pfm(h / 4, ng, NC) : 0;
    switch (nh - h) {
    case 3: vq8_strip(v, R, G, p8 + h, ws + h, ah, o + h * ldo, ldo, pm, 3, NC); break;
    case 2: vq8_strip(v, R, G, p8 + h, ws + h, ah, o + h * ldo, ldo, pm, 2, NC); break;
    case 1: vq8_strip(v, R, G, p8 + h, ws + h, ah, o + h * ldo, ldo, pm, 1, NC); break;
    default: break;
    }
}

static void lat_values_q8_avx512(const int8_t *v, const float *sc, int64_t P, const float *p, int64_t ldp, int64_t nh,
                                 int64_t R, const float *a, float *o, int64_t ldo) {
    if (R % 16 || P > KERN_LAT_Q8_MAXP) {
        kern_lat_values_q8_ref(v, sc, P, p, ldp, nh, R, a, o, ldo);
        return;
    }
    _Alignas(64) uint8_t p8[16][KERN_LAT_Q8_MAXP];
    float ws[16];
    const int64_t G = (P + 3) / 4;
    for (int64_t h0 = 0; h0 < nh; h0 += 16) {
        const int64_t nb = nh - h0 < 16 ? nh - h0 : 16;
        for (int64_t h = 0; h < nb; h++) ws[h] = vq8_probs(sc, P, p + (h0 + h) * ldp, p8[h]);
        const float *ah = a ? a + h0 : NULL;
        float *oh = o + h0 * ldo;
        const uint8_t(*pc)[KERN_LAT_Q8_MAXP] = (const uint8_t(*)[KERN_LAT_Q8_MAXP])p8;
        int64_t c = 0; /* v + c * 64: column c's run (c / 16 runs of 1 KB) */
        for (; c + 64 <= R; c += 64) vq8_cols(v + c * 64, R, G, pc, ws, ah, oh + c, ldo, nb, h0 == 0, 4);
        switch ((R - c) / 16) {
        case 3: vq8_cols(v + c * 64, R, G, pc, ws, ah, oh + c, ldo, nb, h0 == 0, 3); break;
        case 2: vq8_cols(v + c * 64, R, G, pc, ws, ah, oh + c, ldo, nb, h0 == 0, 2); break;
        case 1: vq8_cols(v + c * 64, R, G, pc, ws, ah, oh + c, ldo, nb, h0 == 0, 1); break;
        default: break;
        }
    }
}

/* kern_lat_q8_query, 16 values at a time, with the same results: max|x| with
 * NaN left out (vmaxps returns its second operand when either is NaN), codes
 * clamped to +-127 before the conversion (a NaN product to -127), rounded to
 * nearest even by the conversion (the reference's 1.5 x 2^23 add and subtract
 * for |y| < 2^22), and 0 for a value that is not finite. */
static float qq8_max(const float *x, int64_t n) {
    __m512 mx = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        const __m512 a = _mm512_abs_ps(_mm512_maskz_loadu_ps(lat_mask(n - i), x + i));
        mx = _mm512_max_ps(a, mx);
    }
    return _mm512_reduce_max_ps(mx);
}

static int32_t qq8_codes(const float *x, int64_t n, float mx, int8_t *q8) {
    const __m512 inv = _mm512_set1_ps(mx > 0.0f ? 127.0f / mx : 0.0f), inf = _mm512_set1_ps(INFINITY);
    __m512i sum = _mm512_setzero_si512();
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = lat_mask(n - i);
        const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        const __mmask16 fin = _mm512_mask_cmp_ps_mask(m, _mm512_abs_ps(v), inf, _CMP_LT_OQ); /* and in range */
        __m512 y = _mm512_max_ps(_mm512_mul_ps(v, inv), _mm512_set1_ps(-127.0f));
        y = _mm512_min_ps(y, _mm512_set1_ps(127.0f));
        const __m512i c = _mm512_maskz_cvtps_epi32(fin, y);
        sum = _mm512_add_epi32(sum, c);
        _mm_mask_storeu_epi8(q8 + i, m, _mm512_cvtsepi32_epi8(c));
    }
    return _mm512_reduce_add_epi32(sum);
}

static void lat_query_q8_avx512(const float *q, int64_t R, int64_t W, int8_t *q8, struct kern_lat_q8_head *qh) {
    const float mc = qq8_max(q, R), mr = qq8_max(q + R, W - R);
    const int32_t bc = qq8_codes(q, R, mc, q8), br = qq8_codes(q + R, W - R, mr, q8 + R);
    qh->dc = mc / 127.0f;
    qh->dr = mr / 127.0f;
    qh->bc = 128 * bc;
    qh->br = 128 * br;
}

const struct kern_lat_ops kern_lat_avx512 = {"avx512",
                                             lat_scores_avx512,
                                             lat_values_avx512,
                                             lat_scores_bf16_avx512,
                                             lat_values_bf16_avx512,
                                             lat_softmax_avx512,
                                             lat_scores_q8_avx512,
                                             lat_values_q8_avx512,
                                             lat_query_q8_avx512};
