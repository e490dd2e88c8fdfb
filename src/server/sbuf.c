/*
 * sbuf.c - growable byte buffer (see sbuf.h).
 */
#include "sbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "utf8.h"

int sbuf_reserve(struct sbuf *b, size_t extra) {
    if (extra > SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return DC_ENOMEM;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return DC_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return DC_ENOMEM;
    }
    b->p = p;
    b->cap = cap;
    return DC_OK;
}

void sbuf_add(struct sbuf *b, const void *data, size_t n) {
    if (sbuf_reserve(b, n)) return;
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = 0;
}

void sbuf_adds(struct sbuf *b, const char *s) { sbuf_add(b, s, strlen(s)); }

void sbuf_addf(struct sbuf *b, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof(small)) {
        sbuf_add(b, small, (size_t)n);
        return;
    }
    if (sbuf_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sbuf_add_json_str(struct sbuf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    if (sbuf_reserve(b, n + 2)) return;
    sbuf_add(b, "\"", 1);
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0;
    while (i < n) {
        uint8_t c = u[i];
        if (c >= 0x80) { /* a whole UTF-8 unit, or U+FFFD for a broken one */
            uint32_t cp;
            size_t k = utf8_decode(u + i, n - i, &cp);
            if (cp == UTF8_INVALID || cp == UTF8_TRUNCATED) sbuf_add(b, "\xEF\xBF\xBD", 3);
            else sbuf_add(b, u + i, k);
            i += k;
            continue;
        }
        size_t j = i; /* run of bytes that need no escaping */
        while (j < n && u[j] >= 0x20 && u[j] < 0x80 && u[j] != '"' && u[j] != '\\') j++;
        if (j > i) {
            sbuf_add(b, u + i, j - i);
            i = j;
            continue;
        }
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        switch (c) {
        case '"': esc[1] = '"'; sbuf_add(b, esc, 2); break;
        case '\\': esc[1] = '\\'; sbuf_add(b, esc, 2); break;
        case '\n': esc[1] = 'n'; sbuf_add(b, esc, 2); break;
        case '\r': esc[1] = 'r'; sbuf_add(b, esc, 2); break;
        case '\t': esc[1] = 't'; sbuf_add(b, esc, 2); break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            sbuf_add(b, esc, 6);
        }
        i++;
    }
    sbuf_add(b, "\"", 1);
}

void sbuf_consume(struct sbuf *b, size_t n) {
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->p, b->p + n, b->len - n);
        b->len -= n;
    }
    if (b->p) b->p[b->len] = 0;
}

void sbuf_reset(struct sbuf *b) {
    b->len = 0;
    if (b->p) b->p[0] = 0;
}

void sbuf_free(struct sbuf *b) {
    free(b->p);
    memset(b, 0, sizeof(*b));
}
