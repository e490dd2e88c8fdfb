/*
 * session.c - the public API of include/deepc.h over model/ and forward/.
 */
#include "deepc.h"

#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "err.h"
#include "forward.h"
#include "kern.h"
#include "model.h"
#include "tensor.h"
#include "wstream.h"

struct dc_model {
    struct model *m;
};

struct dc_session {
    struct fwd f;
};

int dc_model_load(struct dc_model **out, const char *path, char *err) {
    *out = NULL;
    kern_init();
    struct dc_model *dm = calloc(1, sizeof(*dm));
    if (!dm) return dc_errf(err, DC_ENOMEM, "out of memory");
    int rc = model_load(&dm->m, path, err);
    if (rc) {
        free(dm);
        return rc;
    }
    *out = dm;
    return DC_OK;
}

int dc_model_pack(struct dc_model *m, char *err) { return model_pack(m->m, err); }

_Static_assert(DC_PRODUCTS_MAX_TYPES == WSTREAM_MAX_TYPES, "one type table size");

int dc_model_time_products(struct dc_model *m, int reps, struct dc_products *out, char *err) {
    memset(out, 0, sizeof(*out));
    struct wstream_result r;
    int rc = wstream_time(m->m, reps, &r, err);
    if (rc) return rc;
    *out = (struct dc_products){.n_mats = r.n_mats, .bytes = r.bytes, .best_s = r.best_s, .median_s = r.median_s,
                                .reps = r.reps, .n_types = r.n_types};
    for (int i = 0; i < r.n_types; i++) {
        out->types[i].type_name = dtype_name(r.types[i].type);
        out->types[i].n_mats = r.types[i].n_mats;
        out->types[i].bytes = r.types[i].bytes;
        out->types[i].s = r.types[i].s;
    }
    return DC_OK;
}

void dc_model_free(struct dc_model *m) {
    if (!m) return;
    model_free(m->m);
    free(m);
}

static const char *rope_scaling_name(int s) {
    switch (s) {
    case HP_ROPE_SCALING_LINEAR: return "linear";
    case HP_ROPE_SCALING_LLAMA3: return "llama3";
    case HP_ROPE_SCALING_YARN: return "yarn";
    default: return "none";
    }
}

void dc_model_get_info(const struct dc_model *dm, struct dc_model_info *info) {
    const struct model *m = dm->m;
    const struct hparams *hp = &m->hp;
    memset(info, 0, sizeof(*info));
    info->arch = hp->arch_name;
    info->source = m->source == MODEL_SRC_GGUF ? "gguf" : "safetensors";
    info->n_params = m->n_params;
    info->n_vocab = hp->n_vocab;
    info->n_embd = hp->n_embd;
    info->n_layer = hp->n_layer;
    info->n_head = hp->n_head;
    info->n_head_kv = hp->n_head_kv;
    info->head_dim = hp->head_dim;
    info->n_ff = hp->n_ff;
    info->n_ctx_train = hp->n_ctx_train;
    info->file_size = m->file_size;
    info->weight_bytes = m->weight_bytes;
    info->owned_bytes = m->owned_bytes;
    info->packed_bytes = m->packed_bytes;
    info->kv_bytes_per_token = fwd_kv_bytes_per_token(m);
    info->tied_embeddings = hp->tied_embeddings;
    info->rope_scaling = rope_scaling_name(hp->rope_scaling);
    info->kernels = kern_active()->name;
    info->n_expert = hp->n_expert;
    info->n_expert_used = hp->n_expert_used;
    info->n_mtp_layers = m->n_mtp_layers;
    info->active_bytes_per_token = m->active_bytes;
}

int64_t dc_model_n_tensors(const struct dc_model *m) { return model_n_tensors(m->m); }

int dc_model_tensor_info(const struct dc_model *m, int64_t i, const char **name, const char **type_name,
                         int64_t ne[4]) {
    if (i < 0 || i >= model_n_tensors(m->m)) return DC_EINVAL;
    const struct tensor_view *t = model_tensor_at(m->m, i);
    *name = t->name;
    *type_name = dtype_name(t->type);
    memcpy(ne, t->ne, sizeof(t->ne));
    return DC_OK;
}

int dc_session_create_kv(struct dc_session **out, const struct dc_model *m, int64_t n_ctx, int64_t n_batch,
                         const char *cache_type, char *err) {
    *out = NULL;
    int kv_type;
    int rc = fwd_kv_type_parse(cache_type, &kv_type, err);
    if (rc) return rc;
    struct dc_session *s = calloc(1, sizeof(*s));
    if (!s) return dc_errf(err, DC_ENOMEM, "out of memory");
    rc = fwd_init_kv(&s->f, m->m, n_ctx, n_batch, 1, kv_type, err);
    if (rc) {
        free(s);
        return rc;
    }
    *out = s;
    return DC_OK;
}

int dc_session_create(struct dc_session **out, const struct dc_model *m, int64_t n_ctx, int64_t n_batch,
                      char *err) {
    return dc_session_create_kv(out, m, n_ctx, n_batch, NULL, err);
}

void dc_session_free(struct dc_session *s) {
    if (!s) return;
    fwd_free(&s->f);
    free(s);
}

int dc_session_eval(struct dc_session *s, const int32_t *ids, int64_t n, float *logits_all, char *err) {
    return fwd_eval(&s->f, ids, n, logits_all, err);
}

const float *dc_session_logits(const struct dc_session *s) { return s->f.logits; }
int64_t dc_session_n_past(const struct dc_session *s) { return fwd_n_past(&s->f); }
void dc_session_truncate(struct dc_session *s, int64_t n_past) { fwd_truncate(&s->f, n_past); }
uint64_t dc_session_kv_bytes(const struct dc_session *s) { return s->f.kv_bytes; }
uint64_t dc_session_scratch_bytes(const struct dc_session *s) { return s->f.scratch_bytes; }
