/*
 * resp.h - the response side of the DeepSeek / OpenAI HTTP API: JSON texts
 * for results, stream chunks, usage, model lists and errors.
 *
 * Everything is appended to a struct sbuf as compact JSON.  Strings go
 * through sbuf_add_json_str, so model output that is not valid UTF-8 (a
 * token that is half of a character, in logprobs) still gives valid JSON:
 * the "token" string gets U+FFFD and "bytes" keeps the raw bytes, as OpenAI
 * does.  Shapes (docs/SERVER.md):
 *
 *   chat.completion        choices[0].message {role, content, reasoning_content?}
 *   chat.completion.chunk  choices[0].delta {role?, content?, reasoning_content?}
 *   text_completion        choices[0].text (both for results and chunks)
 *   usage                  prompt_tokens, completion_tokens (reasoning
 *                          included), total_tokens, prompt_cache_hit_tokens,
 *                          prompt_cache_miss_tokens,
 *                          prompt_tokens_details.cached_tokens,
 *                          completion_tokens_details.reasoning_tokens
 */
#ifndef DC_RESP_H
#define DC_RESP_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "sbuf.h"

struct api_err;

/* Fields every result / chunk of one request repeats. */
struct resp_meta {
    const char *id;      /* "chatcmpl-..." / "cmpl-..." */
    int64_t created;     /* unix seconds */
    const char *model;   /* the name the client asked for */
    int chat;            /* 1: chat.completion(.chunk), 0: text_completion */
};

struct resp_top {
    const char *bytes; /* raw token bytes, borrowed */
    size_t len;
    float logprob;
};

/* One generated token with its log-probability and alternatives. */
struct resp_lp {
    const char *bytes;
    size_t len;
    float logprob;
    int n_top;
    struct resp_top top[SMP_MAX_LOGPROBS];
};

/* Delta field of a chat chunk. */
enum resp_delta { RESP_DELTA_NONE = 0, RESP_DELTA_CONTENT = 1, RESP_DELTA_REASONING = 2 };

/* "stop" / "length"; cancelled and error map to "stop" (callers handle errors). */
const char *resp_finish_name(int engine_finish);

/* {"error": {"message", "type", "param", "code"}} */
void resp_error(struct sbuf *b, const struct api_err *e);
void resp_error_msg(struct sbuf *b, int status, const char *code, const char *msg);

void resp_usage(struct sbuf *b, const struct engine_usage *u);

/* GET /models: the loaded model plus the two DeepSeek names. */
void resp_models(struct sbuf *b, const char *model_id, int64_t created);
/* GET /models/{id}: 0 and the object, or -1 when id is none of them. */
int resp_model_one(struct sbuf *b, const char *model_id, int64_t created, const char *id);

/* Complete result.  reasoning may be NULL (the key is then left out);
 * lps may be NULL (logprobs null). */
void resp_result(struct sbuf *b, const struct resp_meta *m, const char *content, size_t clen, const char *reasoning,
                 size_t rlen, const struct resp_lp *lps, size_t n_lps, int finish, const struct engine_usage *u);

/* One stream chunk as an SSE event ("data: {...}\n\n").  role may be NULL;
 * delta/text the new text; lps the tokens since the last chunk (chat: a
 * logprobs.content list; completions: the legacy lists); finish < 0 for
 * "not finished"; usage_null adds "usage": null (include_usage streams). */
void resp_chunk(struct sbuf *b, const struct resp_meta *m, const char *role, int delta, const char *text, size_t len,
                const struct resp_lp *lps, size_t n_lps, int finish, int usage_null);
/* The include_usage chunk: "choices": [] and the usage. */
void resp_chunk_usage(struct sbuf *b, const struct resp_meta *m, const struct engine_usage *u);

#endif
