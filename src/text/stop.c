/*
 * stop.c - the stop-string matcher of stop.h.
 *
 * Each push works on (held tail + new piece), assembled in the caller's out
 * buffer: memmem finds the first completed match; otherwise the longest suffix
 * that is a proper prefix of a stop string goes back into the hold.  Cost per
 * piece is O(strings x (piece + max_len) + strings x max_len^2) in the worst
 * case, which for the usual few short stop strings is a handful of compares.
 */
#include "stop.h"

#include <string.h>

#include "err.h"

int stop_init(struct stop *s, const char *const *strs, size_t n, char *err) {
    memset(s, 0, sizeof *s);
    s->which = -1;
    if (n > STOP_MAX_STRINGS)
        return dc_errf(err, DC_EINVAL, "stop: %zu stop strings (at most %d)", n, STOP_MAX_STRINGS);
    for (size_t i = 0; i < n; i++) {
        size_t len = strs[i] ? strlen(strs[i]) : 0;
        if (len == 0 || len > STOP_MAX_LEN)
            return dc_errf(err, DC_EINVAL, "stop: stop string %zu must be 1..%d bytes", i, STOP_MAX_LEN);
        memcpy(s->strs[i], strs[i], len);
        s->lens[i] = len;
    }
    s->n = n;
    return DC_OK;
}

/* 1 when buf[0..m) is a proper prefix of some stop string. */
static int starts_some(const struct stop *s, const char *buf, size_t m) {
    for (size_t k = 0; k < s->n; k++)
        if (s->lens[k] > m && memcmp(s->strs[k], buf, m) == 0) return 1;
    return 0;
}

int stop_push(struct stop *s, const char *text, size_t len, char *out, size_t *n_out) {
    *n_out = 0;
    if (s->which >= 0) return 1;
    memcpy(out, s->hold, s->n_hold);
    memcpy(out + s->n_hold, text, len);
    size_t total = s->n_hold + len, first = total, end = total + 1, max_len = 0;
    s->n_hold = 0;
    /* The stream stops at the first byte that completes a stop string: the
     * smallest end over every string's first occurrence (ties: the earliest
     * start, i.e. the longest string).  This depends only on the bytes, not
     * on how they were cut into pieces. */
    for (size_t k = 0; k < s->n; k++) {
        const char *p = memmem(out, total, s->strs[k], s->lens[k]);
        if (!p) {
            if (s->lens[k] > max_len) max_len = s->lens[k];
            continue;
        }
        size_t at = (size_t)(p - out), e = at + s->lens[k];
        if (e < end || (e == end && at < first)) {
            first = at;
            end = e;
            s->which = (int)k;
        }
        if (s->lens[k] > max_len) max_len = s->lens[k];
    }
    if (s->which >= 0) {
        *n_out = first;
        return 1;
    }
    /* longest suffix that may still grow into a stop string */
    size_t j = total > max_len - 1 ? total - (max_len - 1) : 0, keep = 0;
    for (; max_len > 0 && j < total; j++) {
        if (starts_some(s, out + j, total - j)) {
            keep = total - j;
            break;
        }
    }
    memcpy(s->hold, out + total - keep, keep);
    s->n_hold = keep;
    *n_out = total - keep;
    return 0;
}

size_t stop_flush(struct stop *s, char *out) {
    size_t n = s->which >= 0 ? 0 : s->n_hold;
    memcpy(out, s->hold, n);
    s->n_hold = 0;
    return n;
}

int stop_which(const struct stop *s) { return s->which; }
