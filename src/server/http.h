/*
 * http.h - the HTTP server: libmicrohttpd in front of the engine.
 *
 * Endpoints (docs/SERVER.md): POST /chat/completions, /v1/chat/completions,
 * /completions, /v1/completions, /beta/completions (fill-in-the-middle with
 * "suffix"); GET /models, /v1/models, /models/{id}, /v1/models/{id},
 * /health, /v1/health, /metrics.
 *
 * Threads.  libmicrohttpd runs one thread per connection (internal polling
 * thread + thread-per-connection); those threads own the sockets, read the
 * body, parse JSON (api.h) and call engine_submit.  Engine events arrive on
 * the engine thread, which only appends them to the request's buffer under
 * the request's mutex and signals its condition variable.  A non-streaming
 * request's connection thread waits for the DONE event, then answers; a
 * streaming one answers at once with a content-reader callback that blocks
 * on the condition variable, turns buffered events into SSE chunks, and
 * writes ": keep-alive" comments while nothing arrives.  While waiting, the
 * connection thread checks whether the client closed the socket; a client
 * that is gone (or a write that fails) ends the response, the request
 * completed callback calls engine_cancel, and the request's memory is freed
 * when both the connection and the engine's DONE event are through with it
 * (a reference count).
 *
 * Life cycle: http_start listens at once and answers /health with 503
 * until http_set_engine is called (the model loads in another thread).
 * http_drain makes new generation requests and /health answer 503 and stops
 * the engine's intake while in-flight requests finish; http_inflight tells
 * when they have; http_stop closes everything (not the engine).
 */
#ifndef DC_HTTP_H
#define DC_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct engine;
struct auth;
struct web_ctx;
struct http_server; /* opaque */

struct http_opts {
    const char *host;          /* address to bind, default "127.0.0.1" ("::1" and names work) */
    int port;                  /* 0: any free port (see http_port) */
    size_t max_body;           /* request body ceiling, bytes (413 above) */
    int32_t max_messages;      /* messages per chat request (422 above) */
    int32_t max_tokens_limit;  /* ceiling of max_tokens; 0: the context size */
    int32_t default_max_tokens;/* when a request has none; 0: min(4096, limit) */
    int64_t max_prompt_tokens; /* 0: whatever fits the context */
    int max_connections;       /* open connections served; more get 503 */
    double keepalive_s;        /* ": keep-alive" interval of waiting streams, seconds */
    int quiet;                 /* no access log on stderr */
    struct web_ctx *web;       /* the chat page and /api/ (web.h), borrowed; NULL: none */
};

void http_opts_default(struct http_opts *o);

/* Binds and starts serving.  keys is borrowed and must outlive the server.
 * DC_EIO when the address cannot be bound. */
int http_start(struct http_server **out, const struct http_opts *o, const struct auth *keys, char *err);
int http_port(const struct http_server *s);

/* The model is loaded: generation requests are served from now on.  The
 * engine is borrowed; the caller closes it after http_stop. */
void http_set_engine(struct http_server *s, struct engine *e);

/* SIGTERM: new requests get 503, the engine takes no more, in-flight ones go on. */
void http_drain(struct http_server *s);
/* Requests accepted and not yet finished and freed. */
int http_inflight(struct http_server *s);
/* Asks the engine to stop every in-flight request (second signal). */
void http_cancel_all(struct http_server *s);

/* Stops listening, closes connections, frees.  NULL is a no-op. */
void http_stop(struct http_server *s);

#endif
