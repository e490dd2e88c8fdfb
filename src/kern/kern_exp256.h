/*
 * kern_exp256.h - exp of 8 floats for the AVX2 kernel files (included only by
 * files compiled with -mavx2 -mfma): the dense attention's softmax and the
 * MLP activation.
 *
 * As kern_exp512.h (n = round(x / ln2), Cody-Waite r, degree-7 Taylor on
 * |r| <= ln2 / 2, about 1 ulp), with 2^n built in the exponent field: x is
 * clamped to [-87, 88], so n stays in [-126, 127] and 2^n is a normal float.
 */
#ifndef DC_KERN_EXP256_H
#define DC_KERN_EXP256_H

#include <immintrin.h>

#if defined(__AVX2__) && defined(__FMA__) /* only the AVX2 files see it (the header check compiles every header without -m flags) */
static inline __attribute__((always_inline)) __m256 kern_exp256(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
#endif

#endif
