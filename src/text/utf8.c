/* utf8.c - UTF-8 decoding, validation and repair (see utf8.h). */
#include "utf8.h"

#include <string.h>
#include <utf8proc.h>

/* Total unit length announced by a lead byte, 0 if b cannot start one. */
static unsigned lead_len(uint8_t b) {
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) return 2;
    if (b >= 0xE0 && b <= 0xEF) return 3;
    if (b >= 0xF0 && b <= 0xF4) return 4;
    return 0;
}

/* Is b allowed at position pos (>= 1) of a unit starting with lead?
 * Unicode Table 3-7: the second byte range depends on the lead byte. */
static int cont_ok(uint8_t lead, unsigned pos, uint8_t b) {
    uint8_t lo = 0x80, hi = 0xBF;
    if (pos == 1) {
        if (lead == 0xE0) lo = 0xA0;      /* no overlongs */
        else if (lead == 0xED) hi = 0x9F; /* no surrogates */
        else if (lead == 0xF0) lo = 0x90; /* no overlongs */
        else if (lead == 0xF4) hi = 0x8F; /* <= U+10FFFF */
    }
    return b >= lo && b <= hi;
}

static uint32_t assemble(const uint8_t *s, unsigned len) {
    switch (len) {
    case 1: return s[0];
    case 2: return ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    case 3: return ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    default:
        return ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
               ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    }
}

size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp) {
    unsigned len = lead_len(s[0]);
    if (len == 0) {
        *cp = UTF8_INVALID;
        return 1;
    }
    for (unsigned i = 1; i < len; i++) {
        if (i >= n) {
            *cp = UTF8_TRUNCATED;
            return i;
        }
        if (!cont_ok(s[0], i, s[i])) {
            *cp = UTF8_INVALID;
            return i;
        }
    }
    *cp = assemble(s, len);
    return len;
}

size_t utf8_encode(uint32_t cp, uint8_t out[4]) {
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

size_t utf8_valid_len(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) { /* ASCII runs dominate typical prompts */
            i++;
            continue;
        }
        uint32_t cp;
        size_t l = utf8_decode(s + i, n - i, &cp);
        if (cp == UTF8_INVALID || cp == UTF8_TRUNCATED) return i;
        i += l;
    }
    return n;
}

void utf8_stream_init(struct utf8_stream *s) { memset(s, 0, sizeof *s); }

static size_t put_fffd(uint8_t *out) {
    out[0] = 0xEF;
    out[1] = 0xBF;
    out[2] = 0xBD;
    return 3;
}

size_t utf8_stream_push(struct utf8_stream *s, const uint8_t *in, size_t n, uint8_t *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = in[i];
        if (s->n > 0) {
            if (cont_ok(s->buf[0], s->n, b)) {
                s->buf[s->n++] = b;
                if (s->n == s->need) {
                    memcpy(out + o, s->buf, s->n);
                    o += s->n;
                    s->n = 0;
                }
                continue;
            }
            /* The held unit is malformed: one U+FFFD, then b starts afresh. */
            o += put_fffd(out + o);
            s->n = 0;
        }
        unsigned len = lead_len(b);
        if (len == 1) {
            out[o++] = b;
        } else if (len == 0) {
            o += put_fffd(out + o);
        } else {
            s->buf[0] = b;
            s->n = 1;
            s->need = (uint8_t)len;
        }
    }
    return o;
}

size_t utf8_stream_flush(struct utf8_stream *s, uint8_t *out) {
    if (s->n == 0) return 0;
    s->n = 0;
    return put_fffd(out);
}

int utf8_is_white_space(uint32_t cp) {
    if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
    if (cp < 0x85) return 0;
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

int utf8_is_alnum(uint32_t cp) {
    if (cp < 0x80) return (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
    if (cp > 0x10FFFF) return 0;
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return 1;
    default:
        return 0;
    }
}
