/*
 * resp.c - response JSON texts (see resp.h).
 */
#include "resp.h"

#include <math.h>
#include <string.h>

#include "api.h"

#define SYSTEM_FINGERPRINT "fp_deepc"

const char *resp_finish_name(int f) { return f == ENGINE_FINISH_LENGTH ? "length" : "stop"; }

static void add_str(struct sbuf *b, const char *s) { sbuf_add_json_str(b, s, strlen(s)); }

/* JSON has no -inf: OpenAI reports -9999.0 for tokens it considers impossible. */
static void add_logprob(struct sbuf *b, float lp) {
    double d = (double)lp;
    if (!isfinite(d) || d < -9999.0) d = -9999.0;
    sbuf_addf(b, "%.6g", d);
}

void resp_error_msg(struct sbuf *b, int status, const char *code, const char *msg) {
    sbuf_adds(b, "{\"error\":{\"message\":");
    add_str(b, msg);
    sbuf_adds(b, ",\"type\":");
    add_str(b, api_err_type(status));
    sbuf_adds(b, ",\"param\":null,\"code\":");
    add_str(b, code ? code : api_err_type(status)); /* DeepSeek repeats the type as the code */
    sbuf_adds(b, "}}");
}

void resp_error(struct sbuf *b, const struct api_err *e) {
    sbuf_adds(b, "{\"error\":{\"message\":");
    add_str(b, e->msg);
    sbuf_adds(b, ",\"type\":");
    add_str(b, e->type ? e->type : api_err_type(e->status));
    sbuf_adds(b, ",\"param\":");
    if (e->param[0]) add_str(b, e->param);
    else sbuf_adds(b, "null");
    sbuf_adds(b, ",\"code\":");
    add_str(b, e->code ? e->code : e->type ? e->type : api_err_type(e->status));
    sbuf_adds(b, "}}");
}

void resp_usage(struct sbuf *b, const struct engine_usage *u) {
    long long p = u->prompt_tokens, c = u->completion_tokens, h = u->cached_tokens, r = u->reasoning_tokens;
    sbuf_addf(b,
              "{\"prompt_tokens\":%lld,\"completion_tokens\":%lld,\"total_tokens\":%lld,"
              "\"prompt_cache_hit_tokens\":%lld,\"prompt_cache_miss_tokens\":%lld,"
              "\"prompt_tokens_details\":{\"cached_tokens\":%lld},"
              "\"completion_tokens_details\":{\"reasoning_tokens\":%lld}}",
              p, c, p + c, h, p - h, h, r);
}

static void model_obj(struct sbuf *b, const char *id, const char *owner, int64_t created) {
    sbuf_adds(b, "{\"id\":");
    add_str(b, id);
    sbuf_addf(b, ",\"object\":\"model\",\"created\":%lld,\"owned_by\":", (long long)created);
    add_str(b, owner);
    sbuf_adds(b, "}");
}

void resp_models(struct sbuf *b, const char *model_id, int64_t created) {
    sbuf_adds(b, "{\"object\":\"list\",\"data\":[");
    model_obj(b, model_id, "deepc", created);
    sbuf_adds(b, ",");
    model_obj(b, "deepseek-chat", "deepseek", created);
    sbuf_adds(b, ",");
    model_obj(b, "deepseek-reasoner", "deepseek", created);
    sbuf_adds(b, "]}");
}

int resp_model_one(struct sbuf *b, const char *model_id, int64_t created, const char *id) {
    if (!strcmp(id, model_id)) model_obj(b, model_id, "deepc", created);
    else if (!strcmp(id, "deepseek-chat") || !strcmp(id, "deepseek-reasoner")) model_obj(b, id, "deepseek", created);
    else return -1;
    return 0;
}

static void add_bytes_array(struct sbuf *b, const char *s, size_t n) {
    sbuf_adds(b, "[");
    for (size_t i = 0; i < n; i++) sbuf_addf(b, i ? ",%u" : "%u", (unsigned)(unsigned char)s[i]);
    sbuf_adds(b, "]");
}

/* Chat logprobs: {"content": [{token, logprob, bytes, top_logprobs: [...]}, ...]} */
static void chat_logprobs(struct sbuf *b, const struct resp_lp *lps, size_t n) {
    if (!lps) {
        sbuf_adds(b, "null");
        return;
    }
    sbuf_adds(b, "{\"content\":[");
    for (size_t i = 0; i < n; i++) {
        const struct resp_lp *l = &lps[i];
        if (i) sbuf_adds(b, ",");
        sbuf_adds(b, "{\"token\":");
        sbuf_add_json_str(b, l->bytes, l->len);
        sbuf_adds(b, ",\"logprob\":");
        add_logprob(b, l->logprob);
        sbuf_adds(b, ",\"bytes\":");
        add_bytes_array(b, l->bytes, l->len);
        sbuf_adds(b, ",\"top_logprobs\":[");
        for (int k = 0; k < l->n_top; k++) {
            if (k) sbuf_adds(b, ",");
            sbuf_adds(b, "{\"token\":");
            sbuf_add_json_str(b, l->top[k].bytes, l->top[k].len);
            sbuf_adds(b, ",\"logprob\":");
            add_logprob(b, l->top[k].logprob);
            sbuf_adds(b, ",\"bytes\":");
            add_bytes_array(b, l->top[k].bytes, l->top[k].len);
            sbuf_adds(b, "}");
        }
        sbuf_adds(b, "]}");
    }
    sbuf_adds(b, "]}");
}

/* Legacy completions logprobs: parallel lists tokens / token_logprobs /
 * top_logprobs (a {token: logprob} map per position) / text_offset. */
static void text_logprobs(struct sbuf *b, const struct resp_lp *lps, size_t n, size_t offset0) {
    if (!lps) {
        sbuf_adds(b, "null");
        return;
    }
    sbuf_adds(b, "{\"tokens\":[");
    for (size_t i = 0; i < n; i++) {
        if (i) sbuf_adds(b, ",");
        sbuf_add_json_str(b, lps[i].bytes, lps[i].len);
    }
    sbuf_adds(b, "],\"token_logprobs\":[");
    for (size_t i = 0; i < n; i++) {
        if (i) sbuf_adds(b, ",");
        add_logprob(b, lps[i].logprob);
    }
    sbuf_adds(b, "],\"top_logprobs\":[");
    for (size_t i = 0; i < n; i++) {
        if (i) sbuf_adds(b, ",");
        sbuf_adds(b, "{");
        for (int k = 0; k < lps[i].n_top; k++) {
            if (k) sbuf_adds(b, ",");
            sbuf_add_json_str(b, lps[i].top[k].bytes, lps[i].top[k].len);
            sbuf_adds(b, ":");
            add_logprob(b, lps[i].top[k].logprob);
        }
        sbuf_adds(b, "}");
    }
    sbuf_adds(b, "],\"text_offset\":[");
    size_t off = offset0;
    for (size_t i = 0; i < n; i++) {
        sbuf_addf(b, i ? ",%zu" : "%zu", off);
        off += lps[i].len;
    }
    sbuf_adds(b, "]}");
}

static void head(struct sbuf *b, const struct resp_meta *m, const char *object) {
    sbuf_adds(b, "{\"id\":");
    add_str(b, m->id);
    sbuf_addf(b, ",\"object\":\"%s\",\"created\":%lld,\"model\":", object, (long long)m->created);
    add_str(b, m->model);
    sbuf_adds(b, ",\"system_fingerprint\":\"" SYSTEM_FINGERPRINT "\"");
}

void resp_result(struct sbuf *b, const struct resp_meta *m, const char *content, size_t clen, const char *reasoning,
                 size_t rlen, const struct resp_lp *lps, size_t n_lps, int finish, const struct engine_usage *u) {
    if (m->chat) {
        head(b, m, "chat.completion");
        sbuf_adds(b, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
        sbuf_add_json_str(b, content ? content : "", content ? clen : 0);
        if (reasoning) {
            sbuf_adds(b, ",\"reasoning_content\":");
            sbuf_add_json_str(b, reasoning, rlen);
        }
        sbuf_adds(b, "},\"logprobs\":");
        chat_logprobs(b, lps, n_lps);
    } else {
        head(b, m, "text_completion");
        sbuf_adds(b, ",\"choices\":[{\"index\":0,\"text\":");
        sbuf_add_json_str(b, content ? content : "", content ? clen : 0);
        sbuf_adds(b, ",\"logprobs\":");
        text_logprobs(b, lps, n_lps, 0);
    }
    sbuf_addf(b, ",\"finish_reason\":\"%s\"}],\"usage\":", resp_finish_name(finish));
    resp_usage(b, u);
    sbuf_adds(b, "}");
}

void resp_chunk(struct sbuf *b, const struct resp_meta *m, const char *role, int delta, const char *text, size_t len,
                const struct resp_lp *lps, size_t n_lps, int finish, int usage_null) {
    sbuf_adds(b, "data: ");
    if (m->chat) {
        head(b, m, "chat.completion.chunk");
        sbuf_adds(b, ",\"choices\":[{\"index\":0,\"delta\":{");
        int any = 0;
        if (role) {
            sbuf_adds(b, "\"role\":");
            add_str(b, role);
            any = 1;
        }
        if (delta == RESP_DELTA_CONTENT || delta == RESP_DELTA_REASONING) {
            /* DeepSeek sends the inactive field as null next to the active one. */
            sbuf_adds(b, any ? "," : "");
            sbuf_adds(b, "\"content\":");
            if (delta == RESP_DELTA_CONTENT) sbuf_add_json_str(b, text, len);
            else sbuf_adds(b, "null");
            sbuf_adds(b, ",\"reasoning_content\":");
            if (delta == RESP_DELTA_REASONING) sbuf_add_json_str(b, text, len);
            else sbuf_adds(b, "null");
        } else if (role) {
            sbuf_adds(b, ",\"content\":\"\"");
        }
        sbuf_adds(b, "},\"logprobs\":");
        chat_logprobs(b, n_lps ? lps : NULL, n_lps);
    } else {
        head(b, m, "text_completion");
        sbuf_adds(b, ",\"choices\":[{\"index\":0,\"text\":");
        sbuf_add_json_str(b, text ? text : "", text ? len : 0);
        sbuf_adds(b, ",\"logprobs\":");
        text_logprobs(b, n_lps ? lps : NULL, n_lps, 0);
    }
    if (finish >= 0) sbuf_addf(b, ",\"finish_reason\":\"%s\"}]", resp_finish_name(finish));
    else sbuf_adds(b, ",\"finish_reason\":null}]");
    if (usage_null) sbuf_adds(b, ",\"usage\":null");
    sbuf_adds(b, "}\n\n");
}

void resp_chunk_usage(struct sbuf *b, const struct resp_meta *m, const struct engine_usage *u) {
    sbuf_adds(b, "data: ");
    head(b, m, m->chat ? "chat.completion.chunk" : "text_completion");
    sbuf_adds(b, ",\"choices\":[],\"usage\":");
    resp_usage(b, u);
    sbuf_adds(b, "}\n\n");
}
