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

#include <math.h>
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
 * into L2 while this tile is computed; the rows-in-lanes path of the AVX-512
 * variant issues them all at the tile's start (the rows otherwise arrive on demand:
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

/* The keys-in-lanes paths spread the same prefetch over the tile's work: a
 * cursor per matrix over the next tile's bytes, advanced a few lines per
 * iteration of the q.K and p.V loops, so the next tile streams in while this
 * one computes (issued all at the tile's start, the prefetches queue behind
 * each other and the arithmetic waits for them: a job of 6 rows x 1,024
 * positions from DRAM ran no faster than with none). */
struct attn_pf {
    const char *p, *end;
};

static inline __attribute__((always_inline)) void attn_pf_step(struct attn_pf *c, int n) {
    for (int i = 0; i < n; i++)
        if (c->p < c->end) {
            _mm_prefetch(c->p, _MM_HINT_T1);
            c->p += 64;
        }
}

/* Cursors over the K and V rows from the second tile on (empty when the job
 * has one tile, or strided rows). */
static inline void attn_pf_start(const struct kern_attn_job *j, int64_t nmax, struct attn_pf *k, struct attn_pf *v) {
    k->p = k->end = v->p = v->end = NULL;
    if (j->ldkv != j->E || nmax <= ATTN_TILE) return;
    const int64_t o1 = ATTN_TILE * j->E;
    k->p = k->end = j->k16 ? (const char *)(j->k16 + o1) : (const char *)(j->k + o1);
    v->p = v->end = j->k16 ? (const char *)(j->v16 + o1) : (const char *)(j->v + o1);
}

/* Moves the cursors' ends to the end of the tile after the one at p0 (at
 * most nmax positions); a cursor that fell behind carries on from where it
 * stopped.  Two or three tiles ahead measured no faster. */
static inline void attn_pf_upto(const struct kern_attn_job *j, int64_t p0, int64_t nmax, struct attn_pf *k,
                                struct attn_pf *v) {
    if (!k->p || p0 + ATTN_TILE >= nmax) return;
    const int64_t e = p0 + 2 * ATTN_TILE < nmax ? p0 + 2 * ATTN_TILE : nmax;
    const size_t bytes = (size_t)((e - p0 - ATTN_TILE) * j->E) * (j->k16 ? 2 : 4);
    const int64_t o1 = (p0 + ATTN_TILE) * j->E;
    const char *kn = j->k16 ? (const char *)(j->k16 + o1) : (const char *)(j->k + o1);
    const char *vn = j->k16 ? (const char *)(j->v16 + o1) : (const char *)(j->v + o1);
    if (kn + bytes > k->end) k->end = kn + bytes;
    if (vn + bytes > v->end) v->end = vn + bytes;
}

/* The K and V rows of the tile at p0 as f32 rows ld apart: the cache's own
 * rows, or (a 16-bit cache) the scratch kc / vc the variant widens them into. */
static inline void attn_tile_src(const struct kern_attn_job *j, float *scr, int64_t p0, const float **kb,
                                 const float **vb, int64_t *ld) {
    *kb = j->k16 ? scr + attn_conv_floats(j->E) : j->k + p0 * j->ldkv;
    *vb = j->k16 ? *kb + ATTN_TILE * j->E : j->v + p0 * j->ldkv;
    *ld = j->k16 ? j->E : j->ldkv;
}

/* Keys-in-lanes paths (rows r < nt * nh <= 16, row r = token r / nh, head
 * r % nh): each row's query pointer and positions, m = -inf, l = 0, the
 * unnormalized output ot [rows][E] = 0; returns the most positions. */
static inline int64_t attn_keys_init(const struct kern_attn_job *j, const float **qs, int32_t *npos, float *m,
                                     float *l, float *ot) {
    const int64_t E = j->E, nh = j->nh, nr = j->nt * j->nh;
    int64_t nmax = 1;
    for (int64_t r = 0; r < nr; r++) {
        const int64_t t = r / nh, h = r % nh;
        qs[r] = j->q + t * j->ldq + h * E;
        npos[r] = j->n_pos[t];
        if (npos[r] > nmax) nmax = npos[r];
        m[r] = -INFINITY;
        l[r] = 0.0f;
        for (int64_t i = 0; i < E; i++) ot[r * E + i] = 0.0f;
    }
    return nmax;
}

/* Keys-in-lanes paths: o of each row = ot[r] * (1 / l[r]). */
static inline void attn_keys_out(const struct kern_attn_job *j, const float *ot, const float *l) {
    const int64_t E = j->E, nh = j->nh, nr = j->nt * j->nh;
    for (int64_t r = 0; r < nr; r++) {
        float *o = j->o + (r / nh) * j->ldo + (r % nh) * E;
        const float inv = 1.0f / l[r];
        for (int64_t i = 0; i < E; i++) o[i] = ot[r * E + i] * inv;
    }
}

#endif
