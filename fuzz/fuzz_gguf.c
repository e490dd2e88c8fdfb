/*
 * fuzz_gguf.c - libFuzzer entry point for the GGUF reader.
 *
 * Each input is parsed with gguf_open_mem.  On success every key is read
 * through every getter and every tensor view is looked up by name and its
 * first and last data bytes are touched, so a view that points outside the
 * input shows up under ASan.  On failure the message must be one non-empty
 * line.  Violated invariants trap.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok) {
    if (!ok) __builtin_trap();
}

static void exercise(const struct gguf *g, const uint8_t *data, size_t size) {
    volatile uint8_t sink = 0;
    check(gguf_file_size(g) == size);
    check(gguf_alignment(g) && (gguf_alignment(g) & (gguf_alignment(g) - 1)) == 0);
    for (int64_t i = 0; i < gguf_n_kv(g); i++) {
        const char *key = gguf_kv_key(g, i);
        check(key != NULL);
        int64_t j = gguf_find_kv(g, key);
        /* keys with an embedded NUL cannot be found by their C-string form */
        if (j >= 0) check(strcmp(gguf_kv_key(g, j), key) == 0);
        int64_t iv;
        double fv;
        int bv, et;
        const char *s;
        uint64_t len, n;
        const void *d;
        (void)gguf_get_int(g, key, &iv);
        (void)gguf_get_float(g, key, &fv);
        (void)gguf_get_bool(g, key, &bv);
        if (gguf_get_str(g, key, &s, &len) == DC_OK) check(s[len] == 0);
        if (gguf_get_arr(g, key, &et, &n, &d) == DC_OK) {
            if (et == GGUF_STRING) {
                for (uint64_t k = 0; k < n && k < 64; k++) {
                    check(gguf_get_arr_str(g, key, k, &s, &len) == DC_OK);
                    check(s[len] == 0);
                }
                check(gguf_get_arr_str(g, key, n, &s, &len) == DC_ERANGE);
            } else if (n) {
                sink ^= ((const uint8_t *)d)[0];
            }
        }
    }
    for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
        const struct tensor_view *t = gguf_tensor(g, i);
        check(t && t->name && strlen(t->name) < 64);
        check(gguf_find_tensor(g, t->name) == t);
        check(t->n_dims >= 1 && t->n_dims <= 4);
        if (t->nbytes) {
            const uint8_t *p = t->data;
            check(p >= data && t->nbytes <= size && (size_t)(p - data) <= size - t->nbytes);
            sink ^= p[0];
            sink ^= p[t->nbytes - 1];
        }
    }
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct gguf *g = NULL;
    char err[DC_ERR_LEN];
    err[0] = 0;
    int rc = gguf_open_mem(&g, data, size, err);
    if (rc == DC_OK) {
        check(g != NULL);
        exercise(g, data, size);
    } else {
        check(g == NULL && err[0] && !strchr(err, '\n'));
    }
    gguf_free(g);
    return 0;
}
