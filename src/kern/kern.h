/*
 * kern.h - matrix kernels over every weight type, chosen once at run time.
 *
 * The central operation of inference is Y = X * W^T: W is a weight matrix of
 * `rows` rows of `cols` elements stored in one of the GGUF block types (a view
 * into the model file), X is `n` activation rows of `cols` floats, Y is `n`
 * rows of `rows` floats.  For types that pair with 8-bit activations (Q4_0,
 * Q8_0 -> Q8_0; Q4_1 -> Q8_1; Q4_K, Q5_K, Q6_K -> Q8_K) the activations are
 * first quantized to that "activation type" and integer dot products are used,
 * as llama.cpp does; F32/F16/BF16 weights are dotted against f32 activations.
 *
 * Every operation has a plain-C reference (kern_ref.c, the spec) and SIMD
 * variants (kern_avx2.c, kern_avx512.c) compiled with per-file -m flags.
 * kern_init() reads CPUID once and fills the active table; DEEPC_KERNELS=ref
 * (or avx2, avx512) forces a variant.  A variant may leave a slot NULL, and
 * the reference is used for it.
 */
#ifndef DC_KERN_H
#define DC_KERN_H

#include <stddef.h>
#include <stdint.h>

/* Dot product of one weight row (n elements of the weight type, a whole
 * number of blocks) with one activation row already in the activation type. */
typedef float (*kern_vec_dot_fn)(int64_t n, const void *w, const void *xq);
/* Converts n floats into the activation type (n a multiple of its block). */
typedef void (*kern_quantize_fn)(const float *x, void *xq, int64_t n);
/* Dequantizes n elements of a weight row to floats. */
typedef void (*kern_to_float_fn)(const void *w, float *y, int64_t n);
/* g[i] = silu(g[i]) * u[i] = g[i] / (1 + exp(-g[i])) * u[i] (the gated MLP's
 * activation; the reference uses libm's expf, the vector ones a polynomial
 * exp within a few ulp of it). */
typedef void (*kern_swiglu_fn)(float *g, const float *u, int64_t n);

#define KERN_N_TYPES 32 /* indexes: enum dtype values below 32 */

struct kern_ops {
    const char *name;                      /* "ref", "avx2", "avx512" */
    kern_vec_dot_fn vec_dot[KERN_N_TYPES];    /* by weight type */
    kern_quantize_fn quantize[KERN_N_TYPES];  /* by activation type (Q8_0, Q8_1, Q8_K) */
    kern_to_float_fn to_float[KERN_N_TYPES];  /* by weight type */
    kern_swiglu_fn swiglu;
};

/* The variants compiled into this binary.  kern_ops_avx2/avx512 must only
 * be called when kern_cpu_has() says the CPU supports them. */
extern const struct kern_ops kern_ops_ref;
extern const struct kern_ops kern_ops_avx2;
extern const struct kern_ops kern_ops_avx512;

enum kern_isa { KERN_ISA_REF = 0, KERN_ISA_AVX2 = 1, KERN_ISA_AVX512 = 2 };

/* 1 if the CPU (and OS) support the ISA level. */
int kern_cpu_has(enum kern_isa isa);

/* Reads CPU features and DEEPC_KERNELS once; fills the active table.  Must be
 * called before any thread uses the kernels; idempotent. */
void kern_init(void);
/* The active table (after kern_init). */
const struct kern_ops *kern_active(void);

/* Weight bytes a thread claims at a time when a matmul's row groups are
 * shared out with stealing (kern.c); 0: a fixed contiguous half per thread,
 * no stealing; < 0: the default.  The environment variable DEEPC_MM_PIECE sets
 * it at kern_init.  Results are the same bits either way (for tests and
 * measurements; not thread-safe against running matmuls). */
void kern_set_piece_bytes(int64_t bytes);
/* Bytes ahead in the tile stream that a one-token product over packed weights
 * (kern_pack) prefetches, 0: none, < 0: the CPU's default (kern_stream_prefetch).
 * The environment variable DEEPC_PREFETCH sets it at kern_init.  Results are the
 * same bits either way (not thread-safe against running matmuls). */
void kern_set_stream_prefetch(int64_t bytes);
/* The distance in use: the setting, or by default 2048 on Intel CPUs (on the
 * Intel Xeon measured, the hardware prefetcher alone left one-token streams
 * 15-30 % slower) and 0 elsewhere (on AMD Zen 4 a one-token prefetch had only
 * slowed the stream; docs/PERFORMANCE.md, log entry 48). */
int64_t kern_stream_prefetch(void);
/* Pieces taken from another thread's range so far (all matmuls, all threads). */
int64_t kern_steal_count(void);

/* Activation type a weight type is dotted against (DT_F32 for float types),
 * -1 if the weight type has no kernel. */
int kern_act_type(int wtype);

/* A weight matrix: a borrowed view. */
struct kern_mat {
    int type;       /* enum dtype of the weights */
    const void *data;
    int64_t rows;   /* output channels */
    int64_t cols;   /* input channels = row length, whole blocks */
    const void *pk; /* the same rows in the active variant's packed form (kern_pack), or NULL */
};

/* 1 if the kernels take this matrix (a type with a kernel, whole blocks per
 * row, rows >= 0), else 0.  Model loading rejects such matrices; the
 * entry points below give NaN outputs for a matrix that fails it (a
 * programming error, never file content) instead of reading out of bounds. */
int kern_mat_ok(const struct kern_mat *w);

/* Scratch bytes kern_matmul needs for n activation rows of this matrix. */
size_t kern_matmul_scratch(const struct kern_mat *w, int64_t n);

/* Y[t * ldy + r] = sum_c W[r][c] * X[t * ldx + c] for t < n, r < rows.
 * scratch: at least kern_matmul_scratch(w, n) bytes, 64-byte aligned.
 * Uses the active table and all threads of the OpenMP team it is called from
 * (or opens a parallel region itself when called outside one).  Allocates
 * nothing. */
void kern_matmul(const struct kern_mat *w, const float *x, int64_t ldx, int64_t n, float *y,
                 int64_t ldy, void *scratch);

/* kern_matmul of nm matrices that take the same X (a layer's q/k/v, its
 * gate/up): y[i][t * ldy[i] + r] = W_i[r] . X[t].  When they share the
 * activation type and width and have whole-matrix kernels, X is quantized
 * once and their row groups are split between the threads as one list, in
 * one parallel region (one end-of-matrix wait instead of nm); otherwise one
 * kern_matmul_ops each.  The same bits as kern_matmul_ops of each. */
void kern_matmul_multi(const struct kern_ops *ops, int nm, const struct kern_mat *w, const float *x, int64_t ldx,
                       int64_t n, float *const *y, const int64_t *ldy, void *scratch);

/* g[i] = silu(g[i]) * u[i] for i < n with the active table's swiglu (element
 * by element, so the bits do not depend on how the range is cut): a pass's
 * n_tokens x n_ff values are split between the OpenMP threads (from 32,768
 * values; a decode token's row runs on the calling thread). */
void kern_swiglu(float *g, const float *u, int64_t n);

/* Same, with an explicit ops table (tests, benchmarks). */
void kern_matmul_ops(const struct kern_ops *ops, const struct kern_mat *w, const float *x,
                     int64_t ldx, int64_t n, float *y, int64_t ldy, void *scratch);

/* Same as kern_matmul_ops, computed by the calling thread alone: no
 * parallel region and no barrier, so each thread of a team may call it on
 * its own matrix (with its own scratch), e.g. one expert per work item.
 * The outputs have the same bits as kern_matmul_ops and as the variant's
 * vec_dot of each row and token, but come from the variant's whole-matrix
 * kernels (activation prepared once, GEMV / GEMM) instead of one vec_dot
 * per output. */
void kern_matmul_local(const struct kern_ops *ops, const struct kern_mat *w, const float *x, int64_t ldx,
                       int64_t n, float *y, int64_t ldy, void *scratch);

/* Packed weights.  The AVX-512 whole-matrix kernels read a matrix fastest
 * when its rows are rearranged once, at load time, into tiles of 16 rows
 * whose quants sit "rows in lanes" (the layout the GEMM would otherwise
 * build on the stack for every call; kern_avx512_q.c).  Tile t holds rows
 * 16t .. 16t+15, so rows [r0, r0 + n) of a packed matrix with r0 a multiple
 * of 16 are packed at pk + (r0 / 16) * kern_pack_tile_bytes(w).  Results
 * keep the same bits as the unpacked matrix.
 *
 * kern_pack_bytes: bytes of the packed form for the active variant, 0 when
 * it has none for this matrix (then pk stays NULL).  kern_pack writes it to
 * dst (64-byte aligned); the calling thread alone does the work. */
size_t kern_pack_tile_bytes(const struct kern_mat *w);
size_t kern_pack_bytes(const struct kern_mat *w);
void kern_pack(const struct kern_mat *w, void *dst);

/* Dequantizes row r of a weight matrix into n floats (embedding lookups);
 * NaNs for a matrix that fails kern_mat_ok or r outside [0, rows). */
void kern_get_row(const struct kern_mat *w, int64_t r, float *y);

/* Reference quantizers for weights (round-to-nearest as ggml's *_ref), used
 * by tests and `deepc quantize`.  n: a multiple of the block size.  Returns
 * DC_OK, or DC_EUNSUPPORTED (y untouched) for a type without a quantizer. */
int kern_quantize_row_ref(int type, const float *x, void *y, int64_t n);

#endif
