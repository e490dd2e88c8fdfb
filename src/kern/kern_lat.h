/*
 * kern_lat.h - the two inner loops of attention over a latent KV cache
 * (absorbed MLA, spec/MODEL.md 1.4), where every head of a token attends over
 * the same cache rows:
 *
 *   scores:  s[h][j] = scale * (q_h . row_j)            h < nh, j < P, rows W wide
 *   values:  o[h][c] = a[h] o[h][c] + sum_j p[h][j] * row_j[c]     c < R (the latent part)
 *
 * (a = NULL: o is overwritten; otherwise the running output of an online
 * softmax, rescaled by a[h] as each tile of rows is added.)
 *
 * Both are register-blocked over several heads so a cache row is loaded once
 * for 4 heads.  The cache rows are f32 or bf16 (the *_bf16 entries).  kern_lat_*_ref are plain C (the spec, double accumulation);
 * AVX2 and AVX-512 variants live in kern_lat_avx2.c / kern_lat_avx512.c with
 * their own -m flags.  The variant follows the active kernel table's ISA
 * level (DEEPC_KERNELS), like kern_fp8.
 */
#ifndef DC_KERN_LAT_H
#define DC_KERN_LAT_H

#include <stdint.h>

/* s[h * lds + j] = scale * sum_{i < W} q[h * ldq + i] * rows[j * ldr + i] */
typedef void (*kern_lat_scores_fn)(const float *rows, int64_t ldr, int64_t P, const float *q, int64_t ldq,
                                   int64_t nh, int64_t W, float scale, float *s, int64_t lds);
/* o[h * ldo + c] = a[h] * o[h * ldo + c] + sum_{j < P} p[h * ldp + j] * rows[j * ldr + c] for c < R;
 * a == NULL: the first term is left out (o is overwritten, never read). */
typedef void (*kern_lat_values_fn)(const float *rows, int64_t ldr, int64_t P, const float *p, int64_t ldp,
                                   int64_t nh, int64_t R, const float *a, float *o, int64_t ldo);

/* The same over a cache of bf16 rows (upper halves of f32: widened exactly).
 * These also round the queries q and the probabilities p to bf16 (nearest
 * even) before multiplying, so that every product is of two bf16 values and
 * exact in f32: what vdpbf16ps computes (twice the multiply-adds per
 * instruction of f32 FMAs).  The rounding moves a score by ~2^-9 of |q||row|
 * at most, the same order as storing the cache in bf16. */
typedef void (*kern_lat_scores_bf16_fn)(const uint16_t *rows, int64_t ldr, int64_t P, const float *q, int64_t ldq,
                                        int64_t nh, int64_t W, float scale, float *s, int64_t lds);
typedef void (*kern_lat_values_bf16_fn)(const uint16_t *rows, int64_t ldr, int64_t P, const float *p, int64_t ldp,
                                        int64_t nh, int64_t R, const float *a, float *o, int64_t ldo);

/* Online-softmax step over a tile of n scores per head, for h < nh:
 *   mn = max(m[h], max_j s[h * lds + j]);  a[h] = exp(m[h] - mn)  (0 when m[h] = -inf);
 *   s[h * lds + j] = exp(s[h * lds + j] - mn);  l[h] = l[h] * a[h] + sum_j s[h * lds + j];  m[h] = mn.
 * n >= 1; scores finite.  The SIMD exp is within a few ulp of expf. */
typedef void (*kern_lat_softmax_fn)(float *s, int64_t lds, int64_t nh, int64_t n, float *m, float *l, float *a);

struct kern_lat_ops {
    const char *name;
    kern_lat_scores_fn scores;
    kern_lat_values_fn values;
    kern_lat_scores_bf16_fn scores_bf16;
    kern_lat_values_bf16_fn values_bf16;
    kern_lat_softmax_fn softmax;
};

extern const struct kern_lat_ops kern_lat_ref;
/* The reference softmax step (also the AVX2 table's). */
void kern_lat_softmax_ref(float *s, int64_t lds, int64_t nh, int64_t n, float *m, float *l, float *a);
/* Only when kern_cpu_has(KERN_ISA_AVX2) / kern_cpu_has(KERN_ISA_AVX512). */
extern const struct kern_lat_ops kern_lat_avx2;
extern const struct kern_lat_ops kern_lat_avx512;

/* The variant matching the active kernel table. */
const struct kern_lat_ops *kern_lat_active(void);

#endif
