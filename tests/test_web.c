/*
 * test_web.c - the chat page's request handler (src/server/web.h) without a
 * socket: static files compared byte for byte with web/dist on disk, their
 * security headers, and the /api/conversations endpoints end to end over an
 * in-memory store - status codes, JSON shapes (parsed back with json-c),
 * owners kept apart by API key, 401 without a key, malformed bodies.
 */
#include <json-c/json.h>
#include <stdint.h>

#include "auth.h"
#include "err.h"
#include "store.h"
#include "test.h"
#include "web.h"

static struct web_ctx g_web;
static struct auth g_auth;

/* One request; returns the status and leaves the reply in *r. */
static int req(const char *method, const char *url, const char *authz, const char *body, struct web_reply *r) {
    return web_handle(&g_web, method, url, authz, body, body ? strlen(body) : 0, r);
}

static const char *header(const struct web_reply *r, const char *name) {
    for (int i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

/* Parses the reply body as JSON (NULL if it is not). */
static struct json_object *reply_json(const struct web_reply *r) {
    struct json_tokener *tok = json_tokener_new();
    struct json_object *o = json_tokener_parse_ex(tok, r->body, (int)r->len);
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static const char *jstr(struct json_object *o, const char *k) {
    struct json_object *v;
    return o && json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static int64_t jint(struct json_object *o, const char *k) {
    struct json_object *v;
    return o && json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_int) ? json_object_get_int64(v)
                                                                                          : -999;
}

static char *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)len + 1);
    if (p && fread(p, 1, (size_t)len, f) != (size_t)len) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p) *n = (size_t)len;
    return p;
}

static void test_static(void) {
    struct web_reply r;
    const char *files[][2] = {{"/", "web/dist/index.html"},
                              {"/index.html", "web/dist/index.html"},
                              {"/assets/app.js", "web/dist/assets/app.js"},
                              {"/assets/app.css", "web/dist/assets/app.css"},
                              {"/favicon.svg", "web/dist/favicon.svg"}};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t n = 0;
        char *want = read_file(files[i][1], &n);
        T_CHECK(want != NULL, "cannot read %s (run from the repository root)", files[i][1]);
        int st = req("GET", files[i][0], NULL, NULL, &r);
        T_CHECK(st == 200 && r.status == 200, "%s: status %d", files[i][0], st);
        T_CHECK(want && r.len == n && memcmp(r.body, want, n) == 0, "%s: %zu bytes served, %zu on disk", files[i][0],
                r.len, n);
        free(want);
        web_reply_free(&r);
    }
    req("GET", "/", NULL, NULL, &r);
    T_CHECK(strcmp(r.content_type, "text/html; charset=utf-8") == 0, "type %s", r.content_type);
    const char *csp = header(&r, "Content-Security-Policy");
    T_CHECK(csp && strstr(csp, "script-src 'self'") && !strstr(csp, "unsafe-inline") && strstr(csp, "img-src 'self'"),
            "CSP %s", csp ? csp : "(none)");
    T_CHECK(header(&r, "X-Content-Type-Options") != NULL, "nosniff");
    web_reply_free(&r);
    req("GET", "/assets/app.js", NULL, NULL, &r);
    T_CHECK(strncmp(r.content_type, "text/javascript", 15) == 0, "js type %s", r.content_type);
    web_reply_free(&r);

    T_CHECK(req("GET", "/assets/nope.js", NULL, NULL, &r) == 404, "missing asset");
    web_reply_free(&r);
    T_CHECK(req("GET", "/assets/../index.html", NULL, NULL, &r) == 404, "dot-dot");
    web_reply_free(&r);
    T_CHECK(req("POST", "/", NULL, "x", &r) == 405 && header(&r, "Allow"), "POST /");
    web_reply_free(&r);
    T_CHECK(req("HEAD", "/", NULL, NULL, &r) == 200, "HEAD /");
    web_reply_free(&r);
    /* not the page's: left to the API routes */
    T_CHECK(req("GET", "/v1/models", NULL, NULL, &r) == 0 && r.len == 0, "/v1/models is not ours");
    T_CHECK(req("POST", "/v1/chat/completions", NULL, "{}", &r) == 0, "completions not ours");
    T_CHECK(req("GET", "/health", NULL, NULL, &r) == 0, "health not ours");
    T_CHECK(web_owns("/api/conversations") && web_owns("/") && !web_owns("/metrics"), "web_owns");
}

static void test_api(void) {
    struct web_reply r;
    struct json_object *o;

    T_CHECK(req("GET", "/api/info", NULL, NULL, &r) == 200, "info");
    o = reply_json(&r);
    struct json_object *v;
    T_CHECK(o && json_object_object_get_ex(o, "auth", &v) && !json_object_get_boolean(v), "auth false");
    T_CHECK(o && json_object_object_get_ex(o, "persistent", &v) && !json_object_get_boolean(v), "in memory");
    json_object_put(o);
    web_reply_free(&r);

    T_CHECK(req("GET", "/api/conversations", NULL, NULL, &r) == 200, "list");
    o = reply_json(&r);
    T_CHECK(o && json_object_object_get_ex(o, "data", &v) && json_object_array_length(v) == 0, "empty list");
    T_CHECK(strcmp(r.content_type, "application/json") == 0, "json type");
    json_object_put(o);
    web_reply_free(&r);

    /* create */
    T_CHECK(req("POST", "/api/conversations", NULL, "{\"title\": \"Hello <b>\\u4e16\\u754c</b>\"}", &r) == 201,
            "create: %.*s", (int)r.len, (const char *)r.body);
    o = reply_json(&r);
    char id[STORE_ID_LEN + 1] = {0};
    if (jstr(o, "id")) snprintf(id, sizeof(id), "%s", jstr(o, "id"));
    T_CHECK(strlen(id) == STORE_ID_LEN, "id '%s'", id);
    T_CHECK(jstr(o, "title") && strcmp(jstr(o, "title"), "Hello <b>世界</b>") == 0, "title round trip");
    T_CHECK(jint(o, "created") > 1600000000000LL && jint(o, "updated") == jint(o, "created"), "times");
    json_object_put(o);
    web_reply_free(&r);
    /* untitled, with an empty body */
    T_CHECK(req("POST", "/api/conversations", NULL, NULL, &r) == 201, "create without body");
    o = reply_json(&r);
    char id2[STORE_ID_LEN + 1] = {0};
    if (jstr(o, "id")) snprintf(id2, sizeof(id2), "%s", jstr(o, "id"));
    json_object_put(o);
    web_reply_free(&r);

    char url[128], murl[160];
    snprintf(url, sizeof(url), "/api/conversations/%s", id);
    snprintf(murl, sizeof(murl), "/api/conversations/%s/messages", id);

    /* append: user, assistant with reasoning, then replace the answer */
    T_CHECK(req("POST", murl, NULL, "{\"role\":\"user\",\"content\":\"2+2?\"}", &r) == 201, "append user: %.*s",
            (int)r.len, (const char *)r.body);
    o = reply_json(&r);
    T_CHECK(jint(o, "seq") == 0 && jstr(o, "role") && strcmp(jstr(o, "role"), "user") == 0, "seq 0");
    json_object_put(o);
    web_reply_free(&r);
    T_CHECK(req("POST", murl, NULL,
                "{\"role\":\"assistant\",\"content\":\"5 <img src=x onerror=alert(1)>\",\"reasoning\":\"hmm\","
                "\"reasoning_ms\":2500}",
                &r) == 201,
            "append assistant");
    web_reply_free(&r);
    T_CHECK(req("POST", murl, NULL,
                "{\"role\":\"assistant\",\"content\":\"4\",\"reasoning\":\"2+2=4\",\"reasoning_ms\":1200,"
                "\"truncate_from\":1}",
                &r) == 201,
            "regenerate");
    o = reply_json(&r);
    T_CHECK(jint(o, "seq") == 1, "regenerated seq %lld", (long long)jint(o, "seq"));
    json_object_put(o);
    web_reply_free(&r);

    /* get */
    T_CHECK(req("GET", url, NULL, NULL, &r) == 200, "get");
    o = reply_json(&r);
    struct json_object *msgs = NULL;
    T_CHECK(o && json_object_object_get_ex(o, "messages", &msgs) && json_object_array_length(msgs) == 2,
            "2 messages: %.*s", (int)r.len, (const char *)r.body);
    if (msgs && json_object_array_length(msgs) == 2) {
        struct json_object *m0 = json_object_array_get_idx(msgs, 0), *m1 = json_object_array_get_idx(msgs, 1);
        T_CHECK(strcmp(jstr(m0, "content"), "2+2?") == 0 && json_object_object_get_ex(m0, "reasoning", &v) && !v,
                "m0 reasoning null");
        T_CHECK(strcmp(jstr(m1, "content"), "4") == 0 && strcmp(jstr(m1, "reasoning"), "2+2=4") == 0 &&
                    jint(m1, "reasoning_ms") == 1200 && jint(m1, "seq") == 1,
                "m1");
    }
    json_object_put(o);
    web_reply_free(&r);

    /* list: the conversation with messages is the most recent */
    req("GET", "/api/conversations", NULL, NULL, &r);
    o = reply_json(&r);
    T_CHECK(o && json_object_object_get_ex(o, "data", &v) && json_object_array_length(v) == 2, "2 convs");
    json_object_put(o);
    web_reply_free(&r);

    /* rename */
    T_CHECK(req("PATCH", url, NULL, "{\"title\":\"Arithmetic\"}", &r) == 200, "rename");
    o = reply_json(&r);
    T_CHECK(jstr(o, "title") && strcmp(jstr(o, "title"), "Arithmetic") == 0, "renamed");
    json_object_put(o);
    web_reply_free(&r);

    /* bad requests */
    T_CHECK(req("POST", murl, NULL, "{\"role\":\"user\",", &r) == 400, "truncated JSON");
    o = reply_json(&r);
    struct json_object *e = NULL;
    T_CHECK(o && json_object_object_get_ex(o, "error", &e) && jstr(e, "message") && jstr(e, "type"),
            "OpenAI-shaped error: %.*s", (int)r.len, (const char *)r.body);
    json_object_put(o);
    web_reply_free(&r);
    T_CHECK(req("POST", murl, NULL, "[1,2]", &r) == 400, "array body");
    web_reply_free(&r);
    T_CHECK(req("POST", murl, NULL, "{\"role\":\"user\",\"content\":5}", &r) == 400, "content number");
    web_reply_free(&r);
    T_CHECK(req("POST", murl, NULL, "{\"role\":\"user\"}", &r) == 400, "no content");
    web_reply_free(&r);
    T_CHECK(req("POST", murl, NULL, "{\"role\":\"tool\",\"content\":\"x\"}", &r) == 400, "bad role");
    web_reply_free(&r);
    T_CHECK(req("POST", murl, NULL, "{\"role\":\"user\",\"content\":\"a\\u0000b\"}", &r) == 400, "NUL");
    web_reply_free(&r);
    T_CHECK(req("POST", murl, NULL, "{\"role\":\"user\",\"content\":\"x\",\"truncate_from\":-3}", &r) == 422,
            "negative truncate_from");
    web_reply_free(&r);
    T_CHECK(req("POST", murl, NULL, "{\"role\":\"user\",\"content\":\"x\"} trailing", &r) == 400, "trailing");
    web_reply_free(&r);
    T_CHECK(req("POST", murl, NULL, "{\"a\":[[[[[[[[[[[[1]]]]]]]]]]]]}", &r) == 400, "too deep");
    web_reply_free(&r);
    T_CHECK(req("PUT", url, NULL, "{}", &r) == 405 && header(&r, "Allow"), "PUT");
    web_reply_free(&r);
    T_CHECK(req("GET", murl, NULL, NULL, &r) == 405, "GET messages");
    web_reply_free(&r);
    T_CHECK(req("GET", "/api/conversations/ffffffffffffffffffffffffffffffff", NULL, NULL, &r) == 404, "unknown id");
    web_reply_free(&r);
    T_CHECK(req("GET", "/api/conversations/xyz", NULL, NULL, &r) == 404, "short id");
    web_reply_free(&r);
    T_CHECK(req("GET", "/api/nothing", NULL, NULL, &r) == 404, "unknown api");
    web_reply_free(&r);

    /* delete */
    T_CHECK(req("DELETE", url, NULL, NULL, &r) == 200, "delete");
    web_reply_free(&r);
    T_CHECK(req("GET", url, NULL, NULL, &r) == 404, "deleted");
    web_reply_free(&r);
    T_CHECK(req("DELETE", url, NULL, NULL, &r) == 404, "delete twice");
    web_reply_free(&r);
    (void)id2;
}

static void test_keys(void) {
    char err[DC_ERR_LEN];
    T_CHECK(auth_add_key(&g_auth, "sk-one", err) == DC_OK && auth_add_key(&g_auth, "sk-two", err) == DC_OK, "%s",
            err);
    g_web.auth = &g_auth;
    struct web_reply r;
    struct json_object *o, *v;

    T_CHECK(req("GET", "/api/info", NULL, NULL, &r) == 200, "info needs no key");
    o = reply_json(&r);
    T_CHECK(o && json_object_object_get_ex(o, "auth", &v) && json_object_get_boolean(v), "auth true");
    json_object_put(o);
    web_reply_free(&r);
    T_CHECK(req("GET", "/", NULL, NULL, &r) == 200, "the page needs no key");
    web_reply_free(&r);
    T_CHECK(req("GET", "/api/conversations", NULL, NULL, &r) == 401 && header(&r, "WWW-Authenticate"), "no key");
    web_reply_free(&r);
    T_CHECK(req("GET", "/api/conversations", "Bearer sk-three", NULL, &r) == 401, "wrong key");
    web_reply_free(&r);
    T_CHECK(req("POST", "/api/conversations", "Bearer sk-one", "{\"title\":\"one's\"}", &r) == 201, "create 1");
    o = reply_json(&r);
    char url[128];
    snprintf(url, sizeof(url), "/api/conversations/%s", jstr(o, "id") ? jstr(o, "id") : "");
    json_object_put(o);
    web_reply_free(&r);

    T_CHECK(req("GET", url, "Bearer  sk-one ", NULL, &r) == 200, "owner sees it");
    web_reply_free(&r);
    T_CHECK(req("GET", url, "bearer sk-two", NULL, &r) == 404, "another key does not");
    web_reply_free(&r);
    T_CHECK(req("DELETE", url, "Bearer sk-two", NULL, &r) == 404, "nor deletes it");
    web_reply_free(&r);
    req("GET", "/api/conversations", "Bearer sk-two", NULL, &r);
    o = reply_json(&r);
    T_CHECK(o && json_object_object_get_ex(o, "data", &v) && json_object_array_length(v) == 0, "two's list empty");
    json_object_put(o);
    web_reply_free(&r);
    req("GET", "/api/conversations", "Bearer sk-one", NULL, &r);
    o = reply_json(&r);
    T_CHECK(o && json_object_object_get_ex(o, "data", &v) && json_object_array_length(v) == 1, "one's list");
    json_object_put(o);
    web_reply_free(&r);
    g_web.auth = NULL;
    req("GET", "/api/conversations", NULL, NULL, &r);
    o = reply_json(&r);
    T_CHECK(o && json_object_object_get_ex(o, "data", &v) && json_object_array_length(v) == 1,
            "keyless requests have their own (the untitled one above)");
    json_object_put(o);
    web_reply_free(&r);
}

static void test_no_store(void) {
    struct web_ctx w = {NULL, NULL};
    struct web_reply r;
    T_CHECK(web_handle(&w, "GET", "/api/conversations", NULL, NULL, 0, &r) == 503, "503 without a store");
    web_reply_free(&r);
    T_CHECK(web_handle(&w, "GET", "/", NULL, NULL, 0, &r) == 200, "the page still loads");
    web_reply_free(&r);
}

int main(void) {
    T_BEGIN("test_web");
    char err[DC_ERR_LEN];
    struct store *s = NULL;
    if (store_open(&s, NULL, err)) {
        printf("FAIL: test_web/open (%s)\n", err);
        return 1;
    }
    g_web.store = s;
    T_RUN(test_static);
    T_RUN(test_api);
    T_RUN(test_keys);
    T_RUN(test_no_store);
    auth_free(&g_auth);
    store_close(s);
    return T_END();
}
