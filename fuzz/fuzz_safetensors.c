/*
 * fuzz_safetensors.c - libFuzzer entry point for the safetensors reader.
 *
 * Each input is parsed with st_open_mem as one shard.  On success every view
 * is looked up by name and its first and last data bytes are touched, so a
 * view that points outside the input shows up under ASan; views must not
 * overlap.  On failure the message must be one non-empty line.  Violated
 * invariants trap.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok) {
    if (!ok) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct st_model *m = NULL;
    char err[DC_ERR_LEN];
    err[0] = 0;
    int rc = st_open_mem(&m, data, size, err);
    if (rc != DC_OK) {
        check(m == NULL && err[0] && !strchr(err, '\n'));
        return 0;
    }
    volatile uint8_t sink = 0;
    const uint8_t *prev_end = NULL;
    check(st_file_size(m) == size && st_config_json(m) == NULL);
    for (int64_t i = 0; i < st_n_tensors(m); i++) {
        const struct tensor_view *t = st_tensor(m, i);
        check(t && t->name && st_find_tensor(m, t->name) == t);
        check(t->n_dims >= 0 && t->n_dims <= 4);
        int empty = 0;
        for (int d = 0; d < 4; d++) {
            check(t->ne[d] >= 0);
            empty |= t->ne[d] == 0;
        }
        if (t->nbytes) {
            const uint8_t *p = t->data;
            check(!empty);
            check(p >= data && t->nbytes <= size && (size_t)(p - data) <= size - t->nbytes);
            /* views come in data order and never overlap */
            check(!prev_end || p >= prev_end);
            prev_end = p + t->nbytes;
            sink ^= p[0];
            sink ^= p[t->nbytes - 1];
        }
    }
    (void)sink;
    st_free(m);
    return 0;
}
