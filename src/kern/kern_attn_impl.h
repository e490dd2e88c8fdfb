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

 */
#ifndef DC_KERN_ATTN_IMPL_H
#define DC_KERN_ATTN_IMPL_H

#include <stddef.h>
#include <stdint.h>

#define ATTN_ROWS 48
#define ATTN_TILE 64

static inline size_t attn_tile_bytes(int64_t E) {
    return ((size_t)(2 * E * ATTN_ROWS + ATTN_TILE * ATTN_ROWS + 4 * ATTN_ROWS) * sizeof(float) + 63) & ~(size_t)63;
}

#endif
