/*
 * kern_fp8.c - FP8 e4m3 block-scaled matmul: the reference rows kernel, the
 * variant choice and the threaded driver (see kern_fp8.h).
 */
#include "kern_fp8.h"

#include <omp.h>
#include <pthread.h>

#include "kern.h"

/* Below this many weight bytes x tokens the product runs on one thread. */
#define KERN_FP8_PAR_MIN_BYTES (64 * 1024)

/* Reference: for each row and token, per column block the exact products
 * e4m3(w) * x summed in double, times the block scale, summed in double over
 * blocks, rounded to f32 once. */
void kern_fp8_rows_ref(const struct kern_fp8_mat *w, const float *x, int64_t ldx, int64_t n, float *y,
                       int64_t ldy, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *wr = w->data + (size_t)r * (size_t)w->cols;
        const float *sr = w->scale + (size_t)((w->row0 + r) / w->blk_r) * (size_t)w->scale_ld;
        for (int64_t t = 0; t < n; t++) {
            const float *xt = x + t * ldx;
            double tot = 0.0;
            for (int64_t c0 = 0, b = 0; c0 < w->cols; c0 += w->blk_c, b++) {
                int64_t c1 = c0 + w->blk_c < w->cols ? c0 + w->blk_c : w->cols;
                double s = 0.0;
                for (int64_t c = c0; c < c1; c++) s += (double)kern_fp8_decode(wr[c]) * (double)xt[c];
                tot += s * (double)sr[b];
            }
            y[t * ldy + r] = (float)tot;
        }
    }
}

static kern_fp8_rows_fn kern_fp8_fn;
static const char *kern_fp8_name;
static pthread_once_t kern_fp8_once = PTHREAD_ONCE_INIT;

static void kern_fp8_init_once(void) {
    const char *name = kern_active()->name;
    if (!strcmp(name, "avx512") && kern_cpu_has(KERN_ISA_AVX512)) {
        kern_fp8_fn = kern_fp8_rows_avx512;
        kern_fp8_name = "avx512";
    } else if ((!strcmp(name, "avx512") || !strcmp(name, "avx2")) && kern_cpu_has(KERN_ISA_AVX2)) {
        kern_fp8_fn = kern_fp8_rows_avx2;
        kern_fp8_name = "avx2";
    } else {
        kern_fp8_fn = kern_fp8_rows_ref;
        kern_fp8_name = "ref";
    }
}

kern_fp8_rows_fn kern_fp8_rows_active(void) {
    pthread_once(&kern_fp8_once, kern_fp8_init_once);
    return kern_fp8_fn;
}

const char *kern_fp8_active_name(void) {
    pthread_once(&kern_fp8_once, kern_fp8_init_once);
    return kern_fp8_name;
}

void kern_fp8_matmul(const struct kern_fp8_mat *w, const float *x, int64_t ldx, int64_t n, float *y,
                     int64_t ldy) {
    if (n <= 0 || w->rows <= 0) return;
    kern_fp8_rows_fn fn = kern_fp8_rows_active();
    if (omp_in_parallel()) {
        int ith = omp_get_thread_num(), nth = omp_get_num_threads();
        fn(w, x, ldx, n, y, ldy, (int64_t)ith * w->rows / nth, (int64_t)(ith + 1) * w->rows / nth);
#pragma omp barrier
        return;
    }
    int par = (uint64_t)w->rows * (uint64_t)w->cols * (uint64_t)n >= KERN_FP8_PAR_MIN_BYTES;
#pragma omp parallel if (par)
    {
        int ith = omp_get_thread_num(), nth = omp_get_num_threads();
        fn(w, x, ldx, n, y, ldy, (int64_t)ith * w->rows / nth, (int64_t)(ith + 1) * w->rows / nth);
    }
}

void kern_fp8_get_row(const struct kern_fp8_mat *w, int64_t r, float *y) {
    const uint8_t *wr = w->data + (size_t)r * (size_t)w->cols;
    const float *sr = w->scale + (size_t)((w->row0 + r) / w->blk_r) * (size_t)w->scale_ld;
    for (int64_t c = 0; c < w->cols; c++) y[c] = kern_fp8_decode(wr[c]) * sr[c / w->blk_c];
}

uint64_t kern_fp8_bytes(const struct kern_fp8_mat *w) {
    uint64_t block_rows = (uint64_t)((w->rows + w->blk_r - 1) / w->blk_r);
    return (uint64_t)w->rows * (uint64_t)w->cols + block_rows * (uint64_t)w->scale_ld * sizeof(float);
}
