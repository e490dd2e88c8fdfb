/*
 * test_kern.c - the matrix kernels against independent references and
 * every SIMD variant against the plain-C reference.
 *
 * Independent references:
 *   - to_float and kern_get_row: bit-exact against gguf.quants.dequantize on
 *     committed random blocks (tests/data/kern, tools/gen_kern_fixtures.py);
 *   - kern_quantize_row_ref (Q8_0, Q4_0, Q4_1, F16, BF16) and the Q8_0
 *     activation quantizer: bit-exact against gguf.quants.quantize;
 *   - the integer dots: against a double-precision dot of the dequantized
 *     weights (checked above) with the dequantized activation quants, which
 *     is what sum_blocks d_w*d_x*sum(q_w*q_x) equals in exact arithmetic;
 *   - ref F32/F16/BF16 matmul: against a double dequantize-then-dot.
 * Variants (avx2, avx512 when the CPU has them) against the reference:
 * activation quantizers byte-exact, vec_dot and kern_matmul_ops within
 * float-reordering bounds; kern_matmul_ops over n tokens bit-equal to the
 * variant's per-token vec_dot; kern_matmul inside an OpenMP team equal to
 * outside it.  K-quant weights come both from the simple quantizer and from
 * random raw bytes (so every 6-bit scale/min pattern and -128 quants occur).
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "err.h"
#include "kern.h"
#include "kern_membw.h"
#include "test.h"

static const int wtypes[] = {DT_F32, DT_F16, DT_BF16, DT_Q8_0, DT_Q4_0, DT_Q4_1, DT_Q4_K, DT_Q5_K, DT_Q6_K};
#define N_WTYPES ((int)(sizeof(wtypes) / sizeof(wtypes[0])))

static const struct kern_ops *variants[3];
static int n_variants;

static void setup_variants(void) {
    n_variants = 0;
    variants[n_variants++] = &kern_ops_ref;
    if (kern_cpu_has(KERN_ISA_AVX2)) variants[n_variants++] = &kern_ops_avx2;
    if (kern_cpu_has(KERN_ISA_AVX512)) variants[n_variants++] = &kern_ops_avx512;
}

static void *xalloc(size_t n) {
    void *p = aligned_alloc(64, (n + 63) & ~(size_t)63);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static uint8_t *read_file(const char *name, size_t *len) {
    char path[512];
    snprintf(path, sizeof(path), "%s/kern/%s", t_data_dir(), name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = xalloc((size_t)n + 1);
    if (fread(p, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(p);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return p;
}

static float ld_f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return fp16_to_f32(h);
}

static void st_f16(uint8_t *p, float f) {
    uint16_t h = f32_to_fp16(f);
    memcpy(p, &h, 2);
}

/* A sane random f16 scale: +-[2^-10, 2^-5). */
static float rand_scale(unsigned long long *s) {
    float m = ldexpf(1.0f + 0.5f * (t_rand_f32(s) + 1.0f), -10 + (int)(t_rand_u32(s) % 5));
    return t_rand_u32(s) & 1 ? -m : m;
}

/* Byte offsets of the f16 scale fields in each quantized block. */
static int f16_fields(int type, int off[2]) {
    switch (type) {
    case DT_Q4_0:
    case DT_Q8_0: off[0] = 0; return 1;
    case DT_Q4_1:
    case DT_Q4_K:
    case DT_Q5_K: off[0] = 0; off[1] = 2; return 2;
    case DT_Q6_K: off[0] = 208; return 1;
    default: return 0;
    }
}

/* rows x cols weights of `type`: raw = 0 quantizes random floats (row scales
 * vary over 1e-2..1e1) with the reference quantizer; raw = 1 fills random
 * bytes and overwrites the f16 scale fields with sane values. */
static uint8_t *make_weights(int type, int64_t rows, int64_t cols, int raw, unsigned long long seed) {
    size_t rb = (size_t)dtype_row_bytes(type, cols);
    uint8_t *w = xalloc(rb * (size_t)rows);
    float *tmp = xalloc((size_t)cols * sizeof(float));
    unsigned long long s = seed;
    for (int64_t r = 0; r < rows; r++) {
        uint8_t *row = w + rb * (size_t)r;
        int off[2], nf = f16_fields(type, off);
        if (raw && nf > 0) {
            for (size_t i = 0; i < rb; i++) row[i] = (uint8_t)t_rand_u32(&s);
            int64_t bb = dtype_block_bytes(type), nb = (int64_t)rb / bb;
            for (int64_t b = 0; b < nb; b++)
                for (int f = 0; f < nf; f++) st_f16(row + b * bb + off[f], rand_scale(&s));
        } else {
            float scale = powf(10.0f, -2.0f + 3.0f * (t_rand_f32(&s) + 1.0f) / 2.0f);
            for (int64_t c = 0; c < cols; c++) tmp[c] = t_rand_f32(&s) * scale;
            T_CHECK(kern_quantize_row_ref(type, tmp, row, cols) == DC_OK, "quantize %s", dtype_name(type));
        }
    }
    free(tmp);
    return w;
}

static void make_acts(float *x, int64_t n, int64_t cols, int64_t ldx, unsigned long long seed) {
    unsigned long long s = seed;
    for (int64_t t = 0; t < n; t++) {
        float scale = t % 3 == 2 ? 30.0f : 1.0f;
        for (int64_t c = 0; c < ldx; c++) x[t * ldx + c] = c < cols ? t_rand_f32(&s) * scale : NAN;
        if (cols >= 64 && t % 4 == 1) /* a run of zeros: amax = 0 blocks */
            for (int64_t c = 0; c < 32; c++) x[t * ldx + c] = 0.0f;
    }
}

/* Dequantized activation row: what the integer dot multiplies against. */
static void act_dequant(int at, const void *xq, int64_t cols, const float *x, double *out) {
    const uint8_t *b = xq;
    if (at == DT_F32) {
        for (int64_t i = 0; i < cols; i++) out[i] = x[i];
    } else if (at == DT_Q8_0 || at == DT_Q8_1) {
        int qs = at == DT_Q8_0 ? 2 : 4, bs = at == DT_Q8_0 ? 34 : 36;
        for (int64_t i = 0; i < cols; i++) {
            const uint8_t *blk = b + (i / 32) * bs;
            out[i] = (double)ld_f16(blk) * (double)(int8_t)blk[qs + i % 32];
        }
    } else { /* Q8_K: f32 d @0, qs @4 */
        for (int64_t i = 0; i < cols; i++) {
            const uint8_t *blk = b + (i / 256) * 292;
            float d;
            memcpy(&d, blk, 4);
            out[i] = (double)d * (double)(int8_t)blk[4 + i % 256];
        }
    }
}

/* Error scale of a dot: sum over elements of (|a_i| + |b_i|) |x_i| where the
 * weight is w_i = a_i + b_i with a_i the scaled quant and b_i the block min
 * term (b = 0 for types without mins).  The kernels form sum(a x) and
 * sum(b x) separately, so their rounding is relative to this, not to
 * sum |w x| (the two can cancel).  wf: the row dequantized. */
static double err_scale(int type, const uint8_t *row, int64_t cols, const float *wf, const double *xd) {
    double s = 0.0;
    if (type == DT_Q4_1 || type == DT_Q4_K || type == DT_Q5_K) {
        size_t rb = (size_t)dtype_row_bytes(type, cols);
        int64_t bb = dtype_block_bytes(type);
        uint8_t *a = malloc(rb), *m = malloc(rb);
        float *fa = malloc((size_t)cols * sizeof(float)), *fm = malloc((size_t)cols * sizeof(float));
        memcpy(a, row, rb);
        memcpy(m, row, rb);
        /* zero the min field (Q4_1 m @2, K dmin @2) or the scale field (d @0) */
        for (size_t o = 0; o < rb; o += (size_t)bb) {
            memset(a + o + 2, 0, 2);
            memset(m + o, 0, 2);
        }
        kern_ops_ref.to_float[type](a, fa, cols);
        kern_ops_ref.to_float[type](m, fm, cols);
        for (int64_t i = 0; i < cols; i++) s += (fabs((double)fa[i]) + fabs((double)fm[i])) * fabs(xd[i]);
        free(a), free(m), free(fa), free(fm);
    } else {
        for (int64_t i = 0; i < cols; i++) s += fabs((double)wf[i] * xd[i]);
    }
    return s;
}

/* Extra error budget of Q4_1: the kernel uses s = f16(d * sum q) of the
 * activation block, the dequantized activation f16(d) * q; they differ by
 * two f16 roundings (2 * 2^-11 relative), times |m| of the weight block. */
static double q4_1_s_budget(const uint8_t *row, const uint8_t *xq, int64_t cols) {
    double e = 0.0;
    for (int64_t b = 0; b < cols / 32; b++)
        e += fabs((double)ld_f16(row + b * 20 + 2)) * fabs((double)ld_f16(xq + b * 36 + 2)) * ldexp(1.0, -9);
    return e;
}

/* Float-reordering bound relative to err_scale: each of the k adds an
 * accumulator lane sees, plus the lane reductions, can add 2^-24 of the
 * running magnitude.  Integer types: one f32 add per block (nb of them)
 * plus conversions of i32 lane sums and the final lane sums (16).  Float
 * types: n / 8 adds per lane of an 8-lane accumulator, plus 16 for the
 * reductions. */
static double dot_tol(int type, int64_t cols) {
    int64_t be = dtype_block_elems(type);
    double k = be == 1 ? (double)cols / 8.0 + 16.0 : (double)(cols / be) + 16.0;
    return k * ldexp(1.0, -24);
}

/* -------------------------------------------------------------------- tests */

static void test_dispatch(void) {
    kern_init();
    kern_init(); /* idempotent */
    const struct kern_ops *a = kern_active();
    printf("  active kernels: %s (cpu: avx2 %d, avx512 %d)\n", a->name, kern_cpu_has(KERN_ISA_AVX2),
           kern_cpu_has(KERN_ISA_AVX512));
    T_CHECK(kern_cpu_has(KERN_ISA_REF) == 1, "ref always available");
    T_CHECK(!kern_cpu_has(KERN_ISA_AVX512) || kern_cpu_has(KERN_ISA_AVX2), "avx512 implies avx2 here");
    const char *env = getenv("DEEPC_KERNELS");
    const char *best = kern_cpu_has(KERN_ISA_AVX512) ? "avx512" : kern_cpu_has(KERN_ISA_AVX2) ? "avx2" : "ref";
    int env_ok = env && ((strcmp(env, "ref") == 0) || (strcmp(env, "avx2") == 0 && kern_cpu_has(KERN_ISA_AVX2)) ||
                         (strcmp(env, "avx512") == 0 && kern_cpu_has(KERN_ISA_AVX512)));
    T_CHECK(strcmp(a->name, env_ok ? env : best) == 0, "active %s", a->name);
    /* activation pairing (spec/MODEL.md 11, engine note; F16/BF16 take f32 here) */
    const int pairs[][2] = {{DT_F32, DT_F32},   {DT_F16, DT_F32},   {DT_BF16, DT_F32},
                            {DT_Q4_0, DT_Q8_0}, {DT_Q8_0, DT_Q8_0}, {DT_Q4_1, DT_Q8_1},
                            {DT_Q4_K, DT_Q8_K}, {DT_Q5_K, DT_Q8_K}, {DT_Q6_K, DT_Q8_K},
                            {DT_Q5_0, -1},      {DT_Q2_K, -1},      {DT_Q8_K, -1}};
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        T_CHECK(kern_act_type(pairs[i][0]) == pairs[i][1], "act type of %s", dtype_name(pairs[i][0]));
    for (int i = 0; i < N_WTYPES; i++) {
        T_CHECK(a->vec_dot[wtypes[i]] && a->to_float[wtypes[i]], "active slots for %s", dtype_name(wtypes[i]));
        struct kern_mat m = {wtypes[i], NULL, 10, dtype_block_elems(wtypes[i]) == 256 ? 512 : 64, NULL};
        int at = kern_act_type(wtypes[i]);
        size_t need = at == DT_F32 ? 0 : (size_t)dtype_row_bytes(at, m.cols) * 7;
        T_CHECK(kern_matmul_scratch(&m, 7) >= need && kern_matmul_scratch(&m, 7) >= 64, "scratch %s",
                dtype_name(wtypes[i]));
    }
    T_CHECK(a->quantize[DT_Q8_0] && a->quantize[DT_Q8_1] && a->quantize[DT_Q8_K], "active quantizers");
}

/* to_float of every variant and kern_get_row vs gguf.quants.dequantize. */
static void test_to_float_gguf(void) {
    const int types[] = {DT_Q4_0, DT_Q4_1, DT_Q8_0, DT_Q4_K, DT_Q5_K, DT_Q6_K, DT_F16, DT_BF16};
    for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) {
        int type = types[ti];
        char nb[64], nf[64];
        snprintf(nb, sizeof(nb), "%s.bin", dtype_name(type));
        snprintf(nf, sizeof(nf), "%s.f32", dtype_name(type));
        size_t lb = 0, lf = 0;
        uint8_t *blk = read_file(nb, &lb), *ref = read_file(nf, &lf);
        T_CHECK(blk && ref, "fixture %s missing (run tools/gen_kern_fixtures.py)", nb);
        if (!blk || !ref) {
            free(blk), free(ref);
            continue;
        }
        int64_t n = (int64_t)(lf / 4);
        T_CHECK(dtype_row_bytes(type, n) == (int64_t)lb, "%s fixture sizes", nb);
        if (dtype_row_bytes(type, n) != (int64_t)lb) {
            free(blk), free(ref);
            continue;
        }
        float *y = xalloc((size_t)n * 4);
        for (int v = 0; v < n_variants; v++) {
            kern_to_float_fn f = variants[v]->to_float[type];
            if (!f) continue;
            for (int64_t i = 0; i < n; i++) y[i] = NAN;
            f(blk, y, n);
            int64_t bad = 0, first = -1;
            for (int64_t i = 0; i < n; i++)
                if (memcmp(&y[i], ref + 4 * i, 4) != 0 && bad++ == 0) first = i;
            float e = 0.0f;
            if (first >= 0) memcpy(&e, ref + 4 * first, 4);
            T_CHECK(bad == 0, "%s %s to_float: %lld of %lld differ, first at %lld: %g vs %g", variants[v]->name,
                    dtype_name(type), (long long)bad, (long long)n, (long long)first,
                    first >= 0 ? (double)y[first] : 0.0, (double)e);
        }
        /* the same data as a matrix, row by row through kern_get_row */
        int64_t cols = dtype_block_elems(type) == 256 ? 512 : 64;
        struct kern_mat m = {type, blk, n / cols, cols, NULL};
        int64_t bad = 0;
        for (int64_t r = 0; r < m.rows; r++) {
            for (int64_t i = 0; i < cols; i++) y[i] = NAN;
            kern_get_row(&m, r, y);
            bad += memcmp(y, ref + 4 * r * cols, (size_t)cols * 4) != 0;
        }
        T_CHECK(bad == 0, "%s kern_get_row: %lld rows differ", dtype_name(type), (long long)bad);
        printf("  %-5s to_float: %lld values bit-exact vs gguf.quants\n", dtype_name(type), (long long)n);
        free(y), free(blk), free(ref);
    }
}

/* Reference weight quantizers (and every variant's Q8_0 activation
 * quantizer, the same rule) vs gguf.quants.quantize. */
static void test_quantize_gguf(void) {
    size_t lx = 0;
    uint8_t *xin = read_file("quant_in.f32", &lx);
    T_CHECK(xin != NULL, "quant_in.f32 missing");
    if (!xin) return;
    int64_t n = (int64_t)(lx / 4);
    float *x = xalloc((size_t)n * 4);
    memcpy(x, xin, (size_t)n * 4);
    const int types[] = {DT_Q8_0, DT_Q4_0, DT_Q4_1, DT_F16, DT_BF16};
    for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) {
        int type = types[ti];
        char name[64];
        snprintf(name, sizeof(name), "quant_%s.bin", dtype_name(type));
        size_t le = 0;
        uint8_t *exp = read_file(name, &le);
        T_CHECK(exp && (int64_t)le == dtype_row_bytes(type, n), "%s missing or wrong size", name);
        if (!exp || (int64_t)le != dtype_row_bytes(type, n)) {
            free(exp);
            continue;
        }
        uint8_t *q = xalloc(le);
        memset(q, 0xAA, le);
        T_CHECK(kern_quantize_row_ref(type, x, q, n) == DC_OK, "quantize %s", dtype_name(type));
        int64_t bb = dtype_block_bytes(type), bad = 0;
        for (int64_t b = 0; b < (int64_t)le / bb; b++) bad += memcmp(q + b * bb, exp + b * bb, (size_t)bb) != 0;
        T_CHECK(bad == 0, "%s: %lld of %lld blocks differ from gguf.quants", dtype_name(type), (long long)bad,
                (long long)(le / (size_t)bb));
        printf("  %-5s kern_quantize_row_ref: %lld blocks, %lld differ from gguf.quants.quantize\n",
               dtype_name(type), (long long)(le / (size_t)bb), (long long)bad);
        if (type == DT_Q8_0) {
            for (int v = 0; v < n_variants; v++) {
                memset(q, 0xAA, le);
                variants[v]->quantize[DT_Q8_0](x, q, n);
                T_CHECK(memcmp(q, exp, le) == 0, "%s Q8_0 activation quantizer differs from gguf.quants",
                        variants[v]->name);
            }
        }
        free(q), free(exp);
    }
    free(x), free(xin);
}

/* Activation quantizers: every variant byte-equal to the reference, and the
 * reference satisfies the format's own invariants. */
static void test_act_quantize(void) {
    const int ats[] = {DT_Q8_0, DT_Q8_1, DT_Q8_K};
    const int64_t n = 256 * 5;
    float *x = xalloc((size_t)n * 4);
    unsigned long long s = 42;
    for (int64_t i = 0; i < n; i++) x[i] = t_rand_f32(&s) * (i < 512 ? 1.0f : 1e-3f);
    for (int64_t i = 256; i < 512; i++) x[i] = 0.0f; /* an all-zero super-block */
    /* amax 127 with exact .5 ties after scaling (d = 1) */
    x[512 + 256] = 127.0f;
    for (int i = 1; i < 32; i++) x[512 + 256 + i] = (float)(i - 16) + 0.5f;
    for (int ai = 0; ai < 3; ai++) {
        int at = ats[ai];
        size_t len = (size_t)dtype_row_bytes(at, n);
        uint8_t *r = xalloc(len), *q = xalloc(len);
        memset(r, 0x55, len);
        kern_ops_ref.quantize[at](x, r, n);
        int64_t bb = dtype_block_bytes(at), be = dtype_block_elems(at), bad_inv = 0;
        for (int64_t b = 0; b < n / be; b++) {
            const uint8_t *blk = r + b * bb;
            const int8_t *qs = (const int8_t *)(blk + (at == DT_Q8_0 ? 2 : 4));
            double d = at == DT_Q8_K ? 0.0 : (double)ld_f16(blk);
            if (at == DT_Q8_K) {
                float df;
                memcpy(&df, blk, 4);
                d = df;
            }
            int sum = 0;
            for (int64_t j = 0; j < be; j++) {
                double xv = x[b * be + j];
                sum += qs[j];
                /* |x - d q| <= d/2, plus the f16 rounding of d (half an ulp:
                 * 2^-11 relative, or 2^-25 absolute once d is an f16
                 * subnormal) over |q| <= 127; Q8_K keeps d in f32 */
                double dr = at == DT_Q8_K ? ldexp(fabs(d), -23) : fmax(ldexp(fabs(d), -11), ldexp(1.0, -25));
                double tol = 0.5 * fabs(d) + 127.0 * dr + 1e-30;
                if (qs[j] < -127 || fabs(xv - d * qs[j]) > tol) bad_inv++;
            }
            if (at == DT_Q8_1) { /* s = f16(d_f32 * sum q): d's and s's own f16 rounding */
                double sv = ld_f16(blk + 2);
                double dr = fmax(ldexp(fabs(d), -11), ldexp(1.0, -25));
                if (fabs(sv - d * sum) > fmax(ldexp(fabs(d * sum), -10), ldexp(1.0, -24)) + abs(sum) * dr)
                    bad_inv++;
            }
            if (at == DT_Q8_K) {
                for (int g = 0; g < 16; g++) {
                    int16_t bs;
                    int want = 0;
                    memcpy(&bs, blk + 260 + 2 * g, 2);
                    for (int j = 0; j < 16; j++) want += qs[16 * g + j];
                    if (bs != want) bad_inv++;
                }
            }
        }
        T_CHECK(bad_inv == 0, "ref %s quantizer: %lld invariant violations", dtype_name(at), (long long)bad_inv);
        /* ties: 0.5 -> 1, -0.5 -> -1 (roundf, as ggml) */
        if (at != DT_Q8_K) {
            const int8_t *qs = (const int8_t *)(r + (512 + 256) / 32 * bb + (at == DT_Q8_0 ? 2 : 4));
            T_CHECK(qs[0] == 127 && qs[16] == 1 && qs[15] == -1 && qs[17] == 2, "ties %d %d %d", qs[15], qs[16],
                    qs[17]);
        }
        for (int v = 1; v < n_variants; v++) {
            memset(q, 0x55, len);
            variants[v]->quantize[at](x, q, n);
            int64_t bad = 0;
            for (int64_t b = 0; b < n / be; b++) bad += memcmp(q + b * bb, r + b * bb, (size_t)bb) != 0;
            T_CHECK(bad == 0, "%s %s quantizer: %lld blocks differ from ref", variants[v]->name, dtype_name(at),
                    (long long)bad);
        }
        free(r), free(q);
    }
    free(x);
}

/* The quantize -> dequantize round trip of the reference weight quantizers
 * (to_float is checked against gguf above, so this checks the packing). */
static void test_quant_roundtrip(void) {
    /* NMSE ceilings for N(0,1)-like data, about 2x what the formats give:
     * 8 bits ~ 1e-5..4e-5; 4 bits with one scale per 32 ~ 1e-2; K-quants with
     * 6-bit sub-block scales a little worse than their bit count suggests. */
    const struct {
        int type;
        double max_nmse;
    } cases[] = {{DT_Q8_0, 1e-4}, {DT_Q4_0, 2e-2}, {DT_Q4_1, 2e-2}, {DT_Q4_K, 2e-2},
                 {DT_Q5_K, 5e-3}, {DT_Q6_K, 2e-3}, {DT_F16, 1e-7},  {DT_BF16, 1e-5}};
    const int64_t n = 256 * 8;
    float *x = xalloc((size_t)n * 4), *y = xalloc((size_t)n * 4);
    uint8_t *q = xalloc((size_t)dtype_row_bytes(DT_F32, n));
    unsigned long long s = 7;
    for (int64_t i = 0; i < n; i++) { /* sum of 4 uniforms: roughly normal */
        float v = 0.0f;
        for (int k = 0; k < 4; k++) v += t_rand_f32(&s);
        x[i] = v * (i < n / 2 ? 1.0f : 0.01f);
    }
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        T_CHECK(kern_quantize_row_ref(cases[c].type, x, q, n) == DC_OK, "quantize %s", dtype_name(cases[c].type));
        kern_ops_ref.to_float[cases[c].type](q, y, n);
        /* per half (two scales of data), the worse NMSE */
        double worst = 0.0;
        for (int h = 0; h < 2; h++) {
            double e = 0.0, p = 0.0;
            for (int64_t i = h * n / 2; i < (h + 1) * n / 2; i++) {
                e += ((double)y[i] - (double)x[i]) * ((double)y[i] - (double)x[i]);
                p += (double)x[i] * (double)x[i];
            }
            worst = fmax(worst, e / p);
        }
        printf("  %-5s round trip NMSE %.3g (ceiling %.0e)\n", dtype_name(cases[c].type), worst, cases[c].max_nmse);
        T_CHECK(worst < cases[c].max_nmse, "%s round trip NMSE %g", dtype_name(cases[c].type), worst);
    }
    free(x), free(y), free(q);
}

/* vec_dot: reference vs a double dot of dequantized operands, and every
 * variant vs the reference. */
static void test_vec_dot(void) {
    for (int ti = 0; ti < N_WTYPES; ti++) {
        int type = wtypes[ti], at = kern_act_type(type);
        int64_t be = dtype_block_elems(type);
        const int64_t colsets[3][5] = {{1, 37, 224, 768, 1056}, {32, 224, 768, 1056, 0}, {256, 768, 1792, 0, 0}};
        const int64_t *cl = be == 1 ? colsets[0] : be == 32 ? colsets[1] : colsets[2];
        double worst_ref = 0.0, worst_var[3] = {0, 0, 0};
        for (int ci = 0; ci < 5 && cl[ci]; ci++) {
            int64_t cols = cl[ci], rows = 8;
            uint8_t *w = make_weights(type, rows / 2, cols, 0, 1000 + (unsigned long long)cols);
            uint8_t *w2 = make_weights(type, rows / 2, cols, 1, 2000 + (unsigned long long)cols);
            size_t rb = (size_t)dtype_row_bytes(type, cols);
            uint8_t *wall = xalloc(rb * (size_t)rows);
            memcpy(wall, w, rb * (size_t)rows / 2);
            memcpy(wall + rb * (size_t)rows / 2, w2, rb * (size_t)rows / 2);
            float *x = xalloc((size_t)cols * 4), *wf = xalloc((size_t)cols * 4);
            double *xd = xalloc((size_t)cols * 8);
            make_acts(x, 1, cols, cols, 77 + (unsigned long long)cols);
            uint8_t *xq = at == DT_F32 ? (uint8_t *)x : xalloc((size_t)dtype_row_bytes(at, cols));
            if (at != DT_F32) kern_ops_ref.quantize[at](x, xq, cols);
            act_dequant(at, xq, cols, x, xd);
            for (int64_t r = 0; r < rows; r++) {
                const uint8_t *row = wall + rb * (size_t)r;
                kern_ops_ref.to_float[type](row, wf, cols);
                double exact = 0.0;
                for (int64_t i = 0; i < cols; i++) exact += (double)wf[i] * xd[i];
                double scale = err_scale(type, row, cols, wf, xd) + 1e-30;
                double budget = dot_tol(type, cols) * scale + (type == DT_Q4_1 ? q4_1_s_budget(row, xq, cols) : 0.0);
                float yr = kern_ops_ref.vec_dot[type](cols, row, xq);
                double er = fabs((double)yr - exact);
                worst_ref = fmax(worst_ref, er / scale);
                T_CHECK(er <= budget, "ref %s cols %lld row %lld: %.9g vs exact %.9g (budget %.3g)",
                        dtype_name(type), (long long)cols, (long long)r, (double)yr, exact, budget);
                for (int v = 1; v < n_variants; v++) {
                    kern_vec_dot_fn f = variants[v]->vec_dot[type];
                    if (!f) continue;
                    float yv = f(cols, row, xq);
                    double ev = fabs((double)yv - (double)yr);
                    worst_var[v] = fmax(worst_var[v], ev / scale);
                    /* both sides reorder float sums: twice the one-sided bound */
                    T_CHECK(ev <= 2.0 * dot_tol(type, cols) * scale, "%s %s cols %lld row %lld: %.9g vs ref %.9g",
                            variants[v]->name, dtype_name(type), (long long)cols, (long long)r, (double)yv,
                            (double)yr);
                }
            }
            free(w), free(w2), free(wall), free(x), free(wf), free(xd);
            if (at != DT_F32) free(xq);
        }
        printf("  %-5s vec_dot max err / scale: ref vs exact %.2e", dtype_name(type), worst_ref);
        for (int v = 1; v < n_variants; v++) printf(", %s vs ref %.2e", variants[v]->name, worst_var[v]);
        printf("\n");
    }
}

/* kern_matmul_ops of every variant vs the reference on odd shapes, with
 * NaN-filled outputs and padded strides. */
static void test_matmul_variants(void) {
    /* n = 1 GEMV, 2-3 (and 4-6 for K-quants) per-token GEMV, else the GEMM */
    const int64_t rowset[] = {1, 3, 17, 67}, nset[] = {1, 2, 5, 9};
    enum { NR = 4, NN = 4 };
    for (int ti = 0; ti < N_WTYPES; ti++) {
        int type = wtypes[ti];
        int64_t be = dtype_block_elems(type);
        /* odd multiples of the block: 1, 7, 33 (two groups of 16 and one
         * more, past the GEMM's 32-block chunk), 50 blocks of 32; 1, 3, 7
         * (past a 4-super-block chunk), 9 of 256 */
        const int64_t colsets[3][4] = {{1, 37, 1056, 0}, {32, 32 * 7, 32 * 33, 32 * 50}, {256, 256 * 3, 256 * 7, 256 * 9}};
        const int64_t *colset = colsets[be == 1 ? 0 : be == 32 ? 1 : 2];
        for (int ci = 0; ci < 4 && colset[ci]; ci++) {
            int64_t cols = colset[ci], ldx = cols + 5;
            for (int v = 1; v < n_variants; v++) {
                double max_abs = 0.0, max_rel = 0.0, se = 0.0, sr = 0.0;
                int64_t bad_gap = 0, bad_val = 0;
                for (int ri = 0; ri < NR; ri++) {
                    for (int ni = 0; ni < NN; ni++) {
                        int64_t rows = rowset[ri], n = nset[ni], ldy = rows + 3;
                        uint8_t *w = make_weights(type, rows, cols, (ri + ni) & 1, 31 * (unsigned long long)(ri * 4 + ni));
                        struct kern_mat m = {type, w, rows, cols, NULL};
                        float *x = xalloc((size_t)(n * ldx) * 4);
                        make_acts(x, n, cols, ldx, 5 + (unsigned long long)(ri * 4 + ni));
                        float *y = xalloc((size_t)(n * ldy) * 4), *yr = xalloc((size_t)(n * ldy) * 4);
                        for (int64_t i = 0; i < n * ldy; i++) y[i] = yr[i] = NAN;
                        void *scr = xalloc(kern_matmul_scratch(&m, n));
                        kern_matmul_ops(&kern_ops_ref, &m, x, ldx, n, yr, ldy, scr);
                        kern_matmul_ops(variants[v], &m, x, ldx, n, y, ldy, scr);
                        /* error scale per output: err_scale of its row and token */
                        size_t rb = (size_t)dtype_row_bytes(type, cols);
                        float *wf = xalloc((size_t)cols * 4);
                        double *xd = xalloc((size_t)cols * 8);
                        int at = kern_act_type(type);
                        uint8_t *xq = at == DT_F32 ? NULL : xalloc((size_t)dtype_row_bytes(at, cols));
                        for (int64_t t = 0; t < n; t++) {
                            if (xq) kern_ops_ref.quantize[at](x + t * ldx, xq, cols);
                            act_dequant(at, xq, cols, x + t * ldx, xd);
                            for (int64_t r = 0; r < ldy; r++) {
                                float a = y[t * ldy + r], b = yr[t * ldy + r];
                                if (r >= rows) {
                                    bad_gap += !isnan(a) || !isnan(b);
                                    continue;
                                }
                                if (!isfinite(a) || !isfinite(b)) {
                                    bad_val++;
                                    continue;
                                }
                                kern_ops_ref.to_float[type](w + rb * (size_t)r, wf, cols);
                                double sc = err_scale(type, w + rb * (size_t)r, cols, wf, xd) + 1e-30;
                                double e = fabs((double)a - (double)b);
                                max_abs = fmax(max_abs, e);
                                max_rel = fmax(max_rel, e / sc);
                                se += e * e;
                                sr += (double)b * (double)b;
                                if (e > 2.0 * dot_tol(type, cols) * sc) bad_val++;
                            }
                        }
                        free(w), free(x), free(y), free(yr), free(scr), free(wf), free(xd), free(xq);
                    }
                }
                double nmse = sr > 0 ? se / sr : se;
                printf("  %-5s cols %5lld %-6s vs ref: max abs %.3g, max err/scale %.2e (bound %.2e), NMSE %.3g\n",
                       dtype_name(type), (long long)cols, variants[v]->name, max_abs, max_rel,
                       2.0 * dot_tol(type, cols), nmse);
                T_CHECK(bad_gap == 0, "%s %s: %lld padding cells written", variants[v]->name, dtype_name(type),
                        (long long)bad_gap);
                T_CHECK(bad_val == 0, "%s %s cols %lld: %lld outputs unwritten or out of bound", variants[v]->name,
                        dtype_name(type), (long long)cols, (long long)bad_val);
                /* NMSE, the test-backend-ops style summary: ~ (2^-24)^2 for reordering */
                T_CHECK(nmse < 1e-10, "%s %s NMSE %g", variants[v]->name, dtype_name(type), nmse);
            }
        }
    }
}

/* The reference matmul of the float types equals a double
 * dequantize-then-dot rounded once to f32 (within the double sum's own
 * rounding). */
static void test_matmul_float_exact(void) {
    const int types[] = {DT_F32, DT_F16, DT_BF16};
    for (int ti = 0; ti < 3; ti++) {
        int type = types[ti];
        int64_t rows = 17, cols = 301, n = 5;
        uint8_t *w = make_weights(type, rows, cols, 0, 99);
        struct kern_mat m = {type, w, rows, cols, NULL};
        float *x = xalloc((size_t)(n * cols) * 4), *y = xalloc((size_t)(n * rows) * 4);
        make_acts(x, n, cols, cols, 3);
        for (int64_t i = 0; i < n * rows; i++) y[i] = NAN;
        void *scr = xalloc(kern_matmul_scratch(&m, n));
        kern_matmul_ops(&kern_ops_ref, &m, x, cols, n, y, rows, scr);
        size_t rb = (size_t)dtype_row_bytes(type, cols);
        int64_t bad = 0;
        for (int64_t t = 0; t < n; t++) {
            for (int64_t r = 0; r < rows; r++) {
                const uint8_t *row = w + rb * (size_t)r;
                double s = 0.0, sa = 0.0;
                for (int64_t c = 0; c < cols; c++) {
                    uint16_t h;
                    double wv;
                    if (type == DT_F32) {
                        float f;
                        memcpy(&f, row + 4 * c, 4);
                        wv = f;
                    } else {
                        memcpy(&h, row + 2 * c, 2);
                        wv = type == DT_F16 ? (double)fp16_to_f32(h) : (double)bf16_to_f32(h);
                    }
                    s += wv * (double)x[t * cols + c];
                    sa += fabs(wv * (double)x[t * cols + c]);
                }
                double got = y[t * rows + r];
                /* one f32 rounding (2^-24 relative) + the double sums' error */
                if (!(fabs(got - s) <= ldexp(fabs(s), -24) + ldexp(sa, -48))) bad++;
            }
        }
        T_CHECK(bad == 0, "%s ref matmul: %lld outputs differ from the double dot", dtype_name(type), (long long)bad);
        free(w), free(x), free(y), free(scr);
    }
}

/* Batch consistency: kern_matmul_ops over n tokens gives, bit for bit, the
 * variant's own vec_dot per token, whatever n, the thread count and the
 * shape.  The AVX-512 variant runs different code for n = 1 (GEMV), small n
 * (per-token GEMV) and larger n (GEMM), with internal boundaries at 16-row
 * tiles, groups of 16 blocks and partial groups (a short path for tails of
 * up to 4 blocks), chunks of 32 blocks (4 super-blocks), 128 tokens and
 * GEMV chunks of 512 blocks (64 super-blocks); the shapes below cross each
 * of them.  Padding columns of Y stay NaN. */
static void test_matmul_batch_exact(void) {
    const int64_t nset[] = {1, 2, 3, 4, 5, 7, 8, 9, 131};
    for (int ti = 0; ti < N_WTYPES; ti++) {
        int type = wtypes[ti], at = kern_act_type(type);
        int64_t be = dtype_block_elems(type);
        /* 32-element types: tails of 7 and 13 blocks (masked vector group), 1, 2, 3, 4 (short path) */
        const int64_t colsets[3][7] = {{37, 64, 0, 0, 0, 0, 0},
                                       {32 * 7, 32 * 13, 32 * 33, 32 * 50, 32 * 19, 32 * 20, 32 * 513},
                                       {256, 256 * 3, 256 * 5, 256 * 9, 256 * 65, 0, 0}};
        const int64_t *colset = colsets[be == 1 ? 0 : be == 32 ? 1 : 2];
        int64_t checked = 0, checked_pk = 0;
        for (int ci = 0; ci < 7 && colset[ci]; ci++) {
            /* the first shape spans two of the GEMM's 512-row blocks */
            int64_t cols = colset[ci], rows = cols > 8192 ? 19 : ci == 0 ? 530 : 35, ldx = cols + 3, ldy = rows + 2, nmax = 131;
            uint8_t *w = make_weights(type, rows, cols, ci & 1, 500 + (unsigned long long)(ti * 8 + ci));
            struct kern_mat m = {type, w, rows, cols, NULL};
            float *x = xalloc((size_t)(nmax * ldx) * 4), *y = xalloc((size_t)(nmax * ldy) * 4);
            make_acts(x, nmax, cols, ldx, 600 + (unsigned long long)ti);
            void *scr = xalloc(kern_matmul_scratch(&m, nmax));
            uint8_t *xq = at == DT_F32 ? NULL : xalloc((size_t)dtype_row_bytes(at, cols));
            float *ev = xalloc((size_t)(nmax * rows) * 4);
            size_t rb = (size_t)dtype_row_bytes(type, cols);
            /* the packed form (kern_pack) of the active variant, when it has one */
            const size_t pkb = kern_pack_bytes(&m), ptile = kern_pack_tile_bytes(&m);
            uint8_t *pkw = pkb ? xalloc(pkb) : NULL;
            if (pkw) kern_pack(&m, pkw);
            for (int v = 0; v < n_variants; v++) {
                const struct kern_ops *ops = variants[v];
                kern_vec_dot_fn dot = ops->vec_dot[type] ? ops->vec_dot[type] : kern_ops_ref.vec_dot[type];
                if (v == 0 && cols > 8192) continue; /* the reference's dot is slow and has no batch code */
                for (int64_t t = 0; t < nmax; t++) {
                    const void *xt = x + t * ldx;
                    if (xq) {
                        kern_quantize_fn q = ops->quantize[at] ? ops->quantize[at] : kern_ops_ref.quantize[at];
                        q(x + t * ldx, xq, cols);
                        xt = xq;
                    }
                    for (int64_t r = 0; r < rows; r++) ev[t * rows + r] = dot(cols, w + rb * (size_t)r, xt);
                }
                for (int ni = 0; ni < (int)(sizeof(nset) / sizeof(nset[0])); ni++) {
                    int64_t n = nset[ni];
                    /* pk 0: the mapped rows; 1: packed; 2: the packed view of rows 16 .. rows */
                    for (int pk = 0; pk < (pkw && ops->vec_dot[type] == kern_active()->vec_dot[type] ? 3 : 1); pk++)
                    for (int mode = 0; mode < 3; mode++) {
                        /* 1 thread; 3 threads sharing the groups out with stealing (default
                         * pieces; pieces of one group, so threads take from each other's ranges) */
                        const int nth = mode ? 3 : 1;
                        if (nth == 3 && n != 1 && n != 9) continue;
                        kern_set_piece_bytes(mode == 2 ? 1 : -1);
                        /* one token over packed tiles: the stream prefetched 4 KB ahead, not
                         * at all, and the CPU's default (the same bits each way) */
                        kern_set_stream_prefetch(mode == 0 ? 4096 : mode == 1 ? 0 : -1);
                        for (int64_t i = 0; i < n * ldy; i++) y[i] = NAN;
                        const int64_t r0 = pk == 2 ? 16 : 0;
                        struct kern_mat mv = {type, w + rb * (size_t)r0, rows - r0, cols,
                                              pk ? pkw + (size_t)(r0 / 16) * ptile : NULL};
                        omp_set_num_threads(nth);
                        kern_matmul_ops(ops, &mv, x, ldx, n, y + r0, ldy, scr);
                        omp_set_num_threads(2);
                        kern_set_piece_bytes(-1);
                        kern_set_stream_prefetch(-1);
                        int64_t bad = 0, gap = 0;
                        for (int64_t t = 0; t < n; t++) {
                            for (int64_t r = r0; r < rows; r++) bad += memcmp(&ev[t * rows + r], &y[t * ldy + r], 4) != 0;
                            for (int64_t r = 0; r < r0; r++) gap += !isnan(y[t * ldy + r]);
                            for (int64_t r = rows; r < ldy; r++) gap += !isnan(y[t * ldy + r]);
                        }
                        checked += n * (rows - r0);
                        checked_pk += pk ? n * (rows - r0) : 0;
                        T_CHECK(bad == 0 && gap == 0,
                                "%s%s %s cols %lld n %lld threads %d%s: %lld of %lld outputs differ from per-token vec_dot, "
                                "%lld padding cells written",
                                ops->name, pk ? " packed" : "", dtype_name(type), (long long)cols, (long long)n, nth,
                                mode == 2 ? " (one-group pieces)" : "",
                                (long long)bad, (long long)(n * (rows - r0)), (long long)gap);
                    }
                }
            }
            free(w), free(x), free(y), free(scr), free(xq), free(ev), free(pkw);
        }
        printf("  %-5s %lld outputs bit-equal to vec_dot (n = 1 .. 131, 1 and 3 threads, pieces of one group too, "
               "stream prefetch 4 KB / none / default), %lld of them packed\n",
               dtype_name(type), (long long)checked, (long long)checked_pk);
    }
}

/* Inside an OpenMP team (each thread calling kern_matmul) the result equals
 * the call from outside, bit for bit: each output is one vec_dot whatever
 * the row split. */
static void test_matmul_in_team(void) {
    const int types[] = {DT_Q4_0, DT_Q4_K, DT_F16};
    for (int ti = 0; ti < 3; ti++) {
        int type = types[ti];
        int64_t rows = 67, cols = dtype_block_elems(type) == 256 ? 512 : 224, n = 5;
        uint8_t *w = make_weights(type, rows, cols, 0, 11);
        struct kern_mat m = {type, w, rows, cols, NULL};
        float *x = xalloc((size_t)(n * cols) * 4), *y0 = xalloc((size_t)(n * rows) * 4),
              *y1 = xalloc((size_t)(n * rows) * 4);
        make_acts(x, n, cols, cols, 12);
        void *scr = xalloc(kern_matmul_scratch(&m, n));
        kern_matmul(&m, x, cols, n, y0, rows, scr);
        for (int nth = 2; nth <= 3; nth++) {
            for (int64_t i = 0; i < n * rows; i++) y1[i] = NAN;
            int seen = 0, team = 0;
#pragma omp parallel num_threads(nth) reduction(+ : seen, team)
            {
                kern_matmul(&m, x, cols, n, y1, rows, scr);
                /* after the call every thread sees the whole result */
                seen += memcmp(y0, y1, (size_t)(n * rows) * 4) == 0;
                team += 1;
            }
            T_CHECK(seen == team, "%s: %d of %d threads saw the full result", dtype_name(type), seen, team);
            T_CHECK(memcmp(y0, y1, (size_t)(n * rows) * 4) == 0, "%s team of %d differs", dtype_name(type), nth);
        }
        free(w), free(x), free(y0), free(y1), free(scr);
    }
}

/* kern_matmul_multi (a layer's q/k/v or gate/up in one parallel region, the
 * input quantized once): every output equals kern_matmul_ops of its matrix
 * alone, bit for bit - sets that fuse (one type, or Q4_K with Q6_K: one
 * activation type; in place and packed, row counts that are not multiples
 * of 16, 1-9 tokens) and a set of three activation types that falls back to
 * one call each. */
static void test_matmul_multi(void) {
    const struct kern_ops *ops = kern_active();
    /* same type; mixed types with one activation type (fused: Q4_K_M's q/k/v);
     * mixed activation types (one call each) */
    const int sets[][3] = {{DT_Q8_0, DT_Q8_0, DT_Q8_0}, {DT_Q4_0, DT_Q4_0, DT_Q4_0}, {DT_Q4_K, DT_Q4_K, DT_Q4_K},
                           {DT_Q4_K, DT_Q6_K, DT_Q4_K}, {DT_Q8_0, DT_Q4_K, DT_Q4_0}};
    const int64_t rows[3] = {300, 72, 41}, ns[3] = {1, 3, 9};
    const int64_t steals0 = kern_steal_count();
    for (size_t si = 0; si < sizeof(sets) / sizeof(sets[0]); si++)
        for (int packed = 0; packed < 2; packed++)
            for (int ni = 0; ni < 3; ni++) {
                const int64_t n = ns[ni], cols = dtype_block_elems(sets[si][0]) == 256 ? 1024 : 768;
                struct kern_mat m[3];
                void *pk[3] = {NULL, NULL, NULL};
                float *y0[3], *y1[3], *x = xalloc((size_t)(n * cols) * 4);
                int64_t ld[3];
                size_t scr_b = 64;
                make_acts(x, n, cols, cols, 90 + (unsigned long long)ni);
                for (int i = 0; i < 3; i++) {
                    m[i] = (struct kern_mat){sets[si][i], make_weights(sets[si][i], rows[i], cols, 0, 80 + (unsigned long long)(3 * si + i)),
                                             rows[i], cols, NULL};
                    if (packed && kern_pack_bytes(&m[i]) && (pk[i] = xalloc(kern_pack_bytes(&m[i])))) {
                        kern_pack(&m[i], pk[i]);
                        m[i].pk = pk[i];
                    }
                    ld[i] = rows[i] + 3;
                    y0[i] = xalloc((size_t)(n * ld[i]) * 4);
                    y1[i] = xalloc((size_t)(n * ld[i]) * 4);
                    for (int64_t k = 0; k < n * ld[i]; k++) y0[i][k] = y1[i][k] = 0.0f;
                    if (kern_matmul_scratch(&m[i], n) > scr_b) scr_b = kern_matmul_scratch(&m[i], n);
                }
                void *scr = xalloc(scr_b);
                for (int i = 0; i < 3; i++) kern_matmul_ops(ops, &m[i], x, cols, n, y0[i], ld[i], scr);
                /* default pieces, then pieces of one row group (the threads take from each other's ranges) */
                for (int sp = 0; sp < 2; sp++) {
                    kern_set_piece_bytes(sp ? 1 : -1);
                    for (int i = 0; i < 3; i++)
                        for (int64_t k = 0; k < n * ld[i]; k++) y1[i][k] = 0.0f;
                    kern_matmul_multi(ops, 3, m, x, cols, n, y1, ld, scr);
                    int same = 1;
                    for (int i = 0; i < 3; i++) same &= !memcmp(y0[i], y1[i], (size_t)(n * ld[i]) * 4);
                    T_CHECK(same, "multi %s/%s/%s%s n %lld%s differs from one call each", dtype_name(sets[si][0]),
                            dtype_name(sets[si][1]), dtype_name(sets[si][2]), packed ? " packed" : "", (long long)n,
                            sp ? " (one-group pieces)" : "");
                }
                kern_set_piece_bytes(-1);
                for (int i = 0; i < 3; i++) free((void *)m[i].data), free(pk[i]), free(y0[i]), free(y1[i]);
                free(x), free(scr);
            }
    /* the one-group pieces did make threads take from each other's ranges */
    T_CHECK(kern_steal_count() > steals0, "no piece was taken from another thread's range");
    printf("  %lld pieces taken from another thread's range\n", (long long)(kern_steal_count() - steals0));
}

/* kern_matmul_local: every thread of a team multiplies its own matrix (no
 * barriers, so different shapes and n per thread are fine); each result
 * equals kern_matmul_ops of the same variant (called outside the team) bit
 * for bit. */
static void test_matmul_local(void) {
    enum { NJ = 6 };
    const int types[NJ] = {DT_Q8_0, DT_Q4_0, DT_Q4_1, DT_Q4_K, DT_Q6_K, DT_F16};
    const int64_t ns[NJ] = {1, 3, 9, 1, 8, 4};
    struct kern_mat m[NJ];
    float *x[NJ], *y0[NJ], *y1[NJ];
    void *s0[NJ], *s1[NJ];
    for (int jb = 0; jb < NJ; jb++) {
        int type = types[jb];
        int64_t n = ns[jb], rows = 37 + jb, be = dtype_block_elems(type);
        int64_t cols = be == 1 ? 301 : be * (be == 256 ? 5 : 44);
        m[jb] = (struct kern_mat){type, make_weights(type, rows, cols, jb & 1, 70 + (unsigned long long)jb), rows, cols, NULL};
        x[jb] = xalloc((size_t)(n * cols) * 4);
        y0[jb] = xalloc((size_t)(n * rows) * 4);
        y1[jb] = xalloc((size_t)(n * rows) * 4);
        make_acts(x[jb], n, cols, cols, 80 + (unsigned long long)jb);
        s0[jb] = xalloc(kern_matmul_scratch(&m[jb], n));
        s1[jb] = xalloc(kern_matmul_scratch(&m[jb], n));
    }
    for (int v = 0; v < n_variants; v++) {
        const struct kern_ops *ops = variants[v];
        for (int jb = 0; jb < NJ; jb++) {
            for (int64_t i = 0; i < ns[jb] * m[jb].rows; i++) y0[jb][i] = y1[jb][i] = NAN;
            kern_matmul_ops(ops, &m[jb], x[jb], m[jb].cols, ns[jb], y0[jb], m[jb].rows, s0[jb]);
        }
#pragma omp parallel for num_threads(3) schedule(dynamic, 1)
        for (int jb = 0; jb < NJ; jb++)
            kern_matmul_local(ops, &m[jb], x[jb], m[jb].cols, ns[jb], y1[jb], m[jb].rows, s1[jb]);
        for (int jb = 0; jb < NJ; jb++)
            T_CHECK(memcmp(y0[jb], y1[jb], (size_t)(ns[jb] * m[jb].rows) * 4) == 0,
                    "%s %s: kern_matmul_local differs from kern_matmul_ops", ops->name, dtype_name(types[jb]));
    }
    for (int jb = 0; jb < NJ; jb++) free((void *)m[jb].data), free(x[jb]), free(y0[jb]), free(y1[jb]), free(s0[jb]), free(s1[jb]);
}

/* swiglu (g = silu(g) * u) of every variant against the double-precision
 * formula: inputs over the exp's range and past its clamp (|g| up to 100),
 * lengths that leave every tail of a 16-lane vector, nothing written past n. */
static void test_swiglu(void) {
    enum { NMAX = 70, GUARD = 16 };
    static const float special[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 87.0f, -87.0f, 88.5f, -88.5f, 100.0f, -100.0f,
                                    20.0f, -20.0f, 0.5f, -0.5f};
    unsigned long long rs = 0x5eed5eedULL;
    float g0[NMAX], u[NMAX], g[NMAX + GUARD];
    for (int v = 0; v < n_variants; v++) {
        T_CHECK(variants[v]->swiglu != NULL || v > 0, "%s has no swiglu", variants[v]->name);
        kern_swiglu_fn fn = variants[v]->swiglu ? variants[v]->swiglu : kern_ops_ref.swiglu;
        long long bad = 0, over = 0;
        double worst = 0.0;
        for (int n = 0; n <= NMAX; n++) {
            for (int i = 0; i < n; i++) {
                const int k = (int)(t_rand_u32(&rs) % 4);
                g0[i] = k == 0 ? special[t_rand_u32(&rs) % (sizeof(special) / sizeof(special[0]))]
                        : k == 1 ? 30.0f * t_rand_f32(&rs)
                                 : 4.0f * t_rand_f32(&rs);
                u[i] = 3.0f * t_rand_f32(&rs);
            }
            memcpy(g, g0, (size_t)n * sizeof(float));
            for (int i = n; i < n + GUARD; i++) g[i] = 12345.0f;
            fn(g, u, n);
            for (int i = 0; i < n; i++) {
                const double x = (double)g0[i], e = x / (1.0 + exp(-x)) * (double)u[i];
                /* a few ulp of the result; below 1e-30 in size (g < -65: the
                 * vector exp clamps its argument at 88) any tiny value will do */
                const double err = fabs((double)g[i] - e), tol = 4.0 * 1.2e-7 * fabs(e) + 1e-30;
                if (!(err <= tol)) bad++;
                if (fabs(e) > 1e-30 && err / fabs(e) > worst) worst = err / fabs(e);
            }
            for (int i = n; i < n + GUARD; i++) over += g[i] != 12345.0f;
        }
        printf("  %s swiglu: worst relative error %.3g\n", variants[v]->name, worst);
        T_CHECK(bad == 0, "%s swiglu: %lld results off the double formula by more than 4 ulp", variants[v]->name, bad);
        T_CHECK(over == 0, "%s swiglu: %lld floats written past n", variants[v]->name, over);
    }
}

/* kern_swiglu on 2 and 3 threads, lengths from the split threshold up (the
 * pieces' ends fall inside 16-lane vectors for 3 threads): the same bits as
 * one call of the active swiglu over the whole range, nothing written past n. */
static void test_swiglu_split(void) {
    const int64_t lens[] = {32768, 32769, 100003};
    const kern_swiglu_fn fn = kern_active()->swiglu;
    for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
        const int64_t n = lens[li];
        float *g0 = xalloc((size_t)n * sizeof(float)), *u = xalloc((size_t)n * sizeof(float));
        float *a = xalloc((size_t)(n + 16) * sizeof(float)), *b = xalloc((size_t)(n + 16) * sizeof(float));
        unsigned long long rs = 0xabcdefULL + (unsigned long long)n;
        for (int64_t i = 0; i < n; i++) g0[i] = 8.0f * t_rand_f32(&rs), u[i] = 2.0f * t_rand_f32(&rs);
        memcpy(a, g0, (size_t)n * sizeof(float));
        fn(a, u, n);
        for (int nth = 2; nth <= 3; nth++) {
            memcpy(b, g0, (size_t)n * sizeof(float));
            for (int i = 0; i < 16; i++) b[n + i] = 12345.0f;
            omp_set_num_threads(nth);
            kern_swiglu(b, u, n);
            omp_set_num_threads(2);
            int64_t diff = 0, over = 0;
            for (int64_t i = 0; i < n; i++) diff += memcmp(&a[i], &b[i], sizeof(float)) != 0;
            for (int i = 0; i < 16; i++) over += b[n + i] != 12345.0f;
            T_CHECK(diff == 0 && over == 0, "kern_swiglu n %lld on %d threads: %lld values differ, %lld written past n",
                    (long long)n, nth, (long long)diff, (long long)over);
        }
        free(g0), free(u), free(a), free(b);
    }
}

/* The read-bandwidth probe's loops: each variant the CPU runs gives the sum
 * of a plain one-accumulator loop (mod 2^64) for every length 0..300 and
 * every 8-byte offset in a 64-byte line, on words that wrap the sum; and the
 * probe itself (every loop, checked inside) on a small buffer. */
static void test_membw_sum(void) {
    enum { NMAX = 300, NBIG = 4099 };
    const struct {
        const char *name;
        enum kern_isa isa;
        uint64_t (*fn)(const uint64_t *, size_t);
    } v[] = {{"ref", KERN_ISA_REF, kern_membw_sum_ref},
             {"avx2", KERN_ISA_AVX2, kern_membw_sum_avx2},
             {"avx512", KERN_ISA_AVX512, kern_membw_sum_avx512},
             {"avx512pf", KERN_ISA_AVX512, kern_membw_sum_avx512_pf}};
    uint64_t *buf = xalloc((NBIG + 8) * sizeof(uint64_t));
    unsigned long long rs = 0x6d656d6277ULL;
    for (int i = 0; i < NBIG + 8; i++) buf[i] = (uint64_t)t_rand_u32(&rs) << 32 | t_rand_u32(&rs);
    for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
        if (!kern_cpu_has(v[k].isa)) {
            printf("  membw %s: not run (CPU)\n", v[k].name);
            continue;
        }
        long bad = 0;
        for (int off = 0; off < 8; off++)
            for (int n = 0; n <= NMAX; n++) {
                uint64_t want = 0;
                for (int i = 0; i < n; i++) want += buf[off + i];
                bad += v[k].fn(buf + off, (size_t)n) != want;
            }
        uint64_t want = 0;
        for (int i = 0; i < NBIG; i++) want += buf[3 + i];
        bad += v[k].fn(buf + 3, NBIG) != want;
        T_CHECK(bad == 0, "membw %s: %ld sums differ from the plain loop", v[k].name, bad);
    }
    free(buf);
    struct kern_membw_result r;
    char err[DC_ERR_LEN];
    const int rc = kern_membw_measure((size_t)4 << 20, 2, &r, err);
    T_CHECK(rc == DC_OK, "membw probe: %s", err);
    if (rc == DC_OK) {
        const int want_readers = 1 + kern_cpu_has(KERN_ISA_AVX2) + 2 * kern_cpu_has(KERN_ISA_AVX512);
        T_CHECK(r.readers == want_readers && r.reader && r.gbs > 0 && r.gbs >= r.median_gbs &&
                    r.checksum == kern_membw_expected_sum(r.bytes),
                "membw probe: %d loops (want %d), reader %s, %.2f / %.2f GB/s", r.readers, want_readers,
                r.reader ? r.reader : "(none)", r.gbs, r.median_gbs);
    }
    T_CHECK(kern_membw_measure(1000, 2, &r, err) == DC_EINVAL, "membw probe took a 1000-byte buffer");
}

/* Misuse gives a status or NaNs, never a crash: a type without a quantizer,
 * a matrix the kernels do not take (Q5_0 has no kernel; Q8_0 rows of 40 are
 * not whole blocks), a row index out of range. */
static void test_bad_input(void) {
    float x[64], y[64];
    uint8_t q[256];
    for (int i = 0; i < 64; i++) x[i] = (float)i;
    T_CHECK(kern_quantize_row_ref(DT_Q5_0, x, q, 32) == DC_EUNSUPPORTED, "Q5_0 quantizer accepted");
    const struct kern_mat bad[2] = {{DT_Q5_0, q, 2, 32, NULL}, {DT_Q8_0, q, 2, 40, NULL}};
    char scratch[256] __attribute__((aligned(64)));
    for (int i = 0; i < 2; i++) {
        T_CHECK(!kern_mat_ok(&bad[i]), "matrix %d accepted", i);
        for (int k = 0; k < 64; k++) y[k] = 0.0f;
        kern_matmul(&bad[i], x, 64, 2, y, 4, scratch);
        kern_matmul_local(kern_active(), &bad[i], x, 64, 2, y + 2, 4, scratch);
        T_CHECK(isnan(y[0]) && isnan(y[1]) && isnan(y[4]) && isnan(y[5]) && isnan(y[2]) && isnan(y[7]),
                "matrix %d: outputs not NaN", i);
    }
    const struct kern_mat ok = {DT_F32, x, 2, 32, NULL};
    T_CHECK(kern_mat_ok(&ok), "f32 matrix rejected");
    kern_get_row(&ok, 2, y);
    T_CHECK(isnan(y[0]) && isnan(y[31]), "row out of range not NaN");
    kern_get_row(&ok, 1, y);
    T_CHECK(y[0] == 32.0f, "row 1 starts with %g", (double)y[0]);
}

int main(void) {
    T_BEGIN("test_kern");
    setup_variants();
    printf("# variants tested:");
    for (int v = 0; v < n_variants; v++) printf(" %s", variants[v]->name);
    printf("\n");
    T_RUN(test_dispatch);
    T_RUN(test_to_float_gguf);
    T_RUN(test_quantize_gguf);
    T_RUN(test_act_quantize);
    T_RUN(test_quant_roundtrip);
    T_RUN(test_vec_dot);
    T_RUN(test_matmul_variants);
    T_RUN(test_matmul_batch_exact);
    T_RUN(test_matmul_float_exact);
    T_RUN(test_matmul_in_team);
    T_RUN(test_matmul_multi);
    T_RUN(test_matmul_local);
    T_RUN(test_swiglu);
    T_RUN(test_swiglu_split);
    T_RUN(test_membw_sum);
    T_RUN(test_bad_input);
    return T_END();
}
