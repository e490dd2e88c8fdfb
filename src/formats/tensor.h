/*
 * tensor.h - a named view of one tensor inside a mapped model file.
 *
 * Views are borrowed: `data` points into the file mapping owned by the reader
 * (gguf or safetensors) and stays valid until that reader is freed.  Shapes use
 * ggml order: ne[0] is the contiguous (fastest-varying) axis, so a Hugging Face
 * weight of shape [out, in] has ne = {in, out}: one row of ne[0] elements per
 * output channel.  Unused trailing dims are 1.
 */
#ifndef DC_TENSOR_H
#define DC_TENSOR_H

#include <stdint.h>

#define TENSOR_MAX_DIMS 4

struct tensor_view {
    const char *name;           /* NUL-terminated, owned by the reader */
    int type;                   /* enum dtype */
    int n_dims;                 /* 1..4 (0 for a scalar in safetensors) */
    int64_t ne[TENSOR_MAX_DIMS];
    const void *data;           /* into the mapping; NULL only when nbytes == 0 */
    uint64_t nbytes;
};

/* Number of elements (product of ne). */
static inline int64_t tensor_nelems(const struct tensor_view *t) {
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

#endif
