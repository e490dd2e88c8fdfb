/*
 * err.h - error codes and error messages shared by every deepc module.
 *
 * Functions that can fail return int: 0 (DC_OK) on success, a negative DC_E*
 * code on failure.  When the caller passes a non-NULL `err` buffer of at least
 * DC_ERR_LEN bytes, the failing function writes a one-line, human readable
 * message into it naming the problem ("gguf: tensor 'x' data [a, b) exceeds
 * file size c").  Library code never exits; only main() decides to quit.
 */
#ifndef DC_ERR_H
#define DC_ERR_H

#include <stddef.h>

#define DC_ERR_LEN 256

enum dc_status {
    DC_OK = 0,
    DC_EIO = -1,          /* open/read/mmap failed */
    DC_EFORMAT = -2,      /* file or message content is malformed or inconsistent */
    DC_ENOMEM = -3,       /* allocation failed or a size ceiling was hit */
    DC_EINVAL = -4,       /* invalid argument from the caller */
    DC_EUNSUPPORTED = -5, /* well-formed but not implemented (dtype, architecture) */
    DC_ENOTFOUND = -6,    /* key or tensor missing */
    DC_ERANGE = -7,       /* value out of its allowed range */
};

/* Writes the printf-style message into err (if non-NULL, truncating to
 * DC_ERR_LEN) and returns `code`, so callers can `return dc_errf(...)`. */
int dc_errf(char *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Escapes s[0..len) for a one-line message: printable ASCII is kept, other
 * bytes (and ' and \\) become \\xNN; cut with "..." to fit out[0..cap), cap >= 12.
 * Returns out.  For names read from files, which may hold anything. */
const char *dc_escape(char *out, size_t cap, const char *s, size_t len);

/* Short name of a status code ("format error"); never NULL. */
const char *dc_strerror(int code);


#endif
