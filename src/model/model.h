/*
 * model.h - a loaded model: hyperparameters plus weights bound as views.
 *
 * model_load() recognises a GGUF file (magic "GGUF") or a Hugging Face
 * checkpoint (a directory with config.json and safetensors, or an index
 * .json), reads the hyperparameters, and binds every tensor the architecture
 * needs to a view in the mapped file with its dtype and shape checked.
 * Matrices are never copied.  The only owned weight memory is the f32 copy of
 * small 1-D tensors (norm weights, biases) that are stored in another type or
 * misaligned; model->owned_bytes counts it.
 */
#ifndef DC_MODEL_H
#define DC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "hparams.h"
#include "kern.h"
#include "rope.h"

struct gguf;
struct st_model;

struct model_layer {
    const float *attn_norm;          /* [n_embd] */
    struct kern_mat wq, wk, wv, wo;  /* [n_head*hd, n_embd], [n_kv*hd, n_embd] x2, [n_embd, n_head*hd] */
    const float *bq, *bk, *bv;       /* q/k/v biases or NULL */
    const float *ffn_norm;           /* [n_embd] */
    struct kern_mat w_gate, w_up;    /* [n_ff, n_embd] */
    struct kern_mat w_down;          /* [n_embd, n_ff] */
};

enum model_source { MODEL_SRC_GGUF = 0, MODEL_SRC_SAFETENSORS = 1 };

struct model {
    struct hparams hp;
    int source;                       /* enum model_source */
    struct gguf *gguf;                /* owned, when source is GGUF */
    struct st_model *st;              /* owned, when source is safetensors */
    struct kern_mat tok_embd;         /* [n_vocab, n_embd] */
    struct kern_mat output;           /* [n_vocab, n_embd]; == tok_embd when tied */
    const float *output_norm;         /* [n_embd] */
    struct model_layer *layers;       /* [n_layer], owned */
    struct rope rope;
    uint64_t file_size;               /* bytes of all mapped files */
    int64_t n_params;                 /* elements of all bound tensors */
    uint64_t weight_bytes;            /* bytes of all bound tensors */
    size_t owned_bytes;               /* f32 copies of small vectors */
    void **owned;                     /* those copies */
    int n_owned, cap_owned;
};

/* Loads and binds.  *out owns everything; free with model_free. */
int model_load(struct model **out, const char *path, char *err);
void model_free(struct model *m); /* NULL is a no-op */

/* Looks a tensor up by its GGUF name ("blk.3.attn_q.weight"); for
 * safetensors sources the HF name is derived.  NULL if absent. */
const struct tensor_view *model_find_tensor(const struct model *m, const char *gguf_name);

/* Tensor directory of the source, for `deepc info`. */
int64_t model_n_tensors(const struct model *m);
const struct tensor_view *model_tensor_at(const struct model *m, int64_t i);

#endif
