/*
 * kern_attn.h - causal softmax attention of the dense models (llama, qwen2)
 * over an f32 or f16 KV cache, one work item at a time.
 *
 * A work item is a block of nt query tokens of one sequence and one KV head
 * with the nh query heads that share it (GQA group).  Token t of the block,
 * head h of the group (t < nt, h < nh, E = head_dim):
 *
 *   q_th = q[t * ldq + h * E + i], i < E          query (already rotated)
 *   k_p  = k[p * ldkv + i], v_p = v[p * ldkv + i] key / value of position p
 *   s_p  = scale * (q_th . k_p)                    for p < n_pos[t]
 *   o[t * ldo + h * E + i] = sum_p softmax(s)_p v_p[i]
 *
 * so token t attends to positions 0 .. n_pos[t] - 1 of its sequence (causal
 * mask by position; n_pos[t] >= 1).  Heads of a group are loaded against each
 * K/V row together, and so are the tokens of a block, which is what the
 * variants exploit: a K/V row is read once per work item, not once per
 * (token, head).
 *
 * kern_attn_ref is plain C in f32 (the spec: scores, max, exp, sum, weighted
 * sum of V).  AVX2 and AVX-512 variants live in kern_attn_avx2.c /
 * kern_attn_avx512.c with their own -m flags; they use an online softmax
 * (running max and rescale per tile of positions), also in f32.  The variant
 * follows the active kernel table's ISA level (DEEPC_KERNELS), like kern_lat.
 */
#ifndef DC_KERN_ATTN_H
#define DC_KERN_ATTN_H

#include <stddef.h>
#include <stdint.h>

/* Most tokens per work item the variants are sized for (callers form blocks
 * of at most this many tokens). */
#define KERN_ATTN_MAX_T 16

/* One work item.  All pointers are borrowed; o must not overlap q, k, v. */
struct kern_attn_job {
    const float *q;       /* [nt][ldq]: token t, head h at q + t * ldq + h * E */
    int64_t ldq;
    float *o;             /* [nt][ldo]: written at o + t * ldo + h * E */
    int64_t ldo;
    const float *k, *v;   /* position p at k + p * ldkv (E floats each) */
    int64_t ldkv;
    const int32_t *n_pos; /* [nt] positions each token attends to, >= 1 */
    int64_t nt;           /* tokens, 1 .. KERN_ATTN_MAX_T */
    int64_t nh;           /* query heads sharing this K/V head, >= 1 */
    int64_t E;            /* head_dim, >= 1 */
    float scale;          /* usually 1 / sqrt(E) */
    /* A 16-bit cache: when k16 is set, K and V are IEEE half values at k16 / v16
     * (same indexing, ldkv in elements) and k, v are not read.  The variants
     * widen each tile's rows to f32 and run as above, so the arithmetic on the
     * widened values is the f32 path's. */
    const uint16_t *k16, *v16;
};

/* Runs one job on the calling thread.  scratch: kern_attn_scratch_bytes()
 * bytes, 64-byte aligned, private to the thread. */
typedef void (*kern_attn_fn)(const struct kern_attn_job *j, void *scratch);

struct kern_attn_ops {
    const char *name;
    kern_attn_fn run;
};

extern const struct kern_attn_ops kern_attn_ref;
/* Only when kern_cpu_has(KERN_ISA_AVX2) / kern_cpu_has(KERN_ISA_AVX512). */
extern const struct kern_attn_ops kern_attn_avx2;
extern const struct kern_attn_ops kern_attn_avx512;

/* The variant matching the active kernel table. */
const struct kern_attn_ops *kern_attn_active(void);

/* Scratch bytes every variant needs for jobs of up to nh heads of E floats
 * attending to up to n_ctx positions (a multiple of 64). */
size_t kern_attn_scratch_bytes(int64_t nh, int64_t E, int64_t n_ctx);

#endif
