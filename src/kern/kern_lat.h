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
 * for 4 heads.  The cache rows are f32, bf16 (the *_bf16 entries) or 8-bit codes (*_q8).  kern_lat_*_ref are plain C (the spec, double accumulation);
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

/* The 8-bit latent cache.  A cache row [c | k_pe] (R latent values, W - R
 * rope values) is kept as integer codes with one scale per part:
 * dc = max|c| / 127, dr = max|k_pe| / 127, code = round(x / d) in [-127, 127]
 * (see kern_lat_q8_put).  Queries are quantized the same way per head
 * (kern_lat_q8_query), and the products are integer dot products of 4 bytes
 * by 4 bytes per 32-bit lane (vpdpbusd: unsigned x signed).  The codes are
 * stored twice, once in the order of each product:
 *   K  [pos / 16][W / 4][pos % 16][4]  code + 128 (u8).  One 64-byte line
 *      holds 4 columns of 16 positions, a position per lane: the scores put
 *      16 positions in the lanes and broadcast 4 query codes.
 *   V  [pos / 64][R / 16][pos % 64 / 4][16][pos % 4]  code (s8), in blocks
 *      of 64 positions (kern_lat_q8_vidx).  One 64-byte line holds 16
 *      columns of 4 positions, a column per lane: the values put 16 columns
 *      in the lanes and broadcast the 4 positions' probabilities.  Within a
 *      block, a run of columns is one contiguous stretch (16 columns: 1 KB),
 *      so the values' strips of columns stay in L1 while the heads pass over
 *      them.  When R % 16 != 0 the last run is R % 16 columns wide.
 *   S  [pos / 16][2][pos % 16]  f32: dc, then dr.
 * A slot of n positions takes KERN_LAT_Q8_POS(n) positions of each (n
 * rounded up to 64).  Needs R % 4 == 0 and W % 4 == 0.  The scores read tiles
 * that start at a multiple of 16 positions, the values at a multiple of 64. */
#define KERN_LAT_Q8_POS(n) ((((int64_t)(n) + 63) / 64) * 64)

/* The offset of position pos, column c (< R) in a slot's V codes. */
static inline int64_t kern_lat_q8_vidx(int64_t pos, int64_t c, int64_t R) {
    const int64_t run = c / 16, wr = R - run * 16 < 16 ? R - run * 16 : 16; /* the run's width */
    return (pos / 64) * 64 * R + run * 16 * 64 + (pos % 64 / 4) * wr * 4 + (c % 16) * 4 + pos % 4;
}
/* The 8-bit kernels prefetch the codes this many bytes ahead of the line they
 * read (into L2, once per line).  A caller that starts a run of tiles calls
 * kern_lat_q8_lead for the run's first bytes, which no earlier tile covered. */
#define KERN_LAT_Q8_PF 131072
/* Prefetch the first KERN_LAT_Q8_PF bytes of K and of V from a tile's first
 * position (k, v as the kernels take them) into L2. */
void kern_lat_q8_lead(const uint8_t *k, const int8_t *v);
/* Most positions values_q8 takes per call (its probabilities are requantized per call). */
#define KERN_LAT_Q8_MAXP 256

/* One query head's scales and bias terms: dc, dr as above; bc, br = 128 x the
 * sum of the head's latent / rope codes (the + 128 of the stored K codes). */
struct kern_lat_q8_head {
    float dc, dr;
    int32_t bc, br;
};

/* Store row (W floats) at position pos of a slot (k, v, s its three parts). */
void kern_lat_q8_put(uint8_t *k, int8_t *v, float *s, int64_t pos, const float *row, int64_t R, int64_t W);
/* Quantize one query head q (W floats) -> codes q8[W] and its scales. */
void kern_lat_q8_query(const float *q, int64_t R, int64_t W, int8_t *q8, struct kern_lat_q8_head *qh);

/* kern_lat_q8_query's operation: every variant gives the same codes and scales. */
typedef void (*kern_lat_query_q8_fn)(const float *q, int64_t R, int64_t W, int8_t *q8, struct kern_lat_q8_head *qh);

/* s[h * lds + j] = scale * (dc_j qh[h].dc (K_j . q8_h over the latent part)
 *                          + dr_j qh[h].dr (K_j . q8_h over the rope part))
 * for j < P: k and sc point at the tile's first position (a multiple of 16). */
typedef void (*kern_lat_scores_q8_fn)(const uint8_t *k, const float *sc, int64_t P, const int8_t *q8, int64_t ldq,
                                      const struct kern_lat_q8_head *qh, int64_t nh, int64_t R, int64_t W,
                                      float scale, float *s, int64_t lds);
/* o[h * ldo + c] = a[h] o[h * ldo + c] + (wmax_h / 255) sum_{j < P} p8[h][j] V_j[c],  c < R, where
 * w_j = p[h * ldp + j] * dc_j (dc folded into the probability), wmax_h = max_j w_j and
 * p8[h][j] = round(w_j * (255 / wmax_h)) in [0, 255] (0 when wmax_h == 0).  v and sc
 * point at the tile's first position (a multiple of 64); 1 <= P <= KERN_LAT_Q8_MAXP;
 * p >= 0; a == NULL: o is overwritten.  The probabilities are rounded to 8 bits
 * relative to the largest of the tile. */
typedef void (*kern_lat_values_q8_fn)(const int8_t *v, const float *sc, int64_t P, const float *p, int64_t ldp,
                                      int64_t nh, int64_t R, const float *a, float *o, int64_t ldo);

struct kern_lat_ops {
    const char *name;
    kern_lat_scores_fn scores;
    kern_lat_values_fn values;
    kern_lat_scores_bf16_fn scores_bf16;
    kern_lat_values_bf16_fn values_bf16;
    kern_lat_softmax_fn softmax;
    kern_lat_scores_q8_fn scores_q8; /* the AVX2 table uses the reference (no 8-bit dot products there) */
    kern_lat_values_q8_fn values_q8;
    kern_lat_query_q8_fn query_q8; /* the reference is kern_lat_q8_query (also the AVX2 table's) */
};

extern const struct kern_lat_ops kern_lat_ref;
/* The reference softmax step (also the AVX2 table's). */
void kern_lat_softmax_ref(float *s, int64_t lds, int64_t nh, int64_t n, float *m, float *l, float *a);
/* The reference 8-bit products (also the AVX2 table's). */
void kern_lat_scores_q8_ref(const uint8_t *k, const float *sc, int64_t P, const int8_t *q8, int64_t ldq,
                            const struct kern_lat_q8_head *qh, int64_t nh, int64_t R, int64_t W, float scale, float *s,
                            int64_t lds);
void kern_lat_values_q8_ref(const int8_t *v, const float *sc, int64_t P, const float *p, int64_t ldp, int64_t nh,
                            int64_t R, const float *a, float *o, int64_t ldo);
/* Only when kern_cpu_has(KERN_ISA_AVX2) / kern_cpu_has(KERN_ISA_AVX512). */
extern const struct kern_lat_ops kern_lat_avx2;
extern const struct kern_lat_ops kern_lat_avx512;

/* The variant matching the active kernel table. */
const struct kern_lat_ops *kern_lat_active(void);

#endif
