/*
 * kern_fp8.h - matrix products with FP8 e4m3 weights and block scales, the
 * format of DeepSeek-V3/R1's safetensors checkpoints (spec/MODEL.md 9.2-9.3),
 * computed from the FP8 bytes in place: no upcast copy of the weights.
 *
 * A weight W [R x C] is one e4m3fn byte per element, row-major, plus an f32
 * scale grid S [ceil(R / br)][ceil(C / bc)] (the checkpoint's
 * `weight_scale_inv`, which despite its name is multiplied):
 *
 *     W_real[i][j] = e4m3(W[i][j]) * S[i / br][j / bc]
 *
 * kern_fp8_matmul computes Y = X W_real^T with f32 activations: for each
 * output row and each column block, sum_j e4m3(w_j) * x_j over the block,
 * times the block's scale, summed over blocks.  The activations are not
 * quantized, so the result equals the f32 matmul with the dequantized weights
 * up to summation order (the reference dequantizes the same way).
 *
 * e4m3fn (torch float8_e4m3fn): sign, 4 exponent bits (bias 7), 3 mantissa
 * bits; exponent 0 is subnormal (m/8 * 2^-6); 0x7f/0xff are NaN; no infinity;
 * largest finite 448.
 *
 * Variants: kern_fp8_rows_ref (plain C, double accumulation, the spec),
 * kern_fp8_rows_avx2 and kern_fp8_rows_avx512 (kern_fp8_avx2.c,
 * kern_fp8_avx512.c, each compiled with its own -m flags).  The variant is the
 * ISA level of the main kernel table (kern_active()->name), so
 * DEEPC_KERNELS=ref|avx2|avx512 forces it here too.
 */
#ifndef DC_KERN_FP8_H
#define DC_KERN_FP8_H

#include <stdint.h>
#include <string.h>

/* A borrowed view of rows [row0, row0 + rows) of an FP8 tensor. */
struct kern_fp8_mat {
    const uint8_t *data;  /* the view's row r is data + r * cols (e4m3 bytes) */
    const float *scale;   /* scale grid of the whole tensor, scale_ld floats per block row */
    int64_t rows, cols;   /* view shape; cols = tensor row length */
    int64_t row0;         /* first row of the view in the tensor: scale row of r is (row0 + r) / blk_r */
    int64_t scale_ld;     /* ceil(cols / blk_c) */
    int32_t blk_r, blk_c; /* scale block shape (128 x 128 in DeepSeek-V3) */
};

/* Exact value of one e4m3fn byte. */
static inline float kern_fp8_decode(uint8_t v) {
    const uint32_t e = (v >> 3) & 0xf, m = v & 7;
    float f;
    if (e == 0) {
        f = (float)m * 0x1p-9f; /* subnormal: m/8 * 2^-6 */
    } else if (e == 15 && m == 7) {
        f = __builtin_nanf("");
    } else {
        uint32_t bits = ((e + 120u) << 23) | (m << 20); /* 2^(e-7) * (1 + m/8) */
        memcpy(&f, &bits, 4);
    }
    return (v & 0x80) ? -f : f;
}

/* Rows [r0, r1) of the product for n activation rows, on the calling thread:
 * y[t * ldy + r] = sum_c W_real[r][c] * x[t * ldx + c]. */
typedef void (*kern_fp8_rows_fn)(const struct kern_fp8_mat *w, const float *x, int64_t ldx, int64_t n,
                                 float *y, int64_t ldy, int64_t r0, int64_t r1);

void kern_fp8_rows_ref(const struct kern_fp8_mat *w, const float *x, int64_t ldx, int64_t n, float *y,
                       int64_t ldy, int64_t r0, int64_t r1);
/* Only when kern_cpu_has(KERN_ISA_AVX2) / kern_cpu_has(KERN_ISA_AVX512). */
void kern_fp8_rows_avx2(const struct kern_fp8_mat *w, const float *x, int64_t ldx, int64_t n, float *y,
                        int64_t ldy, int64_t r0, int64_t r1);
void kern_fp8_rows_avx512(const struct kern_fp8_mat *w, const float *x, int64_t ldx, int64_t n, float *y,
                          int64_t ldy, int64_t r0, int64_t r1);

/* The variant matching the active kernel table ("ref", "avx2", "avx512"). */
kern_fp8_rows_fn kern_fp8_rows_active(void);
const char *kern_fp8_active_name(void);

/* Y = X W_real^T over all rows with the active variant.  Called outside a
 * parallel region it opens one (rows split across the team); called by every
 * thread of a team it splits rows by thread id and ends with a barrier, like
 * kern_matmul.  Allocates nothing. */
void kern_fp8_matmul(const struct kern_fp8_mat *w, const float *x, int64_t ldx, int64_t n, float *y,
                     int64_t ldy);

/* Dequantizes row r of the view into y[0..cols). */
void kern_fp8_get_row(const struct kern_fp8_mat *w, int64_t r, float *y);

/* Bytes of the view's weights and scales (for bytes-read accounting). */
uint64_t kern_fp8_bytes(const struct kern_fp8_mat *w);

#endif
