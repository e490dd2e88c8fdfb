/*
 * gguf_write.h - writer for GGUF v3 files (the layout gguf.h reads).
 *
 * Usage: gguf_writer_create, then any number of gguf_w_* metadata calls and
 * gguf_w_tensor declarations (name, type, shape) in the order the data will
 * follow, then gguf_w_begin_data (writes header, metadata, tensor infos and
 * the padding), then gguf_w_tensor_data once per tensor in declaration order,
 * then gguf_writer_finish.  The file is written to "<path>.part" and renamed
 * into place only when complete, so an interrupted run leaves no truncated
 * model behind.  Metadata is buffered in memory; tensor data streams.
 */
#ifndef DC_GGUF_WRITE_H
#define DC_GGUF_WRITE_H

#include <stddef.h>
#include <stdint.h>

struct gguf;
struct gguf_writer; /* opaque */

/* alignment: a power of two >= 8, or 0 for the default 32. */
int gguf_writer_create(struct gguf_writer **out, const char *path, uint32_t alignment, char *err);
/* Abandons an unfinished file (removes the .part).  NULL is a no-op. */
void gguf_writer_free(struct gguf_writer *w);

/* Metadata.  Keys must be unique (DC_EINVAL otherwise). */
int gguf_w_u32(struct gguf_writer *w, const char *key, uint32_t v);
int gguf_w_i32(struct gguf_writer *w, const char *key, int32_t v);
int gguf_w_u64(struct gguf_writer *w, const char *key, uint64_t v);
int gguf_w_f32(struct gguf_writer *w, const char *key, float v);
int gguf_w_bool(struct gguf_writer *w, const char *key, int v);
int gguf_w_str(struct gguf_writer *w, const char *key, const char *s, size_t len);
/* Numeric array: n elements of GGUF value type etype, packed little-endian. */
int gguf_w_arr(struct gguf_writer *w, const char *key, int etype, const void *data, uint64_t n);
/* String array: strs[i] of lens[i] bytes. */
int gguf_w_arr_str(struct gguf_writer *w, const char *key, const char *const *strs, const size_t *lens,
                   uint64_t n);
/* Copies key/value i of a source file, under its own name (any type). */
int gguf_w_copy_kv(struct gguf_writer *w, const struct gguf *src, int64_t i, char *err);
/* 1 if the key was already added. */
int gguf_w_has(const struct gguf_writer *w, const char *key);

/* Declares a tensor; ne[0] is the contiguous axis (a multiple of the type's
 * block).  Returns its index or a negative DC_E* code. */
int64_t gguf_w_tensor(struct gguf_writer *w, const char *name, int type, int n_dims, const int64_t *ne);

/* Writes everything before the tensor data. */
int gguf_w_begin_data(struct gguf_writer *w, char *err);
/* Appends data of the next declared tensor; may be called several times
 * with consecutive chunks until the tensor's size is reached. */
int gguf_w_tensor_data(struct gguf_writer *w, const void *data, size_t nbytes, char *err);
/* Checks every tensor was written, flushes, renames into place, frees w. */
int gguf_writer_finish(struct gguf_writer *w, char *err);

#endif
