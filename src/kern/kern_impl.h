/*
 * kern_impl.h - internals shared by the kernel files (kern.c, kern_ref.c,
 * kern_avx2.c, kern_avx512.c): GGUF block layouts, small helpers and the
 * multi-token dot table.  Nothing outside src/kern includes it.
 *
 * Blocks are addressed as bytes at the fixed offsets of spec/MODEL.md 11 and
 * their f16/f32/i16 fields are read with memcpy: weight rows live in a file
 * mapping whose only alignment promise is the byte (safetensors F16/BF16), and
 * an 18-byte Q4_0 block cannot be described by an aligned struct anyway.
 *
 * Activation formats (built by the kern quantizers, never read from files):
 *   Q8_0 (34 B): d f16 @0, qs int8[32] @2.
 *   Q8_1 (36 B): d f16 @0, s f16 @2 (= d * sum(qs), d the f32 before rounding),
 *                qs int8[32] @4.
 *   Q8_K (292 B): d f32 @0, qs int8[256] @4, bsums int16[16] @260 (sum of each
 *                run of 16 qs).
 */
#ifndef DC_KERN_IMPL_H
#define DC_KERN_IMPL_H

#include <stdint.h>
#include <string.h>

#include "dtype.h"
#include "kern.h"

#define KB_QK 32   /* elements per block of the 32-element types */
#define KB_QKK 256 /* elements per K-quant super-block */

/* Block sizes in bytes and field offsets (spec/MODEL.md 11.1, 11.2). */
enum {
    KB_Q4_0_SIZE = 18, KB_Q4_0_D = 0, KB_Q4_0_QS = 2,
    KB_Q4_1_SIZE = 20, KB_Q4_1_D = 0, KB_Q4_1_M = 2, KB_Q4_1_QS = 4,
    KB_Q8_0_SIZE = 34, KB_Q8_0_D = 0, KB_Q8_0_QS = 2,
    KB_Q8_1_SIZE = 36, KB_Q8_1_D = 0, KB_Q8_1_S = 2, KB_Q8_1_QS = 4,
    KB_Q4_K_SIZE = 144, KB_Q4_K_D = 0, KB_Q4_K_DMIN = 2, KB_Q4_K_SC = 4, KB_Q4_K_QS = 16,
    KB_Q5_K_SIZE = 176, KB_Q5_K_D = 0, KB_Q5_K_DMIN = 2, KB_Q5_K_SC = 4, KB_Q5_K_QH = 16,
    KB_Q5_K_QS = 48,
    KB_Q6_K_SIZE = 210, KB_Q6_K_QL = 0, KB_Q6_K_QH = 128, KB_Q6_K_SC = 192, KB_Q6_K_D = 208,
    KB_Q8_K_SIZE = 292, KB_Q8_K_D = 0, KB_Q8_K_QS = 4, KB_Q8_K_BSUMS = 260,
};

static inline float kb_ld_f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return fp16_to_f32(h);
}

static inline void kb_st_f16(uint8_t *p, float f) {
    uint16_t h = f32_to_fp16(f);
    memcpy(p, &h, 2);
}

static inline float kb_ld_f32(const uint8_t *p) {
    float f;
    memcpy(&f, p, 4);
    return f;
}

static inline uint32_t kb_ld_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Unpacks the 12 scale bytes of a Q4_K/Q5_K super-block into eight 6-bit
 * scales sc[k] and mins m[k] (spec 11.2).  Works on four bytes at once:
 * for k < 4, sc = q[k] & 63 and m = q[k+4] & 63; for k >= 4 the low nibbles
 * come from q[k+4] and the top two bits from bits 6..7 of q[k-4] (scales) or
 * q[k] (mins).  Masking with 0x30 after a whole-word shift keeps only bits
 * that came from the same byte. */
static inline void kb_k4_scales(const uint8_t *q, uint8_t sc[8], uint8_t m[8]) {
    uint32_t a0 = kb_ld_u32(q), a1 = kb_ld_u32(q + 4), a2 = kb_ld_u32(q + 8);
    uint32_t sc_lo = a0 & 0x3f3f3f3fu;
    uint32_t m_lo = a1 & 0x3f3f3f3fu;
    uint32_t sc_hi = (a2 & 0x0f0f0f0fu) | ((a0 >> 2) & 0x30303030u);
    uint32_t m_hi = ((a2 >> 4) & 0x0f0f0f0fu) | ((a1 >> 2) & 0x30303030u);
    memcpy(sc, &sc_lo, 4);
    memcpy(sc + 4, &sc_hi, 4);
    memcpy(m, &m_lo, 4);
    memcpy(m + 4, &m_hi, 4);
}

/* A matmul job for a variant's whole-matrix kernels: W [rows x cols] at w
 * (row stride wrb bytes), n quantized activation rows at x (stride xs), Y
 * rows at y (stride ldy floats). */
struct kern_mm_job {
    const uint8_t *w;
    size_t wrb;
    int64_t cols;
    const uint8_t *x;
    size_t xs;
    int64_t n;
    float *y;
    int64_t ldy;
    const uint8_t *pk; /* the packed form of W (kern_pack), or NULL */
    size_t ptb;        /* its bytes per 16-row tile */
    size_t pf1;        /* n = 1 over packed tiles: bytes ahead to prefetch the tile stream, 0 none
                        * (kern_set_stream_prefetch) */
};

/* Computes Y[t][r] for every token t < n and rows r0 <= r < r1 (r0 a
 * multiple of KERN_MM_ROWS), bit-identical to the variant's vec_dot of row r
 * with token t, for every n and every split of the rows.  kern_matmul uses a
 * variant's table when the vec_dot slot it runs is that variant's; NULL
 * slots fall back to vec_dot per (row, token). */
#define KERN_MM_ROWS 16
typedef void (*kern_mm_fn)(const struct kern_mm_job *job, int64_t r0, int64_t r1);
extern const kern_mm_fn kern_mm_avx512[KERN_N_TYPES];
/* The packed form the AVX-512 kernels take for a weight type (kern.h): bytes
 * of one 16-row tile of a `cols`-column matrix, and the packer of one tile
 * (nr <= 16 rows at w, row stride wrb; rows past nr are written as zeros).
 * Types without one have NULL slots. */
struct kern_packer {
    size_t (*tile_bytes)(int64_t cols);
    void (*pack_tile)(const uint8_t *w, size_t wrb, int nr, int64_t cols, uint8_t *dst);
};
extern const struct kern_packer kern_pack_avx512[KERN_N_TYPES];

/* The AVX-512 integer dots (kern_avx512_q.c), for the kern_ops_avx512 table. */
float kern_a5_dot_q8_0(int64_t n, const void *w, const void *xq);
float kern_a5_dot_q4_0(int64_t n, const void *w, const void *xq);
float kern_a5_dot_q4_1(int64_t n, const void *w, const void *xq);
float kern_a5_dot_q4_k(int64_t n, const void *w, const void *xq);
float kern_a5_dot_q5_k(int64_t n, const void *w, const void *xq);
float kern_a5_dot_q6_k(int64_t n, const void *w, const void *xq);

#endif
