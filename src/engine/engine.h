/*
 * engine.h - the generation engine: requests in, streamed text out, many
 * sequences at once.
 *
 * engine_open() loads a model, its tokenizer, chat template and sampling
 * defaults, sizes a KV cache of n_parallel sequence slots, and starts one
 * engine thread that owns all of it.  Any thread may submit requests:
 * engine_submit() renders the chat template and tokenizes in the caller's
 * thread (so the engine thread only runs the model), then queues the request.
 * The engine thread runs continuous batching: every step is one forward pass
 * over the weights for all active sequences - one decode token each, plus a
 * chunk of prompt tokens of sequences still prefilling (at most n_chunk while
 * any sequence decodes, n_batch otherwise), so a newcomer's prompt does not
 * stall the others' streams for long.  New requests
 * join between steps.  A finished sequence keeps its KV cache: the next
 * request whose prompt starts with the same tokens (the same conversation's
 * next turn) reuses it (prefix cache), reported as cached tokens.  A newcomer
 * whose prompt shares a longer prefix with another slot's cache - idle or
 * still generating, e.g. the same system prompt - gets that prefix's KV
 * copied into its own slot instead of computing it again, and of prompts
 * admitted together that share a prefix only one computes it.
 *
 * Results arrive through the request's callback, always on the engine
 * thread, in order: ENGINE_EV_TOKEN / ENGINE_EV_REASONING / ENGINE_EV_CONTENT
 * any number of times, then exactly one ENGINE_EV_DONE, after which the
 * engine never touches the request's user pointer again.  Callbacks must be
 * quick (copy the text and signal); they must not call back into the engine.
 * Text deltas are whole UTF-8 characters, split into reasoning and content
 * by the <think> splitter, with stop strings held back and removed.
 */
#ifndef DC_ENGINE_H
#define DC_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "chat.h"
#include "sampler.h"

struct engine; /* opaque */

#define ENGINE_EBUSY (-20)   /* queue full: try again later (HTTP 429) */
#define ENGINE_ECLOSED (-21) /* shutting down: no new requests (HTTP 503) */

struct engine_params {
    int32_t n_parallel;             /* sequence slots = requests generating at once (default 4) */
    int64_t n_ctx;                  /* positions per slot (default min(4096, trained context)) */
    int64_t n_batch;                /* max tokens per forward pass (default 512) */
    int64_t n_chunk;                /* prompt tokens per pass while other sequences decode (default
                                       128; 0: up to n_batch), so their streams wait one short pass */
    int32_t queue_max;              /* requests waiting for a slot before ENGINE_EBUSY (default 64) */
    const char *chat_template;      /* template name override, or NULL to detect */
    int n_threads;                  /* 0: OMP default */
    const char *cache_type;         /* KV cache element type: NULL/"f32", or "bf16" (deepseek2 latent cache) */
    int repack;                     /* copy the weights into the kernels' packed layout at load (model_pack) */
};

void engine_params_default(struct engine_params *p);

/* Loads model_path (GGUF file or HF directory) and starts the engine thread.
 * warn (DC_ERR_LEN bytes, may be NULL) receives a one-line warning such as an
 * unrecognised chat template and its fallback, or "". */
int engine_open(struct engine **out, const char *model_path, const struct engine_params *p, char *warn,
                char *err);

/* Stops taking requests (ENGINE_ECLOSED), lets the active and queued ones
 * finish, joins the thread and frees everything.  NULL is a no-op. */
void engine_close(struct engine *e);
/* Only stops taking new requests; in-flight ones go on (SIGTERM drain). */
void engine_drain(struct engine *e);

enum engine_kind {
    ENGINE_EV_TOKEN = 0,     /* one sampled token (logprobs only) */
    ENGINE_EV_REASONING = 1, /* text inside <think>...</think> */
    ENGINE_EV_CONTENT = 2,   /* answer text */
    ENGINE_EV_DONE = 3,      /* last event: finish reason + usage */
};

enum engine_finish {
    ENGINE_FINISH_STOP = 0,      /* end-of-turn token or a stop string */
    ENGINE_FINISH_LENGTH = 1,    /* max_tokens or the context filled */
    ENGINE_FINISH_CANCELLED = 2, /* engine_cancel */
    ENGINE_FINISH_ERROR = 3,     /* see message */
};

struct engine_usage {
    int64_t prompt_tokens;
    int64_t cached_tokens;       /* prompt tokens reused from the prefix cache */
    int64_t completion_tokens;   /* all generated tokens, reasoning included */
    int64_t reasoning_tokens;    /* generated inside the <think> block */
    double queue_ms;             /* waiting for a slot */
    double prompt_ms;            /* from start of prefill to the first token */
    double gen_ms;               /* from the first token to the end */
};

struct engine_top {
    int32_t id;
    float logprob;
    const char *bytes; /* raw token bytes, borrowed for the callback */
    size_t len;
};

struct engine_event {
    int kind;                    /* enum engine_kind */
    const char *text;            /* REASONING/CONTENT delta, DONE: error message or NULL */
    size_t len;
    /* ENGINE_EV_TOKEN (sent only when the request asked for logprobs): */
    int32_t token;
    const char *token_bytes;
    size_t token_len;
    float logprob;
    int n_top;
    const struct engine_top *top;
    /* ENGINE_EV_DONE: */
    int finish;                  /* enum engine_finish */
    struct engine_usage usage;
};

typedef void (*engine_event_fn)(void *user, const struct engine_event *ev);

struct engine_request {
    /* Chat: messages rendered with the model's template ... */
    const struct chat_msg *msgs;
    size_t n_msgs;
    int thinking;                 /* enum chat_think */
    /* ... or raw completion text (no template); suffix != NULL asks for
     * fill-in-the-middle (DeepSeek FIM tokens; DC_EUNSUPPORTED without them). */
    const char *prompt;
    const char *suffix;
    struct smp_params sampling;   /* start from engine_sampling_defaults() */
    int32_t max_tokens;           /* <= 0: until the context is full */
    const char *const *stop;      /* stop strings (borrowed during submit) */
    size_t n_stop;
    int32_t n_logprobs;           /* < 0: none; 0: chosen token; N: also top N */
    int32_t reasoning_budget;     /* > 0: force </think> after this many reasoning tokens */
    int64_t max_prompt_tokens;    /* > 0: refuse longer prompts (DC_ERANGE) */
    int ignore_eos;               /* 1: end-of-generation tokens do not end the request; it runs to max_tokens
                                   * (or the context) - load tests that need a fixed number of tokens */
};

/* The model's sampling defaults (generation_config.json / GGUF keys / family). */
void engine_sampling_defaults(const struct engine *e, struct smp_params *p);

/* Renders and tokenizes the request, then queues it.  On success *id
 * identifies it (for engine_cancel) and *prompt_tokens is its length.
 * Errors: DC_EINVAL (bad parameters, message in err), DC_ERANGE (prompt too
 * long for max_prompt_tokens or the context), DC_EUNSUPPORTED (FIM without
 * FIM tokens), ENGINE_EBUSY, ENGINE_ECLOSED.  No callback is made when
 * submit fails. */
int engine_submit(struct engine *e, const struct engine_request *req, engine_event_fn fn, void *user, uint64_t *id,
                  int64_t *prompt_tokens, char *err);

/* Asks the engine to stop request id at the next step (its DONE event says
 * ENGINE_FINISH_CANCELLED).  Unknown or finished ids are ignored. */
void engine_cancel(struct engine *e, uint64_t id);

/* Facts for /v1/models, /health and /metrics. */
const char *engine_model_id(const struct engine *e);     /* general.name or the file name */
int64_t engine_n_ctx(const struct engine *e);
int32_t engine_n_vocab(const struct engine *e);
const char *engine_template_name(const struct engine *e);

struct engine_stats {
    uint64_t requests_done;
    uint64_t requests_cancelled;
    uint64_t prompt_tokens;       /* all prompt tokens of admitted requests */
    uint64_t cached_tokens;       /* of which reused from the prefix cache */
    uint64_t generated_tokens;
    int32_t active;               /* sequences in slots */
    int32_t queued;               /* waiting for a slot */
    double gen_tokens_per_s;      /* generated tokens / busy time, last minute */
    uint64_t steps;               /* forward passes run */
};
void engine_get_stats(struct engine *e, struct engine_stats *s);

#endif
