/*
 * kern_avx512_q.c - AVX-512 VNNI kernels for the integer weight types: the
 * single-row dots (kern_ops_avx512.vec_dot) and the whole-matrix kernels
 * kern_matmul runs (kern_mm_avx512: a GEMV for one token, a GEMM for more).
 * Compiled with the AVX-512 -m flags; only reached through the tables.
 *
 * One float summation order for all three, so that a row dotted alone, in
 * a GEMV or in a GEMM tile with other tokens gives the same bits (the engine
 * depends on it: a batch of requests must decode exactly as the requests
 * alone).  Every block's integer sum isum_b is exact (i32); then
 *
 *   32-element types (Q8_0, Q4_0, Q4_1): the blocks go in groups of 16
 *     (blocks 16g .. 16g+15, missing ones count as +0):
 *       p_b = (d_w * d_x) * (float)isum_b               Q8_0, Q4_0
 *       p_b = fma(m_w, s_x, (d_w * d_x) * (float)isum_b)  Q4_1
 *       P_g = the adjacent-pairs tree (((p0+p1)+(p2+p3))+...) over the 16
 *       acc = 0;  acc = acc + P_g  for g = 0, 1, ...
 *   K-quants (one super-block of 256 at a time, see below): a chain of two
 *     fmas per super-block.
 *
 * How each kernel finds the exact integers:
 *   GEMM (n >= 4 tokens; K-quants n >= 7): 16 weight rows are transposed
 *     ("rows in lanes") into a stack buffer, 4 bytes of each row per i32
 *     lane, once per chunk of 32 blocks (4 super-blocks) and group of 128
 *     tokens; the micro-kernel runs vpdpbusd on those registers against
 *     activation dwords broadcast from memory, 8 tokens at a time: 8
 *     vpdpbusd give one block's sums for 16 rows with no horizontal work.
 *     Products p_b go to a small buffer and the group tree is summed from
 *     there; accumulators are parked in Y between chunks (a store and a
 *     reload change no bits).
 *   GEMV (n == 1; smaller batches run it per token) and the single-row dot:
 *     the row is read once, in order, 16 blocks (4 super-blocks) at a time:
 *     vpdpbusd on the bytes as stored (lanes = partial sums of 4 elements),
 *     then a blend/shuffle tree adds each block's lanes and leaves lane k =
 *     block k, so the group's products and their tree are vector
 *     operations (K-quants: the scales multiply the partial lanes, exact,
 *     and one tree serves 4 super-blocks).  The GEMV prepares the
 *     activation side once per call (rearranged quants, d_x, sums); the
 *     single-row dot reads it as stored.  Q4_0/Q4_1 blocks (18/20 bytes)
 *     are unpacked with word permutes (vpermt2w) from 64-byte loads, and
 *     the f16 scales of 16 blocks come out of the same kind of permute
 *     ("windows", q5_win).  A partial last group is read with masked loads
 *     (zeros past the row: products +0).
 *   Packed weights (kern_pack, at load on request): the rows-in-lanes tiles
 *     the GEMM would build are stored once; the same micro-kernels then read
 *     them directly for every n, one token included (sections "packed
 *     weights" below, for the 32-element types and the K-quants).
 *
 * vpdpbusd multiplies u8 by s8.  Q4 nibbles are unsigned: sum (q-8) x =
 * sum q x - 8 sum x.  Q8_0 weights are signed: the GEMM/GEMV use u = w ^
 * 0x80 = w + 128, sum w x = sum u x - 128 sum x; the single-row dot uses |w|
 * against x with w's sign.  The per-block sums of x live in stack arrays
 * (nothing is allocated).
 */
#include <immintrin.h>

#include "kern.h"
#include "kern_impl.h"

#define Q5_INL static inline __attribute__((always_inline))
/* The GEMM's repack and micro-kernel entry points stay out of line: inlined
 * into the driver they made it ~10% slower (measured, docs/PERFORMANCE.md). */
#define Q5_NOINL static __attribute__((noinline))

/* Tile sizes (measured on Zen 4, docs/PERFORMANCE.md).  Stack use of the
 * GEMM: about 190 KB (repacked tile 16 KB, the activations' interleaved
 * copy 128 KB, per-block arrays 2 x 16 KB, products 8 KB); of the GEMV about
 * 20 KB. */
enum {
    Q5_KC = 32,  /* GEMM: blocks per chunk (2 groups; the repacked tile is 16 rows x 32 blocks) */
    Q5_TG = 128, /* GEMM: tokens per token group (one repacked tile serves all of them) */
    Q5_NT = 8,   /* GEMM: tokens per micro-kernel call (8 independent vpdpbusd chains) */
    Q5_GVG = 32, /* GEMV: groups of 16 blocks per chunk of prepared activations */
    Q5_RB = 512, /* GEMM: rows per row block: the block's Y (512 rows x 128 tokens, 256 KB) stays in L2
                    while the accumulators are parked there between chunks */
};

/* -------------------------------------------------------------- helpers */

static inline __m128i q5_ld128(const void *p) { return _mm_loadu_si128((const __m128i *)p); }
static inline __m256i q5_ld256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
static inline __m512i q5_ld512(const void *p) { return _mm512_loadu_si512(p); }
static inline int32_t q5_ld_i32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}
/* acc += w (u8) x the 4 s8 bytes at p broadcast to every lane: one vpdpbusd
 * with an embedded broadcast (the intrinsic form made gcc 12 emit a separate
 * vpbroadcastd per product), accumulator tied in the asm. */
static inline __attribute__((always_inline)) __m512i q5_dpb(__m512i acc, __m512i w, const uint8_t *p) {
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*(const int32_t *)(const void *)p));
    return acc;
}
static inline float q5_f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/* 32 bytes at p0 in the low half, 32 bytes at p1 in the high half */
static inline __m512i q5_ld2x32(const uint8_t *p0, const uint8_t *p1) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(q5_ld256(p0)), q5_ld256(p1), 1);
}
/* 16 bytes from each of p, p + s, p + 2s, p + 3s in 128-bit lanes 0..3 */
static inline __m512i q5_ld4x16(const uint8_t *p, size_t s) {
    __m512i z = _mm512_castsi128_si512(q5_ld128(p));
    z = _mm512_inserti32x4(z, q5_ld128(p + s), 1);
    z = _mm512_inserti32x4(z, q5_ld128(p + 2 * s), 2);
    return _mm512_inserti32x4(z, q5_ld128(p + 3 * s), 3);
}

/* Loads of a group that may be partial: `lim` bytes of it exist, the rest
 * reads as zero (masked loads do not fault on the masked bytes).  With a
 * whole group lim is a constant and these are plain loads. */
static inline __mmask64 q5_bmask(int n) {
    return n <= 0 ? 0 : n >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
}
static inline __m512i q5_lw512(const uint8_t *p, int off, int lim) {
    return off + 64 <= lim ? q5_ld512(p + off) : _mm512_maskz_loadu_epi8(q5_bmask(lim - off), p + off);
}
static inline __m256i q5_lw256(const uint8_t *p, int off, int lim) {
    return off + 32 <= lim ? q5_ld256(p + off) : _mm256_maskz_loadu_epi8((__mmask32)q5_bmask(lim - off), p + off);
}
static inline __m128i q5_lw128(const uint8_t *p, int off, int lim) {
    return off + 16 <= lim ? q5_ld128(p + off) : _mm_maskz_loadu_epi8((__mmask16)q5_bmask(lim - off), p + off);
}
static inline __m512i q5_lw2x32(const uint8_t *p, int o0, int o1, int lim) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(q5_lw256(p, o0, lim)), q5_lw256(p, o1, lim), 1);
}
/* 16 bytes at p + o, o + s, o + 2s, o + 3s in 128-bit lanes 0..3 */
static inline __m512i q5_lw4x16(const uint8_t *p, int o, int s, int lim) {
    __m512i z = _mm512_castsi128_si512(q5_lw128(p, o, lim));
    z = _mm512_inserti32x4(z, q5_lw128(p, o + s, lim), 1);
    z = _mm512_inserti32x4(z, q5_lw128(p, o + 2 * s, lim), 2);
    return _mm512_inserti32x4(z, q5_lw128(p, o + 3 * s, lim), 3);
}

static inline int32_t q5_hsum256_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* sum of the 32 int8 at p */
static inline int32_t q5_sum32(const uint8_t *p) {
    return q5_hsum256_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(1), q5_ld256(p)));
}

/* Integer lane tree.  comb(a, b) at unit size s (1, 2, 4 lanes): unit 2m of
 * the result is a's units 2m + 2m+1 added, unit 2m+1 is b's units 2m +
 * 2m+1: two blends, one in-lane swap, one add. */
static inline __m512i q5_comb1(__m512i a, __m512i b) {
    __m512i t = _mm512_mask_blend_epi32(0xaaaa, a, b), u = _mm512_mask_blend_epi32(0xaaaa, b, a);
    return _mm512_add_epi32(t, _mm512_shuffle_epi32(u, _MM_PERM_CDAB));
}
static inline __m512i q5_comb2(__m512i a, __m512i b) {
    __m512i t = _mm512_mask_blend_epi32(0xcccc, a, b), u = _mm512_mask_blend_epi32(0xcccc, b, a);
    return _mm512_add_epi32(t, _mm512_shuffle_epi32(u, _MM_PERM_BADC));
}
static inline __m512i q5_comb4(__m512i a, __m512i b) {
    __m512i t = _mm512_mask_blend_epi32(0xf0f0, a, b), u = _mm512_mask_blend_epi32(0xf0f0, b, a);
    return _mm512_add_epi32(t, _mm512_shuffle_i64x2(u, u, _MM_SHUFFLE(2, 3, 0, 1)));
}

/* d[i] (i < 8) holds item i in lanes 0..7 and item i + 8 in lanes 8..15
 * (eight partial sums each); returns the 16 item sums, lane k = item k. */
Q5_INL __m512i q5_tree8(const __m512i d[8]) {
    __m512i e0 = q5_comb1(d[0], d[1]), e1 = q5_comb1(d[2], d[3]);
    __m512i e2 = q5_comb1(d[4], d[5]), e3 = q5_comb1(d[6], d[7]);
    return q5_comb4(q5_comb2(e0, e1), q5_comb2(e2, e3));
}

/* d[j] (j < 4) holds item j + 4L in 128-bit lane L (four partial sums
 * each); returns the 16 item sums, lane k = item k. */
Q5_INL __m512i q5_tree4(const __m512i d[4]) { return q5_comb2(q5_comb1(d[0], d[1]), q5_comb1(d[2], d[3])); }

/* The group tree of the 32-element types over the 16 lanes of p:
 * lane 0 of each level holds ((p0+p1)+(p2+p3))+... (float adds commute). */
static inline float q5_hadd16(__m512 p) {
    p = _mm512_add_ps(p, _mm512_permute_ps(p, 0xb1));
    p = _mm512_add_ps(p, _mm512_permute_ps(p, 0x4e));
    p = _mm512_add_ps(p, _mm512_shuffle_f32x4(p, p, _MM_SHUFFLE(2, 3, 0, 1)));
    p = _mm512_add_ps(p, _mm512_shuffle_f32x4(p, p, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm512_cvtss_f32(p);
}

/* The same tree over 16 vectors (GEMM: one lane per row). */
Q5_INL __m512 q5_tree16_ps(const __m512 *p) {
    __m512 a[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) a[i] = _mm512_add_ps(p[2 * i], p[2 * i + 1]);
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) a[i] = _mm512_add_ps(a[2 * i], a[2 * i + 1]);
#pragma GCC unroll 2
    for (int i = 0; i < 2; i++) a[i] = _mm512_add_ps(a[2 * i], a[2 * i + 1]);
    return _mm512_add_ps(a[0], a[1]);
}

static inline float q5_add1(float a, float b) { return _mm_cvtss_f32(_mm_add_ss(_mm_set_ss(a), _mm_set_ss(b))); }

/* Windows: 16 records of S bytes (a group of blocks) whose f16 fields at
 * byte offsets 0 (and 2) are wanted as 16 floats.  Each window is a 128-byte
 * stretch inside the group (two 64-byte loads at `start`) holding the fields
 * of several records; one vpermt2w per window moves record k's fields to
 * words k (field 0) and 16 + k (field 1), and a masked blend merges the
 * windows.  The tables follow one rule: starting at the first record not yet
 * covered, a window starts at that record (or 128 bytes before the group's
 * end, if earlier) and takes every following record whose fields end inside
 * it; the index of record k is (k S - start) / 2 (+1 for field 1, mod 64
 * where the field is unused). */
struct q5_win {
    int n;
    int start[4];
    uint32_t mask[4];
    int16_t idx[4][32];
};

/* Q8_0 weights and activations: d (S = 34) */
static const struct q5_win q5_win_q8_0 = {
    4,
    {0, 136, 272, 408},
    {0x000f000fu, 0x00f000f0u, 0x0f000f00u, 0xf000f000u},
    {
        {0, 17, 34, 51, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 18, 35, 52, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {0, 0, 0, 0, 0, 17, 34, 51, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 18, 35, 52, 0, 0, 0, 0, 0, 0, 0, 0},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 17, 34, 51, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 18, 35, 52, 0, 0, 0, 0},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 17, 34, 51, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 18, 35, 52},
    },
};
/* Q4_0 weights: d (S = 18) */
static const struct q5_win q5_win_q4_0 = {
    2,
    {0, 144},
    {0x00ff00ffu, 0xff00ff00u},
    {
        {0, 9, 18, 27, 36, 45, 54, 63, 0, 0, 0, 0, 0, 0, 0, 0, 1, 10, 19, 28, 37, 46, 55, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 18, 27, 36, 45, 54, 63, 0, 0, 0, 0, 0, 0, 0, 0, 1, 10, 19, 28, 37, 46, 55, 0},
    },
};
/* Q4_1 weights: d, m (S = 20) */
static const struct q5_win q5_win_q4_1 = {
    3,
    {0, 140, 192},
    {0x007f007fu, 0x3f803f80u, 0xc000c000u},
    {
        {0, 10, 20, 30, 40, 50, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 11, 21, 31, 41, 51, 61, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {0, 0, 0, 0, 0, 0, 0, 0, 10, 20, 30, 40, 50, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 11, 21, 31, 41, 51, 61, 0, 0},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 44, 54, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 45, 55},
    },
};
/* Q8_1 activations: d, s (S = 36) */
static const struct q5_win q5_win_q8_1 = {
    4,
    {0, 144, 288, 432},
    {0x000f000fu, 0x00f000f0u, 0x0f000f00u, 0xf000f000u},
    {
        {0, 18, 36, 54, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 19, 37, 55, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {0, 0, 0, 0, 0, 18, 36, 54, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 19, 37, 55, 0, 0, 0, 0, 0, 0, 0, 0},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 18, 36, 54, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 19, 37, 55, 0, 0, 0, 0},
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 18, 36, 54, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 19, 37, 55},
    },
};

/* words k = field 0 and 16 + k = field 1 of record k; nw = w->n (a
 * constant at each call, so the loop unrolls) */
Q5_INL __m512i q5_win_get(const struct q5_win *w, int nw, const uint8_t *p, int lim) {
    __m512i r = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int i = 0; i < nw; i++) {
        const int o = w->start[i];
        r = _mm512_mask_blend_epi16(w->mask[i], r,
                                    _mm512_permutex2var_epi16(q5_lw512(p, o, lim), _mm512_loadu_si512(w->idx[i]),
                                                              q5_lw512(p, o + 64, lim)));
    }
    return r;
}
static inline __m512 q5_win_lo(__m512i r) { return _mm512_cvtph_ps(_mm512_castsi512_si256(r)); }
static inline __m512 q5_win_hi(__m512i r) { return _mm512_cvtph_ps(_mm512_extracti64x4_epi64(r, 1)); }

/* ------------------------------------ 32-element types: types and layouts */

/* per-block activation value: -mul sum(x) (Q8_0, Q4_0) or s_x (Q4_1) */
union q5_ax {
    int32_t i;
    float f;
};

enum { Q5_Q8_0 = 0, Q5_Q4_0 = 1, Q5_Q4_1 = 2 };

/* weight and activation block sizes, quant offsets */
static inline int q5_wsz(int ty) { return ty == Q5_Q8_0 ? KB_Q8_0_SIZE : ty == Q5_Q4_0 ? KB_Q4_0_SIZE : KB_Q4_1_SIZE; }
static inline int q5_wqs(int ty) { return ty == Q5_Q8_0 ? KB_Q8_0_QS : ty == Q5_Q4_0 ? KB_Q4_0_QS : KB_Q4_1_QS; }
static inline int q5_xsz(int ty) { return ty == Q5_Q4_1 ? KB_Q8_1_SIZE : KB_Q8_0_SIZE; }
static inline int q5_xqs(int ty) { return ty == Q5_Q4_1 ? KB_Q8_1_QS : KB_Q8_0_QS; }
/* windows of the weight and activation fields (what q5_win_init finds) */
static inline int q5_nww(int ty) { return ty == Q5_Q8_0 ? 4 : ty == Q5_Q4_0 ? 2 : 3; }
enum { Q5_NWX = 4 };

/* Q4 weights of a group: the quants of blocks 4j..4j+3 in 128-bit lanes
 * 0..3 come from the 128-byte window at byte 64j by one word permute: word w
 * = quant bytes 2(w%8), +1 of block 4j + w/8, at window word
 * (S (4j + w/8) + qoff + 2 (w%8) - 64j) / 2.  Loads past the group are
 * masked (Q4_0's last window). */
static const int16_t q5_q4_0_idx[4][32] = {
    {1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 21, 22, 23, 24, 25, 26, 28, 29, 30, 31, 32, 33, 34, 35},
    {5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24, 25, 26, 27, 28, 29, 30, 32, 33, 34, 35, 36, 37, 38, 39},
    {9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 29, 30, 31, 32, 33, 34, 36, 37, 38, 39, 40, 41, 42, 43},
    {13, 14, 15, 16, 17, 18, 19, 20, 22, 23, 24, 25, 26, 27, 28, 29, 31, 32, 33, 34, 35, 36, 37, 38, 40, 41, 42, 43, 44, 45, 46, 47},
};
static const int16_t q5_q4_1_idx[4][32] = {
    {2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 18, 19, 22, 23, 24, 25, 26, 27, 28, 29, 32, 33, 34, 35, 36, 37, 38, 39},
    {10, 11, 12, 13, 14, 15, 16, 17, 20, 21, 22, 23, 24, 25, 26, 27, 30, 31, 32, 33, 34, 35, 36, 37, 40, 41, 42, 43, 44, 45, 46, 47},
    {18, 19, 20, 21, 22, 23, 24, 25, 28, 29, 30, 31, 32, 33, 34, 35, 38, 39, 40, 41, 42, 43, 44, 45, 48, 49, 50, 51, 52, 53, 54, 55},
    {26, 27, 28, 29, 30, 31, 32, 33, 36, 37, 38, 39, 40, 41, 42, 43, 46, 47, 48, 49, 50, 51, 52, 53, 56, 57, 58, 59, 60, 61, 62, 63},
};
/* q5_tree4 over those registers leaves block 4(l % 4) + l / 4 in lane l:
 * this permutation puts block k in lane k (it is its own inverse) */
static const int32_t q5_q4_perm[16] = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};

/* raw quant bytes (16 per 128-bit lane) of the group at p, for j < 4 */
Q5_INL void q5_q4_load(int S, const uint8_t *p, int lim, __m512i v[4]) {
    const int16_t(*idx)[32] = S == KB_Q4_0_SIZE ? q5_q4_0_idx : q5_q4_1_idx;
    __m512i a[5];
#pragma GCC unroll 5
    for (int m = 0; m < 5; m++) a[m] = q5_lw512(p, 64 * m, lim);
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) v[j] = _mm512_permutex2var_epi16(a[j], _mm512_loadu_si512(idx[j]), a[j + 1]);
}

static inline void q5_nib(__m512i v, __m512i *lo, __m512i *hi) {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    *lo = _mm512_and_si512(v, m4);
    *hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
}

/* ------------------------------- 32-element types: one group of one row */

/* the window tables of a type's weights and activations */
static inline const struct q5_win *q5_ww(int ty) {
    return ty == Q5_Q8_0 ? &q5_win_q8_0 : ty == Q5_Q4_0 ? &q5_win_q4_0 : &q5_win_q4_1;
}
static inline const struct q5_win *q5_wx(int ty) { return ty == Q5_Q4_1 ? &q5_win_q8_1 : &q5_win_q8_0; }

/* The activation side of group g (16 blocks at x), prepared for the GEMV:
 * xp[8] the quants arranged for the weight registers, dx[16] = d_x,
 * ax[16] = -mul sum(x) (Q8_0, Q4_0) or s_x (Q4_1). */
static void q5_prep_group(int ty, const uint8_t *x, __m512i *xp, float *dx, union q5_ax *ax) {
    const int xs = q5_xsz(ty), xq = q5_xqs(ty);
    if (ty == Q5_Q8_0) {
        for (int i = 0; i < 8; i++) xp[i] = q5_ld2x32(x + i * xs + xq, x + (i + 8) * xs + xq);
    } else {
        for (int j = 0; j < 4; j++) {
            xp[j] = q5_ld4x16(x + 4 * j * xs + xq, (size_t)xs);
            xp[4 + j] = q5_ld4x16(x + 4 * j * xs + xq + 16, (size_t)xs);
        }
    }
    for (int k = 0; k < 16; k++) {
        const uint8_t *b = x + k * xs;
        dx[k] = q5_f16(b);
        if (ty == Q5_Q4_1) ax[k].f = q5_f16(b + KB_Q8_1_S);
        else ax[k].i = -(ty == Q5_Q8_0 ? 128 : 8) * q5_sum32(b + xq);
    }
}

/* Block sums of the group at w (16 blocks, lane k = block k): against the
 * prepared activation (xp, ax) when raw is 0, else against x as stored.
 * lw, lx: bytes of the weight and activation group that exist (a partial
 * last group reads zeros past them, whose products are +0). */
Q5_INL __m512i q5_gsum(int ty, const uint8_t *w, const __m512i *xp, const union q5_ax *ax, const uint8_t *x, int raw,
                       int lw, int lx) {
    const __m512i zero = _mm512_setzero_si512();
    if (ty == Q5_Q8_0) {
        __m512i d[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) { /* blocks i and i + 8 */
            __m512i qw = q5_lw2x32(w, i * KB_Q8_0_SIZE + KB_Q8_0_QS, (i + 8) * KB_Q8_0_SIZE + KB_Q8_0_QS, lw);
            if (raw) {
                __m512i qx = q5_lw2x32(x, i * KB_Q8_0_SIZE + KB_Q8_0_QS, (i + 8) * KB_Q8_0_SIZE + KB_Q8_0_QS, lx);
                qx = _mm512_mask_sub_epi8(qx, _mm512_movepi8_mask(qw), zero, qx);
                d[i] = _mm512_dpbusd_epi32(zero, _mm512_abs_epi8(qw), qx);
            } else {
                d[i] = _mm512_dpbusd_epi32(zero, _mm512_xor_si512(qw, _mm512_set1_epi8((char)0x80)), xp[i]);
            }
        }
        __m512i g = q5_tree8(d);
        return raw ? g : _mm512_add_epi32(g, _mm512_loadu_si512(ax));
    }
    const int S = q5_wsz(ty), xs = q5_xsz(ty), xq = q5_xqs(ty);
    __m512i v[4], d[4];
    q5_q4_load(S, w, lw, v);
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) { /* blocks 4j .. 4j + 3 */
        __m512i lo, hi, xl, xh;
        q5_nib(v[j], &lo, &hi);
        if (raw) {
            xl = q5_lw4x16(x, 4 * j * xs + xq, xs, lx);
            xh = q5_lw4x16(x, 4 * j * xs + xq + 16, xs, lx);
        } else {
            xl = xp[j];
            xh = xp[4 + j];
        }
        d[j] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, lo, xl), hi, xh);
        if (raw && ty == Q5_Q4_0) {
            const __m512i eight = _mm512_set1_epi8(8);
            d[j] = _mm512_sub_epi32(d[j], _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, eight, xl), eight, xh));
        }
    }
    __m512i g = _mm512_permutexvar_epi32(_mm512_loadu_si512(q5_q4_perm), q5_tree4(d));
    return (raw || ty == Q5_Q4_1) ? g : _mm512_add_epi32(g, _mm512_loadu_si512(ax));
}

/* 16 f16 at p, p + S, ..., p + 15 S as floats, packed in general registers
 * (the integer pipes are idle in the vector-bound dots); records past lim
 * bytes read as 0. */
Q5_INL __m512 q5_f16x16(const uint8_t *p, int S, int lim) {
    uint64_t a[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
        uint64_t v = 0;
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) {
            const int k = 4 * q + i;
            uint16_t h = 0;
            if (k * S + 2 <= lim) memcpy(&h, p + k * S, 2);
            v |= (uint64_t)h << (16 * i);
        }
        a[q] = v;
    }
    return _mm512_cvtph_ps(_mm256_setr_epi64x((long long)a[0], (long long)a[1], (long long)a[2], (long long)a[3]));
}

/* The products p_b of a group (lane k = block k). */
Q5_INL __m512 q5_gprod(int ty, const uint8_t *w, const __m512i *xp, const float *dx, const union q5_ax *ax,
                       const uint8_t *x, int raw, int lw, int lx) {
    const __m512i g = q5_gsum(ty, w, xp, ax, x, raw, lw, lx);
    const __m512i fw = q5_win_get(q5_ww(ty), q5_nww(ty), w, lw);
    __m512 dxv, sxv = _mm512_setzero_ps();
    if (raw) {
        if (ty == Q5_Q4_1) {
            __m512i fx = q5_win_get(q5_wx(ty), Q5_NWX, x, lx);
            dxv = q5_win_lo(fx);
            sxv = q5_win_hi(fx);
        } else {
            dxv = q5_f16x16(x, KB_Q8_0_SIZE, lx);
        }
    } else {
        dxv = _mm512_loadu_ps(dx);
        if (ty == Q5_Q4_1) sxv = _mm512_loadu_ps(ax);
    }
    __m512 p = _mm512_mul_ps(_mm512_mul_ps(q5_win_lo(fw), dxv), _mm512_cvtepi32_ps(g));
    if (ty == Q5_Q4_1) p = _mm512_fmadd_ps(q5_win_hi(fw), sxv, p);
    return p;
}

/* A partial group (nbg < 16 blocks at p, block size S) copied into a
 * zeroed full group: the missing blocks then have d = 0 and zero quants, so
 * their products are exactly +0 (the GEMV prepares its last activation
 * group this way). */
static inline void q5_pad(uint8_t *dst, const uint8_t *p, int nbg, int S) {
    memset(dst, 0, (size_t)(16 * S));
    memcpy(dst, p, (size_t)(nbg * S));
}

/* isum of one block (w, x as stored) */
static int32_t q5_bsum(int ty, const uint8_t *w, const uint8_t *x) {
    const __m256i z = _mm256_setzero_si256();
    if (ty == Q5_Q8_0) {
        __m256i qw = q5_ld256(w + KB_Q8_0_QS);
        return q5_hsum256_epi32(
            _mm256_dpbusd_epi32(z, _mm256_sign_epi8(qw, qw), _mm256_sign_epi8(q5_ld256(x + KB_Q8_0_QS), qw)));
    }
    __m128i v = q5_ld128(w + q5_wqs(ty)), m4 = _mm_set1_epi8(0x0f);
    __m256i q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m4), _mm_and_si128(v, m4));
    __m256i qx = q5_ld256(x + q5_xqs(ty));
    __m256i d = _mm256_dpbusd_epi32(z, q, qx);
    if (ty == Q5_Q4_0) d = _mm256_sub_epi32(d, _mm256_dpbusd_epi32(z, _mm256_set1_epi8(8), qx));
    return q5_hsum256_epi32(d);
}

/* The group sum P of a short partial group (nbg <= Q5_SHORT = 4 blocks, w
 * and x as stored): the same products as the vector lanes, one block at a
 * time, missing blocks +0.  In the 16-leaf tree the subtrees of missing
 * blocks are +0, so the tree is ((p0 + p1) + (p2 + p3)) + 0 + 0, which is
 * ((p0 + p1) + (p2 + p3)) + 0 (adding +0 only turns -0 into +0). */
enum { Q5_SHORT = 4 };
static float q5_gshort(int ty, const uint8_t *w, const uint8_t *x, int nbg) {
    float p[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    const int ws = q5_wsz(ty), xs = q5_xsz(ty);
    for (int k = 0; k < nbg; k++) {
        const uint8_t *bw = w + k * ws, *bx = x + k * xs;
        __m128 v = _mm_mul_ss(_mm_set_ss(q5_f16(bw)), _mm_set_ss(q5_f16(bx)));
        v = _mm_mul_ss(v, _mm_cvtsi32_ss(_mm_setzero_ps(), q5_bsum(ty, bw, bx)));
        if (ty == Q5_Q4_1)
            v = _mm_fmadd_ss(_mm_set_ss(q5_f16(bw + KB_Q4_1_M)), _mm_set_ss(q5_f16(bx + KB_Q8_1_S)), v);
        p[k] = _mm_cvtss_f32(v);
    }
    return q5_add1(q5_add1(q5_add1(p[0], p[1]), q5_add1(p[2], p[3])), 0.0f);
}

/* ------------------------------------------ 32-element types: the dots */

Q5_INL float q5_dot32(int ty, int64_t n, const uint8_t *w, const uint8_t *x) {
    const int64_t nb = n / KB_QK, ng = nb / 16;
    const int ws = q5_wsz(ty), xs = q5_xsz(ty), tail = (int)(nb % 16);
    float acc = 0.0f;
    for (int64_t g = 0; g < ng; g++)
        acc = q5_add1(acc, q5_hadd16(q5_gprod(ty, w + g * 16 * ws, NULL, NULL, NULL, x + g * 16 * xs, 1, 16 * ws, 16 * xs)));
    if (tail && tail <= Q5_SHORT)
        acc = q5_add1(acc, q5_gshort(ty, w + ng * 16 * ws, x + ng * 16 * xs, tail));
    else if (tail)
        acc = q5_add1(acc, q5_hadd16(q5_gprod(ty, w + ng * 16 * ws, NULL, NULL, NULL, x + ng * 16 * xs, 1, tail * ws,
                                              tail * xs)));
    return acc;
}

float kern_a5_dot_q8_0(int64_t n, const void *w, const void *xq) { return q5_dot32(Q5_Q8_0, n, w, xq); }
float kern_a5_dot_q4_0(int64_t n, const void *w, const void *xq) { return q5_dot32(Q5_Q4_0, n, w, xq); }
float kern_a5_dot_q4_1(int64_t n, const void *w, const void *xq) { return q5_dot32(Q5_Q4_1, n, w, xq); }

/* ------------------------------------------ 32-element types: the GEMV */

Q5_INL void q5_gemv32(int ty, const struct kern_mm_job *j, int64_t r0, int64_t r1) {
    const int64_t nb = j->cols / KB_QK, ng = (nb + 15) / 16, nfull = nb / 16;
    const int ws = q5_wsz(ty), xs = q5_xsz(ty), tail = (int)(nb % 16);
    _Alignas(64) __m512i xp[8 * Q5_GVG];
    _Alignas(64) float dx[16 * Q5_GVG];
    _Alignas(64) union q5_ax ax[16 * Q5_GVG];
    _Alignas(64) uint8_t px[16 * KB_Q8_1_SIZE]; /* the largest blocks: 36 bytes */
    for (int64_t g0 = 0; g0 < ng; g0 += Q5_GVG) {
        const int64_t g1 = ng - g0 < Q5_GVG ? ng : g0 + Q5_GVG;
        for (int64_t g = g0; g < g1; g++) {
            const uint8_t *xg = j->x + g * 16 * xs;
            if (g == nfull) { /* the partial last group */
                q5_pad(px, xg, tail, xs);
                xg = px;
            }
            q5_prep_group(ty, xg, xp + 8 * (g - g0), dx + 16 * (g - g0), ax + 16 * (g - g0));
        }
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *w = j->w + (size_t)r * j->wrb;
            float acc = g0 ? j->y[r] : 0.0f;
            const int64_t gf = g1 < nfull ? g1 : nfull; /* whole groups of this chunk end here */
            for (int64_t g = g0; g < gf; g++) {
                const int64_t k = g - g0;
                acc = q5_add1(acc, q5_hadd16(q5_gprod(ty, w + g * 16 * ws, xp + 8 * k, dx + 16 * k, ax + 16 * k, NULL, 0,
                                                      16 * ws, 0)));
            }
            if (gf < g1 && tail <= Q5_SHORT) { /* the partial last group */
                acc = q5_add1(acc, q5_gshort(ty, w + gf * 16 * ws, j->x + gf * 16 * xs, tail));
            } else if (gf < g1) {
                const int64_t k = gf - g0;
                acc = q5_add1(acc, q5_hadd16(q5_gprod(ty, w + gf * 16 * ws, xp + 8 * k, dx + 16 * k, ax + 16 * k, NULL, 0,
                                                      tail * ws, 0)));
            }
            j->y[r] = acc;
        }
    }
}

/* ------------------------------------------ 32-element types: the GEMM */

/* Weight prefetch for the GEMM.  The repack reads 16 rows side by side, a
 * pattern the hardware prefetcher does not follow, and its cache misses
 * stall it (cold weights: Q4_K 292 -> 215 GOPS, docs/PERFORMANCE.md).  So
 * while a tile computes, the next tile's chunk (rows r .. r+15 below
 * rows, bytes off .. off+len of each) is prefetched to L2, part k of np
 * before each of the np micro-kernel calls. */
static void q5_prefetch_part(const uint8_t *w, size_t wrb, int64_t r, int64_t rows, size_t off, size_t len, int k,
                             int np) {
    const size_t lines = (len + 63) / 64, total = 16 * lines;
    for (size_t l = total * (size_t)k / (size_t)np; l < total * (size_t)(k + 1) / (size_t)np; l++) {
        const int64_t i = r + (int64_t)(l / lines);
        if (i < rows) _mm_prefetch((const char *)(w + (size_t)i * wrb + off + 64 * (l % lines)), _MM_HINT_T1);
    }
}

/* Transposes 32 bytes of 16 rows (at p + ro[i]) into o[g] lane i = bytes
 * 4g..4g+3 of row i. */
static void q5_tr16x32(const uint8_t *p, const size_t ro[16], __m512i o[8]) {
    __m512i u[8];
    for (int h = 0; h < 2; h++) {
        /* [row j | row j + 4] for j < 4, of rows 8h .. 8h + 7 */
        __m512i q0 = q5_ld2x32(p + ro[8 * h + 0], p + ro[8 * h + 4]);
        __m512i q1 = q5_ld2x32(p + ro[8 * h + 1], p + ro[8 * h + 5]);
        __m512i q2 = q5_ld2x32(p + ro[8 * h + 2], p + ro[8 * h + 6]);
        __m512i q3 = q5_ld2x32(p + ro[8 * h + 3], p + ro[8 * h + 7]);
        __m512i t0 = _mm512_unpacklo_epi32(q0, q1), t1 = _mm512_unpackhi_epi32(q0, q1);
        __m512i t2 = _mm512_unpacklo_epi32(q2, q3), t3 = _mm512_unpackhi_epi32(q2, q3);
        /* 128-bit lane 0: dword g of rows 0..3, 1: dword g + 4, 2, 3: the same of rows 4..7 */
        u[4 * h + 0] = _mm512_unpacklo_epi64(t0, t2);
        u[4 * h + 1] = _mm512_unpackhi_epi64(t0, t2);
        u[4 * h + 2] = _mm512_unpacklo_epi64(t1, t3);
        u[4 * h + 3] = _mm512_unpackhi_epi64(t1, t3);
    }
    for (int g = 0; g < 4; g++) {
        o[g] = _mm512_shuffle_i32x4(u[g], u[4 + g], _MM_SHUFFLE(2, 0, 2, 0));
        o[g + 4] = _mm512_shuffle_i32x4(u[g], u[4 + g], _MM_SHUFFLE(3, 1, 3, 1));
    }
}

/* Repacks rows [0, nr) (later rows repeat the last) x blocks [b0, b0 + nbk)
 * at w: wb[8 b + g] lane i = the 4 quants of row i's block that pair with
 * activation dword g, as u8 (Q8_0: w ^ 0x80; Q4: g < 4 low nibbles of
 * bytes 4g..4g+3, g >= 4 high nibbles of bytes 4(g-4)..); dws[16 b + i] =
 * d of row i's block, mws the same for m (Q4_1). */
Q5_NOINL void q5_repack32(int ty, const uint8_t *w, size_t wrb, int nr, int64_t b0, int nbk, __m512i *wb, float *dws,
                        float *mws) {
    size_t ro[16];
    for (int i = 0; i < 16; i++) ro[i] = (size_t)(i < nr ? i : nr - 1) * wrb;
    const int S = q5_wsz(ty), qs = q5_wqs(ty);
    for (int b = 0; b < nbk; b++) {
        __m512i *o = wb + 8 * b;
        const size_t off = (size_t)(b0 + b) * (size_t)S;
        if (ty != Q5_Q8_0) {
            const uint8_t *p = w + off + qs;
            __m512i r[4];
            for (int i = 0; i < 4; i++) {
                __m512i z = _mm512_castsi128_si512(q5_ld128(p + ro[i]));
                z = _mm512_inserti32x4(z, q5_ld128(p + ro[i + 4]), 1);
                z = _mm512_inserti32x4(z, q5_ld128(p + ro[i + 8]), 2);
                r[i] = _mm512_inserti32x4(z, q5_ld128(p + ro[i + 12]), 3);
            }
            /* 4x4 dword transpose per 128-bit lane: lane (L, i) = dword g of row 4L + i */
            __m512i t0 = _mm512_unpacklo_epi32(r[0], r[1]), t1 = _mm512_unpackhi_epi32(r[0], r[1]);
            __m512i t2 = _mm512_unpacklo_epi32(r[2], r[3]), t3 = _mm512_unpackhi_epi32(r[2], r[3]);
            q5_nib(_mm512_unpacklo_epi64(t0, t2), &o[0], &o[4]);
            q5_nib(_mm512_unpackhi_epi64(t0, t2), &o[1], &o[5]);
            q5_nib(_mm512_unpacklo_epi64(t1, t3), &o[2], &o[6]);
            q5_nib(_mm512_unpackhi_epi64(t1, t3), &o[3], &o[7]);
        } else {
            const __m512i flip = _mm512_set1_epi8((char)0x80);
            q5_tr16x32(w + off + KB_Q8_0_QS, ro, o);
            for (int g = 0; g < 8; g++) o[g] = _mm512_xor_si512(o[g], flip);
        }
        uint16_t h[16], hm[16];
        for (int i = 0; i < 16; i++) memcpy(&h[i], w + ro[i] + off, 2);
        _mm512_store_ps(dws + 16 * b, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)h)));
        if (ty == Q5_Q4_1) {
            for (int i = 0; i < 16; i++) memcpy(&hm[i], w + ro[i] + off + KB_Q4_1_M, 2);
            _mm512_store_ps(mws + 16 * b, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)hm)));
        }
    }
}

/* ------------------------- 32-element types: packed weights (kern_pack) */

/* A 16-row tile of a packed matrix is its blocks in order, in pairs (2k,
 * 2k + 1), each pair one record of whole 64-byte lines:
 *   d  f16 [2 blocks][16 rows]              64 bytes
 *   m  f16 [2 blocks][16 rows]  (Q4_1)      64 bytes
 *   qs [2 blocks][nreg][16 rows][4 bytes]   nreg = 8 (Q8_0) or 4 (Q4) vectors
 * (a last pair of one block, when the row has an odd number, holds that
 * block alone: its d line half used, one block of quants).  The micro-kernel
 * loads each vector as it is: Q8_0 register g lane i = row i's quants
 * 4g..4g+3 ^ 0x80 (as u8, like the repack); Q4 register g lane i = row i's
 * quant bytes 4g..4g+3, whose low nibbles pair with activation dword g and
 * high nibbles with dword g + 4.  Same bytes per block as the file for Q4_0
 * and Q8_0 (18, 34 x 16 rows), all loads 64-byte aligned, and the tile is
 * read strictly in address order: a decode streams it as one sequential
 * read, which the hardware prefetcher follows - Q4_0 30 GB/s from DRAM on
 * one core, against 11 GB/s when a group's scales sat apart from its quants
 * (two interleaved streams) and 25 with a software prefetch added to that;
 * a software prefetch on this layout only got in the way (22 GB/s).  A
 * group of 16 blocks is 8 pairs. */
/* Software prefetch of the tile stream, bytes ahead, for two or more tokens:
 * the stream is slower than the prefetcher's trigger and 6 KB ahead into L2
 * helps a lot (n = 4: 0.73 -> 0.44 ms, n = 8: 1.96 -> 0.78 ms).  One token
 * takes the job's pf1 (kern_stream_prefetch): on AMD Zen 4 it streamed
 * fastest with none (Q4_0 from DRAM, one thread, 8960 x 1536: 30 GB/s; 20-25
 * with a prefetch 2-8 KB ahead), on an Intel Xeon with AMX 2 KB ahead took
 * two threads' long calls from 22 to 31 GB/s (log entry 48). */
enum { Q5_PFD = 6144 };
static inline int q5_pnreg(int ty) { return ty == Q5_Q8_0 ? 8 : 4; }
static inline size_t q5_pfld(int ty) { return ty == Q5_Q4_1 ? 128 : 64; } /* scale lines of a pair */
static inline size_t q5_pbq(int ty) { return (size_t)q5_pnreg(ty) * 64; } /* quant bytes of a block */
static inline size_t q5_ppair(int ty) { return q5_pfld(ty) + 2 * q5_pbq(ty); }
static inline size_t q5_pgb(int ty) { return 8 * q5_ppair(ty); } /* a whole group */

static size_t q5_ptile_bytes(int ty, int64_t cols) {
    const int64_t nb = cols / KB_QK;
    return (size_t)(nb / 2) * q5_ppair(ty) + (nb % 2 ? q5_pfld(ty) + q5_pbq(ty) : 0);
}

static void q5_pack_tile(int ty, const uint8_t *w, size_t wrb, int nr, int64_t cols, uint8_t *dst) {
    const int64_t nb = cols / KB_QK;
    const int S = q5_wsz(ty), qs = q5_wqs(ty), nreg = q5_pnreg(ty);
    memset(dst, 0, q5_ptile_bytes(ty, cols));
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *pr = dst + (size_t)(b / 2) * q5_ppair(ty);
        const int j = (int)(b % 2);
        for (int i = 0; i < nr; i++) {
            const uint8_t *blk = w + (size_t)i * wrb + (size_t)b * (size_t)S;
            memcpy(pr + 32 * j + 2 * i, blk, 2);
            if (ty == Q5_Q4_1) memcpy(pr + 64 + 32 * j + 2 * i, blk + KB_Q4_1_M, 2);
            for (int r = 0; r < nreg; r++) {
                uint8_t *o = pr + q5_pfld(ty) + (size_t)j * q5_pbq(ty) + (size_t)r * 64 + 4 * i;
                memcpy(o, blk + qs + 4 * r, 4);
                if (ty == Q5_Q8_0)
                    for (int e = 0; e < 4; e++) o[e] ^= 0x80;
            }
        }
    }
}

static size_t q5_ptb_q8_0(int64_t c) { return q5_ptile_bytes(Q5_Q8_0, c); }
static size_t q5_ptb_q4_0(int64_t c) { return q5_ptile_bytes(Q5_Q4_0, c); }
static size_t q5_ptb_q4_1(int64_t c) { return q5_ptile_bytes(Q5_Q4_1, c); }
static void q5_pack_q8_0(const uint8_t *w, size_t wrb, int nr, int64_t c, uint8_t *d) { q5_pack_tile(Q5_Q8_0, w, wrb, nr, c, d); }
static void q5_pack_q4_0(const uint8_t *w, size_t wrb, int nr, int64_t c, uint8_t *d) { q5_pack_tile(Q5_Q4_0, w, wrb, nr, c, d); }
static void q5_pack_q4_1(const uint8_t *w, size_t wrb, int nr, int64_t c, uint8_t *d) { q5_pack_tile(Q5_Q4_1, w, wrb, nr, c, d); }

/* The 8 weight vectors of block b (lane i = row i, 4 u8 quants pairing with
 * activation dword g in vector g) and its d (and m) as floats: from the
 * stack repack (wb, dws, mws) or, when pg is a packed group, from it. */
Q5_INL void q5_wblock(int ty, int packed, const __m512i *wb, const float *dws, const float *mws, const uint8_t *pg,
                      size_t pfd, int hi16, int b, __m512i w[8], __m512 *dw, __m512 *mw) {
    if (!packed) {
#pragma GCC unroll 8
        for (int g = 0; g < 8; g++) w[g] = _mm512_load_si512(wb + 8 * b + g);
        *dw = _mm512_load_ps(dws + 16 * b);
        if (ty == Q5_Q4_1) *mw = _mm512_load_ps(mws + 16 * b);
        return;
    }
    /* block b of the group at pg: pair b / 2, half b % 2 */
    const uint8_t *pr = pg + (size_t)(b / 2) * q5_ppair(ty);
    const int j = b % 2;
    if (pfd) { /* pfd bytes ahead in the tile stream, a block's share per block */
        const size_t bs = q5_ppair(ty) / 2;
#pragma GCC unroll 9
        for (int k = 0; k < (int)((bs + 63) / 64); k++)
            _mm_prefetch((const char *)(pg + pfd + bs * (size_t)b + 64 * k), _MM_HINT_T1);
    }
    const uint8_t *q = pr + q5_pfld(ty) + (size_t)j * q5_pbq(ty);
    if (ty == Q5_Q8_0) {
#pragma GCC unroll 8
        for (int g = 0; g < 8; g++) w[g] = _mm512_load_si512(q + 64 * g);
    } else {
        const __m512i m4 = _mm512_set1_epi8(0x0f), mf0 = _mm512_set1_epi8((char)0xf0);
#pragma GCC unroll 4
        for (int g = 0; g < 4; g++) {
            const __m512i v = _mm512_load_si512(q + 64 * g);
            w[g] = _mm512_and_si512(v, m4);
            /* hi16: the high nibbles left in place (16 x the quant; the caller
             * sums them apart and shifts the sum back, exact) */
            w[g + 4] = hi16 ? _mm512_and_si512(v, mf0) : _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
        }
    }
    *dw = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(pr + 32 * j)));
    if (ty == Q5_Q4_1) *mw = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(pr + 64 + 32 * j)));
}

/* The products p[t] of block b for NT tokens: the weights repacked on the
 * stack (wb, dws, mws) or packed (pg: the group); x, dx, ax: the group's
 * first block in the driver's token-interleaved copy (q5_gemm32): block b's
 * 32 quants of token t at x + 32 (NT b + t), its per-block values at
 * [NT b + t]. */
Q5_INL void q5_blk32(int ty, int packed, const __m512i *wb, const float *dws, const float *mws, const uint8_t *pg,
                     int b, const uint8_t *x, const float *dx, const union q5_ax *ax, int NT, size_t pf1,
                     __m512 *p) {
    const uint8_t *q = x + (size_t)(32 * NT) * (size_t)b;
    __m512i w[8];
    __m512 dw, mw = _mm512_setzero_ps();
    /* One or two tokens from packed Q4 weights: the high nibbles' products
     * come x16 in a chain of their own, shifted back once per block: 4
     * shifts fewer per block for one more per token, and one token keeps
     * two chains, not four (a Q4_0 block of 16 rows in cache, one token:
     * 16.4 -> 15.4 cycles; log entry 42). */
    const int hi16 = packed && ty != Q5_Q8_0 && NT <= 2;
    q5_wblock(ty, packed, wb, dws, mws, pg, !packed ? 0 : NT >= 2 ? Q5_PFD : pf1, hi16, b, w, &dw, &mw);
    /* the tokens' sums are independent chains: interleave them; with
     * few tokens each sum is split into NC chains too (i32 sums are
     * exact, so the split changes no bits) */
    const int NC = hi16 ? 2 : NT >= 4 ? 1 : NT == 1 ? 4 : 2;
    __m512i s[Q5_NT], s2[4][Q5_NT];
#pragma GCC unroll 8
    for (int t = 0; t < NT; t++) {
        s2[0][t] = ty == Q5_Q4_1 ? _mm512_setzero_si512() : _mm512_set1_epi32(ax[NT * b + t].i);
#pragma GCC unroll 4
        for (int c = 1; c < NC; c++) s2[c][t] = _mm512_setzero_si512();
    }
#pragma GCC unroll 8
    for (int g = 0; g < 8; g++) {
        const int c = hi16 ? g / 4 : g % NC;
#pragma GCC unroll 8
        for (int t = 0; t < NT; t++)
            s2[c][t] = q5_dpb(s2[c][t], w[g], q + 32 * t + 4 * g);
    }
#pragma GCC unroll 8
    for (int t = 0; t < NT; t++) {
        if (hi16) { /* chain 0: low nibbles, chain 1: high x16 */
            s[t] = _mm512_add_epi32(s2[0][t], _mm512_srai_epi32(s2[1][t], 4));
            continue;
        }
        s[t] = s2[0][t];
#pragma GCC unroll 4
        for (int c = 1; c < NC; c++) s[t] = _mm512_add_epi32(s[t], s2[c][t]);
    }
#pragma GCC unroll 8
    for (int t = 0; t < NT; t++) {
        p[t] = _mm512_mul_ps(_mm512_mul_ps(dw, _mm512_set1_ps(dx[NT * b + t])), _mm512_cvtepi32_ps(s[t]));
        if (ty == Q5_Q4_1) p[t] = _mm512_fmadd_ps(mw, _mm512_set1_ps(ax[NT * b + t].f), p[t]);
    }
}

/* acc[t] += the group trees of nbg <= 16 blocks for NT tokens (q5_blk32's
 * arguments); pb: scratch for the products, [NT][16] vectors. */
Q5_INL void q5_tile32(int ty, int packed, const __m512i *wb, const float *dws, const float *mws, const uint8_t *pg,
                      int nbg, const uint8_t *x, const float *dx, const union q5_ax *ax, int NT, size_t pf1,
                      __m512 *acc, __m512 *pb) {
    if (nbg == 16) {
        /* A whole group sums q5_tree16_ps's tree as it goes, blocks in pairs:
         * the pair's sum in registers, then each level whose operands now
         * exist (slot b - 2 holds the pair before, b - 4 the quad, 7 the
         * first half); the same additions as the tree at the group's end, so
         * the same bits, but spread over the blocks instead of 15 adds per
         * token in one burst (log entries 40-41). */
        for (int b = 1; b < 16; b += 2) {
            __m512 pe[Q5_NT], po[Q5_NT];
            q5_blk32(ty, packed, wb, dws, mws, pg, b - 1, x, dx, ax, NT, pf1, pe);
            q5_blk32(ty, packed, wb, dws, mws, pg, b, x, dx, ax, NT, pf1, po);
#pragma GCC unroll 8
            for (int t = 0; t < NT; t++) {
                __m512 p = _mm512_add_ps(pe[t], po[t]);
                if (b & 2) {
                    p = _mm512_add_ps(pb[16 * t + b - 2], p);
                    if (b & 4) {
                        p = _mm512_add_ps(pb[16 * t + b - 4], p);
                        if (b & 8) {
                            acc[t] = _mm512_add_ps(acc[t], _mm512_add_ps(pb[16 * t + 7], p));
                            continue;
                        }
                    }
                }
                pb[16 * t + b] = p;
            }
        }
        return;
    }
    for (int b = 0; b < nbg; b++) {
        __m512 p[Q5_NT];
        q5_blk32(ty, packed, wb, dws, mws, pg, b, x, dx, ax, NT, pf1, p);
#pragma GCC unroll 8
        for (int t = 0; t < NT; t++) pb[16 * t + b] = p[t];
    }
    for (int t = 0; t < NT; t++) {
        /* a partial group's missing blocks add +0 (written per block with a fixed
         * trip count: as a loop from nbg gcc called memset, once per tile and
         * token, ~1 % of a decode) */
#pragma GCC unroll 16
        for (int b = 0; b < 16; b++)
            if (b >= nbg) pb[16 * t + b] = _mm512_setzero_ps();
        acc[t] = _mm512_add_ps(acc[t], q5_tree16_ps(pb + 16 * t));
    }
}

#define Q5_TILE_CASES(TY, PK)                                                                                \
    switch (nt) {                                                                                            \
    case 8: q5_tile32(TY, PK, wb, dws, mws, pg, nbg, x, dx, ax, 8, pf1, acc, pb); break;                      \
    case 7: q5_tile32(TY, PK, wb, dws, mws, pg, nbg, x, dx, ax, 7, pf1, acc, pb); break;                      \
    case 6: q5_tile32(TY, PK, wb, dws, mws, pg, nbg, x, dx, ax, 6, pf1, acc, pb); break;                      \
    case 5: q5_tile32(TY, PK, wb, dws, mws, pg, nbg, x, dx, ax, 5, pf1, acc, pb); break;                      \
    case 4: q5_tile32(TY, PK, wb, dws, mws, pg, nbg, x, dx, ax, 4, pf1, acc, pb); break;                      \
    case 3: q5_tile32(TY, PK, wb, dws, mws, pg, nbg, x, dx, ax, 3, pf1, acc, pb); break;                      \
    case 2: q5_tile32(TY, PK, wb, dws, mws, pg, nbg, x, dx, ax, 2, pf1, acc, pb); break;                      \
    default: q5_tile32(TY, PK, wb, dws, mws, pg, nbg, x, dx, ax, 1, pf1, acc, pb); break;                     \
    }

#define Q5_TILE_FN(NAME, TY, PK)                                                                             \
    Q5_NOINL void NAME(const __m512i *wb, const float *dws, const float *mws, const uint8_t *pg, int nbg,     \
                       const uint8_t *x, const float *dx, const union q5_ax *ax, int nt, size_t pf1,         \
                       __m512 *acc, __m512 *pb) {                                                            \
        Q5_TILE_CASES(TY, PK)                                                                                \
    }
Q5_TILE_FN(q5_tile32_q8_0, Q5_Q8_0, 0)
Q5_TILE_FN(q5_tile32_q4_0, Q5_Q4_0, 0)
Q5_TILE_FN(q5_tile32_q4_1, Q5_Q4_1, 0)
Q5_TILE_FN(q5_ptile32_q8_0, Q5_Q8_0, 1)
Q5_TILE_FN(q5_ptile32_q4_0, Q5_Q4_0, 1)
Q5_TILE_FN(q5_ptile32_q4_1, Q5_Q4_1, 1)
typedef void (*q5_tile_fn)(const __m512i *, const float *, const float *, const uint8_t *, int, const uint8_t *,
                           const float *, const union q5_ax *, int, size_t, __m512 *, __m512 *);

/* The GEMM over the stack repack (j->pk NULL; n >= Q5_GEMM_MIN32) or over
 * the packed tiles (any n: with packed weights it is also the GEMV). */
static void q5_gemm32(int ty, const struct kern_mm_job *j, int64_t r0, int64_t r1) {
    const int64_t nb = j->cols / KB_QK;
    const int xb = q5_xsz(ty), xq = q5_xqs(ty), pk = j->pk != NULL;
    const q5_tile_fn tile = ty == Q5_Q8_0 ? (pk ? q5_ptile32_q8_0 : q5_tile32_q8_0)
                            : ty == Q5_Q4_0 ? (pk ? q5_ptile32_q4_0 : q5_tile32_q4_0)
                                            : (pk ? q5_ptile32_q4_1 : q5_tile32_q4_1);
    const size_t pgb = q5_pgb(ty);
    _Alignas(64) __m512i wb[8 * Q5_KC];
    _Alignas(64) float dws[16 * Q5_KC], mws[16 * Q5_KC];
    /* The chunk's activations, token-interleaved: for each run of up to
     * Q5_NT tokens (one micro-kernel call's), block b's quants of its ns
     * tokens side by side (32 ns bytes) and their per-block values [b][ns],
     * so the micro-kernel reaches every token at a constant offset from one
     * pointer (with the rows' own stride it kept eight pointers, and ran ~4 %
     * slower at n = 8). */
    _Alignas(64) uint8_t xi[Q5_TG * Q5_KC * 32];
    _Alignas(64) float dx[Q5_TG * Q5_KC];
    _Alignas(64) union q5_ax ax[Q5_TG * Q5_KC];
    _Alignas(64) __m512 pb[16 * Q5_NT];
    for (int64_t t0 = 0; t0 < j->n; t0 += Q5_TG) {
        const int ntg = (int)(j->n - t0 < Q5_TG ? j->n - t0 : Q5_TG);
        const int ntr = (ntg + Q5_NT - 1) / Q5_NT * Q5_NT; /* token slots of the copy */
        /* blocks per chunk: the stack tile's; packed, as many whole groups as
         * the activation arrays hold for ntg tokens (a decode row in one) */
        const int kc = pk ? (Q5_TG * Q5_KC / ntr) / 16 * 16 : Q5_KC;
        for (int64_t rb = r0; rb < r1; rb += Q5_RB) {
            const int64_t re = r1 - rb < Q5_RB ? r1 : rb + Q5_RB;
            for (int64_t kb0 = 0; kb0 < nb; kb0 += kc) {
                const int nbk = (int)(nb - kb0 < kc ? nb - kb0 : kc);
                /* one chunk for the whole row (decode): its arrays serve every row block */
                if (nbk < nb || rb == r0)
                for (int t = 0; t < ntg; t++)
                    for (int b = 0; b < nbk; b++) {
                        const uint8_t *bx = j->x + (size_t)(t0 + t) * j->xs + (size_t)(kb0 + b) * (size_t)xb;
                        const int sub = t / Q5_NT, ns = ntg - sub * Q5_NT < Q5_NT ? ntg - sub * Q5_NT : Q5_NT;
                        const size_t e = (size_t)sub * (size_t)kc * Q5_NT + (size_t)b * (size_t)ns + (size_t)(t % Q5_NT);
                        _mm256_store_si256((__m256i *)(xi + 32 * e), q5_ld256(bx + xq));
                        dx[e] = q5_f16(bx);
                        if (ty == Q5_Q4_1) ax[e].f = q5_f16(bx + KB_Q8_1_S);
                        else ax[e].i = -(ty == Q5_Q8_0 ? 128 : 8) * q5_sum32(bx + xq);
                    }
                for (int64_t r = rb; r < re; r += 16) {
                    const int nr = (int)(re - r < 16 ? re - r : 16);
                    const __mmask16 m = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1u);
                    const uint8_t *pt = pk ? j->pk + (size_t)(r / 16) * j->ptb + (size_t)(kb0 / 16) * pgb : NULL;
                    if (!pk) q5_repack32(ty, j->w + (size_t)r * j->wrb, j->wrb, nr, kb0, nbk, wb, dws, mws);
                    /* the next tile of this chunk, or the next chunk's first */
                    const int nxt = !pk && (r + 16 < re || kb0 + Q5_KC < nb);
                    const int64_t pr = r + 16 < re ? r + 16 : rb;
                    const int64_t pkb = r + 16 < re ? kb0 : kb0 + Q5_KC, pn = nb - pkb < Q5_KC ? nb - pkb : Q5_KC;
                    const int np = (ntg + Q5_NT - 1) / Q5_NT;
                    for (int tt = 0; tt < ntg; tt += Q5_NT) {
                        const int nt = ntg - tt < Q5_NT ? ntg - tt : Q5_NT;
                        if (nxt)
                            q5_prefetch_part(j->w, j->wrb, pr, re, (size_t)pkb * (size_t)q5_wsz(ty),
                                             (size_t)pn * (size_t)q5_wsz(ty), tt / Q5_NT, np);
                        float *y = j->y + (t0 + tt) * j->ldy + r;
                        __m512 acc[Q5_NT];
                        for (int t = 0; t < nt; t++)
                            acc[t] = kb0 ? _mm512_maskz_loadu_ps(m, y + t * j->ldy) : _mm512_setzero_ps();
                        for (int gb = 0; gb < nbk; gb += 16) {
                            const int nbg = nbk - gb < 16 ? nbk - gb : 16;
                            const size_t o = (size_t)(tt / Q5_NT) * (size_t)kc * Q5_NT + (size_t)gb * (size_t)nt;
                            tile(wb + 8 * gb, dws + 16 * gb, mws + 16 * gb, pk ? pt + (size_t)(gb / 16) * pgb : NULL,
                                 nbg, xi + 32 * o, dx + o, ax + o, nt, pk && ntg == 1 ? j->pf1 : 0, acc, pb);
                        }
                        for (int t = 0; t < nt; t++) _mm512_mask_storeu_ps(y + t * j->ldy, m, acc[t]);
                    }
                }
            }
        }
    }
}

/* Small batches: the GEMM's repacking pays off from about 4 tokens (32-element
 * types) or 7 (K-quants; measured, docs/PERFORMANCE.md); below that each token
 * runs the GEMV, over blocks of Q5_SMALL_ROWS rows so the rows stay in L2
 * for all tokens. */
enum { Q5_SMALL_ROWS = 64 };
typedef void (*q5_gemv_fn)(const struct kern_mm_job *j, int64_t r0, int64_t r1);

static void q5_per_token(q5_gemv_fn gemv, const struct kern_mm_job *j, int64_t r0, int64_t r1) {
    for (int64_t rb = r0; rb < r1; rb += Q5_SMALL_ROWS) {
        const int64_t re = r1 - rb < Q5_SMALL_ROWS ? r1 : rb + Q5_SMALL_ROWS;
        for (int64_t t = 0; t < j->n; t++) {
            struct kern_mm_job j1 = *j;
            j1.x += (size_t)t * j->xs;
            j1.y += t * j->ldy;
            j1.n = 1;
            gemv(&j1, rb, re);
        }
    }
}

static void q5_gemv_q8_0(const struct kern_mm_job *j, int64_t r0, int64_t r1) { q5_gemv32(Q5_Q8_0, j, r0, r1); }
static void q5_gemv_q4_0(const struct kern_mm_job *j, int64_t r0, int64_t r1) { q5_gemv32(Q5_Q4_0, j, r0, r1); }
static void q5_gemv_q4_1(const struct kern_mm_job *j, int64_t r0, int64_t r1) { q5_gemv32(Q5_Q4_1, j, r0, r1); }

enum { Q5_GEMM_MIN32 = 4, Q5_GEMM_MINK = 7 };

static void q5_mm_q8_0(const struct kern_mm_job *j, int64_t r0, int64_t r1) {
    if (j->n < Q5_GEMM_MIN32 && !j->pk) q5_per_token(q5_gemv_q8_0, j, r0, r1);
    else q5_gemm32(Q5_Q8_0, j, r0, r1);
}
static void q5_mm_q4_0(const struct kern_mm_job *j, int64_t r0, int64_t r1) {
    if (j->n < Q5_GEMM_MIN32 && !j->pk) q5_per_token(q5_gemv_q4_0, j, r0, r1);
    else q5_gemm32(Q5_Q4_0, j, r0, r1);
}
static void q5_mm_q4_1(const struct kern_mm_job *j, int64_t r0, int64_t r1) {
    if (j->n < Q5_GEMM_MIN32 && !j->pk) q5_per_token(q5_gemv_q4_1, j, r0, r1);
    else q5_gemm32(Q5_Q4_1, j, r0, r1);
}

/* ------------------------------------------------------------ K-quants */

/* Per super-block (256 elements, Q8_K activations), exact integers:
 *   Q4_K, Q5_K: tot = sum_k sc_k isum_k over the 8 sub-blocks of 32,
 *               mn  = sum_k m_k (bsum_2k + bsum_2k+1);
 *               acc = fma(d_x * d, (float)tot, acc);
 *               acc = fnmadd(d_x * dmin, (float)mn, acc)   (acc - product, fused)
 *   Q6_K:       tot = sum_g sc_g sum_{e in g} (q_e - 32) x_e over 16 groups of 16
 *               (computed as sum_g sc_g isum_g + sum_g (-32 sc_g) bsum_g);
 *               acc = fma(d_x * d, (float)tot, acc)
 * acc starts at 0; |tot| < 2^31 (Q5_K: 8 * 63 * 32 * 31 * 127; Q6_K: 16 *
 * 128 * 16 * 32 * 127).  In the rows of the GEMV and the dots the two
 * integers are sums of lanes (scales multiply the partial lanes, which is
 * exact), so no per-sub-block reduction is needed. */

enum { Q5_K4 = 0, Q5_K5 = 1, Q5_K6 = 2 };
enum { Q5_KKC = 4 }; /* GEMM: super-blocks per chunk (the repacked tile: 16 rows x 4 x 256 = 16 KB) */

static inline int q5_ksz(int ty) { return ty == Q5_K4 ? KB_Q4_K_SIZE : ty == Q5_K5 ? KB_Q5_K_SIZE : KB_Q6_K_SIZE; }

/* Q4_K/Q5_K quants of one row's super-block at bw, in the order
 * [sub 0 | sub 2], [sub 1 | sub 3], [sub 4 | sub 6], [sub 5 | sub 7]
 * (32 bytes each; the activation is arranged to match, q5_kx). */
Q5_INL void q5_k45_q(int ty, const uint8_t *bw, __m512i q[4]) {
    const uint8_t *qs = bw + (ty == Q5_K4 ? KB_Q4_K_QS : KB_Q5_K_QS);
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    __m512i z0 = q5_ld512(qs), z1 = q5_ld512(qs + 64);
    q[0] = _mm512_and_si512(z0, m4);
    q[1] = _mm512_and_si512(_mm512_srli_epi16(z0, 4), m4);
    q[2] = _mm512_and_si512(z1, m4);
    q[3] = _mm512_and_si512(_mm512_srli_epi16(z1, 4), m4);
    if (ty == Q5_K5) { /* 5th bit of element 64c + l: bit 2c of qh[l]; of 64c + 32 + l: bit 2c + 1 */
        const __m512i qh = _mm512_broadcast_i64x4(q5_ld256(bw + KB_Q5_K_QH)), h16 = _mm512_set1_epi8(16);
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            const int c0 = 4 * (r / 2) + r % 2; /* qh bit of the low half; the high half (next chunk) uses c0 + 2 */
            const __m512i bits = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << c0)), _mm256_set1_epi8((char)(1 << (c0 + 2))), 1);
            q[r] = _mm512_mask_add_epi8(q[r], _mm512_test_epi8_mask(qh, bits), q[r], h16);
        }
    }
}

/* the activation quants of a super-block arranged as q5_k45_q */
static inline void q5_kx(const uint8_t *bx, __m512i x[4]) {
    const uint8_t *q = bx + KB_Q8_K_QS;
    x[0] = q5_ld2x32(q, q + 64);
    x[1] = q5_ld2x32(q + 32, q + 96);
    x[2] = q5_ld2x32(q + 128, q + 192);
    x[3] = q5_ld2x32(q + 160, q + 224);
}

/* The lane vectors whose lane sums are tot (*t) and mn (*mn) of one
 * Q4_K/Q5_K row super-block, against arranged x (bx: the activation block,
 * for its bsums; pb: bsum_2k + bsum_2k+1 for k < 8 if prepared, or NULL). */
Q5_INL void q5_k45_vec(int ty, const uint8_t *bw, const __m512i *x, const uint8_t *bx, const int16_t *pb, __m512i *tv,
                       __m512i *mv) {
    const __m512i zero = _mm512_setzero_si512();
    __m512i q[4];
    q5_k45_q(ty, bw, q);
    uint8_t sc[8], m[8];
    kb_k4_scales(bw + KB_Q4_K_SC, sc, m);
    uint64_t sc64, m64;
    memcpy(&sc64, sc, 8);
    memcpy(&m64, m, 8);
    /* vpmaddubsw: pairs of u8 q (<= 31) times s8 x, |sum| <= 2 * 31 * 127, no
     * saturation; vpdpwssd then scales each i16 pair by its sub-block's
     * scale (i16) into i32: t = sum of sc_k * (pair sums), exact */
    const __m512i v = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc64)));
    /* register r holds sub-blocks (a | a + 2), a = 4(r/2) + r%2: i16 lanes 0..15 use sc_a, 16..31 sc_(a+2) */
    const __m512i i0 = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
    const __m512i one = _mm512_set1_epi16(1), four = _mm512_set1_epi16(4);
    __m512i t = _mm512_dpwssd_epi32(zero, _mm512_maddubs_epi16(q[0], x[0]), _mm512_permutexvar_epi16(i0, v));
    t = _mm512_dpwssd_epi32(t, _mm512_maddubs_epi16(q[1], x[1]), _mm512_permutexvar_epi16(_mm512_add_epi16(i0, one), v));
    t = _mm512_dpwssd_epi32(t, _mm512_maddubs_epi16(q[2], x[2]), _mm512_permutexvar_epi16(_mm512_add_epi16(i0, four), v));
    *tv = _mm512_dpwssd_epi32(t, _mm512_maddubs_epi16(q[3], x[3]),
                              _mm512_permutexvar_epi16(_mm512_add_epi16(i0, _mm512_set1_epi16(5)), v));
    __m128i m16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)m64));
    if (pb) { /* mn: m (8 i16) against the pair sums */
        *mv = _mm512_zextsi128_si512(_mm_madd_epi16(m16, _mm_loadu_si128((const __m128i *)pb)));
        return;
    }
    /* mn: bsums (16 i16) against (m0, m0, m1, m1, ..., m7, m7) */
    __m256i mp = _mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16));
    *mv = _mm512_zextsi256_si512(_mm256_madd_epi16(q5_ld256(bx + KB_Q8_K_BSUMS), mp));
}

/* Q6_K quants of one row's super-block in element order, 64 per register */
Q5_INL void q5_k6_q(const uint8_t *bw, __m512i q[4]) {
    const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
    /* qh bits 2j..2j+1 go to bits 4..5: shift left 4 (elements 0..31), 2 (32..63), 0 (64..95), right 2 (96..127) */
    const __m512i shl = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i shr = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        __m512i ql = q5_ld512(bw + KB_Q6_K_QL + 64 * h);
        __m512i qh = _mm512_broadcast_i64x4(q5_ld256(bw + KB_Q6_K_QH + 32 * h));
        q[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_sllv_epi16(qh, shl), m30));
        q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                       _mm512_and_si512(_mm512_srlv_epi16(qh, shr), m30));
    }
}

/* i16 lane p of Q6_K register r (elements 64r + 2p, 64r + 2p + 1) takes
 * the scale of group 4r + p/8 */
#define Q5_G8(g) g, g, g, g, g, g, g, g
static const int16_t q5_k6_sidx[4][32] = {
    {Q5_G8(0), Q5_G8(1), Q5_G8(2), Q5_G8(3)},
    {Q5_G8(4), Q5_G8(5), Q5_G8(6), Q5_G8(7)},
    {Q5_G8(8), Q5_G8(9), Q5_G8(10), Q5_G8(11)},
    {Q5_G8(12), Q5_G8(13), Q5_G8(14), Q5_G8(15)},
};
#undef Q5_G8

/* The lane vector whose lane sum is tot of one Q6_K row super-block; bx:
 * the activation block (read as stored). */
Q5_INL __m512i q5_k6_vec(const uint8_t *bw, const uint8_t *bx) {
    __m512i q[4];
    q5_k6_q(bw, q);
    const __m128i sc8 = q5_ld128(bw + KB_Q6_K_SC);
    /* vpmaddubsw pairs (|sum| <= 2 * 63 * 127) scaled by vpdpwssd, as in q5_k45_vec */
    const __m512i sc = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(sc8));
    const uint8_t *qx = bx + KB_Q8_K_QS;
    __m512i t = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int r = 0; r < 4; r++) /* i16 lane p of register r: elements 64r + 2p, +1, group 4r + p/8 */
        t = _mm512_dpwssd_epi32(t, _mm512_maddubs_epi16(q[r], q5_ld512(qx + 64 * r)),
                                _mm512_permutexvar_epi16(_mm512_loadu_si512(q5_k6_sidx[r]), sc));
    __m256i off = _mm256_madd_epi16(q5_ld256(bx + KB_Q8_K_BSUMS), _mm256_cvtepi8_epi16(sc8));
    return _mm512_sub_epi32(t, _mm512_zextsi256_si512(_mm256_slli_epi32(off, 5)));
}

/* acc after super-blocks 0 .. ns-1 (ns <= 4) at w, activation at x (xa:
 * arranged as q5_kx, 4 registers per super-block, or NULL to arrange here;
 * pb: the bsum pair sums, 8 per super-block, or NULL).  The chain steps
 * are those of the K-quant order (acc = fma(d_x d, tot, acc), then
 * fnmadd(d_x dmin, mn, acc)); the lane reductions, scale loads and the
 * products d_x d are shared by the 4 super-blocks. */
Q5_INL float q5_rowk4(int ty, float acc, const uint8_t *w, const uint8_t *x, const __m512i *xa, const int16_t *pb,
                      int ns) {
    const int ws = q5_ksz(ty);
    __m512i v[8];
    uint32_t dd[4] = {0, 0, 0, 0};
    float dx[4] = {0, 0, 0, 0};
#pragma GCC unroll 4
    for (int s = 0; s < 4; s++) {
        const uint8_t *bw = w + s * ws, *bx = x + s * KB_Q8_K_SIZE;
        if (s >= ns) { /* fewer than 4 left: zero sums, no chain step */
            v[2 * s] = v[2 * s + 1] = _mm512_setzero_si512();
            continue;
        }
        dx[s] = kb_ld_f32(bx + KB_Q8_K_D);
        if (ty == Q5_K6) {
            v[2 * s] = q5_k6_vec(bw, bx);
            v[2 * s + 1] = _mm512_setzero_si512();
            uint16_t h;
            memcpy(&h, bw + KB_Q6_K_D, 2);
            dd[s] = h;
        } else {
            __m512i xr[4];
            if (!xa) q5_kx(bx, xr);
            q5_k45_vec(ty, bw, xa ? xa + 4 * s : xr, bx, pb ? pb + 8 * s : NULL, &v[2 * s], &v[2 * s + 1]);
            dd[s] = kb_ld_u32(bw + KB_Q4_K_D); /* d | dmin << 16 */
        }
    }
    /* Q4_K/Q5_K: lane 2s = tot of super-block s, 2s + 1 = its mn; Q6_K (no
     * mn): lane s = tot.  A smaller tree when at most 2 super-blocks are
     * left (see q5_comb*: each level halves the partial sums per item). */
    __m512i g;
    if (ty == Q5_K6 && ns <= 2) {
        g = q5_comb1(v[0], v[2]);
        g = _mm512_add_epi32(g, _mm512_shuffle_epi32(g, _MM_PERM_BADC));
        g = _mm512_add_epi32(g, _mm512_shuffle_i64x2(g, g, _MM_SHUFFLE(2, 3, 0, 1)));
    } else if (ty == Q5_K6) {
        g = q5_comb2(q5_comb1(v[0], v[2]), q5_comb1(v[4], v[6]));
        g = _mm512_add_epi32(g, _mm512_shuffle_i64x2(g, g, _MM_SHUFFLE(2, 3, 0, 1)));
    } else if (ns <= 2) {
        g = q5_comb2(q5_comb1(v[0], v[1]), q5_comb1(v[2], v[3]));
        g = _mm512_add_epi32(g, _mm512_shuffle_i64x2(g, g, _MM_SHUFFLE(2, 3, 0, 1)));
    } else {
        g = q5_comb4(q5_comb2(q5_comb1(v[0], v[1]), q5_comb1(v[2], v[3])),
                     q5_comb2(q5_comb1(v[4], v[5]), q5_comb1(v[6], v[7])));
    }
    g = _mm512_add_epi32(g, _mm512_shuffle_i64x2(g, g, _MM_SHUFFLE(1, 0, 3, 2)));
    _Alignas(32) float tm[8], f[8];
    _mm256_store_ps(tm, _mm256_cvtepi32_ps(_mm512_castsi512_si256(g)));
    const __m256 vd = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)dd));
    const __m256 vx = _mm256_setr_ps(dx[0], dx[0], dx[1], dx[1], dx[2], dx[2], dx[3], dx[3]);
    _mm256_store_ps(f, _mm256_mul_ps(vx, vd));
    __m128 a = _mm_set_ss(acc);
#pragma GCC unroll 4
    for (int s = 0; s < ns; s++) {
        a = _mm_fmadd_ss(_mm_set_ss(f[2 * s]), _mm_set_ss(tm[ty == Q5_K6 ? s : 2 * s]), a);
        if (ty != Q5_K6) a = _mm_fnmadd_ss(_mm_set_ss(f[2 * s + 1]), _mm_set_ss(tm[2 * s + 1]), a);
    }
    return _mm_cvtss_f32(a);
}

Q5_INL float q5_dotk(int ty, int64_t n, const uint8_t *w, const uint8_t *x) {
    const int ws = q5_ksz(ty);
    const int64_t nsb = n / KB_QKK;
    float acc = 0.0f;
    int64_t i = 0;
    for (; i + 4 <= nsb; i += 4) acc = q5_rowk4(ty, acc, w + i * ws, x + i * KB_Q8_K_SIZE, NULL, NULL, 4);
    if (i < nsb) acc = q5_rowk4(ty, acc, w + i * ws, x + i * KB_Q8_K_SIZE, NULL, NULL, (int)(nsb - i));
    return acc;
}

float kern_a5_dot_q4_k(int64_t n, const void *w, const void *xq) { return q5_dotk(Q5_K4, n, w, xq); }
float kern_a5_dot_q5_k(int64_t n, const void *w, const void *xq) { return q5_dotk(Q5_K5, n, w, xq); }
float kern_a5_dot_q6_k(int64_t n, const void *w, const void *xq) { return q5_dotk(Q5_K6, n, w, xq); }

/* GEMV: the activation arranged once per call for Q4_K/Q5_K (4 registers
 * per super-block, chunks of Q5_KGV super-blocks); Q6_K reads it as stored. */
enum { Q5_KGV = 64 };

Q5_INL void q5_gemvk(int ty, const struct kern_mm_job *j, int64_t r0, int64_t r1) {
    const int64_t nsb = j->cols / KB_QKK;
    const int ws = q5_ksz(ty);
    _Alignas(64) __m512i xa[4 * Q5_KGV];
    _Alignas(64) int16_t pb[8 * Q5_KGV];
    for (int64_t s0 = 0; s0 < nsb; s0 += Q5_KGV) {
        const int64_t s1 = nsb - s0 < Q5_KGV ? nsb : s0 + Q5_KGV;
        if (ty != Q5_K6)
            for (int64_t i = s0; i < s1; i++) {
                const uint8_t *bx = j->x + i * KB_Q8_K_SIZE;
                q5_kx(bx, xa + 4 * (i - s0));
                for (int k = 0; k < 8; k++) { /* |pair| <= 32 * 127: fits i16 */
                    int16_t b0, b1;
                    memcpy(&b0, bx + KB_Q8_K_BSUMS + 4 * k, 2);
                    memcpy(&b1, bx + KB_Q8_K_BSUMS + 4 * k + 2, 2);
                    pb[8 * (i - s0) + k] = (int16_t)(b0 + b1);
                }
            }
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *w = j->w + (size_t)r * j->wrb;
            float acc = s0 ? j->y[r] : 0.0f;
            int64_t i = s0;
            for (; i + 4 <= s1; i += 4) /* ns constant: the checks for a short step fold away */
                acc = q5_rowk4(ty, acc, w + i * ws, j->x + i * KB_Q8_K_SIZE, ty == Q5_K6 ? NULL : xa + 4 * (i - s0),
                               ty == Q5_K6 ? NULL : pb + 8 * (i - s0), 4);
            if (i < s1)
                acc = q5_rowk4(ty, acc, w + i * ws, j->x + i * KB_Q8_K_SIZE, ty == Q5_K6 ? NULL : xa + 4 * (i - s0),
                               ty == Q5_K6 ? NULL : pb + 8 * (i - s0), (int)(s1 - i));
            j->y[r] = acc;
        }
    }
}

/* GEMM repack of rows [0, nr) (later rows repeat the last) x super-blocks
 * [s0, s0 + nsk): wb[64 i + 8 k + g] lane r = element dword 8k + g of row
 * r's super-block i (k: sub-block of 32 elements), as u8 quants (Q6_K: the
 * 6-bit q, the -32 is applied through the bsums); per super-block i,
 * sc[16 (16 i + k) + r] the sub-block (Q4_K/Q5_K, 8) or group (Q6_K, 16)
 * scales as i32, mm[16 (8 i + k) + r] the i16 pairs (m_2k, m_2k+1), k < 4
 * (Q4_K/Q5_K) or (-32 sc_2k, -32 sc_2k+1), k < 8 (Q6_K), dv/dm[16 i + r] d
 * and dmin. */
Q5_NOINL void q5_repackk(int ty, const uint8_t *w, size_t wrb, int nr, int64_t s0, int nsk, __m512i *wb, int32_t *sc,
                       int32_t *mm, float *dv, float *dm) {
    const int ws = q5_ksz(ty);
    _Alignas(64) uint8_t tmp[16][KB_QKK];
    size_t ro[16];
    for (int i = 0; i < 16; i++) ro[i] = (size_t)i * KB_QKK;
    for (int i = 0; i < nsk; i++) {
        for (int r = 0; r < 16; r++) {
            const uint8_t *bw = w + (size_t)(r < nr ? r : nr - 1) * wrb + (size_t)(s0 + i) * (size_t)ws;
            __m512i q[4];
            if (ty == Q5_K6) {
                q5_k6_q(bw, q);
                for (int c = 0; c < 4; c++) _mm512_store_si512(tmp[r] + 64 * c, q[c]);
                const int8_t *s8 = (const int8_t *)(bw + KB_Q6_K_SC);
                for (int g = 0; g < 16; g++) sc[16 * (16 * i + g) + r] = s8[g];
                for (int k = 0; k < 8; k++) {
                    uint32_t lo = (uint16_t)(int16_t)(-32 * s8[2 * k]), hi = (uint16_t)(int16_t)(-32 * s8[2 * k + 1]);
                    mm[16 * (8 * i + k) + r] = (int32_t)(lo | hi << 16);
                }
                dv[16 * i + r] = q5_f16(bw + KB_Q6_K_D);
            } else {
                q5_k45_q(ty, bw, q);
                /* q[c] = [sub a | sub a + 2] with a = 4(c/2) + c%2 */
                for (int c = 0; c < 4; c++) {
                    const int a = 4 * (c / 2) + c % 2;
                    _mm256_store_si256((__m256i *)(tmp[r] + 32 * a), _mm512_castsi512_si256(q[c]));
                    _mm256_store_si256((__m256i *)(tmp[r] + 32 * (a + 2)), _mm512_extracti64x4_epi64(q[c], 1));
                }
                uint8_t s6[8], m6[8];
                kb_k4_scales(bw + KB_Q4_K_SC, s6, m6);
                for (int k = 0; k < 8; k++) sc[16 * (16 * i + k) + r] = s6[k];
                for (int k = 0; k < 4; k++) /* against the activation's pair sums (bsum_2k + bsum_2k+1) */
                    mm[16 * (8 * i + k) + r] = (int32_t)((uint32_t)m6[2 * k] | (uint32_t)m6[2 * k + 1] << 16);
                dv[16 * i + r] = q5_f16(bw + KB_Q4_K_D);
                dm[16 * i + r] = q5_f16(bw + KB_Q4_K_DMIN);
            }
        }
        for (int k = 0; k < 8; k++) q5_tr16x32(&tmp[0][32 * k], ro, wb + 64 * i + 8 * k);
    }
}

/* Bytes of a token's activation quants per super-block in the interleaved
 * copies the K-quant GEMMs make, [super-block][token][Q5_XQ] per group of
 * Q5_NT tokens: every product's broadcast operand is then one base register
 * plus a constant, which leaves gcc the registers for the embedded-broadcast
 * vpdpbusd (with a base per token it broadcast from general registers, one
 * extra vector op per product). */
enum { Q5_XQ = KB_QKK };

/* acc[t] over nsk repacked super-blocks for NT tokens; x: token 0's first
 * super-block, tokens xs apart (the Q6_K bsums); xq: the quants interleaved
 * ([i][t][Q5_XQ]); dx: [t][Q5_KKC]; pbx: [t][Q5_KKC][8] the bsum pair sums
 * (Q4_K/Q5_K). */
Q5_INL void q5_tilek(int ty, const __m512i *wb, const int32_t *sc, const int32_t *mm, const float *dv,
                     const float *dm, int nsk, const uint8_t *x, size_t xs, const uint8_t *xq, const float *dx,
                     const int16_t *pbx, int NT, __m512 *acc) {
    for (int i = 0; i < nsk; i++) {
        const uint8_t *bx = x + (size_t)i * KB_Q8_K_SIZE;
        __m512i tot[Q5_NT], s[Q5_NT];
        const int ng = ty == Q5_K6 ? 16 : 8, gd = ty == Q5_K6 ? 4 : 8; /* groups, dwords per group */
        for (int gi = 0; gi < ng; gi++) {
#pragma GCC unroll 8
            for (int t = 0; t < NT; t++) s[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
            for (int g = 0; g < gd; g++) {
                const __m512i wg = _mm512_load_si512(wb + 64 * i + gd * gi + g);
                const uint8_t *q = xq + (size_t)i * (size_t)NT * Q5_XQ + 4 * (gd * gi + g);
#pragma GCC unroll 8
                for (int t = 0; t < NT; t++) s[t] = q5_dpb(s[t], wg, q + Q5_XQ * t);
            }
            const __m512i scv = _mm512_load_si512(sc + 16 * (16 * i + gi));
#pragma GCC unroll 8
            for (int t = 0; t < NT; t++) {
                __m512i v = _mm512_mullo_epi32(s[t], scv);
                tot[t] = gi ? _mm512_add_epi32(tot[t], v) : v;
            }
        }
        /* Q4_K/Q5_K: mn into s; Q6_K: the -32 term into tot */
#pragma GCC unroll 8
        for (int t = 0; t < NT; t++) s[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++) {
            if (ty != Q5_K6 && k >= 4) break; /* Q4_K/Q5_K: 4 pairs */
            const __m512i mk = _mm512_load_si512(mm + 16 * (8 * i + k));
#pragma GCC unroll 8
            for (int t = 0; t < NT; t++) {
                if (ty == Q5_K6) { /* bsums dword k: (bsum_2k, bsum_2k+1) */
                    const __m512i b = _mm512_set1_epi32(q5_ld_i32(bx + (size_t)t * xs + KB_Q8_K_BSUMS + 4 * k));
                    tot[t] = _mm512_dpwssd_epi32(tot[t], mk, b);
                } else { /* pair sums 2k, 2k+1 of token t */
                    int32_t pv;
                    memcpy(&pv, pbx + 8 * (t * Q5_KKC + i) + 2 * k, 4);
                    s[t] = _mm512_dpwssd_epi32(s[t], mk, _mm512_set1_epi32(pv));
                }
            }
        }
        const __m512 d = _mm512_load_ps(dv + 16 * i);
#pragma GCC unroll 8
        for (int t = 0; t < NT; t++) {
            const __m512 vdx = _mm512_set1_ps(dx[t * Q5_KKC + i]);
            acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(vdx, d), _mm512_cvtepi32_ps(tot[t]), acc[t]);
            if (ty != Q5_K6)
                acc[t] = _mm512_fnmadd_ps(_mm512_mul_ps(vdx, _mm512_load_ps(dm + 16 * i)), _mm512_cvtepi32_ps(s[t]), acc[t]);
        }
    }
}

#define Q5_TILEK_CASES(TY)                                                                                   \
    switch (nt) {                                                                                            \
    case 8: q5_tilek(TY, wb, sc, mm, dv, dm, nsk, x, xs, xq, dx, pbx, 8, acc); break;                                 \
    case 7: q5_tilek(TY, wb, sc, mm, dv, dm, nsk, x, xs, xq, dx, pbx, 7, acc); break;                                 \
    case 6: q5_tilek(TY, wb, sc, mm, dv, dm, nsk, x, xs, xq, dx, pbx, 6, acc); break;                                 \
    case 5: q5_tilek(TY, wb, sc, mm, dv, dm, nsk, x, xs, xq, dx, pbx, 5, acc); break;                                 \
    case 4: q5_tilek(TY, wb, sc, mm, dv, dm, nsk, x, xs, xq, dx, pbx, 4, acc); break;                                 \
    case 3: q5_tilek(TY, wb, sc, mm, dv, dm, nsk, x, xs, xq, dx, pbx, 3, acc); break;                                 \
    case 2: q5_tilek(TY, wb, sc, mm, dv, dm, nsk, x, xs, xq, dx, pbx, 2, acc); break;                                 \
    default: q5_tilek(TY, wb, sc, mm, dv, dm, nsk, x, xs, xq, dx, pbx, 1, acc); break;                                \
    }

Q5_NOINL void q5_tilek_k4(const __m512i *wb, const int32_t *sc, const int32_t *mm, const float *dv, const float *dm,
                        int nsk, const uint8_t *x, size_t xs, const uint8_t *xq, const float *dx, const int16_t *pbx,
                        int nt, __m512 *acc) {
    Q5_TILEK_CASES(Q5_K4)
}
Q5_NOINL void q5_tilek_k5(const __m512i *wb, const int32_t *sc, const int32_t *mm, const float *dv, const float *dm,
                        int nsk, const uint8_t *x, size_t xs, const uint8_t *xq, const float *dx, const int16_t *pbx,
                        int nt, __m512 *acc) {
    Q5_TILEK_CASES(Q5_K5)
}
Q5_NOINL void q5_tilek_k6(const __m512i *wb, const int32_t *sc, const int32_t *mm, const float *dv, const float *dm,
                        int nsk, const uint8_t *x, size_t xs, const uint8_t *xq, const float *dx, const int16_t *pbx,
                        int nt, __m512 *acc) {
    Q5_TILEK_CASES(Q5_K6)
}

static void q5_gemmk(int ty, const struct kern_mm_job *j, int64_t r0, int64_t r1) {
    const int64_t nsb = j->cols / KB_QKK;
    _Alignas(64) __m512i wb[64 * Q5_KKC];
    _Alignas(64) int32_t sc[16 * 16 * Q5_KKC], mm[16 * 8 * Q5_KKC];
    _Alignas(64) float dv[16 * Q5_KKC], dm[16 * Q5_KKC];
    _Alignas(64) float dx[Q5_TG * Q5_KKC];
    _Alignas(64) int16_t pbx[Q5_TG * Q5_KKC * 8];
    _Alignas(64) uint8_t xi[Q5_TG * Q5_KKC * Q5_XQ]; /* per group of Q5_NT tokens: [i][t][Q5_XQ] */
    for (int64_t t0 = 0; t0 < j->n; t0 += Q5_TG)
    for (int64_t rb = r0; rb < r1; rb += Q5_RB) {
        const int ntg = (int)(j->n - t0 < Q5_TG ? j->n - t0 : Q5_TG);
        const int64_t re = r1 - rb < Q5_RB ? r1 : rb + Q5_RB;
        for (int64_t s0 = 0; s0 < nsb; s0 += Q5_KKC) {
            const int nsk = (int)(nsb - s0 < Q5_KKC ? nsb - s0 : Q5_KKC);
            for (int t = 0; t < ntg; t++)
                for (int i = 0; i < nsk; i++) {
                    const uint8_t *bx = j->x + (size_t)(t0 + t) * j->xs + (size_t)(s0 + i) * KB_Q8_K_SIZE;
                    dx[t * Q5_KKC + i] = kb_ld_f32(bx + KB_Q8_K_D);
                    const int tg = t / Q5_NT * Q5_NT, ng = ntg - tg < Q5_NT ? ntg - tg : Q5_NT;
                    memcpy(xi + ((size_t)tg * Q5_KKC + (size_t)i * (size_t)ng + (size_t)(t - tg)) * Q5_XQ,
                           bx + KB_Q8_K_QS, Q5_XQ);
                    for (int k = 0; k < 8; k++) { /* |pair| <= 32 * 127: fits i16 */
                        int16_t b0, b1;
                        memcpy(&b0, bx + KB_Q8_K_BSUMS + 4 * k, 2);
                        memcpy(&b1, bx + KB_Q8_K_BSUMS + 4 * k + 2, 2);
                        pbx[8 * (t * Q5_KKC + i) + k] = (int16_t)(b0 + b1);
                    }
                }
            for (int64_t r = rb; r < re; r += 16) {
                const int nr = (int)(re - r < 16 ? re - r : 16);
                const __mmask16 m = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1u);
                q5_repackk(ty, j->w + (size_t)r * j->wrb, j->wrb, nr, s0, nsk, wb, sc, mm, dv, dm);
                const int nxt = r + 16 < re || s0 + Q5_KKC < nsb;
                const int64_t pr = r + 16 < re ? r + 16 : rb;
                const int64_t ps = r + 16 < re ? s0 : s0 + Q5_KKC, pn = nsb - ps < Q5_KKC ? nsb - ps : Q5_KKC;
                const int np = (ntg + Q5_NT - 1) / Q5_NT;
                for (int tt = 0; tt < ntg; tt += Q5_NT) {
                    const int nt = ntg - tt < Q5_NT ? ntg - tt : Q5_NT;
                    if (nxt)
                        q5_prefetch_part(j->w, j->wrb, pr, re, (size_t)ps * (size_t)q5_ksz(ty), (size_t)pn * (size_t)q5_ksz(ty),
                                         tt / Q5_NT, np);
                    float *y = j->y + (t0 + tt) * j->ldy + r;
                    __m512 acc[Q5_NT];
                    for (int t = 0; t < nt; t++)
                        acc[t] = s0 ? _mm512_maskz_loadu_ps(m, y + t * j->ldy) : _mm512_setzero_ps();
                    const uint8_t *x = j->x + (size_t)(t0 + tt) * j->xs + (size_t)s0 * KB_Q8_K_SIZE;
                    const float *dxt = dx + tt * Q5_KKC;
                    const int16_t *pbt = pbx + 8 * tt * Q5_KKC;
                    const uint8_t *xq = xi + (size_t)tt * Q5_KKC * Q5_XQ;
                    if (ty == Q5_K4) q5_tilek_k4(wb, sc, mm, dv, dm, nsk, x, j->xs, xq, dxt, pbt, nt, acc);
                    else if (ty == Q5_K5) q5_tilek_k5(wb, sc, mm, dv, dm, nsk, x, j->xs, xq, dxt, pbt, nt, acc);
                    else q5_tilek_k6(wb, sc, mm, dv, dm, nsk, x, j->xs, xq, dxt, pbt, nt, acc);
                    for (int t = 0; t < nt; t++) _mm512_mask_storeu_ps(y + t * j->ldy, m, acc[t]);
                }
            }
        }
    }
}

/* ------------------------------------------- K-quants: packed weights (kern_pack) */

/* A 16-row tile of a packed K-quant matrix is its super-blocks in order,
 * each one record of whole 64-byte lines (all loads aligned):
 *   Q4_K (2368 bytes = 16 rows x 148, the file's 144 + 4):
 *     @0    d    f16 [16 rows]
 *     @32   dmin f16 [16 rows]
 *     @64   sc   u8  [8 sub-blocks][16 rows]
 *     @192  m    u8  [4 pairs][16 rows][2]   (m_2k, m_2k+1): i16 pairs after vpmovzxbw
 *     @320  qs   [32 vectors][16 rows][4 bytes]: vector v lane i = row i's qs
 *           bytes 4v..4v+3; with v = 8c + g its low nibbles pair with
 *           activation dword 16c + g (sub-block 2c) and its high nibbles
 *           with dword 16c + 8 + g (sub-block 2c + 1)
 *   Q5_K (2880 bytes = 16 rows x 180, the file's 176 + 4): the Q4_K header
 *     (@0 .. @320), then the qs vectors as Q4_K's with the 8 qh vectors
 *     (vector g lane i = row i's qh bytes 4g..4g+3) between them, in the
 *     order the kernel first reads them (q5_pk5_qs, q5_pk5_qh)
 *   Q6_K (3392 bytes = 16 rows x 212, the file's 210 + 2):
 *     @0    d    f16 [16 rows] (32 bytes, then 32 of padding)
 *     @64   sc   i8  [16 groups][16 rows]
 *     @320  for h < 2, g < 8: three vectors (192 bytes, lane i = row i):
 *           ql bytes 64h + 4g.., ql bytes 64h + 32 + 4g.., qh bytes 32h + 4g..
 *     (in half h, element 32m + l of the half (m < 4, l < 32) is the low
 *     (m < 2) or high nibble of ql[64h + 32(m & 1) + l] with bits 2m, 2m+1
 *     of qh[32h + l] on top; its group is 8h + 2m + l / 16)
 * Rows past the matrix are zeros (d = 0: their lanes add +0).  The
 * micro-kernel loads each vector as it is, unpacks the nibbles (and the
 * Q5_K/Q6_K high bits) once for all its tokens, and keeps the K-quant summation
 * order: the integers tot and mn are exact, however they are grouped. */
enum {
    Q5_PK4_SB = 2368, Q5_PK4_SC = 64, Q5_PK4_M = 192, Q5_PK4_QS = 320,
    Q5_PK5_SB = 2880, Q5_PK5_Q = 320,
    Q5_PK6_SB = 3392, Q5_PK6_SC = 64, Q5_PK6_Q = 320,
};
static inline size_t q5_pksb(int ty) { return ty == Q5_K6 ? Q5_PK6_SB : ty == Q5_K5 ? Q5_PK5_SB : Q5_PK4_SB; }

static size_t q5_ptb_q4_k(int64_t c) { return (size_t)(c / KB_QKK) * Q5_PK4_SB; }
static size_t q5_ptb_q5_k(int64_t c) { return (size_t)(c / KB_QKK) * Q5_PK5_SB; }
static size_t q5_ptb_q6_k(int64_t c) { return (size_t)(c / KB_QKK) * Q5_PK6_SB; }

/* Q5_K quant vectors: qs vector 8c + g and qh vector g (lane i = row i's
 * qh bytes 4g..4g+3); qh vector g sits after qs vector g, which is where
 * the kernel first reads it, so the tile is read in order */
static inline int q5_pk5_qs(int c, int g) { return c == 0 ? Q5_PK5_Q + 128 * g : Q5_PK5_Q + 1024 + 512 * (c - 1) + 64 * g; }
static inline int q5_pk5_qh(int g) { return Q5_PK5_Q + 128 * g + 64; }

/* Q4_K and Q5_K (same d, dmin and scale fields; Q5_K adds qh) */
static void q5_pack_k45(int ty, const uint8_t *w, size_t wrb, int nr, int64_t cols, uint8_t *dst) {
    const int64_t nsb = cols / KB_QKK;
    const size_t sbb = q5_pksb(ty);
    memset(dst, 0, (size_t)nsb * sbb);
    for (int64_t s = 0; s < nsb; s++) {
        uint8_t *o = dst + (size_t)s * sbb;
        for (int i = 0; i < nr; i++) {
            const uint8_t *b = w + (size_t)i * wrb + (size_t)s * (size_t)q5_ksz(ty);
            uint8_t sc[8], m[8];
            kb_k4_scales(b + KB_Q4_K_SC, sc, m);
            memcpy(o + 2 * i, b + KB_Q4_K_D, 2);
            memcpy(o + 32 + 2 * i, b + KB_Q4_K_DMIN, 2);
            for (int k = 0; k < 8; k++) o[Q5_PK4_SC + 16 * k + i] = sc[k];
            for (int k = 0; k < 4; k++) {
                o[Q5_PK4_M + 32 * k + 2 * i] = m[2 * k];
                o[Q5_PK4_M + 32 * k + 2 * i + 1] = m[2 * k + 1];
            }
            for (int v = 0; v < 32; v++)
                memcpy(o + (ty == Q5_K5 ? q5_pk5_qs(v / 8, v % 8) : Q5_PK4_QS + 64 * v) + 4 * i,
                       b + (ty == Q5_K5 ? KB_Q5_K_QS : KB_Q4_K_QS) + 4 * v, 4);
            if (ty == Q5_K5)
                for (int v = 0; v < 8; v++) memcpy(o + q5_pk5_qh(v) + 4 * i, b + KB_Q5_K_QH + 4 * v, 4);
        }
    }
}
static void q5_pack_q4_k(const uint8_t *w, size_t wrb, int nr, int64_t c, uint8_t *d) { q5_pack_k45(Q5_K4, w, wrb, nr, c, d); }
static void q5_pack_q5_k(const uint8_t *w, size_t wrb, int nr, int64_t c, uint8_t *d) { q5_pack_k45(Q5_K5, w, wrb, nr, c, d); }

static void q5_pack_q6_k(const uint8_t *w, size_t wrb, int nr, int64_t cols, uint8_t *dst) {
    const int64_t nsb = cols / KB_QKK;
    memset(dst, 0, (size_t)nsb * Q5_PK6_SB);
    for (int64_t s = 0; s < nsb; s++) {
        uint8_t *o = dst + (size_t)s * Q5_PK6_SB;
        for (int i = 0; i < nr; i++) {
            const uint8_t *b = w + (size_t)i * wrb + (size_t)s * KB_Q6_K_SIZE;
            memcpy(o + 2 * i, b + KB_Q6_K_D, 2);
            for (int g = 0; g < 16; g++) o[Q5_PK6_SC + 16 * g + i] = b[KB_Q6_K_SC + g];
            for (int h = 0; h < 2; h++)
                for (int g = 0; g < 8; g++) {
                    uint8_t *q = o + Q5_PK6_Q + 192 * (8 * h + g) + 4 * i;
                    memcpy(q, b + KB_Q6_K_QL + 64 * h + 4 * g, 4);
                    memcpy(q + 64, b + KB_Q6_K_QL + 64 * h + 32 + 4 * g, 4);
                    memcpy(q + 128, b + KB_Q6_K_QH + 32 * h + 4 * g, 4);
                }
        }
    }
}

/* acc[t] over nsk packed super-blocks (p: the first of the tile chunk) for
 * NT tokens.  x: the tokens' activation quants interleaved, [i][t][Q5_XQ]
 * (see Q5_XQ); dx[t
 * * ld + i] = d_x; ax[(t * ld + i) * Q5_PAW + k]: Q4_K the i16 pairs (P_2k,
 * P_2k+1) of the sub-block sums P_j = bsum_2j + bsum_2j+1 (k < 4), Q6_K
 * -32 bsum_k (k < 16).  pf: where to prefetch the bytes of super-block i
 * (pf + i * record bytes), or NULL. */
enum { Q5_PAW = 16 };
Q5_INL void q5_ptilek(int ty, const uint8_t *p, int nsk, const uint8_t *x, const float *dx,
                      const int32_t *ax, int ld, int NT, const uint8_t *pf, __m512 *acc) {
    const size_t sbb = q5_pksb(ty);
    /* one token alone: each sum split into two chains (exact, no bits change) */
    const int NC = NT >= 2 ? 1 : 2;
    for (int i = 0; i < nsk; i++, p += sbb) {
        const uint8_t *bx = x + (size_t)i * (size_t)NT * Q5_XQ;
        /* the record's prefetch lines, spread over its weight loads (a burst
         * of 37 or 53 prefetches at the record's start streamed Q4_K at 15
         * GB/s, Q6_K at 10), to L2 (T1 measured better than T0) */
        const char *pfi = pf ? (const char *)(pf + i * sbb) : NULL;
        __m512i tot[Q5_NT], mn[Q5_NT];
        if (ty == Q5_K6 && NT <= 2) {
            /* few tokens: the 4 quant vectors of dword g (m = 0..3) from one
             * load each of ql, ql + 32 bytes and qh; 8 chains per token */
            const __m512i m30 = _mm512_set1_epi8(0x30), m0f = _mm512_set1_epi8(0x0f);
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                __m512i s[4][2][2]; /* [m][group 8h + 2m + u][token] */
#pragma GCC unroll 4
                for (int m = 0; m < 4; m++)
#pragma GCC unroll 2
                    for (int u = 0; u < 2; u++)
#pragma GCC unroll 2
                        for (int t = 0; t < NT; t++) s[m][u][t] = _mm512_set1_epi32(ax[(t * ld + i) * Q5_PAW + 8 * h + 2 * m + u]);
#pragma GCC unroll 8
                for (int g = 0; g < 8; g++) {
#pragma GCC unroll 4
                    for (int k = 0; k < 4; k++)
                        if (pfi && 4 * (8 * h + g) + k < Q5_PK6_SB / 64)
                        _mm_prefetch(pfi + 64 * (4 * (8 * h + g) + k), _MM_HINT_T1);
                    const uint8_t *qv = p + Q5_PK6_Q + 192 * (8 * h + g);
                    const __m512i ql0 = _mm512_load_si512(qv), ql1 = _mm512_load_si512(qv + 64);
                    const __m512i qh = _mm512_load_si512(qv + 128);
#pragma GCC unroll 4
                    for (int m = 0; m < 4; m++) {
                        const __m512i a = m == 0 ? ql0 : m == 1 ? ql1 : _mm512_srli_epi16(m == 2 ? ql0 : ql1, 4);
                        const __m512i hb = _mm512_and_si512(m == 0   ? _mm512_slli_epi16(qh, 4)
                                                            : m == 1 ? _mm512_slli_epi16(qh, 2)
                                                            : m == 2 ? qh
                                                                     : _mm512_srli_epi16(qh, 2),
                                                            m30);
                        const __m512i q = _mm512_ternarylogic_epi32(a, hb, m0f, 0xe4);
#pragma GCC unroll 2
                        for (int t = 0; t < NT; t++)
                            s[m][g / 4][t] = q5_dpb(s[m][g / 4][t], q, bx + Q5_XQ * t + 128 * h + 32 * m + 4 * g);
                    }
                }
#pragma GCC unroll 4
                for (int m = 0; m < 4; m++) {
                    const uint8_t *sc = p + Q5_PK6_SC + 16 * (8 * h + 2 * m);
                    const __m512i sc0 = _mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)sc));
                    const __m512i sc1 = _mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)(sc + 16)));
#pragma GCC unroll 2
                    for (int t = 0; t < NT; t++) {
                        const __m512i v = _mm512_add_epi32(_mm512_mullo_epi32(s[m][0][t], sc0), _mm512_mullo_epi32(s[m][1][t], sc1));
                        tot[t] = h == 0 && m == 0 ? v : _mm512_add_epi32(tot[t], v);
                    }
                }
            }
        } else if (ty == Q5_K6) {
            const __m512i m30 = _mm512_set1_epi8(0x30), m0f = _mm512_set1_epi8(0x0f);
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++)
#pragma GCC unroll 4
            for (int m = 0; m < 4; m++) {
                const int g0 = 8 * h + 2 * m; /* groups g0 (dwords g < 4) and g0 + 1 */
                __m512i s[2][2][Q5_NT];        /* [group][chain][token] */
#pragma GCC unroll 8
                for (int t = 0; t < NT; t++)
#pragma GCC unroll 2
                    for (int u = 0; u < 2; u++) {
                        s[u][0][t] = _mm512_set1_epi32(ax[(t * ld + i) * Q5_PAW + g0 + u]);
                        s[u][1][t] = _mm512_setzero_si512();
                    }
#pragma GCC unroll 8
                for (int g = 0; g < 8; g++) {
                    if (pfi && 8 * (4 * h + m) + g < Q5_PK6_SB / 64)
                        _mm_prefetch(pfi + 64 * (8 * (4 * h + m) + g), _MM_HINT_T1);
                    const __m512i ql = _mm512_load_si512(p + Q5_PK6_Q + 192 * (8 * h + g) + 64 * (m & 1));
                    const __m512i qh = _mm512_load_si512(p + Q5_PK6_Q + 192 * (8 * h + g) + 128);
                    const __m512i a = m >= 2 ? _mm512_srli_epi16(ql, 4) : ql;
                    const __m512i hb = _mm512_and_si512(m == 0   ? _mm512_slli_epi16(qh, 4)
                                                        : m == 1 ? _mm512_slli_epi16(qh, 2)
                                                        : m == 2 ? qh
                                                                 : _mm512_srli_epi16(qh, 2),
                                                        m30);
                    /* q = (a & 0x0f) | hb: bits where m0f is set from a, the rest from hb */
                    const __m512i q = _mm512_ternarylogic_epi32(a, hb, m0f, 0xe4);
                    const int u = g / 4, c = NC > 1 ? (g / 2) % 2 : 0;
#pragma GCC unroll 8
                    for (int t = 0; t < NT; t++)
                        s[u][c][t] = q5_dpb(s[u][c][t], q, bx + Q5_XQ * t + 128 * h + 32 * m + 4 * g);
                }
                const __m512i sc0 = _mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)(p + Q5_PK6_SC + 16 * g0)));
                const __m512i sc1 = _mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)(p + Q5_PK6_SC + 16 * g0 + 16)));
#pragma GCC unroll 8
                for (int t = 0; t < NT; t++) {
                    __m512i a0 = s[0][0][t], a1 = s[1][0][t];
                    if (NC > 1) {
                        a0 = _mm512_add_epi32(a0, s[0][1][t]);
                        a1 = _mm512_add_epi32(a1, s[1][1][t]);
                    }
                    const __m512i v = _mm512_add_epi32(_mm512_mullo_epi32(a0, sc0), _mm512_mullo_epi32(a1, sc1));
                    tot[t] = h == 0 && m == 0 ? v : _mm512_add_epi32(tot[t], v);
                }
            }
        } else {
            const __m512i m0f = _mm512_set1_epi8(0x0f), mf0 = _mm512_set1_epi8((char)0xf0);
#pragma GCC unroll 4
            for (int c = 0; c < 4; c++) {
                __m512i sl[2][Q5_NT], sh[2][Q5_NT]; /* [chain][token] */
#pragma GCC unroll 8
                for (int t = 0; t < NT; t++)
#pragma GCC unroll 2
                    for (int k = 0; k < NC; k++) sl[k][t] = sh[k][t] = _mm512_setzero_si512();
#pragma GCC unroll 8
                for (int g = 0; g < 8; g++) {
                    if (pfi) {
                        _mm_prefetch(pfi + 64 * (8 * c + g), _MM_HINT_T1);
                        if (8 * c + g + 32 < (int)(sbb / 64)) _mm_prefetch(pfi + 64 * (8 * c + g + 32), _MM_HINT_T1);
                    }
                    const __m512i v = _mm512_load_si512(p + (ty == Q5_K5 ? q5_pk5_qs(c, g) : Q5_PK4_QS + 64 * (8 * c + g)));
                    /* Q4_K: high nibbles kept in place, their sums come out x16, undone
                     * below (exact).  Q5_K: the 5th bit of the low nibble is bit 2c of
                     * the qh byte, of the high nibble bit 2c + 1, moved to bit 4 */
                    __m512i lo, hi;
                    if (ty == Q5_K5) {
                        const __m512i hv = _mm512_load_si512(p + q5_pk5_qh(g)), b4 = _mm512_set1_epi8(0x10);
                        const __m512i hl = _mm512_and_si512(c == 0   ? _mm512_slli_epi16(hv, 4)
                                                            : c == 1 ? _mm512_slli_epi16(hv, 2)
                                                            : c == 2 ? hv
                                                                     : _mm512_srli_epi16(hv, 2),
                                                            b4);
                        const __m512i hh5 = _mm512_and_si512(c == 0   ? _mm512_slli_epi16(hv, 3)
                                                             : c == 1 ? _mm512_slli_epi16(hv, 1)
                                                             : c == 2 ? _mm512_srli_epi16(hv, 1)
                                                                      : _mm512_srli_epi16(hv, 3),
                                                             b4);
                        /* bits where m0f is set from the nibble, the rest from the 5th bit */
                        lo = _mm512_ternarylogic_epi32(v, hl, m0f, 0xe4);
                        hi = _mm512_ternarylogic_epi32(_mm512_srli_epi16(v, 4), hh5, m0f, 0xe4);
                    } else {
                        lo = _mm512_and_si512(v, m0f);
                        hi = _mm512_and_si512(v, mf0);
                    }
                    const int k = NC > 1 ? g % 2 : 0;
#pragma GCC unroll 8
                    for (int t = 0; t < NT; t++) {
                        const uint8_t *q = bx + Q5_XQ * t + 64 * c + 4 * g;
                        sl[k][t] = q5_dpb(sl[k][t], lo, q);
                        sh[k][t] = q5_dpb(sh[k][t], hi, q + 32);
                    }
                }
                const __m512i scl = _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)(p + Q5_PK4_SC + 32 * c)));
                const __m512i sch = _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)(p + Q5_PK4_SC + 32 * c + 16)));
#pragma GCC unroll 8
                for (int t = 0; t < NT; t++) {
                    __m512i l = sl[0][t], hh = sh[0][t];
                    if (NC > 1) {
                        l = _mm512_add_epi32(l, sl[1][t]);
                        hh = _mm512_add_epi32(hh, sh[1][t]);
                    }
                    const __m512i v = _mm512_add_epi32(_mm512_mullo_epi32(l, scl),
                                                       _mm512_mullo_epi32(ty == Q5_K5 ? hh : _mm512_srai_epi32(hh, 4), sch));
                    tot[t] = c ? _mm512_add_epi32(tot[t], v) : v;
                }
            }
#pragma GCC unroll 8
            for (int t = 0; t < NT; t++) mn[t] = _mm512_setzero_si512();
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) {
                const __m512i mk = _mm512_cvtepu8_epi16(_mm256_load_si256((const __m256i *)(p + Q5_PK4_M + 32 * k)));
#pragma GCC unroll 8
                for (int t = 0; t < NT; t++)
                    mn[t] = _mm512_dpwssd_epi32(mn[t], mk, _mm512_set1_epi32(ax[(t * ld + i) * Q5_PAW + k]));
            }
        }
        const __m512 d = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)p));
#pragma GCC unroll 8
        for (int t = 0; t < NT; t++) {
            const __m512 vdx = _mm512_set1_ps(dx[t * ld + i]);
            acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(vdx, d), _mm512_cvtepi32_ps(tot[t]), acc[t]);
            if (ty != Q5_K6) {
                const __m512 dm = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(p + 32)));
                acc[t] = _mm512_fnmadd_ps(_mm512_mul_ps(vdx, dm), _mm512_cvtepi32_ps(mn[t]), acc[t]);
            }
        }
    }
}

#define Q5_PTILEK_CASES(TY)                                                                                  \
    switch (nt) {                                                                                            \
    case 8: q5_ptilek(TY, p, nsk, x, dx, ax, ld, 8, pf, acc); break;                                     \
    case 7: q5_ptilek(TY, p, nsk, x, dx, ax, ld, 7, pf, acc); break;                                     \
    case 6: q5_ptilek(TY, p, nsk, x, dx, ax, ld, 6, pf, acc); break;                                     \
    case 5: q5_ptilek(TY, p, nsk, x, dx, ax, ld, 5, pf, acc); break;                                     \
    case 4: q5_ptilek(TY, p, nsk, x, dx, ax, ld, 4, pf, acc); break;                                     \
    case 3: q5_ptilek(TY, p, nsk, x, dx, ax, ld, 3, pf, acc); break;                                     \
    case 2: q5_ptilek(TY, p, nsk, x, dx, ax, ld, 2, pf, acc); break;                                     \
    default: q5_ptilek(TY, p, nsk, x, dx, ax, ld, 1, pf, acc); break;                                    \
    }
Q5_NOINL void q5_ptilek_k4(const uint8_t *p, int nsk, const uint8_t *x, const float *dx, const int32_t *ax,
                           int ld, int nt, const uint8_t *pf, __m512 *acc) {
    Q5_PTILEK_CASES(Q5_K4)
}
Q5_NOINL void q5_ptilek_k5(const uint8_t *p, int nsk, const uint8_t *x, const float *dx, const int32_t *ax,
                           int ld, int nt, const uint8_t *pf, __m512 *acc) {
    Q5_PTILEK_CASES(Q5_K5)
}
Q5_NOINL void q5_ptilek_k6(const uint8_t *p, int nsk, const uint8_t *x, const float *dx, const int32_t *ax,
                           int ld, int nt, const uint8_t *pf, __m512 *acc) {
    Q5_PTILEK_CASES(Q5_K6)
}

/* The K-quant GEMM over packed tiles, for every n (n = 1 is the decode
 * GEMV).  Tokens go in groups of up to Q5_TG; the super-blocks in chunks of
 * as many as the per-token arrays hold (Q5_PKCAP token x super-block
 * entries: a whole row for a few tokens, 4 super-blocks at 128), with the
 * accumulators parked in Y between chunks as in q5_gemmk.  The tile stream
 * is prefetched Q5_PFK bytes ahead while a row of the matrix fits one chunk
 * (the next tile follows the current one); otherwise the next tile's chunk
 * is prefetched, a super-block per super-block, by the first call of the
 * tile. */
enum { Q5_PKCAP = Q5_TG * Q5_KKC };
/* Software prefetch of the packed K-quant stream, bytes ahead.  Measured
 * from DRAM, one thread, 8960 x 1536, median of 15 passes over 400 MB of
 * copies (GB/s of file bytes), AMD Zen 4: one token streams fastest with
 * none (Q4_K 26, Q6_K 25 GB/s; with 2 KB ahead 18 and 19, 6 KB 23 and 21):
 * the tile is read in order and the hardware prefetcher follows it.  On an
 * Intel Xeon with AMX it did not keep up (two threads, 151936 x 1536: Q6_K
 * 24-25 GB/s, 29-30 with 2 KB ahead), so one token takes the job's pf1.  From two tokens
 * on, 6 KB ahead helps (n = 4: Q4_K 12 -> 23, Q6_K 8 -> 23.5; n = 2 Q6_K
 * 22 -> 25), and so it does for the prompt's chunks (n = 64 Q6_K 218-225
 * -> 245 GFLOP/s in L3). */
enum { Q5_PFK = 6144 };
static void q5_pgemmk(int ty, const struct kern_mm_job *j, int64_t r0, int64_t r1) {
    const int64_t nsb = j->cols / KB_QKK;
    const size_t sbb = q5_pksb(ty);
    _Alignas(64) float dx[Q5_PKCAP];
    _Alignas(64) int32_t ax[Q5_PKCAP * Q5_PAW];
    _Alignas(64) uint8_t xi[Q5_PKCAP * Q5_XQ]; /* per group of Q5_NT tokens: [i][t][Q5_XQ] */
    for (int64_t t0 = 0; t0 < j->n; t0 += Q5_TG) {
        const int ntg = (int)(j->n - t0 < Q5_TG ? j->n - t0 : Q5_TG);
        const int kc = Q5_PKCAP / ntg;
        for (int64_t rb = r0; rb < r1; rb += Q5_RB) {
            const int64_t re = r1 - rb < Q5_RB ? r1 : rb + Q5_RB;
            for (int64_t s0 = 0; s0 < nsb; s0 += kc) {
                const int nsk = (int)(nsb - s0 < kc ? nsb - s0 : kc);
                /* one chunk for the whole row (decode): its arrays serve every row block */
                if (nsk < nsb || rb == r0)
                for (int t = 0; t < ntg; t++)
                    for (int i = 0; i < nsk; i++) {
                        const uint8_t *bx = j->x + (size_t)(t0 + t) * j->xs + (size_t)(s0 + i) * KB_Q8_K_SIZE;
                        int32_t *a = ax + (size_t)(t * kc + i) * Q5_PAW;
                        int16_t bs[16];
                        memcpy(bs, bx + KB_Q8_K_BSUMS, sizeof(bs));
                        dx[t * kc + i] = kb_ld_f32(bx + KB_Q8_K_D);
                        const int tg = t / Q5_NT * Q5_NT, ng = ntg - tg < Q5_NT ? ntg - tg : Q5_NT;
                        memcpy(xi + ((size_t)tg * (size_t)kc + (size_t)i * (size_t)ng + (size_t)(t - tg)) * Q5_XQ,
                               bx + KB_Q8_K_QS, Q5_XQ);
                        if (ty == Q5_K6) {
                            for (int k = 0; k < 16; k++) a[k] = -32 * (int32_t)bs[k];
                        } else {
                            for (int k = 0; k < 4; k++) { /* |P_j| <= 32 * 127: fits i16 */
                                const int32_t p0 = bs[4 * k] + bs[4 * k + 1], p1 = bs[4 * k + 2] + bs[4 * k + 3];
                                a[k] = (int32_t)((uint32_t)(uint16_t)(int16_t)p0 | (uint32_t)(uint16_t)(int16_t)p1 << 16);
                            }
                        }
                    }
                for (int64_t r = rb; r < re; r += 16) {
                    const int nr = (int)(re - r < 16 ? re - r : 16);
                    const __mmask16 m = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1u);
                    const uint8_t *pt = j->pk + (size_t)(r / 16) * j->ptb + (size_t)s0 * sbb;
                    const uint8_t *pf = nsk == nsb ? (ntg > 1 ? pt + Q5_PFK : j->pf1 ? pt + j->pf1 : NULL)
                                        : r + 16 < re ? pt + j->ptb
                                        : s0 + kc < nsb ? j->pk + (size_t)(rb / 16) * j->ptb + (size_t)(s0 + kc) * sbb
                                                        : NULL;
                    for (int tt = 0; tt < ntg; tt += Q5_NT) {
                        const int nt = ntg - tt < Q5_NT ? ntg - tt : Q5_NT;
                        float *y = j->y + (t0 + tt) * j->ldy + r;
                        __m512 acc[Q5_NT];
                        for (int t = 0; t < nt; t++)
                            acc[t] = s0 ? _mm512_maskz_loadu_ps(m, y + t * j->ldy) : _mm512_setzero_ps();
                        const uint8_t *x = xi + (size_t)tt * (size_t)kc * Q5_XQ;
                        if (ty == Q5_K6)
                            q5_ptilek_k6(pt, nsk, x, dx + tt * kc, ax + (size_t)tt * kc * Q5_PAW, kc, nt,
                                         tt ? NULL : pf, acc);
                        else if (ty == Q5_K5)
                            q5_ptilek_k5(pt, nsk, x, dx + tt * kc, ax + (size_t)tt * kc * Q5_PAW, kc, nt,
                                         tt ? NULL : pf, acc);
                        else
                            q5_ptilek_k4(pt, nsk, x, dx + tt * kc, ax + (size_t)tt * kc * Q5_PAW, kc, nt,
                                         tt ? NULL : pf, acc);
                        for (int t = 0; t < nt; t++) _mm512_mask_storeu_ps(y + t * j->ldy, m, acc[t]);
                    }
                }
            }
        }
    }
}

static void q5_gemv_q4_k(const struct kern_mm_job *j, int64_t r0, int64_t r1) { q5_gemvk(Q5_K4, j, r0, r1); }
static void q5_gemv_q5_k(const struct kern_mm_job *j, int64_t r0, int64_t r1) { q5_gemvk(Q5_K5, j, r0, r1); }
static void q5_gemv_q6_k(const struct kern_mm_job *j, int64_t r0, int64_t r1) { q5_gemvk(Q5_K6, j, r0, r1); }

static void q5_mm_q4_k(const struct kern_mm_job *j, int64_t r0, int64_t r1) {
    if (j->pk) q5_pgemmk(Q5_K4, j, r0, r1);
    else if (j->n < Q5_GEMM_MINK) q5_per_token(q5_gemv_q4_k, j, r0, r1);
    else q5_gemmk(Q5_K4, j, r0, r1);
}
static void q5_mm_q5_k(const struct kern_mm_job *j, int64_t r0, int64_t r1) {
    if (j->pk) q5_pgemmk(Q5_K5, j, r0, r1);
    else if (j->n < Q5_GEMM_MINK) q5_per_token(q5_gemv_q5_k, j, r0, r1);
    else q5_gemmk(Q5_K5, j, r0, r1);
}
static void q5_mm_q6_k(const struct kern_mm_job *j, int64_t r0, int64_t r1) {
    if (j->pk) q5_pgemmk(Q5_K6, j, r0, r1);
    else if (j->n < Q5_GEMM_MINK) q5_per_token(q5_gemv_q6_k, j, r0, r1);
    else q5_gemmk(Q5_K6, j, r0, r1);
}

const kern_mm_fn kern_mm_avx512[KERN_N_TYPES] = {
    [DT_Q8_0] = q5_mm_q8_0, [DT_Q4_0] = q5_mm_q4_0, [DT_Q4_1] = q5_mm_q4_1,
    [DT_Q4_K] = q5_mm_q4_k, [DT_Q5_K] = q5_mm_q5_k, [DT_Q6_K] = q5_mm_q6_k,
};

const struct kern_packer kern_pack_avx512[KERN_N_TYPES] = {
    [DT_Q8_0] = {q5_ptb_q8_0, q5_pack_q8_0},
    [DT_Q4_0] = {q5_ptb_q4_0, q5_pack_q4_0},
    [DT_Q4_1] = {q5_ptb_q4_1, q5_pack_q4_1},
    [DT_Q4_K] = {q5_ptb_q4_k, q5_pack_q4_k},
    [DT_Q5_K] = {q5_ptb_q5_k, q5_pack_q5_k},
    [DT_Q6_K] = {q5_ptb_q6_k, q5_pack_q6_k},
};
