/*
 * safetensors.h - reader for Hugging Face safetensors checkpoints.
 *
 * A checkpoint is a single `model.safetensors`, or shards listed by
 * `model.safetensors.index.json` (`weight_map`: tensor name -> shard file), or
 * a directory holding either, plus `config.json`.  Each shard is: u64 LE header
 * length N, N bytes of JSON (tensor name -> dtype, shape, data_offsets;
 * optional __metadata__), then the data buffer.  Every shard is mapped
 * read-only and every offset, shape and dtype checked (spec/MODEL.md 9.1):
 * offsets inside the buffer, end - begin == prod(shape) * element size, no
 * overlaps, no duplicate names.  Views use ggml order (ne[0] = last HF dim).
 * JSON is parsed with json-c.
 */
#ifndef DC_SAFETENSORS_H
#define DC_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "tensor.h"

struct st_model; /* opaque: all shards of one checkpoint */

/* path: a directory (config.json + model.safetensors or the index), an index
 * .json file, or one .safetensors file.  *out set on success. */
int st_open(struct st_model **out, const char *path, char *err);
/* Parses one safetensors image in memory (borrowed).  Fuzz target, tests. */
int st_open_mem(struct st_model **out, const void *data, size_t size, char *err);
void st_free(struct st_model *m); /* NULL is a no-op */

int64_t st_n_tensors(const struct st_model *m);
const struct tensor_view *st_tensor(const struct st_model *m, int64_t i);
const struct tensor_view *st_find_tensor(const struct st_model *m, const char *name);

/* Contents of the directory's config.json (NUL-terminated, owned by m), NULL
 * when there is none.  Likewise generation_config.json, tokenizer.json and
 * tokenizer_config.json (same directory), each NULL when absent. */
const char *st_config_json(const struct st_model *m);
const char *st_aux_json(const struct st_model *m, const char *file_name);
/* Directory the checkpoint lives in (owned by m). */
const char *st_dir(const struct st_model *m);
/* Total bytes of all mapped shards. */
uint64_t st_file_size(const struct st_model *m);

#endif
