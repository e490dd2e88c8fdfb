/*
 * perplexity.c - perplexity and KL divergence over token chunks (see perplexity.h).
 */
#include "perplexity.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "deepc.h"
#include "err.h"

/* log-softmax of x[0..n) into y (double accumulation). */
static void log_softmax(const float *x, double *y, int64_t n) {
    double mx = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if ((double)x[i] > mx) mx = (double)x[i];
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += exp((double)x[i] - mx);
    double lse = mx + log(s);
    for (int64_t i = 0; i < n; i++) y[i] = (double)x[i] - lse;
}

int ppl_compute(const struct dc_model *m, const struct dc_model *ref, const int32_t *ids, int64_t n, int64_t n_ctx,
                int score_all, int32_t bos, void (*progress)(int64_t done, int64_t total), struct ppl_result *out, char *err) {
    memset(out, 0, sizeof(*out));
    struct dc_model_info mi, ri;
    dc_model_get_info(m, &mi);
    if (ref) {
        dc_model_get_info(ref, &ri);
        if (ri.n_vocab != mi.n_vocab)
            return dc_errf(err, DC_EINVAL, "reference vocabulary %lld != model vocabulary %lld", (long long)ri.n_vocab,
                           (long long)mi.n_vocab);
    }
    if (n_ctx < 2) return dc_errf(err, DC_EINVAL, "context must be at least 2 tokens");
    if (n < 2) return dc_errf(err, DC_EINVAL, "need at least 2 tokens to score");
    if (n_ctx > n || score_all) n_ctx = n;
    const int64_t V = mi.n_vocab;
    int64_t n_chunks = score_all ? 1 : n / n_ctx;
    if (n_chunks < 1) n_chunks = 1;
    struct dc_session *s = NULL, *rs = NULL;
    float *lg = malloc((size_t)n_ctx * (size_t)V * sizeof(float));
    float *rl = ref ? malloc((size_t)n_ctx * (size_t)V * sizeof(float)) : NULL;
    int32_t *chunk = malloc((size_t)n_ctx * sizeof(int32_t));
    double *lp = malloc((size_t)V * sizeof(double)), *rp = malloc((size_t)V * sizeof(double));
    int rc = DC_OK;
    if (!lg || !lp || !rp || !chunk || (ref && !rl)) {
        rc = dc_errf(err, DC_ENOMEM, "out of memory for %lld x %lld logits", (long long)n_ctx, (long long)V);
        goto done;
    }
    if ((rc = dc_session_create(&s, m, n_ctx, 512, err))) goto done;
    if (ref && (rc = dc_session_create(&rs, ref, n_ctx, 512, err))) goto done;
    double sum = 0, sum2 = 0, rsum = 0, kl_sum = 0;
    int64_t agree = 0;
    for (int64_t c = 0; c < n_chunks; c++) {
        int64_t len = n_ctx;
        memcpy(chunk, ids + c * n_ctx, (size_t)len * sizeof(int32_t));
        if (bos >= 0) chunk[0] = bos;
        dc_session_truncate(s, 0);
        if ((rc = dc_session_eval(s, chunk, len, lg, err))) goto done;
        if (ref) {
            dc_session_truncate(rs, 0);
            if ((rc = dc_session_eval(rs, chunk, len, rl, err))) goto done;
        }
        int64_t first = score_all ? 0 : len / 2;
        for (int64_t i = first; i < len - 1; i++) {
            const float *row = lg + (size_t)i * (size_t)V;
            log_softmax(row, lp, V);
            double nll = -lp[chunk[i + 1]];
            sum += nll;
            sum2 += nll * nll;
            out->n_scored++;
            if (ref) {
                const float *rrow = rl + (size_t)i * (size_t)V;
                log_softmax(rrow, rp, V);
                double kl = 0;
                int64_t am = 0, ar = 0;
                for (int64_t k = 0; k < V; k++) {
                    kl += exp(rp[k]) * (rp[k] - lp[k]);
                    if (row[k] > row[am]) am = k;
                    if (rrow[k] > rrow[ar]) ar = k;
                }
                if (kl < 0) kl = 0; /* rounding */
                kl_sum += kl;
                if (kl > out->kl_max) out->kl_max = kl;
                agree += am == ar;
                rsum += -rp[chunk[i + 1]];
            }
        }
        if (progress) progress(c + 1, n_chunks);
    }
    double k = (double)out->n_scored;
    out->nll = sum / k;
    double var = sum2 / k - out->nll * out->nll;
    out->nll_stderr = k > 1 && var > 0 ? sqrt(var / (k - 1)) : 0;
    out->ppl = exp(out->nll);
    if (ref) {
        out->kl_mean = kl_sum / k;
        out->top1_agree = (double)agree / k;
        out->ref_ppl = exp(rsum / k);
    }
done:
    dc_session_free(s);
    dc_session_free(rs);
    free(lg);
    free(rl);
    free(chunk);
    free(lp);
    free(rp);
    return rc;
}
