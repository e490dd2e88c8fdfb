/*
 * kern_exp512.h - exp of 16 floats for the AVX-512 kernel files (included
 * only by files compiled with the AVX-512 -m flags): the softmax steps of the
 * dense and the latent attention.
 *
 * n = round(x / ln2), r = x - n ln2 in two parts (Cody-Waite), exp(r) by its
 * degree-7 Taylor polynomial on |r| <= ln2 / 2, then vscalefps by n: about
 * 1 ulp.  x is clamped to [-87, 88]; callers pass x <= 0 (score - running
 * max), so there are no special cases.
 */
#ifndef DC_KERN_EXP512_H
#define DC_KERN_EXP512_H

#include <immintrin.h>

#ifdef __AVX512F__ /* only the AVX-512 files see it (the header check compiles every header without -m flags) */
static inline __attribute__((always_inline)) __m512 kern_exp512(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}
#endif

#endif
