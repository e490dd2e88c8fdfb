/*
 * reasoning.c - byte-at-a-time state machine of reasoning.h.
 *
 * Tags are matched byte by byte against a small buffer (r->tag); whitespace
 * that may be trimmed waits in r->ws.  Output is staged in a stack buffer and
 * handed to the callback once per kind change or when full, so a typical
 * piece costs one callback.
 */
#include "reasoning.h"

#include <string.h>

#include "err.h"

enum { ST_START = 0, ST_REASONING = 1, ST_CONTENT = 2 };

struct out {
    rsn_emit_fn fn;
    void *user;
    int kind;
    size_t n;
    char buf[512];
};

static void out_flush(struct out *o) {
    if (o->n) o->fn(o->user, o->kind, o->buf, o->n);
    o->n = 0;
}

static void out_put(struct out *o, int kind, const char *s, size_t n) {
    if (n == 0) return;
    if (o->n && o->kind != kind) out_flush(o);
    o->kind = kind;
    while (n) {
        size_t room = sizeof o->buf - o->n, k = n < room ? n : room;
        memcpy(o->buf + o->n, s, k);
        o->n += k;
        s += k;
        n -= k;
        if (o->n == sizeof o->buf) out_flush(o);
    }
}

static int is_ws(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* 1 when tag[0..len) + c is a prefix of t[0..tn). */
static int extends(const char *tag, size_t len, char c, const char *t, size_t tn) {
    return len < tn && memcmp(tag, t, len) == 0 && t[len] == c;
}

int rsn_init(struct rsn *r, const struct rsn_config *cfg, char *err) {
    const char *open = cfg && cfg->open_tag ? cfg->open_tag : "<think>";
    const char *close = cfg && cfg->close_tag ? cfg->close_tag : "</think>";
    size_t on = strlen(open), cn = strlen(close);
    memset(r, 0, sizeof *r);
    if (on == 0 || cn == 0 || on >= RSN_TAG_MAX || cn >= RSN_TAG_MAX)
        return dc_errf(err, DC_EINVAL, "reasoning: tags must be 1..%d bytes", RSN_TAG_MAX - 1);
    if (cfg && cfg->budget < 0) return dc_errf(err, DC_EINVAL, "reasoning: negative budget");
    memcpy(r->open, open, on + 1);
    memcpy(r->close, close, cn + 1);
    r->open_len = on;
    r->close_len = cn;
    r->keep_ws = cfg ? cfg->keep_whitespace : 0;
    r->budget = cfg ? cfg->budget : 0;
    r->state = cfg && cfg->start_in_reasoning ? ST_REASONING : ST_START;
    r->at_start = 1;
    return DC_OK;
}

static void to_content(struct rsn *r, int strip) {
    r->state = ST_CONTENT;
    r->strip_leading = strip && !r->keep_ws;
    r->tag_len = r->ws_len = 0;
}

/* Undecided start: whitespace and a partial opener are held in ws / tag. */
static int step_start(struct rsn *r, struct out *o, char c) {
    if (r->tag_len > 0 || c == r->open[0]) {
        if (extends(r->tag, r->tag_len, c, r->open, r->open_len)) {
            r->tag[r->tag_len++] = c;
            if (r->tag_len == r->open_len) { /* the block opens: padding goes */
                r->state = ST_REASONING;
                r->at_start = 1;
                r->tag_len = r->ws_len = 0;
            }
            return 1;
        }
    } else if (is_ws((unsigned char)c) && r->ws_len < sizeof r->ws) {
        r->ws[r->ws_len++] = c;
        return 1;
    }
    /* Not an opener: the stream is plain content, held bytes included. */
    out_put(o, RSN_CONTENT, r->ws, r->ws_len);
    out_put(o, RSN_CONTENT, r->tag, r->tag_len);
    to_content(r, 0);
    return 0; /* reprocess c as content */
}

static void flush_ws(struct rsn *r, struct out *o) {
    out_put(o, RSN_REASONING, r->ws, r->ws_len);
    r->ws_len = 0;
}

/* Inside the block.  Returns 1 when c was consumed, 0 when the caller must
 * feed c again (a held partial tag turned out to be text). */
static int step_reasoning(struct rsn *r, struct out *o, char c) {
    int to_close = extends(r->tag, r->tag_len, c, r->close, r->close_len);
    int to_open = r->at_start && extends(r->tag, r->tag_len, c, r->open, r->open_len);
    if (to_close || to_open) {
        r->tag[r->tag_len++] = c;
        if (to_close && r->tag_len == r->close_len) {
            if (r->keep_ws) flush_ws(r, o); /* else: trailing whitespace trimmed */
            to_content(r, 1);
        } else if (to_open && r->tag_len == r->open_len) {
            r->tag_len = 0; /* a repeated opener before any reasoning: dropped */
        }
        return 1;
    }
    if (r->tag_len > 0) {
        /* Not a tag: its first byte is text, the rest may still begin one. */
        char rest[RSN_TAG_MAX];
        size_t n_rest = r->tag_len - 1;
        memcpy(rest, r->tag + 1, n_rest);
        flush_ws(r, o);
        out_put(o, RSN_REASONING, r->tag, 1);
        r->tag_len = 0;
        r->at_start = 0;
        for (size_t i = 0; i < n_rest;) i += (size_t)step_reasoning(r, o, rest[i]);
        return 0;
    }
    if (is_ws((unsigned char)c)) {
        if (r->keep_ws) out_put(o, RSN_REASONING, &c, 1);
        else if (!r->at_start) { /* may be trailing: hold it */
            if (r->ws_len == sizeof r->ws) flush_ws(r, o);
            r->ws[r->ws_len++] = c;
        }
        return 1;
    }
    flush_ws(r, o);
    out_put(o, RSN_REASONING, &c, 1);
    r->at_start = 0;
    return 1;
}

static void step_content(struct rsn *r, struct out *o, char c) {
    if (r->strip_leading && is_ws((unsigned char)c)) return;
    r->strip_leading = 0;
    out_put(o, RSN_CONTENT, &c, 1);
}

void rsn_push(struct rsn *r, const char *text, size_t len, rsn_emit_fn fn, void *user) {
    struct out o = {fn, user, RSN_CONTENT, 0, {0}};
    if (r->state == ST_REASONING && len > 0) r->n_reasoning++;
    for (size_t i = 0; i < len;) {
        int used = 1;
        switch (r->state) {
        case ST_START: used = step_start(r, &o, text[i]); break;
        case ST_REASONING: used = step_reasoning(r, &o, text[i]); break;
        default: step_content(r, &o, text[i]); break;
        }
        i += (size_t)used;
    }
    out_flush(&o);
}

void rsn_finish(struct rsn *r, rsn_emit_fn fn, void *user) {
    struct out o = {fn, user, RSN_CONTENT, 0, {0}};
    if (r->state == ST_START) {
        out_put(&o, RSN_CONTENT, r->ws, r->ws_len);
        out_put(&o, RSN_CONTENT, r->tag, r->tag_len);
    } else if (r->state == ST_REASONING && r->tag_len > 0) {
        flush_ws(r, &o); /* whitespace before a partial tag is inner text */
        out_put(&o, RSN_REASONING, r->tag, r->tag_len);
    }
    r->tag_len = r->ws_len = 0;
    out_flush(&o);
}

int rsn_in_reasoning(const struct rsn *r) { return r->state == ST_REASONING; }

int64_t rsn_n_reasoning(const struct rsn *r) { return r->n_reasoning; }

int rsn_budget_hit(const struct rsn *r) {
    return r->budget > 0 && r->state == ST_REASONING && r->n_reasoning >= r->budget;
}
