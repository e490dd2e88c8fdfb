/* err.c - error message helpers (see err.h). */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dc_errf(char *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, DC_ERR_LEN, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *dc_escape(char *out, size_t cap, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (o + 8 >= cap) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (ch >= 0x20 && ch < 0x7f && ch != '\'' && ch != '\\') {
            out[o++] = (char)ch;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = 0;
    return out;
}

const char *dc_strerror(int code) {
    switch (code) {
    case DC_OK: return "ok";
    case DC_EIO: return "i/o error";
    case DC_EFORMAT: return "format error";
    case DC_ENOMEM: return "out of memory";
    case DC_EINVAL: return "invalid argument";
    case DC_EUNSUPPORTED: return "unsupported";
    case DC_ENOTFOUND: return "not found";
    case DC_ERANGE: return "out of range";
    default: return "unknown error";
    }
}
