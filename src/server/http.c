/*
 * http.c - libmicrohttpd server, request life cycle, SSE streaming (see http.h).
 */
#include "http.h"
#include "web.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "engine.h"
#include "err.h"
#include "metrics.h"
#include "resp.h"
#include "sbuf.h"

#define IDLE_TIMEOUT_S 300u   /* keep-alive connection idle time before MHD closes it */
#define PEER_CHECK_MS 200.0   /* how often a waiting request looks for a closed client socket */
#define STREAM_BLOCK 16384    /* bytes MHD asks the stream reader for at most */

enum state { ST_LOADING = 0, ST_READY = 1, ST_DRAINING = 2 };

enum endpoint { EP_CHAT, EP_COMPLETION, EP_FIM, EP_MODELS, EP_MODEL_ONE, EP_HEALTH, EP_METRICS, EP_WEB };

static const char *const ep_names[] = {"chat", "completions", "fim", "models", "model", "health", "metrics", "web"};

struct sreq;

struct http_server {
    struct MHD_Daemon *d;
    struct http_opts o;
    char host[256];
    const struct auth *keys;
    _Atomic(struct engine *) eng;
    atomic_int state;        /* enum state */
    struct metrics m;
    int port;
    int64_t created;         /* unix seconds, for /models */
    uint64_t salt;           /* random bits for ids and default seeds */
    atomic_ullong counter;   /* request counter */
    pthread_mutex_t mu;      /* guards live list */
    struct sreq *live;       /* requests submitted to the engine */
};

/*
 * One generation request.  Owned by up to three references: the connection
 * (dropped in the request-completed callback), the engine (dropped after the
 * DONE event) and a streaming response (dropped when MHD frees it).
 */
struct sreq {
    struct http_server *srv;
    struct MHD_Connection *conn;
    int ep;                         /* enum endpoint, -1 unknown */
    int route_rc;                   /* 0, or 404 / 405 to answer */
    double t0;                      /* ms, monotonic */
    /* shared with the engine thread, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    struct sbuf ev;                 /* event records (see rec_*) */
    int done;                       /* DONE received */
    int finish;                     /* enum engine_finish */
    struct engine_usage usage;
    char done_msg[DC_ERR_LEN];
    /* connection thread only */
    struct sbuf body;
    int too_large;
    int submitted;
    uint64_t eng_id;
    struct engine *eng;
    int stream, include_usage, want_lp;
    struct resp_meta meta;
    char id[48];
    char model[192];
    struct sbuf take;               /* records taken out of ev */
    struct sbuf acc;                /* text being gathered into one chunk */
    struct sbuf wire;               /* SSE bytes not yet handed to MHD */
    size_t wire_off;
    int stream_end;
    double last_write;              /* ms */
    int status;
    struct sreq *prev, *next;       /* srv->live, under srv->mu */
    int listed;
};

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* ---- event records ----------------------------------------------------------
 * The engine thread appends, the connection thread decodes:
 *   u8 kind, u32 payload length, payload
 *   text kinds: the UTF-8 bytes
 *   TOKEN: f32 logprob, u8 n_top, u32 len, bytes, then n_top x (f32, u32 len, bytes)
 */

static void rec_u32(struct sbuf *b, uint32_t v) { sbuf_add(b, &v, 4); }
static void rec_f32(struct sbuf *b, float v) { sbuf_add(b, &v, 4); }

static void rec_put(struct sbuf *b, const struct engine_event *ev) {
    uint8_t kind = (uint8_t)ev->kind;
    sbuf_add(b, &kind, 1);
    if (ev->kind != ENGINE_EV_TOKEN) {
        rec_u32(b, (uint32_t)ev->len);
        sbuf_add(b, ev->text, ev->len);
        return;
    }
    int n_top = ev->n_top < 0 ? 0 : ev->n_top > SMP_MAX_LOGPROBS ? SMP_MAX_LOGPROBS : ev->n_top;
    uint32_t len = 4 + 1 + 4 + (uint32_t)ev->token_len;
    for (int i = 0; i < n_top; i++) len += 8 + (uint32_t)ev->top[i].len;
    rec_u32(b, len);
    rec_f32(b, ev->logprob);
    uint8_t nt = (uint8_t)n_top;
    sbuf_add(b, &nt, 1);
    rec_u32(b, (uint32_t)ev->token_len);
    sbuf_add(b, ev->token_bytes, ev->token_len);
    for (int i = 0; i < n_top; i++) {
        rec_f32(b, ev->top[i].logprob);
        rec_u32(b, (uint32_t)ev->top[i].len);
        sbuf_add(b, ev->top[i].bytes, ev->top[i].len);
    }
}

/* Reads the record at p[*off..n); 0 at the end.  Our own writer made the
 * bytes, so lengths are trusted except that they must stay inside n. */
static int rec_next(const char *p, size_t n, size_t *off, int *kind, const char **data, uint32_t *len) {
    if (*off + 5 > n) return 0;
    *kind = (uint8_t)p[*off];
    memcpy(len, p + *off + 1, 4);
    if (*len > n - *off - 5) return 0;
    *data = p + *off + 5;
    *off += 5 + *len;
    return 1;
}

static void rec_token(const char *d, struct resp_lp *lp) {
    size_t o = 0;
    uint32_t l;
    memcpy(&lp->logprob, d + o, 4);
    o += 4;
    lp->n_top = (uint8_t)d[o++];
    memcpy(&l, d + o, 4);
    o += 4;
    lp->bytes = d + o;
    lp->len = l;
    o += l;
    for (int i = 0; i < lp->n_top; i++) {
        memcpy(&lp->top[i].logprob, d + o, 4);
        memcpy(&l, d + o + 4, 4);
        o += 8;
        lp->top[i].bytes = d + o;
        lp->top[i].len = l;
        o += l;
    }
}

/* ---- request objects ---------------------------------------------------------- */

static struct sreq *sreq_new(struct http_server *s, struct MHD_Connection *c, int ep) {
    struct sreq *q = calloc(1, sizeof(*q));
    if (!q) return NULL;
    q->srv = s;
    q->conn = c;
    q->ep = ep;
    q->t0 = now_ms();
    q->refs = 1;
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    return q;
}

static void sreq_free(struct sreq *q) {
    struct http_server *s = q->srv;
    if (q->listed) {
        pthread_mutex_lock(&s->mu);
        if (q->prev) q->prev->next = q->next;
        else s->live = q->next;
        if (q->next) q->next->prev = q->prev;
        pthread_mutex_unlock(&s->mu);
    }
    sbuf_free(&q->ev);
    sbuf_free(&q->body);
    sbuf_free(&q->take);
    sbuf_free(&q->acc);
    sbuf_free(&q->wire);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    int submitted = q->submitted;
    free(q);
    if (submitted) atomic_fetch_sub(&s->m.inflight, 1); /* last: drain waits on it */
}

static void sreq_ref(struct sreq *q) {
    pthread_mutex_lock(&q->mu);
    q->refs++;
    pthread_mutex_unlock(&q->mu);
}

static void sreq_unref(struct sreq *q) {
    pthread_mutex_lock(&q->mu);
    int n = --q->refs;
    pthread_mutex_unlock(&q->mu);
    if (n == 0) sreq_free(q);
}

/* Engine thread: copy, signal, and (after DONE) let go. */
static void on_event(void *user, const struct engine_event *ev) {
    struct sreq *q = user;
    pthread_mutex_lock(&q->mu);
    int last = ev->kind == ENGINE_EV_DONE;
    if (last) {
        q->done = 1;
        q->finish = ev->finish;
        q->usage = ev->usage;
        snprintf(q->done_msg, sizeof(q->done_msg), "%.*s", (int)(ev->text ? ev->len : 0), ev->text ? ev->text : "");
    } else {
        rec_put(&q->ev, ev);
    }
    if (last || q->stream) pthread_cond_signal(&q->cv); /* a plain request only waits for DONE */
    int n = last ? --q->refs : 1;
    pthread_mutex_unlock(&q->mu);
    if (n == 0) sreq_free(q);
}

/* 1 when the client closed its end (or the socket failed), without reading
 * anything a pipelining client may already have sent. */
static int peer_closed(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return 0;
    char b;
    ssize_t r = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r == 0) return 1;
    return r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

/* Waits until deadline_ms for engine news: DONE, or (unless only_done) any
 * record.  Every PEER_CHECK_MS it looks whether the client is still there.
 * 1: news, 0: deadline passed, -1: the client is gone. */
static int wait_news(struct sreq *q, double deadline_ms, int only_done) {
    double next_check = now_ms() + PEER_CHECK_MS;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (q->done || (!only_done && q->ev.len)) break;
        double now = now_ms();
        if (now >= deadline_ms) {
            pthread_mutex_unlock(&q->mu);
            return 0;
        }
        if (now >= next_check) {
            pthread_mutex_unlock(&q->mu);
            if (peer_closed(q->conn)) return -1;
            next_check = now + PEER_CHECK_MS;
            pthread_mutex_lock(&q->mu);
            continue;
        }
        double until = next_check < deadline_ms ? next_check : deadline_ms;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        double add_ns = (until - now) * 1e6 + (double)ts.tv_nsec;
        ts.tv_sec += (time_t)(add_ns / 1e9);
        ts.tv_nsec = (long)(add_ns - (double)(long long)(add_ns / 1e9) * 1e9);
        pthread_cond_timedwait(&q->cv, &q->mu, &ts);
    }
    pthread_mutex_unlock(&q->mu);
    return 1;
}

/* Appends the engine's records to q->take; returns whether DONE was seen. */
static int take_records(struct sreq *q) {
    pthread_mutex_lock(&q->mu);
    sbuf_add(&q->take, q->ev.p, q->ev.len);
    sbuf_reset(&q->ev);
    int done = q->done;
    pthread_mutex_unlock(&q->mu);
    return done;
}

/* ---- replies -------------------------------------------------------------------- */

static enum MHD_Result reply(struct http_server *s, struct MHD_Connection *c, struct sreq *q, int status,
                             const char *ctype, const struct sbuf *body) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(body->len, body->p ? body->p : (char *)"", MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", ctype);
    if (status == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    if (status == 429 || status == 503) MHD_add_response_header(r, "Retry-After", "1");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    metrics_count_status(&s->m, status);
    if (q) q->status = status;
    return ret;
}

static enum MHD_Result reply_json(struct http_server *s, struct MHD_Connection *c, struct sreq *q, int status,
                                  struct sbuf *body) {
    if (body->oom) {
        sbuf_reset(body);
        body->oom = 0;
        resp_error_msg(body, 500, NULL, "out of memory");
        status = 500;
    }
    enum MHD_Result r = reply(s, c, q, status, "application/json", body);
    sbuf_free(body);
    return r;
}

static enum MHD_Result reply_err(struct http_server *s, struct MHD_Connection *c, struct sreq *q, int status,
                                 const char *code, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static enum MHD_Result reply_err(struct http_server *s, struct MHD_Connection *c, struct sreq *q, int status,
                                 const char *code, const char *fmt, ...) {
    char msg[DC_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct sbuf b = {0};
    resp_error_msg(&b, status, code, msg);
    return reply_json(s, c, q, status, &b);
}

static enum MHD_Result reply_api_err(struct http_server *s, struct MHD_Connection *c, struct sreq *q,
                                     const struct api_err *e) {
    struct sbuf b = {0};
    resp_error(&b, e);
    return reply_json(s, c, q, e->status, &b);
}

static enum MHD_Result reply_unauthorized(struct http_server *s, struct MHD_Connection *c, struct sreq *q) {
    /* DeepSeek's wording; the key the client sent is never echoed or logged. */
    return reply_err(s, c, q, 401, "invalid_api_key", "Authentication Fails, your API key is missing or invalid");
}

/* ---- GET endpoints ---------------------------------------------------------------- */

static enum MHD_Result do_get(struct http_server *s, struct MHD_Connection *c, int ep, const char *url) {
    int st = atomic_load(&s->state);
    struct engine *e = atomic_load(&s->eng);
    struct sbuf b = {0};
    if (ep == EP_HEALTH) {
        if (st == ST_LOADING) return reply_err(s, c, NULL, 503, "unavailable_error", "Loading model");
        if (st == ST_DRAINING) return reply_err(s, c, NULL, 503, "unavailable_error", "Shutting down");
        sbuf_adds(&b, "{\"status\":\"ok\"}");
        return reply_json(s, c, NULL, 200, &b);
    }
    if (!auth_check(s->keys, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization")))
        return reply_unauthorized(s, c, NULL);
    if (ep == EP_METRICS) {
        struct engine_stats es;
        if (e) engine_get_stats(e, &es);
        metrics_render(&s->m, e ? &es : NULL, e != NULL, st == ST_DRAINING, &b);
        enum MHD_Result r = reply(s, c, NULL, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
        sbuf_free(&b);
        return r;
    }
    if (!e) return reply_err(s, c, NULL, 503, "unavailable_error", "Loading model");
    if (ep == EP_MODELS) {
        resp_models(&b, engine_model_id(e), s->created);
        return reply_json(s, c, NULL, 200, &b);
    }
    /* EP_MODEL_ONE: url is /models/{id} or /v1/models/{id} */
    const char *id = strstr(url, "/models/") + 8;
    if (resp_model_one(&b, engine_model_id(e), s->created, id) != 0) {
        sbuf_free(&b);
        return reply_err(s, c, NULL, 404, "model_not_found", "Model Not Exist: '%.100s'", id);
    }
    return reply_json(s, c, NULL, 200, &b);
}

/* ---- streaming ---------------------------------------------------------------------- */

/* Turns the text in q->acc (kind) plus the pending logprobs into one chunk. */
static void flush_acc(struct sreq *q, int kind, struct resp_lp *lps, size_t *n_lps) {
    if (!q->acc.len && !*n_lps) return;
    int delta = !q->meta.chat ? RESP_DELTA_NONE
                : kind == ENGINE_EV_REASONING ? RESP_DELTA_REASONING
                                              : RESP_DELTA_CONTENT;
    resp_chunk(&q->wire, &q->meta, NULL, delta, q->acc.p ? q->acc.p : "", q->acc.len, lps, *n_lps, -1,
               q->include_usage);
    sbuf_reset(&q->acc);
    *n_lps = 0;
}

/* q->take -> SSE chunks in q->wire; consecutive texts of one kind become
 * one chunk.  After DONE: the finish chunk, the usage chunk, [DONE]. */
static void format_stream(struct sreq *q, int done) {
    const char *p = q->take.p;
    size_t n = q->take.len, off = 0, n_lps = 0, cap = 0;
    struct resp_lp *lps = NULL;
    int kind, cur = -1;
    const char *d;
    uint32_t len;
    /* Logprobs of tokens whose text has not arrived yet (the engine sends a
     * token's TOKEN record before its text, and holds text back for UTF-8
     * and stop strings) wait for the next text, unless the stream ends. */
    if (!done) {
        size_t end = 0;
        while (p && rec_next(p, n, &off, &kind, &d, &len))
            if (kind != ENGINE_EV_TOKEN) end = off;
        n = end;
        off = 0;
    }
    while (p && rec_next(p, n, &off, &kind, &d, &len)) {
        if (kind == ENGINE_EV_TOKEN) {
            if (n_lps == cap) {
                size_t nc = cap ? cap * 2 : 8;
                struct resp_lp *nl = realloc(lps, nc * sizeof(*nl));
                if (!nl) continue; /* drop a logprob rather than the text */
                lps = nl;
                cap = nc;
            }
            rec_token(d, &lps[n_lps++]);
            continue;
        }
        /* completions put reasoning and content into one text */
        int k = q->meta.chat ? kind : ENGINE_EV_CONTENT;
        if (cur != k && q->acc.len) flush_acc(q, cur, lps, &n_lps);
        cur = k;
        sbuf_add(&q->acc, d, len);
    }
    flush_acc(q, cur, lps, &n_lps);
    if (done) {
        pthread_mutex_lock(&q->mu);
        int finish = q->finish;
        struct engine_usage u = q->usage;
        char msg[DC_ERR_LEN];
        snprintf(msg, sizeof(msg), "%s", q->done_msg);
        pthread_mutex_unlock(&q->mu);
        if (finish == ENGINE_FINISH_ERROR) {
            sbuf_adds(&q->wire, "data: ");
            resp_error_msg(&q->wire, 500, NULL, msg[0] ? msg : "generation failed");
            sbuf_adds(&q->wire, "\n\n");
        } else {
            resp_chunk(&q->wire, &q->meta, NULL, RESP_DELTA_NONE, "", 0, lps, n_lps, finish, q->include_usage);
            if (q->include_usage) resp_chunk_usage(&q->wire, &q->meta, &u);
        }
        sbuf_adds(&q->wire, "data: [DONE]\n\n");
        q->stream_end = 1;
        if (u.completion_tokens > 0) metrics_add_ttft(&q->srv->m, u.queue_ms + u.prompt_ms);
    }
    free(lps);
    sbuf_consume(&q->take, n);
}

/* MHD content reader of a streamed response: blocks until it has bytes. */
static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    struct sreq *q = cls;
    for (;;) {
        if (q->wire.oom) return MHD_CONTENT_READER_END_WITH_ERROR;
        if (q->wire_off < q->wire.len) {
            size_t k = q->wire.len - q->wire_off;
            if (k > max) k = max;
            memcpy(buf, q->wire.p + q->wire_off, k);
            q->wire_off += k;
            if (q->wire_off == q->wire.len) {
                sbuf_reset(&q->wire);
                q->wire_off = 0;
            }
            q->last_write = now_ms();
            return (ssize_t)k;
        }
        if (q->stream_end) return MHD_CONTENT_READER_END_OF_STREAM;
        double deadline = q->last_write + q->srv->o.keepalive_s * 1000.0;
        int w = wait_news(q, deadline, 0);
        if (w < 0) return MHD_CONTENT_READER_END_WITH_ERROR; /* client gone: completed callback cancels */
        if (w == 0) {
            sbuf_adds(&q->wire, ": keep-alive\n\n");
            continue;
        }
        int done = take_records(q);
        format_stream(q, done);
    }
}

static void stream_free(void *cls) { sreq_unref(cls); }

/* ---- generation endpoints ------------------------------------------------------------- */

static enum MHD_Result submit_error(struct http_server *s, struct MHD_Connection *c, struct sreq *q, int rc,
                                    const char *msg) {
    switch (rc) {
    case ENGINE_EBUSY: return reply_err(s, c, q, 429, "rate_limit_error", "%s", msg);
    case ENGINE_ECLOSED: return reply_err(s, c, q, 503, "unavailable_error", "%s", msg);
    case DC_ERANGE: return reply_err(s, c, q, 400, "context_length_exceeded", "%s", msg);
    case DC_EINVAL:
    case DC_EUNSUPPORTED: return reply_err(s, c, q, 422, "invalid_request_error", "%s", msg);
    default: return reply_err(s, c, q, 500, NULL, "%s", msg);
    }
}

/* Non-streaming: the whole answer once DONE is in. */
static enum MHD_Result finish_plain(struct http_server *s, struct MHD_Connection *c, struct sreq *q) {
    struct sbuf content = {0}, reasoning = {0}, b = {0};
    struct resp_lp *lps = NULL;
    size_t n_lps = 0, cap = 0, off = 0;
    int kind;
    const char *d;
    uint32_t len;
    while (q->take.p && rec_next(q->take.p, q->take.len, &off, &kind, &d, &len)) {
        if (kind == ENGINE_EV_TOKEN) {
            if (n_lps == cap) {
                size_t nc = cap ? cap * 2 : 64;
                struct resp_lp *nl = realloc(lps, nc * sizeof(*nl));
                if (!nl) continue;
                lps = nl;
                cap = nc;
            }
            rec_token(d, &lps[n_lps++]);
        } else if (kind == ENGINE_EV_REASONING && q->meta.chat) {
            sbuf_add(&reasoning, d, len);
        } else {
            sbuf_add(&content, d, len);
        }
    }
    enum MHD_Result r;
    if (q->finish == ENGINE_FINISH_ERROR) {
        r = reply_err(s, c, q, 500, NULL, "%s", q->done_msg[0] ? q->done_msg : "generation failed");
    } else {
        struct resp_lp none;
        const struct resp_lp *lp_out = q->want_lp ? (lps ? lps : &none) : NULL;
        resp_result(&b, &q->meta, content.p, content.len, reasoning.len ? reasoning.p : NULL, reasoning.len,
                    lp_out, n_lps, q->finish, &q->usage);
        if (content.oom || reasoning.oom) b.oom = 1;
        r = reply_json(s, c, q, 200, &b);
    }
    if (q->usage.completion_tokens > 0) metrics_add_ttft(&s->m, q->usage.queue_ms + q->usage.prompt_ms);
    free(lps);
    sbuf_free(&content);
    sbuf_free(&reasoning);
    return r;
}

static enum MHD_Result do_generate(struct http_server *s, struct MHD_Connection *c, struct sreq *q) {
    if (q->too_large) /* chunked upload without a Content-Length */
        return reply_err(s, c, q, 413, "request_too_large", "request body larger than %zu bytes", s->o.max_body);
    struct engine *e = atomic_load(&s->eng);
    if (atomic_load(&s->state) != ST_READY || !e)
        return reply_err(s, c, q, 503, "unavailable_error", "the server is shutting down");
    int64_t n_ctx = engine_n_ctx(e);
    int32_t limit = s->o.max_tokens_limit > 0 ? s->o.max_tokens_limit : (int32_t)(n_ctx < INT32_MAX ? n_ctx : INT32_MAX);
    int32_t dflt = s->o.default_max_tokens > 0 ? s->o.default_max_tokens : 4096;
    if (dflt > limit) dflt = limit;
    struct smp_params defaults;
    engine_sampling_defaults(e, &defaults);
    uint64_t k = atomic_fetch_add(&s->counter, 1) + 1;
    struct api_ctx ctx = {engine_model_id(e), &defaults, s->o.max_messages, limit, dflt,
                          (s->salt ^ (k * 0x9E3779B97F4A7C15ull)) >> 1};
    struct api_req ar;
    struct api_err ae;
    int kind = q->ep == EP_CHAT ? API_CHAT : API_COMPLETION;
    if (api_parse(&ar, kind, q->body.p, q->body.len, &ctx, &ae)) return reply_api_err(s, c, q, &ae);
    sbuf_free(&q->body);

    q->stream = ar.stream;
    q->include_usage = ar.include_usage;
    q->want_lp = ar.n_logprobs >= 0;
    q->meta.chat = kind == API_CHAT;
    snprintf(q->id, sizeof(q->id), "%s%016llx%08llx", kind == API_CHAT ? "chatcmpl-" : "cmpl-",
             (unsigned long long)(s->salt ^ k), (unsigned long long)(k & 0xffffffffu));
    snprintf(q->model, sizeof(q->model), "%s", ar.model);
    q->meta.id = q->id;
    q->meta.model = q->model;
    q->meta.created = (int64_t)time(NULL);

    struct engine_request er;
    memset(&er, 0, sizeof(er));
    er.msgs = ar.msgs;
    er.n_msgs = ar.n_msgs;
    er.thinking = ar.thinking;
    er.prompt = kind == API_COMPLETION ? ar.prompt : NULL;
    er.suffix = kind == API_COMPLETION ? ar.suffix : NULL;
    er.sampling = ar.sampling;
    er.max_tokens = ar.max_tokens;
    er.stop = ar.stop;
    er.n_stop = ar.n_stop;
    er.n_logprobs = ar.n_logprobs;
    er.reasoning_budget = ar.reasoning_budget;
    er.ignore_eos = ar.ignore_eos;
    er.max_prompt_tokens = s->o.max_prompt_tokens;

    char err[DC_ERR_LEN] = "";
    int64_t n_prompt = 0;
    sreq_ref(q); /* the engine's reference, dropped after DONE */
    q->eng = e;
    int rc = engine_submit(e, &er, on_event, q, &q->eng_id, &n_prompt, err);
    api_req_free(&ar);
    if (rc) {
        pthread_mutex_lock(&q->mu);
        q->refs--; /* no callback will come */
        pthread_mutex_unlock(&q->mu);
        return submit_error(s, c, q, rc, err);
    }
    q->submitted = 1;
    atomic_fetch_add(&s->m.inflight, 1);
    pthread_mutex_lock(&s->mu);
    q->next = s->live;
    if (s->live) s->live->prev = q;
    s->live = q;
    q->listed = 1;
    pthread_mutex_unlock(&s->mu);

    if (q->stream) {
        struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_reader, q,
                                                                   stream_free);
        if (!r) return MHD_NO;
        sreq_ref(q); /* the response's reference */
        MHD_add_response_header(r, "Content-Type", "text/event-stream");
        MHD_add_response_header(r, "Cache-Control", "no-cache");
        MHD_add_response_header(r, "X-Accel-Buffering", "no");
        /* first delta carries the role (chat) and goes out before any token */
        if (q->meta.chat) resp_chunk(&q->wire, &q->meta, "assistant", RESP_DELTA_NONE, NULL, 0, NULL, 0, -1,
                                     q->include_usage);
        q->last_write = now_ms();
        enum MHD_Result ret = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        metrics_count_status(&s->m, 200);
        atomic_fetch_add(&s->m.streams, 1);
        q->status = 200;
        return ret;
    }
    for (;;) {
        int w = wait_news(q, now_ms() + 60e3, 1);
        if (w < 0) return MHD_NO; /* client gone: the completed callback cancels */
        if (w > 0) break;
    }
    take_records(q);
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, IDLE_TIMEOUT_S); /* restart the idle clock */
    return finish_plain(s, c, q);
}

/* The chat page and its /api/ routes (web.h), with the body read. */
static enum MHD_Result do_web(struct http_server *s, struct MHD_Connection *c, struct sreq *q, const char *url,
                              const char *method) {
    if (q->too_large)
        return reply_err(s, c, q, 413, "request_too_large", "request body larger than %zu bytes", s->o.max_body);
    struct web_reply w;
    web_handle(s->o.web, method, url, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"), q->body.p,
               q->body.len, &w);
    struct MHD_Response *r = MHD_create_response_from_buffer(w.len, (void *)w.body, MHD_RESPMEM_MUST_COPY);
    if (r) {
        MHD_add_response_header(r, "Content-Type", w.content_type);
        for (int i = 0; i < w.n_headers; i++) MHD_add_response_header(r, w.headers[i].name, w.headers[i].value);
    }
    enum MHD_Result ret = r ? MHD_queue_response(c, (unsigned)w.status, r) : MHD_NO;
    if (r) MHD_destroy_response(r);
    metrics_count_status(&s->m, w.status);
    q->status = w.status;
    web_reply_free(&w);
    return ret;
}

/* ---- MHD callbacks ---------------------------------------------------------------------- */

static int route(const char *url, const char *method, int *ep) {
    int is_get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), is_post = !strcmp(method, "POST");
    const char *u = url;
    if (!strncmp(u, "/v1/", 4)) u += 3;
    else if (!strncmp(u, "/beta/", 6)) {
        if (!strcmp(u, "/beta/completions")) {
            *ep = EP_FIM;
            return is_post ? 0 : 405;
        }
        u += 5;
    }
    if (!strcmp(u, "/chat/completions")) *ep = EP_CHAT;
    else if (!strcmp(u, "/completions")) *ep = EP_COMPLETION;
    else if (!strcmp(u, "/models")) *ep = EP_MODELS;
    else if (!strncmp(u, "/models/", 8) && u[8]) *ep = EP_MODEL_ONE;
    else if (!strcmp(u, "/health")) *ep = EP_HEALTH;
    else if (!strcmp(url, "/metrics")) *ep = EP_METRICS;
    else return 404;
    int post = *ep == EP_CHAT || *ep == EP_COMPLETION;
    return (post ? is_post : is_get) ? 0 : 405;
}

/* MHD calls this once when the headers are in, again for every piece of
 * the body, and a last time with *upload_size == 0.  Answers are queued in
 * the later calls only: a response queued in the first call makes
 * libmicrohttpd close the connection instead of keeping it alive. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    struct http_server *s = cls;
    struct sreq *q = *con_cls;
    if (!q) {
        int ep = -1, rc = route(url, method, &ep);
        if (rc == 404 && s->o.web && web_owns(url)) ep = EP_WEB, rc = 0;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > s->o.max_body) /* answer now and close: do not read it */
            return reply_err(s, c, NULL, 413, "request_too_large", "request body larger than %zu bytes",
                             s->o.max_body);
        q = sreq_new(s, c, ep);
        if (!q) return MHD_NO;
        q->route_rc = rc;
        *con_cls = q;
        return MHD_YES;
    }
    int gen = q->route_rc == 0 && (q->ep == EP_CHAT || q->ep == EP_COMPLETION || q->ep == EP_FIM);
    if (*upload_size) { /* a piece of the body (kept only for generation endpoints and the page's) */
        if (q->ep == EP_WEB) gen = 1;
        if (gen && !q->too_large && q->body.len + *upload_size <= s->o.max_body) sbuf_add(&q->body, upload, *upload_size);
        else if (gen) q->too_large = 1;
        if (q->body.oom) q->too_large = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    if (q->route_rc == 404) return reply_err(s, c, q, 404, "not_found", "no such endpoint: %s %.100s", method, url);
    if (q->route_rc == 405)
        return reply_err(s, c, q, 405, "method_not_allowed", "%s is not allowed on %.100s", method, url);
    if (atomic_load(&s->m.connections) > s->o.max_connections)
        return reply_err(s, c, q, 503, "too_many_connections", "too many open connections (limit %d)",
                         s->o.max_connections);
    if (q->ep == EP_WEB) return do_web(s, c, q, url, method);
    if (!gen) return do_get(s, c, q->ep, url);
    if (!auth_check(s->keys, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization")))
        return reply_unauthorized(s, c, q);
    int st = atomic_load(&s->state);
    if (st == ST_LOADING) return reply_err(s, c, q, 503, "unavailable_error", "Loading model");
    if (st == ST_DRAINING) return reply_err(s, c, q, 503, "unavailable_error", "the server is shutting down");
    return do_generate(s, c, q);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)c;
    struct http_server *s = cls;
    struct sreq *q = *con_cls;
    if (!q) return;
    *con_cls = NULL;
    if (q->ep != EP_CHAT && q->ep != EP_COMPLETION && q->ep != EP_FIM) {
        sreq_unref(q);
        return;
    }
    pthread_mutex_lock(&q->mu);
    int done = q->done;
    struct engine_usage u = q->usage;
    pthread_mutex_unlock(&q->mu);
    if (q->submitted && !done) {
        engine_cancel(q->eng, q->eng_id); /* the client went away: free its slot at the next step */
        atomic_fetch_add(&s->m.disconnects, 1);
    }
    if (!s->o.quiet) {
        if (q->submitted)
            fprintf(stderr, "deepc serve: POST %s %d%s %.1f ms prompt %lld (cached %lld) completion %lld%s\n",
                    ep_names[q->ep], q->status, q->stream ? " stream" : "", now_ms() - q->t0,
                    (long long)u.prompt_tokens, (long long)u.cached_tokens, (long long)u.completion_tokens,
                    done ? "" : (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (client gone, cancelled)"));
        else fprintf(stderr, "deepc serve: POST %s %d %.1f ms\n", ep_names[q->ep], q->status, now_ms() - q->t0);
    }
    sreq_unref(q);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx, enum MHD_ConnectionNotificationCode t) {
    (void)c;
    (void)socket_ctx;
    struct http_server *s = cls;
    if (t == MHD_CONNECTION_NOTIFY_STARTED) atomic_fetch_add(&s->m.connections, 1);
    else atomic_fetch_sub(&s->m.connections, 1);
}

/* ---- life cycle ----------------------------------------------------------------------------- */

void http_opts_default(struct http_opts *o) {
    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->port = 8080;
    o->max_body = 8u << 20;
    o->max_messages = 1024;
    o->max_connections = 64;
    o->keepalive_s = 10.0;
}

static uint64_t random_bits(void) {
    uint64_t v = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) {
        if (fread(&v, sizeof(v), 1, f) != 1) v = 0;
        fclose(f);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return v ^ ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)getpid();
}

int http_start(struct http_server **out, const struct http_opts *o, const struct auth *keys, char *err) {
    *out = NULL;
    struct http_server *s = calloc(1, sizeof(*s));
    if (!s) return dc_errf(err, DC_ENOMEM, "out of memory");
    s->o = *o;
    snprintf(s->host, sizeof(s->host), "%s", o->host && o->host[0] ? o->host : "127.0.0.1");
    s->o.host = s->host;
    if (s->o.max_connections < 1) s->o.max_connections = 1;
    if (s->o.max_messages < 1) s->o.max_messages = 1;
    if (s->o.keepalive_s <= 0) s->o.keepalive_s = 10.0;
    s->keys = keys;
    metrics_init(&s->m);
    atomic_init(&s->state, ST_LOADING);
    atomic_init(&s->eng, NULL);
    atomic_init(&s->counter, 0);
    s->salt = random_bits();
    s->created = (int64_t)time(NULL);
    pthread_mutex_init(&s->mu, NULL);

    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[16];
    snprintf(port, sizeof(port), "%d", o->port);
    int gai = getaddrinfo(s->host, port, &hints, &ai);
    if (gai != 0 || !ai) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return dc_errf(err, DC_EINVAL, "cannot resolve host '%s': %s", o->host, gai_strerror(gai));
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                     MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    s->d = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, s,
                            MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)(s->o.max_connections + 16),
                            MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S,
                            MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->d) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return dc_errf(err, DC_EIO, "cannot listen on %s:%d (address in use or not available)", o->host, o->port);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di && di->port ? di->port : o->port;
    *out = s;
    return DC_OK;
}

int http_port(const struct http_server *s) { return s->port; }

void http_set_engine(struct http_server *s, struct engine *e) {
    atomic_store(&s->eng, e);
    int expect = ST_LOADING;
    atomic_compare_exchange_strong(&s->state, &expect, ST_READY);
}

void http_drain(struct http_server *s) {
    atomic_store(&s->state, ST_DRAINING);
    struct engine *e = atomic_load(&s->eng);
    if (e) engine_drain(e);
}

int http_inflight(struct http_server *s) { return atomic_load(&s->m.inflight); }

void http_cancel_all(struct http_server *s) {
    /* Copy the ids first: engine_cancel takes the engine's lock, and the
     * engine thread frees requests (taking s->mu) from its callbacks. */
    struct engine *e = atomic_load(&s->eng);
    if (!e) return;
    pthread_mutex_lock(&s->mu);
    size_t n = 0;
    for (struct sreq *q = s->live; q; q = q->next) n++;
    uint64_t *ids = n ? malloc(n * sizeof(*ids)) : NULL;
    size_t k = 0;
    if (ids)
        for (struct sreq *q = s->live; q; q = q->next) ids[k++] = q->eng_id;
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < k; i++) engine_cancel(e, ids[i]);
    free(ids);
}

void http_stop(struct http_server *s) {
    if (!s) return;
    if (s->d) MHD_stop_daemon(s->d);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
