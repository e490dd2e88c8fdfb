/*
 * web.h - the chat page: its static files and its conversation endpoints,
 * as one function the HTTP layer calls for every request.
 *
 *   GET  /  /index.html  /favicon.svg  /assets/...   the page, from the table
 *                                       compiled into the binary (web_assets)
 *   GET  /api/info                      {"auth": bool, "persistent": bool}
 *   GET  /api/conversations             {"object": "list", "data": [conv...]}
 *   POST /api/conversations             {"title"?} -> 201 conv
 *   GET  /api/conversations/ID          conv + "messages": [msg...]
 *   PATCH /api/conversations/ID         {"title"} -> conv
 *   DELETE /api/conversations/ID        {"id", "deleted": true}
 *   POST /api/conversations/ID/messages {"role", "content", "reasoning"?,
 *                                        "reasoning_ms"?, "truncate_from"?}
 *                                       -> 201 msg, once durable
 *
 *   conv = {"id", "title", "created", "updated"} (times in ms since the epoch)
 *   msg  = {"seq", "role", "content", "reasoning" (string|null),
 *           "reasoning_ms" (number|null), "created"}
 *
 * The page is public (it asks for the key itself); /api/ routes other than
 * /api/info need "Authorization: Bearer KEY" when the server has keys, and
 * each key sees only its own conversations (store.h).  Errors are
 * OpenAI-shaped JSON: {"error": {"message", "type", "param", "code"}}.
 * Static replies carry a strict Content-Security-Policy (scripts and styles
 * from the page's own files only, no inline script, no remote images), so
 * even markup that escaped the page's sanitizer could not run.
 *
 * Wiring, in the HTTP layer's request handler (after the body is read):
 *
 *     struct web_reply r;
 *     int status = web_handle(&web, method, url, authorization_header, body, body_len, &r);
 *     if (status) { send r.status/r.content_type/r.headers/r.body; web_reply_free(&r); return; }
 *     ... not a page URL: the API routes ...
 *
 * web_owns(url) says beforehand whether web_handle will take a URL, and
 * WEB_MAX_BODY is the body size its routes accept.
 */
#ifndef DC_WEB_H
#define DC_WEB_H

#include <stddef.h>

#include "auth.h"
#include "sbuf.h"
#include "store.h"

/* A message's content and reasoning can each be STORE_MAX_TEXT bytes and
 * JSON escapes can grow text up to 6x; a body past this is refused (413). */
#define WEB_MAX_BODY ((size_t)16 << 20)
#define WEB_MAX_HEADERS 6

/* One file of the page (tools/embed_assets.py writes the table into
 * build/web_assets.c from web/dist). */
struct web_asset {
    const char *path;          /* URL path: "/index.html", "/assets/app.js" */
    const char *content_type;  /* "text/html; charset=utf-8" */
    const unsigned char *data; /* the file's bytes */
    size_t len;
};
extern const struct web_asset web_assets[];
extern const size_t web_n_assets;

struct web_ctx {
    struct store *store;     /* borrowed; NULL: the /api/conversations routes answer 503 */
    const struct auth *auth; /* borrowed; NULL or no keys: every request is accepted */
};

struct web_header {
    const char *name, *value; /* static strings */
};

struct web_reply {
    int status;               /* HTTP status */
    const char *content_type; /* static */
    const void *body;         /* len bytes: into web_assets (static) or into buf */
    size_t len;
    struct web_header headers[WEB_MAX_HEADERS]; /* extra response headers */
    int n_headers;
    struct sbuf buf;          /* owned storage of a generated body */
};

/* 1 when url (the path, without the query string) belongs to the page. */
int web_owns(const char *url);

/* Handles one request.  Returns 0 when url is not the page's (out left
 * zeroed: route it elsewhere), else the HTTP status, with *out filled; free
 * it with web_reply_free.  method is "GET", "HEAD", "POST", ...; body may be
 * NULL when body_len is 0; authorization is the Authorization header value
 * or NULL.  Safe to call from several threads at once. */
int web_handle(struct web_ctx *w, const char *method, const char *url, const char *authorization, const char *body,
               size_t body_len, struct web_reply *out);

void web_reply_free(struct web_reply *r); /* zeroes *r */

/* The embedded file for a URL path ("/" is "/index.html"), or NULL. */
const struct web_asset *web_asset_find(const char *path);

#endif
