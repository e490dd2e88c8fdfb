/*
 * api.c - JSON request bodies -> struct api_req (see api.h).
 */
#include "api.h"

#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

const char *api_err_type(int status) {
    switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    case 503: return "service_unavailable_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

int api_err_set(struct api_err *e, int status, const char *param, const char *fmt, ...) {
    e->status = status;
    e->type = api_err_type(status);
    e->code = NULL;
    snprintf(e->param, sizeof(e->param), "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return DC_EINVAL;
}

void api_req_free(struct api_req *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_joined; i++) free(r->joined[i]);
    free(r->joined);
    free(r->msgs);
    if (r->root) json_object_put(r->root);
    memset(r, 0, sizeof(*r));
}

/* ---- typed field access --------------------------------------------------- */

/* The member `key` of obj, or NULL when absent or JSON null (both mean
 * "not given": SDKs send null for unset optional fields). */
static struct json_object *field(struct json_object *obj, const char *key) {
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v)) return NULL;
    return v;
}

static int is_num(struct json_object *v) {
    return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/* Number in [lo, hi].  0 when absent (value untouched), 1 when set, <0 error. */
static int get_num(struct json_object *o, const char *key, double lo, double hi, double *out, struct api_err *e) {
    struct json_object *v = field(o, key);
    if (!v) return 0;
    if (!is_num(v)) return api_err_set(e, 400, key, "'%s' must be a number", key);
    double d = json_object_get_double(v);
    if (!isfinite(d) || d < lo || d > hi)
        return api_err_set(e, 422, key, "'%s' must be between %g and %g (got %g)", key, lo, hi, d);
    *out = d;
    return 1;
}

/* Integer in [lo, hi]; a float with an integral value is accepted. */
static int get_int(struct json_object *o, const char *key, int64_t lo, int64_t hi, int64_t *out, struct api_err *e) {
    struct json_object *v = field(o, key);
    if (!v) return 0;
    int64_t x;
    if (json_object_is_type(v, json_type_int)) {
        x = json_object_get_int64(v);
    } else if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (!isfinite(d) || d != floor(d) || fabs(d) > 9.0e18)
            return api_err_set(e, 400, key, "'%s' must be an integer", key);
        x = (int64_t)d;
    } else {
        return api_err_set(e, 400, key, "'%s' must be an integer", key);
    }
    if (x < lo || x > hi)
        return api_err_set(e, 422, key, "'%s' must be between %lld and %lld (got %lld)", key, (long long)lo,
                           (long long)hi, (long long)x);
    *out = x;
    return 1;
}

static int get_bool(struct json_object *o, const char *key, int *out, struct api_err *e) {
    struct json_object *v = field(o, key);
    if (!v) return 0;
    if (!json_object_is_type(v, json_type_boolean)) return api_err_set(e, 400, key, "'%s' must be a boolean", key);
    *out = json_object_get_boolean(v);
    return 1;
}

static int get_str(struct json_object *o, const char *key, const char **out, struct api_err *e) {
    struct json_object *v = field(o, key);
    if (!v) return 0;
    if (!json_object_is_type(v, json_type_string)) return api_err_set(e, 400, key, "'%s' must be a string", key);
    *out = json_object_get_string(v);
    return 1;
}

/* json-c strings may hold NUL bytes ("\u0000"); the engine takes C strings. */
static int check_no_nul(struct json_object *v, const char *param, struct api_err *e) {
    if ((size_t)json_object_get_string_len(v) != strlen(json_object_get_string(v)))
        return api_err_set(e, 400, param, "'%s' contains a NUL character", param);
    return DC_OK;
}

/* ---- messages -------------------------------------------------------------- */

/* A message content: a string, null (assistant only), or an array of
 * {"type": "text", "text": "..."} parts that are joined. */
static int parse_content(struct api_req *r, struct json_object *m, size_t i, int role, const char **out,
                         struct api_err *e) {
    char param[64];
    snprintf(param, sizeof(param), "messages[%zu].content", i);
    struct json_object *c = field(m, "content");
    if (!c) {
        if (role == CHAT_ROLE_ASSISTANT) { /* content null with tool_calls, or an empty reply */
            *out = "";
            return DC_OK;
        }
        return api_err_set(e, 400, param, "'%s' is required", param);
    }
    if (json_object_is_type(c, json_type_string)) {
        if (check_no_nul(c, param, e)) return DC_EINVAL;
        *out = json_object_get_string(c);
        return DC_OK;
    }
    if (!json_object_is_type(c, json_type_array))
        return api_err_set(e, 400, param, "'%s' must be a string or an array of content parts", param);
    struct sbuf b = {0};
    size_t n = json_object_array_length(c);
    for (size_t k = 0; k < n; k++) {
        struct json_object *part = json_object_array_get_idx(c, k), *t, *txt;
        if (!json_object_is_type(part, json_type_object) || !json_object_object_get_ex(part, "type", &t) ||
            !json_object_is_type(t, json_type_string)) {
            sbuf_free(&b);
            return api_err_set(e, 400, param, "'%s[%zu]' must be an object with a 'type'", param, k);
        }
        if (strcmp(json_object_get_string(t), "text") != 0) {
            sbuf_free(&b);
            return api_err_set(e, 422, param, "content part type '%s' is not supported (text only)",
                               json_object_get_string(t));
        }
        if (!json_object_object_get_ex(part, "text", &txt) || !json_object_is_type(txt, json_type_string)) {
            sbuf_free(&b);
            return api_err_set(e, 400, param, "'%s[%zu].text' must be a string", param, k);
        }
        if (check_no_nul(txt, param, e)) {
            sbuf_free(&b);
            return DC_EINVAL;
        }
        sbuf_add(&b, json_object_get_string(txt), (size_t)json_object_get_string_len(txt));
    }
    sbuf_add(&b, "", 0); /* guarantees a NUL-terminated buffer even when empty */
    char **nj = realloc(r->joined, (r->n_joined + 1) * sizeof(*nj));
    if (b.oom || !nj) {
        if (nj) r->joined = nj;
        sbuf_free(&b);
        return api_err_set(e, 500, NULL, "out of memory");
    }
    r->joined = nj;
    r->joined[r->n_joined++] = b.p;
    *out = b.p;
    return DC_OK;
}

static int parse_messages(struct api_req *r, struct json_object *root, const struct api_ctx *ctx, struct api_err *e) {
    struct json_object *ms = field(root, "messages");
    if (!ms) return api_err_set(e, 400, "messages", "'messages' is required");
    if (!json_object_is_type(ms, json_type_array)) return api_err_set(e, 400, "messages", "'messages' must be an array");
    size_t n = json_object_array_length(ms);
    if (n == 0) return api_err_set(e, 422, "messages", "'messages' must have at least one message");
    if (n > (size_t)ctx->max_messages)
        return api_err_set(e, 422, "messages", "too many messages: %zu (this server accepts at most %d)", n,
                           ctx->max_messages);
    r->msgs = calloc(n, sizeof(*r->msgs));
    if (!r->msgs) return api_err_set(e, 500, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct json_object *m = json_object_array_get_idx(ms, i), *v;
        char param[64];
        snprintf(param, sizeof(param), "messages[%zu]", i);
        if (!json_object_is_type(m, json_type_object)) return api_err_set(e, 400, param, "'%s' must be an object", param);
        snprintf(param, sizeof(param), "messages[%zu].role", i);
        if (!json_object_object_get_ex(m, "role", &v) || !json_object_is_type(v, json_type_string))
            return api_err_set(e, 400, param, "'%s' must be a string", param);
        const char *role = json_object_get_string(v);
        int rid;
        if (!strcmp(role, "system") || !strcmp(role, "developer")) rid = CHAT_ROLE_SYSTEM;
        else if (!strcmp(role, "user")) rid = CHAT_ROLE_USER;
        else if (!strcmp(role, "assistant")) rid = CHAT_ROLE_ASSISTANT;
        else if (!strcmp(role, "tool") || !strcmp(role, "function"))
            return api_err_set(e, 422, param, "role '%s' is not supported (no tool calling yet)", role);
        else return api_err_set(e, 422, param, "unknown role '%.40s'", role);
        if (rid == CHAT_ROLE_ASSISTANT) {
            struct json_object *tc = field(m, "tool_calls");
            if (tc && (!json_object_is_type(tc, json_type_array) || json_object_array_length(tc) > 0)) {
                snprintf(param, sizeof(param), "messages[%zu].tool_calls", i);
                return api_err_set(e, 422, param, "tool calls are not supported");
            }
            int prefix = 0;
            if (get_bool(m, "prefix", &prefix, e) < 0) return DC_EINVAL;
            if (prefix) {
                snprintf(param, sizeof(param), "messages[%zu].prefix", i);
                return api_err_set(e, 422, param, "chat prefix completion is not supported");
            }
            /* reasoning_content of an earlier turn: ignored on purpose (api.h). */
        }
        r->msgs[i].role = rid;
        r->msgs[i].reasoning_content = NULL;
        if (parse_content(r, m, i, rid, &r->msgs[i].content, e)) return DC_EINVAL;
        r->n_msgs = i + 1;
    }
    return DC_OK;
}

/* ---- common fields ---------------------------------------------------------- */

static int parse_stop(struct api_req *r, struct json_object *root, struct api_err *e) {
    struct json_object *s = field(root, "stop");
    if (!s) return DC_OK;
    struct json_object *one[1] = {s};
    size_t n = 1;
    int is_arr = json_object_is_type(s, json_type_array);
    if (is_arr) n = json_object_array_length(s);
    else if (!json_object_is_type(s, json_type_string))
        return api_err_set(e, 400, "stop", "'stop' must be a string or an array of strings");
    if (n > API_MAX_STOP) return api_err_set(e, 422, "stop", "'stop' has %zu strings (at most %d)", n, API_MAX_STOP);
    for (size_t i = 0; i < n; i++) {
        struct json_object *v = is_arr ? json_object_array_get_idx(s, i) : one[0];
        if (!json_object_is_type(v, json_type_string))
            return api_err_set(e, 400, "stop", "'stop' must be a string or an array of strings");
        if (check_no_nul(v, "stop", e)) return DC_EINVAL;
        size_t len = (size_t)json_object_get_string_len(v);
        if (len == 0) continue; /* an empty stop string can never end anything */
        if (len > API_MAX_STOP_LEN)
            return api_err_set(e, 422, "stop", "a stop string is %zu bytes (at most %d)", len, API_MAX_STOP_LEN);
        r->stop[r->n_stop++] = json_object_get_string(v);
    }
    return DC_OK;
}

/* Sampling fields shared by both endpoints (OpenAI names, plus llama.cpp's
 * top_k / min_p / repeat_penalty extensions). */
static int parse_sampling(struct api_req *r, struct json_object *root, const struct api_ctx *ctx, struct api_err *e) {
    struct smp_params *p = &r->sampling;
    *p = *ctx->defaults;
    p->seed = ctx->seed;
    double d;
    int64_t x;
    int rc;
    if ((rc = get_num(root, "temperature", 0, 2, &d, e)) < 0) return rc;
    if (rc) p->temperature = (float)d;
    if ((rc = get_num(root, "top_p", 0, 1, &d, e)) < 0) return rc;
    if (rc) {
        if (d <= 0) p->temperature = 0; /* the limit top_p -> 0 is argmax */
        else p->top_p = (float)d;
    }
    if ((rc = get_int(root, "top_k", 0, 1000000, &x, e)) < 0) return rc;
    if (rc) p->top_k = (int32_t)x;
    if ((rc = get_num(root, "min_p", 0, 0.999, &d, e)) < 0) return rc;
    if (rc) p->min_p = (float)d;
    if ((rc = get_num(root, "frequency_penalty", -2, 2, &d, e)) < 0) return rc;
    if (rc) p->frequency_penalty = (float)d;
    if ((rc = get_num(root, "presence_penalty", -2, 2, &d, e)) < 0) return rc;
    if (rc) p->presence_penalty = (float)d;
    const char *rp = field(root, "repetition_penalty") ? "repetition_penalty" : "repeat_penalty";
    if ((rc = get_num(root, rp, 0.01, 10, &d, e)) < 0) return rc;
    if (rc) p->repeat_penalty = (float)d;
    if ((rc = get_int(root, "seed", INT64_MIN, INT64_MAX, &x, e)) < 0) return rc;
    if (rc) p->seed = (uint64_t)x;
    char serr[DC_ERR_LEN];
    if (smp_params_check(p, serr)) return api_err_set(e, 422, NULL, "%s", serr);
    return DC_OK;
}

static int parse_common(struct api_req *r, struct json_object *root, const struct api_ctx *ctx, struct api_err *e) {
    int rc;
    /* model */
    const char *model = NULL;
    if ((rc = get_str(root, "model", &model, e)) < 0) return rc;
    r->thinking = CHAT_THINK_DEFAULT;
    if (!model || !strcmp(model, ctx->model_id)) {
        r->model = ctx->model_id;
    } else if (!strcmp(model, "deepseek-reasoner")) {
        r->model = model;
        r->thinking = CHAT_THINK_ON;
    } else if (!strcmp(model, "deepseek-chat")) {
        r->model = model;
        r->thinking = CHAT_THINK_OFF;
    } else {
        /* DeepSeek's answer to an unknown model: 400 "Model Not Exist". */
        api_err_set(e, 400, "model", "Model Not Exist: '%.80s' (this server has '%.80s', 'deepseek-chat' and "
                    "'deepseek-reasoner')", model, ctx->model_id);
        e->code = "model_not_found";
        return DC_EINVAL;
    }
    if ((rc = get_bool(root, "stream", &r->stream, e)) < 0) return rc;
    struct json_object *so = field(root, "stream_options");
    if (so) {
        if (!json_object_is_type(so, json_type_object))
            return api_err_set(e, 400, "stream_options", "'stream_options' must be an object");
        if ((rc = get_bool(so, "include_usage", &r->include_usage, e)) < 0) return rc;
        if (!r->stream) r->include_usage = 0;
    }
    int64_t x;
    if ((rc = get_int(root, "n", 1, 128, &x, e)) < 0) return rc;
    if (rc && x != 1) return api_err_set(e, 422, "n", "only n = 1 is supported");
    /* max_tokens (max_completion_tokens is OpenAI's newer name) */
    const char *mk = field(root, "max_tokens") ? "max_tokens" : "max_completion_tokens";
    r->max_tokens = ctx->default_max_tokens;
    struct json_object *mv = field(root, mk);
    if (mv) {
        if ((rc = get_int(root, mk, INT64_MIN, INT64_MAX, &x, e)) < 0) return rc;
        if (x < 1 || x > ctx->max_tokens_limit)
            return api_err_set(e, 422, mk, "Invalid max_tokens value, the valid range of max_tokens is [1, %d] "
                               "(got %lld)", ctx->max_tokens_limit, (long long)x);
        r->max_tokens = (int32_t)x;
    }
    if (parse_stop(r, root, e)) return DC_EINVAL;
    if (parse_sampling(r, root, ctx, e)) return DC_EINVAL;
    /* an extension other local servers share (vLLM, llama.cpp): benchmarks
     * need a fixed number of generated tokens */
    if ((rc = get_bool(root, "ignore_eos", &r->ignore_eos, e)) < 0) return rc;
    /* features this server does not have: refuse clearly instead of ignoring */
    struct json_object *v = field(root, "tools");
    if (v && (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > 0))
        return api_err_set(e, 422, "tools", "tool calling is not supported by this server");
    v = field(root, "response_format");
    if (v) {
        struct json_object *t;
        if (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, "type", &t) ||
            !json_object_is_type(t, json_type_string))
            return api_err_set(e, 400, "response_format", "'response_format' must be an object with a 'type'");
        if (strcmp(json_object_get_string(t), "text") != 0)
            return api_err_set(e, 422, "response_format", "response_format '%.40s' is not supported (text only)",
                               json_object_get_string(t));
    }
    return DC_OK;
}

static int parse_thinking(struct api_req *r, struct json_object *root, struct api_err *e) {
    struct json_object *t = field(root, "thinking"), *v;
    if (t) {
        if (!json_object_is_type(t, json_type_object) || !json_object_object_get_ex(t, "type", &v) ||
            !json_object_is_type(v, json_type_string))
            return api_err_set(e, 400, "thinking", "'thinking' must be {\"type\": \"enabled\" | \"disabled\"}");
        const char *s = json_object_get_string(v);
        if (!strcmp(s, "enabled")) r->thinking = CHAT_THINK_ON;
        else if (!strcmp(s, "disabled")) r->thinking = CHAT_THINK_OFF;
        else return api_err_set(e, 422, "thinking", "'thinking.type' must be \"enabled\" or \"disabled\"");
    }
    struct json_object *k = field(root, "chat_template_kwargs");
    if (k && json_object_is_type(k, json_type_object)) {
        int on;
        if (get_bool(k, "enable_thinking", &on, e) < 0) return DC_EINVAL;
        if (field(k, "enable_thinking")) r->thinking = on ? CHAT_THINK_ON : CHAT_THINK_OFF;
    }
    /* reasoning budget: tokens of <think> before "</think>" is forced; 0
     * turns thinking off; -1 (or absent) leaves it unlimited */
    r->reasoning_budget = 0;
    const char *bk = field(root, "reasoning_budget") ? "reasoning_budget" : "thinking_budget";
    int64_t x;
    int rc = get_int(root, bk, -1, INT32_MAX, &x, e);
    if (rc < 0) return rc;
    if (rc && x == 0) r->thinking = CHAT_THINK_OFF;
    else if (rc && x > 0) r->reasoning_budget = (int32_t)x;
    return DC_OK;
}

static int parse_chat(struct api_req *r, struct json_object *root, const struct api_ctx *ctx, struct api_err *e) {
    if (parse_messages(r, root, ctx, e)) return DC_EINVAL;
    int rc, lp = 0;
    if ((rc = get_bool(root, "logprobs", &lp, e)) < 0) return rc;
    int64_t top = -1;
    if ((rc = get_int(root, "top_logprobs", 0, SMP_MAX_LOGPROBS, &top, e)) < 0) return rc;
    if (rc && !lp) return api_err_set(e, 422, "top_logprobs", "'top_logprobs' needs 'logprobs': true");
    r->n_logprobs = lp ? (int32_t)(top < 0 ? 0 : top) : -1;
    return parse_thinking(r, root, e);
}

static int parse_completion(struct api_req *r, struct json_object *root, struct api_err *e) {
    struct json_object *p = field(root, "prompt");
    if (!p) return api_err_set(e, 400, "prompt", "'prompt' is required");
    if (json_object_is_type(p, json_type_array)) {
        if (json_object_array_length(p) != 1 || !json_object_is_type(json_object_array_get_idx(p, 0), json_type_string))
            return api_err_set(e, 422, "prompt", "'prompt' must be a string or an array of exactly one string");
        p = json_object_array_get_idx(p, 0);
    } else if (!json_object_is_type(p, json_type_string)) {
        return api_err_set(e, 400, "prompt", "'prompt' must be a string");
    }
    if (check_no_nul(p, "prompt", e)) return DC_EINVAL;
    r->prompt = json_object_get_string(p);
    int rc;
    if ((rc = get_str(root, "suffix", &r->suffix, e)) < 0) return rc;
    if (r->suffix && check_no_nul(field(root, "suffix"), "suffix", e)) return DC_EINVAL;
    int echo = 0;
    if ((rc = get_bool(root, "echo", &echo, e)) < 0) return rc;
    if (echo) return api_err_set(e, 422, "echo", "'echo' is not supported");
    int64_t x;
    if ((rc = get_int(root, "best_of", 1, 128, &x, e)) < 0) return rc;
    if (rc && x != 1) return api_err_set(e, 422, "best_of", "only best_of = 1 is supported");
    /* legacy completions: "logprobs": N = chosen token plus the N most likely */
    r->n_logprobs = -1;
    if ((rc = get_int(root, "logprobs", 0, SMP_MAX_LOGPROBS, &x, e)) < 0) return rc;
    if (rc) r->n_logprobs = (int32_t)x;
    return DC_OK;
}

int api_parse(struct api_req *r, int kind, const char *body, size_t len, const struct api_ctx *ctx,
              struct api_err *e) {
    memset(r, 0, sizeof(*r));
    memset(e, 0, sizeof(*e));
    r->kind = kind;
    if (len > (size_t)INT32_MAX) return api_err_set(e, 413, NULL, "request body too large");
    struct json_tokener *tok = json_tokener_new_ex(API_MAX_DEPTH);
    if (!tok) return api_err_set(e, 500, NULL, "out of memory");
    struct json_object *root = json_tokener_parse_ex(tok, body ? body : "", (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (jerr == json_tokener_continue || !root) {
        if (root) json_object_put(root);
        return api_err_set(e, 400, NULL, "malformed JSON body: %s",
                           jerr == json_tokener_continue || len == 0 ? "unexpected end of input"
                                                                      : json_tokener_error_desc(jerr));
    }
    if (jerr != json_tokener_success) {
        json_object_put(root);
        return api_err_set(e, 400, NULL, "malformed JSON body: %s", json_tokener_error_desc(jerr));
    }
    for (size_t i = end; i < len; i++) {
        char c = body[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            json_object_put(root);
            return api_err_set(e, 400, NULL, "malformed JSON body: unexpected data after the JSON value");
        }
    }
    r->root = root;
    if (!json_object_is_type(root, json_type_object)) {
        api_err_set(e, 400, NULL, "the request body must be a JSON object");
        goto fail;
    }
    if (parse_common(r, root, ctx, e)) goto fail;
    if (kind == API_CHAT ? parse_chat(r, root, ctx, e) : parse_completion(r, root, e)) goto fail;
    r->sampling.logprobs = r->n_logprobs >= 0;
    r->sampling.top_logprobs = r->n_logprobs > 0 ? r->n_logprobs : 0;
    return DC_OK;
fail:
    api_req_free(r);
    return DC_EINVAL;
}
