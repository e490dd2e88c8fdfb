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

static void lat_scores_bf16_avx512(const uint16_t *rows, int64_t ldr, int64_t P, const float *q, int64_t ldq,
                                   int64_t nh, int64_t W, float scale, float *s, int64_t lds) {
    scores_all(rows, ldr, P, q, ldq, nh, W, scale, s, lds, 1);
}

static void lat_values_bf16_avx512(const uint16_t *rows, int64_t ldr, int64_t P, const float *p, int64_t ldp,
                                   int64_t nh, int64_t R, const float *a, float *o, int64_t ldo) {
    values_all(rows, ldr, P, p, ldp, nh, R, a, o, ldo, 1);
}

const struct kern_lat_ops kern_lat_avx512 = {"avx512", lat_scores_avx512, lat_values_avx512, lat_scores_bf16_avx512,
                                             lat_values_bf16_avx512};
