/*
 * api.h - the request side of the DeepSeek / OpenAI HTTP API: a JSON body
 * -> a checked C struct the engine request is filled from.
 *
 * One call parses a /chat/completions or /completions (FIM: prompt + suffix)
 * body with json-c, checks every field DeepSeek and OpenAI document (types,
 * ranges, the request limits of the server), resolves the model name and
 * maps it to the thinking switch:
 *
 *   model               thinking (R1-family templates; others ignore it)
 *   <the model's id>    CHAT_THINK_DEFAULT (what the template does)
 *   deepseek-reasoner   CHAT_THINK_ON
 *   deepseek-chat       CHAT_THINK_OFF
 *
 * overridden by "thinking": {"type": "enabled" | "disabled"},
 * "chat_template_kwargs": {"enable_thinking": bool}, or
 * "reasoning_budget": 0.  Errors carry the HTTP status and the OpenAI error
 * fields: 400 for malformed JSON, wrong types and unknown models ("Model Not
 * Exist", as DeepSeek answers), 422 for values out of range or unsupported
 * features.  Unknown fields are ignored, as OpenAI SDKs send extras.  An
 * assistant message's reasoning_content is ignored (DeepSeek's R1-era API
 * rejects it; accepting it is more useful for a local server).
 */
#ifndef DC_API_H
#define DC_API_H

#include <stddef.h>
#include <stdint.h>

#include "chat.h"
#include "err.h"
#include "sampler.h"

struct json_object;

enum api_kind { API_CHAT = 0, API_COMPLETION = 1 };

#define API_MAX_STOP 16      /* DeepSeek: "stop" takes up to 16 strings */
#define API_MAX_STOP_LEN 256 /* bytes per stop string (the engine's matcher limit) */
#define API_MAX_DEPTH 64     /* JSON nesting */

struct api_ctx {
    const char *model_id;             /* the loaded model's id */
    const struct smp_params *defaults; /* the model's sampling defaults */
    int32_t max_messages;             /* > 0 */
    int32_t max_tokens_limit;         /* ceiling of max_tokens, > 0 */
    int32_t default_max_tokens;       /* when the request has none, <= max_tokens_limit */
    uint64_t seed;                    /* sampling seed when the request has none */
};

struct api_err {
    int status;        /* HTTP status */
    const char *type;  /* OpenAI error type, static */
    const char *code;  /* OpenAI error code, static, or NULL */
    char param[64];    /* offending field ("messages[2].role") or "" */
    char msg[DC_ERR_LEN];
};

struct api_req {
    int kind;                    /* enum api_kind */
    struct json_object *root;    /* owned parse tree; the strings below borrow from it */
    const char *model;           /* name to echo in responses (requested, or the model id) */
    int stream;
    int include_usage;           /* stream_options.include_usage */
    /* API_CHAT */
    struct chat_msg *msgs;       /* [n_msgs] owned */
    size_t n_msgs;
    char **joined;               /* [n_joined] owned texts of multi-part contents */
    size_t n_joined;
    int thinking;                /* enum chat_think */
    /* API_COMPLETION */
    const char *prompt;
    const char *suffix;          /* NULL: plain completion; else fill-in-the-middle */
    /* both */
    struct smp_params sampling;  /* defaults with the request's overrides */
    int32_t max_tokens;          /* >= 1 */
    const char *stop[API_MAX_STOP];
    size_t n_stop;
    int32_t n_logprobs;          /* < 0: none; 0: chosen token; N: plus top N */
    int32_t reasoning_budget;    /* > 0: force </think> after this many tokens; 0: none */
    int ignore_eos;              /* "ignore_eos": true - generate max_tokens tokens even past end-of-turn */
};

/* Parses body[0..len) (need not be NUL-terminated) of the given kind.  On
 * success *r owns a parse tree: free with api_req_free.  On failure returns
 * DC_EINVAL (or DC_ENOMEM), fills *e and leaves *r freed. */
int api_parse(struct api_req *r, int kind, const char *body, size_t len, const struct api_ctx *ctx,
              struct api_err *e);
void api_req_free(struct api_req *r); /* zeroes *r; a zeroed struct is a no-op */

/* Fills *e (status, type by status, code NULL, param may be NULL) and
 * returns DC_EINVAL. */
int api_err_set(struct api_err *e, int status, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* OpenAI error type for an HTTP status ("invalid_request_error",
 * "authentication_error", "rate_limit_error", ...). */
const char *api_err_type(int status);

#endif
