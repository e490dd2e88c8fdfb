/*
 * kern_lat_avx2.c - latent-attention inner loops for AVX2 + FMA (Haswell /
 * Zen 1 and later).  Compiled with its own -m flags; used only when
 * kern_cpu_has(KERN_ISA_AVX2).  Same blocking as kern_lat_avx512.c with
 * 8-float vectors: scores 4 heads per row load; values a 16-float strip of 4
 * heads (8 accumulators).  Rows f32 or bf16 (BF = 1); ragged ends go through
 * zero-padded buffers or a scalar loop.
 */
#include <immintrin.h>
#include <string.h>

#include "dtype.h"
#include "kern_lat.h"

static inline float lat_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float lat_elem(const void *row, int64_t i, const int BF) {
    if (!BF) return ((const float *)row)[i];
    uint32_t b = (uint32_t)((const uint16_t *)row)[i] << 16;
    float f;
    memcpy(&f, &b, 4);
    return f;
}

/* 8 elements from element i (n < 8: zero-padded). */
static inline __attribute__((always_inline)) __m256 lat_ld(const void *row, int64_t i, int64_t n, const int BF) {
    if (n >= 8) {
        if (BF) {
            __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)row + i));
            return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
        }
        return _mm256_loadu_ps((const float *)row + i);
    }
    float b[8] = {0};
    for (int64_t k = 0; k < n; k++) b[k] = lat_elem(row, i + k, BF);
    return _mm256_loadu_ps(b);
}

/* x rounded to bf16 (nearest even; finite inputs) and widened back: the
 * rounding the *_bf16 entries apply to queries and probabilities. */
static inline __m256 lat_round_bf16(__m256 x) {
    const __m256i b = _mm256_castps_si256(x);
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(b, 16), _mm256_set1_epi32(1));
    const __m256i r = _mm256_add_epi32(b, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7fff)));
    return _mm256_castsi256_ps(_mm256_and_si256(r, _mm256_set1_epi32((int)0xffff0000u)));
}

static inline const void *lat_row(const void *rows, int64_t j, int64_t ldr, const int BF) {
    return BF ? (const void *)((const uint16_t *)rows + j * ldr) : (const void *)((const float *)rows + j * ldr);
}

static inline __attribute__((always_inline)) void scores_nh(const void *row, const float *q, int64_t ldq, int64_t W,
                                                            float scale, float *s, int64_t lds, const int NH,
                                                            const int BF) {
    __m256 acc[4];
#pragma GCC unroll 4
    for (int k = 0; k < NH; k++) acc[k] = _mm256_setzero_ps();
    for (int64_t i = 0; i < W; i += 8) {
        const __m256 r = lat_ld(row, i, W - i, BF);
#pragma GCC unroll 4
        for (int k = 0; k < NH; k++) {
            const __m256 qk = lat_ld(q + k * ldq, i, W - i, 0);
            acc[k] = _mm256_fmadd_ps(BF ? lat_round_bf16(qk) : qk, r, acc[k]);
        }
    }
#pragma GCC unroll 4
    for (int k = 0; k < NH; k++) s[k * lds] = lat_hsum(acc[k]) * scale;
}

static inline __attribute__((always_inline)) void scores_all(const void *rows, int64_t ldr, int64_t P,
                                                             const float *q, int64_t ldq, int64_t nh, int64_t W,
                                                             float scale, float *s, int64_t lds, const int BF) {
    for (int64_t j = 0; j < P; j++) {
        const void *row = lat_row(rows, j, ldr, BF);
        int64_t h = 0;
        for (; h + 4 <= nh; h += 4) scores_nh(row, q + h * ldq, ldq, W, scale, s + h * lds + j, lds, 4, BF);
        for (; h < nh; h++) scores_nh(row, q + h * ldq, ldq, W, scale, s + h * lds + j, lds, 1, BF);
    }
}

static inline __attribute__((always_inline)) void values_strip(const void *rows, int64_t ldr, int64_t P,
                                                               const float *p, int64_t ldp, const float *a, float *o,
                                                               int64_t ldo, int64_t c0, const int NH, const int BF) {
    __m256 acc[4][2];
#pragma GCC unroll 4
    for (int k = 0; k < NH; k++) {
        if (a) {
            const __m256 ak = _mm256_set1_ps(a[k]);
            acc[k][0] = _mm256_mul_ps(ak, _mm256_loadu_ps(o + k * ldo + c0));
            acc[k][1] = _mm256_mul_ps(ak, _mm256_loadu_ps(o + k * ldo + c0 + 8));
        } else {
            acc[k][0] = acc[k][1] = _mm256_setzero_ps();
        }
    }
    for (int64_t j = 0; j < P; j++) {
        const void *row = lat_row(rows, j, ldr, BF);
        const __m256 r0 = lat_ld(row, c0, 8, BF), r1 = lat_ld(row, c0 + 8, 8, BF);
#pragma GCC unroll 4
        for (int k = 0; k < NH; k++) {
            const __m256 p1 = _mm256_set1_ps(p[k * ldp + j]), pk = BF ? lat_round_bf16(p1) : p1;
            acc[k][0] = _mm256_fmadd_ps(pk, r0, acc[k][0]);
            acc[k][1] = _mm256_fmadd_ps(pk, r1, acc[k][1]);
        }
    }
#pragma GCC unroll 4
    for (int k = 0; k < NH; k++) {
        _mm256_storeu_ps(o + k * ldo + c0, acc[k][0]);
        _mm256_storeu_ps(o + k * ldo + c0 + 8, acc[k][1]);
    }
}

static inline __attribute__((always_inline)) void values_all(const void *rows, int64_t ldr, int64_t P,
                                                             const float *p, int64_t ldp, int64_t nh, int64_t R,
                                                             const float *a, float *o, int64_t ldo, const int BF) {
    const int64_t R16 = R / 16 * 16;
    for (int64_t h = 0; h < nh; h += 4) {
        const int64_t n = nh - h;
        for (int64_t c = 0; c < R16; c += 16) {
            if (n >= 4) values_strip(rows, ldr, P, p + h * ldp, ldp, a ? a + h : NULL, o + h * ldo, ldo, c, 4, BF);
            else if (n == 3) values_strip(rows, ldr, P, p + h * ldp, ldp, a ? a + h : NULL, o + h * ldo, ldo, c, 3, BF);
            else if (n == 2) values_strip(rows, ldr, P, p + h * ldp, ldp, a ? a + h : NULL, o + h * ldo, ldo, c, 2, BF);
            else values_strip(rows, ldr, P, p + h * ldp, ldp, a ? a + h : NULL, o + h * ldo, ldo, c, 1, BF);
        }
    }
    for (int64_t h = 0; h < nh; h++) /* ragged columns, scalar */
        for (int64_t c = R16; c < R; c++) {
            float acc = a ? a[h] * o[h * ldo + c] : 0.0f;
            for (int64_t j = 0; j < P; j++) {
                float pj = p[h * ldp + j];
                if (BF) pj = bf16_to_f32(f32_to_bf16(pj));
                acc += pj * lat_elem(lat_row(rows, j, ldr, BF), c, BF);
            }
            o[h * ldo + c] = acc;
        }
}

static void lat_scores_avx2(const float *rows, int64_t ldr, int64_t P, const float *q, int64_t ldq, int64_t nh,
                            int64_t W, float scale, float *s, int64_t lds) {
    scores_all(rows, ldr, P, q, ldq, nh, W, scale, s, lds, 0);
}

static void lat_values_avx2(const float *rows, int64_t ldr, int64_t P, const float *p, int64_t ldp, int64_t nh,
                            int64_t R, const float *a, float *o, int64_t ldo) {
    values_all(rows, ldr, P, p, ldp, nh, R, a, o, ldo, 0);
}

static void lat_scores_bf16_avx2(const uint16_t *rows, int64_t ldr, int64_t P, const float *q, int64_t ldq,
                                 int64_t nh, int64_t W, float scale, float *s, int64_t lds) {
    scores_all(rows, ldr, P, q, ldq, nh, W, scale, s, lds, 1);
}

static void lat_values_bf16_avx2(const uint16_t *rows, int64_t ldr, int64_t P, const float *p, int64_t ldp,
                                 int64_t nh, int64_t R, const float *a, float *o, int64_t ldo) {
    values_all(rows, ldr, P, p, ldp, nh, R, a, o, ldo, 1);
}

const struct kern_lat_ops kern_lat_avx2 = {"avx2",
                                           lat_scores_avx2,
                                           lat_values_avx2,
                                           lat_scores_bf16_avx2,
                                           lat_values_bf16_avx2,
                                           kern_lat_softmax_ref,
                                           kern_lat_scores_q8_ref,
                                           kern_lat_values_q8_ref,
                                           kern_lat_q8_query};
