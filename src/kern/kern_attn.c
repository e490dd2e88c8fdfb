/*
 * kern_attn.c - dense attention: the reference and the variant choice (see
 * kern_attn.h).
 */
#include "kern_attn.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "dtype.h"
#include "kern.h"
#include "kern_attn_impl.h"

/* Element i of K/V row p of the job (f32, or f16 widened). */
static inline float kv_at(const float *x, const uint16_t *x16, int64_t ld, int64_t p, int64_t i) {
    return x16 ? fp16_to_f32(x16[p * ld + i]) : x[p * ld + i];
}

/* Per (token, head): the scores s_p in f32 (dot in order of i), their max,
 * exp(s_p - max), the sum, then o = sum_p (e_p / sum) v_p.  This is the
 * textbook softmax(q K^T * scale) V that HF computes (in f32). */
static void attn_run_ref(const struct kern_attn_job *j, void *scratch) {
    float *sc = scratch; /* [n_pos] */
    const int64_t E = j->E;
    for (int64_t t = 0; t < j->nt; t++) {
        const int64_t n = j->n_pos[t];
        for (int64_t h = 0; h < j->nh; h++) {
            const float *q = j->q + t * j->ldq + h * E;
            float mx = -INFINITY;
            for (int64_t p = 0; p < n; p++) {
                float s = 0.0f;
                for (int64_t i = 0; i < E; i++) s += q[i] * kv_at(j->k, j->k16, j->ldkv, p, i);
                s *= j->scale;
                sc[p] = s;
                if (s > mx) mx = s;
            }
            float sum = 0.0f;
            for (int64_t p = 0; p < n; p++) {
                sc[p] = expf(sc[p] - mx);
                sum += sc[p];
            }
            const float inv = 1.0f / sum;
            float *o = j->o + t * j->ldo + h * E;
            for (int64_t i = 0; i < E; i++) o[i] = 0.0f;
            for (int64_t p = 0; p < n; p++) {
                const float w = sc[p] * inv;
                for (int64_t i = 0; i < E; i++) o[i] += w * kv_at(j->v, j->v16, j->ldkv, p, i);
            }
        }
    }
}

const struct kern_attn_ops kern_attn_ref = {"ref", attn_run_ref};

size_t kern_attn_scratch_bytes(int64_t nh, int64_t E, int64_t n_ctx) {
    (void)nh; /* the variants make passes of at most ATTN_ROWS rows */
    size_t tile = attn_tile_bytes(E);
    size_t ref = ((size_t)n_ctx * sizeof(float) + 63) & ~(size_t)63;
    return tile > ref ? tile : ref;
}

static const struct kern_attn_ops *kern_attn_ops_;
static pthread_once_t kern_attn_once = PTHREAD_ONCE_INIT;

static void kern_attn_init_once(void) {
    const char *name = kern_active()->name;
    if (!strcmp(name, "avx512") && kern_cpu_has(KERN_ISA_AVX512)) kern_attn_ops_ = &kern_attn_avx512;
    else if ((!strcmp(name, "avx512") || !strcmp(name, "avx2")) && kern_cpu_has(KERN_ISA_AVX2))
        kern_attn_ops_ = &kern_attn_avx2;
    else kern_attn_ops_ = &kern_attn_ref;
}

const struct kern_attn_ops *kern_attn_active(void) {
    pthread_once(&kern_attn_once, kern_attn_init_once);
    return kern_attn_ops_;
}
