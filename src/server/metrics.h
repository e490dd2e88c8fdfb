/*
 * metrics.h - server counters and their Prometheus text exposition.
 *
 * The HTTP side counts answers by status code, client disconnects, open
 * connections, requests in flight and time to first token; the engine side
 * (tokens, cache hits, queue depth, active sequences, tokens/s) comes from
 * engine_get_stats at scrape time.  Counters are atomics, so any thread may
 * update them without a lock.  Names are prefixed deepc_ (docs/SERVER.md).
 */
#ifndef DC_METRICS_H
#define DC_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "engine.h"
#include "sbuf.h"

/* Status codes counted one by one; anything else goes to "other". */
#define METRICS_CODES {200, 400, 401, 404, 405, 413, 422, 429, 500, 503}
#define METRICS_N_CODES 10

struct metrics {
    atomic_ullong by_code[METRICS_N_CODES + 1]; /* last: other */
    atomic_ullong disconnects;                 /* clients gone before their request finished */
    atomic_ullong streams;                     /* streamed responses started */
    atomic_int connections;                    /* open TCP connections */
    atomic_int inflight;                       /* requests submitted to the engine, not yet freed */
    atomic_ullong ttft_count;                  /* requests that produced a first token */
    atomic_ullong ttft_us_sum;                 /* their queue + prefill time, microseconds */
};

void metrics_init(struct metrics *m);
void metrics_count_status(struct metrics *m, int status);
void metrics_add_ttft(struct metrics *m, double ms);

/* Appends the exposition text.  es may be NULL (model not loaded). */
void metrics_render(struct metrics *m, const struct engine_stats *es, int ready, int draining, struct sbuf *out);

#endif
