/*
 * stop.h - incremental stop-string matcher for streamed text.
 *
 * The request's stop strings (OpenAI / DeepSeek "stop": up to 16) end the
 * generation at the first byte that completes one of them; that string and
 * everything after it are not returned (when two complete at the same byte,
 * the longer one is cut).  Text arrives in pieces, so the matcher holds back
 * only the longest tail of what it has seen that is still the beginning of
 * some stop string, and releases everything before it at once.  The emitted
 * text depends only on the bytes of the stream, never on how it was cut
 * (tests/test_reasoning.c checks every cut).  Matching is on bytes; with
 * valid UTF-8 stop strings and text the held tail always starts on a
 * character boundary.
 *
 * The matcher is applied to content (after the reasoning splitter); a second
 * instance can watch reasoning text if wanted.  Plain data, no heap.
 */
#ifndef DC_STOP_H
#define DC_STOP_H

#include <stddef.h>

#define STOP_MAX_STRINGS 16 /* DeepSeek API: "stop" takes up to 16 strings */
#define STOP_MAX_LEN 256    /* longest stop string, bytes */

struct stop {
    char strs[STOP_MAX_STRINGS][STOP_MAX_LEN]; /* not NUL-terminated */
    size_t lens[STOP_MAX_STRINGS];
    size_t n;                 /* stop strings in use */
    char hold[STOP_MAX_LEN];  /* tail that may still start a stop string */
    size_t n_hold;
    int which;                /* index of the string hit, -1 while none */
};

/* Bytes stop_push may write for a piece of len bytes. */
static inline size_t stop_out_bound(size_t len) { return len + STOP_MAX_LEN; }

/* strs[0..n) are copied (n may be 0: nothing ever stops).  DC_EINVAL for
 * more than STOP_MAX_STRINGS strings or a string that is empty or longer than
 * STOP_MAX_LEN bytes. */
int stop_init(struct stop *s, const char *const *strs, size_t n, char *err);

/* Feeds text[0..len).  Writes the bytes now safe to emit to out (room for
 * stop_out_bound(len) bytes) and sets *n_out.  Returns 1 when a stop string
 * was hit (out ends just before it; later calls emit nothing and return 1),
 * else 0. */
int stop_push(struct stop *s, const char *text, size_t len, char *out, size_t *n_out);

/* End of the stream without a hit: writes the held tail to out (room for
 * STOP_MAX_LEN bytes) and returns its length; 0 after a hit. */
size_t stop_flush(struct stop *s, char *out);

/* Index of the stop string that was hit, or -1. */
int stop_which(const struct stop *s);

#endif
