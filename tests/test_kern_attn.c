/*
 * test_kern_attn.c - the dense attention kernels (kern_attn.h).
 *
 * kern_attn_ref against an independent double-precision naive attention
 * (scores, max, exp, sum, weighted sum of V, all in double), and every
 * variant the CPU supports against kern_attn_ref, on:
 *   - head_dim 64, 128 and 40 (not a multiple of 16: masked tails),
 *   - GQA groups of 1, 3 and 7 query heads per K/V head,
 *   - 1, 2, 5 and 16 tokens per job (decode, small batches, a prompt block:
 *     1, 2 and 3 vectors of rows per pass, and several passes),
 *   - first positions 0, 37 and 700 (several tiles of 64 positions, tails),
 *   - queries scaled so the softmax is peaky and keys drifting toward the
 *     queries, so the running max of the online softmax moves late and the
 *     rescale is exercised; positions that are not in increasing order
 *     within a job;
 *   - a batch mixing two sequences, cut into jobs as forward.c does; there
 *     every variant must also give each token the same bits as a job of that
 *     token alone (batch invariance, which the engine relies on).
 * Outputs are pre-filled with NaN; the gaps between a token's heads (ldo >
 * nh * E) must stay NaN and the inputs must be unchanged.
 *
 * Threshold (values in [-1, 1]): |o - o_double| <= 2e-5 + 16 * 2^-24 * S for
 * the ref, and the same between a variant and the ref, where S = scale *
 * max_{t,h,p} sum_i |q_i k_pi| bounds the scores' magnitude: an f32 score
 * carries an error of a few ulps of S, and a score error d moves the output
 * by up to ~2 d max|v|.  The floor is a few hundred ulps of the output
 * scale.  Observed maxima are printed: ~1e-7 for ordinary scores, ~4e-6 for
 * the peaky cases (S ~ 25), 1.4e-4 for one-hot softmax with S ~ 560 (bound
 * 5.6e-4).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "kern.h"
#include "kern_attn.h"
#include "test.h"

#define TOL 2e-5

/* scale * max over tokens, heads and attended positions of sum_i |q_i k_pi|. */
static double score_bound(const struct kern_attn_job *j) {
    double mx = 0.0;
    for (int64_t t = 0; t < j->nt; t++)
        for (int64_t h = 0; h < j->nh; h++)
            for (int64_t p = 0; p < j->n_pos[t]; p++) {
                double a = 0.0;
                for (int64_t i = 0; i < j->E; i++)
                    a += fabs((double)j->q[t * j->ldq + h * j->E + i] * (double)j->k[p * j->ldkv + i]);
                if (a > mx) mx = a;
            }
    return mx * (double)j->scale;
}

static const struct kern_attn_ops *variants[3];
static int n_variants;

static void *xalloc(size_t n) {
    void *p = aligned_alloc(64, (n + 63) & ~(size_t)63);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* Double-precision naive attention of one job (independent of the kernels). */
static void attn_double(const struct kern_attn_job *j, double *out /* [nt][nh][E] */) {
    const int64_t E = j->E;
    int64_t nmax = 1;
    for (int64_t t = 0; t < j->nt; t++)
        if (j->n_pos[t] > nmax) nmax = j->n_pos[t];
    double *s = malloc((size_t)nmax * sizeof(double));
    for (int64_t t = 0; t < j->nt; t++)
        for (int64_t h = 0; h < j->nh; h++) {
            const float *q = j->q + t * j->ldq + h * E;
            const int64_t n = j->n_pos[t];
            double mx = -(double)INFINITY, sum = 0.0;
            for (int64_t p = 0; p < n; p++) {
                double d = 0.0;
                for (int64_t i = 0; i < E; i++) d += (double)q[i] * (double)j->k[p * j->ldkv + i];
                s[p] = d * (double)j->scale;
                if (s[p] > mx) mx = s[p];
            }
            for (int64_t p = 0; p < n; p++) sum += (s[p] = exp(s[p] - mx));
            double *o = out + (t * j->nh + h) * E;
            for (int64_t i = 0; i < E; i++) {
                double a = 0.0;
                for (int64_t p = 0; p < n; p++) a += s[p] * (double)j->v[p * j->ldkv + i];
                o[i] = a / sum;
            }
        }
    free(s);
}

struct data {
    float *q, *k, *v, *o;
    uint16_t *k16, *v16; /* f16 cases: K and V as half, k and v then hold the same values widened */
    int64_t P, ldkv, ldq, ldo;
};

/* An f16 cache: K and V rounded to half (k16, v16), k and v set to exactly
 * those values, so the double reference sees what the kernels see. */
static void to_f16(struct data *d) {
    d->k16 = malloc((size_t)(d->P * d->ldkv) * sizeof(uint16_t));
    d->v16 = malloc((size_t)(d->P * d->ldkv) * sizeof(uint16_t));
    for (int64_t i = 0; i < d->P * d->ldkv; i++) {
        d->k16[i] = f32_to_fp16(d->k[i]);
        d->v16[i] = f32_to_fp16(d->v[i]);
        d->k[i] = fp16_to_f32(d->k16[i]);
        d->v[i] = fp16_to_f32(d->v16[i]);
    }
}

/* K/V cache of P positions with ldkv > E (other heads' columns), queries of
 * nt tokens x nh heads with ldq > nh E.  qscale makes the softmax peaky;
 * keys drift by p * drift along a direction the queries share. */
static void fill(struct data *d, int64_t P, int64_t E, int64_t nt, int64_t nh, float qscale, float drift,
                 unsigned long long *rng) {
    d->P = P;
    d->ldkv = 3 * E + 7;
    d->ldq = nh * E + 3;
    d->ldo = nh * E + 5;
    d->k = xalloc((size_t)(P * d->ldkv) * sizeof(float));
    d->v = xalloc((size_t)(P * d->ldkv) * sizeof(float));
    d->q = xalloc((size_t)(nt * d->ldq) * sizeof(float));
    d->o = xalloc((size_t)(nt * d->ldo) * sizeof(float));
    d->k16 = d->v16 = NULL;
    for (int64_t i = 0; i < P * d->ldkv; i++) {
        d->k[i] = t_rand_f32(rng);
        d->v[i] = t_rand_f32(rng);
    }
    for (int64_t p = 0; p < P; p++)
        for (int64_t i = 0; i < E; i++) { /* kept within [-1, 1] */
            float *k = d->k + p * d->ldkv + i;
            *k = 0.5f * *k + 0.5f * (float)p / (float)P * drift * ((i & 1) ? 1.0f : -1.0f);
        }
    for (int64_t i = 0; i < nt * d->ldq; i++) {
        const int64_t c = (i % d->ldq) % E;
        d->q[i] = qscale * (0.5f * t_rand_f32(rng) + 0.5f * ((c & 1) ? 1.0f : -1.0f));
    }
}

static void free_data(struct data *d) {
    free(d->q);
    free(d->k);
    free(d->v);
    free(d->o);
    free(d->k16);
    free(d->v16);
}

static struct kern_attn_job make_job(const struct data *d, const int32_t *n_pos, int64_t nt, int64_t nh, int64_t E) {
    struct kern_attn_job j = {d->q, d->ldq, d->o, d->ldo, d->k, d->v, d->ldkv, n_pos, nt, nh, E,
                              1.0f / sqrtf((float)E), NULL, NULL};
    return j;
}

/* Runs ops on the job with NaN-prefilled output; returns max |o - ref| over
 * the outputs (ref: [nt][nh][E]), or +inf if a gap lost its NaN. */
static double run_cmp(const struct kern_attn_ops *ops, const struct kern_attn_job *j, const struct data *d,
                      const double *ref, void *scratch, float *keep) {
    for (int64_t i = 0; i < j->nt * d->ldo; i++) d->o[i] = NAN;
    ops->run(j, scratch);
    double mx = 0.0;
    for (int64_t t = 0; t < j->nt; t++)
        for (int64_t c = 0; c < d->ldo; c++) {
            const float x = d->o[t * d->ldo + c];
            if (c >= j->nh * j->E) {
                if (!isnan(x)) return (double)INFINITY;
                continue;
            }
            const double e = fabs((double)x - ref[t * j->nh * j->E + c]);
            if (!(e <= mx)) mx = isnan(e) ? (double)INFINITY : e;
        }
    if (keep) memcpy(keep, d->o, (size_t)(j->nt * d->ldo) * sizeof(float));
    return mx;
}

static void check_case(int64_t E, int64_t nh, int64_t nt, int64_t pos0, int shuffle, float qscale, float drift,
                       unsigned long long seed, int f16) {
    unsigned long long rng = seed;
    int32_t n_pos[KERN_ATTN_MAX_T];
    int64_t P = 0;
    for (int64_t t = 0; t < nt; t++) {
        /* shuffle: positions not in increasing order (a later token attends to fewer) */
        n_pos[t] = (int32_t)(pos0 + (shuffle ? (t * 7) % nt : t) + 1);
        if (n_pos[t] > P) P = n_pos[t];
    }
    struct data d;
    fill(&d, P, E, nt, nh, qscale, drift, &rng);
    if (f16) to_f16(&d);
    const struct kern_attn_job j = make_job(&d, n_pos, nt, nh, E);
    /* what the kernels get: f16 cases only the half values (k, v unset) */
    struct kern_attn_job jk = j;
    if (f16) {
        jk.k = jk.v = NULL;
        jk.k16 = d.k16;
        jk.v16 = d.v16;
    }
    double *dbl = malloc((size_t)(nt * nh * E) * sizeof(double));
    double *refo = malloc((size_t)(nt * nh * E) * sizeof(double));
    float *keep = malloc((size_t)(nt * d.ldo) * sizeof(float));
    const float *q0 = d.q;
    float qsum = 0.0f;
    for (int64_t i = 0; i < nt * d.ldq; i++) qsum += q0[i];
    attn_double(&j, dbl);
    void *scratch = xalloc(kern_attn_scratch_bytes(nh, E, P));
    const double tol = TOL + 16.0 * ldexp(1.0, -24) * score_bound(&j);
    const double eref = run_cmp(&kern_attn_ref, &jk, &d, dbl, scratch, keep);
    T_CHECK(eref <= tol, "ref vs double: E %lld nh %lld nt %lld pos0 %lld: max err %.3g", (long long)E,
            (long long)nh, (long long)nt, (long long)pos0, eref);
    for (int64_t t = 0; t < nt; t++)
        for (int64_t c = 0; c < nh * E; c++) refo[t * nh * E + c] = (double)keep[t * d.ldo + c];
    char line[256];
    int len = snprintf(line, sizeof(line), "  E %3lld nh %lld nt %2lld pos0 %3lld%s q x%-3g%s tol %.1e: ref-double %.2e",
                       (long long)E, (long long)nh, (long long)nt, (long long)pos0, shuffle ? " shuf" : "     ",
                       (double)qscale, f16 ? " f16" : "    ", tol, eref);
    for (int vi = 1; vi < n_variants; vi++) {
        const double e = run_cmp(variants[vi], &jk, &d, refo, scratch, NULL);
        T_CHECK(e <= tol, "%s vs ref: E %lld nh %lld nt %lld pos0 %lld: max err %.3g", variants[vi]->name,
                (long long)E, (long long)nh, (long long)nt, (long long)pos0, e);
        len += snprintf(line + len, sizeof(line) - (size_t)len, ", %s-ref %.2e", variants[vi]->name, e);
    }
    float qsum2 = 0.0f;
    for (int64_t i = 0; i < nt * d.ldq; i++) qsum2 += d.q[i];
    T_CHECK(qsum == qsum2, "queries changed");
    printf("%s\n", line);
    free(scratch);
    free(keep);
    free(refo);
    free(dbl);
    free_data(&d);
}

static void test_shapes(void) {
    static const int64_t Es[] = {64, 128, 40}, nhs[] = {1, 3, 7}, nts[] = {1, 2, 5, 16}, pos0s[] = {0, 37, 700};
    unsigned long long seed = 1;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 4; c++)
                for (int e = 0; e < 3; e++) {
                    const int64_t E = Es[a], nh = nhs[b], nt = nts[c], pos0 = pos0s[e];
                    for (int f16 = 0; f16 < 2; f16++) {
                        check_case(E, nh, nt, pos0, 0, 1.0f, 0.0f, seed++, f16);
                        if (e == 2) check_case(E, nh, nt, pos0, 1, 8.0f, 1.0f, seed++, f16); /* peaky, drifting, shuffled */
                    }
                }
}

/* Extreme scores: a huge query magnitude makes the softmax one-hot; exp must
 * not overflow and the idle/masked lanes must not produce NaN. */
static void test_peaky(void) {
    for (int f16 = 0; f16 < 2; f16++) {
        check_case(64, 3, 16, 130, 0, 200.0f, 1.0f, 99, f16);
        check_case(64, 3, 1, 300, 0, 200.0f, 1.0f, 98, f16);
        check_case(128, 1, 5, 65, 1, 200.0f, 1.0f, 97, f16);
    }
}

/* A batch of tokens from two sequences (interleaved, positions starting >
 * 0), cut into jobs of consecutive same-sequence tokens (at most
 * KERN_ATTN_MAX_T), as forward.c does; every token's output against the
 * double reference. */
static void mixed_batch_case(const int64_t E, const int64_t nh) {
    const int64_t Hk = 2, T = 40, P = 200;
    const int64_t KW = Hk * E, QW = Hk * nh * E;
    unsigned long long rng = 7;
    float *kc[2], *vc[2], *kr[2], *vr[2];
    uint16_t *kh[2], *vh[2];
    for (int s = 0; s < 2; s++) {
        kc[s] = xalloc((size_t)(P * KW) * sizeof(float));
        vc[s] = xalloc((size_t)(P * KW) * sizeof(float));
        kr[s] = xalloc((size_t)(P * KW) * sizeof(float));
        vr[s] = xalloc((size_t)(P * KW) * sizeof(float));
        kh[s] = xalloc((size_t)(P * KW) * sizeof(uint16_t));
        vh[s] = xalloc((size_t)(P * KW) * sizeof(uint16_t));
        for (int64_t i = 0; i < P * KW; i++) {
            kc[s][i] = t_rand_f32(&rng);
            vc[s][i] = t_rand_f32(&rng);
            kh[s][i] = f32_to_fp16(kc[s][i]);
            vh[s][i] = f32_to_fp16(vc[s][i]);
            kr[s][i] = fp16_to_f32(kh[s][i]);
            vr[s][i] = fp16_to_f32(vh[s][i]);
        }
    }
    float *q = xalloc((size_t)(T * QW) * sizeof(float)), *o = xalloc((size_t)(T * QW) * sizeof(float));
    int32_t seq[40], n_pos[40];
    int64_t next[2] = {50, 120};
    for (int64_t t = 0; t < T; t++) {
        seq[t] = (t % 7 < 4) ? 0 : 1; /* runs of 4 and 3 */
        if (t >= 30) seq[t] = 0;      /* then a run of 10 */
        n_pos[t] = (int32_t)(++next[seq[t]]);
    }
    for (int64_t i = 0; i < T * QW; i++) q[i] = 2.0f * t_rand_f32(&rng);
    void *scratch = xalloc(kern_attn_scratch_bytes(nh, E, P));
    double *dbl = malloc((size_t)(nh * E) * sizeof(double));
    float *o1 = xalloc((size_t)(nh * E) * sizeof(float));
    for (int f16 = 0; f16 < 2; f16++)
        for (int vi = 0; vi < n_variants; vi++) {
            /* the kernels' job for (token block t0..t1-1 or one token, KV head g); f16: half values only */
            for (int64_t i = 0; i < T * QW; i++) o[i] = NAN;
            for (int64_t t0 = 0; t0 < T;) {
                int64_t t1 = t0 + 1;
                while (t1 < T && t1 - t0 < KERN_ATTN_MAX_T && seq[t1] == seq[t0]) t1++;
                for (int64_t g = 0; g < Hk; g++) {
                    const int s = seq[t0];
                    struct kern_attn_job j = {q + t0 * QW + g * nh * E, QW, o + t0 * QW + g * nh * E, QW,
                                              f16 ? NULL : kc[s] + g * E, f16 ? NULL : vc[s] + g * E, KW,
                                              n_pos + t0, t1 - t0, nh, E, 1.0f / 8.0f,
                                              f16 ? kh[s] + g * E : NULL, f16 ? vh[s] + g * E : NULL};
                    variants[vi]->run(&j, scratch);
                }
                t0 = t1;
            }
            double mx = 0.0;
            for (int64_t t = 0; t < T; t++)
                for (int64_t g = 0; g < Hk; g++) {
                    const int s = seq[t];
                    struct kern_attn_job j = {q + t * QW + g * nh * E, QW, NULL, 0, (f16 ? kr[s] : kc[s]) + g * E,
                                              (f16 ? vr[s] : vc[s]) + g * E, KW, n_pos + t, 1, nh, E, 1.0f / 8.0f,
                                              NULL, NULL};
                    attn_double(&j, dbl);
                    for (int64_t c = 0; c < nh * E; c++) {
                        const double e = fabs((double)o[t * QW + g * nh * E + c] - dbl[c]);
                        if (!(e <= mx)) mx = isnan(e) ? (double)INFINITY : e;
                    }
                }
            int n_diff = 0; /* each token alone, one job per token: the same bits */
            for (int64_t t = 0; t < T; t++)
                for (int64_t g = 0; g < Hk; g++) {
                    const int s = seq[t];
                    struct kern_attn_job j = {q + t * QW + g * nh * E, QW, o1, nh * E,
                                              f16 ? NULL : kc[s] + g * E, f16 ? NULL : vc[s] + g * E, KW,
                                              n_pos + t, 1, nh, E, 1.0f / 8.0f,
                                              f16 ? kh[s] + g * E : NULL, f16 ? vh[s] + g * E : NULL};
                    variants[vi]->run(&j, scratch);
                    n_diff += memcmp(o1, o + t * QW + g * nh * E, (size_t)(nh * E) * sizeof(float)) != 0;
                }
            T_CHECK(n_diff == 0, "%s%s: %d (token, KV head) outputs differ between a block and the token alone",
                    variants[vi]->name, f16 ? " f16" : "", n_diff);
            printf("  mixed batch E %3lld nh %lld %s%s: max err vs double %.2e, %d outputs differ from single-token jobs\n",
                   (long long)E, (long long)nh, variants[vi]->name, f16 ? " f16" : "", mx, n_diff);
            T_CHECK(mx <= TOL, "%s%s mixed batch: max err %.3g", variants[vi]->name, f16 ? " f16" : "", mx);
        }
    free(o1);
    free(dbl);
    free(scratch);
    free(q);
    free(o);
    for (int s = 0; s < 2; s++) {
        free(kc[s]);
        free(vc[s]);
        free(kr[s]);
        free(vr[s]);
        free(kh[s]);
        free(vh[s]);
    }
}

/* Blocks of 3, 4 and 10 tokens against each token alone: with nh = 1 .. 7
 * the AVX-512 variant runs blocks of up to 16 (token, head) rows with keys in
 * lanes and larger ones with rows in lanes, so both paths meet a token alone. */
static void test_mixed_batch(void) {
    mixed_batch_case(64, 3);
    mixed_batch_case(128, 6);
    mixed_batch_case(128, 2);
    mixed_batch_case(40, 7);
}

static void test_dispatch(void) {
    const struct kern_attn_ops *a = kern_attn_active();
    const char *want = kern_active()->name;
    T_CHECK(a && !strcmp(a->name, want), "active attention variant %s, kernel table %s", a ? a->name : "-", want);
    T_CHECK(kern_attn_scratch_bytes(3, 64, 100) % 64 == 0, "scratch size not a multiple of 64");
}

int main(void) {
    T_BEGIN("test_kern_attn");
    kern_init();
    n_variants = 0;
    variants[n_variants++] = &kern_attn_ref;
    if (kern_cpu_has(KERN_ISA_AVX2)) variants[n_variants++] = &kern_attn_avx2;
    if (kern_cpu_has(KERN_ISA_AVX512)) variants[n_variants++] = &kern_attn_avx512;
    T_RUN(test_dispatch);
    T_RUN(test_shapes);
    T_RUN(test_peaky);
    T_RUN(test_mixed_batch);
    return T_END();
}
