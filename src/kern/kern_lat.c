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

const struct kern_lat_ops kern_lat_ref = {"ref", lat_scores_ref, lat_values_ref, lat_scores_bf16_ref,
                                          lat_values_bf16_ref, kern_lat_softmax_ref};

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
