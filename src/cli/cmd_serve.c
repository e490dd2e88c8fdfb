/*
 * cmd_serve.c - `deepc serve MODEL [options]` (docs/SERVER.md).
 *
 * The HTTP server starts first and answers /health with 503 while a loader
 * thread runs engine_open; the main thread only waits for signals and for
 * the loader.  SIGTERM or SIGINT drains: the server answers new requests
 * with 503, in-flight requests run to their end, then the process exits 0.
 * A second signal (or --drain-timeout) cancels what is still running.
 */
#include "cmd_serve.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "engine.h"
#include "err.h"
#include "http.h"
#include "store.h"
#include "web.h"

struct loader {
    const char *model;
    struct engine_params p;
    struct engine *e;
    int rc;
    char err[DC_ERR_LEN];
    char warn[DC_ERR_LEN];
    atomic_int finished;
};

static void *load_main(void *arg) {
    struct loader *l = arg;
    l->rc = engine_open(&l->e, l->model, &l->p, l->warn, l->err);
    atomic_store(&l->finished, 1);
    return NULL;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: deepc serve MODEL [options]\n"
            "  --host ADDR             address to bind (default 127.0.0.1; 0.0.0.0 for all)\n"
            "  --port N                TCP port (default 8080; 0 picks a free one)\n"
            "  --parallel N            sequences generated at once (default 4)\n"
            "  --ctx N                 context positions per sequence (default min(4096, trained))\n"
            "  --batch N               tokens per forward pass (default 512)\n"
            "  --prefill-chunk N       prompt tokens per pass while other sequences decode (default 128;\n"
            "                          0: up to --batch): shorter waits for their next token\n"
            "  --threads N             compute threads (default: all cores)\n"
            "  --cache-type T          KV cache element type: f32 (default); dense models f16 (half the bytes);\n"
            "                          DeepSeek latent cache bf16 (half the bytes) or q8 (8-bit codes)\n"
            "  --repack                copy the weights into the kernels' packed layout at load: faster\n"
            "                          decode and batches, a second copy of the matrices in memory\n"
            "  --queue N               requests waiting for a slot before 429 (default 64)\n"
            "  --api-key KEY           require 'Authorization: Bearer KEY' (or DEEPC_API_KEY)\n"
            "  --api-key-file F        keys from a file, one per line\n"
            "  --max-body BYTES        request body limit (default 8388608)\n"
            "  --max-messages N        messages per chat request (default 1024)\n"
            "  --max-tokens-limit N    largest max_tokens accepted (default: the context size)\n"
            "  --default-max-tokens N  max_tokens when a request has none (default min(4096, limit))\n"
            "  --max-prompt-tokens N   longest prompt accepted (default: what fits the context)\n"
            "  --max-connections N     open connections served; more get 503 (default 64)\n"
            "  --keepalive SECONDS     ': keep-alive' interval while a stream waits (default 10)\n"
            "  --drain-timeout SECONDS cancel what still runs this long after SIGTERM (default: wait)\n"
            "  --chat-template NAME    template family instead of detecting it\n"
            "  --data-dir DIR          keep the chat page's conversations in DIR/conversations.db\n"
            "                          (default: in memory, lost at exit)\n"
            "  --quiet                 no access log\n");
}

static int parse_long(const char *opt, const char *v, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end || end == v || x < lo || x > hi) {
        fprintf(stderr, "deepc serve: %s needs an integer in [%lld, %lld], got '%s'\n", opt, lo, hi, v);
        return -1;
    }
    *out = x;
    return 0;
}

static int parse_double(const char *opt, const char *v, double lo, double hi, double *out) {
    char *end;
    double x = strtod(v, &end);
    if (*end || end == v || !(x >= lo && x <= hi)) {
        fprintf(stderr, "deepc serve: %s needs a number in [%g, %g], got '%s'\n", opt, lo, hi, v);
        return -1;
    }
    *out = x;
    return 0;
}

int cmd_serve(int argc, char **argv) {
    struct http_opts ho;
    http_opts_default(&ho);
    struct engine_params ep;
    engine_params_default(&ep);
    const char *model = NULL;
    struct auth keys;
    memset(&keys, 0, sizeof(keys));
    const char *key = NULL, *key_file = NULL, *data_dir = NULL;
    struct store *store = NULL;
    struct web_ctx web = {NULL, NULL};
    double drain_timeout = 0;
    char err[DC_ERR_LEN];
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long long x;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--quiet")) {
            ho.quiet = 1;
            continue;
        }
        if (!strcmp(a, "--repack")) {
            ep.repack = 1;
            continue;
        }
        if (a[0] != '-') {
            if (model) {
                fprintf(stderr, "deepc serve: more than one MODEL given ('%s')\n", a);
                return 2;
            }
            model = a;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "deepc serve: %s needs a value\n", a);
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--host")) ho.host = v;
        else if (!strcmp(a, "--port")) { if (parse_long(a, v, 0, 65535, &x)) return 2; ho.port = (int)x; }
        else if (!strcmp(a, "--parallel")) { if (parse_long(a, v, 1, 256, &x)) return 2; ep.n_parallel = (int32_t)x; }
        else if (!strcmp(a, "--ctx")) { if (parse_long(a, v, 16, 1 << 24, &x)) return 2; ep.n_ctx = x; }
        else if (!strcmp(a, "--batch")) { if (parse_long(a, v, 1, 1 << 16, &x)) return 2; ep.n_batch = x; }
        else if (!strcmp(a, "--prefill-chunk")) { if (parse_long(a, v, 0, 1 << 16, &x)) return 2; ep.n_chunk = x; }
        else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) { if (parse_long(a, v, 0, 1024, &x)) return 2; ep.n_threads = (int)x; }
        else if (!strcmp(a, "--cache-type") && v) ep.cache_type = v;
        else if (!strcmp(a, "--queue")) { if (parse_long(a, v, 0, 1 << 20, &x)) return 2; ep.queue_max = (int32_t)x; }
        else if (!strcmp(a, "--api-key")) key = v;
        else if (!strcmp(a, "--api-key-file")) key_file = v;
        else if (!strcmp(a, "--max-body")) { if (parse_long(a, v, 64, 1ll << 32, &x)) return 2; ho.max_body = (size_t)x; }
        else if (!strcmp(a, "--max-messages")) { if (parse_long(a, v, 1, 1 << 20, &x)) return 2; ho.max_messages = (int32_t)x; }
        else if (!strcmp(a, "--max-tokens-limit")) { if (parse_long(a, v, 1, INT32_MAX, &x)) return 2; ho.max_tokens_limit = (int32_t)x; }
        else if (!strcmp(a, "--default-max-tokens")) { if (parse_long(a, v, 1, INT32_MAX, &x)) return 2; ho.default_max_tokens = (int32_t)x; }
        else if (!strcmp(a, "--max-prompt-tokens")) { if (parse_long(a, v, 1, 1ll << 40, &x)) return 2; ho.max_prompt_tokens = x; }
        else if (!strcmp(a, "--max-connections")) { if (parse_long(a, v, 1, 100000, &x)) return 2; ho.max_connections = (int)x; }
        else if (!strcmp(a, "--keepalive")) { if (parse_double(a, v, 0.05, 3600, &ho.keepalive_s)) return 2; }
        else if (!strcmp(a, "--drain-timeout")) { if (parse_double(a, v, 0, 1e6, &drain_timeout)) return 2; }
        else if (!strcmp(a, "--chat-template")) ep.chat_template = v;
        else if (!strcmp(a, "--data-dir")) data_dir = v;
        else {
            fprintf(stderr, "deepc serve: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!model) {
        usage(stderr);
        return 2;
    }
    if (key && key_file) {
        fprintf(stderr, "deepc serve: give --api-key or --api-key-file, not both\n");
        return 2;
    }
    if (!key && !key_file) key = getenv("DEEPC_API_KEY");
    if ((key && auth_add_key(&keys, key, err)) || (key_file && auth_load_file(&keys, key_file, err))) {
        fprintf(stderr, "deepc serve: %s\n", err);
        auth_free(&keys);
        return 2;
    }

    /* Signals go to this thread only (sigtimedwait below); every thread
     * started from here inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* On the heap: a load still running when the process leaves keeps writing into it. */
    struct loader *ld = calloc(1, sizeof(*ld));
    if (!ld) {
        auth_free(&keys);
        return 1;
    }
    ld->model = model;
    ld->p = ep;
    struct http_server *srv = NULL;
    pthread_t loader;
    int loader_started = 0;
    if (store_open(&store, data_dir, err)) {
        fprintf(stderr, "deepc serve: %s\n", err);
        rc = 1;
        goto out;
    }
    web.store = store;
    web.auth = &keys;
    ho.web = &web;
    if (http_start(&srv, &ho, &keys, err)) {
        fprintf(stderr, "deepc serve: %s\n", err);
        rc = 1;
        goto out;
    }
    printf("deepc serve: listening on http://%s%s%s:%d\n", strchr(ho.host, ':') ? "[" : "", ho.host,
           strchr(ho.host, ':') ? "]" : "", http_port(srv));
    fflush(stdout);
    fprintf(stderr, "deepc serve: loading %s (%s)\n", ld->model, keys.n ? "API key required" : "no API key");
    atomic_init(&ld->finished, 0);
    if (pthread_create(&loader, NULL, load_main, ld) != 0) {
        fprintf(stderr, "deepc serve: cannot start the loader thread\n");
        rc = 1;
        goto out;
    }
    loader_started = 1;

    int ready = 0, draining = 0, cancelled = 0;
    struct timespec drain_start = {0, 0};
    rc = 0;
    for (;;) {
        struct timespec to = {0, 100 * 1000 * 1000};
        int sig = sigtimedwait(&set, NULL, &to);
        if (sig == SIGTERM || sig == SIGINT) {
            if (!draining) {
                fprintf(stderr, "deepc serve: %s: draining (%d in flight); signal again to cancel them\n",
                        sig == SIGTERM ? "SIGTERM" : "SIGINT", http_inflight(srv));
                http_drain(srv);
                draining = 1;
                clock_gettime(CLOCK_MONOTONIC, &drain_start);
            } else if (!ready) {
                /* a load cannot be interrupted: leave it to the process exit */
                fprintf(stderr, "deepc serve: stopping while the model is still loading\n");
                pthread_detach(loader);
                loader_started = 0;
                http_stop(srv);
                auth_free(&keys);
                return 1; /* ld stays allocated: the loader thread still owns it */
            } else if (!cancelled) {
                fprintf(stderr, "deepc serve: cancelling %d in-flight requests\n", http_inflight(srv));
                http_cancel_all(srv);
                cancelled = 1;
            }
        }
        if (!ready && atomic_load(&ld->finished)) {
            pthread_join(loader, NULL);
            loader_started = 0;
            if (ld->rc) {
                fprintf(stderr, "deepc serve: cannot load %s: %s\n", ld->model, ld->err);
                rc = 1;
                break;
            }
            if (ld->warn[0]) fprintf(stderr, "deepc serve: warning: %s\n", ld->warn);
            fprintf(stderr, "deepc serve: model '%s' ready (template %s, context %lld, %d parallel)\n",
                    engine_model_id(ld->e), engine_template_name(ld->e), (long long)engine_n_ctx(ld->e),
                    ld->p.n_parallel);
            ready = 1;
            if (!draining) http_set_engine(srv, ld->e);
        }
        if (draining && drain_timeout > 0 && !cancelled) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            double el = (double)(now.tv_sec - drain_start.tv_sec) + (double)(now.tv_nsec - drain_start.tv_nsec) * 1e-9;
            if (el >= drain_timeout) {
                fprintf(stderr, "deepc serve: drain timeout: cancelling %d requests\n", http_inflight(srv));
                http_cancel_all(srv);
                cancelled = 1;
            }
        }
        if (draining && ready && http_inflight(srv) == 0) break;
    }
    fprintf(stderr, "deepc serve: stopped\n");
out:
    if (loader_started) pthread_join(loader, NULL); /* a load cannot be interrupted */
    http_stop(srv);
    engine_close(ld->e);
    free(ld); /* the loader thread has ended (joined above or before) */
    store_close(store);
    auth_free(&keys);
    return rc;
}
