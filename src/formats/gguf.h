/*
 * gguf.h - reader for GGUF v2/v3 model files (ggml's single-file format).
 *
 * Layout (spec/MODEL.md 10.1): magic "GGUF", u32 version (2 or 3), u64 tensor
 * count, u64 metadata count, metadata key/values, tensor infos (name, dims,
 * type, offset), padding to `general.alignment` (default 32), tensor data.
 * The file is mapped read-only; tensor views point into the mapping.  Every
 * length, count, offset and size is checked against the file before use: a
 * truncated, inconsistent or hostile file gives DC_EFORMAT and a one-line
 * message, never an out-of-bounds read.  Metadata (keys, strings, arrays) is
 * parsed into owned memory at open time; lookups do not touch the file.
 */
#ifndef DC_GGUF_H
#define DC_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "tensor.h"

enum gguf_vtype {
    GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4, GGUF_I32 = 5,
    GGUF_F32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10,
    GGUF_I64 = 11, GGUF_F64 = 12,
};

struct gguf; /* opaque */

/* Opens and validates a file.  *out is set on success (free with gguf_free). */
int gguf_open(struct gguf **out, const char *path, char *err);
/* Parses a GGUF image already in memory (borrowed; must outlive the result).
 * Used by the fuzz target and tests. */
int gguf_open_mem(struct gguf **out, const void *data, size_t size, char *err);
void gguf_free(struct gguf *g); /* NULL is a no-op */

uint32_t gguf_version(const struct gguf *g);
uint32_t gguf_alignment(const struct gguf *g);
uint64_t gguf_file_size(const struct gguf *g);

/* Metadata. */
int64_t gguf_n_kv(const struct gguf *g);
const char *gguf_kv_key(const struct gguf *g, int64_t i);
int gguf_kv_type(const struct gguf *g, int64_t i);          /* enum gguf_vtype */
int64_t gguf_find_kv(const struct gguf *g, const char *key); /* -1 if absent */

/* Typed getters.  Return DC_OK, DC_ENOTFOUND when the key is absent, or
 * DC_EFORMAT when the stored type does not fit the request. */
int gguf_get_int(const struct gguf *g, const char *key, int64_t *out);   /* any int type or bool; u64 > INT64_MAX is DC_EFORMAT */
int gguf_get_float(const struct gguf *g, const char *key, double *out);  /* f32, f64 or any int */
int gguf_get_bool(const struct gguf *g, const char *key, int *out);
/* String value (NUL-terminated copy owned by g; len excludes the NUL). */
int gguf_get_str(const struct gguf *g, const char *key, const char **s, uint64_t *len);
/* Array value: element type and count.  For numeric element types *data
 * points to n packed little-endian elements (owned by g). */
int gguf_get_arr(const struct gguf *g, const char *key, int *etype, uint64_t *n, const void **data);
/* Element i of a string array (NUL-terminated, owned by g). */
int gguf_get_arr_str(const struct gguf *g, const char *key, uint64_t i, const char **s, uint64_t *len);

/* Tensors, in file order. */
int64_t gguf_n_tensors(const struct gguf *g);
const struct tensor_view *gguf_tensor(const struct gguf *g, int64_t i);
const struct tensor_view *gguf_find_tensor(const struct gguf *g, const char *name); /* NULL if absent */
/* Byte offset of the tensor data section in the file. */
uint64_t gguf_data_offset(const struct gguf *g);

#endif
