/*
 * gguf.c - GGUF v2/v3 reader (see gguf.h; layout in spec/MODEL.md 10).
 *
 * Parsing is one forward pass over the image with a bounds-checked cursor:
 * header, key/values (copied into an arena owned by the struct), tensor infos,
 * then the data section, whose start is the end of the infos rounded up to the
 * alignment.  Every count is checked against the bytes that remain before
 * anything is allocated for it, so a hostile count fails fast instead of
 * asking for terabytes.  Tensor views point into the image (borrowed).
 * Lookups by key or tensor name use arrays of indices sorted by name, which
 * are also how duplicates are found at open time.
 */
#include "gguf.h"

#include <limits.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "err.h"
#include "mapfile.h"

#define GGUF_MAGIC "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_NAME 64 /* ggml's GGML_MAX_NAME, NUL included: names hold <= 63 bytes */

/* Smallest encodings, used as ceilings on counts read from the file:
 * a kv is key length (8) + >= 1 key byte + type (4) + >= 1 value byte;
 * a tensor info is name length (8) + n_dims (4) + >= 1 dim (8) + type (4) +
 * offset (8). */
#define GGUF_MIN_KV_BYTES 14
#define GGUF_MIN_TINFO_BYTES 32

/* ---- arena: owned metadata, freed in one go ------------------------------ */

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char mem[];
};

struct arena {
    struct arena_chunk *head;
    size_t next_cap; /* chunks grow 4 KiB, 8 KiB, ... up to ARENA_CHUNK */
};

#define ARENA_CHUNK (1u << 20)

static void *arena_alloc(struct arena *a, size_t n) {
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n) return NULL;
    struct arena_chunk *c = a->head;
    if (c && c->cap - c->used >= need) {
        void *p = c->mem + c->used;
        c->used += need;
        return p;
    }
    if (a->next_cap < 4096) a->next_cap = 4096;
    int oversized = need > a->next_cap;
    size_t cap = oversized ? need : a->next_cap;
    if (!oversized && a->next_cap < ARENA_CHUNK) a->next_cap *= 2;
    if (cap > SIZE_MAX - sizeof(*c)) return NULL;
    if (!(c = malloc(sizeof(*c) + cap))) return NULL;
    c->cap = cap;
    c->used = need;
    if (oversized && a->head) {
        /* A one-off block goes behind the current chunk, which keeps
         * serving small requests from its free room. */
        c->next = a->head->next;
        a->head->next = c;
    } else {
        c->next = a->head;
        a->head = c;
    }
    return c->mem;
}

static void arena_free(struct arena *a) {
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
}

/* ---- parsed structures --------------------------------------------------- */

struct gguf_str {
    char *s;      /* NUL-terminated copy (may hold embedded NULs) */
    uint64_t len; /* bytes, without the terminating NUL */
};

struct gguf_kv {
    struct gguf_str key;
    int type; /* enum gguf_vtype */
    union {
        uint8_t raw[8]; /* scalar numbers and bool, little-endian as in the file */
        struct gguf_str str;
        struct {
            int etype;
            uint64_t n;
            void *data; /* numeric: n packed elements; string: struct gguf_str[n] */
        } arr;
    } v;
};

struct gguf {
    struct mapfile map; /* set when opened from a path */
    const uint8_t *base;
    size_t size;
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset; /* absolute file offset of the data section */
    int64_t n_kv;
    struct gguf_kv *kv;      /* [n_kv], file order */
    int64_t *kv_sorted;      /* [n_kv] indices sorted by key */
    int64_t n_tensors;
    struct tensor_view *tensors; /* [n_tensors], file order */
    int64_t *t_sorted;           /* [n_tensors] indices sorted by name */
    struct arena arena;
};

/* ---- bounds-checked cursor ----------------------------------------------- */

struct cur {
    const uint8_t *p;
    size_t size;
    size_t pos;
    char *err;
};

static size_t cur_left(const struct cur *c) { return c->size - c->pos; }

static int cur_need(struct cur *c, uint64_t n, const char *what) {
    if (n > cur_left(c))
        return dc_errf(c->err, DC_EFORMAT, "gguf: file truncated at offset %zu reading %s (%llu bytes needed, %zu left)",
                       c->pos, what, (unsigned long long)n, cur_left(c));
    return DC_OK;
}

static int cur_u32(struct cur *c, uint32_t *v, const char *what) {
    int rc = cur_need(c, 4, what);
    if (rc) return rc;
    const uint8_t *b = c->p + c->pos;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    c->pos += 4;
    return DC_OK;
}

static int cur_u64(struct cur *c, uint64_t *v, const char *what) {
    int rc = cur_need(c, 8, what);
    if (rc) return rc;
    const uint8_t *b = c->p + c->pos;
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--) x = x << 8 | b[i];
    *v = x;
    c->pos += 8;
    return DC_OK;
}

/* Escapes a name for a one-line message: printable ASCII kept, the rest as
 * \xNN, cut to fit `out` (which should be >= 8 bytes). */
static const char *msg_name(char *out, size_t cap, const char *s, uint64_t len) {
    return dc_escape(out, cap, s, (size_t)len);
}

#define NAMEBUF 72

/* Appends " (context)" to the message already in err, so a low-level
 * "truncated" message also names the key or tensor being read. */
static int err_ctx(char *err, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int err_ctx(char *err, int rc, const char *fmt, ...) {
    if (!err) return rc;
    char ctx[128], prev[DC_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    snprintf(prev, sizeof(prev), "%s", err);
    return dc_errf(err, rc, "%s (%s)", prev, ctx);
}

/* Reads a GGUF string (u64 length + bytes) into an owned NUL-terminated copy. */
static int cur_str(struct cur *c, struct arena *a, struct gguf_str *out, const char *what) {
    uint64_t len;
    size_t at = c->pos;
    int rc = cur_u64(c, &len, what);
    if (rc) return rc;
    if (len > cur_left(c))
        return dc_errf(c->err, DC_EFORMAT, "gguf: %s at offset %zu has length %llu beyond the %zu bytes left", what, at,
                       (unsigned long long)len, cur_left(c));
    char *s = arena_alloc(a, (size_t)len + 1);
    if (!s) return dc_errf(c->err, DC_ENOMEM, "gguf: out of memory copying %s of %llu bytes", what, (unsigned long long)len);
    memcpy(s, c->p + c->pos, (size_t)len);
    s[len] = 0;
    c->pos += (size_t)len;
    out->s = s;
    out->len = len;
    return DC_OK;
}

/* Bytes of one scalar of a numeric/bool type, 0 for string/array/unknown. */
static size_t vtype_size(int t) {
    switch (t) {
    case GGUF_U8: case GGUF_I8: case GGUF_BOOL: return 1;
    case GGUF_U16: case GGUF_I16: return 2;
    case GGUF_U32: case GGUF_I32: case GGUF_F32: return 4;
    case GGUF_U64: case GGUF_I64: case GGUF_F64: return 8;
    default: return 0;
    }
}

static const char *vtype_name(int t) {
    static const char *names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
    return t >= 0 && t <= GGUF_F64 ? names[t] : "?";
}

/* ---- key/values ---------------------------------------------------------- */

static int parse_array(struct cur *c, struct gguf *g, struct gguf_kv *kv, const char *kname) {
    uint32_t et;
    uint64_t n;
    int rc = cur_u32(c, &et, "array element type");
    if (rc) return err_ctx(c->err, rc, "key '%s'", kname);
    if ((rc = cur_u64(c, &n, "array count"))) return err_ctx(c->err, rc, "key '%s'", kname);
    if (et == GGUF_ARRAY)
        return dc_errf(c->err, DC_EFORMAT, "gguf: key '%s' is an array of arrays (nested arrays are not supported)", kname);
    kv->v.arr.etype = (int)et;
    kv->v.arr.n = n;
    kv->v.arr.data = NULL;
    if (et == GGUF_STRING) {
        /* Each element needs at least its 8-byte length. */
        if (n > cur_left(c) / 8)
            return dc_errf(c->err, DC_EFORMAT, "gguf: key '%s' string array count %llu exceeds what the %zu bytes left can hold",
                           kname, (unsigned long long)n, cur_left(c));
        if (n == 0) return DC_OK;
        struct gguf_str *strs = arena_alloc(&g->arena, (size_t)n * sizeof(*strs));
        if (!strs) return dc_errf(c->err, DC_ENOMEM, "gguf: out of memory for key '%s' (%llu strings)", kname, (unsigned long long)n);
        for (uint64_t i = 0; i < n; i++)
            if ((rc = cur_str(c, &g->arena, &strs[i], "array string")))
                return err_ctx(c->err, rc, "key '%s' element %llu", kname, (unsigned long long)i);
        kv->v.arr.data = strs;
        return DC_OK;
    }
    size_t es = vtype_size((int)et);
    if (!es) return dc_errf(c->err, DC_EFORMAT, "gguf: key '%s' has array element type %u, not a GGUF value type", kname, et);
    if (n > cur_left(c) / es)
        return dc_errf(c->err, DC_EFORMAT, "gguf: key '%s' array count %llu of %s exceeds the %zu bytes left", kname,
                       (unsigned long long)n, vtype_name((int)et), cur_left(c));
    size_t bytes = (size_t)n * es;
    if (n == 0) return DC_OK;
    void *d = arena_alloc(&g->arena, bytes);
    if (!d) return dc_errf(c->err, DC_ENOMEM, "gguf: out of memory for key '%s' (%zu bytes)", kname, bytes);
    memcpy(d, c->p + c->pos, bytes);
    if (et == GGUF_BOOL) {
        for (uint64_t i = 0; i < n; i++)
            if (((uint8_t *)d)[i] > 1)
                return dc_errf(c->err, DC_EFORMAT, "gguf: key '%s' bool array element %llu has value %u (not 0 or 1)", kname,
                               (unsigned long long)i, ((uint8_t *)d)[i]);
    }
    c->pos += bytes;
    kv->v.arr.data = d;
    return DC_OK;
}

static int parse_kv(struct cur *c, struct gguf *g, int64_t i) {
    struct gguf_kv *kv = &g->kv[i];
    char nb[NAMEBUF];
    int rc = cur_str(c, &g->arena, &kv->key, "key");
    if (rc) return rc;
    if (kv->key.len == 0) return dc_errf(c->err, DC_EFORMAT, "gguf: key %lld is empty", (long long)i);
    const char *kname = msg_name(nb, sizeof(nb), kv->key.s, kv->key.len);
    uint32_t t;
    if ((rc = cur_u32(c, &t, "value type"))) return err_ctx(c->err, rc, "key '%s'", kname);
    kv->type = (int)t;
    if (t == GGUF_STRING) {
        if ((rc = cur_str(c, &g->arena, &kv->v.str, "string value"))) return err_ctx(c->err, rc, "key '%s'", kname);
        return DC_OK;
    }
    if (t == GGUF_ARRAY) return parse_array(c, g, kv, kname);
    size_t es = vtype_size((int)t);
    if (!es) return dc_errf(c->err, DC_EFORMAT, "gguf: key '%s' has value type %u, not a GGUF value type", kname, t);
    if ((rc = cur_need(c, es, "value"))) return err_ctx(c->err, rc, "key '%s'", kname);
    memset(kv->v.raw, 0, sizeof(kv->v.raw));
    memcpy(kv->v.raw, c->p + c->pos, es);
    if (t == GGUF_BOOL && kv->v.raw[0] > 1)
        return dc_errf(c->err, DC_EFORMAT, "gguf: key '%s' bool has value %u (not 0 or 1)", kname, kv->v.raw[0]);
    c->pos += es;
    return DC_OK;
}

/* ---- sorting and lookup -------------------------------------------------- */

/* Orders (s, len) byte strings: memcmp then length. */
static int bytes_cmp(const char *a, uint64_t al, const char *b, uint64_t bl) {
    uint64_t m = al < bl ? al : bl;
    int r = memcmp(a, b, (size_t)m);
    if (r) return r;
    return al < bl ? -1 : al > bl;
}

/* qsort has no context argument in C11; merge sort with an explicit comparator
 * over index arrays keeps this reentrant. */
typedef int (*idx_cmp_fn)(const void *ctx, int64_t a, int64_t b);

static void idx_merge_sort(int64_t *v, int64_t *tmp, int64_t n, idx_cmp_fn cmp, const void *ctx) {
    for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) tmp[k++] = cmp(ctx, v[j], v[i]) < 0 ? v[j++] : v[i++];
            while (i < mid) tmp[k++] = v[i++];
            while (j < hi) tmp[k++] = v[j++];
        }
        memcpy(v, tmp, (size_t)n * sizeof(*v));
    }
}

static int kv_cmp(const void *ctx, int64_t a, int64_t b) {
    const struct gguf *g = ctx;
    return bytes_cmp(g->kv[a].key.s, g->kv[a].key.len, g->kv[b].key.s, g->kv[b].key.len);
}

static int tname_cmp(const void *ctx, int64_t a, int64_t b) {
    const struct gguf *g = ctx;
    return strcmp(g->tensors[a].name, g->tensors[b].name);
}

static int tdata_cmp(const void *ctx, int64_t a, int64_t b) {
    const struct gguf *g = ctx;
    uintptr_t x = (uintptr_t)g->tensors[a].data, y = (uintptr_t)g->tensors[b].data;
    return x < y ? -1 : x > y;
}

static int64_t *sorted_index(int64_t n, idx_cmp_fn cmp, const void *ctx) {
    int64_t *v = malloc((size_t)(n ? n : 1) * sizeof(*v));
    int64_t *tmp = malloc((size_t)(n ? n : 1) * sizeof(*tmp));
    if (!v || !tmp) {
        free(v);
        free(tmp);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) v[i] = i;
    idx_merge_sort(v, tmp, n, cmp, ctx);
    free(tmp);
    return v;
}

int64_t gguf_find_kv(const struct gguf *g, const char *key) {
    if (!g || !key) return -1;
    uint64_t kl = strlen(key);
    int64_t lo = 0, hi = g->n_kv;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        const struct gguf_kv *kv = &g->kv[g->kv_sorted[mid]];
        int r = bytes_cmp(kv->key.s, kv->key.len, key, kl);
        if (r == 0) return g->kv_sorted[mid];
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

const struct tensor_view *gguf_find_tensor(const struct gguf *g, const char *name) {
    if (!g || !name) return NULL;
    int64_t lo = 0, hi = g->n_tensors;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        const struct tensor_view *t = &g->tensors[g->t_sorted[mid]];
        int r = strcmp(t->name, name);
        if (r == 0) return t;
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* ---- tensor infos -------------------------------------------------------- */

static int parse_tinfo(struct cur *c, struct gguf *g, int64_t i, uint64_t *offset) {
    struct tensor_view *t = &g->tensors[i];
    struct gguf_str name;
    char nb[NAMEBUF];
    int rc = cur_str(c, &g->arena, &name, "tensor name");
    if (rc) return rc;
    const char *tn = msg_name(nb, sizeof(nb), name.s, name.len);
    if (name.len >= GGUF_MAX_NAME)
        return dc_errf(c->err, DC_EFORMAT, "gguf: tensor %lld name '%s' is %llu bytes (at most %d allowed)", (long long)i, tn,
                       (unsigned long long)name.len, GGUF_MAX_NAME - 1);
    if (memchr(name.s, 0, (size_t)name.len))
        return dc_errf(c->err, DC_EFORMAT, "gguf: tensor %lld name '%s' contains a NUL byte", (long long)i, tn);
    t->name = name.s;
    uint32_t nd;
    if ((rc = cur_u32(c, &nd, "tensor n_dims"))) return err_ctx(c->err, rc, "tensor '%s'", tn);
    if (nd < 1 || nd > TENSOR_MAX_DIMS)
        return dc_errf(c->err, DC_EFORMAT, "gguf: tensor '%s' has n_dims %u (must be 1..%d)", tn, nd, TENSOR_MAX_DIMS);
    t->n_dims = (int)nd;
    int64_t nel = 1;
    for (int d = 0; d < TENSOR_MAX_DIMS; d++) {
        uint64_t ne = 1;
        if ((uint32_t)d < nd && (rc = cur_u64(c, &ne, "tensor dim"))) return err_ctx(c->err, rc, "tensor '%s'", tn);
        if (ne > (uint64_t)INT64_MAX)
            return dc_errf(c->err, DC_EFORMAT, "gguf: tensor '%s' dim %d is %llu (negative as int64)", tn, d, (unsigned long long)ne);
        t->ne[d] = (int64_t)ne;
        if (__builtin_mul_overflow(nel, t->ne[d], &nel))
            return dc_errf(c->err, DC_EFORMAT, "gguf: tensor '%s' element count overflows int64 at dim %d", tn, d);
    }
    uint32_t type;
    if ((rc = cur_u32(c, &type, "tensor type"))) return err_ctx(c->err, rc, "tensor '%s'", tn);
    /* ids >= 1000 are deepc-internal safetensors types, never in GGUF. */
    int64_t be = type < 1000 ? dtype_block_elems((int)type) : 0;
    int64_t bb = type < 1000 ? dtype_block_bytes((int)type) : 0;
    if (be <= 0 || bb <= 0) return dc_errf(c->err, DC_EFORMAT, "gguf: tensor '%s' has unknown type id %u", tn, type);
    t->type = (int)type;
    if (t->ne[0] % be)
        return dc_errf(c->err, DC_EFORMAT, "gguf: tensor '%s' ne0 %lld is not a multiple of the %s block size %lld", tn,
                       (long long)t->ne[0], dtype_name(t->type), (long long)be);
    /* bytes = ne0/block * block_bytes * ne1 * ne2 * ne3, every step checked. */
    int64_t nb_ = t->ne[0] / be;
    if (__builtin_mul_overflow(nb_, bb, &nb_) || __builtin_mul_overflow(nb_, t->ne[1], &nb_) ||
        __builtin_mul_overflow(nb_, t->ne[2], &nb_) || __builtin_mul_overflow(nb_, t->ne[3], &nb_))
        return dc_errf(c->err, DC_EFORMAT, "gguf: tensor '%s' byte size overflows int64", tn);
    t->nbytes = (uint64_t)nb_;
    if ((rc = cur_u64(c, offset, "tensor offset"))) return err_ctx(c->err, rc, "tensor '%s'", tn);
    return DC_OK;
}

/* Places every tensor in the data section and checks bounds, alignment and
 * overlaps.  offs[i] is tensor i's offset relative to the data section. */
static int place_tensors(struct gguf *g, const uint64_t *offs, char *err) {
    char nb[NAMEBUF];
    for (int64_t i = 0; i < g->n_tensors; i++) {
        struct tensor_view *t = &g->tensors[i];
        const char *tn = msg_name(nb, sizeof(nb), t->name, strlen(t->name));
        if (offs[i] % g->alignment)
            return dc_errf(err, DC_EFORMAT, "gguf: tensor '%s' offset %llu is not a multiple of the alignment %u", tn,
                           (unsigned long long)offs[i], g->alignment);
        /* start = data_offset + off; end = start + nbytes; compare without
         * forming sums that could wrap. */
        uint64_t room = g->size >= g->data_offset ? g->size - g->data_offset : 0;
        if (g->data_offset > g->size || offs[i] > room)
            return dc_errf(err, DC_EFORMAT, "gguf: tensor '%s' data starts at %llu + %llu beyond file size %zu", tn,
                           (unsigned long long)g->data_offset, (unsigned long long)offs[i], g->size);
        if (t->nbytes > room - offs[i]) {
            uint64_t start = g->data_offset + offs[i], end;
            if (__builtin_add_overflow(start, t->nbytes, &end))
                return dc_errf(err, DC_EFORMAT, "gguf: tensor '%s' data size %llu at %llu overflows", tn,
                               (unsigned long long)t->nbytes, (unsigned long long)start);
            return dc_errf(err, DC_EFORMAT, "gguf: tensor '%s' data ends at %llu beyond file size %zu", tn,
                           (unsigned long long)end, g->size);
        }
        t->data = g->base + g->data_offset + offs[i];
    }
    /* Writers pack tensors back to back in info order; aliasing data means a
     * damaged or crafted file. */
    int64_t *ord = sorted_index(g->n_tensors, tdata_cmp, g);
    if (!ord) return dc_errf(err, DC_ENOMEM, "gguf: out of memory sorting %lld tensors", (long long)g->n_tensors);
    const struct tensor_view *prev = NULL;
    for (int64_t k = 0; k < g->n_tensors; k++) {
        const struct tensor_view *t = &g->tensors[ord[k]];
        if (t->nbytes == 0) continue;
        if (prev && (const uint8_t *)prev->data + prev->nbytes > (const uint8_t *)t->data) {
            char nb2[NAMEBUF];
            int rc = dc_errf(err, DC_EFORMAT, "gguf: tensors '%s' and '%s' overlap in the data section",
                             msg_name(nb, sizeof(nb), prev->name, strlen(prev->name)),
                             msg_name(nb2, sizeof(nb2), t->name, strlen(t->name)));
            free(ord);
            return rc;
        }
        prev = t;
    }
    free(ord);
    return DC_OK;
}

/* ---- open ---------------------------------------------------------------- */

static int read_alignment(struct gguf *g, char *err) {
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    int64_t i = gguf_find_kv(g, "general.alignment");
    if (i < 0) return DC_OK;
    const struct gguf_kv *kv = &g->kv[i];
    if (kv->type != GGUF_U32)
        return dc_errf(err, DC_EFORMAT, "gguf: general.alignment has type %s (must be u32)", vtype_name(kv->type));
    uint32_t a;
    memcpy(&a, kv->v.raw, 4);
    if (a == 0 || (a & (a - 1)))
        return dc_errf(err, DC_EFORMAT, "gguf: general.alignment %u is not a power of two", a);
    g->alignment = a;
    return DC_OK;
}

static int parse(struct gguf *g, char *err) {
    struct cur c = {g->base, g->size, 0, err};
    char nb[NAMEBUF];
    uint64_t *offs = NULL;
    int rc;
    if (g->size < 4 || memcmp(g->base, GGUF_MAGIC, 4) != 0)
        return dc_errf(err, DC_EFORMAT, "gguf: bad magic (not a GGUF file)");
    c.pos = 4;
    uint32_t ver;
    if ((rc = cur_u32(&c, &ver, "version"))) return rc;
    if (ver != 0 && (ver & 0xffff) == 0)
        return dc_errf(err, DC_EFORMAT, "gguf: version field 0x%08x looks byte-swapped (big-endian files are not supported)", ver);
    if (ver == 1) return dc_errf(err, DC_EFORMAT, "gguf: version 1 files are not supported (need 2 or 3)");
    if (ver != 2 && ver != 3) return dc_errf(err, DC_EFORMAT, "gguf: unsupported version %u (need 2 or 3)", ver);
    g->version = ver;
    uint64_t nt, nkv;
    if ((rc = cur_u64(&c, &nt, "tensor count"))) return rc;
    if ((rc = cur_u64(&c, &nkv, "metadata count"))) return rc;
    if (nkv > cur_left(&c) / GGUF_MIN_KV_BYTES)
        return dc_errf(err, DC_EFORMAT, "gguf: metadata count %llu exceeds what the %zu bytes left can hold",
                       (unsigned long long)nkv, cur_left(&c));
    if (nt > cur_left(&c) / GGUF_MIN_TINFO_BYTES)
        return dc_errf(err, DC_EFORMAT, "gguf: tensor count %llu exceeds what the %zu bytes left can hold",
                       (unsigned long long)nt, cur_left(&c));

    g->kv = calloc((size_t)(nkv ? nkv : 1), sizeof(*g->kv));
    if (!g->kv) return dc_errf(err, DC_ENOMEM, "gguf: out of memory for %llu key/values", (unsigned long long)nkv);
    for (uint64_t i = 0; i < nkv; i++) {
        g->n_kv = (int64_t)i + 1; /* keep n_kv = entries touched, for cleanup and lookup */
        if ((rc = parse_kv(&c, g, (int64_t)i))) return rc;
    }
    g->n_kv = (int64_t)nkv;
    if (!(g->kv_sorted = sorted_index(g->n_kv, kv_cmp, g)))
        return dc_errf(err, DC_ENOMEM, "gguf: out of memory sorting keys");
    for (int64_t k = 1; k < g->n_kv; k++) {
        const struct gguf_kv *a = &g->kv[g->kv_sorted[k - 1]], *b = &g->kv[g->kv_sorted[k]];
        if (bytes_cmp(a->key.s, a->key.len, b->key.s, b->key.len) == 0)
            return dc_errf(err, DC_EFORMAT, "gguf: duplicate key '%s'", msg_name(nb, sizeof(nb), b->key.s, b->key.len));
    }
    if ((rc = read_alignment(g, err))) return rc;

    if (nt > cur_left(&c) / GGUF_MIN_TINFO_BYTES)
        return dc_errf(err, DC_EFORMAT, "gguf: tensor count %llu exceeds what the %zu bytes left can hold",
                       (unsigned long long)nt, cur_left(&c));
    g->tensors = calloc((size_t)(nt ? nt : 1), sizeof(*g->tensors));
    offs = malloc((size_t)(nt ? nt : 1) * sizeof(*offs));
    if (!g->tensors || !offs) {
        rc = dc_errf(err, DC_ENOMEM, "gguf: out of memory for %llu tensor infos", (unsigned long long)nt);
        goto fail;
    }
    for (uint64_t i = 0; i < nt; i++)
        if ((rc = parse_tinfo(&c, g, (int64_t)i, &offs[i]))) goto fail;
    g->n_tensors = (int64_t)nt;
    if (!(g->t_sorted = sorted_index(g->n_tensors, tname_cmp, g))) {
        rc = dc_errf(err, DC_ENOMEM, "gguf: out of memory sorting tensor names");
        goto fail;
    }
    for (int64_t k = 1; k < g->n_tensors; k++) {
        const char *a = g->tensors[g->t_sorted[k - 1]].name, *b = g->tensors[g->t_sorted[k]].name;
        if (strcmp(a, b) == 0) {
            rc = dc_errf(err, DC_EFORMAT, "gguf: duplicate tensor name '%s'", msg_name(nb, sizeof(nb), b, strlen(b)));
            goto fail;
        }
    }
    /* The data section starts at the end of the infos rounded up to the
     * alignment (absolute file position); c.pos <= size, so no wrap. */
    g->data_offset = ((uint64_t)c.pos + g->alignment - 1) / g->alignment * g->alignment;
    if ((rc = place_tensors(g, offs, err))) goto fail;
    free(offs);
    return DC_OK;
fail:
    free(offs);
    return rc;
}

int gguf_open_mem(struct gguf **out, const void *data, size_t size, char *err) {
    if (!out) return dc_errf(err, DC_EINVAL, "gguf: NULL output pointer");
    *out = NULL;
    if (!data && size) return dc_errf(err, DC_EINVAL, "gguf: NULL data");
    struct gguf *g = calloc(1, sizeof(*g));
    if (!g) return dc_errf(err, DC_ENOMEM, "gguf: out of memory");
    g->base = data;
    g->size = size;
    int rc = parse(g, err);
    if (rc) {
        gguf_free(g);
        return rc;
    }
    *out = g;
    return DC_OK;
}

int gguf_open(struct gguf **out, const char *path, char *err) {
    if (!out || !path) return dc_errf(err, DC_EINVAL, "gguf: NULL argument");
    *out = NULL;
    struct mapfile m;
    int rc = mapfile_open(&m, path, err);
    if (rc) return rc;
    struct gguf *g = NULL;
    if ((rc = gguf_open_mem(&g, m.data, m.size, err))) {
        mapfile_close(&m);
        return rc;
    }
    g->map = m;
    *out = g;
    return DC_OK;
}

void gguf_free(struct gguf *g) {
    if (!g) return;
    free(g->kv_sorted);
    free(g->kv);
    free(g->t_sorted);
    free(g->tensors);
    arena_free(&g->arena);
    mapfile_close(&g->map);
    free(g);
}

/* ---- accessors ----------------------------------------------------------- */

uint32_t gguf_version(const struct gguf *g) { return g->version; }
uint32_t gguf_alignment(const struct gguf *g) { return g->alignment; }
uint64_t gguf_file_size(const struct gguf *g) { return g->size; }
uint64_t gguf_data_offset(const struct gguf *g) { return g->data_offset; }
int64_t gguf_n_kv(const struct gguf *g) { return g->n_kv; }
int64_t gguf_n_tensors(const struct gguf *g) { return g->n_tensors; }

const char *gguf_kv_key(const struct gguf *g, int64_t i) {
    return i >= 0 && i < g->n_kv ? g->kv[i].key.s : NULL;
}

int gguf_kv_type(const struct gguf *g, int64_t i) {
    return i >= 0 && i < g->n_kv ? g->kv[i].type : -1;
}

const struct tensor_view *gguf_tensor(const struct gguf *g, int64_t i) {
    return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

static const struct gguf_kv *kv_get(const struct gguf *g, const char *key) {
    int64_t i = gguf_find_kv(g, key);
    return i < 0 ? NULL : &g->kv[i];
}

/* Widens an integer-typed scalar; returns 0 if the type is not an integer. */
static int kv_int(const struct gguf_kv *kv, int64_t *v, uint64_t *uv, int *is_unsigned) {
    const uint8_t *r = kv->v.raw;
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--) u = u << 8 | r[i];
    *is_unsigned = 0;
    switch (kv->type) {
    case GGUF_U8: case GGUF_BOOL: *v = (uint8_t)u; break;
    case GGUF_I8: *v = (int8_t)(uint8_t)u; break;
    case GGUF_U16: *v = (uint16_t)u; break;
    case GGUF_I16: *v = (int16_t)(uint16_t)u; break;
    case GGUF_U32: *v = (uint32_t)u; break;
    case GGUF_I32: *v = (int32_t)(uint32_t)u; break;
    case GGUF_I64: *v = (int64_t)u; break;
    case GGUF_U64: *is_unsigned = 1; *uv = u; *v = 0; break;
    default: return 0;
    }
    return 1;
}

int gguf_get_int(const struct gguf *g, const char *key, int64_t *out) {
    const struct gguf_kv *kv = kv_get(g, key);
    if (!kv) return DC_ENOTFOUND;
    int64_t v;
    uint64_t uv;
    int uns;
    if (!kv_int(kv, &v, &uv, &uns)) return DC_EFORMAT;
    if (uns) {
        if (uv > (uint64_t)INT64_MAX) return DC_EFORMAT;
        v = (int64_t)uv;
    }
    *out = v;
    return DC_OK;
}

int gguf_get_float(const struct gguf *g, const char *key, double *out) {
    const struct gguf_kv *kv = kv_get(g, key);
    if (!kv) return DC_ENOTFOUND;
    if (kv->type == GGUF_F32) {
        float f;
        memcpy(&f, kv->v.raw, 4);
        *out = (double)f;
        return DC_OK;
    }
    if (kv->type == GGUF_F64) {
        memcpy(out, kv->v.raw, 8);
        return DC_OK;
    }
    if (kv->type == GGUF_BOOL) return DC_EFORMAT;
    int64_t v;
    uint64_t uv;
    int uns;
    if (!kv_int(kv, &v, &uv, &uns)) return DC_EFORMAT;
    *out = uns ? (double)uv : (double)v;
    return DC_OK;
}

int gguf_get_bool(const struct gguf *g, const char *key, int *out) {
    const struct gguf_kv *kv = kv_get(g, key);
    if (!kv) return DC_ENOTFOUND;
    if (kv->type != GGUF_BOOL) return DC_EFORMAT;
    *out = kv->v.raw[0] != 0;
    return DC_OK;
}

int gguf_get_str(const struct gguf *g, const char *key, const char **s, uint64_t *len) {
    const struct gguf_kv *kv = kv_get(g, key);
    if (!kv) return DC_ENOTFOUND;
    if (kv->type != GGUF_STRING) return DC_EFORMAT;
    if (s) *s = kv->v.str.s;
    if (len) *len = kv->v.str.len;
    return DC_OK;
}

int gguf_get_arr(const struct gguf *g, const char *key, int *etype, uint64_t *n, const void **data) {
    const struct gguf_kv *kv = kv_get(g, key);
    if (!kv) return DC_ENOTFOUND;
    if (kv->type != GGUF_ARRAY) return DC_EFORMAT;
    if (etype) *etype = kv->v.arr.etype;
    if (n) *n = kv->v.arr.n;
    /* String arrays are read element-wise with gguf_get_arr_str. */
    if (data) *data = kv->v.arr.etype == GGUF_STRING ? NULL : kv->v.arr.data;
    return DC_OK;
}

int gguf_get_arr_str(const struct gguf *g, const char *key, uint64_t i, const char **s, uint64_t *len) {
    const struct gguf_kv *kv = kv_get(g, key);
    if (!kv) return DC_ENOTFOUND;
    if (kv->type != GGUF_ARRAY || kv->v.arr.etype != GGUF_STRING) return DC_EFORMAT;
    if (i >= kv->v.arr.n) return DC_ERANGE;
    const struct gguf_str *e = (const struct gguf_str *)kv->v.arr.data + i;
    if (s) *s = e->s;
    if (len) *len = e->len;
    return DC_OK;
}
