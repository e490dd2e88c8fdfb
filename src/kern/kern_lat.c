/*
 * kern_lat.c - latent-attention inner loops: the reference and the variant
 * choice (see kern_lat.h).
 */
#include "kern_lat.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "dtype.h"
#include "kern.h"

static void lat_scores_ref(const float *rows, int64_t ldr, int64_t P, const float *q, int64_t ldq, int64_t nh,
                           int64_t W, float scale, float *s, int64_t lds) {
    for (int64_t h = 0; h < nh; h++)
        for (int64_t j = 0; j < P; j++) {
            double acc = 0.0;
            for (int64_t i = 0; i < W; i++) acc += (double)q[h * ldq + i] * (double)rows[j * ldr + i];
            s[h * lds + j] = (float)(acc * (double)scale);
        }
}

static void lat_values_ref(const float *rows, int64_t ldr, int64_t P, const float *p, int64_t ldp, int64_t nh,
                           int64_t R, const float *a, float *o, int64_t ldo) {
    for (int64_t h = 0; h < nh; h++)
        for (int64_t c = 0; c < R; c++) {
            double acc = a ? (double)a[h] * (double)o[h * ldo + c] : 0.0;
            for (int64_t j = 0; j < P; j++) acc += (double)p[h * ldp + j] * (double)rows[j * ldr + c];
            o[h * ldo + c] = (float)acc;
        }
}

static inline double lat_bf16(uint16_t h) {
    uint32_t b = (uint32_t)h << 16;
    float f;
    memcpy(&f, &b, 4);
    return (double)f;
}

static void lat_scores_bf16_ref(const uint16_t *rows, int64_t ldr, int64_t P, const float *q, int64_t ldq,
                                int64_t nh, int64_t W, float scale, float *s, int64_t lds) {
    for (int64_t h = 0; h < nh; h++)
        for (int64_t j = 0; j < P; j++) {
            double acc = 0.0;
            for (int64_t i = 0; i < W; i++) acc += lat_bf16(f32_to_bf16(q[h * ldq + i])) * lat_bf16(rows[j * ldr + i]);
            s[h * lds + j] = (float)(acc * (double)scale);
        }
}

static void lat_values_bf16_ref(const uint16_t *rows, int64_t ldr, int64_t P, const float *p, int64_t ldp,
                                int64_t nh, int64_t R, const float *a, float *o, int64_t ldo) {
    for (int64_t h = 0; h < nh; h++)
        for (int64_t c = 0; c < R; c++) {
            double acc = a ? (double)a[h] * (double)o[h * ldo + c] : 0.0;
            for (int64_t j = 0; j < P; j++) acc += lat_bf16(f32_to_bf16(p[h * ldp + j])) * lat_bf16(rows[j * ldr + c]);
            o[h * ldo + c] = (float)acc;
        }
}

void kern_lat_softmax_ref(float *s, int64_t lds, int64_t nh, int64_t n, float *m, float *l, float *a) {
    for (int64_t h = 0; h < nh; h++) {
        float *sh = s + h * lds, mn = m[h], sum = 0.0f;
        for (int64_t j = 0; j < n; j++)
            if (sh[j] > mn) mn = sh[j];
        a[h] = expf(m[h] - mn);
        for (int64_t j = 0; j < n; j++) sum += sh[j] = expf(sh[j] - mn);
        l[h] = l[h] * a[h] + sum;
        m[h] = mn;
    }
}

/* ---------------------------------------------------------- 8-bit cache */

/* max|x| over n values (NaN left out). */
static float lat_q8_max(const float *x, int64_t n) {
    float mx = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        const float a = fabsf(x[i]);
        if (a > mx) mx = a;
    }
    return mx;
}

/* A part whose max|x| is mx has the codes x * lat_q8_inv(mx), rounded and clamped. */
static inline float lat_q8_inv(float mx) { return mx > 0.0f ? 127.0f / mx : 0.0f; }
/* x's code for inv = lat_q8_inv(max |x|): x inv rounded to nearest, ties to
 * even (what lrintf does in the default rounding mode, without its library
 * call: adding and removing 1.5 x 2^23 leaves the rounded value of any |y| <
 * 2^22), clamped to +-127; a product that is not a number (an overflowed
 * inv) gives -127, as lrintf's result clamped did. */
static inline int8_t lat_q8_code(float x, float inv) {
    if (!isfinite(x)) return 0;
    const float y = x * inv;
    if (y != y) return -127;
    if (y >= 127.0f) return 127;
    if (y <= -127.0f) return -127;
    return (int8_t)(int)((y + 12582912.0f) - 12582912.0f); /* IEEE arithmetic: not folded */
}

void kern_lat_q8_put(uint8_t *k, int8_t *v, float *s, int64_t pos, const float *row, int64_t R, int64_t W) {
    const float mc = lat_q8_max(row, R), mr = lat_q8_max(row + R, W - R), ic = lat_q8_inv(mc), ir = lat_q8_inv(mr);
    const int64_t g = pos / 16, lane = pos % 16;
    uint8_t *kg = k + g * 16 * W;
    for (int64_t i = 0; i < W; i++) {
        const int8_t c = lat_q8_code(row[i], i < R ? ic : ir);
        kg[(i / 4) * 64 + lane * 4 + i % 4] = (uint8_t)(c + 128);
        if (i < R) v[kern_lat_q8_vidx(pos, i, R)] = c;
    }
    s[g * 32 + lane] = mc / 127.0f;
    s[g * 32 + 16 + lane] = mr / 127.0f;
}

void kern_lat_q8_lead(const uint8_t *k, const int8_t *v) {
    for (int64_t o = 0; o < KERN_LAT_Q8_PF; o += 64) {
        __builtin_prefetch(k + o, 0, 2); /* locality 2: prefetcht1, into L2 */
        __builtin_prefetch(v + o, 0, 2);
    }
}

void kern_lat_q8_query(const float *q, int64_t R, int64_t W, int8_t *q8, struct kern_lat_q8_head *qh) {
    const float mc = lat_q8_max(q, R), mr = lat_q8_max(q + R, W - R), ic = lat_q8_inv(mc), ir = lat_q8_inv(mr);
    int32_t bc = 0, br = 0;
    for (int64_t i = 0; i < R; i++) {
        q8[i] = lat_q8_code(q[i], ic);
        bc += q8[i];
    }
    for (int64_t i = R; i < W; i++) {
        q8[i] = lat_q8_code(q[i], ir);
        br += q8[i];
    }
    qh->dc = mc / 127.0f;
    qh->dr = mr / 127.0f;
    qh->bc = 128 * bc;
    qh->br = 128 * br;
}

void kern_lat_scores_q8_ref(const uint8_t *k, const float *sc, int64_t P, const int8_t *q8, int64_t ldq,
                            const struct kern_lat_q8_head *qh, int64_t nh, int64_t R, int64_t W, float scale, float *s,
                            int64_t lds) {
    for (int64_t h = 0; h < nh; h++)
        for (int64_t j = 0; j < P; j++) {
            const uint8_t *kg = k + (j / 16) * 16 * W;
            int64_t ac = 0, ar = 0; /* sums of signed code products */
            for (int64_t i = 0; i < W; i++) {
                const int64_t x = (int64_t)kg[(i / 4) * 64 + (j % 16) * 4 + i % 4] - 128;
                if (i < R) ac += x * q8[h * ldq + i];
                else ar += x * q8[h * ldq + i];
            }
            const double dc = sc[(j / 16) * 32 + j % 16], dr = sc[(j / 16) * 32 + 16 + j % 16];
            s[h * lds + j] = (float)((double)scale * (dc * (double)qh[h].dc * (double)ac + dr * (double)qh[h].dr * (double)ar));
        }
}

/* values_q8 step 1 for one head: the 8-bit probabilities p8[j], j < P, and
 * their scale wmax / 255 (kern_lat.h). */
static float lat_q8_probs(const float *sc, int64_t P, const float *p, uint8_t *p8) {
    float wmax = 0.0f;
    for (int64_t j = 0; j < P; j++) {
        const float w = p[j] * sc[(j / 16) * 32 + j % 16];
        if (w > wmax) wmax = w;
    }
    const float inv = wmax > 0.0f ? 255.0f / wmax : 0.0f;
    for (int64_t j = 0; j < P; j++) {
        const long v = lrintf(p[j] * sc[(j / 16) * 32 + j % 16] * inv);
        p8[j] = (uint8_t)(v > 255 ? 255 : v < 0 ? 0 : v);
    }
    return wmax / 255.0f;
}

void kern_lat_values_q8_ref(const int8_t *v, const float *sc, int64_t P, const float *p, int64_t ldp, int64_t nh,
                            int64_t R, const float *a, float *o, int64_t ldo) {
    uint8_t p8[KERN_LAT_Q8_MAXP];
    if (P > KERN_LAT_Q8_MAXP) P = KERN_LAT_Q8_MAXP;
    for (int64_t h = 0; h < nh; h++) {
        const double ws = lat_q8_probs(sc, P, p + h * ldp, p8);
        for (int64_t c = 0; c < R; c++) {
            int64_t acc = 0;
            for (int64_t j = 0; j < P; j++) acc += (int64_t)p8[j] * v[kern_lat_q8_vidx(j, c, R)];
            const double prev = a ? (double)a[h] * (double)o[h * ldo + c] : 0.0;
            o[h * ldo + c] = (float)(prev + ws * (double)acc);
        }
    }
}

const struct kern_lat_ops kern_lat_ref = {"ref",
                                          lat_scores_ref,
                                          lat_values_ref,
                                          lat_scores_bf16_ref,
                                          lat_values_bf16_ref,
                                          kern_lat_softmax_ref,
                                          kern_lat_scores_q8_ref,
                                          kern_lat_values_q8_ref,
                                          kern_lat_q8_query};

static const struct kern_lat_ops *kern_lat_ops_;
static pthread_once_t kern_lat_once = PTHREAD_ONCE_INIT;

static void kern_lat_init_once(void) {
    const char *name = kern_active()->name;
    if (!strcmp(name, "avx512") && kern_cpu_has(KERN_ISA_AVX512)) kern_lat_ops_ = &kern_lat_avx512;
    else if ((!strcmp(name, "avx512") || !strcmp(name, "avx2")) && kern_cpu_has(KERN_ISA_AVX2))
        kern_lat_ops_ = &kern_lat_avx2;
    else kern_lat_ops_ = &kern_lat_ref;
}

const struct kern_lat_ops *kern_lat_active(void) {
    pthread_once(&kern_lat_once, kern_lat_init_once);
    return kern_lat_ops_;
}
