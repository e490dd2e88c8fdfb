/*
 * kern_attn_impl.h - scratch layout shared by the attention variants
 * (kern_attn.c sizes it, kern_attn_avx2.c / kern_attn_avx512.c use it).
 *
 * "Rows in lanes" (prompt blocks): the query rows of a pass (row r = token
 * r / nh, head r % nh of the job) sit in vector lanes, at most ATTN_ROWS per
 * pass.  Floats, each matrix with row stride ATTN_ROWS:
 *   qt [E][ATTN_ROWS]          queries, transposed
 *   ot [E][ATTN_ROWS]          unnormalized outputs, transposed
 *   pt [ATTN_TILE][ATTN_ROWS]  scores, then probabilities, of one tile
 *   m, l, alpha [ATTN_ROWS]    running max, running sum, tile rescale
 *   npos (int32) [ATTN_ROWS]   positions each lane attends to
 *   kc, vc [ATTN_TILE][E]      a 16-bit cache's tile of K and V rows widened
 *                              (at attn_conv_floats(E))

 */
#ifndef DC_KERN_ATTN_IMPL_H
#define DC_KERN_ATTN_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <xmmintrin.h>

#include "kern_attn.h"

#define ATTN_ROWS 48
#define ATTN_TILE 64

/* Floats before kc (a multiple of 16, so kc and vc are 64-byte aligned). */
static inline size_t attn_conv_floats(int64_t E) {
    return ((size_t)(2 * E * ATTN_ROWS + ATTN_TILE * ATTN_ROWS + 4 * ATTN_ROWS) + 15) & ~(size_t)15;
}

static inline size_t attn_tile_bytes(int64_t E) {
    return (attn_conv_floats(E) + 2 * (size_t)ATTN_TILE * (size_t)E) * sizeof(float);
}

/* With contiguous rows (ldkv == E: one KV head's positions in order, the
 * dense cache's layout), the K and V rows of the tile after the one at p0,
 * into L2 while this tile is computed (the rows otherwise arrive on demand:
 * SmolLM2 decode at 1,024 positions with the AVX-512 kernel 109-114 ->
 * 115-126 t/s; two or four tiles ahead, or into L1, less; the AVX2 kernel,
 * bound by its arithmetic, gained nothing and does not use it;
 * docs/PERFORMANCE.md log entry 27).  always_inline: as
 * a call, gcc 12 judged it free of side effects (prefetches only) and
 * dropped it. */
static inline __attribute__((always_inline)) void attn_prefetch_next(const struct kern_attn_job *j, int64_t p0, int64_t nmax) {
    const int64_t n = nmax - p0 - ATTN_TILE < ATTN_TILE ? nmax - p0 - ATTN_TILE : ATTN_TILE, o1 = (p0 + ATTN_TILE) * j->E;
    const char *k = j->k16 ? (const char *)(j->k16 + o1) : (const char *)(j->k + o1);
    const char *v = j->k16 ? (const char *)(j->v16 + o1) : (const char *)(j->v + o1);
    const int64_t esz = j->k16 ? 2 : 4;
    for (int64_t o = 0; o < n * j->E * esz; o += 64) {
        _mm_prefetch(k + o, _MM_HINT_T1);
        _mm_prefetch(v + o, _MM_HINT_T1);
    }
}

#endif
