/*
 * test_safetensors.c - safetensors reader: getters on a file built here, every
 * strict prefix of it, a table of hostile headers, checkpoint directories
 * (single file, sharded with an index, broken indexes, side files), and files
 * written by the reference Python writers (tests/data/formats, made by
 * tools/gen_format_fixtures.py) checked against the expected.json it wrote.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dtype.h"
#include "err.h"
#include "safetensors.h"
#include "test.h"

/* ---- building files ------------------------------------------------------ */

struct buf {
    uint8_t *p;
    size_t n;
};

/* header JSON (padded with spaces to a multiple of 8) + `dlen` data bytes
 * valued i & 0xff; hlen_override replaces the length field when nonzero. */
static struct buf make_st(const char *json, size_t dlen, uint64_t hlen_override) {
    size_t jl = strlen(json), hl = (jl + 7) / 8 * 8;
    struct buf b = {malloc(8 + hl + dlen + 1), 8 + hl + dlen};
    uint64_t h = hlen_override ? hlen_override : hl;
    for (int i = 0; i < 8; i++) b.p[i] = (uint8_t)(h >> (8 * i));
    memcpy(b.p + 8, json, jl);
    memset(b.p + 8 + jl, ' ', hl - jl);
    for (size_t i = 0; i < dlen; i++) b.p[8 + hl + i] = (uint8_t)i;
    return b;
}

static int write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static const char *k_ok_json =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
    "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[24,30]},"
    "\"s\":{\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[30,32]},"
    "\"q\":{\"dtype\":\"F8_E4M3\",\"shape\":[2,2],\"data_offsets\":[32,36]},"
    "\"e\":{\"dtype\":\"I8\",\"shape\":[0,4],\"data_offsets\":[32,32]},"
    "\"i\":{\"dtype\":\"I64\",\"shape\":[1,1,1,1],\"data_offsets\":[36,44]}}";

static void test_getters(void) {
    struct buf b = make_st(k_ok_json, 44, 0);
    struct st_model *m = NULL;
    char err[DC_ERR_LEN] = "";
    int rc = st_open_mem(&m, b.p, b.n, err);
    T_CHECK(rc == DC_OK && m, "open: %s", err);
    if (!m) goto out;
    const uint8_t *data = b.p + b.n - 44;
    T_CHECK(st_n_tensors(m) == 6, "n %lld", (long long)st_n_tensors(m));
    /* file order = data order; the empty tensor sorts before q at offset 32 */
    const char *order[6] = {"w", "b", "s", "e", "q", "i"};
    for (int i = 0; i < 6; i++)
        T_CHECK(st_tensor(m, i) && strcmp(st_tensor(m, i)->name, order[i]) == 0, "tensor %d is %s", i,
                st_tensor(m, i) ? st_tensor(m, i)->name : "NULL");
    T_CHECK(st_tensor(m, 6) == NULL && st_tensor(m, -1) == NULL, "out of range");
    const struct tensor_view *t = st_find_tensor(m, "w");
    T_CHECK(t && t->type == DT_F32 && t->n_dims == 2 && t->ne[0] == 3 && t->ne[1] == 2 && t->ne[2] == 1 &&
                t->ne[3] == 1 && t->nbytes == 24 && t->data == data, "w");
    t = st_find_tensor(m, "b");
    T_CHECK(t && t->type == DT_BF16 && t->n_dims == 1 && t->ne[0] == 3 && t->nbytes == 6 && t->data == data + 24, "b");
    t = st_find_tensor(m, "s");
    T_CHECK(t && t->type == DT_F16 && t->n_dims == 0 && tensor_nelems(t) == 1 && t->nbytes == 2 && t->data == data + 30,
            "scalar");
    t = st_find_tensor(m, "q");
    T_CHECK(t && t->type == DT_F8_E4M3 && t->ne[0] == 2 && t->ne[1] == 2 && t->nbytes == 4 && t->data == data + 32, "q");
    t = st_find_tensor(m, "e");
    T_CHECK(t && t->type == DT_I8 && t->n_dims == 2 && t->ne[0] == 4 && t->ne[1] == 0 && t->nbytes == 0 && !t->data,
            "empty");
    t = st_find_tensor(m, "i");
    T_CHECK(t && t->type == DT_I64 && t->n_dims == 4 && tensor_nelems(t) == 1 && t->data == data + 36, "i");
    T_CHECK(st_find_tensor(m, "__metadata__") == NULL && st_find_tensor(m, "x") == NULL, "absent");
    T_CHECK(st_config_json(m) == NULL && st_aux_json(m, "tokenizer.json") == NULL && st_dir(m) == NULL, "no dir");
    T_CHECK(st_file_size(m) == b.n, "size");
    st_free(m);
out:
    st_free(NULL);
    free(b.p);
}

static void test_truncated(void) {
    struct buf b = make_st(k_ok_json, 44, 0);
    int bad = 0;
    for (size_t n = 0; n < b.n; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, b.p, n);
        struct st_model *m = NULL;
        char err[DC_ERR_LEN] = "";
        int rc = st_open_mem(&m, copy, n, err);
        if (rc != DC_EFORMAT || m || !err[0]) {
            if (bad++ < 5) T_CHECK(0, "prefix %zu: rc %d '%s'", n, rc, err);
        }
        st_free(m);
        free(copy);
    }
    T_CHECK(bad == 0, "%d of %zu prefixes accepted", bad, b.n);
    free(b.p);
}

struct st_case {
    const char *name, *json;
    size_t dlen;
    uint64_t hlen;
    int want;
    const char *sub;
};

static void test_hostile(void) {
#define E(n, d, s, o) "\"" n "\":{\"dtype\":\"" d "\",\"shape\":" s ",\"data_offsets\":" o "}"
    const struct st_case cases[] = {
        {"header length beyond file", "{}", 0, 64, DC_EFORMAT, "beyond file size"},
        {"header length 2^64-1", "{}", 0, UINT64_MAX, DC_EFORMAT, "limit"},
        {"header length over 100 MB", "{}", 0, 100000001, DC_EFORMAT, "limit"},
        {"non-object JSON", "[1, 2]", 0, 0, DC_EFORMAT, "'{'"},
        {"string JSON", "\"abc\"", 0, 0, DC_EFORMAT, "'{'"},
        {"unterminated JSON", "{\"a\":", 0, 0, DC_EFORMAT, "invalid JSON"},
        {"trailing garbage", "{} x", 0, 0, DC_EFORMAT, "invalid JSON"},
        {"two objects", "{}{}", 0, 0, DC_EFORMAT, "invalid JSON"},
        {"NUL in header", "{\"a\"\0:1}", 0, 0, DC_EFORMAT, "JSON"},
        {"single quotes", "{'w':1}", 0, 0, DC_EFORMAT, "quote"},
        {"single-quoted entry", "{'w':{'dtype':'F32','shape':[1],'data_offsets':[0,4]}}", 4, 0, DC_EFORMAT, "JSON"},
        {"invalid UTF-8", "{\"\xff\":{}}", 0, 0, DC_EFORMAT, "JSON"},
        {"bad dtype", "{" E("w", "F7", "[1]", "[0,4]") "}", 4, 0, DC_EFORMAT, "unknown dtype F7"},
        {"unsupported dtype U8", "{" E("w", "U8", "[4]", "[0,4]") "}", 4, 0, DC_EUNSUPPORTED, "dtype U8"},
        {"unsupported dtype BOOL", "{" E("w", "BOOL", "[4]", "[0,4]") "}", 4, 0, DC_EUNSUPPORTED, "dtype BOOL"},
        {"lower-case dtype", "{" E("w", "f32", "[1]", "[0,4]") "}", 4, 0, DC_EFORMAT, "dtype f32"},
        {"dtype not a string", "{\"w\":{\"dtype\":1,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0, DC_EFORMAT, "dtype"},
        {"shape/offset mismatch", "{" E("w", "F32", "[2]", "[0,4]") "}", 8, 0, DC_EFORMAT, "need 8"},
        {"negative shape", "{" E("w", "F32", "[-1]", "[0,4]") "}", 4, 0, DC_EFORMAT, "shape[0]"},
        {"float shape", "{" E("w", "F32", "[1.0]", "[0,4]") "}", 4, 0, DC_EFORMAT, "shape[0]"},
        {"5-dim shape", "{" E("w", "F32", "[1,1,1,1,1]", "[0,4]") "}", 4, 0, DC_EFORMAT, "5 dims"},
        {"shape overflow", "{" E("w", "F32", "[4294967296,4294967296]", "[0,4]") "}", 4, 0, DC_EFORMAT, "overflow"},
        {"byte size overflow", "{" E("w", "F64", "[4611686018427387904]", "[0,4]") "}", 4, 0, DC_EFORMAT, "overflow"},
        {"huge shape saturating", "{" E("w", "I8", "[99999999999999999999999]", "[0,4]") "}", 4, 0, DC_EFORMAT, "w"},
        {"begin > end", "{" E("w", "F32", "[0]", "[4,0]") "}", 4, 0, DC_EFORMAT, "begin > end"},
        {"end beyond buffer", "{" E("w", "F32", "[2]", "[0,8]") "}", 4, 0, DC_EFORMAT, "beyond data size"},
        {"offsets near 2^64", "{" E("w", "F32", "[1]", "[18446744073709551612,18446744073709551615]") "}", 4, 0,
         DC_EFORMAT, "w"},
        {"three offsets", "{" E("w", "F32", "[1]", "[0,4,8]") "}", 8, 0, DC_EFORMAT, "data_offsets"},
        {"missing shape", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, 0, DC_EFORMAT, "shape"},
        {"missing offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, 0, DC_EFORMAT, "data_offsets"},
        {"entry not an object", "{\"w\":[1,2]}", 0, 0, DC_EFORMAT, "not an object"},
        {"overlapping tensors", "{" E("a", "F32", "[2]", "[0,8]") "," E("b", "F32", "[2]", "[4,12]") "}", 12, 0,
         DC_EFORMAT, "overlap"},
        {"identical ranges", "{" E("a", "F32", "[1]", "[0,4]") "," E("b", "I32", "[1]", "[0,4]") "}", 4, 0, DC_EFORMAT,
         "overlap"},
        {"duplicate names", "{" E("a", "F32", "[1]", "[0,4]") "," E("a", "F32", "[1]", "[4,8]") "}", 8, 0, DC_EFORMAT,
         "duplicate top-level key"},
        {"duplicate field", "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0,
         DC_EFORMAT, "duplicate key in a nested"},
        {"duplicate metadata key", "{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}", 0, 0, DC_EFORMAT, "nested"},
        {"key-like text in a string", "{\"__metadata__\":{\"a\":\"\\\"b\\\": {\\\"c\\\":\"}}", 0, 0, DC_OK, ""},
        {"names equal up to a NUL", "{" E("a\\u0000x", "F32", "[1]", "[0,4]") "," E("a\\u0000y", "F32", "[1]", "[4,8]") "}",
         8, 0, DC_EFORMAT, "NUL"},
        {"escaped backslash before u0000", "{\"__metadata__\":{\"a\":\"\\\\u0000\"}}", 0, 0, DC_OK, ""},
        {"metadata not an object", "{\"__metadata__\":[1]}", 0, 0, DC_EFORMAT, "__metadata__"},
        {"metadata value not a string", "{\"__metadata__\":{\"a\":1}}", 0, 0, DC_EFORMAT, "__metadata__"},
        {"deep nesting", "{\"m\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", 0, 0,
         DC_EFORMAT, "JSON"},
    };
#undef E
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct st_case *c = &cases[i];
        struct buf b;
        if (strcmp(c->name, "NUL in header") == 0) { /* strlen would stop at the NUL */
            b = make_st("{\"a\"x:1}", 0, 0);
            b.p[8 + 4] = 0;
        } else {
            b = make_st(c->json, c->dlen, c->hlen);
        }
        struct st_model *m = NULL;
        char err[DC_ERR_LEN] = "";
        int rc = st_open_mem(&m, b.p, b.n, err);
        if (c->want == DC_OK) { /* look-alike of a bad case that is valid */
            T_CHECK(rc == DC_OK && m && st_n_tensors(m) == 0, "%s: rc %d '%s'", c->name, rc, err);
            st_free(m);
            free(b.p);
            continue;
        }
        T_CHECK(rc == c->want && !m, "%s: rc %d (want %d) '%s'", c->name, rc, c->want, err);
        T_CHECK(err[0] && !strchr(err, '\n') && strncmp(err, "safetensors: ", 13) == 0, "%s: message '%s'", c->name, err);
        T_CHECK(strstr(err, c->sub) != NULL, "%s: message '%s' lacks '%s'", c->name, err, c->sub);
        if (getenv("DEEPC_TEST_VERBOSE")) printf("  %-30s %s\n", c->name, err);
        st_free(m);
        free(b.p);
    }
    /* files shorter than the length field */
    for (size_t n = 0; n < 8; n++) {
        uint8_t z[8] = {0};
        struct st_model *m = NULL;
        char err[DC_ERR_LEN] = "";
        T_CHECK(st_open_mem(&m, z, n, err) == DC_EFORMAT && err[0], "%zu-byte file: '%s'", n, err);
    }
}

/* ---- directories --------------------------------------------------------- */

static char g_tmp[256];

static void tmp_path(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", g_tmp, name); }

static void put(const char *name, const void *p, size_t n) {
    char path[512];
    tmp_path(path, sizeof(path), name);
    T_CHECK(write_file(path, p, n) == 0, "write %s", path);
}

static void put_st(const char *name, const char *json, size_t dlen) {
    struct buf b = make_st(json, dlen, 0);
    put(name, b.p, b.n);
    free(b.p);
}

static void put_text(const char *name, const char *s) { put(name, s, strlen(s)); }

static void rm(const char *name) {
    char path[512];
    tmp_path(path, sizeof(path), name);
    unlink(path);
}

static const char *k_shard1 = "{\"x.weight\":{\"dtype\":\"F8_E4M3\",\"shape\":[2,2],\"data_offsets\":[0,4]},"
                              "\"y\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]}}";
static const char *k_shard2 = "{\"x.weight_scale_inv\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[0,4]}}";
static const char *k_index = "{\"metadata\":{\"total_size\":12},\"weight_map\":{"
                             "\"x.weight\":\"s-1.safetensors\",\"y\":\"s-1.safetensors\","
                             "\"x.weight_scale_inv\":\"s-2.safetensors\"}}";

static int open_dir(struct st_model **m, char *err) {
    *m = NULL;
    err[0] = 0;
    return st_open(m, g_tmp, err);
}

static void test_dir_single(void) {
    put_st("model.safetensors", k_ok_json, 44);
    put_text("config.json", "{\"hidden_size\": 8}");
    put_text("tokenizer.json", "{\"model\": {}}");
    struct st_model *m;
    char err[DC_ERR_LEN];
    int rc = open_dir(&m, err);
    T_CHECK(rc == DC_OK, "open dir: %s", err);
    if (m) {
        T_CHECK(st_n_tensors(m) == 6 && st_find_tensor(m, "q"), "tensors");
        T_CHECK(st_config_json(m) && strcmp(st_config_json(m), "{\"hidden_size\": 8}") == 0, "config");
        T_CHECK(st_aux_json(m, "config.json") == st_config_json(m), "aux config");
        T_CHECK(st_aux_json(m, "tokenizer.json") && strcmp(st_aux_json(m, "tokenizer.json"), "{\"model\": {}}") == 0,
                "tokenizer");
        T_CHECK(st_aux_json(m, "tokenizer_config.json") == NULL && st_aux_json(m, "generation_config.json") == NULL,
                "absent side files are NULL");
        T_CHECK(st_aux_json(m, "../etc/passwd") == NULL, "unknown side file");
        T_CHECK(strcmp(st_dir(m), g_tmp) == 0, "dir %s", st_dir(m));
        T_CHECK(st_file_size(m) == 8 + 8 * ((strlen(k_ok_json) + 7) / 8) + 44, "size");
    }
    st_free(m);
    /* a path to the file itself: no config */
    char path[512];
    tmp_path(path, sizeof(path), "model.safetensors");
    m = NULL;
    T_CHECK(st_open(&m, path, err) == DC_OK && m, "open file: %s", err);
    if (m) T_CHECK(st_config_json(m) == NULL && st_n_tensors(m) == 6 && strcmp(st_dir(m), g_tmp) == 0, "file mode");
    st_free(m);
    /* an oversized config.json (sparse file) is refused, not read */
    tmp_path(path, sizeof(path), "config.json");
    T_CHECK(truncate(path, (off_t)17 << 20) == 0, "truncate");
    rc = open_dir(&m, err);
    T_CHECK(rc == DC_ENOMEM && !m && strstr(err, "limit"), "big config: rc %d '%s'", rc, err);
    rm("config.json");
    rm("tokenizer.json");
    rm("model.safetensors");
    rc = open_dir(&m, err);
    T_CHECK(rc == DC_ENOTFOUND && err[0], "empty dir: rc %d '%s'", rc, err);
    rc = st_open(&m, "/nonexistent/deepc", err);
    T_CHECK(rc == DC_EIO && err[0], "missing path: rc %d '%s'", rc, err);
}

static void test_dir_sharded(void) {
    put_st("s-1.safetensors", k_shard1, 8);
    put_st("s-2.safetensors", k_shard2, 4);
    put_text("model.safetensors.index.json", k_index);
    struct st_model *m;
    char err[DC_ERR_LEN];
    int rc = open_dir(&m, err);
    T_CHECK(rc == DC_OK, "open sharded: %s", err);
    if (m) {
        T_CHECK(st_n_tensors(m) == 3, "n %lld", (long long)st_n_tensors(m));
        const struct tensor_view *w = st_find_tensor(m, "x.weight"), *s = st_find_tensor(m, "x.weight_scale_inv");
        T_CHECK(w && w->type == DT_F8_E4M3 && s && s->type == DT_F32 && s->n_dims == 2, "fp8 + scale");
        if (w && s) {
            /* data bytes are i & 0xff per shard: scale begins with 00 01 02 03 in shard 2 */
            T_CHECK(memcmp(s->data, "\x00\x01\x02\x03", 4) == 0 && memcmp(w->data, "\x00\x01\x02\x03", 4) == 0,
                    "each view reads its own shard");
            T_CHECK(w->data != s->data, "distinct shards");
        }
        T_CHECK(st_config_json(m) == NULL, "no config");
    }
    st_free(m);
    char path[512];
    tmp_path(path, sizeof(path), "model.safetensors.index.json");
    T_CHECK(st_open(&m, path, err) == DC_OK && m && st_n_tensors(m) == 3, "open index path: %s", err);
    st_free(m);

    struct {
        const char *name, *index;
        int want;
        const char *sub;
    } bad[] = {
        {"missing index shard",
         "{\"weight_map\":{\"x.weight\":\"s-1.safetensors\",\"y\":\"s-1.safetensors\","
         "\"x.weight_scale_inv\":\"s-3.safetensors\"}}",
         DC_EIO, "s-3"},
        {"tensor not in map", "{\"weight_map\":{\"x.weight\":\"s-1.safetensors\",\"x.weight_scale_inv\":\"s-2.safetensors\"}}",
         DC_EFORMAT, "'y' in s-1.safetensors is not in the weight_map"},
        {"mapped to wrong shard",
         "{\"weight_map\":{\"x.weight\":\"s-1.safetensors\",\"y\":\"s-2.safetensors\","
         "\"x.weight_scale_inv\":\"s-2.safetensors\"}}",
         DC_EFORMAT, "weight_map says"},
        {"map lists an absent tensor",
         "{\"weight_map\":{\"x.weight\":\"s-1.safetensors\",\"y\":\"s-1.safetensors\","
         "\"x.weight_scale_inv\":\"s-2.safetensors\",\"z\":\"s-2.safetensors\"}}",
         DC_EFORMAT, "'z'"},
        {"shard path with a slash",
         "{\"weight_map\":{\"x.weight\":\"../s-1.safetensors\"}}", DC_EFORMAT, "shard file name"},
        {"no weight_map", "{\"metadata\":{}}", DC_EFORMAT, "weight_map"},
        {"empty weight_map", "{\"weight_map\":{}}", DC_EFORMAT, "empty"},
        {"duplicate map key",
         "{\"weight_map\":{\"x.weight\":\"s-1.safetensors\",\"x.weight\":\"s-1.safetensors\"}}", DC_EFORMAT,
         "duplicate"},
        {"index not JSON", "weight_map", DC_EFORMAT, "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        put_text("model.safetensors.index.json", bad[i].index);
        rc = open_dir(&m, err);
        T_CHECK(rc == bad[i].want && !m && strstr(err, bad[i].sub) && !strchr(err, '\n'), "%s: rc %d '%s'", bad[i].name,
                rc, err);
        if (getenv("DEEPC_TEST_VERBOSE")) printf("  %-30s %s\n", bad[i].name, err);
        st_free(m);
    }
    /* the same tensor in two shards */
    put_st("s-2.safetensors",
           "{\"x.weight_scale_inv\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[0,4]},"
           "\"y\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]}}",
           8);
    put_text("model.safetensors.index.json", k_index);
    rc = open_dir(&m, err);
    T_CHECK(rc == DC_EFORMAT && !m && strstr(err, "appears in both"), "tensor in two shards: rc %d '%s'", rc, err);
    /* a broken shard is reported with its file name */
    put_st("s-2.safetensors", "{\"x.weight_scale_inv\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4);
    rc = open_dir(&m, err);
    T_CHECK(rc == DC_EFORMAT && !m && strstr(err, "s-2.safetensors"), "bad shard: rc %d '%s'", rc, err);
    rm("s-1.safetensors");
    rm("s-2.safetensors");
    rm("model.safetensors.index.json");
}

/* ---- reference-writer fixtures ------------------------------------------- */

static int hexval(char c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }

static void check_views(const struct st_model *m, json_object *tensors, const char *what) {
    size_t n = json_object_array_length(tensors);
    T_CHECK(st_n_tensors(m) == (int64_t)n, "%s: %lld tensors, expected %zu", what, (long long)st_n_tensors(m), n);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(tensors, i), *jn, *jt, *jd, *jne, *jh;
        json_object_object_get_ex(e, "name", &jn);
        json_object_object_get_ex(e, "type", &jt);
        json_object_object_get_ex(e, "n_dims", &jd);
        json_object_object_get_ex(e, "ne", &jne);
        json_object_object_get_ex(e, "hex", &jh);
        const char *name = json_object_get_string(jn);
        const struct tensor_view *t = st_find_tensor(m, name);
        T_CHECK(t != NULL, "%s: tensor %s missing", what, name);
        if (!t) continue;
        T_CHECK(t->type == json_object_get_int(jt), "%s: %s type %d want %d", what, name, t->type, json_object_get_int(jt));
        T_CHECK(t->n_dims == json_object_get_int(jd), "%s: %s n_dims %d", what, name, t->n_dims);
        size_t nd = json_object_array_length(jne);
        for (size_t d = 0; d < TENSOR_MAX_DIMS; d++) {
            int64_t want = d < nd ? json_object_get_int64(json_object_array_get_idx(jne, d)) : 1;
            T_CHECK(t->ne[d] == want, "%s: %s ne[%zu] %lld want %lld", what, name, d, (long long)t->ne[d], (long long)want);
        }
        const char *hex = json_object_get_string(jh);
        size_t hl = strlen(hex);
        int ok = t->nbytes * 2 == hl;
        for (size_t b = 0; ok && b < hl / 2; b++)
            ok = ((const uint8_t *)t->data)[b] == (hexval(hex[2 * b]) << 4 | hexval(hex[2 * b + 1]));
        T_CHECK(ok, "%s: %s bytes differ (nbytes %llu, hex %zu)", what, name, (unsigned long long)t->nbytes, hl);
    }
}

static void test_python_fixtures(void) {
    char path[512], err[DC_ERR_LEN] = "";
    snprintf(path, sizeof(path), "%s/formats/expected.json", t_data_dir());
    json_object *ex = json_object_from_file(path), *sec, *x, *y;
    T_CHECK(ex != NULL, "cannot read %s (run tools/gen_format_fixtures.py)", path);
    if (!ex) return;
    struct st_model *m = NULL;

    json_object_object_get_ex(ex, "safetensors", &sec);
    json_object_object_get_ex(sec, "file", &x);
    snprintf(path, sizeof(path), "%s/formats/%s", t_data_dir(), json_object_get_string(x));
    T_CHECK(st_open(&m, path, err) == DC_OK, "open %s: %s", path, err);
    if (m) {
        json_object_object_get_ex(sec, "tensors", &x);
        check_views(m, x, "single");
    }
    st_free(m);

    json_object_object_get_ex(ex, "unsupported", &sec);
    json_object_object_get_ex(sec, "file", &x);
    json_object_object_get_ex(sec, "dtype", &y);
    snprintf(path, sizeof(path), "%s/formats/%s", t_data_dir(), json_object_get_string(x));
    m = NULL;
    int rc = st_open(&m, path, err);
    T_CHECK(rc == DC_EUNSUPPORTED && strstr(err, json_object_get_string(y)), "%s: rc %d '%s'", path, rc, err);

    json_object_object_get_ex(ex, "sharded", &sec);
    json_object_object_get_ex(sec, "dir", &x);
    snprintf(path, sizeof(path), "%s/formats/%s", t_data_dir(), json_object_get_string(x));
    m = NULL;
    T_CHECK(st_open(&m, path, err) == DC_OK, "open %s: %s", path, err);
    if (m) {
        json_object_object_get_ex(sec, "tensors", &x);
        check_views(m, x, "sharded");
        json_object_object_get_ex(sec, "config", &x);
        T_CHECK(st_config_json(m) && strcmp(st_config_json(m), json_object_get_string(x)) == 0, "config.json text");
        json_object_object_get_ex(sec, "tokenizer", &x);
        T_CHECK(st_aux_json(m, "tokenizer.json") && strcmp(st_aux_json(m, "tokenizer.json"), json_object_get_string(x)) == 0,
                "tokenizer.json text");
        /* shards differ: a weight and its scale come from different mappings */
        const struct tensor_view *w = st_find_tensor(m, "model.layers.0.mlp.down_proj.weight");
        const struct tensor_view *s = st_find_tensor(m, "model.layers.0.mlp.down_proj.weight_scale_inv");
        T_CHECK(w && s, "fp8 weight and scale present");
    }
    st_free(m);
    json_object_put(ex);
}

int main(void) {
    T_BEGIN("test_safetensors");
    snprintf(g_tmp, sizeof(g_tmp), "/tmp/deepc_test_st_XXXXXX");
    if (!mkdtemp(g_tmp)) {
        perror("mkdtemp");
        return 1;
    }
    T_RUN(test_getters);
    T_RUN(test_truncated);
    T_RUN(test_hostile);
    T_RUN(test_dir_single);
    T_RUN(test_dir_sharded);
    T_RUN(test_python_fixtures);
    rmdir(g_tmp);
    return T_END();
}
