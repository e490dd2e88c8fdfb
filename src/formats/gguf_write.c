/*
 * gguf_write.c - GGUF v3 writer (see gguf_write.h; layout in spec/MODEL.md 10.1).
 */
#include "gguf_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dtype.h"
#include "err.h"
#include "gguf.h"

struct wtensor {
    char name[64];
    int type;
    int n_dims;
    int64_t ne[4];
    uint64_t offset; /* relative to the data section */
    uint64_t nbytes;
};

struct gguf_writer {
    FILE *f;
    char *path, *tmp_path;
    uint32_t alignment;
    /* metadata buffer */
    uint8_t *kv;
    size_t kv_len, kv_cap;
    uint64_t n_kv;
    char **keys;
    size_t n_keys, cap_keys;
    /* tensors */
    struct wtensor *t;
    size_t n_t, cap_t;
    uint64_t data_size;
    size_t next_data; /* index of the next tensor to write */
    uint64_t cur_written; /* bytes of that tensor written so far */
    int begun;
};

static int buf_put(struct gguf_writer *w, const void *p, size_t n) {
    if (w->kv_len + n > w->kv_cap) {
        size_t nc = (w->kv_len + n) * 2 + 4096;
        uint8_t *nb = realloc(w->kv, nc);
        if (!nb) return DC_ENOMEM;
        w->kv = nb;
        w->kv_cap = nc;
    }
    memcpy(w->kv + w->kv_len, p, n);
    w->kv_len += n;
    return DC_OK;
}

static int put_u32(struct gguf_writer *w, uint32_t v) { return buf_put(w, &v, 4); }
static int put_u64(struct gguf_writer *w, uint64_t v) { return buf_put(w, &v, 8); }
static int put_str(struct gguf_writer *w, const char *s, size_t len) {
    int rc = put_u64(w, (uint64_t)len);
    return rc ? rc : buf_put(w, s, len);
}

int gguf_writer_create(struct gguf_writer **out, const char *path, uint32_t alignment, char *err) {
    *out = NULL;
    if (alignment == 0) alignment = 32;
    if (alignment < 8 || (alignment & (alignment - 1)))
        return dc_errf(err, DC_EINVAL, "gguf writer: alignment %u is not a power of two >= 8", alignment);
    struct gguf_writer *w = calloc(1, sizeof(*w));
    if (!w) return dc_errf(err, DC_ENOMEM, "out of memory");
    w->alignment = alignment;
    w->path = strdup(path);
    size_t tl = strlen(path) + 6;
    w->tmp_path = malloc(tl);
    if (!w->path || !w->tmp_path) {
        gguf_writer_free(w);
        return dc_errf(err, DC_ENOMEM, "out of memory");
    }
    snprintf(w->tmp_path, tl, "%s.part", path);
    w->f = fopen(w->tmp_path, "wb");
    if (!w->f) {
        int e = errno;
        gguf_writer_free(w);
        return dc_errf(err, DC_EIO, "cannot create %s.part: %s", path, strerror(e));
    }
    *out = w;
    return DC_OK;
}

void gguf_writer_free(struct gguf_writer *w) {
    if (!w) return;
    if (w->f) {
        fclose(w->f);
        unlink(w->tmp_path);
    }
    for (size_t i = 0; i < w->n_keys; i++) free(w->keys[i]);
    free(w->keys);
    free(w->kv);
    free(w->t);
    free(w->path);
    free(w->tmp_path);
    free(w);
}

int gguf_w_has(const struct gguf_writer *w, const char *key) {
    for (size_t i = 0; i < w->n_keys; i++)
        if (!strcmp(w->keys[i], key)) return 1;
    return 0;
}

/* Registers the key and writes it plus the value type. */
static int kv_begin(struct gguf_writer *w, const char *key, uint32_t type) {
    if (w->begun || !key[0] || gguf_w_has(w, key)) return DC_EINVAL;
    if (w->n_keys == w->cap_keys) {
        size_t nc = w->cap_keys * 2 + 32;
        char **nk = realloc(w->keys, nc * sizeof(*nk));
        if (!nk) return DC_ENOMEM;
        w->keys = nk;
        w->cap_keys = nc;
    }
    if (!(w->keys[w->n_keys] = strdup(key))) return DC_ENOMEM;
    w->n_keys++;
    w->n_kv++;
    int rc = put_str(w, key, strlen(key));
    return rc ? rc : put_u32(w, type);
}

int gguf_w_u32(struct gguf_writer *w, const char *key, uint32_t v) {
    int rc = kv_begin(w, key, GGUF_U32);
    return rc ? rc : put_u32(w, v);
}
int gguf_w_i32(struct gguf_writer *w, const char *key, int32_t v) {
    int rc = kv_begin(w, key, GGUF_I32);
    return rc ? rc : buf_put(w, &v, 4);
}
int gguf_w_u64(struct gguf_writer *w, const char *key, uint64_t v) {
    int rc = kv_begin(w, key, GGUF_U64);
    return rc ? rc : put_u64(w, v);
}
int gguf_w_f32(struct gguf_writer *w, const char *key, float v) {
    int rc = kv_begin(w, key, GGUF_F32);
    return rc ? rc : buf_put(w, &v, 4);
}
int gguf_w_bool(struct gguf_writer *w, const char *key, int v) {
    uint8_t b = v ? 1 : 0;
    int rc = kv_begin(w, key, GGUF_BOOL);
    return rc ? rc : buf_put(w, &b, 1);
}
int gguf_w_str(struct gguf_writer *w, const char *key, const char *s, size_t len) {
    int rc = kv_begin(w, key, GGUF_STRING);
    return rc ? rc : put_str(w, s, len);
}

static size_t vtype_size(int t) {
    switch (t) {
    case GGUF_U8: case GGUF_I8: case GGUF_BOOL: return 1;
    case GGUF_U16: case GGUF_I16: return 2;
    case GGUF_U32: case GGUF_I32: case GGUF_F32: return 4;
    case GGUF_U64: case GGUF_I64: case GGUF_F64: return 8;
    default: return 0;
    }
}

int gguf_w_arr(struct gguf_writer *w, const char *key, int etype, const void *data, uint64_t n) {
    size_t es = vtype_size(etype);
    if (!es) return DC_EINVAL;
    int rc = kv_begin(w, key, GGUF_ARRAY);
    if (!rc) rc = put_u32(w, (uint32_t)etype);
    if (!rc) rc = put_u64(w, n);
    if (!rc && n) rc = buf_put(w, data, (size_t)n * es);
    return rc;
}

int gguf_w_arr_str(struct gguf_writer *w, const char *key, const char *const *strs, const size_t *lens,
                   uint64_t n) {
    int rc = kv_begin(w, key, GGUF_ARRAY);
    if (!rc) rc = put_u32(w, GGUF_STRING);
    if (!rc) rc = put_u64(w, n);
    for (uint64_t i = 0; i < n && !rc; i++) rc = put_str(w, strs[i], lens[i]);
    return rc;
}

int gguf_w_copy_kv(struct gguf_writer *w, const struct gguf *src, int64_t i, char *err) {
    const char *key = gguf_kv_key(src, i);
    int type = gguf_kv_type(src, i);
    int64_t iv = 0;
    double dv = 0;
    int rc = DC_OK;
    switch (type) {
    case GGUF_U8: case GGUF_I8: case GGUF_U16: case GGUF_I16: case GGUF_U32: case GGUF_I32: case GGUF_I64: {
        if ((rc = gguf_get_int(src, key, &iv))) break;
        uint64_t raw = (uint64_t)iv;
        rc = kv_begin(w, key, (uint32_t)type);
        if (!rc) rc = buf_put(w, &raw, vtype_size(type)); /* little-endian: low bytes first */
        break;
    }
    case GGUF_U64:
        if (gguf_get_int(src, key, &iv) == DC_OK) {
            rc = gguf_w_u64(w, key, (uint64_t)iv);
        } else if ((rc = gguf_get_float(src, key, &dv)) == DC_OK) {
            rc = gguf_w_u64(w, key, (uint64_t)dv);
        }
        break;
    case GGUF_F32:
        if (!(rc = gguf_get_float(src, key, &dv))) rc = gguf_w_f32(w, key, (float)dv);
        break;
    case GGUF_F64:
        if (!(rc = gguf_get_float(src, key, &dv))) {
            rc = kv_begin(w, key, GGUF_F64);
            if (!rc) rc = buf_put(w, &dv, 8);
        }
        break;
    case GGUF_BOOL: {
        int b;
        if (!(rc = gguf_get_bool(src, key, &b))) rc = gguf_w_bool(w, key, b);
        break;
    }
    case GGUF_STRING: {
        const char *s;
        uint64_t len;
        if (!(rc = gguf_get_str(src, key, &s, &len))) rc = gguf_w_str(w, key, s, (size_t)len);
        break;
    }
    case GGUF_ARRAY: {
        int et;
        uint64_t n;
        const void *data;
        if ((rc = gguf_get_arr(src, key, &et, &n, &data))) break;
        if (et != GGUF_STRING) {
            rc = gguf_w_arr(w, key, et, data, n);
            break;
        }
        rc = kv_begin(w, key, GGUF_ARRAY);
        if (!rc) rc = put_u32(w, GGUF_STRING);
        if (!rc) rc = put_u64(w, n);
        for (uint64_t k = 0; k < n && !rc; k++) {
            const char *s;
            uint64_t len;
            if (!(rc = gguf_get_arr_str(src, key, k, &s, &len))) rc = put_str(w, s, (size_t)len);
        }
        break;
    }
    default:
        rc = DC_EFORMAT;
    }
    if (rc) return dc_errf(err, rc, "gguf writer: cannot copy key %s", key);
    return DC_OK;
}

int64_t gguf_w_tensor(struct gguf_writer *w, const char *name, int type, int n_dims, const int64_t *ne) {
    if (w->begun || n_dims < 1 || n_dims > 4 || strlen(name) >= sizeof(w->t[0].name)) return DC_EINVAL;
    for (size_t i = 0; i < w->n_t; i++)
        if (!strcmp(w->t[i].name, name)) return DC_EINVAL;
    int64_t nel = 1;
    for (int d = 0; d < n_dims; d++) {
        if (ne[d] < 0) return DC_EINVAL;
        nel *= ne[d];
    }
    int64_t rb = dtype_row_bytes(type, ne[0]);
    if (rb < 0) return DC_EINVAL;
    if (w->n_t == w->cap_t) {
        size_t nc = w->cap_t * 2 + 64;
        struct wtensor *nt = realloc(w->t, nc * sizeof(*nt));
        if (!nt) return DC_ENOMEM;
        w->t = nt;
        w->cap_t = nc;
    }
    struct wtensor *t = &w->t[w->n_t];
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->type = type;
    t->n_dims = n_dims;
    for (int d = 0; d < 4; d++) t->ne[d] = d < n_dims ? ne[d] : 1;
    t->nbytes = (uint64_t)rb * (uint64_t)(ne[0] ? nel / ne[0] : 0);
    t->offset = w->data_size;
    w->data_size += (t->nbytes + w->alignment - 1) / w->alignment * w->alignment;
    return (int64_t)w->n_t++;
}

static int write_all(struct gguf_writer *w, const void *p, size_t n, char *err) {
    if (n && fwrite(p, 1, n, w->f) != n) return dc_errf(err, DC_EIO, "cannot write %s: %s", w->tmp_path, strerror(errno));
    return DC_OK;
}

static int pad_to(struct gguf_writer *w, uint64_t pos, char *err) {
    static const uint8_t zeros[256];
    uint64_t pad = (w->alignment - pos % w->alignment) % w->alignment;
    return write_all(w, zeros, (size_t)pad, err);
}

int gguf_w_begin_data(struct gguf_writer *w, char *err) {
    if (w->begun) return dc_errf(err, DC_EINVAL, "gguf writer: header already written");
    if (w->alignment != 32 && !gguf_w_has(w, "general.alignment")) {
        int rc = gguf_w_u32(w, "general.alignment", w->alignment);
        if (rc) return dc_errf(err, rc, "gguf writer: out of memory");
    }
    w->begun = 1;
    uint32_t magic = 0x46554747u, version = 3;
    uint64_t nt = w->n_t;
    int rc;
    if ((rc = write_all(w, &magic, 4, err)) || (rc = write_all(w, &version, 4, err)) ||
        (rc = write_all(w, &nt, 8, err)) || (rc = write_all(w, &w->n_kv, 8, err)) ||
        (rc = write_all(w, w->kv, w->kv_len, err)))
        return rc;
    uint64_t pos = 24 + w->kv_len;
    for (size_t i = 0; i < w->n_t; i++) {
        const struct wtensor *t = &w->t[i];
        uint64_t len = strlen(t->name);
        uint32_t nd = (uint32_t)t->n_dims, ty = (uint32_t)t->type;
        if ((rc = write_all(w, &len, 8, err)) || (rc = write_all(w, t->name, len, err)) ||
            (rc = write_all(w, &nd, 4, err)))
            return rc;
        for (int d = 0; d < t->n_dims; d++)
            if ((rc = write_all(w, &t->ne[d], 8, err))) return rc;
        if ((rc = write_all(w, &ty, 4, err)) || (rc = write_all(w, &t->offset, 8, err))) return rc;
        pos += 8 + len + 4 + 8 * (uint64_t)t->n_dims + 4 + 8;
    }
    return pad_to(w, pos, err);
}

int gguf_w_tensor_data(struct gguf_writer *w, const void *data, size_t nbytes, char *err) {
    if (!w->begun || w->next_data >= w->n_t)
        return dc_errf(err, DC_EINVAL, "gguf writer: no tensor left to write");
    const struct wtensor *t = &w->t[w->next_data];
    if (nbytes > t->nbytes - w->cur_written)
        return dc_errf(err, DC_EINVAL, "gguf writer: tensor %s needs %llu bytes, got %llu", t->name,
                       (unsigned long long)t->nbytes, (unsigned long long)(w->cur_written + nbytes));
    int rc = write_all(w, data, nbytes, err);
    if (rc) return rc;
    w->cur_written += nbytes;
    if (w->cur_written == t->nbytes) {
        if ((rc = pad_to(w, t->nbytes, err))) return rc;
        w->next_data++;
        w->cur_written = 0;
    }
    return DC_OK;
}

int gguf_writer_finish(struct gguf_writer *w, char *err) {
    int rc = DC_OK;
    if (!w->begun) rc = gguf_w_begin_data(w, err);
    if (!rc && w->next_data != w->n_t)
        rc = dc_errf(err, DC_EINVAL, "gguf writer: %zu of %zu tensors written", w->next_data, w->n_t);
    if (!rc && (fflush(w->f) || fsync(fileno(w->f))))
        rc = dc_errf(err, DC_EIO, "cannot write %s: %s", w->tmp_path, strerror(errno));
    if (!rc) {
        int c = fclose(w->f);
        w->f = NULL;
        if (c) rc = dc_errf(err, DC_EIO, "cannot write %s", w->tmp_path);
        else if (rename(w->tmp_path, w->path))
            rc = dc_errf(err, DC_EIO, "cannot rename %s: %s", w->tmp_path, strerror(errno));
        if (rc) unlink(w->tmp_path);
    }
    gguf_writer_free(w);
    return rc;
}
