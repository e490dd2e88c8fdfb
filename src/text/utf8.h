/*
 * utf8.h - UTF-8 decoding, validation and repair helpers.
 *
 * The tokenizer and the streaming decoder share one definition of "invalid":
 * the Unicode "maximal subpart" rule (Unicode 15 ch. 3, U+FFFD substitution),
 * which is also what Python's bytes.decode("utf-8", errors="replace") does.
 * A lead byte followed by the continuation bytes that are still allowed for
 * it forms one unit; when the next byte does not fit (or the input ends), the
 * whole unit becomes one U+FFFD and decoding resumes at the offending byte.
 * Bytes that can never start a sequence (80..BF, C0, C1, F5..FF) are one
 * U+FFFD each.  Surrogates (ED A0..BF ..) and overlongs (E0 80..9F .., F0
 * 80..8F ..) are rejected at their second byte.
 */
#ifndef DC_UTF8_H
#define DC_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xFFFDu

/* Sentinels stored in *cp by utf8_decode. */
#define UTF8_INVALID 0xFFFFFFFFu   /* malformed unit */
#define UTF8_TRUNCATED 0xFFFFFFFEu /* valid so far, but the input ended */

/* Decodes the unit at s[0..n), n >= 1.  Returns the number of bytes it
 * covers (1..4) and sets *cp to the code point, or to UTF8_INVALID /
 * UTF8_TRUNCATED for a unit that becomes one U+FFFD. */
size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);

/* Writes cp (<= 0x10FFFF) as UTF-8 into out[0..4); returns 1..4. */
size_t utf8_encode(uint32_t cp, uint8_t out[4]);

/* Length of the longest valid UTF-8 prefix of s[0..n) (n when all valid). */
size_t utf8_valid_len(const uint8_t *s, size_t n);

/* Byte-at-a-time decoder state that holds back an incomplete sequence.
 * Zero-initialise (or utf8_stream_init) before use. */
struct utf8_stream {
    uint8_t buf[4]; /* bytes of the unit being assembled */
    uint8_t n;      /* bytes in buf */
    uint8_t need;   /* total length of the unit being assembled */
};

void utf8_stream_init(struct utf8_stream *s);

/* Consumes in[0..n) and writes the valid UTF-8 that is complete so far to
 * out, replacing malformed units by U+FFFD (EF BF BD).  out must hold at
 * least utf8_stream_bound(n) bytes.  Returns bytes written. */
size_t utf8_stream_push(struct utf8_stream *s, const uint8_t *in, size_t n, uint8_t *out);

/* Emits U+FFFD for a held incomplete unit (0 or 3 bytes; out holds >= 3)
 * and resets the state. */
size_t utf8_stream_flush(struct utf8_stream *s, uint8_t *out);

/* Upper bound of utf8_stream_push output for n input bytes: each input byte
 * and each of <= 3 held bytes yields at most 3 output bytes. */
static inline size_t utf8_stream_bound(size_t n) { return 3 * n + 9; }

/* Unicode White_Space property (what Rust's char::is_whitespace and
 * Oniguruma's \s use): 09..0D, 20, 85, A0, 1680, 2000..200A, 2028, 2029,
 * 202F, 205F, 3000. */
int utf8_is_white_space(uint32_t cp);

/* General category L* or N* (utf8proc's Unicode tables). */
int utf8_is_alnum(uint32_t cp);

#endif
