/*
 * web.c - the chat page's static files and conversation endpoints (web.h).
 *
 * Requests arrive already split by the HTTP layer (method, path, the
 * Authorization header, the whole body); this file only routes, checks the
 * JSON with json-c, calls the store and writes JSON back.  It holds no state
 * of its own, so concurrent calls are safe as far as the store is (it is).
 */
#include "web.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define WEB_JSON_DEPTH 8 /* our bodies are flat objects */

/* Defence in depth for the page: scripts and styles only from our own files
 * (no inline script, no eval), images only ours or data:, fetches only to
 * this server, no framing, no plugins. */
static const char web_csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

static void web_add_header(struct web_reply *r, const char *name, const char *value) {
    if (r->n_headers < WEB_MAX_HEADERS) r->headers[r->n_headers++] = (struct web_header){name, value};
}

/* Points the reply's body at what was written into r->buf, or turns it into
 * a bare 500 when an append ran out of memory. */
static int web_finish_buf(struct web_reply *r, int status, const char *ctype) {
    r->status = status;
    r->content_type = ctype;
    if (r->buf.oom) {
        sbuf_free(&r->buf);
        r->status = 500;
        r->content_type = "text/plain; charset=utf-8";
        r->body = "out of memory\n";
        r->len = strlen(r->body);
        return r->status;
    }
    r->body = r->buf.p ? r->buf.p : "";
    r->len = r->buf.len;
    return status;
}

static const char *web_err_type(int status) {
    switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

static int web_error(struct web_reply *r, int status, const char *param, const char *msg) {
    sbuf_reset(&r->buf);
    sbuf_adds(&r->buf, "{\"error\":{\"message\":");
    sbuf_add_json_str(&r->buf, msg, strlen(msg));
    sbuf_addf(&r->buf, ",\"type\":\"%s\",\"param\":", web_err_type(status));
    if (param)
        sbuf_add_json_str(&r->buf, param, strlen(param));
    else
        sbuf_adds(&r->buf, "null");
    sbuf_adds(&r->buf, ",\"code\":null}}\n");
    web_add_header(r, "Cache-Control", "no-store");
    return web_finish_buf(r, status, "application/json");
}

/* Maps a store status to HTTP: bad input 400, limits 413/422, unknown id
 * 404, the rest (disk, memory) 500. */
static int web_store_error(struct web_reply *r, int rc, const char *msg) {
    int status = rc == DC_ENOTFOUND ? 404 : rc == DC_EINVAL ? 400 : rc == DC_ERANGE ? 422 : 500;
    const char *m = msg;
    if (strncmp(m, "store: ", 7) == 0) m += 7; /* the client does not care which module */
    return web_error(r, status, NULL, m);
}

static int web_json_reply(struct web_reply *r, int status, struct json_object *o) {
    if (!o) return web_error(r, 500, NULL, "out of memory");
    size_t n = 0;
    const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    sbuf_reset(&r->buf);
    if (s) sbuf_add(&r->buf, s, n);
    sbuf_adds(&r->buf, "\n");
    json_object_put(o);
    if (!s) return web_error(r, 500, NULL, "out of memory");
    web_add_header(r, "Cache-Control", "no-store");
    return web_finish_buf(r, status, "application/json");
}

/* ------------------------------------------------------------------ */
/* static files                                                         */

const struct web_asset *web_asset_find(const char *path) {
    if (strcmp(path, "/") == 0) path = "/index.html";
    for (size_t i = 0; i < web_n_assets; i++)
        if (strcmp(web_assets[i].path, path) == 0) return &web_assets[i];
    return NULL;
}

static int web_static(const char *method, const char *url, struct web_reply *r) {
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        web_add_header(r, "Allow", "GET, HEAD");
        r->body = "method not allowed\n";
        r->len = strlen(r->body);
        r->status = 405;
        r->content_type = "text/plain; charset=utf-8";
        return 405;
    }
    const struct web_asset *a = web_asset_find(url);
    if (!a) {
        r->status = 404;
        r->content_type = "text/plain; charset=utf-8";
        r->body = "not found\n";
        r->len = strlen(r->body);
        return 404;
    }
    r->status = 200;
    r->content_type = a->content_type;
    r->body = a->data;
    r->len = a->len;
    /* The files change with the binary only; "no-cache" still lets the
     * browser keep them but makes it revalidate, so an upgraded server is
     * never paired with a stale script. */
    web_add_header(r, "Cache-Control", "no-cache");
    web_add_header(r, "Content-Security-Policy", web_csp);
    web_add_header(r, "X-Content-Type-Options", "nosniff");
    web_add_header(r, "Referrer-Policy", "no-referrer");
    web_add_header(r, "X-Frame-Options", "DENY");
    return 200;
}

/* ------------------------------------------------------------------ */
/* JSON helpers                                                         */

/* Parses the body as one JSON object.  Returns NULL after writing a 400. */
static struct json_object *web_parse_body(struct web_reply *r, const char *body, size_t len) {
    if (len > WEB_MAX_BODY) {
        web_error(r, 413, NULL, "request body too large");
        return NULL;
    }
    if (!body || len == 0) {
        web_error(r, 400, NULL, "expected a JSON object body");
        return NULL;
    }
    struct json_tokener *tok = json_tokener_new_ex(WEB_JSON_DEPTH);
    if (!tok) {
        web_error(r, 500, NULL, "out of memory");
        return NULL;
    }
    struct json_object *o = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (je != json_tokener_success || !o) {
        json_object_put(o);
        web_error(r, 400, NULL, "malformed JSON body");
        return NULL;
    }
    for (; used < len; used++) {
        char c = body[used];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
            json_object_put(o);
            web_error(r, 400, NULL, "malformed JSON body: trailing data");
            return NULL;
        }
    }
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        web_error(r, 400, NULL, "expected a JSON object body");
        return NULL;
    }
    return o;
}

/* Optional string field: *out NULL when absent or null.  A wrong type or an
 * embedded NUL writes a 400 and returns -1. */
static int web_get_str(struct web_reply *r, struct json_object *o, const char *key, const char **out) {
    struct json_object *v = NULL;
    *out = NULL;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) return 0;
    if (!json_object_is_type(v, json_type_string)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "'%s' must be a string", key);
        web_error(r, 400, key, msg);
        return -1;
    }
    const char *s = json_object_get_string(v);
    if (strlen(s) != (size_t)json_object_get_string_len(v)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "'%s' contains a NUL character", key);
        web_error(r, 400, key, msg);
        return -1;
    }
    *out = s;
    return 0;
}

/* Optional non-negative integer field (def when absent or null). */
static int web_get_int(struct web_reply *r, struct json_object *o, const char *key, int64_t def, int64_t *out) {
    struct json_object *v = NULL;
    *out = def;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) return 0;
    if (!json_object_is_type(v, json_type_int)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "'%s' must be an integer", key);
        web_error(r, 400, key, msg);
        return -1;
    }
    int64_t x = json_object_get_int64(v);
    if (x < 0 || x > ((int64_t)1 << 53)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "'%s' out of range", key);
        web_error(r, 422, key, msg);
        return -1;
    }
    *out = x;
    return 0;
}

static struct json_object *web_conv_json(const struct store_conv *c) {
    struct json_object *o = json_object_new_object();
    if (!o) return NULL;
    json_object_object_add(o, "id", json_object_new_string(c->id));
    json_object_object_add(o, "title", json_object_new_string(c->title ? c->title : ""));
    json_object_object_add(o, "created", json_object_new_int64(c->created));
    json_object_object_add(o, "updated", json_object_new_int64(c->updated));
    return o;
}

static struct json_object *web_msg_json(const struct store_msg *m) {
    struct json_object *o = json_object_new_object();
    if (!o) return NULL;
    json_object_object_add(o, "seq", json_object_new_int64(m->seq));
    json_object_object_add(o, "role", json_object_new_string(m->role));
    json_object_object_add(o, "content", m->content ? json_object_new_string(m->content) : NULL);
    json_object_object_add(o, "reasoning", m->reasoning ? json_object_new_string(m->reasoning) : NULL);
    json_object_object_add(o, "reasoning_ms", m->reasoning_ms >= 0 ? json_object_new_int64(m->reasoning_ms) : NULL);
    json_object_object_add(o, "created", json_object_new_int64(m->created));
    return o;
}

/* ------------------------------------------------------------------ */
/* /api routes                                                          */

static int web_method_not_allowed(struct web_reply *r, const char *allow) {
    web_add_header(r, "Allow", allow);
    return web_error(r, 405, NULL, "method not allowed");
}

static int web_list(struct web_ctx *w, const char *owner, struct web_reply *r) {
    char err[DC_ERR_LEN];
    struct store_conv *v = NULL;
    size_t n = 0;
    int rc = store_conv_list(w->store, owner, &v, &n, err);
    if (rc) return web_store_error(r, rc, err);
    struct json_object *o = json_object_new_object(), *a = json_object_new_array();
    if (o && a) {
        for (size_t i = 0; i < n; i++) json_object_array_add(a, web_conv_json(&v[i]));
        json_object_object_add(o, "object", json_object_new_string("list"));
        json_object_object_add(o, "data", a);
        a = NULL;
    }
    json_object_put(a);
    store_convs_free(v, n);
    return web_json_reply(r, 200, o);
}

static int web_create(struct web_ctx *w, const char *owner, const char *body, size_t len, struct web_reply *r) {
    char err[DC_ERR_LEN];
    /* an empty body is an untitled conversation */
    struct json_object *o = NULL;
    const char *title = NULL;
    if (len) {
        o = web_parse_body(r, body, len);
        if (!o) return r->status;
        if (web_get_str(r, o, "title", &title)) goto fail;
    }
    struct store_conv c;
    int rc = store_conv_create(w->store, owner, title, &c, err);
    if (rc) {
        web_store_error(r, rc, err);
        goto fail;
    }
    json_object_put(o);
    struct json_object *out = web_conv_json(&c);
    store_conv_free(&c);
    return web_json_reply(r, 201, out);
fail:
    json_object_put(o);
    return r->status;
}

static int web_get(struct web_ctx *w, const char *owner, const char *id, struct web_reply *r) {
    char err[DC_ERR_LEN];
    struct store_conv c;
    struct store_msg *m = NULL;
    size_t n = 0;
    int rc = store_conv_get(w->store, owner, id, &c, &m, &n, err);
    if (rc) return web_store_error(r, rc, err);
    struct json_object *o = web_conv_json(&c), *a = json_object_new_array();
    if (o && a) {
        for (size_t i = 0; i < n; i++) json_object_array_add(a, web_msg_json(&m[i]));
        json_object_object_add(o, "messages", a);
        a = NULL;
    } else {
        json_object_put(o);
        o = NULL;
    }
    json_object_put(a);
    store_msgs_free(m, n);
    store_conv_free(&c);
    return web_json_reply(r, 200, o);
}

static int web_rename(struct web_ctx *w, const char *owner, const char *id, const char *body, size_t len,
                      struct web_reply *r) {
    char err[DC_ERR_LEN];
    struct json_object *o = web_parse_body(r, body, len);
    if (!o) return r->status;
    const char *title = NULL;
    if (web_get_str(r, o, "title", &title)) goto fail;
    if (!title) {
        web_error(r, 400, "title", "'title' is required");
        goto fail;
    }
    struct store_conv c;
    int rc = store_conv_rename(w->store, owner, id, title, &c, err);
    if (rc) {
        web_store_error(r, rc, err);
        goto fail;
    }
    json_object_put(o);
    struct json_object *out = web_conv_json(&c);
    store_conv_free(&c);
    return web_json_reply(r, 200, out);
fail:
    json_object_put(o);
    return r->status;
}

static int web_delete(struct web_ctx *w, const char *owner, const char *id, struct web_reply *r) {
    char err[DC_ERR_LEN];
    int rc = store_conv_delete(w->store, owner, id, err);
    if (rc) return web_store_error(r, rc, err);
    struct json_object *o = json_object_new_object();
    if (o) {
        json_object_object_add(o, "id", json_object_new_string(id));
        json_object_object_add(o, "deleted", json_object_new_boolean(1));
    }
    return web_json_reply(r, 200, o);
}

static int web_append(struct web_ctx *w, const char *owner, const char *id, const char *body, size_t len,
                      struct web_reply *r) {
    char err[DC_ERR_LEN];
    struct json_object *o = web_parse_body(r, body, len);
    if (!o) return r->status;
    const char *role, *content, *reasoning;
    int64_t reasoning_ms, truncate_from;
    if (web_get_str(r, o, "role", &role) || web_get_str(r, o, "content", &content) ||
        web_get_str(r, o, "reasoning", &reasoning) || web_get_int(r, o, "reasoning_ms", -1, &reasoning_ms) ||
        web_get_int(r, o, "truncate_from", -1, &truncate_from))
        goto fail;
    if (!role) {
        web_error(r, 400, "role", "'role' is required");
        goto fail;
    }
    if (!content) {
        web_error(r, 400, "content", "'content' is required");
        goto fail;
    }
    struct store_msg m;
    int rc = store_msg_append(w->store, owner, id, role, content, reasoning, reasoning_ms, truncate_from, &m, err);
    if (rc) {
        web_store_error(r, rc, err);
        goto fail;
    }
    json_object_put(o);
    struct json_object *out = json_object_new_object();
    if (out) {
        json_object_object_add(out, "seq", json_object_new_int64(m.seq));
        json_object_object_add(out, "role", json_object_new_string(m.role));
        json_object_object_add(out, "created", json_object_new_int64(m.created));
    }
    return web_json_reply(r, 201, out);
fail:
    json_object_put(o);
    return r->status;
}

static int web_info(struct web_ctx *w, struct web_reply *r) {
    struct json_object *o = json_object_new_object();
    if (o) {
        json_object_object_add(o, "auth", json_object_new_boolean(w->auth && w->auth->n > 0));
        json_object_object_add(o, "persistent", json_object_new_boolean(w->store && store_persistent(w->store)));
        json_object_object_add(o, "conversations", json_object_new_boolean(w->store != NULL));
    }
    return web_json_reply(r, 200, o);
}

/* The key of an accepted "Bearer KEY" header (same trimming as auth_check)
 * into key[AUTH_MAX_KEY_LEN + 1]; "" when there is none. */
static void web_bearer(const char *authorization, char *key) {
    key[0] = 0;
    if (!authorization) return;
    const char *s = authorization;
    while (*s == ' ') s++;
    if (strncasecmp(s, "Bearer", 6) != 0 || (s[6] != ' ' && s[6] != '\t')) return;
    s += 6;
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n > AUTH_MAX_KEY_LEN) return;
    memcpy(key, s, n);
    key[n] = 0;
}

static int web_api(struct web_ctx *w, const char *method, const char *url, const char *authorization,
                   const char *body, size_t len, struct web_reply *r) {
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (strcmp(url, "/api/info") == 0) return get ? web_info(w, r) : web_method_not_allowed(r, "GET, HEAD");

    const char *base = "/api/conversations";
    size_t nb = strlen(base);
    if (strncmp(url, base, nb) != 0 || (url[nb] != 0 && url[nb] != '/')) return web_error(r, 404, NULL, "not found");
    if (w->auth && w->auth->n > 0 && !auth_check(w->auth, authorization)) {
        web_add_header(r, "WWW-Authenticate", "Bearer");
        return web_error(r, 401, NULL, "missing or invalid API key (Authorization: Bearer KEY)");
    }
    if (!w->store) return web_error(r, 503, NULL, "conversations are not kept by this server");

    char key[AUTH_MAX_KEY_LEN + 1], owner[STORE_OWNER_LEN + 1];
    web_bearer(w->auth && w->auth->n > 0 ? authorization : NULL, key);
    store_owner(w->store, key, owner);
    memset(key, 0, sizeof(key));

    const char *rest = url + nb; /* "", "/ID" or "/ID/messages" */
    if (rest[0] == 0 || strcmp(rest, "/") == 0) {
        if (get) return web_list(w, owner, r);
        if (strcmp(method, "POST") == 0) return web_create(w, owner, body, len, r);
        return web_method_not_allowed(r, "GET, HEAD, POST");
    }
    rest++;
    char id[STORE_ID_LEN + 1];
    size_t idn = strcspn(rest, "/");
    if (idn != STORE_ID_LEN) return web_error(r, 404, NULL, "no such conversation");
    memcpy(id, rest, idn);
    id[idn] = 0;
    const char *tail = rest + idn;
    if (tail[0] == 0) {
        if (get) return web_get(w, owner, id, r);
        if (strcmp(method, "PATCH") == 0) return web_rename(w, owner, id, body, len, r);
        if (strcmp(method, "DELETE") == 0) return web_delete(w, owner, id, r);
        return web_method_not_allowed(r, "GET, HEAD, PATCH, DELETE");
    }
    if (strcmp(tail, "/messages") == 0) {
        if (strcmp(method, "POST") == 0) return web_append(w, owner, id, body, len, r);
        return web_method_not_allowed(r, "POST");
    }
    return web_error(r, 404, NULL, "not found");
}

/* ------------------------------------------------------------------ */

int web_owns(const char *url) {
    if (!url) return 0;
    return strcmp(url, "/") == 0 || strncmp(url, "/api/", 5) == 0 || strncmp(url, "/assets/", 8) == 0 ||
           web_asset_find(url) != NULL;
}

int web_handle(struct web_ctx *w, const char *method, const char *url, const char *authorization, const char *body,
               size_t body_len, struct web_reply *out) {
    memset(out, 0, sizeof(*out));
    if (!web_owns(url)) return 0;
    if (strncmp(url, "/api/", 5) == 0) return web_api(w, method, url, authorization, body, body_len, out);
    return web_static(method, url, out);
}

void web_reply_free(struct web_reply *r) {
    if (!r) return;
    sbuf_free(&r->buf);
    memset(r, 0, sizeof(*r));
}
