/*
 * bench_kern.c - times kern_matmul per weight type and kernel variant.
 *
 *   bench_kern [--rows R] [--cols C] [--types Q4_0,Q8_0,...] [--ns 64,512] [--ref-prompt]
 *
 * Decode (n = 1): Y = X W^T over a pool of copies of the matrix (1 GB,
 * far past the L3), cycled so every call streams its weights from DRAM;
 * prints ms per call, GB/s of weights read, the fraction of the measured
 * read bandwidth, and GFLOP/s.  Prompt (n = 64, 512): one matrix, prints
 * ms and GFLOP/s (2 * rows * cols * n flops).  Rates use the fastest call;
 * the n = 1 median is printed too (the machine may be shared).  --ns sets the
 * batch sizes timed after n = 1 (default 64,512; small ones such as 2,4,8
 * show the concurrent-decode regime; 1 times a decode call on one matrix that
 * stays in the L3, i.e. the kernel's compute ceiling for a GEMV).  The reference kernels are timed at
 * n = 1 only unless --ref-prompt (at n = 512 they take seconds).
 * Threads: OMP_NUM_THREADS.
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "kern.h"

#define POOL_BYTES ((size_t)1 << 30) /* 32x the L3 of the machine we report */

static void *bench_alloc(size_t n) {
    void *p = aligned_alloc(64, (n + 63) & ~(size_t)63);
    if (!p) {
        fprintf(stderr, "bench_kern: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static uint64_t rng_state = 88172645463325252ull;
static float bench_randf(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static int bench_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Memory bandwidth measured the way the matmuls are: a 1 GB buffer is walked
 * in 16 MB chunks, each chunk split over the threads (one parallel region
 * per chunk), and the fastest chunk counts.  mode 0: read (every line);
 * mode 1: memcpy into a second buffer (bytes copied per second). */
static double bench_mem_bw(int mode) {
    const size_t total = POOL_BYTES, chunk = (size_t)16 << 20;
    char *a = bench_alloc(total), *b = mode ? bench_alloc(chunk) : NULL;
    memset(a, 1, total);
    if (b) memset(b, 0, chunk);
    double best = 1e30;
    uint64_t sink = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t off = 0; off < total; off += chunk) {
            const char *src = a + off;
            double t0 = omp_get_wtime();
#pragma omp parallel reduction(+ : sink)
            {
                size_t nth = (size_t)omp_get_num_threads(), ith = (size_t)omp_get_thread_num();
                size_t lo = chunk / 64 * ith / nth * 64, hi = chunk / 64 * (ith + 1) / nth * 64;
                if (mode) {
                    memcpy(b + lo, src + lo, hi - lo);
                } else {
                    /* one 8-byte load per 64-byte line: the line still comes
                     * whole from DRAM, and few load slots per line leave the
                     * core as many lines in flight as it can track */
                    const uint64_t *q = (const uint64_t *)(src + lo), *e = (const uint64_t *)(src + hi);
                    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                    for (; q + 32 <= e; q += 32) {
                        s0 += q[0];
                        s1 += q[8];
                        s2 += q[16];
                        s3 += q[24];
                    }
                    sink += s0 + s1 + s2 + s3;
                }
            }
            double t = omp_get_wtime() - t0;
            if (t < best) best = t;
        }
    }
    if (sink == 42 || (b && b[123] != 1)) printf("!"); /* keep the work alive */
    free(a), free(b);
    return (double)chunk / best / 1e9;
}

/* Runs matmuls (cycling over n_mats matrices) for at least min_s seconds and
 * min_reps calls; returns the fastest call's seconds and stores the median
 * in *median.  On a shared machine a call can lose its core for a scheduler
 * tick; the fastest call is what the kernels do when they have the cores. */
static double bench_time(const struct kern_ops *ops, struct kern_mat *mats, int n_mats, const float *x,
                         int64_t n, float *y, void *scr, double min_s, int min_reps, double *median) {
    enum { MAX_REPS = 4096 };
    static double times[MAX_REPS];
    /* warm up on the last matrix, so the first timed call (matrix 0) does not
     * find its weights in the L3 */
    struct kern_mat *wu = &mats[n_mats - 1];
    kern_matmul_ops(ops, wu, x, wu->cols, n, y, wu->rows, scr);
    int reps = 0;
    double t_start = omp_get_wtime();
    do {
        struct kern_mat *m = &mats[reps % n_mats];
        double t0 = omp_get_wtime();
        kern_matmul_ops(ops, m, x, m->cols, n, y, m->rows, scr);
        times[reps++] = omp_get_wtime() - t0;
    } while (reps < MAX_REPS && (omp_get_wtime() - t_start < min_s || reps < min_reps));
    qsort(times, (size_t)reps, sizeof(double), bench_cmp);
    *median = times[reps / 2];
    return times[0];
}

int main(int argc, char **argv) {
    int64_t rows = 4096, cols = 4096;
    const char *types_arg = "F32,F16,BF16,Q8_0,Q4_0,Q4_1,Q4_K,Q5_K,Q6_K";
    const char *ns_arg = "64,512";
    int ref_prompt = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) rows = atoll(argv[++i]);
        else if (strcmp(argv[i], "--cols") == 0 && i + 1 < argc) cols = atoll(argv[++i]);
        else if (strcmp(argv[i], "--types") == 0 && i + 1 < argc) types_arg = argv[++i];
        else if (strcmp(argv[i], "--ns") == 0 && i + 1 < argc) ns_arg = argv[++i];
        else if (strcmp(argv[i], "--ref-prompt") == 0) ref_prompt = 1;
        else {
            fprintf(stderr, "usage: %s [--rows R] [--cols C] [--types T1,T2] [--ns N1,N2] [--ref-prompt]\n", argv[0]);
            return 2;
        }
    }
    enum { MAX_NS = 8 };
    int64_t ns[MAX_NS];
    int n_ns = 0;
    {
        char nl[128];
        snprintf(nl, sizeof(nl), "%s", ns_arg);
        for (char *tok = strtok(nl, ","); tok && n_ns < MAX_NS; tok = strtok(NULL, ",")) {
            long long v = atoll(tok);
            if (v < 1 || v > 4096) {
                fprintf(stderr, "bench_kern: --ns values must be 1..4096\n");
                return 2;
            }
            ns[n_ns++] = v;
        }
    }
    if (rows <= 0 || cols <= 0 || cols % 256 != 0) {
        fprintf(stderr, "bench_kern: rows > 0 and cols a multiple of 256 needed\n");
        return 2;
    }
    kern_init();
    const struct kern_ops *variants[3];
    int n_var = 0;
    variants[n_var++] = &kern_ops_ref;
    if (kern_cpu_has(KERN_ISA_AVX2)) variants[n_var++] = &kern_ops_avx2;
    if (kern_cpu_has(KERN_ISA_AVX512)) variants[n_var++] = &kern_ops_avx512;

    int nth = omp_get_max_threads();
    double rbw = bench_mem_bw(0), cbw = bench_mem_bw(1);
    printf("# kern_matmul %lld x %lld, %d threads; read bandwidth %.1f GB/s, memcpy %.1f GB/s\n",
           (long long)rows, (long long)cols, nth, rbw, cbw);
    printf("# %-5s %-6s | n=1: %7s %7s %7s %6s %8s", "type", "kern", "ms", "med ms", "GB/s", "of bw", "GFLOP/s");
    for (int k = 0; k < n_ns; k++) printf(" | n=%lld: %8s %8s", (long long)ns[k], "ms", "GFLOP/s");
    printf("\n");

    int64_t nmax = 1;
    for (int k = 0; k < n_ns; k++) nmax = ns[k] > nmax ? ns[k] : nmax;
    float *x = bench_alloc((size_t)(nmax * cols) * sizeof(float));
    float *y = bench_alloc((size_t)(nmax * rows) * sizeof(float));
    for (int64_t i = 0; i < nmax * cols; i++) x[i] = bench_randf();
    float *wsrc = bench_alloc((size_t)cols * sizeof(float));

    char list[256];
    snprintf(list, sizeof(list), "%s", types_arg);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        int type = dtype_from_name(tok);
        if (type < 0 || kern_act_type(type) < 0) {
            fprintf(stderr, "bench_kern: no kernel for type %s\n", tok);
            continue;
        }
        /* the machine may be shared: re-measure, keep the best seen */
        double rb_now = bench_mem_bw(0);
        if (rb_now > rbw) rbw = rb_now;
        size_t mbytes = (size_t)dtype_row_bytes(type, cols) * (size_t)rows;
        int n_mats = (int)((POOL_BYTES + mbytes - 1) / mbytes);
        uint8_t *pool = bench_alloc(mbytes * (size_t)n_mats);
        for (int64_t r = 0; r < rows; r++) { /* one realistic matrix, then copies */
            for (int64_t c = 0; c < cols; c++) wsrc[c] = bench_randf() * 0.05f;
            if (kern_quantize_row_ref(type, wsrc, pool + (size_t)r * (mbytes / (size_t)rows), cols)) return 1;
        }
        struct kern_mat *mats = calloc((size_t)n_mats, sizeof(*mats));
        if (!mats) return 1;
        for (int i = 0; i < n_mats; i++) {
            if (i > 0) memcpy(pool + mbytes * (size_t)i, pool, mbytes);
            mats[i] = (struct kern_mat){type, pool + mbytes * (size_t)i, rows, cols, NULL};
        }
        void *scr = bench_alloc(kern_matmul_scratch(&mats[0], nmax));
        /* the same pool packed for the active variant (kern_pack), timed as
         * one more row when it has a packed form for the type */
        const size_t pbytes = kern_pack_bytes(&mats[0]);
        uint8_t *ppool = pbytes ? bench_alloc(pbytes * (size_t)n_mats) : NULL;
        struct kern_mat *pmats = pbytes ? calloc((size_t)n_mats, sizeof(*pmats)) : NULL;
        if (pbytes && !pmats) return 1;
        for (int i = 0; pbytes && i < n_mats; i++) {
            if (i == 0) kern_pack(&mats[0], ppool);
            else memcpy(ppool + pbytes * (size_t)i, ppool, pbytes);
            pmats[i] = mats[i];
            pmats[i].pk = ppool + pbytes * (size_t)i;
        }
        for (int v = 0; v < n_var + (pbytes ? 1 : 0); v++) {
            const int packed = v == n_var;
            const struct kern_ops *ops = packed ? kern_active() : variants[v];
            struct kern_mat *cur = packed ? pmats : mats;
            double med, med2;
            double t1 = bench_time(ops, cur, n_mats, x, 1, y, scr, 0.5, 2 * n_mats, &med);
            double gbs = (double)mbytes / t1 / 1e9, fl = 2.0 * (double)rows * (double)cols;
            printf("  %-5s %-6s | n=1: %7.3f %7.3f %7.2f %5.0f%% %8.2f", dtype_name(type), packed ? "packed" : ops->name,
                   t1 * 1e3,
                   med * 1e3, gbs, 100.0 * gbs / rbw, fl / t1 / 1e9);
            if (v == 0 && !ref_prompt) {
                printf(" | (batched: --ref-prompt)\n");
                continue;
            }
            for (int k = 0; k < n_ns; k++) {
                double tk = bench_time(ops, cur, 1, x, ns[k], y, scr, 0.3, 2, &med2);
                printf(" | n=%lld: %8.2f %8.2f", (long long)ns[k], tk * 1e3, (double)ns[k] * fl / tk / 1e9);
            }
            printf("\n");
            fflush(stdout);
        }
        free(pmats), free(ppool);
        free(scr), free(mats), free(pool);
    }
    printf("# best read bandwidth seen: %.1f GB/s (\"of bw\" is against the best seen so far)\n", rbw);
    free(x), free(y), free(wsrc);
    return 0;
}
