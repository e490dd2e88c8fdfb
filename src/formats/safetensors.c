/*
 * safetensors.c - safetensors checkpoint reader (see safetensors.h; format in
 * spec/MODEL.md 9.1).
 *
 * One shard: u64 LE header length N (<= 100,000,000 and <= file size - 8),
 * then N bytes of JSON parsed by json-c in strict mode, then the data buffer.
 * json-c silently keeps the last of duplicate object keys, so duplicates are
 * found by counting keys twice: once in the raw header text (every string
 * followed by ':' is a key) and once as the sum of the parsed objects' sizes;
 * any difference means a key was repeated somewhere.  Entries are sorted by
 * their begin offset to reject overlaps.  Views point into the shard's
 * mapping (borrowed); names are owned copies.
 *
 * A checkpoint directory is resolved through model.safetensors.index.json
 * when present (each shard mapped once, every tensor checked against the
 * weight_map both ways), else through model.safetensors.  config.json and a
 * few other JSON side files are read whole at open time.
 */
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dtype.h"
#include "err.h"
#include "mapfile.h"

#define ST_MAX_HEADER 100000000ull            /* reference parser's MAX_HEADER_SIZE */
#define ST_MAX_CONFIG (16ull << 20)           /* config.json */
#define ST_MAX_AUX (64ull << 20)              /* tokenizer.json and friends */
#define ST_MAX_INDEX (256ull << 20)           /* model.safetensors.index.json */
#define ST_INDEX_NAME "model.safetensors.index.json"
#define ST_SINGLE_NAME "model.safetensors"

/* Side files st_aux_json can return; read at open when present. */
static const char *const st_aux_names[] = {
    "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
};
#define ST_N_AUX (sizeof(st_aux_names) / sizeof(st_aux_names[0]))

struct st_shard {
    struct mapfile map; /* unmapped for st_open_mem */
    const uint8_t *base;
    size_t size;
    char *file;  /* file name as in the weight_map (owned) */
    char *label; /* the same, escaped for one-line messages (owned) */
};

struct st_model {
    char *dir;    /* NULL for st_open_mem */
    char *config; /* config.json text, NULL when absent */
    char *aux[ST_N_AUX];
    struct st_shard *shards;
    int n_shards;
    struct tensor_view *tensors; /* [n_tensors]: by shard, then by data offset */
    int *shard_of;               /* [n_tensors] */
    int64_t n_tensors, cap;
    int64_t *sorted;             /* [n_tensors] indices sorted by name */
    uint64_t total_size;
};

/* ---- helpers ------------------------------------------------------------- */

/* Escapes a name for a one-line message (printable ASCII kept, else \xNN). */
static const char *msg_name(char *out, size_t cap, const char *s) {
    return dc_escape(out, cap, s, strlen(s));
}

#define NAMEBUF 96

static char *str_dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static char *path_join(const char *dir, const char *file) {
    size_t a = strlen(dir), b = strlen(file);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, file, b + 1);
    return p;
}

static char *path_dirname(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return str_dup(".");
    if (slash == path) return str_dup("/");
    size_t n = (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, path, n);
    d[n] = 0;
    return d;
}

/* Reads a whole regular file of at most `cap` bytes, NUL-terminated.
 * DC_ENOTFOUND (no message) when it does not exist. */
static int read_text(const char *path, uint64_t cap, char **out, size_t *len, char *err) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return DC_ENOTFOUND;
        return dc_errf(err, DC_EIO, "cannot open %s: %s", path, strerror(errno));
    }
    struct stat st;
    int rc = DC_OK;
    char *buf = NULL;
    if (fstat(fd, &st) != 0) {
        rc = dc_errf(err, DC_EIO, "cannot stat %s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = dc_errf(err, DC_EIO, "%s is not a regular file", path);
        goto fail;
    }
    if ((uint64_t)st.st_size > cap) {
        rc = dc_errf(err, DC_ENOMEM, "%s is %lld bytes, over the %llu byte limit", path, (long long)st.st_size,
                     (unsigned long long)cap);
        goto fail;
    }
    size_t n = (size_t)st.st_size, got = 0;
    if (!(buf = malloc(n + 1))) {
        rc = dc_errf(err, DC_ENOMEM, "out of memory reading %s", path);
        goto fail;
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            rc = dc_errf(err, DC_EIO, "cannot read %s: %s", path, r < 0 ? strerror(errno) : "file shrank");
            goto fail;
        }
        got += (size_t)r;
    }
    buf[n] = 0;
    close(fd);
    *out = buf;
    if (len) *len = n;
    return DC_OK;
fail:
    free(buf);
    close(fd);
    return rc;
}

/* ---- JSON: strict parse with duplicate-key detection --------------------- */

/* Counts object keys in JSON text that json-c accepted in strict mode: a key
 * is a double-quoted string followed (after whitespace) by ':'.  *top gets
 * the keys of the outermost object alone.  Returns -1 on a single quote
 * outside a string, which json-c tolerates but JSON forbids, and -2 on an
 * escaped NUL (\u0000) in a string. */
static int64_t json_text_keys(const char *s, size_t n, int64_t *top) {
    int64_t keys = 0;
    int depth = 0;
    size_t i = 0;
    *top = 0;
    while (i < n) {
        char ch = s[i];
        if (ch == '\'') return -1;
        if (ch == '{' || ch == '[') depth++;
        if (ch == '}' || ch == ']') depth--;
        if (ch != '"') {
            i++;
            continue;
        }
        for (i++; i < n && s[i] != '"'; i++) {
            if (s[i] != '\\') continue;
            /* json-c cuts C-string keys at an escaped NUL; refuse it so names
             * are exactly what the file says. */
            if (i + 5 < n && memcmp(s + i + 1, "u0000", 5) == 0) return -2;
            i++;
        }
        for (i++; i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'); i++) {
        }
        if (i < n && s[i] == ':') {
            keys++;
            if (depth == 1) (*top)++;
        }
    }
    return keys;
}

/* Sum of the sizes of every object in the tree (depth is bounded by json-c's
 * parse depth limit). */
static int64_t json_tree_keys(struct json_object *o) {
    int64_t n = 0;
    if (json_object_is_type(o, json_type_object)) {
        n += json_object_object_length(o);
        json_object_object_foreach(o, k, v) {
            (void)k;
            n += json_tree_keys(v);
        }
    } else if (json_object_is_type(o, json_type_array)) {
        size_t len = json_object_array_length(o);
        for (size_t i = 0; i < len; i++) n += json_tree_keys(json_object_array_get_idx(o, i));
    }
    return n;
}

/* Parses `len` bytes as one strict JSON object (trailing whitespace allowed)
 * with no duplicate keys at any level.  *out owns a reference. */
static int json_parse_object(const char *text, size_t len, const char *what, struct json_object **out, char *err) {
    *out = NULL;
    if (len > (size_t)INT32_MAX - 1) return dc_errf(err, DC_ENOMEM, "%s: %zu bytes of JSON is too large", what, len);
    struct json_tokener *tok = json_tokener_new();
    if (!tok) return dc_errf(err, DC_ENOMEM, "%s: out of memory", what);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    int rc;
    if (!o || je != json_tokener_success) {
        rc = dc_errf(err, DC_EFORMAT, "%s: invalid JSON at byte %zu: %s", what, end,
                     je == json_tokener_continue ? "unexpected end of data" : json_tokener_error_desc(je));
        goto fail;
    }
    if (end != len) {
        rc = dc_errf(err, DC_EFORMAT, "%s: unexpected bytes after the JSON value at byte %zu", what, end);
        goto fail;
    }
    if (!json_object_is_type(o, json_type_object)) {
        rc = dc_errf(err, DC_EFORMAT, "%s: JSON is not an object", what);
        goto fail;
    }
    int64_t top, tk = json_text_keys(text, len, &top);
    if (tk < 0) {
        rc = dc_errf(err, DC_EFORMAT, "%s: %s", what,
                     tk == -1 ? "single-quoted string (not JSON)" : "string contains an escaped NUL (\\u0000)");
        goto fail;
    }
    if (top != json_object_object_length(o)) {
        rc = dc_errf(err, DC_EFORMAT, "%s: duplicate top-level key (%lld keys, %d distinct)", what, (long long)top,
                     json_object_object_length(o));
        goto fail;
    }
    if (tk != json_tree_keys(o)) {
        rc = dc_errf(err, DC_EFORMAT, "%s: duplicate key in a nested JSON object", what);
        goto fail;
    }
    *out = o;
    return DC_OK;
fail:
    json_object_put(o);
    return rc;
}

/* A non-negative JSON integer (json-c saturates larger values, which then
 * fail the size checks). */
static int json_u64(struct json_object *o, uint64_t *v) {
    if (!json_object_is_type(o, json_type_int)) return 0;
    int64_t x = json_object_get_int64(o);
    if (x < 0) return 0;
    *v = (uint64_t)x;
    return 1;
}

/* ---- dtypes -------------------------------------------------------------- */

static const struct {
    const char *name;
    int type;
} st_dtypes[] = {
    {"F64", DT_F64}, {"F32", DT_F32}, {"F16", DT_F16}, {"BF16", DT_BF16}, {"I64", DT_I64},
    {"I32", DT_I32}, {"I16", DT_I16}, {"I8", DT_I8},   {"F8_E4M3", DT_F8_E4M3},
};

/* safetensors dtypes that deepc has no type id for. */
static const char *const st_dtypes_unsupported[] = {
    "BOOL", "U8", "U16", "U32", "U64", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2",
    "F8_E4M3FNUZ", "F8_E5M2FNUZ", "C64",
};

/* Type id, or DC_EUNSUPPORTED / DC_EFORMAT for names without one. */
static int st_dtype(const char *s) {
    for (size_t i = 0; i < sizeof(st_dtypes) / sizeof(st_dtypes[0]); i++)
        if (strcmp(s, st_dtypes[i].name) == 0) return st_dtypes[i].type;
    for (size_t i = 0; i < sizeof(st_dtypes_unsupported) / sizeof(st_dtypes_unsupported[0]); i++)
        if (strcmp(s, st_dtypes_unsupported[i]) == 0) return DC_EUNSUPPORTED;
    return DC_EFORMAT;
}

/* ---- one shard ----------------------------------------------------------- */

struct st_entry {
    const char *name; /* borrowed from the JSON tree */
    int type, n_dims;
    int64_t ne[TENSOR_MAX_DIMS];
    uint64_t begin, end;
};

static int entry_cmp(const void *a, const void *b) {
    const struct st_entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Checks one header entry against a data buffer of `dsize` bytes. */
static int parse_entry(const char *lab, const char *name, struct json_object *v, uint64_t dsize, struct st_entry *e,
                       char *err) {
    char nb[NAMEBUF];
    const char *tn = msg_name(nb, sizeof(nb), name);
    struct json_object *jd, *js, *jo;
    if (!json_object_is_type(v, json_type_object))
        return dc_errf(err, DC_EFORMAT, "safetensors: %s: entry '%s' is not an object", lab, tn);
    if (!json_object_object_get_ex(v, "dtype", &jd) || !json_object_is_type(jd, json_type_string))
        return dc_errf(err, DC_EFORMAT, "safetensors: %s: tensor '%s' has no string dtype", lab, tn);
    if (!json_object_object_get_ex(v, "shape", &js) || !json_object_is_type(js, json_type_array))
        return dc_errf(err, DC_EFORMAT, "safetensors: %s: tensor '%s' has no shape array", lab, tn);
    if (!json_object_object_get_ex(v, "data_offsets", &jo) || !json_object_is_type(jo, json_type_array))
        return dc_errf(err, DC_EFORMAT, "safetensors: %s: tensor '%s' has no data_offsets array", lab, tn);
    e->name = name;
    const char *ds = json_object_get_string(jd);
    e->type = st_dtype(ds);
    if (e->type < 0) {
        char db[NAMEBUF];
        return dc_errf(err, e->type, "safetensors: %s: tensor '%s' has %s dtype %s", lab, tn,
                       e->type == DC_EUNSUPPORTED ? "unsupported" : "unknown", msg_name(db, sizeof(db), ds));
    }
    size_t nd = json_object_array_length(js);
    if (nd > TENSOR_MAX_DIMS)
        return dc_errf(err, DC_EFORMAT, "safetensors: %s: tensor '%s' has %zu dims (at most %d)", lab, tn, nd,
                       TENSOR_MAX_DIMS);
    e->n_dims = (int)nd;
    int64_t nel = 1;
    for (int d = 0; d < TENSOR_MAX_DIMS; d++) e->ne[d] = 1;
    for (size_t d = 0; d < nd; d++) {
        uint64_t x;
        if (!json_u64(json_object_array_get_idx(js, d), &x) || x > (uint64_t)INT64_MAX)
            return dc_errf(err, DC_EFORMAT, "safetensors: %s: tensor '%s' shape[%zu] is not a non-negative integer", lab,
                           tn, d);
        e->ne[nd - 1 - d] = (int64_t)x; /* ggml order: ne[0] is the last HF dim */
        if (__builtin_mul_overflow(nel, (int64_t)x, &nel))
            return dc_errf(err, DC_EFORMAT, "safetensors: %s: tensor '%s' element count overflows", lab, tn);
    }
    int64_t nbytes;
    if (__builtin_mul_overflow(nel, dtype_block_bytes(e->type), &nbytes))
        return dc_errf(err, DC_EFORMAT, "safetensors: %s: tensor '%s' byte size overflows", lab, tn);
    if (json_object_array_length(jo) != 2 || !json_u64(json_object_array_get_idx(jo, 0), &e->begin) ||
        !json_u64(json_object_array_get_idx(jo, 1), &e->end))
        return dc_errf(err, DC_EFORMAT, "safetensors: %s: tensor '%s' data_offsets is not two non-negative integers",
                       lab, tn);
    if (e->begin > e->end)
        return dc_errf(err, DC_EFORMAT, "safetensors: %s: tensor '%s' data_offsets [%llu, %llu) has begin > end", lab,
                       tn, (unsigned long long)e->begin, (unsigned long long)e->end);
    if (e->end > dsize)
        return dc_errf(err, DC_EFORMAT, "safetensors: %s: tensor '%s' data_offsets end %llu beyond data size %llu", lab,
                       tn, (unsigned long long)e->end, (unsigned long long)dsize);
    if (e->end - e->begin != (uint64_t)nbytes)
        return dc_errf(err, DC_EFORMAT,
                       "safetensors: %s: tensor '%s' has %llu data bytes but shape and dtype %s need %lld", lab, tn,
                       (unsigned long long)(e->end - e->begin), ds, (long long)nbytes);
    return DC_OK;
}

static int metadata_check(const char *lab, struct json_object *v, char *err) {
    if (!json_object_is_type(v, json_type_object))
        return dc_errf(err, DC_EFORMAT, "safetensors: %s: __metadata__ is not an object", lab);
    json_object_object_foreach(v, k, x) {
        if (!json_object_is_type(x, json_type_string)) {
            char nb[NAMEBUF];
            return dc_errf(err, DC_EFORMAT, "safetensors: %s: __metadata__ value '%s' is not a string", lab,
                           msg_name(nb, sizeof(nb), k));
        }
    }
    return DC_OK;
}

static int tensors_reserve(struct st_model *m, int64_t extra) {
    if (m->n_tensors + extra <= m->cap) return DC_OK;
    int64_t cap = m->cap ? m->cap : 64;
    while (cap < m->n_tensors + extra) cap *= 2;
    struct tensor_view *t = realloc(m->tensors, (size_t)cap * sizeof(*t));
    if (!t) return DC_ENOMEM;
    m->tensors = t;
    int *s = realloc(m->shard_of, (size_t)cap * sizeof(*s));
    if (!s) return DC_ENOMEM;
    m->shard_of = s;
    m->cap = cap;
    return DC_OK;
}

/* Parses shard `si` (already mapped) and appends its tensors. */
static int parse_shard(struct st_model *m, int si, char *err) {
    const struct st_shard *sh = &m->shards[si];
    const char *lab = sh->label;
    struct json_object *root = NULL;
    struct st_entry *ents = NULL;
    int rc;
    if (sh->size < 8)
        return dc_errf(err, DC_EFORMAT, "safetensors: %s: file of %zu bytes is too small for the header length", lab,
                       sh->size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | sh->base[i];
    if (hlen > ST_MAX_HEADER)
        return dc_errf(err, DC_EFORMAT, "safetensors: %s: header length %llu over the %llu byte limit", lab,
                       (unsigned long long)hlen, ST_MAX_HEADER);
    if (hlen > sh->size - 8)
        return dc_errf(err, DC_EFORMAT, "safetensors: %s: header length %llu beyond file size %zu", lab,
                       (unsigned long long)hlen, sh->size);
    const char *text = (const char *)sh->base + 8;
    if (hlen < 2 || text[0] != '{')
        return dc_errf(err, DC_EFORMAT, "safetensors: %s: header does not start with '{'", lab);
    char what[NAMEBUF + 32];
    snprintf(what, sizeof(what), "safetensors: %s: header", lab);
    if ((rc = json_parse_object(text, (size_t)hlen, what, &root, err))) return rc;

    uint64_t dsize = sh->size - 8 - hlen;
    const uint8_t *data = sh->base + 8 + hlen;
    size_t n_ent = (size_t)json_object_object_length(root), k = 0;
    if (!(ents = calloc(n_ent ? n_ent : 1, sizeof(*ents)))) {
        rc = dc_errf(err, DC_ENOMEM, "safetensors: %s: out of memory", lab);
        goto fail;
    }
    json_object_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            if ((rc = metadata_check(lab, val, err))) goto fail;
            continue;
        }
        if ((rc = parse_entry(lab, key, val, dsize, &ents[k], err))) goto fail;
        k++;
    }
    n_ent = k;
    qsort(ents, n_ent, sizeof(*ents), entry_cmp);
    /* Sorted by begin, a tensor overlaps the data if it starts before the
     * furthest end seen so far (empty tensors take no bytes). */
    uint64_t furthest = 0;
    const struct st_entry *fe = NULL;
    for (size_t i = 0; i < n_ent; i++) {
        if (ents[i].begin == ents[i].end) continue;
        if (fe && ents[i].begin < furthest) {
            char a[NAMEBUF], b[NAMEBUF];
            rc = dc_errf(err, DC_EFORMAT, "safetensors: %s: tensors '%s' and '%s' overlap at data offset %llu", lab,
                         msg_name(a, sizeof(a), fe->name), msg_name(b, sizeof(b), ents[i].name),
                         (unsigned long long)ents[i].begin);
            goto fail;
        }
        furthest = ents[i].end;
        fe = &ents[i];
    }
    if (tensors_reserve(m, (int64_t)n_ent)) {
        rc = dc_errf(err, DC_ENOMEM, "safetensors: %s: out of memory for %zu tensors", lab, n_ent);
        goto fail;
    }
    for (size_t i = 0; i < n_ent; i++) {
        struct tensor_view *t = &m->tensors[m->n_tensors];
        memset(t, 0, sizeof(*t));
        if (!(t->name = str_dup(ents[i].name))) {
            rc = dc_errf(err, DC_ENOMEM, "safetensors: %s: out of memory", lab);
            goto fail;
        }
        t->type = ents[i].type;
        t->n_dims = ents[i].n_dims;
        memcpy(t->ne, ents[i].ne, sizeof(t->ne));
        t->nbytes = ents[i].end - ents[i].begin;
        t->data = t->nbytes ? data + ents[i].begin : NULL;
        m->shard_of[m->n_tensors] = si;
        m->n_tensors++;
    }
    free(ents);
    json_object_put(root);
    return DC_OK;
fail:
    free(ents);
    json_object_put(root);
    return rc;
}

/* ---- lookup -------------------------------------------------------------- */

struct name_idx {
    const char *name;
    int64_t i;
};

static int name_idx_cmp(const void *a, const void *b) {
    const struct name_idx *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    return r ? r : (x->i > y->i) - (x->i < y->i);
}

/* Builds the sorted name index and rejects names present twice (which can
 * only happen across shards; within a shard the JSON check catches it). */
static int build_index(struct st_model *m, char *err) {
    size_t n = (size_t)m->n_tensors;
    struct name_idx *v = malloc((n ? n : 1) * sizeof(*v));
    if (!v || !(m->sorted = malloc((n ? n : 1) * sizeof(*m->sorted)))) {
        free(v);
        return dc_errf(err, DC_ENOMEM, "safetensors: out of memory");
    }
    for (size_t i = 0; i < n; i++) v[i] = (struct name_idx){m->tensors[i].name, (int64_t)i};
    qsort(v, n, sizeof(*v), name_idx_cmp);
    for (size_t i = 0; i < n; i++) m->sorted[i] = v[i].i;
    free(v);
    for (int64_t k = 1; k < m->n_tensors; k++) {
        int64_t a = m->sorted[k - 1], b = m->sorted[k];
        if (strcmp(m->tensors[a].name, m->tensors[b].name) == 0) {
            char nb[NAMEBUF];
            return dc_errf(err, DC_EFORMAT, "safetensors: tensor '%s' appears in both %s and %s",
                           msg_name(nb, sizeof(nb), m->tensors[b].name), m->shards[m->shard_of[a]].label,
                           m->shards[m->shard_of[b]].label);
        }
    }
    return DC_OK;
}

static int64_t find_index(const struct st_model *m, const char *name) {
    int64_t lo = 0, hi = m->n_tensors;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int r = strcmp(m->tensors[m->sorted[mid]].name, name);
        if (r == 0) return m->sorted[mid];
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* ---- open ---------------------------------------------------------------- */

static struct st_model *model_new(void) { return calloc(1, sizeof(struct st_model)); }

static int shard_add(struct st_model *m, const char *path, const char *label, char *err) {
    struct st_shard *s = realloc(m->shards, (size_t)(m->n_shards + 1) * sizeof(*s));
    if (!s) return dc_errf(err, DC_ENOMEM, "safetensors: out of memory");
    m->shards = s;
    s = &m->shards[m->n_shards];
    memset(s, 0, sizeof(*s));
    char lb[NAMEBUF];
    if (!(s->file = str_dup(label)) || !(s->label = str_dup(msg_name(lb, sizeof(lb), label))))
        return dc_errf(err, DC_ENOMEM, "safetensors: out of memory");
    m->n_shards++;
    int rc = mapfile_open(&s->map, path, err);
    if (rc) {
        if (err) {
            char prev[DC_ERR_LEN];
            snprintf(prev, sizeof(prev), "%s", err);
            dc_errf(err, rc, "safetensors: %s", prev);
        }
        return rc;
    }
    s->base = s->map.data;
    s->size = s->map.size;
    m->total_size += s->size;
    return parse_shard(m, m->n_shards - 1, err);
}

int st_open_mem(struct st_model **out, const void *data, size_t size, char *err) {
    if (!out) return dc_errf(err, DC_EINVAL, "safetensors: NULL output pointer");
    *out = NULL;
    if (!data && size) return dc_errf(err, DC_EINVAL, "safetensors: NULL data");
    struct st_model *m = model_new();
    int rc;
    if (!m) return dc_errf(err, DC_ENOMEM, "safetensors: out of memory");
    if (!(m->shards = calloc(1, sizeof(*m->shards))) || !(m->shards[0].label = str_dup("<memory>")) ||
        !(m->shards[0].file = str_dup("<memory>"))) {
        rc = dc_errf(err, DC_ENOMEM, "safetensors: out of memory");
        goto fail;
    }
    m->n_shards = 1;
    m->shards[0].base = data;
    m->shards[0].size = size;
    m->total_size = size;
    if ((rc = parse_shard(m, 0, err))) goto fail;
    if ((rc = build_index(m, err))) goto fail;
    *out = m;
    return DC_OK;
fail:
    st_free(m);
    return rc;
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Shards listed in the index's weight_map: each opened once, then every
 * tensor checked against the map in both directions. */
static int open_index(struct st_model *m, const char *index_path, char *err) {
    char *text = NULL;
    size_t len = 0;
    struct json_object *root = NULL, *wm;
    const char **files = NULL;
    char nb[NAMEBUF];
    int rc = read_text(index_path, ST_MAX_INDEX, &text, &len, err);
    if (rc == DC_ENOTFOUND) rc = dc_errf(err, DC_EIO, "safetensors: cannot open %s: no such file", index_path);
    if (rc) goto fail;
    if ((rc = json_parse_object(text, len, "safetensors: " ST_INDEX_NAME, &root, err))) goto fail;
    if (!json_object_object_get_ex(root, "weight_map", &wm) || !json_object_is_type(wm, json_type_object)) {
        rc = dc_errf(err, DC_EFORMAT, "safetensors: %s has no weight_map object", index_path);
        goto fail;
    }
    size_t n = (size_t)json_object_object_length(wm), k = 0;
    if (n == 0) {
        rc = dc_errf(err, DC_EFORMAT, "safetensors: %s has an empty weight_map", index_path);
        goto fail;
    }
    if (!(files = malloc(n * sizeof(*files)))) {
        rc = dc_errf(err, DC_ENOMEM, "safetensors: out of memory");
        goto fail;
    }
    json_object_object_foreach(wm, tname, fv) {
        const char *f = json_object_is_type(fv, json_type_string) ? json_object_get_string(fv) : NULL;
        /* Shards live next to the index: a plain file name, no path parts. */
        if (!f || !*f || strchr(f, '/') || strcmp(f, ".") == 0 || strcmp(f, "..") == 0) {
            rc = dc_errf(err, DC_EFORMAT, "safetensors: weight_map entry '%s' is not a shard file name",
                         msg_name(nb, sizeof(nb), tname));
            goto fail;
        }
        files[k++] = f;
    }
    qsort(files, n, sizeof(*files), cmp_str_ptr);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(files[i], files[i - 1]) == 0) continue;
        char *p = path_join(m->dir, files[i]);
        if (!p) {
            rc = dc_errf(err, DC_ENOMEM, "safetensors: out of memory");
            goto fail;
        }
        rc = shard_add(m, p, files[i], err);
        free(p);
        if (rc) goto fail;
    }
    if ((rc = build_index(m, err))) goto fail;
    for (int64_t i = 0; i < m->n_tensors; i++) {
        struct json_object *mv;
        const char *sl = m->shards[m->shard_of[i]].label, *sf = m->shards[m->shard_of[i]].file;
        if (!json_object_object_get_ex(wm, m->tensors[i].name, &mv)) {
            rc = dc_errf(err, DC_EFORMAT, "safetensors: tensor '%s' in %s is not in the weight_map",
                         msg_name(nb, sizeof(nb), m->tensors[i].name), sl);
            goto fail;
        }
        if (strcmp(json_object_get_string(mv), sf) != 0) {
            char fb[NAMEBUF];
            rc = dc_errf(err, DC_EFORMAT, "safetensors: tensor '%s' is in %s but the weight_map says %s",
                         msg_name(nb, sizeof(nb), m->tensors[i].name), sl,
                         msg_name(fb, sizeof(fb), json_object_get_string(mv)));
            goto fail;
        }
    }
    json_object_object_foreach(wm, tname2, fv2) {
        if (find_index(m, tname2) < 0) {
            char fb[NAMEBUF];
            rc = dc_errf(err, DC_EFORMAT, "safetensors: weight_map lists tensor '%s' in %s, which does not contain it",
                         msg_name(nb, sizeof(nb), tname2), msg_name(fb, sizeof(fb), json_object_get_string(fv2)));
            goto fail;
        }
    }
    rc = DC_OK;
fail:
    free(files);
    json_object_put(root);
    free(text);
    return rc;
}

/* config.json and the side files, from m->dir. */
static int read_side_files(struct st_model *m, char *err) {
    char *p = path_join(m->dir, "config.json");
    if (!p) return dc_errf(err, DC_ENOMEM, "safetensors: out of memory");
    int rc = read_text(p, ST_MAX_CONFIG, &m->config, NULL, err);
    free(p);
    if (rc && rc != DC_ENOTFOUND) return rc;
    for (size_t i = 0; i < ST_N_AUX; i++) {
        if (!(p = path_join(m->dir, st_aux_names[i]))) return dc_errf(err, DC_ENOMEM, "safetensors: out of memory");
        rc = read_text(p, ST_MAX_AUX, &m->aux[i], NULL, err);
        free(p);
        if (rc && rc != DC_ENOTFOUND) return rc;
    }
    return DC_OK;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int st_open(struct st_model **out, const char *path, char *err) {
    if (!out || !path) return dc_errf(err, DC_EINVAL, "safetensors: NULL argument");
    *out = NULL;
    struct st_model *m = model_new();
    char *p = NULL;
    int rc;
    if (!m) return dc_errf(err, DC_ENOMEM, "safetensors: out of memory");
    struct stat st;
    if (stat(path, &st) != 0) {
        rc = dc_errf(err, DC_EIO, "safetensors: cannot open %s: %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        if (!(m->dir = str_dup(path))) goto nomem;
        if ((rc = read_side_files(m, err))) goto fail;
        if (!(p = path_join(path, ST_INDEX_NAME))) goto nomem;
        if (access(p, F_OK) == 0) {
            if ((rc = open_index(m, p, err))) goto fail;
        } else {
            free(p);
            if (!(p = path_join(path, ST_SINGLE_NAME))) goto nomem;
            if (access(p, F_OK) != 0) {
                rc = dc_errf(err, DC_ENOTFOUND, "safetensors: %s has neither %s nor %s", path, ST_INDEX_NAME,
                             ST_SINGLE_NAME);
                goto fail;
            }
            if ((rc = shard_add(m, p, ST_SINGLE_NAME, err))) goto fail;
            if ((rc = build_index(m, err))) goto fail;
        }
    } else if (ends_with(path, ".json")) {
        if (!(m->dir = path_dirname(path))) goto nomem;
        if ((rc = read_side_files(m, err))) goto fail;
        if ((rc = open_index(m, path, err))) goto fail;
    } else {
        /* A lone .safetensors file: no config or side files. */
        if (!(m->dir = path_dirname(path))) goto nomem;
        const char *base = strrchr(path, '/');
        if ((rc = shard_add(m, path, base ? base + 1 : path, err))) goto fail;
        if ((rc = build_index(m, err))) goto fail;
    }
    free(p);
    *out = m;
    return DC_OK;
nomem:
    rc = dc_errf(err, DC_ENOMEM, "safetensors: out of memory");
fail:
    free(p);
    st_free(m);
    return rc;
}

void st_free(struct st_model *m) {
    if (!m) return;
    for (int64_t i = 0; i < m->n_tensors; i++) free((char *)m->tensors[i].name);
    free(m->tensors);
    free(m->shard_of);
    free(m->sorted);
    for (int i = 0; i < m->n_shards; i++) {
        mapfile_close(&m->shards[i].map);
        free(m->shards[i].label);
        free(m->shards[i].file);
    }
    free(m->shards);
    for (size_t i = 0; i < ST_N_AUX; i++) free(m->aux[i]);
    free(m->config);
    free(m->dir);
    free(m);
}

/* ---- accessors ----------------------------------------------------------- */

int64_t st_n_tensors(const struct st_model *m) { return m->n_tensors; }

const struct tensor_view *st_tensor(const struct st_model *m, int64_t i) {
    return i >= 0 && i < m->n_tensors ? &m->tensors[i] : NULL;
}

const struct tensor_view *st_find_tensor(const struct st_model *m, const char *name) {
    if (!m || !name) return NULL;
    int64_t i = find_index(m, name);
    return i < 0 ? NULL : &m->tensors[i];
}

const char *st_config_json(const struct st_model *m) { return m->config; }

const char *st_aux_json(const struct st_model *m, const char *file_name) {
    if (!m || !file_name) return NULL;
    if (strcmp(file_name, "config.json") == 0) return m->config;
    for (size_t i = 0; i < ST_N_AUX; i++)
        if (strcmp(file_name, st_aux_names[i]) == 0) return m->aux[i];
    return NULL;
}

const char *st_dir(const struct st_model *m) { return m->dir; }

uint64_t st_file_size(const struct st_model *m) { return m->total_size; }
