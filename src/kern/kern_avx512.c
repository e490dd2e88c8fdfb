/*
 * kern_avx512.c - AVX-512 kernels (F, BW, VL, DQ, VNNI, BF16: Cooper Lake,
 * Sapphire Rapids, Zen 4 and later).  Compiled with the AVX-512 -m flags;
 * only called when kern_cpu_has(AVX512).
 *
 * Integer dots use VNNI vpdpbusd (u8 x s8, four products summed into i32
 * lanes, no saturation):
 *   Q8_0 x Q8_0: |w| against x with w's sign (negated where w < 0);
 *   Q4_0 x Q8_0: nibbles (0..15) against x, minus 8 * sum(x) from a second
 *                vpdpbusd of 8s against x;
 *   Q4_1 x Q8_1: nibbles against x, plus m * s per block;
 *   Q4_K/Q5_K:   one 256-bit vpdpbusd per 32-element sub-block, scaled in
 *                f32 by dx * d * sc (the i32 sub-block sums are exact);
 *   Q6_K:        vpmaddubsw (i16 pairs <= 2 * 63 * 127) then vpdpwssd with
 *                the 16-element scales, exact i32 per super-block.
 * The 32-element types take four blocks per step.  Each dot also has a
 * 4-token form (kern_dot4_avx512, kern_impl.h) built from the same code.
 * to_float slots are left NULL (the exact reference is used).
 */
#include <immintrin.h>
#include <math.h>

#include "kern.h"
#include "kern_impl.h"

static inline float a5_f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

static inline __m128i a5_ld128(const void *p) { return _mm_loadu_si128((const __m128i *)p); }
static inline __m256i a5_ld256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
static inline __m512i a5_ld512(const void *p) { return _mm512_loadu_si512(p); }

/* 32 bytes at p0 in the low half, 32 bytes at p1 in the high half */
static inline __m512i a5_ld2x32(const uint8_t *p0, const uint8_t *p1) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(a5_ld256(p0)), a5_ld256(p1), 1);
}

static inline float a5_hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* ------------------------------------------------------------ float dots */

static inline __mmask16 a5_tail_mask(int64_t k) { return (__mmask16)((1u << k) - 1u); }

static float a5_vec_dot_f32(int64_t n, const void *w, const void *xq) {
    const uint8_t *a = w;
    const float *x = xq;
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + 4 * i), _mm512_loadu_ps(x + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + 4 * i + 64), _mm512_loadu_ps(x + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + 4 * i + 128), _mm512_loadu_ps(x + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + 4 * i + 192), _mm512_loadu_ps(x + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + 4 * i), _mm512_loadu_ps(x + i), s0);
    if (i < n) {
        __mmask16 k = a5_tail_mask(n - i);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, a + 4 * i), _mm512_maskz_loadu_ps(k, x + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static inline __m512 a5_cvt_f16(__m256i h) { return _mm512_cvtph_ps(h); }
/* bf16 -> f32 is a 16-bit left shift of the bits. */
static inline __m512 a5_cvt_bf16(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* The F16 and BF16 dots differ only in the 16 -> 32 bit conversion. */
#define A5_DOT_HALF(NAME, CVT)                                                                   \
    static float NAME(int64_t n, const void *w, const void *xq) {                                \
        const uint8_t *a = w;                                                                    \
        const float *x = xq;                                                                     \
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;                              \
        int64_t i = 0;                                                                           \
        for (; i + 64 <= n; i += 64) {                                                           \
            s0 = _mm512_fmadd_ps(CVT(a5_ld256(a + 2 * i)), _mm512_loadu_ps(x + i), s0);         \
            s1 = _mm512_fmadd_ps(CVT(a5_ld256(a + 2 * i + 32)), _mm512_loadu_ps(x + i + 16), s1); \
            s2 = _mm512_fmadd_ps(CVT(a5_ld256(a + 2 * i + 64)), _mm512_loadu_ps(x + i + 32), s2); \
            s3 = _mm512_fmadd_ps(CVT(a5_ld256(a + 2 * i + 96)), _mm512_loadu_ps(x + i + 48), s3); \
        }                                                                                        \
        for (; i + 16 <= n; i += 16)                                                             \
            s0 = _mm512_fmadd_ps(CVT(a5_ld256(a + 2 * i)), _mm512_loadu_ps(x + i), s0);          \
        if (i < n) {                                                                             \
            __mmask16 k = a5_tail_mask(n - i);                                                   \
            s1 = _mm512_fmadd_ps(CVT(_mm256_maskz_loadu_epi16(k, a + 2 * i)),                    \
                                 _mm512_maskz_loadu_ps(k, x + i), s1);                           \
        }                                                                                        \
        return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3))); \
    }

A5_DOT_HALF(a5_vec_dot_f16, a5_cvt_f16)
A5_DOT_HALF(a5_vec_dot_bf16, a5_cvt_bf16)

/* ------------------------------------------------------ 32-element blocks */

/* Every integer dot below is written once for NT activation rows: NT = 1 is
 * the vec_dot, NT = 4 the multi-token form kern_matmul uses for prompts
 * (kern_impl.h).  The weight decoding is shared by the NT rows and each
 * row's arithmetic is the same sequence either way, so both give the same
 * bits.  A5_INL forces the inlining that makes NT a constant.
 *
 * 32-element types: the main loops take four blocks per step.  Their f16
 * scales are packed in general registers (loads and shifts there are cheap)
 * and converted with one vcvtph2ps: at decode the per-block overhead, not
 * the multiply-adds, is what limits these formats. */

#define A5_INL static inline __attribute__((always_inline))

static inline uint16_t a5_u16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return h;
}

/* the four f16 at p, p + s, p + 2s, p + 3s in one 64-bit word */
static inline uint64_t a5_pack4(const uint8_t *p, int s) {
    return (uint64_t)a5_u16(p) | (uint64_t)a5_u16(p + s) << 16 | (uint64_t)a5_u16(p + 2 * s) << 32 |
           (uint64_t)a5_u16(p + 3 * s) << 48;
}

/* f16 a_k * f16 b_k for k = 0..3, from two a5_pack4 words */
static inline __m128 a5_prod4(uint64_t a, uint64_t b) {
    __m256 f = _mm256_cvtph_ps(_mm_set_epi64x((long long)b, (long long)a));
    return _mm_mul_ps(_mm256_castps256_ps128(f), _mm256_extractf128_ps(f, 1));
}

/* Lane k of s (k < 4) repeated over i32 lanes 4k..4k+3. */
static inline __m512 a5_spread4(__m128 s) {
    const __m512i idx = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(s));
}

/* Four Q4 blocks' nibbles: lo = low nibbles of block k in 128-bit lane k
 * (its elements 0..15), hi = the high nibbles (elements 16..31). */
static inline void a5_nibbles4(const uint8_t *qs, int stride, __m512i *lo, __m512i *hi) {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    __m512i z = _mm512_castsi128_si512(a5_ld128(qs));
    z = _mm512_inserti32x4(z, a5_ld128(qs + stride), 1);
    z = _mm512_inserti32x4(z, a5_ld128(qs + 2 * stride), 2);
    z = _mm512_inserti32x4(z, a5_ld128(qs + 3 * stride), 3);
    *lo = _mm512_and_si512(z, m4);
    *hi = _mm512_and_si512(_mm512_srli_epi16(z, 4), m4);
}

/* Four activation blocks' quants split to match: xlo = elements 0..15 of
 * block k in lane k, xhi = elements 16..31. */
static inline void a5_xsplit4(const uint8_t *qs, int stride, __m512i *xlo, __m512i *xhi) {
    __m512i a = a5_ld2x32(qs, qs + stride), b = a5_ld2x32(qs + 2 * stride, qs + 3 * stride);
    *xlo = _mm512_shuffle_i64x2(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    *xhi = _mm512_shuffle_i64x2(a, b, _MM_SHUFFLE(3, 1, 3, 1));
}

/* One Q4 block's nibbles in element order (32 bytes). */
static inline __m256i a5_nibbles1(const uint8_t *q) {
    __m128i v = a5_ld128(q), m4 = _mm_set1_epi8(0x0f);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m4), _mm_and_si128(v, m4));
}

/* y[t] = dot of the Q8_0 row w with the Q8_0 row at x + t * xs, t < NT. */
A5_INL void a5_q8_0(int64_t n, const uint8_t *w, const uint8_t *x, size_t xs, int NT, float *y) {
    const int64_t nb = n / KB_QK;
    const __m512i zero = _mm512_setzero_si512();
    const __m512i lo8 = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m512i hi8 = _mm512_setr_epi32(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    __m512 acc0[4], acc1[4];
    for (int t = 0; t < NT; t++) acc0[t] = acc1[t] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        const uint8_t *bw = w + i * KB_Q8_0_SIZE;
        uint64_t dw = a5_pack4(bw + KB_Q8_0_D, KB_Q8_0_SIZE);
        /* |w| (-128 -> 0x80 = 128 unsigned) against x negated where w < 0 */
        __m512i qw0 = a5_ld2x32(bw + KB_Q8_0_QS, bw + KB_Q8_0_SIZE + KB_Q8_0_QS);
        __m512i qw1 = a5_ld2x32(bw + 2 * KB_Q8_0_SIZE + KB_Q8_0_QS, bw + 3 * KB_Q8_0_SIZE + KB_Q8_0_QS);
        __mmask64 n0 = _mm512_movepi8_mask(qw0), n1 = _mm512_movepi8_mask(qw1);
        __m512i a0 = _mm512_abs_epi8(qw0), a1 = _mm512_abs_epi8(qw1);
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) {
            const uint8_t *bx = x + (size_t)t * xs + i * KB_Q8_0_SIZE;
            __m512 s = _mm512_castps128_ps512(a5_prod4(dw, a5_pack4(bx + KB_Q8_0_D, KB_Q8_0_SIZE)));
            __m512i qx0 = a5_ld2x32(bx + KB_Q8_0_QS, bx + KB_Q8_0_SIZE + KB_Q8_0_QS);
            __m512i qx1 = a5_ld2x32(bx + 2 * KB_Q8_0_SIZE + KB_Q8_0_QS, bx + 3 * KB_Q8_0_SIZE + KB_Q8_0_QS);
            __m512i d0 = _mm512_dpbusd_epi32(zero, a0, _mm512_mask_sub_epi8(qx0, n0, zero, qx0));
            __m512i d1 = _mm512_dpbusd_epi32(zero, a1, _mm512_mask_sub_epi8(qx1, n1, zero, qx1));
            acc0[t] = _mm512_fmadd_ps(_mm512_permutexvar_ps(lo8, s), _mm512_cvtepi32_ps(d0), acc0[t]);
            acc1[t] = _mm512_fmadd_ps(_mm512_permutexvar_ps(hi8, s), _mm512_cvtepi32_ps(d1), acc1[t]);
        }
    }
    for (int t = 0; t < NT; t++) y[t] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[t], acc1[t]));
    for (; i < nb; i++) { /* the last nb % 4 blocks, one 256-bit step each */
        const uint8_t *bw = w + i * KB_Q8_0_SIZE;
        __m256i qw = a5_ld256(bw + KB_Q8_0_QS);
        for (int t = 0; t < NT; t++) {
            const uint8_t *bx = x + (size_t)t * xs + i * KB_Q8_0_SIZE;
            __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(qw, qw),
                                              _mm256_sign_epi8(a5_ld256(bx + KB_Q8_0_QS), qw));
            y[t] += a5_hsum256(_mm256_mul_ps(_mm256_set1_ps(a5_f16(bw) * a5_f16(bx)), _mm256_cvtepi32_ps(dot)));
        }
    }
}

A5_INL void a5_q4_0(int64_t n, const uint8_t *w, const uint8_t *x, size_t xs, int NT, float *y) {
    const int64_t nb = n / KB_QK;
    const __m512i zero = _mm512_setzero_si512(), eight = _mm512_set1_epi8(8);
    __m512 acc[4];
    for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        const uint8_t *bw = w + i * KB_Q4_0_SIZE;
        __m512i lo, hi;
        a5_nibbles4(bw + KB_Q4_0_QS, KB_Q4_0_SIZE, &lo, &hi);
        uint64_t dw = a5_pack4(bw + KB_Q4_0_D, KB_Q4_0_SIZE);
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) {
            const uint8_t *bx = x + (size_t)t * xs + i * KB_Q8_0_SIZE;
            __m512i xlo, xhi;
            a5_xsplit4(bx + KB_Q8_0_QS, KB_Q8_0_SIZE, &xlo, &xhi);
            /* sum (q - 8) x = sum q x - 8 sum x */
            __m512i dot = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, lo, xlo), hi, xhi);
            __m512i off = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, eight, xlo), eight, xhi);
            __m512 s = a5_spread4(a5_prod4(dw, a5_pack4(bx + KB_Q8_0_D, KB_Q8_0_SIZE)));
            acc[t] = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(_mm512_sub_epi32(dot, off)), acc[t]);
        }
    }
    for (int t = 0; t < NT; t++) y[t] = _mm512_reduce_add_ps(acc[t]);
    for (; i < nb; i++) {
        const uint8_t *bw = w + i * KB_Q4_0_SIZE;
        const __m256i z = _mm256_setzero_si256();
        __m256i q = a5_nibbles1(bw + KB_Q4_0_QS);
        for (int t = 0; t < NT; t++) {
            const uint8_t *bx = x + (size_t)t * xs + i * KB_Q8_0_SIZE;
            __m256i qx = a5_ld256(bx + KB_Q8_0_QS);
            __m256i dot = _mm256_sub_epi32(_mm256_dpbusd_epi32(z, q, qx), _mm256_dpbusd_epi32(z, _mm256_set1_epi8(8), qx));
            y[t] += a5_hsum256(_mm256_mul_ps(_mm256_set1_ps(a5_f16(bw) * a5_f16(bx)), _mm256_cvtepi32_ps(dot)));
        }
    }
}

A5_INL void a5_q4_1(int64_t n, const uint8_t *w, const uint8_t *x, size_t xs, int NT, float *y) {
    const int64_t nb = n / KB_QK;
    const __m512i zero = _mm512_setzero_si512();
    __m512 acc[4];
    __m128 accm[4];
    for (int t = 0; t < NT; t++) {
        acc[t] = _mm512_setzero_ps();
        accm[t] = _mm_setzero_ps();
    }
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        const uint8_t *bw = w + i * KB_Q4_1_SIZE;
        __m512i lo, hi;
        a5_nibbles4(bw + KB_Q4_1_QS, KB_Q4_1_SIZE, &lo, &hi);
        uint64_t dw = a5_pack4(bw + KB_Q4_1_D, KB_Q4_1_SIZE), mw = a5_pack4(bw + KB_Q4_1_M, KB_Q4_1_SIZE);
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) {
            const uint8_t *bx = x + (size_t)t * xs + i * KB_Q8_1_SIZE;
            __m512i xlo, xhi;
            a5_xsplit4(bx + KB_Q8_1_QS, KB_Q8_1_SIZE, &xlo, &xhi);
            __m512i dot = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, lo, xlo), hi, xhi);
            __m512 s = a5_spread4(a5_prod4(dw, a5_pack4(bx + KB_Q8_1_D, KB_Q8_1_SIZE)));
            acc[t] = _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(dot), acc[t]);
            /* + m_k * s_k (the weight min times d * sum of the activation quants) */
            accm[t] = _mm_add_ps(accm[t], a5_prod4(mw, a5_pack4(bx + KB_Q8_1_S, KB_Q8_1_SIZE)));
        }
    }
    for (int t = 0; t < NT; t++) {
        __m128 m = _mm_add_ps(accm[t], _mm_movehl_ps(accm[t], accm[t]));
        m = _mm_add_ss(m, _mm_movehdup_ps(m));
        y[t] = _mm512_reduce_add_ps(acc[t]) + _mm_cvtss_f32(m);
    }
    for (; i < nb; i++) {
        const uint8_t *bw = w + i * KB_Q4_1_SIZE;
        __m256i q = a5_nibbles1(bw + KB_Q4_1_QS);
        for (int t = 0; t < NT; t++) {
            const uint8_t *bx = x + (size_t)t * xs + i * KB_Q8_1_SIZE;
            __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q, a5_ld256(bx + KB_Q8_1_QS));
            y[t] += a5_hsum256(_mm256_mul_ps(_mm256_set1_ps(a5_f16(bw + KB_Q4_1_D) * a5_f16(bx + KB_Q8_1_D)),
                                             _mm256_cvtepi32_ps(dot)));
            y[t] += a5_f16(bw + KB_Q4_1_M) * a5_f16(bx + KB_Q8_1_S);
        }
    }
}

/* ------------------------------------------------------------- K-quants */

/* Eight i32 lanes summing to sum_k m[k] * (bsums[2k] + bsums[2k+1]). */
static inline __m256i a5_k4_minsum(const uint8_t *bx, __m256i md) {
    return _mm256_madd_epi16(a5_ld256(bx + KB_Q8_K_BSUMS), md);
}

/* Q4_K (has_qh 0) and Q5_K (has_qh 1, the 5th bits in qh).  Each
 * 32-element sub-block is one 256-bit vpdpbusd (u8 quants x s8 activations
 * -> exact i32 lanes), turned to f32 and FMA'd with its scale dx * d * sc[k],
 * broadcast from a small table: no lane-crossing shuffles in the loop (on
 * double-pumped AVX-512 cores 256-bit operations cost half of 512-bit ones). */
A5_INL void a5_k45(int64_t n, const uint8_t *w, const uint8_t *x, size_t xs, int NT, float *y, int bsize,
                   int qs_off, int has_qh) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256(), h16 = _mm256_set1_epi8(16);
    __m256 acc0[4], acc1[4], accm[4];
    for (int t = 0; t < NT; t++) acc0[t] = acc1[t] = accm[t] = _mm256_setzero_ps();
    float fs[4][8];
    for (int64_t i = 0; i < n / KB_QKK; i++) {
        const uint8_t *bw = w + i * bsize;
        uint8_t sc[8], m[8];
        kb_k4_scales(bw + KB_Q4_K_SC, sc, m);
        __m256 sf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)sc)));
        __m128i m16 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)m));
        __m256i md = _mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16));
        float d = a5_f16(bw + KB_Q4_K_D), dmin = a5_f16(bw + KB_Q4_K_DMIN);
        __m256i lo[4], hi[4];
        const uint8_t *qs = bw + qs_off;
        __m256i qh = has_qh ? a5_ld256(bw + KB_Q5_K_QH) : zero;
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
            __m256i q = a5_ld256(qs + 32 * c);
            lo[c] = _mm256_and_si256(q, m4);
            hi[c] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if (has_qh) { /* 5th bit of element 64c + l: bit 2c of qh[l]; of 64c + 32 + l: bit 2c + 1 */
                lo[c] = _mm256_mask_add_epi8(lo[c], _mm256_test_epi8_mask(qh, _mm256_set1_epi8((char)(1 << (2 * c)))),
                                             lo[c], h16);
                hi[c] = _mm256_mask_add_epi8(hi[c], _mm256_test_epi8_mask(qh, _mm256_set1_epi8((char)(2 << (2 * c)))),
                                             hi[c], h16);
            }
        }
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) {
            const uint8_t *bx = x + (size_t)t * xs + i * KB_Q8_K_SIZE, *qx = bx + KB_Q8_K_QS;
            float dx = kb_ld_f32(bx + KB_Q8_K_D);
            _mm256_storeu_ps(fs[t], _mm256_mul_ps(sf, _mm256_set1_ps(dx * d)));
#pragma GCC unroll 4
            for (int c = 0; c < 4; c++) {
                __m256i dl = _mm256_dpbusd_epi32(zero, lo[c], a5_ld256(qx + 64 * c));
                __m256i dh = _mm256_dpbusd_epi32(zero, hi[c], a5_ld256(qx + 64 * c + 32));
                acc0[t] = _mm256_fmadd_ps(_mm256_set1_ps(fs[t][2 * c]), _mm256_cvtepi32_ps(dl), acc0[t]);
                acc1[t] = _mm256_fmadd_ps(_mm256_set1_ps(fs[t][2 * c + 1]), _mm256_cvtepi32_ps(dh), acc1[t]);
            }
            accm[t] = _mm256_fmadd_ps(_mm256_set1_ps(dx * dmin), _mm256_cvtepi32_ps(a5_k4_minsum(bx, md)), accm[t]);
        }
    }
    for (int t = 0; t < NT; t++) y[t] = a5_hsum256(_mm256_sub_ps(_mm256_add_ps(acc0[t], acc1[t]), accm[t]));
}

/* Q6_K: as in the AVX2 file, the unsigned 6-bit q are dotted directly and
 * 32 * sum_g sc[g] * bsums[g] is subtracted once per super-block.  A half
 * (128 elements) is two registers: [q1 | q2] from the low nibbles of ql and
 * [q3 | q4] from the high nibbles; element e of the super-block uses sc[e/16]. */
A5_INL void a5_q6_k(int64_t n, const uint8_t *w, const uint8_t *x, size_t xs, int NT, float *y) {
    const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
    /* qh bits 2j..2j+1 go to bits 4..5: shift left 4 (q1), 2 (q2), 0 (q3), right 2 (q4) */
    const __m512i shl_a = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i shr_b = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    /* i16 lane i of a 64-element product uses scale (base + i / 8) */
    const __m512i grp = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1,
                                         1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    __m512 acc[4];
    for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / KB_QKK; i++) {
        const uint8_t *bw = w + i * KB_Q6_K_SIZE;
        const __m256i sc16 = _mm256_cvtepi8_epi16(a5_ld128(bw + KB_Q6_K_SC));
        const __m512i scz = _mm512_castsi256_si512(sc16);
        const float dw = a5_f16(bw + KB_Q6_K_D);
        __m512i qa[2], qb[2], sa[2], sb[2];
#pragma GCC unroll 4
        for (int h = 0; h < 2; h++) {
            __m512i ql = a5_ld512(bw + KB_Q6_K_QL + 64 * h);
            __m512i qh = _mm512_broadcast_i64x4(a5_ld256(bw + KB_Q6_K_QH + 32 * h));
            qa[h] = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_sllv_epi16(qh, shl_a), m30));
            qb[h] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                    _mm512_and_si512(_mm512_srlv_epi16(qh, shr_b), m30));
            sa[h] = _mm512_permutexvar_epi16(_mm512_add_epi16(grp, _mm512_set1_epi16((short)(8 * h))), scz);
            sb[h] = _mm512_permutexvar_epi16(_mm512_add_epi16(grp, _mm512_set1_epi16((short)(8 * h + 4))), scz);
        }
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) {
            const uint8_t *bx = x + (size_t)t * xs + i * KB_Q8_K_SIZE, *qx = bx + KB_Q8_K_QS;
            __m512i sumi = _mm512_setzero_si512();
#pragma GCC unroll 4
            for (int h = 0; h < 2; h++) {
                sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(qa[h], a5_ld512(qx + 128 * h)), sa[h]);
                sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(qb[h], a5_ld512(qx + 128 * h + 64)), sb[h]);
            }
            __m256i offs = _mm256_madd_epi16(a5_ld256(bx + KB_Q8_K_BSUMS), sc16);
            sumi = _mm512_sub_epi32(sumi, _mm512_zextsi256_si512(_mm256_slli_epi32(offs, 5)));
            acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(kb_ld_f32(bx + KB_Q8_K_D) * dw), _mm512_cvtepi32_ps(sumi), acc[t]);
        }
    }
    for (int t = 0; t < NT; t++) y[t] = _mm512_reduce_add_ps(acc[t]);
}

/* The single-row entry points (kern_ops slots) and the 4-row ones. */
#define A5_ENTRIES(T, CALL)                                                                         \
    static float a5_vec_dot_##T(int64_t n, const void *w, const void *xq) {                         \
        float y;                                                                                    \
        CALL(n, w, xq, 0, 1, &y);                                                                   \
        return y;                                                                                   \
    }                                                                                               \
    static void a5_dot4_##T(int64_t n, const void *w, const void *xq, size_t xs, float *y) {        \
        CALL(n, w, xq, xs, 4, y);                                                                   \
    }

#define A5_Q4_K(n, w, x, xs, NT, y) a5_k45(n, w, x, xs, NT, y, KB_Q4_K_SIZE, KB_Q4_K_QS, 0)
#define A5_Q5_K(n, w, x, xs, NT, y) a5_k45(n, w, x, xs, NT, y, KB_Q5_K_SIZE, KB_Q5_K_QS, 1)
A5_ENTRIES(q8_0, a5_q8_0)
A5_ENTRIES(q4_0, a5_q4_0)
A5_ENTRIES(q4_1, a5_q4_1)
A5_ENTRIES(q4_k, A5_Q4_K)
A5_ENTRIES(q5_k, A5_Q5_K)
A5_ENTRIES(q6_k, a5_q6_k)

const kern_dot4_fn kern_dot4_avx512[KERN_N_TYPES] = {
    [DT_Q8_0] = a5_dot4_q8_0, [DT_Q4_0] = a5_dot4_q4_0, [DT_Q4_1] = a5_dot4_q4_1,
    [DT_Q4_K] = a5_dot4_q4_k, [DT_Q5_K] = a5_dot4_q5_k, [DT_Q6_K] = a5_dot4_q6_k,
};

/* ------------------------------------------------ activation quantizers */

/* roundf(v) per lane: truncate, step away from zero if |v - trunc v| >= 0.5. */
static inline __m512 a5_round_away(__m512 v) {
    __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    __m512 step = _mm512_or_ps(_mm512_and_ps(v, _mm512_set1_ps(-0.0f)), _mm512_set1_ps(1.0f));
    return _mm512_mask_add_ps(t, up, t, step);
}

/* 16 floats times id, rounded, stored as 16 int8; returns the i32 lanes. */
static inline __m512i a5_q16(const float *x, __m512 id, int8_t *q) {
    __m512i v = _mm512_cvtps_epi32(a5_round_away(_mm512_mul_ps(_mm512_loadu_ps(x), id)));
    _mm_storeu_si128((__m128i *)q, _mm512_cvtepi32_epi8(v));
    return v;
}

static inline float a5_amax32(const float *x) {
    return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x)), _mm512_abs_ps(_mm512_loadu_ps(x + 16))));
}

static void a5_quantize_q8_0(const float *x, void *xq, int64_t n) {
    uint8_t *b = xq;
    for (int64_t i = 0; i < n / KB_QK; i++, b += KB_Q8_0_SIZE, x += KB_QK) {
        float d = a5_amax32(x) / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        kb_st_f16(b + KB_Q8_0_D, d);
        a5_q16(x, _mm512_set1_ps(id), (int8_t *)(b + KB_Q8_0_QS));
        a5_q16(x + 16, _mm512_set1_ps(id), (int8_t *)(b + KB_Q8_0_QS + 16));
    }
}

static void a5_quantize_q8_1(const float *x, void *xq, int64_t n) {
    uint8_t *b = xq;
    for (int64_t i = 0; i < n / KB_QK; i++, b += KB_Q8_1_SIZE, x += KB_QK) {
        float d = a5_amax32(x) / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        __m512i s0 = a5_q16(x, _mm512_set1_ps(id), (int8_t *)(b + KB_Q8_1_QS));
        __m512i s1 = a5_q16(x + 16, _mm512_set1_ps(id), (int8_t *)(b + KB_Q8_1_QS + 16));
        int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1));
        kb_st_f16(b + KB_Q8_1_D, d);
        kb_st_f16(b + KB_Q8_1_S, (float)sum * d);
    }
}

static void a5_quantize_q8_k(const float *x, void *xq, int64_t n) {
    uint8_t *b = xq;
    for (int64_t i = 0; i < n / KB_QKK; i++, b += KB_Q8_K_SIZE, x += KB_QKK) {
        __m512 mx = _mm512_setzero_ps();
        for (int j = 0; j < KB_QKK; j += 16) mx = _mm512_max_ps(mx, _mm512_abs_ps(_mm512_loadu_ps(x + j)));
        float amax = _mm512_reduce_max_ps(mx);
        int8_t *qs = (int8_t *)(b + KB_Q8_K_QS);
        float d = 0.0f;
        if (amax != 0.0f) {
            float iscale = 127.0f / amax;
            d = 1.0f / iscale;
            for (int g = 0; g < 16; g++) {
                int16_t s = (int16_t)_mm512_reduce_add_epi32(a5_q16(x + 16 * g, _mm512_set1_ps(iscale), qs + 16 * g));
                memcpy(b + KB_Q8_K_BSUMS + 2 * g, &s, 2);
            }
        } else {
            memset(qs, 0, KB_QKK);
            memset(b + KB_Q8_K_BSUMS, 0, 32);
        }
        memcpy(b + KB_Q8_K_D, &d, 4);
    }
}

const struct kern_ops kern_ops_avx512 = {
    .name = "avx512",
    .vec_dot =
        {
            [DT_F32] = a5_vec_dot_f32,
            [DT_F16] = a5_vec_dot_f16,
            [DT_BF16] = a5_vec_dot_bf16,
            [DT_Q4_0] = a5_vec_dot_q4_0,
            [DT_Q4_1] = a5_vec_dot_q4_1,
            [DT_Q8_0] = a5_vec_dot_q8_0,
            [DT_Q4_K] = a5_vec_dot_q4_k,
            [DT_Q5_K] = a5_vec_dot_q5_k,
            [DT_Q6_K] = a5_vec_dot_q6_k,
        },
    .quantize =
        {
            [DT_Q8_0] = a5_quantize_q8_0,
            [DT_Q8_1] = a5_quantize_q8_1,
            [DT_Q8_K] = a5_quantize_q8_k,
        },
};
