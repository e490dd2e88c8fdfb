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
            [DT_Q4_0] = kern_a5_dot_q4_0,
            [DT_Q4_1] = kern_a5_dot_q4_1,
            [DT_Q8_0] = kern_a5_dot_q8_0,
            [DT_Q4_K] = kern_a5_dot_q4_k,
            [DT_Q5_K] = kern_a5_dot_q5_k,
            [DT_Q6_K] = kern_a5_dot_q6_k,
        },
    .quantize =
        {
            [DT_Q8_0] = a5_quantize_q8_0,
            [DT_Q8_1] = a5_quantize_q8_1,
            [DT_Q8_K] = a5_quantize_q8_k,
        },
};
