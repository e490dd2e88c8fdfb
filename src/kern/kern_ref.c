/*
 * kern_ref.c - the plain-C reference kernels: the executable spec every SIMD
 * variant is tested against (see kern.h).
 *
 * - to_float: exact dequantization of spec/MODEL.md 11 (each product there is
 *   exact in f32, so the result is bit-identical to ggml's dequantize_row_*).
 * - quantize (activations): Q8_0 and Q8_1 use ggml's rule, d = amax/127 kept
 *   in f32 for the division, q = roundf(x / d) (ties away from zero), d stored
 *   as f16; Q8_1 adds s = f16(d * sum(q)).  Q8_K: iscale = 127/amax,
 *   q = roundf(x * iscale), d = 1/iscale kept in f32, bsums = sums of 16 q.
 *   (ggml's Q8_K divides by the signed value of largest magnitude, which
 *   flips every sign when that value is negative; d * q is the same.)
 * - vec_dot: integer dot per block (per sub-block for K-quants) scaled by the
 *   block factors, accumulated in f32 block after block, as llama.cpp does;
 *   F32/F16/BF16 weights are dotted against the f32 activation in double and
 *   rounded once.
 * - kern_quantize_row_ref: ggml's round-to-nearest reference quantizers for
 *   Q8_0, Q4_0, Q4_1; simple min/max quantizers for Q4_K, Q5_K, Q6_K (not
 *   ggml's search, but every field is exercised); F16/BF16 round to nearest even.
 */
#include <float.h>
#include <math.h>

#include "err.h"
#include "kern.h"
#include "kern_impl.h"

/* ---------------------------------------------------------------- to_float */

static void ref_to_float_f32(const void *w, float *y, int64_t n) {
    memcpy(y, w, (size_t)n * sizeof(float));
}

static void ref_to_float_f16(const void *w, float *y, int64_t n) {
    const uint8_t *p = w;
    for (int64_t i = 0; i < n; i++) y[i] = kb_ld_f16(p + 2 * i);
}

static void ref_to_float_bf16(const void *w, float *y, int64_t n) {
    const uint8_t *p = w;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        y[i] = bf16_to_f32(h);
    }
}

static void ref_to_float_q4_0(const void *w, float *y, int64_t n) {
    const uint8_t *b = w;
    for (int64_t i = 0; i < n / KB_QK; i++, b += KB_Q4_0_SIZE, y += KB_QK) {
        float d = kb_ld_f16(b + KB_Q4_0_D);
        const uint8_t *qs = b + KB_Q4_0_QS;
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((qs[j] & 0x0f) - 8) * d;
            y[j + 16] = (float)((qs[j] >> 4) - 8) * d;
        }
    }
}

static void ref_to_float_q4_1(const void *w, float *y, int64_t n) {
    const uint8_t *b = w;
    for (int64_t i = 0; i < n / KB_QK; i++, b += KB_Q4_1_SIZE, y += KB_QK) {
        float d = kb_ld_f16(b + KB_Q4_1_D), m = kb_ld_f16(b + KB_Q4_1_M);
        const uint8_t *qs = b + KB_Q4_1_QS;
        for (int j = 0; j < 16; j++) {
            y[j] = (float)(qs[j] & 0x0f) * d + m;
            y[j + 16] = (float)(qs[j] >> 4) * d + m;
        }
    }
}

static void ref_to_float_q8_0(const void *w, float *y, int64_t n) {
    const uint8_t *b = w;
    for (int64_t i = 0; i < n / KB_QK; i++, b += KB_Q8_0_SIZE, y += KB_QK) {
        float d = kb_ld_f16(b + KB_Q8_0_D);
        const int8_t *qs = (const int8_t *)(b + KB_Q8_0_QS);
        for (int j = 0; j < KB_QK; j++) y[j] = (float)qs[j] * d;
    }
}

static void ref_to_float_q4_k(const void *w, float *y, int64_t n) {
    const uint8_t *b = w;
    for (int64_t i = 0; i < n / KB_QKK; i++, b += KB_Q4_K_SIZE, y += KB_QKK) {
        float d = kb_ld_f16(b + KB_Q4_K_D), dmin = kb_ld_f16(b + KB_Q4_K_DMIN);
        uint8_t sc[8], m[8];
        kb_k4_scales(b + KB_Q4_K_SC, sc, m);
        const uint8_t *qs = b + KB_Q4_K_QS;
        for (int c = 0; c < 4; c++) {
            float d0 = d * (float)sc[2 * c], m0 = dmin * (float)m[2 * c];
            float d1 = d * (float)sc[2 * c + 1], m1 = dmin * (float)m[2 * c + 1];
            for (int l = 0; l < 32; l++) {
                y[64 * c + l] = d0 * (float)(qs[32 * c + l] & 0x0f) - m0;
                y[64 * c + 32 + l] = d1 * (float)(qs[32 * c + l] >> 4) - m1;
            }
        }
    }
}

static void ref_to_float_q5_k(const void *w, float *y, int64_t n) {
    const uint8_t *b = w;
    for (int64_t i = 0; i < n / KB_QKK; i++, b += KB_Q5_K_SIZE, y += KB_QKK) {
        float d = kb_ld_f16(b + KB_Q5_K_D), dmin = kb_ld_f16(b + KB_Q5_K_DMIN);
        uint8_t sc[8], m[8];
        kb_k4_scales(b + KB_Q5_K_SC, sc, m);
        const uint8_t *qh = b + KB_Q5_K_QH, *qs = b + KB_Q5_K_QS;
        for (int c = 0; c < 4; c++) {
            float d0 = d * (float)sc[2 * c], m0 = dmin * (float)m[2 * c];
            float d1 = d * (float)sc[2 * c + 1], m1 = dmin * (float)m[2 * c + 1];
            for (int l = 0; l < 32; l++) {
                int q0 = (qs[32 * c + l] & 0x0f) + ((qh[l] >> (2 * c)) & 1) * 16;
                int q1 = (qs[32 * c + l] >> 4) + ((qh[l] >> (2 * c + 1)) & 1) * 16;
                y[64 * c + l] = d0 * (float)q0 - m0;
                y[64 * c + 32 + l] = d1 * (float)q1 - m1;
            }
        }
    }
}

/* The 256 six-bit values (0..63) of a Q6_K super-block in element order. */
static void ref_q6_k_unpack(const uint8_t *b, uint8_t q[KB_QKK]) {
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = b + KB_Q6_K_QL + 64 * h, *qh = b + KB_Q6_K_QH + 32 * h;
        uint8_t *o = q + 128 * h;
        for (int l = 0; l < 32; l++) {
            o[l] = (uint8_t)((ql[l] & 0x0f) | ((qh[l] & 3) << 4));
            o[l + 32] = (uint8_t)((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4));
            o[l + 64] = (uint8_t)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
            o[l + 96] = (uint8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
        }
    }
}

static void ref_to_float_q6_k(const void *w, float *y, int64_t n) {
    const uint8_t *b = w;
    for (int64_t i = 0; i < n / KB_QKK; i++, b += KB_Q6_K_SIZE, y += KB_QKK) {
        float d = kb_ld_f16(b + KB_Q6_K_D);
        const int8_t *sc = (const int8_t *)(b + KB_Q6_K_SC);
        uint8_t q[KB_QKK];
        ref_q6_k_unpack(b, q);
        /* element e uses scale e / 16 (spec 11.2: 8h + t + 2i for l = 16t + ..) */
        for (int e = 0; e < KB_QKK; e++) y[e] = d * (float)sc[e / 16] * (float)(q[e] - 32);
    }
}

/* ------------------------------------------------ activation quantizers */

static void ref_quantize_q8_0(const float *x, void *xq, int64_t n) {
    uint8_t *b = xq;
    for (int64_t i = 0; i < n / KB_QK; i++, b += KB_Q8_0_SIZE, x += KB_QK) {
        float amax = 0.0f;
        for (int j = 0; j < KB_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        kb_st_f16(b + KB_Q8_0_D, d);
        int8_t *qs = (int8_t *)(b + KB_Q8_0_QS);
        for (int j = 0; j < KB_QK; j++) qs[j] = (int8_t)roundf(x[j] * id);
    }
}

static void ref_quantize_q8_1(const float *x, void *xq, int64_t n) {
    uint8_t *b = xq;
    for (int64_t i = 0; i < n / KB_QK; i++, b += KB_Q8_1_SIZE, x += KB_QK) {
        float amax = 0.0f;
        for (int j = 0; j < KB_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        int8_t *qs = (int8_t *)(b + KB_Q8_1_QS);
        int sum = 0;
        for (int j = 0; j < KB_QK; j++) {
            qs[j] = (int8_t)roundf(x[j] * id);
            sum += qs[j];
        }
        kb_st_f16(b + KB_Q8_1_D, d);
        kb_st_f16(b + KB_Q8_1_S, (float)sum * d);
    }
}

static void ref_quantize_q8_k(const float *x, void *xq, int64_t n) {
    uint8_t *b = xq;
    for (int64_t i = 0; i < n / KB_QKK; i++, b += KB_Q8_K_SIZE, x += KB_QKK) {
        float amax = 0.0f;
        for (int j = 0; j < KB_QKK; j++) amax = fmaxf(amax, fabsf(x[j]));
        int8_t *qs = (int8_t *)(b + KB_Q8_K_QS);
        float d = 0.0f;
        if (amax != 0.0f) {
            float iscale = 127.0f / amax;
            d = 1.0f / iscale;
            for (int j = 0; j < KB_QKK; j++) qs[j] = (int8_t)roundf(x[j] * iscale);
        } else {
            memset(qs, 0, KB_QKK);
        }
        memcpy(b + KB_Q8_K_D, &d, 4);
        for (int g = 0; g < 16; g++) {
            int16_t s = 0;
            for (int j = 0; j < 16; j++) s = (int16_t)(s + qs[16 * g + j]);
            memcpy(b + KB_Q8_K_BSUMS + 2 * g, &s, 2);
        }
    }
}

/* ---------------------------------------------------------------- vec_dot */

static float ref_vec_dot_f32(int64_t n, const void *w, const void *xq) {
    const float *x = xq;
    const uint8_t *p = w;
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)kb_ld_f32(p + 4 * i) * (double)x[i];
    return (float)s;
}

static float ref_vec_dot_f16(int64_t n, const void *w, const void *xq) {
    const float *x = xq;
    const uint8_t *p = w;
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)kb_ld_f16(p + 2 * i) * (double)x[i];
    return (float)s;
}

static float ref_vec_dot_bf16(int64_t n, const void *w, const void *xq) {
    const float *x = xq;
    const uint8_t *p = w;
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        s += (double)bf16_to_f32(h) * (double)x[i];
    }
    return (float)s;
}

static float ref_vec_dot_q8_0(int64_t n, const void *w, const void *xq) {
    const uint8_t *bw = w, *bx = xq;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / KB_QK; i++, bw += KB_Q8_0_SIZE, bx += KB_Q8_0_SIZE) {
        const int8_t *qw = (const int8_t *)(bw + KB_Q8_0_QS), *qx = (const int8_t *)(bx + KB_Q8_0_QS);
        int s = 0;
        for (int j = 0; j < KB_QK; j++) s += qw[j] * qx[j];
        sum += (float)s * (kb_ld_f16(bw + KB_Q8_0_D) * kb_ld_f16(bx + KB_Q8_0_D));
    }
    return sum;
}

static float ref_vec_dot_q4_0(int64_t n, const void *w, const void *xq) {
    const uint8_t *bw = w, *bx = xq;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / KB_QK; i++, bw += KB_Q4_0_SIZE, bx += KB_Q8_0_SIZE) {
        const uint8_t *qw = bw + KB_Q4_0_QS;
        const int8_t *qx = (const int8_t *)(bx + KB_Q8_0_QS);
        int s = 0;
        for (int j = 0; j < 16; j++) s += ((qw[j] & 0x0f) - 8) * qx[j] + ((qw[j] >> 4) - 8) * qx[j + 16];
        sum += (float)s * (kb_ld_f16(bw + KB_Q4_0_D) * kb_ld_f16(bx + KB_Q8_0_D));
    }
    return sum;
}

static float ref_vec_dot_q4_1(int64_t n, const void *w, const void *xq) {
    const uint8_t *bw = w, *bx = xq;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / KB_QK; i++, bw += KB_Q4_1_SIZE, bx += KB_Q8_1_SIZE) {
        const uint8_t *qw = bw + KB_Q4_1_QS;
        const int8_t *qx = (const int8_t *)(bx + KB_Q8_1_QS);
        int s = 0;
        for (int j = 0; j < 16; j++) s += (qw[j] & 0x0f) * qx[j] + (qw[j] >> 4) * qx[j + 16];
        /* x_j = dx*qx_j, w_j = dw*qw_j + m: sum = dw*dx*sum(qw*qx) + m*(dx*sum(qx)) */
        sum += (kb_ld_f16(bw + KB_Q4_1_D) * kb_ld_f16(bx + KB_Q8_1_D)) * (float)s +
               kb_ld_f16(bw + KB_Q4_1_M) * kb_ld_f16(bx + KB_Q8_1_S);
    }
    return sum;
}

/* sum over sub-blocks k of m[k] * (sum of the 32 activation quants of k),
 * from the Q8_K bsums (two runs of 16 per sub-block). */
static int ref_k4_minsum(const uint8_t *bx, const uint8_t m[8]) {
    int s = 0;
    for (int k = 0; k < 8; k++) {
        int16_t b0, b1;
        memcpy(&b0, bx + KB_Q8_K_BSUMS + 4 * k, 2);
        memcpy(&b1, bx + KB_Q8_K_BSUMS + 4 * k + 2, 2);
        s += m[k] * (b0 + b1);
    }
    return s;
}

static float ref_vec_dot_q4_k(int64_t n, const void *w, const void *xq) {
    const uint8_t *bw = w, *bx = xq;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / KB_QKK; i++, bw += KB_Q4_K_SIZE, bx += KB_Q8_K_SIZE) {
        float dx = kb_ld_f32(bx + KB_Q8_K_D);
        uint8_t sc[8], m[8];
        kb_k4_scales(bw + KB_Q4_K_SC, sc, m);
        const uint8_t *qs = bw + KB_Q4_K_QS;
        const int8_t *qx = (const int8_t *)(bx + KB_Q8_K_QS);
        int sumi = 0;
        for (int c = 0; c < 4; c++) {
            int s0 = 0, s1 = 0;
            for (int l = 0; l < 32; l++) {
                s0 += (qs[32 * c + l] & 0x0f) * qx[64 * c + l];
                s1 += (qs[32 * c + l] >> 4) * qx[64 * c + 32 + l];
            }
            sumi += sc[2 * c] * s0 + sc[2 * c + 1] * s1;
        }
        float d = dx * kb_ld_f16(bw + KB_Q4_K_D), dmin = dx * kb_ld_f16(bw + KB_Q4_K_DMIN);
        sum += d * (float)sumi - dmin * (float)ref_k4_minsum(bx, m);
    }
    return sum;
}

static float ref_vec_dot_q5_k(int64_t n, const void *w, const void *xq) {
    const uint8_t *bw = w, *bx = xq;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / KB_QKK; i++, bw += KB_Q5_K_SIZE, bx += KB_Q8_K_SIZE) {
        float dx = kb_ld_f32(bx + KB_Q8_K_D);
        uint8_t sc[8], m[8];
        kb_k4_scales(bw + KB_Q5_K_SC, sc, m);
        const uint8_t *qh = bw + KB_Q5_K_QH, *qs = bw + KB_Q5_K_QS;
        const int8_t *qx = (const int8_t *)(bx + KB_Q8_K_QS);
        int sumi = 0;
        for (int c = 0; c < 4; c++) {
            int s0 = 0, s1 = 0;
            for (int l = 0; l < 32; l++) {
                int q0 = (qs[32 * c + l] & 0x0f) + ((qh[l] >> (2 * c)) & 1) * 16;
                int q1 = (qs[32 * c + l] >> 4) + ((qh[l] >> (2 * c + 1)) & 1) * 16;
                s0 += q0 * qx[64 * c + l];
                s1 += q1 * qx[64 * c + 32 + l];
            }
            sumi += sc[2 * c] * s0 + sc[2 * c + 1] * s1;
        }
        float d = dx * kb_ld_f16(bw + KB_Q5_K_D), dmin = dx * kb_ld_f16(bw + KB_Q5_K_DMIN);
        sum += d * (float)sumi - dmin * (float)ref_k4_minsum(bx, m);
    }
    return sum;
}

static float ref_vec_dot_q6_k(int64_t n, const void *w, const void *xq) {
    const uint8_t *bw = w, *bx = xq;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / KB_QKK; i++, bw += KB_Q6_K_SIZE, bx += KB_Q8_K_SIZE) {
        uint8_t q[KB_QKK];
        ref_q6_k_unpack(bw, q);
        const int8_t *sc = (const int8_t *)(bw + KB_Q6_K_SC);
        const int8_t *qx = (const int8_t *)(bx + KB_Q8_K_QS);
        int sumi = 0;
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int j = 16 * g; j < 16 * g + 16; j++) s += (q[j] - 32) * qx[j];
            sumi += sc[g] * s;
        }
        sum += (kb_ld_f32(bx + KB_Q8_K_D) * kb_ld_f16(bw + KB_Q6_K_D)) * (float)sumi;
    }
    return sum;
}

static void ref_swiglu(float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

const struct kern_ops kern_ops_ref = {
    .name = "ref",
    .swiglu = ref_swiglu,
    .vec_dot =
        {
            [DT_F32] = ref_vec_dot_f32,
            [DT_F16] = ref_vec_dot_f16,
            [DT_BF16] = ref_vec_dot_bf16,
            [DT_Q4_0] = ref_vec_dot_q4_0,
            [DT_Q4_1] = ref_vec_dot_q4_1,
            [DT_Q8_0] = ref_vec_dot_q8_0,
            [DT_Q4_K] = ref_vec_dot_q4_k,
            [DT_Q5_K] = ref_vec_dot_q5_k,
            [DT_Q6_K] = ref_vec_dot_q6_k,
        },
    .quantize =
        {
            [DT_Q8_0] = ref_quantize_q8_0,
            [DT_Q8_1] = ref_quantize_q8_1,
            [DT_Q8_K] = ref_quantize_q8_k,
        },
    .to_float =
        {
            [DT_F32] = ref_to_float_f32,
            [DT_F16] = ref_to_float_f16,
            [DT_BF16] = ref_to_float_bf16,
            [DT_Q4_0] = ref_to_float_q4_0,
            [DT_Q4_1] = ref_to_float_q4_1,
            [DT_Q8_0] = ref_to_float_q8_0,
            [DT_Q4_K] = ref_to_float_q4_k,
            [DT_Q5_K] = ref_to_float_q5_k,
            [DT_Q6_K] = ref_to_float_q6_k,
        },
};

/* ------------------------------------------------------ weight quantizers */

/* ggml's quantize_row_q4_0_ref rule: d = (signed value of largest magnitude,
 * first one on ties) / -8, q = min(15, trunc(x/d + 8.5)). */
static void ref_quant_q4_0(const float *x, uint8_t *b, int64_t n) {
    for (int64_t i = 0; i < n / KB_QK; i++, b += KB_Q4_0_SIZE, x += KB_QK) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < KB_QK; j++) {
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        float d = max / -8.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        kb_st_f16(b + KB_Q4_0_D, d);
        for (int j = 0; j < 16; j++) {
            int q0 = (int)(int8_t)(x[j] * id + 8.5f), q1 = (int)(int8_t)(x[j + 16] * id + 8.5f);
            q0 = q0 < 15 ? q0 : 15;
            q1 = q1 < 15 ? q1 : 15;
            b[KB_Q4_0_QS + j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

/* ggml's quantize_row_q4_1_ref rule: d = (max - min)/15, m = min,
 * q = min(15, trunc((x - min)/d + 0.5)). */
static void ref_quant_q4_1(const float *x, uint8_t *b, int64_t n) {
    for (int64_t i = 0; i < n / KB_QK; i++, b += KB_Q4_1_SIZE, x += KB_QK) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < KB_QK; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        float d = (max - min) / 15.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        kb_st_f16(b + KB_Q4_1_D, d);
        kb_st_f16(b + KB_Q4_1_M, min);
        for (int j = 0; j < 16; j++) {
            int q0 = (int)(int8_t)((x[j] - min) * id + 0.5f);
            int q1 = (int)(int8_t)((x[j + 16] - min) * id + 0.5f);
            q0 = q0 < 15 ? q0 : 15;
            q1 = q1 < 15 ? q1 : 15;
            b[KB_Q4_1_QS + j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

static int ref_clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Q4_K (nbits 4) and Q5_K (nbits 5): each sub-block of 32 gets the affine
 * range [min(0, min x), max x] split into 2^nbits - 1 steps; the eight step
 * sizes and the eight -mins are quantized to 6 bits against d = max/63 and
 * dmin = max/63; the values are then rounded against the stored (f16) scales. */
static void ref_quant_kx(const float *x, uint8_t *b, int nbits) {
    const int qmax = (1 << nbits) - 1;
    float scale[8], mins[8], max_scale = 0.0f, max_min = 0.0f;
    for (int k = 0; k < 8; k++) {
        float mn = 0.0f, mx = -FLT_MAX;
        for (int l = 0; l < 32; l++) {
            mn = fminf(mn, x[32 * k + l]);
            mx = fmaxf(mx, x[32 * k + l]);
        }
        scale[k] = (mx - mn) / (float)qmax;
        mins[k] = -mn;
        max_scale = fmaxf(max_scale, scale[k]);
        max_min = fmaxf(max_min, mins[k]);
    }
    uint16_t hd = f32_to_fp16(max_scale / 63.0f), hm = f32_to_fp16(max_min / 63.0f);
    float d = fp16_to_f32(hd), dmin = fp16_to_f32(hm);
    memcpy(b + 0, &hd, 2); /* d @0 and dmin @2 in both Q4_K and Q5_K */
    memcpy(b + 2, &hm, 2);
    uint8_t sc[8], m[8], q[KB_QKK];
    for (int k = 0; k < 8; k++) {
        sc[k] = (uint8_t)(d > 0.0f ? ref_clampi((int)roundf(scale[k] / d), 0, 63) : 0);
        m[k] = (uint8_t)(dmin > 0.0f ? ref_clampi((int)roundf(mins[k] / dmin), 0, 63) : 0);
        float ds = d * (float)sc[k], dm = dmin * (float)m[k];
        for (int l = 0; l < 32; l++) {
            int v = ds > 0.0f ? (int)roundf((x[32 * k + l] + dm) / ds) : 0;
            q[32 * k + l] = (uint8_t)ref_clampi(v, 0, qmax);
        }
    }
    /* inverse of kb_k4_scales */
    uint8_t *s = b + 4;
    for (int k = 0; k < 4; k++) {
        s[k] = (uint8_t)((sc[k] & 63) | ((sc[k + 4] >> 4) << 6));
        s[k + 4] = (uint8_t)((m[k] & 63) | ((m[k + 4] >> 4) << 6));
        s[k + 8] = (uint8_t)((sc[k + 4] & 0x0f) | ((m[k + 4] & 0x0f) << 4));
    }
    uint8_t *qs = b + (nbits == 4 ? KB_Q4_K_QS : KB_Q5_K_QS);
    if (nbits == 5) memset(b + KB_Q5_K_QH, 0, 32);
    for (int c = 0; c < 4; c++) {
        for (int l = 0; l < 32; l++) {
            int q0 = q[64 * c + l], q1 = q[64 * c + 32 + l];
            qs[32 * c + l] = (uint8_t)((q0 & 0x0f) | ((q1 & 0x0f) << 4));
            if (nbits == 5)
                b[KB_Q5_K_QH + l] |= (uint8_t)(((q0 >> 4) << (2 * c)) | ((q1 >> 4) << (2 * c + 1)));
        }
    }
}

/* Q6_K: each run of 16 gets scale amax/31 (values -31..31 of the -32..31
 * range); the 16 scales are quantized to int8 against d = max scale / 127. */
static void ref_quant_q6_k(const float *x, uint8_t *b) {
    float scale[16], max_scale = 0.0f;
    for (int g = 0; g < 16; g++) {
        float amax = 0.0f;
        for (int j = 0; j < 16; j++) amax = fmaxf(amax, fabsf(x[16 * g + j]));
        scale[g] = amax / 31.0f;
        max_scale = fmaxf(max_scale, scale[g]);
    }
    uint16_t hd = f32_to_fp16(max_scale / 127.0f);
    float d = fp16_to_f32(hd);
    memcpy(b + KB_Q6_K_D, &hd, 2);
    uint8_t q[KB_QKK];
    for (int g = 0; g < 16; g++) {
        int s = d > 0.0f ? ref_clampi((int)roundf(scale[g] / d), 0, 127) : 0;
        b[KB_Q6_K_SC + g] = (uint8_t)s;
        float ds = d * (float)s;
        for (int j = 0; j < 16; j++) {
            int v = ds > 0.0f ? (int)roundf(x[16 * g + j] / ds) : 0;
            q[16 * g + j] = (uint8_t)(ref_clampi(v, -32, 31) + 32);
        }
    }
    for (int h = 0; h < 2; h++) {
        uint8_t *ql = b + KB_Q6_K_QL + 64 * h, *qh = b + KB_Q6_K_QH + 32 * h;
        const uint8_t *o = q + 128 * h;
        for (int l = 0; l < 32; l++) {
            ql[l] = (uint8_t)((o[l] & 0x0f) | ((o[l + 64] & 0x0f) << 4));
            ql[l + 32] = (uint8_t)((o[l + 32] & 0x0f) | ((o[l + 96] & 0x0f) << 4));
            qh[l] = (uint8_t)((o[l] >> 4) | ((o[l + 32] >> 4) << 2) | ((o[l + 64] >> 4) << 4) |
                              ((o[l + 96] >> 4) << 6));
        }
    }
}

int kern_quantize_row_ref(int type, const float *x, void *y, int64_t n) {
    uint8_t *b = y;
    switch (type) {
    case DT_F32: memcpy(y, x, (size_t)n * sizeof(float)); break;
    case DT_F16:
        for (int64_t i = 0; i < n; i++) kb_st_f16(b + 2 * i, x[i]);
        break;
    case DT_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = f32_to_bf16(x[i]);
            memcpy(b + 2 * i, &h, 2);
        }
        break;
    case DT_Q8_0: ref_quantize_q8_0(x, y, n); break;
    case DT_Q8_1: ref_quantize_q8_1(x, y, n); break;
    case DT_Q8_K: ref_quantize_q8_k(x, y, n); break;
    case DT_Q4_0: ref_quant_q4_0(x, b, n); break;
    case DT_Q4_1: ref_quant_q4_1(x, b, n); break;
    case DT_Q4_K:
        for (int64_t i = 0; i < n / KB_QKK; i++) ref_quant_kx(x + KB_QKK * i, b + KB_Q4_K_SIZE * i, 4);
        break;
    case DT_Q5_K:
        for (int64_t i = 0; i < n / KB_QKK; i++) ref_quant_kx(x + KB_QKK * i, b + KB_Q5_K_SIZE * i, 5);
        break;
    case DT_Q6_K:
        for (int64_t i = 0; i < n / KB_QKK; i++) ref_quant_q6_k(x + KB_QKK * i, b + KB_Q6_K_SIZE * i);
        break;
    default: return DC_EUNSUPPORTED;
    }
    return DC_OK;
}
