/*
 * sampler.h - next-token sampling: penalties, temperature, top-k, top-p,
 * min-p, seeded RNG, log-probabilities.
 *
 * One struct smp per sequence.  It owns a candidate array and the penalty
 * history, both sized for the vocabulary at smp_create; smp_sample allocates
 * nothing.  The chain, per call (docs/CHAT.md "Sampler"):
 *
 *   logits[n_vocab]
 *   -> repetition penalty over the last repeat_last_n accepted tokens
 *      (llama.cpp: logit / r if logit > 0, logit * r otherwise)
 *   -> frequency / presence penalties over all tokens accepted since reset
 *      (OpenAI: logit -= count * frequency + (count > 0) * presence)
 *   -> [logprobs: log-softmax of these penalised logits, temperature 1]
 *   -> temperature 0: argmax, lowest id on ties; otherwise
 *      softmax(logit / T) -> top-k -> top-p (on the top-k set, renormalised)
 *      -> min-p -> draw from the renormalised survivors
 *
 * Temperature is applied before the truncations, as Hugging Face generate()
 * and vLLM do (llama.cpp truncates first); the R1 defaults (0.6 / 0.95) come
 * from a generation_config.json written for the former.  The RNG is a
 * splitmix64 stream owned by the sampler: the same seed and the same logits
 * give the same tokens on every machine.  Tokens enter the penalty history
 * only through smp_accept (the caller accepts every token it appends,
 * sampled or injected).
 */
#ifndef DC_SAMPLER_H
#define DC_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

struct gguf; /* src/formats/gguf.h */

#define SMP_MAX_LOGPROBS 20   /* OpenAI / DeepSeek top_logprobs ceiling */
#define SMP_MAX_LAST_N 4096   /* longest repetition-penalty window, tokens */

struct smp_params {
    float temperature;       /* >= 0; 0 = greedy argmax */
    int32_t top_k;           /* <= 0: off */
    float top_p;             /* (0, 1]; 1 = off */
    float min_p;             /* [0, 1); 0 = off; relative to the most likely token */
    float repeat_penalty;    /* > 0; 1 = off */
    int32_t repeat_last_n;   /* window, tokens, 0..SMP_MAX_LAST_N; -1 = SMP_MAX_LAST_N */
    float frequency_penalty; /* 0 = off (OpenAI range -2..2, checked by the API layer) */
    float presence_penalty;  /* 0 = off */
    uint64_t seed;           /* RNG seed used by smp_create / smp_reset */
    int logprobs;            /* report the chosen token's log-probability */
    int32_t top_logprobs;    /* also report this many most likely tokens, 0..SMP_MAX_LOGPROBS */
};

/* Neutral parameters: temperature 1, top_k off, top_p 1, min_p 0, penalties
 * off (repeat window 64), seed 0, no logprobs. */
void smp_params_default(struct smp_params *p);

/* Built-in per-model defaults by name hint (any case): DeepSeek-R1 and its
 * distills ("deepseek" + "r1") get temperature 0.6, top_p 0.95 (R1
 * generation_config.json / model card).  Other models are left unchanged. */
void smp_params_for_model(struct smp_params *p, const char *model_hint);

/* Overrides fields found in a Hugging Face generation_config.json text:
 * temperature, top_p, top_k, min_p, repetition_penalty; "do_sample": false
 * sets temperature 0.  Absent keys leave *p unchanged (HF's implicit
 * top_k = 50 is not applied).  DC_EFORMAT on invalid JSON or a value out of
 * range. */
int smp_params_from_generation_config(struct smp_params *p, const char *json_text, char *err);

/* Overrides fields found in GGUF general.sampling.* keys (temp, top_k,
 * top_p, min_p, penalty_repeat, penalty_last_n), as written by
 * convert_hf_to_gguf.py from generation_config.json.  DC_EFORMAT on a value of
 * the wrong type or out of range. */
int smp_params_from_gguf(struct smp_params *p, const struct gguf *g, char *err);

/* DC_OK when every field is in its range, else DC_EINVAL naming the field. */
int smp_params_check(const struct smp_params *p, char *err);

struct smp_logprob {
    int32_t id;
    float logprob; /* natural log */
};

struct smp_result {
    int32_t id;      /* chosen token */
    float logprob;   /* its log-probability (params.logprobs), else 0 */
    int32_t n_top;   /* entries in top[] (params.top_logprobs), most likely first */
    struct smp_logprob top[SMP_MAX_LOGPROBS];
};

struct smp; /* opaque */

/* Allocates a sampler for n_vocab logits (everything smp_sample needs).
 * p is copied and checked.  Free with smp_free. */
int smp_create(struct smp **out, int32_t n_vocab, const struct smp_params *p, char *err);
void smp_free(struct smp *s); /* NULL is a no-op */

/* Replaces the parameters (checked) without touching history or RNG. */
int smp_set_params(struct smp *s, const struct smp_params *p, char *err);

/* Clears the penalty history and restarts the RNG from seed. */
void smp_reset(struct smp *s, uint64_t seed);

/* Adds a token to the penalty history.  DC_EINVAL if out of range. */
int smp_accept(struct smp *s, int32_t token);

/* Picks the next token from logits[0..n_vocab) (borrowed, not modified) and
 * fills *res.  Never allocates.  Logprobs are log-softmax of the penalised
 * logits at temperature 1 over the whole vocabulary (docs/CHAT.md): the
 * model's distribution, independent of temperature and truncation.  A NaN
 * logit counts as -inf.  Does not accept the token. */
int smp_sample(struct smp *s, const float *logits, struct smp_result *res, char *err);

#endif
