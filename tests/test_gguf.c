/*
 * test_gguf.c - GGUF reader: every getter on a file built here byte by byte,
 * every strict prefix of it, a table of hostile variants, and a file written
 * by the independent python `gguf` package (tests/data/formats, made by
 * tools/gen_format_fixtures.py) checked against the values that script
 * recorded in expected.json.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <unistd.h>

#include "dtype.h"
#include "err.h"
#include "gguf.h"
#include "test.h"

/* ---- a tiny GGUF writer -------------------------------------------------- */

struct wb {
    uint8_t *p;
    size_t n, cap;
};

static void wb_put(struct wb *w, const void *src, size_t n) {
    if (w->n + n > w->cap) {
        w->cap = (w->n + n) * 2 + 64;
        w->p = realloc(w->p, w->cap);
        if (!w->p) abort();
    }
    memcpy(w->p + w->n, src, n);
    w->n += n;
}
static void wb_u8(struct wb *w, uint8_t v) { wb_put(w, &v, 1); }
static void wb_u16(struct wb *w, uint16_t v) { uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)}; wb_put(w, b, 2); }
static void wb_u32(struct wb *w, uint32_t v) {
    for (int i = 0; i < 4; i++) wb_u8(w, (uint8_t)(v >> (8 * i)));
}
static void wb_u64(struct wb *w, uint64_t v) {
    for (int i = 0; i < 8; i++) wb_u8(w, (uint8_t)(v >> (8 * i)));
}
static void wb_f32(struct wb *w, float f) { uint32_t u; memcpy(&u, &f, 4); wb_u32(w, u); }
static void wb_f64(struct wb *w, double f) { uint64_t u; memcpy(&u, &f, 8); wb_u64(w, u); }
static void wb_strn(struct wb *w, const char *s, size_t n) { wb_u64(w, n); wb_put(w, s, n); }
static void wb_str(struct wb *w, const char *s) { wb_strn(w, s, strlen(s)); }
static void wb_key(struct wb *w, const char *k, uint32_t type) { wb_str(w, k); wb_u32(w, type); }
static void wb_pad(struct wb *w, size_t align) { while (w->n % align) wb_u8(w, 0); }
static void patch_u32(uint8_t *p, size_t at, uint32_t v) { for (int i = 0; i < 4; i++) p[at + i] = (uint8_t)(v >> (8 * i)); }
static void patch_u64(uint8_t *p, size_t at, uint64_t v) { for (int i = 0; i < 8; i++) p[at + i] = (uint8_t)(v >> (8 * i)); }

/* Options that change how the reference file is built. */
struct gopt {
    uint32_t version;
    int dup_key, dup_tensor, nested_array, empty_key, long_name, bool_two;
    int align_key;      /* 0: none; else general.alignment = align_value */
    uint32_t align_type; /* GGUF_U32 normally */
    uint32_t align_value;
};

/* Byte positions of fields in the built file, for patching. */
struct gpos {
    size_t version, n_tensors, n_kv, key0_len, arr_u32_count, arr_str_count, arr_str0_len;
    size_t t_ndims[4], t_dim0[4], t_type[4], t_off[4];
    size_t data;
};

#define N_TENSORS 4
/* Tensors: d F32 {0,5} (empty), a F32 {4,2}, b Q8_0 {32}, c F16 {3,1,2}. */
static const float a_vals[8] = {0.f, 1.f, -2.f, 3.5f, 4.f, -5.25f, 6.f, 7.f};
static const float c_vals[6] = {0.5f, -1.f, 2.f, 65504.f, -0.0f, 0.125f};

static void build(const struct gopt *o, struct wb *w, struct gpos *ps) {
    memset(w, 0, sizeof(*w));
    memset(ps, 0, sizeof(*ps));
    uint32_t align = o->align_key ? o->align_value : 32;
    if (!align || (align & (align - 1))) align = 32; /* invalid values only matter to the reader */
    wb_put(w, "GGUF", 4);
    ps->version = w->n;
    wb_u32(w, o->version ? o->version : 3);
    ps->n_tensors = w->n;
    wb_u64(w, N_TENSORS + (o->dup_tensor ? 1 : 0));
    ps->n_kv = w->n;
    wb_u64(w, 0); /* patched below */
    uint64_t nkv = 0;

    ps->key0_len = w->n;
    wb_key(w, "general.architecture", GGUF_STRING), wb_str(w, "deepseek2"), nkv++;
    wb_key(w, "t.u8", GGUF_U8), wb_u8(w, 200), nkv++;
    wb_key(w, "t.i8", GGUF_I8), wb_u8(w, (uint8_t)-100), nkv++;
    wb_key(w, "t.u16", GGUF_U16), wb_u16(w, 60000), nkv++;
    wb_key(w, "t.i16", GGUF_I16), wb_u16(w, (uint16_t)-30000), nkv++;
    wb_key(w, "t.u32", GGUF_U32), wb_u32(w, 4000000000u), nkv++;
    wb_key(w, "t.i32", GGUF_I32), wb_u32(w, (uint32_t)-2000000000), nkv++;
    wb_key(w, "t.f32", GGUF_F32), wb_f32(w, 1.5f), nkv++;
    wb_key(w, "t.bool", GGUF_BOOL), wb_u8(w, o->bool_two ? 2 : 1), nkv++;
    wb_key(w, "t.u64", GGUF_U64), wb_u64(w, (1ull << 63) + 5), nkv++;
    wb_key(w, "t.i64", GGUF_I64), wb_u64(w, (uint64_t)-(1ll << 40)), nkv++;
    wb_key(w, "t.f64", GGUF_F64), wb_f64(w, 3.25), nkv++;
    wb_key(w, "t.str_nul", GGUF_STRING), wb_strn(w, "a\0b", 3), nkv++;
    wb_key(w, "t.arr.u8", GGUF_ARRAY), wb_u32(w, GGUF_U8), wb_u64(w, 3), wb_u8(w, 1), wb_u8(w, 2), wb_u8(w, 255), nkv++;
    wb_key(w, "t.arr.i8", GGUF_ARRAY), wb_u32(w, GGUF_I8), wb_u64(w, 2), wb_u8(w, (uint8_t)-1), wb_u8(w, 7), nkv++;
    wb_key(w, "t.arr.u16", GGUF_ARRAY), wb_u32(w, GGUF_U16), wb_u64(w, 1), wb_u16(w, 65535), nkv++;
    wb_key(w, "t.arr.i16", GGUF_ARRAY), wb_u32(w, GGUF_I16), wb_u64(w, 1), wb_u16(w, (uint16_t)-2), nkv++;
    wb_key(w, "t.arr.u32", GGUF_ARRAY), wb_u32(w, GGUF_U32);
    ps->arr_u32_count = w->n;
    wb_u64(w, 2), wb_u32(w, 10), wb_u32(w, 4000000000u), nkv++;
    wb_key(w, "t.arr.i32", GGUF_ARRAY), wb_u32(w, GGUF_I32), wb_u64(w, 1), wb_u32(w, (uint32_t)-3), nkv++;
    wb_key(w, "t.arr.f32", GGUF_ARRAY), wb_u32(w, GGUF_F32), wb_u64(w, 2), wb_f32(w, 0.25f), wb_f32(w, -8.f), nkv++;
    wb_key(w, "t.arr.bool", GGUF_ARRAY), wb_u32(w, GGUF_BOOL), wb_u64(w, 2), wb_u8(w, 1), wb_u8(w, 0), nkv++;
    wb_key(w, "t.arr.str", GGUF_ARRAY), wb_u32(w, GGUF_STRING);
    ps->arr_str_count = w->n;
    wb_u64(w, 3);
    ps->arr_str0_len = w->n;
    wb_str(w, "x"), wb_str(w, "yz"), wb_str(w, ""), nkv++;
    wb_key(w, "t.arr.u64", GGUF_ARRAY), wb_u32(w, GGUF_U64), wb_u64(w, 1), wb_u64(w, UINT64_MAX), nkv++;
    wb_key(w, "t.arr.i64", GGUF_ARRAY), wb_u32(w, GGUF_I64), wb_u64(w, 1), wb_u64(w, (uint64_t)INT64_MIN), nkv++;
    wb_key(w, "t.arr.f64", GGUF_ARRAY), wb_u32(w, GGUF_F64), wb_u64(w, 1), wb_f64(w, -0.5), nkv++;
    wb_key(w, "t.arr.empty", GGUF_ARRAY), wb_u32(w, GGUF_U32), wb_u64(w, 0), nkv++;
    if (o->align_key) {
        wb_key(w, "general.alignment", o->align_type);
        if (o->align_type == GGUF_U64) wb_u64(w, o->align_value);
        else wb_u32(w, o->align_value);
        nkv++;
    }
    if (o->dup_key) wb_key(w, "t.u8", GGUF_U8), wb_u8(w, 1), nkv++;
    if (o->nested_array)
        wb_key(w, "t.nested", GGUF_ARRAY), wb_u32(w, GGUF_ARRAY), wb_u64(w, 1), wb_u32(w, GGUF_U8), wb_u64(w, 1), wb_u8(w, 1), nkv++;
    if (o->empty_key) wb_key(w, "", GGUF_U8), wb_u8(w, 1), nkv++;
    patch_u64(w->p, ps->n_kv, nkv);

    /* tensor infos: offsets are the running sum of sizes padded to align */
    const char *names[N_TENSORS] = {"d", "a", "b", o->long_name ? "0123456789012345678901234567890123456789012345678901234567890123" : "c"};
    const uint32_t nd[N_TENSORS] = {2, 2, 1, 3};
    const uint64_t dims[N_TENSORS][3] = {{0, 5, 0}, {4, 2, 0}, {32, 0, 0}, {3, 1, 2}};
    const uint32_t types[N_TENSORS] = {DT_F32, DT_F32, DT_Q8_0, DT_F16};
    const uint64_t sizes[N_TENSORS] = {0, 32, 34, 12};
    uint64_t off = 0;
    for (int i = 0; i < N_TENSORS; i++) {
        wb_str(w, names[i]);
        ps->t_ndims[i] = w->n;
        wb_u32(w, nd[i]);
        ps->t_dim0[i] = w->n;
        for (uint32_t d = 0; d < nd[i]; d++) wb_u64(w, dims[i][d]);
        ps->t_type[i] = w->n;
        wb_u32(w, types[i]);
        ps->t_off[i] = w->n;
        wb_u64(w, off);
        off += (sizes[i] + align - 1) / align * align;
    }
    if (o->dup_tensor) wb_str(w, "a"), wb_u32(w, 1), wb_u64(w, 8), wb_u32(w, DT_F32), wb_u64(w, off);
    wb_pad(w, align);
    ps->data = w->n;
    /* data: d (empty), a at 0, b at 32 (bytes 3*i), c at 32 + pad(34) */
    for (int i = 0; i < 8; i++) wb_f32(w, a_vals[i]);
    wb_pad(w, align);
    for (int i = 0; i < 34; i++) wb_u8(w, (uint8_t)(3 * i));
    wb_pad(w, align);
    for (int i = 0; i < 6; i++) wb_u16(w, f32_to_fp16(c_vals[i]));
    if (o->dup_tensor) {
        wb_pad(w, align);
        for (int i = 0; i < 8; i++) wb_f32(w, 0.f);
    }
}

static void build_ok(struct wb *w, struct gpos *ps) {
    struct gopt o = {0};
    build(&o, w, ps);
}

/* ---- checks on the reference file ---------------------------------------- */

static void check_reference(const struct gguf *g, const struct gpos *ps, size_t size) {
    T_CHECK(gguf_version(g) == 3, "version %u", gguf_version(g));
    T_CHECK(gguf_alignment(g) == 32, "alignment %u", gguf_alignment(g));
    T_CHECK(gguf_file_size(g) == size, "file size %llu", (unsigned long long)gguf_file_size(g));
    T_CHECK(gguf_data_offset(g) == ps->data, "data offset %llu vs %zu", (unsigned long long)gguf_data_offset(g), ps->data);
    T_CHECK(gguf_n_kv(g) == 26, "n_kv %lld", (long long)gguf_n_kv(g));
    T_CHECK(strcmp(gguf_kv_key(g, 0), "general.architecture") == 0, "key0 %s", gguf_kv_key(g, 0));
    T_CHECK(gguf_kv_type(g, 0) == GGUF_STRING, "type0 %d", gguf_kv_type(g, 0));
    T_CHECK(gguf_kv_key(g, -1) == NULL && gguf_kv_key(g, 26) == NULL, "out of range key not NULL");
    T_CHECK(gguf_kv_type(g, 26) == -1, "out of range type");
    T_CHECK(gguf_find_kv(g, "t.f64") == 11, "find t.f64 = %lld", (long long)gguf_find_kv(g, "t.f64"));
    T_CHECK(gguf_find_kv(g, "t.nope") == -1, "find absent");
    T_CHECK(gguf_find_kv(g, "t") == -1, "prefix of a key is not a key");

    int64_t iv;
    double fv;
    int bv;
    struct { const char *k; int64_t v; } ints[] = {
        {"t.u8", 200}, {"t.i8", -100}, {"t.u16", 60000}, {"t.i16", -30000}, {"t.u32", 4000000000ll},
        {"t.i32", -2000000000}, {"t.i64", -(1ll << 40)}, {"t.bool", 1},
    };
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        iv = 0;
        int rc = gguf_get_int(g, ints[i].k, &iv);
        T_CHECK(rc == DC_OK && iv == ints[i].v, "%s: rc %d value %lld", ints[i].k, rc, (long long)iv);
        fv = 0;
        if (strcmp(ints[i].k, "t.bool") == 0) continue;
        rc = gguf_get_float(g, ints[i].k, &fv);
        T_CHECK(rc == DC_OK && fv == (double)ints[i].v, "%s as float: rc %d value %g", ints[i].k, rc, fv);
    }
    T_CHECK(gguf_get_int(g, "t.u64", &iv) == DC_EFORMAT, "u64 above INT64_MAX must not fit int64");
    T_CHECK(gguf_get_float(g, "t.u64", &fv) == DC_OK && fv == 9223372036854775813.0, "u64 as float %g", fv);
    T_CHECK(gguf_get_float(g, "t.f32", &fv) == DC_OK && fv == 1.5, "f32 %g", fv);
    T_CHECK(gguf_get_float(g, "t.f64", &fv) == DC_OK && fv == 3.25, "f64 %g", fv);
    T_CHECK(gguf_get_int(g, "t.f32", &iv) == DC_EFORMAT, "float as int");
    T_CHECK(gguf_get_bool(g, "t.bool", &bv) == DC_OK && bv == 1, "bool");
    T_CHECK(gguf_get_bool(g, "t.u8", &bv) == DC_EFORMAT, "u8 as bool");
    T_CHECK(gguf_get_int(g, "t.absent", &iv) == DC_ENOTFOUND, "absent int");
    T_CHECK(gguf_get_float(g, "t.absent", &fv) == DC_ENOTFOUND, "absent float");
    T_CHECK(gguf_get_bool(g, "t.absent", &bv) == DC_ENOTFOUND, "absent bool");

    const char *s;
    uint64_t len;
    T_CHECK(gguf_get_str(g, "general.architecture", &s, &len) == DC_OK && len == 9 && strcmp(s, "deepseek2") == 0, "arch");
    T_CHECK(gguf_get_str(g, "t.str_nul", &s, &len) == DC_OK && len == 3 && memcmp(s, "a\0b", 4) == 0,
            "string with NUL keeps its length and is NUL-terminated");
    T_CHECK(gguf_get_str(g, "t.u8", &s, &len) == DC_EFORMAT, "int as string");
    T_CHECK(gguf_get_str(g, "t.absent", &s, &len) == DC_ENOTFOUND, "absent string");

    int et;
    uint64_t n;
    const void *d;
    T_CHECK(gguf_get_arr(g, "t.arr.u8", &et, &n, &d) == DC_OK && et == GGUF_U8 && n == 3 &&
                memcmp(d, "\x01\x02\xff", 3) == 0, "arr u8");
    T_CHECK(gguf_get_arr(g, "t.arr.i8", &et, &n, &d) == DC_OK && et == GGUF_I8 && n == 2 &&
                ((const int8_t *)d)[0] == -1 && ((const int8_t *)d)[1] == 7, "arr i8");
    uint16_t u16;
    int16_t i16;
    T_CHECK(gguf_get_arr(g, "t.arr.u16", &et, &n, &d) == DC_OK && et == GGUF_U16 && n == 1 &&
                (memcpy(&u16, d, 2), u16 == 65535), "arr u16");
    T_CHECK(gguf_get_arr(g, "t.arr.i16", &et, &n, &d) == DC_OK && et == GGUF_I16 && n == 1 &&
                (memcpy(&i16, d, 2), i16 == -2), "arr i16");
    uint32_t u32[2];
    T_CHECK(gguf_get_arr(g, "t.arr.u32", &et, &n, &d) == DC_OK && et == GGUF_U32 && n == 2 &&
                (memcpy(u32, d, 8), u32[0] == 10 && u32[1] == 4000000000u), "arr u32");
    int32_t i32;
    T_CHECK(gguf_get_arr(g, "t.arr.i32", &et, &n, &d) == DC_OK && et == GGUF_I32 && n == 1 &&
                (memcpy(&i32, d, 4), i32 == -3), "arr i32");
    float f32[2];
    T_CHECK(gguf_get_arr(g, "t.arr.f32", &et, &n, &d) == DC_OK && et == GGUF_F32 && n == 2 &&
                (memcpy(f32, d, 8), f32[0] == 0.25f && f32[1] == -8.f), "arr f32");
    T_CHECK(gguf_get_arr(g, "t.arr.bool", &et, &n, &d) == DC_OK && et == GGUF_BOOL && n == 2 &&
                memcmp(d, "\x01\x00", 2) == 0, "arr bool");
    uint64_t u64;
    int64_t i64;
    double f64;
    T_CHECK(gguf_get_arr(g, "t.arr.u64", &et, &n, &d) == DC_OK && et == GGUF_U64 && n == 1 &&
                (memcpy(&u64, d, 8), u64 == UINT64_MAX), "arr u64");
    T_CHECK(gguf_get_arr(g, "t.arr.i64", &et, &n, &d) == DC_OK && et == GGUF_I64 && n == 1 &&
                (memcpy(&i64, d, 8), i64 == INT64_MIN), "arr i64");
    T_CHECK(gguf_get_arr(g, "t.arr.f64", &et, &n, &d) == DC_OK && et == GGUF_F64 && n == 1 &&
                (memcpy(&f64, d, 8), f64 == -0.5), "arr f64");
    T_CHECK(gguf_get_arr(g, "t.arr.empty", &et, &n, &d) == DC_OK && et == GGUF_U32 && n == 0, "arr empty");
    T_CHECK(gguf_get_arr(g, "t.arr.str", &et, &n, &d) == DC_OK && et == GGUF_STRING && n == 3, "arr str");
    const char *want[3] = {"x", "yz", ""};
    for (uint64_t i = 0; i < 3; i++)
        T_CHECK(gguf_get_arr_str(g, "t.arr.str", i, &s, &len) == DC_OK && len == strlen(want[i]) && strcmp(s, want[i]) == 0,
                "arr str %llu", (unsigned long long)i);
    T_CHECK(gguf_get_arr_str(g, "t.arr.str", 3, &s, &len) == DC_ERANGE, "arr str index past end");
    T_CHECK(gguf_get_arr_str(g, "t.arr.u8", 0, &s, &len) == DC_EFORMAT, "arr_str on u8 array");
    T_CHECK(gguf_get_arr(g, "t.u8", &et, &n, &d) == DC_EFORMAT, "scalar as array");
    T_CHECK(gguf_get_arr(g, "t.absent", &et, &n, &d) == DC_ENOTFOUND, "absent array");
    T_CHECK(gguf_get_arr_str(g, "t.absent", 0, &s, &len) == DC_ENOTFOUND, "absent array str");

    /* tensors */
    T_CHECK(gguf_n_tensors(g) == 4, "n_tensors %lld", (long long)gguf_n_tensors(g));
    T_CHECK(gguf_tensor(g, 4) == NULL && gguf_tensor(g, -1) == NULL, "tensor out of range");
    const struct tensor_view *td = gguf_tensor(g, 0), *ta = gguf_find_tensor(g, "a"), *tb = gguf_find_tensor(g, "b"),
                             *tc = gguf_find_tensor(g, "c");
    T_CHECK(td && strcmp(td->name, "d") == 0 && td->nbytes == 0 && td->ne[0] == 0 && td->ne[1] == 5 && td->n_dims == 2,
            "tensor d");
    T_CHECK(gguf_find_tensor(g, "zz") == NULL, "absent tensor");
    if (!ta || !tb || !tc) {
        T_CHECK(0, "tensors a/b/c missing");
        return;
    }
    T_CHECK(ta == gguf_tensor(g, 1), "find returns the file-order view");
    T_CHECK(ta->type == DT_F32 && ta->n_dims == 2 && ta->ne[0] == 4 && ta->ne[1] == 2 && ta->ne[2] == 1 && ta->ne[3] == 1 &&
                ta->nbytes == 32 && tensor_nelems(ta) == 8, "a shape");
    float av[8];
    memcpy(av, ta->data, 32);
    T_CHECK(memcmp(av, a_vals, 32) == 0, "a data");
    T_CHECK(tb->type == DT_Q8_0 && tb->n_dims == 1 && tb->ne[0] == 32 && tb->nbytes == 34, "b shape");
    const uint8_t *bb = tb->data;
    int bok = 1;
    for (int i = 0; i < 34; i++) bok &= bb[i] == (uint8_t)(3 * i);
    T_CHECK(bok, "b data");
    T_CHECK(tc->type == DT_F16 && tc->n_dims == 3 && tc->ne[0] == 3 && tc->ne[1] == 1 && tc->ne[2] == 2 && tc->nbytes == 12,
            "c shape");
    int cok = 1;
    for (int i = 0; i < 6; i++) {
        uint16_t h;
        memcpy(&h, (const uint8_t *)tc->data + 2 * i, 2);
        cok &= fp16_to_f32(h) == c_vals[i];
    }
    T_CHECK(cok, "c data");
    T_CHECK((const uint8_t *)tb->data - (const uint8_t *)ta->data == 32, "b offset");
    T_CHECK((const uint8_t *)tc->data - (const uint8_t *)ta->data == 96, "c offset");
}

static void test_getters(void) {
    struct wb w;
    struct gpos ps;
    build_ok(&w, &ps);
    struct gguf *g = NULL;
    char err[DC_ERR_LEN] = "";
    int rc = gguf_open_mem(&g, w.p, w.n, err);
    T_CHECK(rc == DC_OK && g, "open: %s", err);
    if (g) {
        check_reference(g, &ps, w.n);
        T_CHECK((const uint8_t *)gguf_find_tensor(g, "a")->data == w.p + ps.data, "a points into the image");
    }
    gguf_free(g);
    gguf_free(NULL);
    free(w.p);
}

static void test_version2(void) {
    struct wb w;
    struct gpos ps;
    struct gopt o = {.version = 2};
    build(&o, &w, &ps);
    struct gguf *g = NULL;
    char err[DC_ERR_LEN] = "";
    T_CHECK(gguf_open_mem(&g, w.p, w.n, err) == DC_OK, "v2: %s", err);
    if (g) T_CHECK(gguf_version(g) == 2 && gguf_n_tensors(g) == 4, "v2 contents");
    gguf_free(g);
    free(w.p);
}

static void test_alignment64(void) {
    struct wb w;
    struct gpos ps;
    struct gopt o = {.align_key = 1, .align_type = GGUF_U32, .align_value = 64};
    build(&o, &w, &ps);
    struct gguf *g = NULL;
    char err[DC_ERR_LEN] = "";
    T_CHECK(gguf_open_mem(&g, w.p, w.n, err) == DC_OK, "align 64: %s", err);
    if (g) {
        T_CHECK(gguf_alignment(g) == 64 && gguf_data_offset(g) % 64 == 0 && gguf_data_offset(g) == ps.data, "align 64");
        const struct tensor_view *tc = gguf_find_tensor(g, "c");
        T_CHECK(tc && (const uint8_t *)tc->data == w.p + ps.data + 128, "c at 128");
    }
    gguf_free(g);
    free(w.p);
}

static void test_open_file(void) {
    struct wb w;
    struct gpos ps;
    build_ok(&w, &ps);
    char path[] = "/tmp/deepc_test_gguf_XXXXXX";
    int fd = mkstemp(path);
    T_CHECK(fd >= 0, "mkstemp");
    if (fd < 0) return;
    T_CHECK(write(fd, w.p, w.n) == (ssize_t)w.n, "write");
    close(fd);
    struct gguf *g = NULL;
    char err[DC_ERR_LEN] = "";
    T_CHECK(gguf_open(&g, path, err) == DC_OK, "open file: %s", err);
    if (g) check_reference(g, &ps, w.n);
    gguf_free(g);
    unlink(path);
    g = (struct gguf *)1;
    err[0] = 0;
    T_CHECK(gguf_open(&g, "/nonexistent/deepc.gguf", err) == DC_EIO && g == NULL && err[0], "missing file: %s", err);
    /* an empty file maps to NULL data and must still fail cleanly */
    strcpy(path, "/tmp/deepc_test_gguf_XXXXXX");
    fd = mkstemp(path);
    close(fd);
    err[0] = 0;
    T_CHECK(gguf_open(&g, path, err) == DC_EFORMAT && err[0], "empty file: %s", err);
    unlink(path);
    free(w.p);
}

/* Every strict prefix of a valid file is rejected: the last tensor's data
 * runs to the last byte, so nothing can be cut silently. */
static void test_truncated(void) {
    struct wb w;
    struct gpos ps;
    build_ok(&w, &ps);
    int bad = 0;
    for (size_t n = 0; n < w.n; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact-size copy so ASan sees any over-read */
        memcpy(copy, w.p, n);
        struct gguf *g = NULL;
        char err[DC_ERR_LEN] = "";
        int rc = gguf_open_mem(&g, copy, n, err);
        if (rc != DC_EFORMAT || g || !err[0] || strchr(err, '\n')) {
            if (bad++ < 5) T_CHECK(0, "prefix %zu: rc %d err '%s'", n, rc, err);
        }
        gguf_free(g);
        free(copy);
    }
    T_CHECK(bad == 0, "%d of %zu prefixes not rejected", bad, w.n);
    free(w.p);
}

/* ---- hostile variants ---------------------------------------------------- */

enum patch_kind { P_NONE, P_U32, P_U64 };

struct hostile {
    const char *name;
    struct gopt opt;
    enum patch_kind pk;
    int field; /* which gpos field */
    int ti;    /* tensor index for per-tensor fields */
    uint64_t value;
    int want;        /* expected status */
    const char *sub; /* expected substring of the message */
};

enum { F_VERSION, F_NT, F_NKV, F_KEY0, F_ARRU32, F_ARRSTR, F_ARRSTR0, F_NDIMS, F_DIM0, F_DIM1, F_TYPE, F_OFF, F_MAGIC };

static size_t field_pos(const struct gpos *ps, int f, int ti) {
    switch (f) {
    case F_VERSION: return ps->version;
    case F_NT: return ps->n_tensors;
    case F_NKV: return ps->n_kv;
    case F_KEY0: return ps->key0_len;
    case F_ARRU32: return ps->arr_u32_count;
    case F_ARRSTR: return ps->arr_str_count;
    case F_ARRSTR0: return ps->arr_str0_len;
    case F_NDIMS: return ps->t_ndims[ti];
    case F_DIM0: return ps->t_dim0[ti];
    case F_DIM1: return ps->t_dim0[ti] + 8;
    case F_TYPE: return ps->t_type[ti];
    case F_OFF: return ps->t_off[ti];
    default: return 0;
    }
}

static void test_hostile(void) {
    const struct hostile cases[] = {
        {"version 1", {.version = 1}, P_NONE, 0, 0, 0, DC_EFORMAT, "version"},
        {"version 4", {.version = 4}, P_NONE, 0, 0, 0, DC_EFORMAT, "version"},
        {"version 0", {0}, P_U32, F_VERSION, 0, 0, DC_EFORMAT, "version"},
        {"byte-swapped version", {0}, P_U32, F_VERSION, 0, 0x03000000u, DC_EFORMAT, "byte-swapped"},
        {"bad magic", {0}, P_U32, F_MAGIC, 0, 0x46554746u, DC_EFORMAT, "magic"},
        {"huge key length", {0}, P_U64, F_KEY0, 0, UINT64_MAX, DC_EFORMAT, "length"},
        {"key length 2^62", {0}, P_U64, F_KEY0, 0, 1ull << 62, DC_EFORMAT, "length"},
        {"huge array count", {0}, P_U64, F_ARRU32, 0, 1ull << 62, DC_EFORMAT, "count"},
        {"max array count", {0}, P_U64, F_ARRU32, 0, UINT64_MAX, DC_EFORMAT, "count"},
        {"huge string array count", {0}, P_U64, F_ARRSTR, 0, 1ull << 61, DC_EFORMAT, "count"},
        {"huge string in array", {0}, P_U64, F_ARRSTR0, 0, UINT64_MAX - 3, DC_EFORMAT, "t.arr.str"},
        {"huge tensor count", {0}, P_U64, F_NT, 0, UINT64_MAX / 2, DC_EFORMAT, "tensor count"},
        {"huge kv count", {0}, P_U64, F_NKV, 0, UINT64_MAX, DC_EFORMAT, "metadata count"},
        {"tensor count one too many", {0}, P_U64, F_NT, 0, 5, DC_EFORMAT, "gguf:"},
        {"n_dims 5", {0}, P_U32, F_NDIMS, 1, 5, DC_EFORMAT, "n_dims"},
        {"n_dims 0", {0}, P_U32, F_NDIMS, 1, 0, DC_EFORMAT, "n_dims"},
        {"dim product overflow", {0}, P_U64, F_DIM1, 1, 1ull << 62, DC_EFORMAT, "overflow"},
        {"negative dim", {0}, P_U64, F_DIM0, 1, (uint64_t)-4, DC_EFORMAT, "dim"},
        {"byte size overflow", {0}, P_U64, F_DIM1, 1, 1ull << 60, DC_EFORMAT, "byte size overflows"},
        {"offset misaligned", {0}, P_U64, F_OFF, 2, 33, DC_EFORMAT, "alignment"},
        {"data beyond EOF", {0}, P_U64, F_OFF, 3, 4096, DC_EFORMAT, "beyond file size"},
        {"offset near 2^64", {0}, P_U64, F_OFF, 3, UINT64_MAX - 31, DC_EFORMAT, "beyond file size"},
        {"tensor ends past EOF", {0}, P_U64, F_DIM0, 3, 300, DC_EFORMAT, "'c' data ends at"},
        {"overlapping tensors", {0}, P_U64, F_OFF, 2, 0, DC_EFORMAT, "overlap"},
        {"unknown type id 4", {0}, P_U32, F_TYPE, 1, 4, DC_EFORMAT, "type id 4"},
        {"unknown type id 99", {0}, P_U32, F_TYPE, 1, 99, DC_EFORMAT, "type id 99"},
        {"safetensors-only type id", {0}, P_U32, F_TYPE, 1, DT_F8_E4M3, DC_EFORMAT, "type id 1000"},
        {"ne0 not a block multiple", {0}, P_U64, F_DIM0, 2, 16, DC_EFORMAT, "block"},
        {"duplicate key", {.dup_key = 1}, P_NONE, 0, 0, 0, DC_EFORMAT, "duplicate key 't.u8'"},
        {"duplicate tensor name", {.dup_tensor = 1}, P_NONE, 0, 0, 0, DC_EFORMAT, "duplicate tensor name 'a'"},
        {"nested array", {.nested_array = 1}, P_NONE, 0, 0, 0, DC_EFORMAT, "nested"},
        {"empty key", {.empty_key = 1}, P_NONE, 0, 0, 0, DC_EFORMAT, "empty"},
        {"64-byte tensor name", {.long_name = 1}, P_NONE, 0, 0, 0, DC_EFORMAT, "at most 63"},
        {"bool value 2", {.bool_two = 1}, P_NONE, 0, 0, 0, DC_EFORMAT, "bool"},
        {"alignment 24", {.align_key = 1, .align_type = GGUF_U32, .align_value = 24}, P_NONE, 0, 0, 0, DC_EFORMAT,
         "power of two"},
        {"alignment 0", {.align_key = 1, .align_type = GGUF_U32, .align_value = 0}, P_NONE, 0, 0, 0, DC_EFORMAT,
         "power of two"},
        {"alignment as u64", {.align_key = 1, .align_type = GGUF_U64, .align_value = 32}, P_NONE, 0, 0, 0, DC_EFORMAT,
         "must be u32"},
        {"bad value type", {0}, P_U32, F_KEY0, 0, 0, DC_EFORMAT, "gguf:"}, /* patched below */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct hostile *c = &cases[i];
        struct wb w;
        struct gpos ps;
        build(&c->opt, &w, &ps);
        if (strcmp(c->name, "bad value type") == 0) {
            /* value type of the first key: after its 8-byte length and 20 bytes */
            patch_u32(w.p, ps.key0_len + 8 + 20, 13);
        } else if (c->field == F_MAGIC) {
            patch_u32(w.p, 0, (uint32_t)c->value);
        } else if (c->pk == P_U32) {
            patch_u32(w.p, field_pos(&ps, c->field, c->ti), (uint32_t)c->value);
        } else if (c->pk == P_U64) {
            patch_u64(w.p, field_pos(&ps, c->field, c->ti), c->value);
        }
        struct gguf *g = NULL;
        char err[DC_ERR_LEN] = "";
        int rc = gguf_open_mem(&g, w.p, w.n, err);
        T_CHECK(rc == c->want && g == NULL, "%s: rc %d (want %d), err '%s'", c->name, rc, c->want, err);
        T_CHECK(err[0] && !strchr(err, '\n') && strncmp(err, "gguf: ", 6) == 0, "%s: message '%s'", c->name, err);
        T_CHECK(strstr(err, c->sub) != NULL, "%s: message '%s' lacks '%s'", c->name, err, c->sub);
        if (getenv("DEEPC_TEST_VERBOSE")) printf("  %-28s %s\n", c->name, err);
        gguf_free(g);
        free(w.p);
    }
}

/* ---- python gguf fixture ------------------------------------------------- */

static int hexval(char c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }

static json_object *load_expected(void) {
    char path[512];
    snprintf(path, sizeof(path), "%s/formats/expected.json", t_data_dir());
    return json_object_from_file(path);
}

/* Compares a kv against its expected {type, value} from the python writer. */
static void check_py_kv(const struct gguf *g, const char *key, json_object *e) {
    json_object *jt, *jv, *je;
    T_CHECK(json_object_object_get_ex(e, "type", &jt) && json_object_object_get_ex(e, "value", &jv), "%s: bad expected", key);
    int64_t i = gguf_find_kv(g, key);
    T_CHECK(i >= 0, "key %s missing", key);
    if (i < 0) return;
    int type = json_object_get_int(jt);
    T_CHECK(gguf_kv_type(g, i) == type, "%s: type %d want %d", key, gguf_kv_type(g, i), type);
    if (type == GGUF_STRING) {
        const char *s;
        uint64_t len;
        T_CHECK(gguf_get_str(g, key, &s, &len) == DC_OK && len == (uint64_t)json_object_get_string_len(jv) &&
                    memcmp(s, json_object_get_string(jv), len) == 0, "%s: string", key);
    } else if (type == GGUF_BOOL) {
        int b;
        T_CHECK(gguf_get_bool(g, key, &b) == DC_OK && b == json_object_get_boolean(jv), "%s: bool", key);
    } else if (type == GGUF_F32 || type == GGUF_F64) {
        double f;
        T_CHECK(gguf_get_float(g, key, &f) == DC_OK && f == json_object_get_double(jv), "%s: %.17g vs %.17g", key, f,
                json_object_get_double(jv));
    } else if (type == GGUF_U64) {
        double f;
        T_CHECK(gguf_get_float(g, key, &f) == DC_OK && f == (double)json_object_get_uint64(jv), "%s: u64", key);
        int64_t v;
        if (json_object_get_uint64(jv) <= (uint64_t)INT64_MAX)
            T_CHECK(gguf_get_int(g, key, &v) == DC_OK && (uint64_t)v == json_object_get_uint64(jv), "%s: u64 as int", key);
        else
            T_CHECK(gguf_get_int(g, key, &v) == DC_EFORMAT, "%s: u64 above INT64_MAX as int", key);
    } else if (type == GGUF_ARRAY) {
        int et;
        uint64_t n;
        const void *d;
        T_CHECK(json_object_object_get_ex(e, "etype", &je), "%s: etype", key);
        int want_et = json_object_get_int(je);
        size_t want_n = json_object_array_length(jv);
        T_CHECK(gguf_get_arr(g, key, &et, &n, &d) == DC_OK && et == want_et && n == want_n, "%s: arr et %d n %llu", key,
                et, (unsigned long long)n);
        if (et != want_et || n != want_n) return;
        for (size_t k = 0; k < n; k++) {
            json_object *x = json_object_array_get_idx(jv, k);
            const uint8_t *p = d;
            int ok = 1;
            switch (et) {
            case GGUF_U8: ok = p[k] == json_object_get_int64(x); break;
            case GGUF_I8: ok = (int8_t)p[k] == json_object_get_int64(x); break;
            case GGUF_BOOL: ok = p[k] == (json_object_get_boolean(x) ? 1 : 0); break;
            case GGUF_U16: { uint16_t v; memcpy(&v, p + 2 * k, 2); ok = v == json_object_get_int64(x); break; }
            case GGUF_I16: { int16_t v; memcpy(&v, p + 2 * k, 2); ok = v == json_object_get_int64(x); break; }
            case GGUF_U32: { uint32_t v; memcpy(&v, p + 4 * k, 4); ok = v == json_object_get_int64(x); break; }
            case GGUF_I32: { int32_t v; memcpy(&v, p + 4 * k, 4); ok = v == json_object_get_int64(x); break; }
            case GGUF_U64: { uint64_t v; memcpy(&v, p + 8 * k, 8); ok = v == json_object_get_uint64(x); break; }
            case GGUF_I64: { int64_t v; memcpy(&v, p + 8 * k, 8); ok = v == json_object_get_int64(x); break; }
            case GGUF_F32: { float v; memcpy(&v, p + 4 * k, 4); ok = (double)v == json_object_get_double(x); break; }
            case GGUF_F64: { double v; memcpy(&v, p + 8 * k, 8); ok = v == json_object_get_double(x); break; }
            case GGUF_STRING: {
                const char *s;
                uint64_t len;
                ok = gguf_get_arr_str(g, key, k, &s, &len) == DC_OK && len == (uint64_t)json_object_get_string_len(x) &&
                     memcmp(s, json_object_get_string(x), len) == 0;
                break;
            }
            default: ok = 0;
            }
            T_CHECK(ok, "%s: element %zu differs", key, k);
        }
    } else {
        int64_t v;
        T_CHECK(gguf_get_int(g, key, &v) == DC_OK && v == json_object_get_int64(jv), "%s: int %lld vs %lld", key,
                (long long)v, (long long)json_object_get_int64(jv));
    }
}

static void test_python_fixture(void) {
    json_object *ex = load_expected(), *eg, *kvs, *tens, *x;
    T_CHECK(ex != NULL, "cannot read %s/formats/expected.json (run tools/gen_format_fixtures.py)", t_data_dir());
    if (!ex) return;
    T_CHECK(json_object_object_get_ex(ex, "gguf", &eg), "no gguf section");
    if (!eg) goto out;
    json_object_object_get_ex(eg, "file", &x);
    char path[512];
    snprintf(path, sizeof(path), "%s/formats/%s", t_data_dir(), json_object_get_string(x));
    struct gguf *g = NULL;
    char err[DC_ERR_LEN] = "";
    T_CHECK(gguf_open(&g, path, err) == DC_OK, "open %s: %s", path, err);
    if (!g) goto out;
    json_object_object_get_ex(eg, "version", &x);
    T_CHECK(gguf_version(g) == (uint32_t)json_object_get_int(x), "version %u", gguf_version(g));
    json_object_object_get_ex(eg, "alignment", &x);
    T_CHECK(gguf_alignment(g) == (uint32_t)json_object_get_int(x), "alignment %u", gguf_alignment(g));
    json_object_object_get_ex(eg, "kv", &kvs);
    T_CHECK(gguf_n_kv(g) == json_object_object_length(kvs), "n_kv %lld vs %d", (long long)gguf_n_kv(g),
            json_object_object_length(kvs));
    json_object_object_foreach(kvs, key, val) check_py_kv(g, key, val);
    json_object_object_get_ex(eg, "tensors", &tens);
    size_t nt = json_object_array_length(tens);
    T_CHECK(gguf_n_tensors(g) == (int64_t)nt, "n_tensors %lld vs %zu", (long long)gguf_n_tensors(g), nt);
    for (size_t i = 0; i < nt && i < (size_t)gguf_n_tensors(g); i++) {
        json_object *et = json_object_array_get_idx(tens, i), *jn, *jty, *jne, *jhex;
        json_object_object_get_ex(et, "name", &jn);
        json_object_object_get_ex(et, "type", &jty);
        json_object_object_get_ex(et, "ne", &jne);
        json_object_object_get_ex(et, "hex", &jhex);
        const struct tensor_view *t = gguf_tensor(g, (int64_t)i);
        const char *nm = json_object_get_string(jn);
        T_CHECK(strcmp(t->name, nm) == 0, "tensor %zu name %s vs %s", i, t->name, nm);
        T_CHECK(gguf_find_tensor(g, nm) == t, "find %s", nm);
        T_CHECK(t->type == json_object_get_int(jty), "%s type %d", nm, t->type);
        size_t nd = json_object_array_length(jne);
        T_CHECK(t->n_dims == (int)nd, "%s n_dims %d vs %zu", nm, t->n_dims, nd);
        for (size_t d = 0; d < nd && d < 4; d++)
            T_CHECK(t->ne[d] == json_object_get_int64(json_object_array_get_idx(jne, d)), "%s ne[%zu] %lld", nm, d,
                    (long long)t->ne[d]);
        const char *hex = json_object_get_string(jhex);
        size_t hl = strlen(hex);
        T_CHECK(t->nbytes * 2 == hl, "%s nbytes %llu vs hex %zu", nm, (unsigned long long)t->nbytes, hl);
        int ok = t->nbytes * 2 == hl;
        for (size_t b = 0; ok && b < hl / 2; b++)
            ok = ((const uint8_t *)t->data)[b] == (hexval(hex[2 * b]) << 4 | hexval(hex[2 * b + 1]));
        T_CHECK(ok, "%s bytes differ from what the python writer stored", nm);
        T_CHECK((gguf_data_offset(g) % gguf_alignment(g)) == 0, "data offset aligned");
    }
    gguf_free(g);
out:
    json_object_put(ex);
}

int main(void) {
    T_BEGIN("test_gguf");
    T_RUN(test_getters);
    T_RUN(test_version2);
    T_RUN(test_alignment64);
    T_RUN(test_open_file);
    T_RUN(test_truncated);
    T_RUN(test_hostile);
    T_RUN(test_python_fixture);
    return T_END();
}
