/*
 * wstream.c - the model's weight stream timed alone (see wstream.h).
 */
#include "wstream.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "err.h"

struct wstream_list {
    const struct model_mat **mats;
    int64_t n;
    int64_t max_cols, max_rows;
    size_t max_scratch;
};

static void wstream_collect(struct model_mat *w, void *arg) {
    struct wstream_list *l = arg;
    if (w->rows <= 0 || !w->data) return;
    if (l->mats) l->mats[l->n] = w;
    l->n++;
    if (w->cols > l->max_cols) l->max_cols = w->cols;
    if (w->rows > l->max_rows) l->max_rows = w->rows;
    const size_t s = model_mat_scratch(w, 1);
    if (s > l->max_scratch) l->max_scratch = s;
}

static int wstream_cmp(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Slot of type t in r->types (added on first sight); -1 when full. */
static int wstream_slot(struct wstream_result *r, int t) {
    for (int i = 0; i < r->n_types; i++)
        if (r->types[i].type == t) return i;
    if (r->n_types == WSTREAM_MAX_TYPES) return -1;
    r->types[r->n_types] = (struct wstream_type){.type = t};
    return r->n_types++;
}

int wstream_time(struct model *m, int reps, struct wstream_result *r, char *err) {
    memset(r, 0, sizeof(*r));
    if (reps < 1 || reps > WSTREAM_MAX_REPS)
        return dc_errf(err, DC_EINVAL, "products: %d passes (1..%d)", reps, WSTREAM_MAX_REPS);
    struct wstream_list l = {0};
    model_each_matmul(m, wstream_collect, &l); /* count and sizes */
    if (l.n == 0) return dc_errf(err, DC_EINVAL, "products: the model has no matrix to multiply");
    const size_t xb = ((size_t)l.max_cols * sizeof(float) + 63) & ~(size_t)63;
    const size_t yb = ((size_t)l.max_rows * sizeof(float) + 63) & ~(size_t)63;
    const size_t sb = (l.max_scratch + 63) & ~(size_t)63;
    l.mats = malloc((size_t)l.n * sizeof(*l.mats));
    int *slot = malloc((size_t)l.n * sizeof(*slot));
    double *pass_s = malloc((size_t)reps * sizeof(*pass_s));
    double *type_s = calloc((size_t)WSTREAM_MAX_TYPES * 2, sizeof(*type_s)); /* this pass, best pass */
    float *x = aligned_alloc(64, xb), *y = aligned_alloc(64, yb);
    void *scratch = aligned_alloc(64, sb ? sb : 64);
    int rc = DC_OK;
    if (!l.mats || !slot || !pass_s || !type_s || !x || !y || !scratch) {
        rc = dc_errf(err, DC_ENOMEM, "products: out of memory");
        goto out;
    }
    l.n = 0;
    model_each_matmul(m, wstream_collect, &l); /* record */
    uint32_t h = 2463534242u; /* xorshift32: a fixed input in [-1, 1) */
    for (int64_t i = 0; i < l.max_cols; i++) {
        h ^= h << 13, h ^= h >> 17, h ^= h << 5;
        x[i] = (float)(h >> 8) / 8388608.0f - 1.0f;
    }
    for (int64_t i = 0; i < l.n; i++) {
        const struct model_mat *w = l.mats[i];
        if ((slot[i] = wstream_slot(r, w->type)) < 0) {
            rc = dc_errf(err, DC_EINVAL, "products: more than %d weight types", WSTREAM_MAX_TYPES);
            goto out;
        }
        r->types[slot[i]].n_mats++;
        r->types[slot[i]].bytes += model_mat_bytes(w);
        r->bytes += model_mat_bytes(w);
    }
    r->n_mats = l.n;
    r->reps = reps;
    double best = -1.0;
    for (int p = -1; p < reps; p++) { /* pass -1 is untimed */
        memset(type_s, 0, (size_t)WSTREAM_MAX_TYPES * sizeof(*type_s));
        const double t0 = omp_get_wtime();
        double t = t0;
        for (int64_t i = 0; i < l.n; i++) {
            model_matmul(l.mats[i], x, l.mats[i]->cols, 1, y, l.mats[i]->rows, scratch);
            const double t1 = omp_get_wtime();
            type_s[slot[i]] += t1 - t;
            t = t1;
        }
        if (p < 0) continue;
        pass_s[p] = t - t0 > 1e-9 ? t - t0 : 1e-9; /* never 0: callers divide by it */
        if (best < 0 || pass_s[p] < best) {
            best = pass_s[p];
            memcpy(type_s + WSTREAM_MAX_TYPES, type_s, (size_t)WSTREAM_MAX_TYPES * sizeof(*type_s));
        }
    }
    for (int i = 0; i < r->n_types; i++) r->types[i].s = type_s[WSTREAM_MAX_TYPES + i];
    qsort(pass_s, (size_t)reps, sizeof(*pass_s), wstream_cmp);
    r->best_s = pass_s[0];
    r->median_s = pass_s[reps / 2];
out:
    free(l.mats);
    free(slot);
    free(pass_s);
    free(type_s);
    free(x);
    free(y);
    free(scratch);
    return rc;
}
