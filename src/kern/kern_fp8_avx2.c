/*
 * kern_fp8_avx2.c - FP8 e4m3 block-scaled rows kernel for AVX2 + FMA + F16C
 * (Haswell / Zen 1 and later).  Compiled with its own -m flags (Makefile);
 * called only when kern_cpu_has(KERN_ISA_AVX2).
 *
 * Same decoding as kern_fp8_avx512.c, 8 weights at a time: the e4m3
 * magnitude bits shifted into half-precision fields give the value times
 * 2^-8 exactly, vcvtph2ps widens them, and the 2^8 goes into the block scale.
 * A block's ragged end (row length not a multiple of 8) goes through small
 * zero-padded buffers.
 */
#include <immintrin.h>

#include "kern_fp8.h"

static inline __m256 fp8x8_to_ps(__m128i b) {
    __m128i h = _mm_cvtepu8_epi16(b);
    __m128i mag = _mm_slli_epi16(_mm_and_si128(h, _mm_set1_epi16(0x7f)), 7);
    __m128i sgn = _mm_slli_epi16(_mm_and_si128(h, _mm_set1_epi16(0x80)), 8);
    return _mm256_cvtph_ps(_mm_or_si128(mag, sgn));
}

static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __attribute__((always_inline)) void fp8_row_tokens(const struct kern_fp8_mat *w, int64_t r,
                                                                 const float *x, int64_t ldx, float *y,
                                                                 int64_t ldy, const int NT) {
    const uint8_t *wr = w->data + (size_t)r * (size_t)w->cols;
    const float *sr = w->scale + (size_t)((w->row0 + r) / w->blk_r) * (size_t)w->scale_ld;
    const int64_t cols = w->cols, bc = w->blk_c;
    __m256 tot[4];
    for (int k = 0; k < NT; k++) tot[k] = _mm256_setzero_ps();
    for (int64_t c0 = 0, b = 0; c0 < cols; c0 += bc, b++) {
        const int64_t c1 = c0 + bc < cols ? c0 + bc : cols;
        __m256 acc[4];
        for (int k = 0; k < NT; k++) acc[k] = _mm256_setzero_ps();
        int64_t c = c0;
        for (; c + 8 <= c1; c += 8) {
            __m256 wv = fp8x8_to_ps(_mm_loadl_epi64((const __m128i *)(wr + c)));
            for (int k = 0; k < NT; k++) acc[k] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + k * ldx + c), acc[k]);
        }
        if (c < c1) {
            uint8_t wb[8] = {0};
            float xb[8];
            memcpy(wb, wr + c, (size_t)(c1 - c));
            __m256 wv = fp8x8_to_ps(_mm_loadl_epi64((const __m128i *)wb));
            for (int k = 0; k < NT; k++) {
                memset(xb, 0, sizeof(xb));
                memcpy(xb, x + k * ldx + c, (size_t)(c1 - c) * sizeof(float));
                acc[k] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xb), acc[k]);
            }
        }
        const __m256 s = _mm256_set1_ps(sr[b] * 256.0f);
        for (int k = 0; k < NT; k++) tot[k] = _mm256_fmadd_ps(acc[k], s, tot[k]);
    }
    for (int k = 0; k < NT; k++) y[k * ldy + r] = hsum256(tot[k]);
}

#define FP8_TILE_ROWS 8

void kern_fp8_rows_avx2(const struct kern_fp8_mat *w, const float *x, int64_t ldx, int64_t n, float *y,
                        int64_t ldy, int64_t r0, int64_t r1) {
    for (int64_t rt = r0; rt < r1; rt += FP8_TILE_ROWS) {
        const int64_t re = rt + FP8_TILE_ROWS < r1 ? rt + FP8_TILE_ROWS : r1;
        int64_t t = 0;
        for (; t + 4 <= n; t += 4)
            for (int64_t r = rt; r < re; r++) fp8_row_tokens(w, r, x + t * ldx, ldx, y + t * ldy, ldy, 4);
        for (; t < n; t++)
            for (int64_t r = rt; r < re; r++) fp8_row_tokens(w, r, x + t * ldx, ldx, y + t * ldy, ldy, 1);
    }
}
