/*
 * kern_fp8_avx512.c - FP8 e4m3 block-scaled rows kernel for AVX-512
 * (F, BW, VL; Skylake-SP / Ice Lake / Zen 4 and later).  Compiled with its
 * own -m flags (Makefile); called only when kern_cpu_has(KERN_ISA_AVX512).
 *
 * Decoding 16 weights: the 7 magnitude bits of e4m3 (eeee mmm) shifted left
 * by 7 are an IEEE half with the same exponent and mantissa fields; a half's
 * exponent bias is 15 instead of 7, so the half equals the e4m3 value times
 * 2^-8, exactly (e4m3 subnormals land on half subnormals, also exactly).
 * vcvtph2ps widens 16 of them to f32 and the 2^8 is folded into the block
 * scale.  (The NaN byte 0x7f decodes to 480 here instead of NaN; DeepSeek's
 * weights never hold NaN.)
 *
 * Tiling: 8 rows x up to 8 tokens; per column block one accumulator vector
 * per token, multiplied by the block scale into a running total, reduced to a
 * scalar once per row and token.
 */
#include <immintrin.h>

#include "kern_fp8.h"

static inline __m512 fp8x16_to_ps(__m128i b) {
    __m256i h = _mm256_cvtepu8_epi16(b);
    __m256i mag = _mm256_slli_epi16(_mm256_and_si256(h, _mm256_set1_epi16(0x7f)), 7);
    __m256i sgn = _mm256_slli_epi16(_mm256_and_si256(h, _mm256_set1_epi16(0x80)), 8);
    return _mm512_cvtph_ps(_mm256_or_si256(mag, sgn));
}

/* One row, NT tokens (NT a compile-time constant after inlining). */
static inline __attribute__((always_inline)) void fp8_row_tokens(const struct kern_fp8_mat *w, int64_t r,
                                                                 const float *x, int64_t ldx, float *y,
                                                                 int64_t ldy, const int NT) {
    const uint8_t *wr = w->data + (size_t)r * (size_t)w->cols;
    const float *sr = w->scale + (size_t)((w->row0 + r) / w->blk_r) * (size_t)w->scale_ld;
    const int64_t cols = w->cols, bc = w->blk_c;
    __m512 tot[8];
    for (int k = 0; k < NT; k++) tot[k] = _mm512_setzero_ps();
    for (int64_t c0 = 0, b = 0; c0 < cols; c0 += bc, b++) {
        const int64_t c1 = c0 + bc < cols ? c0 + bc : cols;
        __m512 acc[8];
        for (int k = 0; k < NT; k++) acc[k] = _mm512_setzero_ps();
        int64_t c = c0;
        for (; c + 16 <= c1; c += 16) {
            __m512 wv = fp8x16_to_ps(_mm_loadu_si128((const __m128i *)(wr + c)));
            for (int k = 0; k < NT; k++) acc[k] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + k * ldx + c), acc[k]);
        }
        if (c < c1) {
            const __mmask16 m = (__mmask16)((1u << (c1 - c)) - 1);
            __m512 wv = fp8x16_to_ps(_mm_maskz_loadu_epi8(m, wr + c));
            for (int k = 0; k < NT; k++)
                acc[k] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, x + k * ldx + c), acc[k]);
        }
        const __m512 s = _mm512_set1_ps(sr[b] * 256.0f);
        for (int k = 0; k < NT; k++) tot[k] = _mm512_fmadd_ps(acc[k], s, tot[k]);
    }
    for (int k = 0; k < NT; k++) y[k * ldy + r] = _mm512_reduce_add_ps(tot[k]);
}

#define FP8_TILE_ROWS 8

void kern_fp8_rows_avx512(const struct kern_fp8_mat *w, const float *x, int64_t ldx, int64_t n, float *y,
                          int64_t ldy, int64_t r0, int64_t r1) {
    for (int64_t rt = r0; rt < r1; rt += FP8_TILE_ROWS) {
        const int64_t re = rt + FP8_TILE_ROWS < r1 ? rt + FP8_TILE_ROWS : r1;
        int64_t t = 0;
        for (; t + 8 <= n; t += 8)
            for (int64_t r = rt; r < re; r++) fp8_row_tokens(w, r, x + t * ldx, ldx, y + t * ldy, ldy, 8);
        for (; t + 4 <= n; t += 4)
            for (int64_t r = rt; r < re; r++) fp8_row_tokens(w, r, x + t * ldx, ldx, y + t * ldy, ldy, 4);
        for (; t < n; t++)
            for (int64_t r = rt; r < re; r++) fp8_row_tokens(w, r, x + t * ldx, ldx, y + t * ldy, ldy, 1);
    }
}
