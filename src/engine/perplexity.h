/*
 * perplexity.h - perplexity of a model on a token sequence, and the KL
 * divergence of its next-token distributions from a reference model's, so a
 * quantization can be judged against the original (`deepc perplexity`).
 *
 * The sequence is cut into chunks of n_ctx tokens, each evaluated from an
 * empty cache; as llama.cpp's perplexity tool does, only the second half of
 * each chunk is scored, so every scored token sees at least n_ctx/2 tokens of
 * context.  (n_ctx >= the sequence length with score_all set scores every
 * position after the first instead.)
 */
#ifndef DC_PERPLEXITY_H
#define DC_PERPLEXITY_H

#include <stdint.h>

struct dc_model;

struct ppl_result {
    int64_t n_scored;      /* tokens scored */
    double nll;            /* mean negative log-likelihood (nats) */
    double nll_stderr;     /* its standard error */
    double ppl;            /* exp(nll) */
    /* With a reference model: */
    double kl_mean;        /* mean KL(P_ref || P_model), nats */
    double kl_max;
    double top1_agree;     /* fraction of scored positions with the same argmax */
    double ref_ppl;        /* the reference model's perplexity on the same tokens */
};

/* ids: the token sequence.  bos >= 0: the first token of every chunk is
 * replaced by it (llama.cpp's rule for models that add BOS).  ref may be
 * NULL.  progress: called after each chunk with (done, total), or NULL. */
int ppl_compute(const struct dc_model *m, const struct dc_model *ref, const int32_t *ids, int64_t n, int64_t n_ctx,
                int score_all, int32_t bos, void (*progress)(int64_t done, int64_t total), struct ppl_result *out, char *err);

#endif
