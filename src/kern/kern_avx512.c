/*
 * kern_avx512.c - AVX-512 kernels (F, BW, VL, DQ, VNNI, BF16: Cooper Lake,
 * Sapphire Rapids, Zen 4 and later): the float dots (F32, F16, BF16), the
 * activation quantizers and the kern_ops_avx512 table.  The integer dots
 * and the whole-matrix kernels are in kern_avx512_q.c.  Compiled with the
 * AVX-512 -m flags; only called when kern_cpu_has(AVX512).  to_float slots
 * are left NULL (the exact reference is used).
 */
#include <immintrin.h>
#include <math.h>

#include "kern.h"
#include "kern_exp512.h"
#include "kern_impl.h"
#include "kern_membw.h"

static inline __m256i a5_ld256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

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

/* The reference's formula with exp from kern_exp512 (about 1 ulp; its clamp
 * to [-87, 88] keeps 1 + exp(-g) finite, so a very negative g gives g / huge
 * ~ -0 as expf's inf does); the tail through a masked load and store. */
static void a5_swiglu(float *g, const float *u, int64_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1u);
        const __m512 x = _mm512_maskz_loadu_ps(m, g + i);
        const __m512 e = kern_exp512(_mm512_sub_ps(_mm512_setzero_ps(), x));
        const __m512 y = _mm512_mul_ps(_mm512_div_ps(x, _mm512_add_ps(one, e)), _mm512_maskz_loadu_ps(m, u + i));
        _mm512_mask_storeu_ps(g + i, m, y);
    }
}

/* The read-bandwidth probe's loops (kern_membw.h): four 64-byte loads per
 * step into four sums, the rest word by word; with pf, each line is also
 * prefetched into L2 2 KB ahead, the distance the one-token kernels use on
 * Intel (kern.h), where the hardware prefetcher alone left the other loops
 * ~5-8 % below it (log entry 48; on AMD Zen 4 it is just not the fastest). */
static inline __attribute__((always_inline)) uint64_t a5_membw_sum(const uint64_t *p, size_t n, int pf) {
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        if (pf) {
            const char *q = (const char *)(p + i) + 2048;
            _mm_prefetch(q, _MM_HINT_T1);
            _mm_prefetch(q + 64, _MM_HINT_T1);
            _mm_prefetch(q + 128, _MM_HINT_T1);
            _mm_prefetch(q + 192, _MM_HINT_T1);
        }
        s0 = _mm512_add_epi64(s0, _mm512_loadu_si512(p + i));
        s1 = _mm512_add_epi64(s1, _mm512_loadu_si512(p + i + 8));
        s2 = _mm512_add_epi64(s2, _mm512_loadu_si512(p + i + 16));
        s3 = _mm512_add_epi64(s3, _mm512_loadu_si512(p + i + 24));
    }
    /* the lanes summed as unsigned words (the header's reduce adds signed ones, which may overflow) */
    uint64_t w[8], s = 0;
    _mm512_storeu_si512(w, _mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3)));
    for (int k = 0; k < 8; k++) s += w[k];
    for (; i < n; i++) s += p[i];
    return s;
}
uint64_t kern_membw_sum_avx512(const uint64_t *p, size_t n) { return a5_membw_sum(p, n, 0); }
uint64_t kern_membw_sum_avx512_pf(const uint64_t *p, size_t n) { return a5_membw_sum(p, n, 1); }

const struct kern_ops kern_ops_avx512 = {
    .name = "avx512",
    .swiglu = a5_swiglu,
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
