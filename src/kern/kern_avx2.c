/*
 * kern_avx2.c - AVX2 + FMA + F16C kernels (Haswell / Zen 1 and later).
 * Compiled with -mavx2 -mfma -mf16c; only called when kern_cpu_has(AVX2).
 *
 * Integer dots use vpmaddubsw (u8 x s8 -> pairs summed into i16) then vpmaddwd
 * (i16 pairs -> i32).  Signed x signed (Q8_0, Q4_0 after -8) goes through
 * |w| and sign(x, w) so the unsigned operand is |w|.  No i16 overflow: the
 * activation quants are in [-127, 127] and |w| <= 128, so a pair is at most
 * 2 * 128 * 127 = 32512.  Per-block i32 lanes are turned to f32 and FMA'd
 * with the block scale into 8-lane accumulators (one horizontal sum per row).
 *
 * to_float slots are left NULL (the reference is exact and only used off the
 * hot path: embedding rows and load-time conversions).
 */
#include <immintrin.h>
#include <math.h>

#include "kern.h"
#include "kern_exp256.h"
#include "kern_impl.h"
#include "kern_membw.h"

static inline float a2_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float a2_f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

static inline __m256i a2_ld256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
static inline __m128i a2_ld128(const void *p) { return _mm_loadu_si128((const __m128i *)p); }

/* The 32 nibbles of 16 bytes as 32 bytes: low nibbles -> elements 0..15,
 * high nibbles -> elements 16..31 (the Q4_0/Q4_1 element order). */
static inline __m256i a2_nibbles(const uint8_t *qs) {
    __m128i q = a2_ld128(qs), m4 = _mm_set1_epi8(0x0f);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4));
}

/* Eight i32 lanes summing to sum(w_i * x_i), w and x signed bytes. */
static inline __m256i a2_dot_ss(__m256i w, __m256i x) {
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* The same with w unsigned (0..63). */
static inline __m256i a2_dot_us(__m256i w, __m256i x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1));
}

/* ------------------------------------------------------------ float dots */

static float a2_vec_dot_f32(int64_t n, const void *w, const void *xq) {
    const uint8_t *a = w;
    const float *x = xq;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps((const float *)(a + 4 * i)), _mm256_loadu_ps(x + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps((const float *)(a + 4 * i + 32)), _mm256_loadu_ps(x + i + 8),
                             s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps((const float *)(a + 4 * i + 64)),
                             _mm256_loadu_ps(x + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps((const float *)(a + 4 * i + 96)),
                             _mm256_loadu_ps(x + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps((const float *)(a + 4 * i)), _mm256_loadu_ps(x + i), s0);
    float s = a2_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) s += kb_ld_f32(a + 4 * i) * x[i];
    return s;
}

static inline __m256 a2_ld_f16x8(const uint8_t *p) { return _mm256_cvtph_ps(a2_ld128(p)); }

static float a2_vec_dot_f16(int64_t n, const void *w, const void *xq) {
    const uint8_t *a = w;
    const float *x = xq;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(a2_ld_f16x8(a + 2 * i), _mm256_loadu_ps(x + i), s0);
        s1 = _mm256_fmadd_ps(a2_ld_f16x8(a + 2 * i + 16), _mm256_loadu_ps(x + i + 8), s1);
        s2 = _mm256_fmadd_ps(a2_ld_f16x8(a + 2 * i + 32), _mm256_loadu_ps(x + i + 16), s2);
        s3 = _mm256_fmadd_ps(a2_ld_f16x8(a + 2 * i + 48), _mm256_loadu_ps(x + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(a2_ld_f16x8(a + 2 * i), _mm256_loadu_ps(x + i), s0);
    float s = a2_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) s += a2_f16(a + 2 * i) * x[i];
    return s;
}

/* bf16 -> f32 is a 16-bit left shift of the bits. */
static inline __m256 a2_ld_bf16x8(const uint8_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(a2_ld128(p)), 16));
}

static float a2_vec_dot_bf16(int64_t n, const void *w, const void *xq) {
    const uint8_t *a = w;
    const float *x = xq;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(a2_ld_bf16x8(a + 2 * i), _mm256_loadu_ps(x + i), s0);
        s1 = _mm256_fmadd_ps(a2_ld_bf16x8(a + 2 * i + 16), _mm256_loadu_ps(x + i + 8), s1);
        s2 = _mm256_fmadd_ps(a2_ld_bf16x8(a + 2 * i + 32), _mm256_loadu_ps(x + i + 16), s2);
        s3 = _mm256_fmadd_ps(a2_ld_bf16x8(a + 2 * i + 48), _mm256_loadu_ps(x + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(a2_ld_bf16x8(a + 2 * i), _mm256_loadu_ps(x + i), s0);
    float s = a2_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) {
        uint16_t h;
        memcpy(&h, a + 2 * i, 2);
        s += bf16_to_f32(h) * x[i];
    }
    return s;
}

/* ------------------------------------------------------ 32-element blocks */

/* The main loops take four blocks per step and gather their f16 scales into
 * one vector (8 x vpinsrw, one vcvtph2ps) instead of converting them one by
 * one; at decode the per-block overhead is what limits these formats. */

static inline uint16_t a2_u16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return h;
}

/* f16 a_k * f16 b_k for k = 0..3 (a_k at pa + k * sa, b_k at pb + k * sb),
 * in lanes 0..3 of a 256-bit register (upper lanes undefined). */
static inline __m256 a2_prod4(const uint8_t *pa, int sa, const uint8_t *pb, int sb) {
    __m128i h = _mm_cvtsi32_si128(a2_u16(pa));
    h = _mm_insert_epi16(h, a2_u16(pa + sa), 1);
    h = _mm_insert_epi16(h, a2_u16(pa + 2 * sa), 2);
    h = _mm_insert_epi16(h, a2_u16(pa + 3 * sa), 3);
    h = _mm_insert_epi16(h, a2_u16(pb), 4);
    h = _mm_insert_epi16(h, a2_u16(pb + sb), 5);
    h = _mm_insert_epi16(h, a2_u16(pb + 2 * sb), 6);
    h = _mm_insert_epi16(h, a2_u16(pb + 3 * sb), 7);
    __m256 f = _mm256_cvtph_ps(h);
    return _mm256_castps128_ps256(_mm_mul_ps(_mm256_castps256_ps128(f), _mm256_extractf128_ps(f, 1)));
}

/* lane k of s broadcast to all 8 lanes */
static inline __m256 a2_lane(__m256 s, int k) { return _mm256_permutevar8x32_ps(s, _mm256_set1_epi32(k)); }

static float a2_vec_dot_q8_0(int64_t n, const void *w, const void *xq) {
    const uint8_t *bw = w, *bx = xq;
    const int64_t nb = n / KB_QK;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4, bw += 4 * KB_Q8_0_SIZE, bx += 4 * KB_Q8_0_SIZE) {
        __m256 s = a2_prod4(bw, KB_Q8_0_SIZE, bx, KB_Q8_0_SIZE);
        for (int k = 0; k < 4; k += 2) {
            const uint8_t *pw = bw + k * KB_Q8_0_SIZE + KB_Q8_0_QS, *px = bx + k * KB_Q8_0_SIZE + KB_Q8_0_QS;
            __m256i d0 = a2_dot_ss(a2_ld256(pw), a2_ld256(px));
            __m256i d1 = a2_dot_ss(a2_ld256(pw + KB_Q8_0_SIZE), a2_ld256(px + KB_Q8_0_SIZE));
            acc0 = _mm256_fmadd_ps(a2_lane(s, k), _mm256_cvtepi32_ps(d0), acc0);
            acc1 = _mm256_fmadd_ps(a2_lane(s, k + 1), _mm256_cvtepi32_ps(d1), acc1);
        }
    }
    for (; i < nb; i++, bw += KB_Q8_0_SIZE, bx += KB_Q8_0_SIZE) {
        __m256i d0 = a2_dot_ss(a2_ld256(bw + KB_Q8_0_QS), a2_ld256(bx + KB_Q8_0_QS));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(a2_f16(bw) * a2_f16(bx)), _mm256_cvtepi32_ps(d0), acc0);
    }
    return a2_hsum(_mm256_add_ps(acc0, acc1));
}

static float a2_vec_dot_q4_0(int64_t n, const void *w, const void *xq) {
    const uint8_t *bw = w, *bx = xq;
    const int64_t nb = n / KB_QK;
    const __m256i off = _mm256_set1_epi8(8);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4, bw += 4 * KB_Q4_0_SIZE, bx += 4 * KB_Q8_0_SIZE) {
        __m256 s = a2_prod4(bw, KB_Q4_0_SIZE, bx, KB_Q8_0_SIZE);
        for (int k = 0; k < 4; k += 2) {
            const uint8_t *pw = bw + k * KB_Q4_0_SIZE + KB_Q4_0_QS, *px = bx + k * KB_Q8_0_SIZE + KB_Q8_0_QS;
            __m256i d0 = a2_dot_ss(_mm256_sub_epi8(a2_nibbles(pw), off), a2_ld256(px));
            __m256i d1 = a2_dot_ss(_mm256_sub_epi8(a2_nibbles(pw + KB_Q4_0_SIZE), off), a2_ld256(px + KB_Q8_0_SIZE));
            acc0 = _mm256_fmadd_ps(a2_lane(s, k), _mm256_cvtepi32_ps(d0), acc0);
            acc1 = _mm256_fmadd_ps(a2_lane(s, k + 1), _mm256_cvtepi32_ps(d1), acc1);
        }
    }
    for (; i < nb; i++, bw += KB_Q4_0_SIZE, bx += KB_Q8_0_SIZE) {
        __m256i w0 = _mm256_sub_epi8(a2_nibbles(bw + KB_Q4_0_QS), off);
        __m256i d0 = a2_dot_ss(w0, a2_ld256(bx + KB_Q8_0_QS));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(a2_f16(bw) * a2_f16(bx)), _mm256_cvtepi32_ps(d0), acc0);
    }
    return a2_hsum(_mm256_add_ps(acc0, acc1));
}

static float a2_vec_dot_q4_1(int64_t n, const void *w, const void *xq) {
    const uint8_t *bw = w, *bx = xq;
    const int64_t nb = n / KB_QK;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, accm = acc0;
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4, bw += 4 * KB_Q4_1_SIZE, bx += 4 * KB_Q8_1_SIZE) {
        __m256 s = a2_prod4(bw + KB_Q4_1_D, KB_Q4_1_SIZE, bx + KB_Q8_1_D, KB_Q8_1_SIZE);
        /* + m_k * s_k: the weight min times d * sum of the activation quants */
        accm = _mm256_add_ps(accm, a2_prod4(bw + KB_Q4_1_M, KB_Q4_1_SIZE, bx + KB_Q8_1_S, KB_Q8_1_SIZE));
        for (int k = 0; k < 4; k += 2) {
            const uint8_t *pw = bw + k * KB_Q4_1_SIZE + KB_Q4_1_QS, *px = bx + k * KB_Q8_1_SIZE + KB_Q8_1_QS;
            __m256i d0 = a2_dot_us(a2_nibbles(pw), a2_ld256(px));
            __m256i d1 = a2_dot_us(a2_nibbles(pw + KB_Q4_1_SIZE), a2_ld256(px + KB_Q8_1_SIZE));
            acc0 = _mm256_fmadd_ps(a2_lane(s, k), _mm256_cvtepi32_ps(d0), acc0);
            acc1 = _mm256_fmadd_ps(a2_lane(s, k + 1), _mm256_cvtepi32_ps(d1), acc1);
        }
    }
    /* only lanes 0..3 of accm are defined sums */
    __m128 m = _mm256_castps256_ps128(accm);
    m = _mm_add_ps(m, _mm_movehl_ps(m, m));
    m = _mm_add_ss(m, _mm_movehdup_ps(m));
    float summ = _mm_cvtss_f32(m);
    for (; i < nb; i++, bw += KB_Q4_1_SIZE, bx += KB_Q8_1_SIZE) {
        __m256i d = a2_dot_us(a2_nibbles(bw + KB_Q4_1_QS), a2_ld256(bx + KB_Q8_1_QS));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(a2_f16(bw + KB_Q4_1_D) * a2_f16(bx + KB_Q8_1_D)),
                               _mm256_cvtepi32_ps(d), acc0);
        summ += a2_f16(bw + KB_Q4_1_M) * a2_f16(bx + KB_Q8_1_S);
    }
    return a2_hsum(_mm256_add_ps(acc0, acc1)) + summ;
}

/* ------------------------------------------------------------- K-quants */

/* Eight i32 lanes summing to sum_k m[k] * (bsums[2k] + bsums[2k+1]). */
static inline __m256i a2_k4_minsum(const uint8_t *bx, const uint8_t m[8]) {
    __m128i m16 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)m));
    __m256i md = _mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16));
    return _mm256_madd_epi16(a2_ld256(bx + KB_Q8_K_BSUMS), md);
}

static float a2_vec_dot_q4_k(int64_t n, const void *w, const void *xq) {
    const uint8_t *bw = w, *bx = xq;
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256 acc = _mm256_setzero_ps(), accm = acc;
    for (int64_t i = 0; i < n / KB_QKK; i++, bw += KB_Q4_K_SIZE, bx += KB_Q8_K_SIZE) {
        uint8_t sc[8], m[8];
        kb_k4_scales(bw + KB_Q4_K_SC, sc, m);
        const uint8_t *qs = bw + KB_Q4_K_QS, *qx = bx + KB_Q8_K_QS;
        __m256i sumi = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            __m256i q = a2_ld256(qs + 32 * c);
            __m256i p0 = _mm256_maddubs_epi16(_mm256_and_si256(q, m4), a2_ld256(qx + 64 * c));
            __m256i p1 = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
                                              a2_ld256(qx + 64 * c + 32));
            p0 = _mm256_madd_epi16(p0, _mm256_set1_epi16(sc[2 * c]));
            p1 = _mm256_madd_epi16(p1, _mm256_set1_epi16(sc[2 * c + 1]));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
        }
        float dx = kb_ld_f32(bx + KB_Q8_K_D);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dx * a2_f16(bw + KB_Q4_K_D)), _mm256_cvtepi32_ps(sumi), acc);
        accm = _mm256_fmadd_ps(_mm256_set1_ps(dx * a2_f16(bw + KB_Q4_K_DMIN)),
                               _mm256_cvtepi32_ps(a2_k4_minsum(bx, m)), accm);
    }
    return a2_hsum(acc) - a2_hsum(accm);
}

static float a2_vec_dot_q5_k(int64_t n, const void *w, const void *xq) {
    const uint8_t *bw = w, *bx = xq;
    const __m256i m4 = _mm256_set1_epi8(0x0f), b4 = _mm256_set1_epi8(0x10);
    __m256 acc = _mm256_setzero_ps(), accm = acc;
    for (int64_t i = 0; i < n / KB_QKK; i++, bw += KB_Q5_K_SIZE, bx += KB_Q8_K_SIZE) {
        uint8_t sc[8], m[8];
        kb_k4_scales(bw + KB_Q5_K_SC, sc, m);
        const uint8_t *qs = bw + KB_Q5_K_QS, *qx = bx + KB_Q8_K_QS;
        const __m256i qh = a2_ld256(bw + KB_Q5_K_QH);
        __m256i sumi = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            __m256i q = a2_ld256(qs + 32 * c);
            /* 5th bit of element 64c + l is bit 2c of qh[l], of 64c + 32 + l bit 2c + 1 */
            __m256i bit0 = _mm256_set1_epi8((char)(1 << (2 * c))), bit1 = _mm256_set1_epi8((char)(2 << (2 * c)));
            __m256i h0 = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit0), bit0), b4);
            __m256i h1 = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit1), bit1), b4);
            __m256i q0 = _mm256_or_si256(_mm256_and_si256(q, m4), h0);
            __m256i q1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h1);
            __m256i p0 = _mm256_maddubs_epi16(q0, a2_ld256(qx + 64 * c));
            __m256i p1 = _mm256_maddubs_epi16(q1, a2_ld256(qx + 64 * c + 32));
            p0 = _mm256_madd_epi16(p0, _mm256_set1_epi16(sc[2 * c]));
            p1 = _mm256_madd_epi16(p1, _mm256_set1_epi16(sc[2 * c + 1]));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
        }
        float dx = kb_ld_f32(bx + KB_Q8_K_D);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dx * a2_f16(bw + KB_Q5_K_D)), _mm256_cvtepi32_ps(sumi), acc);
        accm = _mm256_fmadd_ps(_mm256_set1_ps(dx * a2_f16(bw + KB_Q5_K_DMIN)),
                               _mm256_cvtepi32_ps(a2_k4_minsum(bx, m)), accm);
    }
    return a2_hsum(acc) - a2_hsum(accm);
}

/* Q6_K: sum_g sc[g] * sum_{e in g} (q_e - 32) x_e
 *     = sum_g sc[g] * sum q_e x_e  -  32 * sum_g sc[g] * bsums[g],
 * so the unsigned 6-bit q go straight into vpmaddubsw and the -32 is paid
 * once per super-block from the Q8_K bsums. */
static float a2_vec_dot_q6_k(int64_t n, const void *w, const void *xq) {
    const uint8_t *bw = w, *bx = xq;
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
    /* within each 128-bit half, repeat i16 lane 0 (low half) or lane 1 (high half) */
    const __m256i pick = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3,
                                          2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / KB_QKK; i++, bw += KB_Q6_K_SIZE, bx += KB_Q8_K_SIZE) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(a2_ld128(bw + KB_Q6_K_SC)); /* lane g = sc[g] */
        const uint8_t *qx = bx + KB_Q8_K_QS;
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i ql0 = a2_ld256(bw + KB_Q6_K_QL + 64 * h), ql1 = a2_ld256(bw + KB_Q6_K_QL + 64 * h + 32);
            __m256i qh = a2_ld256(bw + KB_Q6_K_QH + 32 * h);
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
            q[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                   _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
            for (int j = 0; j < 4; j++) {
                int g = 4 * h + j; /* elements 32g .. 32g+31 use sc[2g] (first 16), sc[2g+1] */
                __m256i s = _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(sc16, _mm256_set1_epi32(g)), pick);
                __m256i p = _mm256_maddubs_epi16(q[j], a2_ld256(qx + 32 * g));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, s));
            }
        }
        __m256i offs = _mm256_madd_epi16(a2_ld256(bx + KB_Q8_K_BSUMS), sc16);
        sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(offs, 5));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(kb_ld_f32(bx + KB_Q8_K_D) * a2_f16(bw + KB_Q6_K_D)),
                              _mm256_cvtepi32_ps(sumi), acc);
    }
    return a2_hsum(acc);
}

/* ------------------------------------------------ activation quantizers */

/* roundf(v) for every lane: truncate, then step away from zero when the
 * dropped fraction is >= 0.5 (v - trunc(v) is exact). */
static inline __m256 a2_round_away(__m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 f = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
    __m256 step = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
    return _mm256_add_ps(t, _mm256_and_ps(_mm256_cmp_ps(f, _mm256_set1_ps(0.5f), _CMP_GE_OQ), step));
}

static inline float a2_hmax(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* max |x| over 32 floats */
static inline float a2_amax32(const float *x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 a = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x)), _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8)));
    __m256 b = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + 16)),
                             _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 24)));
    return a2_hmax(_mm256_max_ps(a, b));
}

/* Quantizes 32 floats with multiplier id into 32 int8 (in order); returns the
 * eight i32 lanes whose total is sum(q). */
static inline __m256i a2_q32(const float *x, float id, int8_t *q) {
    const __m256 mul = _mm256_set1_ps(id);
    __m256i i0 = _mm256_cvtps_epi32(a2_round_away(_mm256_mul_ps(_mm256_loadu_ps(x), mul)));
    __m256i i1 = _mm256_cvtps_epi32(a2_round_away(_mm256_mul_ps(_mm256_loadu_ps(x + 8), mul)));
    __m256i i2 = _mm256_cvtps_epi32(a2_round_away(_mm256_mul_ps(_mm256_loadu_ps(x + 16), mul)));
    __m256i i3 = _mm256_cvtps_epi32(a2_round_away(_mm256_mul_ps(_mm256_loadu_ps(x + 24), mul)));
    __m256i sum = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
    /* packs work per 128-bit half: the bytes come out in 32-bit groups
     * ordered 0 4 1 5 2 6 3 7; one dword permute restores element order */
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)q, p);
    return sum;
}

static inline int a2_hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

static void a2_quantize_q8_0(const float *x, void *xq, int64_t n) {
    uint8_t *b = xq;
    for (int64_t i = 0; i < n / KB_QK; i++, b += KB_Q8_0_SIZE, x += KB_QK) {
        float d = a2_amax32(x) / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        kb_st_f16(b + KB_Q8_0_D, d);
        a2_q32(x, id, (int8_t *)(b + KB_Q8_0_QS));
    }
}

static void a2_quantize_q8_1(const float *x, void *xq, int64_t n) {
    uint8_t *b = xq;
    for (int64_t i = 0; i < n / KB_QK; i++, b += KB_Q8_1_SIZE, x += KB_QK) {
        float d = a2_amax32(x) / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        int sum = a2_hsum_i32(a2_q32(x, id, (int8_t *)(b + KB_Q8_1_QS)));
        kb_st_f16(b + KB_Q8_1_D, d);
        kb_st_f16(b + KB_Q8_1_S, (float)sum * d);
    }
}

static void a2_quantize_q8_k(const float *x, void *xq, int64_t n) {
    uint8_t *b = xq;
    for (int64_t i = 0; i < n / KB_QKK; i++, b += KB_Q8_K_SIZE, x += KB_QKK) {
        float amax = 0.0f;
        for (int j = 0; j < KB_QKK; j += 32) amax = fmaxf(amax, a2_amax32(x + j));
        int8_t *qs = (int8_t *)(b + KB_Q8_K_QS);
        float d = 0.0f;
        if (amax != 0.0f) {
            float iscale = 127.0f / amax;
            d = 1.0f / iscale;
            for (int j = 0; j < KB_QKK; j += 32) a2_q32(x + j, iscale, qs + j);
        } else {
            memset(qs, 0, KB_QKK);
        }
        memcpy(b + KB_Q8_K_D, &d, 4);
        /* bsums: (q + 128) as bytes, summed by psadbw against 0, minus 16*128 */
        const __m128i bias = _mm_set1_epi8((char)0x80);
        for (int g = 0; g < 16; g++) {
            __m128i s = _mm_sad_epu8(_mm_xor_si128(a2_ld128(qs + 16 * g), bias), _mm_setzero_si128());
            int16_t v = (int16_t)(_mm_cvtsi128_si32(s) + _mm_extract_epi16(s, 4) - 16 * 128);
            memcpy(b + KB_Q8_K_BSUMS + 2 * g, &v, 2);
        }
    }
}

/* The reference's formula with kern_exp256 (see kern_avx512.c's a5_swiglu);
 * the tail of fewer than 8 through a masked load and store. */
static void a2_swiglu(float *g, const float *u, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 8) {
        const int k = n - i >= 8 ? 8 : (int)(n - i);
        const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        const __m256 x = _mm256_maskload_ps(g + i, m);
        const __m256 e = kern_exp256(_mm256_sub_ps(_mm256_setzero_ps(), x));
        const __m256 y = _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(one, e)), _mm256_maskload_ps(u + i, m));
        _mm256_maskstore_ps(g + i, m, y);
    }
}

/* The read-bandwidth probe's loop (kern_membw.h): four 32-byte loads per
 * step into four sums, the rest word by word. */
uint64_t kern_membw_sum_avx2(const uint64_t *p, size_t n) {
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_add_epi64(s0, a2_ld256(p + i));
        s1 = _mm256_add_epi64(s1, a2_ld256(p + i + 4));
        s2 = _mm256_add_epi64(s2, a2_ld256(p + i + 8));
        s3 = _mm256_add_epi64(s3, a2_ld256(p + i + 12));
    }
    uint64_t w[4], s = 0;
    _mm256_storeu_si256((__m256i *)w, _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3)));
    for (int k = 0; k < 4; k++) s += w[k];
    for (; i < n; i++) s += p[i];
    return s;
}

const struct kern_ops kern_ops_avx2 = {
    .name = "avx2",
    .swiglu = a2_swiglu,
    .vec_dot =
        {
            [DT_F32] = a2_vec_dot_f32,
            [DT_F16] = a2_vec_dot_f16,
            [DT_BF16] = a2_vec_dot_bf16,
            [DT_Q4_0] = a2_vec_dot_q4_0,
            [DT_Q4_1] = a2_vec_dot_q4_1,
            [DT_Q8_0] = a2_vec_dot_q8_0,
            [DT_Q4_K] = a2_vec_dot_q4_k,
            [DT_Q5_K] = a2_vec_dot_q5_k,
            [DT_Q6_K] = a2_vec_dot_q6_k,
        },
    .quantize =
        {
            [DT_Q8_0] = a2_quantize_q8_0,
            [DT_Q8_1] = a2_quantize_q8_1,
            [DT_Q8_K] = a2_quantize_q8_k,
        },
};
