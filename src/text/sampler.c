/*
 * sampler.c - the sampling chain of sampler.h.
 *
 * Work is proportional to the vocabulary only where the math needs it (the
 * softmax normaliser for top-p and logprobs, the min-p count); ordering is
 * done by quickselect on the (logit desc, id asc) total order and a sort of
 * the selected prefix only, growing the prefix until top-p is satisfied.
 */
#include "sampler.h"

#include <ctype.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gguf.h"

#define TOPP_FIRST_PREFIX 64 /* candidates sorted in the first top-p round */

struct cand {
    int32_t id;
    float logit;
};

struct smp {
    struct smp_params p;
    int32_t n_vocab;
    float *pen;          /* [n_vocab] penalised logits of the current call */
    struct cand *cand;   /* [n_vocab] working candidates, reordered freely */
    int32_t *count;      /* [n_vocab] times accepted since reset */
    int32_t *seen;       /* [n_vocab] distinct accepted ids; n_seen used */
    int32_t n_seen;
    uint32_t *stamp;     /* [n_vocab] epoch marks: "penalised in this call" */
    uint32_t epoch;
    int32_t ring[SMP_MAX_LAST_N]; /* last accepted tokens, circular */
    int32_t ring_head;            /* next write position */
    int32_t ring_n;               /* valid entries */
    uint64_t rng;                 /* splitmix64 state */
};

/* ------------------------------------------------------------------------ */
/* Parameters                                                                */

void smp_params_default(struct smp_params *p) {
    memset(p, 0, sizeof *p);
    p->temperature = 1.0f;
    p->top_k = 0;
    p->top_p = 1.0f;
    p->min_p = 0.0f;
    p->repeat_penalty = 1.0f;
    p->repeat_last_n = 64;
}

static int ihas(const char *s, const char *sub) {
    size_t n = strlen(sub);
    for (; *s; s++) {
        size_t i = 0;
        while (i < n && s[i] && tolower((unsigned char)s[i]) == tolower((unsigned char)sub[i])) i++;
        if (i == n) return 1;
    }
    return 0;
}

void smp_params_for_model(struct smp_params *p, const char *hint) {
    if (!hint) return;
    /* DeepSeek-R1 model card and generation_config.json: 0.6 / 0.95 (the card
     * recommends 0.5-0.7 to avoid endless repetition). */
    if (ihas(hint, "deepseek") && ihas(hint, "r1")) {
        p->temperature = 0.6f;
        p->top_p = 0.95f;
    }
}

int smp_params_check(const struct smp_params *p, char *err) {
    if (!(p->temperature >= 0.0f) || !isfinite(p->temperature))
        return dc_errf(err, DC_EINVAL, "sampler: temperature %g is not >= 0", (double)p->temperature);
    if (!(p->top_p >= 0.0f && p->top_p <= 1.0f))
        return dc_errf(err, DC_EINVAL, "sampler: top_p %g is not in [0, 1]", (double)p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        return dc_errf(err, DC_EINVAL, "sampler: min_p %g is not in [0, 1]", (double)p->min_p);
    if (!(p->repeat_penalty > 0.0f) || !isfinite(p->repeat_penalty))
        return dc_errf(err, DC_EINVAL, "sampler: repeat_penalty %g is not > 0", (double)p->repeat_penalty);
    if (p->repeat_last_n < -1 || p->repeat_last_n > SMP_MAX_LAST_N)
        return dc_errf(err, DC_EINVAL, "sampler: repeat_last_n %d is not in [-1, %d]", p->repeat_last_n,
                       SMP_MAX_LAST_N);
    if (!isfinite(p->frequency_penalty) || !isfinite(p->presence_penalty))
        return dc_errf(err, DC_EINVAL, "sampler: frequency/presence penalty is not finite");
    if (p->top_logprobs < 0 || p->top_logprobs > SMP_MAX_LOGPROBS)
        return dc_errf(err, DC_EINVAL, "sampler: top_logprobs %d is not in [0, %d]", p->top_logprobs,
                       SMP_MAX_LOGPROBS);
    return DC_OK;
}

/* Reads a number field of a JSON object; 1 if present and numeric. */
static int json_num(json_object *o, const char *key, double *v, int *bad) {
    json_object *x;
    if (!json_object_object_get_ex(o, key, &x) || json_object_is_type(x, json_type_null)) return 0;
    if (!json_object_is_type(x, json_type_double) && !json_object_is_type(x, json_type_int)) {
        *bad = 1;
        return 0;
    }
    *v = json_object_get_double(x);
    return 1;
}

int smp_params_from_generation_config(struct smp_params *p, const char *text, char *err) {
    enum json_tokener_error jerr;
    json_object *o = json_tokener_parse_verbose(text, &jerr);
    struct smp_params q = *p;
    int rc = DC_OK, bad = 0;
    double v;
    if (!o || !json_object_is_type(o, json_type_object)) {
        rc = dc_errf(err, DC_EFORMAT, "generation_config: not a JSON object (%s)",
                     o ? "wrong type" : json_tokener_error_desc(jerr));
        goto fail;
    }
    if (json_num(o, "temperature", &v, &bad)) q.temperature = (float)v;
    if (json_num(o, "top_p", &v, &bad)) q.top_p = (float)v;
    if (json_num(o, "min_p", &v, &bad)) q.min_p = (float)v;
    if (json_num(o, "repetition_penalty", &v, &bad)) q.repeat_penalty = (float)v;
    if (json_num(o, "top_k", &v, &bad)) {
        if (v != floor(v) || fabs(v) > 1e9) bad = 1;
        else q.top_k = (int32_t)v;
    }
    json_object *ds;
    if (json_object_object_get_ex(o, "do_sample", &ds) && json_object_is_type(ds, json_type_boolean) &&
        !json_object_get_boolean(ds))
        q.temperature = 0.0f; /* HF: do_sample false means greedy search */
    if (bad) {
        rc = dc_errf(err, DC_EFORMAT, "generation_config: a sampling field has a non-numeric value");
        goto fail;
    }
    if (smp_params_check(&q, err) != DC_OK) {
        rc = DC_EFORMAT;
        goto fail;
    }
    *p = q;
fail:
    if (o) json_object_put(o);
    return rc;
}

/* One general.sampling.* float: DC_OK (set or absent) or DC_EFORMAT. */
static int gguf_f(const struct gguf *g, const char *key, float *dst, char *err) {
    double d;
    int rc = gguf_get_float(g, key, &d);
    if (rc == DC_ENOTFOUND) return DC_OK;
    if (rc != DC_OK || !isfinite(d)) return dc_errf(err, DC_EFORMAT, "gguf: %s has a bad value", key);
    *dst = (float)d;
    return DC_OK;
}

static int gguf_i(const struct gguf *g, const char *key, int32_t *dst, char *err) {
    int64_t v;
    int rc = gguf_get_int(g, key, &v);
    if (rc == DC_ENOTFOUND) return DC_OK;
    if (rc != DC_OK || v < INT32_MIN || v > INT32_MAX)
        return dc_errf(err, DC_EFORMAT, "gguf: %s has a bad value", key);
    *dst = (int32_t)v;
    return DC_OK;
}

int smp_params_from_gguf(struct smp_params *p, const struct gguf *g, char *err) {
    struct smp_params q = *p;
    int rc;
    if ((rc = gguf_f(g, "general.sampling.temp", &q.temperature, err)) ||
        (rc = gguf_f(g, "general.sampling.top_p", &q.top_p, err)) ||
        (rc = gguf_f(g, "general.sampling.min_p", &q.min_p, err)) ||
        (rc = gguf_f(g, "general.sampling.penalty_repeat", &q.repeat_penalty, err)) ||
        (rc = gguf_i(g, "general.sampling.top_k", &q.top_k, err)) ||
        (rc = gguf_i(g, "general.sampling.penalty_last_n", &q.repeat_last_n, err)))
        return rc;
    if (smp_params_check(&q, err) != DC_OK) return DC_EFORMAT;
    *p = q;
    return DC_OK;
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                 */

int smp_create(struct smp **out, int32_t n_vocab, const struct smp_params *p, char *err) {
    struct smp *s = NULL;
    int rc;
    *out = NULL;
    if (n_vocab <= 0) return dc_errf(err, DC_EINVAL, "sampler: n_vocab %d", n_vocab);
    if ((rc = smp_params_check(p, err)) != DC_OK) return rc;
    s = calloc(1, sizeof *s);
    if (!s) goto oom;
    size_t n = (size_t)n_vocab;
    s->pen = malloc(n * sizeof *s->pen);
    s->cand = malloc(n * sizeof *s->cand);
    s->count = calloc(n, sizeof *s->count);
    s->seen = malloc(n * sizeof *s->seen);
    s->stamp = calloc(n, sizeof *s->stamp);
    if (!s->pen || !s->cand || !s->count || !s->seen || !s->stamp) goto oom;
    s->n_vocab = n_vocab;
    s->p = *p;
    smp_reset(s, p->seed);
    *out = s;
    return DC_OK;
oom:
    smp_free(s);
    return dc_errf(err, DC_ENOMEM, "sampler: out of memory for %d candidates", n_vocab);
}

void smp_free(struct smp *s) {
    if (!s) return;
    free(s->pen);
    free(s->cand);
    free(s->count);
    free(s->seen);
    free(s->stamp);
    free(s);
}

int smp_set_params(struct smp *s, const struct smp_params *p, char *err) {
    int rc = smp_params_check(p, err);
    if (rc == DC_OK) s->p = *p;
    return rc;
}

void smp_reset(struct smp *s, uint64_t seed) {
    for (int32_t i = 0; i < s->n_seen; i++) s->count[s->seen[i]] = 0;
    s->n_seen = 0;
    s->ring_head = s->ring_n = 0;
    s->rng = seed;
}

int smp_accept(struct smp *s, int32_t t) {
    if (t < 0 || t >= s->n_vocab) return DC_EINVAL;
    if (s->count[t]++ == 0) s->seen[s->n_seen++] = t;
    s->ring[s->ring_head] = t;
    s->ring_head = (s->ring_head + 1) % SMP_MAX_LAST_N;
    if (s->ring_n < SMP_MAX_LAST_N) s->ring_n++;
    return DC_OK;
}

/* ------------------------------------------------------------------------ */
/* Ordering helpers                                                          */

/* Total order: higher logit first, lower id first among equal logits. */
static int better(const struct cand *a, const struct cand *b) {
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int cmp_cand(const void *x, const void *y) {
    const struct cand *a = x, *b = y;
    return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

static void swap_c(struct cand *a, struct cand *b) {
    struct cand t = *a;
    *a = *b;
    *b = t;
}

/* Rearranges a[0..n) so that a[0..k) hold the k best candidates (any order).
 * Quickselect with a median-of-three pivot; keys are distinct (ids differ). */
static void select_top(struct cand *a, size_t n, size_t k) {
    size_t lo = 0, hi = n; /* the k-th best lies in [lo, hi) */
    if (k == 0 || k >= n) return;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2, last = hi - 1;
        if (better(&a[mid], &a[lo])) swap_c(&a[mid], &a[lo]);
        if (better(&a[last], &a[lo])) swap_c(&a[last], &a[lo]);
        if (better(&a[mid], &a[last])) swap_c(&a[mid], &a[last]);
        /* a[last] is now the median of the three: the pivot */
        size_t store = lo;
        for (size_t i = lo; i < last; i++)
            if (better(&a[i], &a[last])) swap_c(&a[i], &a[store++]);
        swap_c(&a[store], &a[last]);
        if (store == k - 1 || store == k) return; /* a[0..k) are the best k */
        if (store > k) hi = store;
        else lo = store + 1;
    }
}

static uint64_t rng_next(uint64_t *s) { /* splitmix64 (Steele, Lea, Flood 2014) */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_uniform(uint64_t *s) { /* [0, 1) with 53 random bits */
    return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* ------------------------------------------------------------------------ */
/* The chain                                                                 */

static void apply_penalties(struct smp *s) {
    const struct smp_params *p = &s->p;
    int32_t window = p->repeat_last_n < 0 ? SMP_MAX_LAST_N : p->repeat_last_n;
    if (window > s->ring_n) window = s->ring_n;
    if (p->repeat_penalty != 1.0f && window > 0) {
        if (++s->epoch == 0) { /* wrapped: old marks could collide */
            memset(s->stamp, 0, (size_t)s->n_vocab * sizeof *s->stamp);
            s->epoch = 1;
        }
        for (int32_t j = 0; j < window; j++) {
            int32_t t = s->ring[(s->ring_head - 1 - j + 2 * SMP_MAX_LAST_N) % SMP_MAX_LAST_N];
            if (s->stamp[t] == s->epoch) continue; /* once per distinct token */
            s->stamp[t] = s->epoch;
            s->pen[t] = s->pen[t] > 0.0f ? s->pen[t] / p->repeat_penalty : s->pen[t] * p->repeat_penalty;
        }
    }
    if (p->frequency_penalty != 0.0f || p->presence_penalty != 0.0f) {
        for (int32_t i = 0; i < s->n_seen; i++) {
            int32_t t = s->seen[i];
            s->pen[t] -= (float)s->count[t] * p->frequency_penalty + p->presence_penalty;
        }
    }
}

/* Fills the logprob fields from the penalised logits (temperature 1). */
static void fill_logprobs(struct smp *s, double lmax, struct smp_result *res) {
    size_t n = (size_t)s->n_vocab, k = (size_t)s->p.top_logprobs;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += exp((double)s->pen[i] - lmax);
    double lse = lmax + log(sum);
    if (s->p.logprobs) res->logprob = (float)((double)s->pen[res->id] - lse);
    if (k > n) k = n;
    if (k == 0) return;
    for (size_t i = 0; i < n; i++) s->cand[i] = (struct cand){(int32_t)i, s->pen[i]};
    select_top(s->cand, n, k);
    qsort(s->cand, k, sizeof *s->cand, cmp_cand);
    for (size_t i = 0; i < k; i++)
        res->top[i] = (struct smp_logprob){s->cand[i].id, (float)((double)s->cand[i].logit - lse)};
    res->n_top = (int32_t)k;
}

/* Draws from cand[0..len) with weights exp((logit - lmax) / T). */
static int32_t draw(struct smp *s, size_t len, double lmax, double inv_t) {
    double z = 0.0;
    for (size_t i = 0; i < len; i++) z += exp(((double)s->cand[i].logit - lmax) * inv_t);
    double target = rng_uniform(&s->rng) * z, cum = 0.0;
    for (size_t i = 0; i < len; i++) {
        cum += exp(((double)s->cand[i].logit - lmax) * inv_t);
        if (cum > target) return s->cand[i].id;
    }
    return s->cand[len - 1].id; /* rounding left target at the very top */
}

/* 1 if apply_penalties would change any logit. */
static int penalties_active(const struct smp *s) {
    const struct smp_params *p = &s->p;
    const int32_t window = p->repeat_last_n < 0 ? SMP_MAX_LAST_N : p->repeat_last_n;
    return (p->repeat_penalty != 1.0f && window > 0 && s->ring_n > 0) ||
           ((p->frequency_penalty != 0.0f || p->presence_penalty != 0.0f) && s->n_seen > 0);
}

int smp_sample(struct smp *s, const float *logits, struct smp_result *res, char *err) {
    const struct smp_params *p = &s->p;
    size_t n = (size_t)s->n_vocab;
    memset(res, 0, sizeof *res);
    if (p->temperature <= 0.0f && !p->logprobs && p->top_logprobs <= 0 && !penalties_active(s)) {
        /* greedy with nothing to apply to the logits: the argmax straight from
         * them (the same token: NaN never wins, lowest id on ties) - the
         * maximum with 8 independent running maxima, then its first id */
        float m8[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
        size_t i = 0;
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; k++) m8[k] = logits[i + k] > m8[k] ? logits[i + k] : m8[k];
        for (; i < n; i++) m8[0] = logits[i] > m8[0] ? logits[i] : m8[0];
        float bv = m8[0];
        for (int k = 1; k < 8; k++) bv = m8[k] > bv ? m8[k] : bv;
        if (!isfinite(bv)) return dc_errf(err, DC_EINVAL, "sampler: logits have no finite maximum (%g)", (double)bv);
        size_t best = 0;
        while (logits[best] != bv) best++; /* bv is one of the logits */
        res->id = (int32_t)best;
        return DC_OK;
    }
    for (size_t i = 0; i < n; i++) s->pen[i] = isnan(logits[i]) ? -INFINITY : logits[i];
    apply_penalties(s);

    /* argmax, lowest id on ties: the greedy answer and the softmax shift */
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (s->pen[i] > s->pen[best]) best = i;
    double lmax = (double)s->pen[best];
    if (!isfinite(lmax))
        return dc_errf(err, DC_EINVAL, "sampler: logits have no finite maximum (%g)", lmax);

    if (p->temperature <= 0.0f) {
        res->id = (int32_t)best;
    } else {
        double inv_t = 1.0 / (double)p->temperature;
        for (size_t i = 0; i < n; i++) s->cand[i] = (struct cand){(int32_t)i, s->pen[i]};
        /* top-k: the k best form the candidate set */
        size_t k_len = p->top_k > 0 && (size_t)p->top_k < n ? (size_t)p->top_k : n;
        select_top(s->cand, n, k_len);
        /* one pass over the top-k set: top-p normaliser and min-p count */
        double zk = 0.0, log_min_p = p->min_p > 0.0f ? log((double)p->min_p) : -(double)INFINITY;
        size_t n_minp = 0;
        for (size_t i = 0; i < k_len; i++) {
            double x = ((double)s->cand[i].logit - lmax) * inv_t;
            zk += exp(x);
            n_minp += x >= log_min_p;
        }
        size_t bound = n_minp < k_len ? n_minp : k_len, len = bound;
        if (p->top_p < 1.0f) {
            /* smallest sorted prefix whose mass reaches top_p of the top-k
             * mass (HF TopPLogitsWarper: keep while the mass before < p) */
            double target = (double)p->top_p * zk, cum = 0.0;
            size_t sorted = 0, m = bound < TOPP_FIRST_PREFIX ? bound : TOPP_FIRST_PREFIX;
            len = 0;
            while (!len) {
                select_top(s->cand + sorted, k_len - sorted, m - sorted);
                qsort(s->cand + sorted, m - sorted, sizeof *s->cand, cmp_cand);
                for (size_t i = sorted; i < m && !len; i++) {
                    cum += exp(((double)s->cand[i].logit - lmax) * inv_t);
                    if (cum >= target) len = i + 1;
                }
                sorted = m;
                if (!len && m == bound) len = bound;
                m = 2 * m < bound ? 2 * m : bound;
            }
        } else if (bound < k_len) {
            /* min-p alone: survivors are the tokens above the threshold */
            size_t store = 0;
            for (size_t i = 0; i < k_len; i++)
                if (((double)s->cand[i].logit - lmax) * inv_t >= log_min_p) swap_c(&s->cand[i], &s->cand[store++]);
        }
        res->id = draw(s, len, lmax, inv_t);
    }
    if (p->logprobs || p->top_logprobs > 0) fill_logprobs(s, lmax, res);
    return DC_OK;
}
