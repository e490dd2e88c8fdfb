/*
 * kern.c - kernel dispatch (CPUID + XGETBV, DEEPC_KERNELS) and the threaded
 * matmul driver over a kern_ops table (see kern.h).
 *
 * kern_matmul(W [rows x cols], X [n x cols]) -> Y [n x rows]:
 *   1. the n activation rows are quantized to the weight type's activation
 *      type into scratch (row stride = act row bytes rounded up to 64); f32
 *      activation rows are used in place;
 *   2. the weight rows are split into one contiguous range per thread; each
 *      thread walks its range in tiles of KERN_TILE_ROWS rows and, for each
 *      tile, loops over all n tokens, so a weight row comes from memory once
 *      and is re-read from L1/L2 for the other tokens.  Where the variant
 *      has a multi-token dot (kern_impl.h), tokens go four at a time through
 *      it, so a weight row is also decoded once per four tokens.
 */
#include "kern.h"

#include <cpuid.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "err.h"
#include "kern_impl.h"

/* Rows per tile: 16 rows of a 7168-wide Q8_0 matrix are 122 KB, which stays
 * in L2 while the tile is dotted with every token's activation row. */
#define KERN_TILE_ROWS 16
/* Below this many weight bytes a matmul runs on the calling thread alone:
 * waking the team costs more than the work. */
#define KERN_PAR_MIN_BYTES (64 * 1024)

static struct kern_ops kern_active_ops;
static int64_t kern_pf1_default; /* kern_stream_prefetch's default, set at kern_init */
static int kern_cpu_intel(void);
static pthread_once_t kern_once = PTHREAD_ONCE_INIT;

/* ------------------------------------------------------------- CPU features */

static uint64_t kern_xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

int kern_cpu_has(enum kern_isa isa) {
    if (isa == KERN_ISA_REF) return 1;
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const unsigned osxsave = 1u << 27, avx = 1u << 28, fma = 1u << 12, f16c = 1u << 29;
    if ((c & (osxsave | avx | fma | f16c)) != (osxsave | avx | fma | f16c)) return 0;
    /* the OS must save XMM and YMM state (XCR0 bits 1, 2) */
    uint64_t xcr0 = kern_xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return 0;
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    const unsigned avx2 = 1u << 5;
    if (!(b & avx2)) return 0;
    if (isa == KERN_ISA_AVX2) return 1;
    if (isa != KERN_ISA_AVX512) return 0;
    /* AVX-512 F, DQ, BW, VL (leaf 7 EBX), VNNI (ECX bit 11), BF16 (leaf 7.1 EAX
     * bit 5), and the OS saving opmask + ZMM state (XCR0 bits 5, 6, 7). */
    const unsigned f = 1u << 16, dq = 1u << 17, bw = 1u << 30, vl = 1u << 31;
    if ((b & (f | dq | bw | vl)) != (f | dq | bw | vl)) return 0;
    if (!(c & (1u << 11))) return 0;
    if ((xcr0 & 0xe0) != 0xe0) return 0;
    unsigned max_sub = a;
    if (max_sub < 1) return 0;
    __cpuid_count(7, 1, a, b, c, d);
    if (!(a & (1u << 5))) return 0;
    return 1;
}

/* ----------------------------------------------------------------- dispatch */

/* Copies `v` into the active table, filling its NULL slots from the ref. */
static void kern_merge(const struct kern_ops *v) {
    kern_active_ops = kern_ops_ref;
    kern_active_ops.name = v->name;
    for (int i = 0; i < KERN_N_TYPES; i++) {
        if (v->vec_dot[i]) kern_active_ops.vec_dot[i] = v->vec_dot[i];
        if (v->quantize[i]) kern_active_ops.quantize[i] = v->quantize[i];
        if (v->to_float[i]) kern_active_ops.to_float[i] = v->to_float[i];
    }
    if (v->swiglu) kern_active_ops.swiglu = v->swiglu;
}

static void kern_init_once(void) {
    enum kern_isa best = kern_cpu_has(KERN_ISA_AVX512) ? KERN_ISA_AVX512
                         : kern_cpu_has(KERN_ISA_AVX2) ? KERN_ISA_AVX2
                                                       : KERN_ISA_REF;
    enum kern_isa use = best;
    const char *env = getenv("DEEPC_KERNELS");
    if (env && *env) {
        enum kern_isa want;
        if (strcmp(env, "ref") == 0) want = KERN_ISA_REF;
        else if (strcmp(env, "avx2") == 0) want = KERN_ISA_AVX2;
        else if (strcmp(env, "avx512") == 0) want = KERN_ISA_AVX512;
        else {
            fprintf(stderr, "deepc: DEEPC_KERNELS=%s is not one of ref, avx2, avx512; using the best\n",
                    env);
            want = best;
        }
        if (kern_cpu_has(want)) {
            use = want;
        } else {
            fprintf(stderr, "deepc: DEEPC_KERNELS=%s is not supported by this CPU; using the best\n", env);
        }
    }
    const struct kern_ops *v = use == KERN_ISA_AVX512 ? &kern_ops_avx512
                               : use == KERN_ISA_AVX2 ? &kern_ops_avx2
                                                      : &kern_ops_ref;
    kern_merge(v);
    const char *pe = getenv("DEEPC_MM_PIECE");
    if (pe && *pe) kern_set_piece_bytes(atoll(pe));
    kern_pf1_default = kern_cpu_intel() ? 2048 : 0;
    const char *pp = getenv("DEEPC_PREFETCH");
    if (pp && *pp) kern_set_stream_prefetch(atoll(pp));
}

void kern_init(void) { pthread_once(&kern_once, kern_init_once); }

const struct kern_ops *kern_active(void) {
    kern_init();
    return &kern_active_ops;
}

int kern_act_type(int wtype) {
    switch (wtype) {
    case DT_F32:
    case DT_F16:
    case DT_BF16: return DT_F32;
    case DT_Q4_0:
    case DT_Q8_0: return DT_Q8_0;
    case DT_Q4_1: return DT_Q8_1;
    case DT_Q4_K:
    case DT_Q5_K:
    case DT_Q6_K: return DT_Q8_K;
    default: return -1;
    }
}

/* ------------------------------------------------------------------ matmul */

/* Bytes between quantized activation rows in scratch (0 for f32 rows, which
 * are used in place). */
static size_t kern_act_stride(const struct kern_mat *w) {
    int at = kern_act_type(w->type);
    if (at < 0 || at == DT_F32) return 0;
    int64_t rb = dtype_row_bytes(at, w->cols);
    return rb < 0 ? 0 : ((size_t)rb + 63) & ~(size_t)63; /* rb < 0: not kern_mat_ok, never used */
}

size_t kern_matmul_scratch(const struct kern_mat *w, int64_t n) {
    size_t s = kern_act_stride(w) * (size_t)(n > 0 ? n : 0);
    return s < 64 ? 64 : s; /* never 0, so callers can allocate it plainly */
}

/* Thread ith's share of the activation rows of x quantized for w into scratch
 * (then a barrier, so every thread sees all rows); returns the rows the dot
 * products read and their stride (x itself for f32 activations).  ready: the
 * calling thread quantized them all before the region (no work, no barrier). */
static const uint8_t *kern_act_prep(const struct kern_ops *ops, const struct kern_mat *w, const float *x, int64_t ldx,
                                    int64_t n, void *scratch, int ith, int nth, int ready, size_t *xstride) {
    const int at = kern_act_type(w->type);
    if (at == DT_F32) {
        *xstride = (size_t)ldx * sizeof(float);
        return (const uint8_t *)x;
    }
    const size_t xs = kern_act_stride(w);
    *xstride = xs;
    if (ready) return scratch;
    kern_quantize_fn q = ops->quantize[at] ? ops->quantize[at] : kern_ops_ref.quantize[at];
    for (int64_t t = (int64_t)ith * n / nth; t < (int64_t)(ith + 1) * n / nth; t++)
        q(x + t * ldx, (uint8_t *)scratch + (size_t)t * xs, w->cols);
    if (nth > 1) {
#pragma omp barrier
    }
    return scratch;
}

/* Up to this many activation rows are quantized by the calling thread before
 * a parallel region opens (a decode step's one row takes ~1 us), which saves
 * the region its barrier between quantizing and the products. */
#define KERN_PREP_SERIAL_ROWS 2

/* Row groups [g0, g1) of w (KERN_MM_ROWS rows each) through the AVX-512
 * whole-matrix kernel of its type, packed tiles when w has them. */
static void kern_mm_groups(const struct kern_mat *w, const uint8_t *xq, size_t xstride, int64_t n, float *y,
                           int64_t ldy, int64_t g0, int64_t g1) {
    if (g1 <= g0) return;
    const int wt = w->type, pk = w->pk && kern_pack_avx512[wt].tile_bytes;
    const struct kern_mm_job job = {w->data, (size_t)dtype_row_bytes(wt, w->cols), w->cols, xq, xstride, n, y, ldy,
                                    pk ? w->pk : NULL, pk ? kern_pack_avx512[wt].tile_bytes(w->cols) : 0,
                                    pk && n == 1 ? (size_t)kern_stream_prefetch() : 0};
    kern_mm_avx512[wt](&job, g0 * KERN_MM_ROWS, g1 * KERN_MM_ROWS < w->rows ? g1 * KERN_MM_ROWS : w->rows);
}

/* Row groups [g0, g1) of the matrices w[0..nm) taken as one list (matrix i's
 * groups after those of w[0..i)). */
static void kern_mm_list(int nm, const struct kern_mat *w, const uint8_t *xq, size_t xstride, int64_t n,
                         float *const *y, const int64_t *ldy, int64_t g0, int64_t g1) {
    int64_t off = 0;
    for (int i = 0; i < nm && off < g1; i++) {
        const int64_t gi = (w[i].rows + KERN_MM_ROWS - 1) / KERN_MM_ROWS;
        kern_mm_groups(&w[i], xq, xstride, n, y[i], ldy[i], g0 > off ? g0 - off : 0, g1 - off < gi ? g1 - off : gi);
        off += gi;
    }
}

/* Row groups shared out with stealing.  Each thread owns a contiguous range
 * (the static split) and walks it from the front in pieces it claims one at a
 * time; a thread that has finished its own takes pieces from the back of
 * another's.  A thread's DRAM stream stays one forward run until its end,
 * where the faster thread takes over the rest instead of waiting at the
 * region's barrier (the two halves of a matrix rarely stream at the same
 * rate).  Every group goes through the same kernel whoever runs it, so the
 * bits do not depend on the split.  A range is two 32-bit bounds in one word
 * (lo, hi), changed only by compare-and-swap. */
#define KERN_STEAL_MAX_THREADS 64
struct kern_steal {
    struct {
        _Alignas(64) _Atomic uint64_t r;
    } t[KERN_STEAL_MAX_THREADS];
};

static inline uint64_t kern_steal_pack(int64_t lo, int64_t hi) { return (uint64_t)lo << 32 | (uint64_t)hi; }

/* Claims groups from the front (owner) or the back (thief) of range i;
 * returns the count (0: empty) and the first group in *g.  An owner takes all
 * but a reserve of max(piece, 1/8 of what is left), so it makes two or three
 * calls per matrix (each call prepares the activations again); a thief takes
 * half of what is left.  Both take at least a piece, and take the rest when
 * less than a piece would stay behind. */
static int64_t kern_steal_take(struct kern_steal *st, int i, int64_t piece, int back, int64_t *g) {
    uint64_t w = atomic_load_explicit(&st->t[i].r, memory_order_relaxed);
    for (;;) {
        const int64_t lo = (int64_t)(w >> 32), hi = (int64_t)(w & 0xffffffffu), rem = hi - lo;
        if (rem <= 0) return 0;
        int64_t k = back ? rem / 2 : rem - (rem / 8 > piece ? rem / 8 : piece);
        if (k < piece) k = piece;
        if (rem - k < piece) k = rem;
        const uint64_t nw = back ? kern_steal_pack(lo, hi - k) : kern_steal_pack(lo + k, hi);
        if (atomic_compare_exchange_weak_explicit(&st->t[i].r, &w, nw, memory_order_relaxed, memory_order_relaxed)) {
            *g = back ? hi - k : lo;
            return k;
        }
    }
}

/* Sets the ranges for a team of nth threads (the static split of ng groups)
 * before the region opens; returns the groups per claim for w (~KERN_PIECE_BYTES
 * of weights), 0 when stealing is off (one thread, or too many). */
#define KERN_PIECE_BYTES ((int64_t)96 * 1024)
static _Atomic int64_t kern_piece_bytes = KERN_PIECE_BYTES;
static _Atomic int64_t kern_steals;

int64_t kern_steal_count(void) { return atomic_load_explicit(&kern_steals, memory_order_relaxed); }

/* One-token stream prefetch (kern.h): -1 the CPU's default */
static _Atomic int64_t kern_pf1 = -1;

/* 1 if the CPU's vendor is Intel (cpuid leaf 0 "GenuineIntel") */
static int kern_cpu_intel(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return 0;
    char v[12];
    memcpy(v, &b, 4), memcpy(v + 4, &d, 4), memcpy(v + 8, &c, 4);
    return memcmp(v, "GenuineIntel", 12) == 0;
}

void kern_set_stream_prefetch(int64_t bytes) {
    atomic_store_explicit(&kern_pf1, bytes < 0 ? -1 : bytes, memory_order_relaxed);
}

int64_t kern_stream_prefetch(void) {
    kern_init();
    const int64_t v = atomic_load_explicit(&kern_pf1, memory_order_relaxed);
    return v >= 0 ? v : kern_pf1_default;
}

void kern_set_piece_bytes(int64_t bytes) {
    atomic_store_explicit(&kern_piece_bytes, bytes < 0 ? KERN_PIECE_BYTES : bytes, memory_order_relaxed);
}

static int64_t kern_steal_init(struct kern_steal *st, int64_t ng, int nth, int nm, const struct kern_mat *w) {
    const int64_t pb = atomic_load_explicit(&kern_piece_bytes, memory_order_relaxed);
    if (pb <= 0 || nth < 2 || nth > KERN_STEAL_MAX_THREADS || ng >= ((int64_t)1 << 31)) return 0;
    for (int i = 0; i < nth; i++)
        atomic_store_explicit(&st->t[i].r, kern_steal_pack((int64_t)i * ng / nth, (int64_t)(i + 1) * ng / nth),
                              memory_order_relaxed);
    int64_t bytes = 0;
    for (int i = 0; i < nm; i++) bytes += dtype_row_bytes(w[i].type, w[i].cols) * w[i].rows;
    const int64_t gb = bytes / ng + 1, piece = pb / gb;
    return piece > 1 ? piece : 1;
}

/* Thread ith's part of the ng groups of the list (nth threads, as planned by
 * kern_steal_init; the region's fork orders its stores before these loads). */
static void kern_steal_run(struct kern_steal *st, int64_t piece, int nm, const struct kern_mat *w, const uint8_t *xq,
                           size_t xstride, int64_t n, float *const *y, const int64_t *ldy, int ith, int nth) {
    int64_t g, k;
    while ((k = kern_steal_take(st, ith, piece, 0, &g)) > 0) kern_mm_list(nm, w, xq, xstride, n, y, ldy, g, g + k);
    for (int v = 1; v < nth; v++) {
        const int j = (ith + v) % nth;
        while ((k = kern_steal_take(st, j, piece, 1, &g)) > 0) {
            atomic_fetch_add_explicit(&kern_steals, 1, memory_order_relaxed);
            kern_mm_list(nm, w, xq, xstride, n, y, ldy, g, g + k);
        }
    }
}

/* The part of the matmul done by thread ith of nth; all nth threads of the
 * team must call it (it holds a barrier between quantizing and dotting). */
static void kern_matmul_thread(const struct kern_ops *ops, const struct kern_mat *w, const float *x,
                               int64_t ldx, int64_t n, float *y, int64_t ldy, void *scratch, int ready,
                               struct kern_steal *st, int64_t piece, int ith, int nth) {
    const int wt = w->type;
    kern_vec_dot_fn dot = ops->vec_dot[wt] ? ops->vec_dot[wt] : kern_ops_ref.vec_dot[wt];
    size_t xstride;
    const uint8_t *xq = kern_act_prep(ops, w, x, ldx, n, scratch, ith, nth, ready, &xstride);
    const size_t wrb = (size_t)dtype_row_bytes(wt, w->cols);
    /* the whole-matrix kernel of the variant whose vec_dot this is (same
     * bits); rows split between threads in groups of KERN_MM_ROWS */
    if (dot == kern_ops_avx512.vec_dot[wt] && kern_mm_avx512[wt]) {
        const int64_t ng = (w->rows + KERN_MM_ROWS - 1) / KERN_MM_ROWS;
        if (piece > 0) kern_steal_run(st, piece, 1, w, xq, xstride, n, &y, &ldy, ith, nth);
        else kern_mm_groups(w, xq, xstride, n, y, ldy, (int64_t)ith * ng / nth, (int64_t)(ith + 1) * ng / nth);
        return;
    }
    const int64_t r_begin = (int64_t)ith * w->rows / nth, r_end = (int64_t)(ith + 1) * w->rows / nth;
    for (int64_t r0 = r_begin; r0 < r_end; r0 += KERN_TILE_ROWS) {
        int64_t r1 = r0 + KERN_TILE_ROWS < r_end ? r0 + KERN_TILE_ROWS : r_end;
        for (int64_t t = 0; t < n; t++) {
            const uint8_t *xt = xq + (size_t)t * xstride;
            float *yt = y + t * ldy;
            for (int64_t r = r0; r < r1; r++)
                yt[r] = dot(w->cols, (const uint8_t *)w->data + (size_t)r * wrb, xt);
        }
    }
}

int kern_mat_ok(const struct kern_mat *w) {
    return kern_act_type(w->type) >= 0 && w->rows >= 0 && w->cols >= 0 &&
           dtype_row_bytes(w->type, w->cols) >= 0;
}

/* The outputs of a matrix that fails kern_mat_ok: NaN, so the error shows. */
static void kern_nan_rows(int64_t n, int64_t rows, float *y, int64_t ldy) {
    for (int64_t t = 0; t < n; t++)
        for (int64_t r = 0; r < rows; r++) y[t * ldy + r] = NAN;
}

void kern_matmul_ops(const struct kern_ops *ops, const struct kern_mat *w, const float *x,
                     int64_t ldx, int64_t n, float *y, int64_t ldy, void *scratch) {
    if (n <= 0 || w->rows <= 0) return;
    if (!kern_mat_ok(w)) {
        if (!omp_in_parallel()) {
            kern_nan_rows(n, w->rows, y, ldy);
            return;
        }
#pragma omp single
        kern_nan_rows(n, w->rows, y, ldy);
        return; /* the single's barrier: every thread sees Y */
    }
    if (omp_in_parallel()) {
        /* Called by every thread of an enclosing team: split by thread id,
         * and make the whole Y visible to all of them before returning. */
        kern_matmul_thread(ops, w, x, ldx, n, y, ldy, scratch, 0, NULL, 0, omp_get_thread_num(),
                           omp_get_num_threads());
#pragma omp barrier
        return;
    }
    size_t wbytes = (size_t)dtype_row_bytes(w->type, w->cols) * (size_t)w->rows;
    int par = wbytes * (size_t)n >= KERN_PAR_MIN_BYTES;
    const int ready = par && n <= KERN_PREP_SERIAL_ROWS;
    size_t xs;
    if (ready) kern_act_prep(ops, w, x, ldx, n, scratch, 0, 1, 0, &xs);
    struct kern_steal st;
    const int nth = par ? omp_get_max_threads() : 1;
    const int64_t piece = kern_steal_init(&st, (w->rows + KERN_MM_ROWS - 1) / KERN_MM_ROWS, nth, 1, w);
#pragma omp parallel if (par)
    kern_matmul_thread(ops, w, x, ldx, n, y, ldy, scratch, ready, &st,
                       omp_get_num_threads() == nth ? piece : 0, omp_get_thread_num(), omp_get_num_threads());
}

void kern_matmul_local(const struct kern_ops *ops, const struct kern_mat *w, const float *x, int64_t ldx,
                       int64_t n, float *y, int64_t ldy, void *scratch) {
    if (n <= 0 || w->rows <= 0) return;
    if (!kern_mat_ok(w)) {
        kern_nan_rows(n, w->rows, y, ldy);
        return;
    }
    kern_matmul_thread(ops, w, x, ldx, n, y, ldy, scratch, 0, NULL, 0, 0, 1); /* nth = 1: no barrier */
}

/* Thread ith's part of kern_matmul_multi (every matrix fused: see there). */
static void kern_multi_thread(const struct kern_ops *ops, int nm, const struct kern_mat *w, const float *x,
                              int64_t ldx, int64_t n, float *const *y, const int64_t *ldy, void *scratch, int ready,
                              struct kern_steal *st, int64_t piece, int ith, int nth) {
    size_t xstride;
    const uint8_t *xq = kern_act_prep(ops, &w[0], x, ldx, n, scratch, ith, nth, ready, &xstride);
    int64_t ng = 0;
    for (int i = 0; i < nm; i++) ng += (w[i].rows + KERN_MM_ROWS - 1) / KERN_MM_ROWS;
    if (piece > 0) kern_steal_run(st, piece, nm, w, xq, xstride, n, y, ldy, ith, nth);
    else kern_mm_list(nm, w, xq, xstride, n, y, ldy, (int64_t)ith * ng / nth, (int64_t)(ith + 1) * ng / nth);
}

void kern_matmul_multi(const struct kern_ops *ops, int nm, const struct kern_mat *w, const float *x, int64_t ldx,
                       int64_t n, float *const *y, const int64_t *ldy, void *scratch) {
    int fuse = nm > 1 && n > 0 && !omp_in_parallel();
    for (int i = 0; i < nm && fuse; i++) {
        const int wt = w[i].type;
        const kern_vec_dot_fn dot = ops->vec_dot[wt] ? ops->vec_dot[wt] : kern_ops_ref.vec_dot[wt];
        fuse = kern_mat_ok(&w[i]) && w[i].rows > 0 && kern_act_type(w[i].type) == kern_act_type(w[0].type) &&
               w[i].cols == w[0].cols &&
               dot == kern_ops_avx512.vec_dot[wt] && kern_mm_avx512[wt];
    }
    size_t bytes = 0;
    for (int i = 0; i < nm && fuse; i++) bytes += (size_t)dtype_row_bytes(w[i].type, w[i].cols) * (size_t)w[i].rows;
    if (!fuse || bytes * (size_t)n < KERN_PAR_MIN_BYTES) {
        for (int i = 0; i < nm; i++) kern_matmul_ops(ops, &w[i], x, ldx, n, y[i], ldy[i], scratch);
        return;
    }
    const int ready = n <= KERN_PREP_SERIAL_ROWS;
    size_t xs;
    if (ready) kern_act_prep(ops, &w[0], x, ldx, n, scratch, 0, 1, 0, &xs);
    int64_t ng = 0;
    for (int i = 0; i < nm; i++) ng += (w[i].rows + KERN_MM_ROWS - 1) / KERN_MM_ROWS;
    struct kern_steal st;
    const int nth = omp_get_max_threads();
    const int64_t piece = kern_steal_init(&st, ng, nth, nm, w);
#pragma omp parallel
    kern_multi_thread(ops, nm, w, x, ldx, n, y, ldy, scratch, ready, &st, omp_get_num_threads() == nth ? piece : 0,
                      omp_get_thread_num(), omp_get_num_threads());
}

void kern_matmul(const struct kern_mat *w, const float *x, int64_t ldx, int64_t n, float *y,
                 int64_t ldy, void *scratch) {
    kern_matmul_ops(kern_active(), w, x, ldx, n, y, ldy, scratch);
}

/* The packer of the active variant for w, or NULL. */
static const struct kern_packer *kern_packer_of(const struct kern_mat *w) {
    if (!kern_mat_ok(w) || w->rows <= 0 || w->cols <= 0) return NULL;
    const struct kern_ops *a = kern_active();
    if (!a->vec_dot[w->type] || a->vec_dot[w->type] != kern_ops_avx512.vec_dot[w->type]) return NULL;
    const struct kern_packer *p = &kern_pack_avx512[w->type];
    return p->tile_bytes && p->pack_tile && kern_mm_avx512[w->type] ? p : NULL;
}

size_t kern_pack_tile_bytes(const struct kern_mat *w) {
    const struct kern_packer *p = kern_packer_of(w);
    return p ? p->tile_bytes(w->cols) : 0;
}

size_t kern_pack_bytes(const struct kern_mat *w) {
    return kern_pack_tile_bytes(w) * (size_t)((w->rows + KERN_MM_ROWS - 1) / KERN_MM_ROWS);
}

void kern_pack(const struct kern_mat *w, void *dst) {
    const struct kern_packer *p = kern_packer_of(w);
    if (!p) return;
    const size_t tb = p->tile_bytes(w->cols), wrb = (size_t)dtype_row_bytes(w->type, w->cols);
    for (int64_t r = 0; r < w->rows; r += KERN_MM_ROWS) {
        const int nr = (int)(w->rows - r < KERN_MM_ROWS ? w->rows - r : KERN_MM_ROWS);
        p->pack_tile((const uint8_t *)w->data + (size_t)r * wrb, wrb, nr, w->cols,
                     (uint8_t *)dst + (size_t)(r / KERN_MM_ROWS) * tb);
    }
}

void kern_swiglu(float *g, const float *u, int64_t n) {
    const kern_swiglu_fn fn = kern_active()->swiglu;
    if (n < 32768 || omp_in_parallel() || omp_get_max_threads() < 2) {
        fn(g, u, n);
        return;
    }
#pragma omp parallel
    {
        const int64_t nt = omp_get_num_threads(), id = omp_get_thread_num();
        const int64_t per = ((n + nt - 1) / nt + 15) / 16 * 16, a = id * per, b = n - a < per ? n : a + per;
        if (a < b) fn(g + a, u + a, b - a);
    }
}

void kern_get_row(const struct kern_mat *w, int64_t r, float *y) {
    const struct kern_ops *ops = kern_active();
    kern_to_float_fn f = kern_mat_ok(w) ? ops->to_float[w->type] : NULL;
    if (!f || r < 0 || r >= w->rows) {
        kern_nan_rows(1, w->cols > 0 ? w->cols : 0, y, 0);
        return;
    }
    size_t rb = (size_t)dtype_row_bytes(w->type, w->cols);
    f((const uint8_t *)w->data + (size_t)r * rb, y, w->cols);
}
