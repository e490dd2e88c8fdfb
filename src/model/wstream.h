/*
 * wstream.h - the model's weight stream without the forward pass around it.
 *
 * One pass multiplies every matrix the forward pass multiplies with the plain
 * matmul (model_each_matmul: the output head and each layer's matrices, all
 * routed experts of a MoE layer) by one token, one call per matrix, back to
 * back, with the kernels and threads a decode step uses.  Its rate is what
 * decode's products can reach when nothing runs between them (no norms,
 * attention, routing or fused calls): the gap between it and a decode step
 * is the forward pass's own cost.  `deepc bench --products` prints it.
 */
#ifndef DEEPC_WSTREAM_H
#define DEEPC_WSTREAM_H

#include <stdint.h>

#include "model.h"

#define WSTREAM_MAX_TYPES 16
#define WSTREAM_MAX_REPS 1000

struct wstream_type {
    int type;        /* enum dtype */
    int64_t n_mats;  /* matrices of this type in a pass */
    uint64_t bytes;  /* their weight bytes (model_mat_bytes) */
    double s;        /* seconds the fastest pass spent on them */
};

struct wstream_result {
    int64_t n_mats;          /* matrices in a pass */
    uint64_t bytes;          /* weight bytes of a pass */
    double best_s, median_s; /* the fastest and the median pass */
    int reps;                /* timed passes (after one untimed) */
    int n_types;
    struct wstream_type types[WSTREAM_MAX_TYPES]; /* in order of first appearance */
};

/* One untimed pass, then reps timed ones (1..WSTREAM_MAX_REPS).  The input
 * is a fixed pseudo-random vector; the outputs are discarded.  DC_EINVAL for
 * reps out of range or a model with no matrix, DC_ENOMEM if the buffers
 * cannot be allocated (nothing is allocated inside a pass). */
int wstream_time(struct model *m, int reps, struct wstream_result *r, char *err);

#endif
