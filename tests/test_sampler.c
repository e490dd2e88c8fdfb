/*
 * test_sampler.c - the sampling chain against independent double-precision
 * computations written here: argmax, softmax + truncation (distribution
 * checked by a chi-square test over 20k draws), penalties (hand-computed
 * values), log-softmax, seeds, parameter sources.
 */
#include <math.h>

#include "err.h"
#include "gguf.h"
#include "sampler.h"
#include "test.h"

static void rand_logits(float *l, int n, unsigned long long seed, float scale) {
    unsigned long long s = seed;
    for (int i = 0; i < n; i++) l[i] = scale * t_rand_f32(&s);
}

static struct smp *make(int n, const struct smp_params *p) {
    struct smp *s = NULL;
    char err[DC_ERR_LEN];
    int rc = smp_create(&s, n, p, err);
    T_CHECK(rc == DC_OK, "smp_create: %s", err);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Reference: the distribution the chain should draw from, in double.        */

static const float *g_sort_logits;
static int cmp_ref(const void *x, const void *y) {
    int a = *(const int *)x, b = *(const int *)y;
    double la = (double)g_sort_logits[a], lb = (double)g_sort_logits[b];
    if (la != lb) return la > lb ? -1 : 1;
    return a < b ? -1 : 1;
}

/* probs[i] = softmax(l / T) restricted to top-k, then top-p (computed on the
 * renormalised top-k set), then min-p, renormalised; 0 outside the set. */
static void ref_dist(const float *l, int n, double T, int top_k, double top_p, double min_p, double *probs) {
    int *idx = malloc((size_t)n * sizeof *idx);
    double *p = malloc((size_t)n * sizeof *p);
    for (int i = 0; i < n; i++) idx[i] = i;
    g_sort_logits = l;
    qsort(idx, (size_t)n, sizeof *idx, cmp_ref);
    int k = top_k > 0 && top_k < n ? top_k : n;
    double z = 0.0;
    for (int r = 0; r < k; r++) z += exp((double)l[idx[r]] / T);
    for (int r = 0; r < k; r++) p[r] = exp((double)l[idx[r]] / T) / z;
    int keep = k;
    if (top_p < 1.0) { /* keep a token while the mass ranked above it is < top_p */
        double before = 0.0;
        for (int r = 0; r < k; r++) {
            if (!(before < top_p)) {
                keep = r;
                break;
            }
            before += p[r];
        }
    }
    for (int i = 0; i < n; i++) probs[i] = 0.0;
    double pmax = p[0], zz = 0.0;
    for (int r = 0; r < keep; r++)
        if (p[r] >= min_p * pmax) zz += p[r];
    for (int r = 0; r < keep; r++)
        if (p[r] >= min_p * pmax) probs[idx[r]] = p[r] / zz;
    free(idx);
    free(p);
}

/* Upper 1e-4 quantile of chi-square with df degrees (Wilson-Hilferty). */
static double chi2_crit(int df) {
    double z = 3.719, a = 2.0 / (9.0 * df);
    double c = 1.0 - a + z * sqrt(a);
    return df * c * c * c;
}

/* ------------------------------------------------------------------------ */

static void test_greedy_is_argmax_lowest_id(void) {
    struct smp_params p;
    struct smp_result r;
    char err[DC_ERR_LEN];
    smp_params_default(&p);
    p.temperature = 0.0f;
    float ties[6] = {1.0f, 5.0f, 3.0f, 5.0f, -2.0f, 5.0f};
    struct smp *s = make(6, &p);
    if (!s) return;
    T_CHECK(smp_sample(s, ties, &r, err) == DC_OK && r.id == 1, "ties: got %d, want 1", r.id);
    float l[1000];
    for (int t = 0; t < 20; t++) {
        rand_logits(l, 1000, 100 + (unsigned)t, 4.0f);
        int want = 0;
        for (int i = 1; i < 1000; i++)
            if (l[i] > l[want]) want = i;
        smp_free(s);
        s = make(1000, &p);
        smp_sample(s, l, &r, err);
        T_CHECK(r.id == want, "argmax %d, got %d", want, r.id);
    }
    /* NaN counts as -inf; all -inf is an error */
    float nan3[3] = {NAN, -1.0f, -3.0f};
    smp_free(s);
    s = make(3, &p);
    T_CHECK(smp_sample(s, nan3, &r, err) == DC_OK && r.id == 1, "NaN logit chosen (%d)", r.id);
    float inf3[3] = {-INFINITY, -INFINITY, NAN};
    T_CHECK(smp_sample(s, inf3, &r, err) == DC_EINVAL, "all -inf accepted");
    smp_free(s);
    /* long rows (the fast path's 8-wide body and its tail): the maximum tied at
     * ids in different lanes, NaNs around it, zeros of both signs; checked against
     * a plain scan and against the same row sampled with logprobs on (the path
     * that copies and penalises the logits) */
    float big[1003];
    for (int c = 0; c < 4; c++) {
        rand_logits(big, 1003, 300 + (unsigned)c, 4.0f);
        for (int i = 0; i < 1003; i += 37) big[i] = NAN;
        if (c == 0) big[517] = big[14] = big[900] = 50.0f;          /* want 14 */
        if (c == 1) big[1002] = 60.0f;                               /* the tail */
        if (c == 2) for (int i = 0; i < 1003; i++) big[i] = i % 37 ? (i % 2 ? -0.0f : 0.0f) - (float)(i % 5) : NAN;
        if (c == 3) big[8] = big[7] = INFINITY;                      /* no finite maximum */
        int want = -1;
        for (int i = 0; i < 1003; i++)
            if (!isnan(big[i]) && (want < 0 || big[i] > big[want])) want = i;
        s = make(1003, &p);
        int rc = s ? smp_sample(s, big, &r, err) : -1;
        if (c == 3) {
            T_CHECK(rc == DC_EINVAL, "case 3: +inf maximum accepted (rc %d)", rc);
        } else {
            T_CHECK(rc == DC_OK && r.id == want, "case %d: argmax %d, got %d", c, want, r.id);
            struct smp_params pl = p;
            pl.logprobs = 1;
            struct smp *s2 = make(1003, &pl);
            struct smp_result r2;
            T_CHECK(s2 && smp_sample(s2, big, &r2, err) == DC_OK && r2.id == r.id, "case %d: with logprobs %d, without %d",
                    c, r2.id, r.id);
            smp_free(s2);
        }
        smp_free(s);
    }
}

static void test_top_k1_is_argmax(void) {
    struct smp_params p;
    struct smp_result r;
    char err[DC_ERR_LEN];
    smp_params_default(&p);
    p.temperature = 1.5f;
    p.top_k = 1;
    float l[300];
    rand_logits(l, 300, 7, 1.0f);
    l[17] = l[211] = 2.0f; /* a tie for the maximum: lowest id wins */
    struct smp *s = make(300, &p);
    if (!s) return;
    for (uint64_t seed = 0; seed < 200; seed++) {
        smp_reset(s, seed);
        smp_sample(s, l, &r, err);
        T_CHECK(r.id == 17, "seed %llu gave %d", (unsigned long long)seed, r.id);
    }
    /* top_p = 0 and min_p = 1 also keep only the maximum */
    p.top_k = 0;
    p.top_p = 0.0f;
    smp_set_params(s, &p, err);
    smp_sample(s, l, &r, err);
    T_CHECK(r.id == 17, "top_p 0 gave %d", r.id);
    /* min_p 1 keeps every token equal to the maximum: both tied ids */
    p.top_p = 1.0f;
    p.min_p = 1.0f;
    smp_set_params(s, &p, err);
    int n17 = 0, n211 = 0;
    for (int d = 0; d < 100; d++) {
        smp_sample(s, l, &r, err);
        n17 += r.id == 17;
        n211 += r.id == 211;
    }
    T_CHECK(n17 + n211 == 100 && n17 > 20 && n211 > 20, "min_p 1: %d x 17, %d x 211", n17, n211);
    smp_free(s);
}

static void test_seed_reproducible(void) {
    enum { N = 500, STEPS = 300 };
    struct smp_params p;
    struct smp_result r;
    char err[DC_ERR_LEN];
    smp_params_default(&p);
    p.temperature = 0.9f;
    p.top_p = 0.97f;
    static float l[STEPS][N];
    for (int t = 0; t < STEPS; t++) rand_logits(l[t], N, 1000 + (unsigned)t, 2.0f);
    int32_t a[STEPS], b[STEPS], c[STEPS];
    p.seed = 42;
    struct smp *s1 = make(N, &p), *s2 = make(N, &p);
    p.seed = 43;
    struct smp *s3 = make(N, &p);
    if (!s1 || !s2 || !s3) goto done;
    for (int t = 0; t < STEPS; t++) {
        smp_sample(s1, l[t], &r, err), a[t] = r.id;
        smp_sample(s2, l[t], &r, err), b[t] = r.id;
        smp_sample(s3, l[t], &r, err), c[t] = r.id;
    }
    int same_ab = memcmp(a, b, sizeof a) == 0, n_diff_ac = 0;
    for (int t = 0; t < STEPS; t++) n_diff_ac += a[t] != c[t];
    T_CHECK(same_ab, "same seed, different sequences");
    T_CHECK(n_diff_ac > STEPS / 2, "seeds 42 and 43 agree on %d of %d", STEPS - n_diff_ac, STEPS);
    /* smp_reset replays the stream */
    smp_reset(s1, 42);
    int replay = 1;
    for (int t = 0; t < STEPS; t++) {
        smp_sample(s1, l[t], &r, err);
        replay &= r.id == a[t];
    }
    T_CHECK(replay, "reset(42) did not replay the sequence");
done:
    smp_free(s1);
    smp_free(s2);
    smp_free(s3);
}

/* Chi-square of 20k draws against ref_dist for several chain settings. */
static void test_distribution_chi_square(void) {
    enum { N = 60, DRAWS = 20000 };
    static const struct {
        double T;
        int top_k;
        double top_p, min_p;
    } cfg[] = {
        {1.0, 0, 1.0, 0.0},   {0.7, 0, 1.0, 0.0},    {1.3, 10, 1.0, 0.0},   {0.8, 0, 0.9, 0.0},
        {1.0, 0, 1.0, 0.05},  {0.6, 40, 0.95, 0.02}, {2.0, 25, 0.5, 0.0},   {1.1, 0, 0.8, 0.1},
    };
    float l[N];
    double ref[N];
    int count[N];
    char err[DC_ERR_LEN];
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        rand_logits(l, N, 500 + c, 3.0f);
        ref_dist(l, N, cfg[c].T, cfg[c].top_k, cfg[c].top_p, cfg[c].min_p, ref);
        struct smp_params p;
        smp_params_default(&p);
        p.temperature = (float)cfg[c].T;
        p.top_k = cfg[c].top_k;
        p.top_p = (float)cfg[c].top_p;
        p.min_p = (float)cfg[c].min_p;
        p.seed = 9000 + c;
        struct smp *s = make(N, &p);
        if (!s) return;
        memset(count, 0, sizeof count);
        int outside = 0;
        for (int d = 0; d < DRAWS; d++) {
            struct smp_result r;
            smp_sample(s, l, &r, err);
            count[r.id]++;
            outside += ref[r.id] == 0.0;
        }
        smp_free(s);
        /* bins: tokens expected >= 5 times; the rest of the set pooled */
        double chi = 0.0, pool_e = 0.0;
        int pool_o = 0, bins = 0, in_set = 0;
        for (int i = 0; i < N; i++) {
            if (ref[i] == 0.0) continue;
            in_set++;
            double e = ref[i] * DRAWS;
            if (e >= 5.0) {
                chi += (count[i] - e) * (count[i] - e) / e;
                bins++;
            } else {
                pool_e += e;
                pool_o += count[i];
            }
        }
        if (pool_e >= 5.0) {
            chi += (pool_o - pool_e) * (pool_o - pool_e) / pool_e;
            bins++;
        }
        int df = bins > 1 ? bins - 1 : 1;
        double crit = chi2_crit(df);
        printf("  T=%.1f top_k=%d top_p=%.2f min_p=%.2f: %d tokens in set, chi2 %.1f (df %d, 1e-4 crit %.1f)\n",
               cfg[c].T, cfg[c].top_k, cfg[c].top_p, cfg[c].min_p, in_set, chi, df, crit);
        T_CHECK(outside == 0, "config %zu: %d draws outside the truncated set", c, outside);
        T_CHECK(bins < 2 || chi < crit, "config %zu: chi2 %.1f >= %.1f", c, chi, crit);
    }
}

/* A vocabulary of DeepSeek's size: the growing top-p prefix must still give
 * exactly the reference nucleus. */
static void test_large_vocab_nucleus(void) {
    enum { N = 129280 };
    float *l = malloc(N * sizeof *l);
    double *ref = malloc(N * sizeof *ref);
    char err[DC_ERR_LEN];
    rand_logits(l, N, 4242, 6.0f);
    struct smp_params p;
    smp_params_default(&p);
    p.temperature = 0.6f;
    p.top_p = 0.95f;
    ref_dist(l, N, 0.6, 0, 0.95, 0.0, ref);
    int in_set = 0;
    for (int i = 0; i < N; i++) in_set += ref[i] > 0.0;
    struct smp *s = make(N, &p);
    int outside = 0, draws = 200;
    for (int d = 0; s && d < draws; d++) {
        struct smp_result r;
        smp_sample(s, l, &r, err);
        outside += ref[r.id] == 0.0;
    }
    printf("  n_vocab %d, nucleus of %d tokens, %d/%d draws outside\n", N, in_set, outside, draws);
    T_CHECK(outside == 0, "%d draws outside the nucleus", outside);
    smp_free(s);
    free(l);
    free(ref);
}

/* Penalties: the penalised logits are read back as logprobs and compared with
 * values worked out by hand. */
static void test_penalties_hand_computed(void) {
    enum { N = 8 };
    const float l[N] = {0.5f, -0.5f, 1.5f, 2.0f, 0.0f, -1.0f, 0.25f, 0.0f};
    struct smp_params p;
    struct smp_result r;
    char err[DC_ERR_LEN];
    smp_params_default(&p);
    p.temperature = 0.0f;
    p.repeat_penalty = 2.0f;
    p.repeat_last_n = 3;
    p.frequency_penalty = 0.5f;
    p.presence_penalty = 0.25f;
    p.top_logprobs = N;
    p.logprobs = 1;
    struct smp *s = make(N, &p);
    if (!s) return;
    const int32_t hist[] = {2, 2, 5, 3, 3, 7, 2}; /* window (last 3): 3, 7, 2 */
    for (size_t i = 0; i < sizeof hist / sizeof hist[0]; i++) smp_accept(s, hist[i]);
    /* by hand:
     *  id 2: 1.5 in window -> 0.75; count 3 -> 0.75 - 1.5 - 0.25 = -1.0
     *  id 3: 2.0 in window -> 1.0;  count 2 -> 1.0 - 1.0 - 0.25 = -0.25
     *  id 5: -1.0, outside the window; count 1 -> -1.0 - 0.5 - 0.25 = -1.75
     *  id 7: 0.0 in window -> 0.0;  count 1 -> -0.75
     *  others unchanged: 0.5, -0.5, 0.0, 0.25 */
    const double want[N] = {0.5, -0.5, -1.0, -0.25, 0.0, -1.75, 0.25, -0.75};
    double z = 0.0;
    for (int i = 0; i < N; i++) z += exp(want[i]);
    T_CHECK(smp_sample(s, l, &r, err) == DC_OK, "%s", err);
    T_CHECK(r.id == 0, "greedy after penalties picked %d, want 0", r.id);
    T_CHECK(r.n_top == N, "n_top %d", r.n_top);
    for (int k = 0; k < r.n_top; k++) {
        int id = r.top[k].id;
        double lp = want[id] - log(z);
        T_CHECK(fabs((double)r.top[k].logprob - lp) < 1e-5, "id %d logprob %.6f want %.6f", id, (double)r.top[k].logprob, lp);
    }
    /* window 0 and no frequency/presence: the raw argmax (id 3) */
    p.repeat_last_n = 0;
    p.frequency_penalty = 0.0f;
    p.presence_penalty = 0.0f;
    smp_set_params(s, &p, err);
    smp_sample(s, l, &r, err);
    T_CHECK(r.id == 3, "no penalties: %d", r.id);
    /* -1: the whole history is the window; id 5 (-1.0) becomes -2.0 */
    p.repeat_last_n = -1;
    smp_set_params(s, &p, err);
    smp_sample(s, l, &r, err);
    double z2 = 0.0;
    const double want2[N] = {0.5, -0.5, 0.75, 1.0, 0.0, -2.0, 0.25, 0.0};
    for (int i = 0; i < N; i++) z2 += exp(want2[i]);
    T_CHECK(r.id == 3 && fabs((double)r.logprob - (1.0 - log(z2))) < 1e-5, "window -1: id %d lp %.6f", r.id,
            (double)r.logprob);
    for (int k = 0; k < r.n_top; k++)
        T_CHECK(fabs((double)r.top[k].logprob - (want2[r.top[k].id] - log(z2))) < 1e-5, "window -1 id %d", r.top[k].id);
    /* reset forgets the history: the plain log-softmax of l comes back */
    smp_reset(s, 0);
    p.repeat_last_n = 64;
    p.repeat_penalty = 10.0f;
    p.frequency_penalty = 1.0f;
    smp_set_params(s, &p, err);
    smp_sample(s, l, &r, err);
    double z0 = 0.0;
    for (int i = 0; i < N; i++) z0 += exp((double)l[i]);
    T_CHECK(r.id == 3 && fabs((double)r.logprob - (2.0 - log(z0))) < 1e-5, "after reset: id %d lp %.6f", r.id,
            (double)r.logprob);
    T_CHECK(smp_accept(s, N) == DC_EINVAL && smp_accept(s, -1) == DC_EINVAL, "out-of-range token accepted");
    smp_free(s);
}

/* Logprobs: log-softmax in double, independent of temperature and top-p. */
static void test_logprobs_match_log_softmax(void) {
    enum { N = 3000 };
    static float l[N];
    char err[DC_ERR_LEN];
    rand_logits(l, N, 77, 5.0f);
    double mx = (double)l[0], z = 0.0;
    for (int i = 1; i < N; i++) mx = (double)l[i] > mx ? (double)l[i] : mx;
    for (int i = 0; i < N; i++) z += exp((double)l[i] - mx);
    double lse = mx + log(z);
    int order[SMP_MAX_LOGPROBS]; /* the 20 largest by a plain selection */
    for (int k = 0; k < SMP_MAX_LOGPROBS; k++) {
        int b = -1;
        for (int i = 0; i < N; i++) {
            int used = 0;
            for (int j = 0; j < k; j++) used |= order[j] == i;
            if (!used && (b < 0 || l[i] > l[b])) b = i;
        }
        order[k] = b;
    }
    struct smp_params p;
    smp_params_default(&p);
    p.temperature = 0.3f;
    p.top_p = 0.5f;
    p.logprobs = 1;
    p.top_logprobs = SMP_MAX_LOGPROBS;
    struct smp *s = make(N, &p);
    if (!s) return;
    double worst = 0.0;
    for (int d = 0; d < 50; d++) {
        struct smp_result r;
        smp_sample(s, l, &r, err);
        double e = fabs((double)r.logprob - ((double)l[r.id] - lse));
        worst = e > worst ? e : worst;
        T_CHECK(r.n_top == SMP_MAX_LOGPROBS, "n_top %d", r.n_top);
        for (int k = 0; k < r.n_top; k++) {
            T_CHECK(r.top[k].id == order[k], "rank %d: id %d want %d", k, r.top[k].id, order[k]);
            e = fabs((double)r.top[k].logprob - ((double)l[order[k]] - lse));
            worst = e > worst ? e : worst;
        }
    }
    printf("  max |logprob - double log-softmax| = %.2e\n", worst);
    T_CHECK(worst < 1e-5, "logprob error %.3g", worst);
    /* logprobs off: nothing reported */
    struct smp_result r;
    p.logprobs = 0;
    p.top_logprobs = 0;
    smp_set_params(s, &p, err);
    smp_sample(s, l, &r, err);
    T_CHECK(r.logprob == 0.0f && r.n_top == 0, "logprobs reported while off");
    smp_free(s);
}

static void test_params_sources(void) {
    struct smp_params p, q;
    char err[DC_ERR_LEN];
    smp_params_default(&p);
    T_CHECK(p.temperature == 1.0f && p.top_p == 1.0f && p.top_k == 0 && p.repeat_penalty == 1.0f, "defaults");
    /* DeepSeek-R1 generation_config.json (spec/TOKENIZER.md 1.1) */
    const char *r1 = "{\"_from_model_config\": true, \"bos_token_id\": 0, \"eos_token_id\": 1, \"do_sample\": true,"
                     " \"temperature\": 0.6, \"top_p\": 0.95, \"transformers_version\": \"4.39.3\"}";
    T_CHECK(smp_params_from_generation_config(&p, r1, err) == DC_OK, "%s", err);
    T_CHECK(p.temperature == 0.6f && p.top_p == 0.95f && p.top_k == 0, "r1: T %g top_p %g top_k %d",
            (double)p.temperature, (double)p.top_p, p.top_k);
    T_CHECK(smp_params_from_generation_config(&p, "{\"do_sample\": false, \"top_k\": 20, \"repetition_penalty\": 1.05}",
                                              err) == DC_OK &&
                p.temperature == 0.0f && p.top_k == 20 && p.repeat_penalty == 1.05f,
            "do_sample false");
    q = p;
    T_CHECK(smp_params_from_generation_config(&p, "{\"top_p\": 1.5}", err) == DC_EFORMAT, "top_p 1.5 accepted");
    T_CHECK(smp_params_from_generation_config(&p, "{\"top_k\": \"many\"}", err) == DC_EFORMAT, "string top_k");
    T_CHECK(smp_params_from_generation_config(&p, "{not json", err) == DC_EFORMAT, "bad json accepted");
    T_CHECK(memcmp(&p, &q, sizeof p) == 0, "failed parse changed the params");
    smp_params_default(&p);
    smp_params_for_model(&p, "DeepSeek-R1-Distill-Qwen-7B");
    T_CHECK(p.temperature == 0.6f && p.top_p == 0.95f, "R1 built-in defaults");
    smp_params_default(&p);
    smp_params_for_model(&p, "SmolLM2-135M-Instruct");
    T_CHECK(p.temperature == 1.0f, "non-R1 model changed");

    /* general.sampling.* written by the gguf package */
    char path[512];
    snprintf(path, sizeof path, "%s/chat/sampling.gguf", t_data_dir());
    struct gguf *g = NULL;
    T_CHECK(gguf_open(&g, path, err) == DC_OK, "%s", err);
    if (g) {
        smp_params_default(&p);
        T_CHECK(smp_params_from_gguf(&p, g, err) == DC_OK, "%s", err);
        T_CHECK(p.temperature == 0.6f && p.top_p == 0.95f && p.top_k == 40 && p.min_p == 0.05f &&
                    p.repeat_penalty == 1.1f && p.repeat_last_n == 128,
                "gguf: T %g top_p %g top_k %d min_p %g rep %g last_n %d", (double)p.temperature, (double)p.top_p,
                p.top_k, (double)p.min_p, (double)p.repeat_penalty, p.repeat_last_n);
        gguf_free(g);
    }
    /* checks */
    smp_params_default(&p);
    p.temperature = -1.0f;
    T_CHECK(smp_params_check(&p, err) == DC_EINVAL, "negative temperature");
    struct smp *s = NULL;
    T_CHECK(smp_create(&s, 10, &p, err) == DC_EINVAL && s == NULL, "create with bad params");
    smp_params_default(&p);
    p.top_logprobs = SMP_MAX_LOGPROBS + 1;
    T_CHECK(smp_params_check(&p, err) == DC_EINVAL, "top_logprobs 21");
    smp_params_default(&p);
    T_CHECK(smp_create(&s, 0, &p, err) == DC_EINVAL, "n_vocab 0");
    smp_free(NULL);
}

int main(void) {
    T_BEGIN("test_sampler");
    T_RUN(test_greedy_is_argmax_lowest_id);
    T_RUN(test_top_k1_is_argmax);
    T_RUN(test_seed_reproducible);
    T_RUN(test_distribution_chi_square);
    T_RUN(test_large_vocab_nucleus);
    T_RUN(test_penalties_hand_computed);
    T_RUN(test_logprobs_match_log_softmax);
    T_RUN(test_params_sources);
    return T_END();
}
