/*
 * sbuf.h - a growable byte buffer for building HTTP bodies and SSE streams.
 *
 * The bytes are always followed by a NUL (not counted in len) once anything
 * was added, so a text buffer can be used as a C string.  A zeroed struct is
 * an empty buffer.  On allocation failure the buffer stays valid, keeps what
 * it had, and remembers the failure in `oom` (checked once by the caller at
 * the end instead of after every append).
 */
#ifndef DC_SBUF_H
#define DC_SBUF_H

#include <stddef.h>

struct sbuf {
    char *p;    /* owned; NULL when nothing was ever added */
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated */
    int oom;    /* an append failed */
};

/* Makes room for `extra` more bytes (plus the NUL).  DC_OK or DC_ENOMEM. */
int sbuf_reserve(struct sbuf *b, size_t extra);
void sbuf_add(struct sbuf *b, const void *data, size_t n);
void sbuf_adds(struct sbuf *b, const char *s);
void sbuf_addf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s[0..n) as a JSON string literal, quotes included.  Invalid UTF-8
 * becomes U+FFFD, so the output is always valid JSON text. */
void sbuf_add_json_str(struct sbuf *b, const char *s, size_t n);
/* Drops the first n bytes (n <= len). */
void sbuf_consume(struct sbuf *b, size_t n);
void sbuf_reset(struct sbuf *b); /* len = 0, keeps the memory */
void sbuf_free(struct sbuf *b);  /* frees and zeroes */

#endif
