/*
 * deepseek.h - the deepseek2 forward pass (DeepSeek-V2/V2-Lite/V3/R1: MLA with
 * the absorbed latent cache, DeepSeekMoE), called by forward.c for models
 * with hp.arch == HP_ARCH_DEEPSEEK2.  Internal to src/model; the buffers it
 * uses are the deepseek2 part of struct fwd (forward.h), allocated by fwd_init.
 */
#ifndef DC_DEEPSEEK_H
#define DC_DEEPSEEK_H

#include <stddef.h>
#include <stdint.h>

#include "forward.h"
#include "hparams.h"
#include "kern_lat.h"

/* Heads per call of the latent kernels: a fixed number (not chosen from the
 * batch size), so that a token's attention output does not depend on the
 * batch it runs in. */
#define DS_ATT_HB 8
/* ... and per tile of the 8-bit cache inside a work item: all of its heads
 * up to this many, so that a tile of codes (128 positions: 72 KB of K, 64 KB
 * of V) is read from L2 once for the 16 heads of a V2-Lite item, each block
 * of 16 positions of K and each strip of V staying in L1 while every head
 * passes over it.  The kernels treat each head on its own, so the bits do not
 * depend on how many heads a call takes. */
#define DS_ATT_HB_Q8 16

/* Cache rows per tile of the latent attention: a tile (TJ x (r_kv + d_r)
 * values) stays in L1/L2 while every head of a block uses it for its
 * scores and then its values.  The 8-bit cache uses larger tiles (its
 * per-tile work - requantized probabilities, the f32 accumulators - is
 * spread over more rows).  Tiles start at multiples of 64 positions (the
 * 8-bit values' blocks, kern_lat.h): segments are multiples of
 * DS_ATT_SEG_MIN and the tiles multiples of 64. */
#define DS_ATT_TILE 32
#define DS_ATT_TILE_Q8 256
_Static_assert(DS_ATT_TILE_Q8 % 64 == 0 && DS_ATT_TILE_Q8 <= KERN_LAT_Q8_MAXP,
               "8-bit tiles: blocks of 64 positions, at most values_q8's P");

/* A token's positions are cut into segments of a fixed length (a power of two
 * times DS_ATT_SEG_MIN, so that a slot has at most DS_ATT_NSEG of them); each
 * segment's softmax is computed on its own and the segments merged in order.
 * Decode spreads the segments of a token over the threads, larger passes the
 * (token, head block) items - the same arithmetic either way. */
#define DS_ATT_SEG_MIN 64
#define DS_ATT_NSEG 64
_Static_assert(DS_ATT_SEG_MIN % 64 == 0, "8-bit tiles start at a block of 64 positions");
/* A token's segment results are merged in a fixed two-level order: the
 * segments of each group of DS_ATT_MGRP (by index) in order, then the groups
 * in order.  A small pass merges each group on the thread that computed most
 * of it, so that the partials are mostly read where they were written. */
#define DS_ATT_MGRP 8
/* Cap of the per-segment partial results kept for a small pass. */
#define DS_ATT_PART_BYTES ((size_t)16 << 20)

/* Floats of one thread's attention work area (fwd.lat_work): scores of a tile
 * for a head block (DS_LAT_SCORES), and for every head a segment's softmax state (m, l, a) and
 * accumulators, and the running merges (m, l and accumulators) of the group and of the token. */
#define DS_LAT_SCORES ((size_t)DS_ATT_HB_Q8 * DS_ATT_TILE_Q8)
#define DS_LAT_WORK(H, R) (DS_LAT_SCORES + 7 * (size_t)(H) + 3 * (size_t)(H) * (size_t)(R))

/* Passes of at most this many tokens (decode steps) run each chosen expert
 * whole on one thread (one work item per expert); larger passes split every
 * expert's rows across the team. */
#define DS_SMALL_T 8

/* One pass over T validated tokens (see fwd_eval_batch); logits as there. */
void ds_forward_batch(struct fwd *f, const struct fwd_tok *toks, int64_t T, float *logits);

/* Routing of one token (spec 3.3): router logits z[E] (and the correction
 * bias, or NULL) -> the k chosen experts in ascending id order and their
 * weights.  s: scratch of 4 * E floats.  Exposed for tests. */
void ds_route(const struct hparams *hp, const float *z, const float *bias, float *s, int32_t *ids, float *w);

#endif
