/*
 * metrics.c - counters and Prometheus text format 0.0.4 (see metrics.h).
 */
#include "metrics.h"

static const int codes[METRICS_N_CODES] = METRICS_CODES;

void metrics_init(struct metrics *m) {
    for (int i = 0; i <= METRICS_N_CODES; i++) atomic_init(&m->by_code[i], 0);
    atomic_init(&m->disconnects, 0);
    atomic_init(&m->streams, 0);
    atomic_init(&m->connections, 0);
    atomic_init(&m->inflight, 0);
    atomic_init(&m->ttft_count, 0);
    atomic_init(&m->ttft_us_sum, 0);
}

void metrics_count_status(struct metrics *m, int status) {
    int i = 0;
    while (i < METRICS_N_CODES && codes[i] != status) i++;
    atomic_fetch_add(&m->by_code[i], 1);
}

void metrics_add_ttft(struct metrics *m, double ms) {
    if (ms < 0) ms = 0;
    atomic_fetch_add(&m->ttft_count, 1);
    atomic_fetch_add(&m->ttft_us_sum, (unsigned long long)(ms * 1000.0));
}

static void family(struct sbuf *b, const char *name, const char *type, const char *help) {
    sbuf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_render(struct metrics *m, const struct engine_stats *es, int ready, int draining, struct sbuf *b) {
    family(b, "deepc_http_requests_total", "counter", "HTTP answers by status code.");
    for (int i = 0; i <= METRICS_N_CODES; i++) {
        unsigned long long v = atomic_load(&m->by_code[i]);
        if (i < METRICS_N_CODES) sbuf_addf(b, "deepc_http_requests_total{code=\"%d\"} %llu\n", codes[i], v);
        else sbuf_addf(b, "deepc_http_requests_total{code=\"other\"} %llu\n", v);
    }
    family(b, "deepc_http_connections", "gauge", "Open client connections.");
    sbuf_addf(b, "deepc_http_connections %d\n", atomic_load(&m->connections));
    family(b, "deepc_requests_inflight", "gauge", "Generation requests accepted and not yet finished.");
    sbuf_addf(b, "deepc_requests_inflight %d\n", atomic_load(&m->inflight));
    family(b, "deepc_streams_total", "counter", "Streamed (SSE) responses started.");
    sbuf_addf(b, "deepc_streams_total %llu\n", atomic_load(&m->streams));
    family(b, "deepc_client_disconnects_total", "counter", "Requests whose client went away before the end.");
    sbuf_addf(b, "deepc_client_disconnects_total %llu\n", atomic_load(&m->disconnects));
    family(b, "deepc_time_to_first_token_seconds", "summary", "Queue wait plus prompt processing per request.");
    sbuf_addf(b, "deepc_time_to_first_token_seconds_sum %.6f\n", (double)atomic_load(&m->ttft_us_sum) * 1e-6);
    sbuf_addf(b, "deepc_time_to_first_token_seconds_count %llu\n", atomic_load(&m->ttft_count));
    family(b, "deepc_model_ready", "gauge", "1 once the model is loaded and requests are taken.");
    sbuf_addf(b, "deepc_model_ready %d\n", ready && !draining);
    family(b, "deepc_draining", "gauge", "1 while shutting down (in-flight requests finish, new ones get 503).");
    sbuf_addf(b, "deepc_draining %d\n", draining);
    if (!es) return;
    family(b, "deepc_prompt_tokens_total", "counter", "Prompt tokens of admitted requests.");
    sbuf_addf(b, "deepc_prompt_tokens_total %llu\n", (unsigned long long)es->prompt_tokens);
    family(b, "deepc_prompt_cache_hit_tokens_total", "counter", "Prompt tokens reused from the prefix cache.");
    sbuf_addf(b, "deepc_prompt_cache_hit_tokens_total %llu\n", (unsigned long long)es->cached_tokens);
    family(b, "deepc_generated_tokens_total", "counter", "Generated tokens, reasoning included.");
    sbuf_addf(b, "deepc_generated_tokens_total %llu\n", (unsigned long long)es->generated_tokens);
    family(b, "deepc_requests_finished_total", "counter", "Requests the engine finished, by outcome.");
    sbuf_addf(b, "deepc_requests_finished_total{outcome=\"done\"} %llu\n", (unsigned long long)es->requests_done);
    sbuf_addf(b, "deepc_requests_finished_total{outcome=\"cancelled\"} %llu\n",
              (unsigned long long)es->requests_cancelled);
    family(b, "deepc_queue_depth", "gauge", "Requests waiting for a sequence slot.");
    sbuf_addf(b, "deepc_queue_depth %d\n", es->queued);
    family(b, "deepc_active_sequences", "gauge", "Sequences generating or prefilling in slots.");
    sbuf_addf(b, "deepc_active_sequences %d\n", es->active);
    family(b, "deepc_generated_tokens_per_second", "gauge", "Generated tokens per second of busy time, last minute.");
    sbuf_addf(b, "deepc_generated_tokens_per_second %.3f\n", es->gen_tokens_per_s);
    family(b, "deepc_engine_steps_total", "counter", "Forward passes run.");
    sbuf_addf(b, "deepc_engine_steps_total %llu\n", (unsigned long long)es->steps);
}
