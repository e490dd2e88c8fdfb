/*
 * tokenizer.c - byte-level BPE encoding and decoding (see tokenizer.h,
 * docs/TOKENIZER.md); loading lives in tokenizer_load.c.
 *
 * Reference semantics are Hugging Face `tokenizers` (Rust): AddedVocabulary
 * split, NormalizedString::split with SplitDelimiterBehavior, the ByteLevel
 * pre-tokenizer and BPE::merge_word / Word::merge_all.  All mutable state of
 * an encode call lives in struct enc, so a struct tok is shared read-only.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "err.h"
#include "tokenizer_int.h"
#include "utf8.h"

/* Longest added token that is a prefix of s[0..n): its index, or -1. */
static int32_t trie_match(const struct tok_trie *tr, const uint8_t *s, size_t n, size_t *mlen) {
    uint32_t node = 0;
    int32_t best = -1;
    for (size_t i = 0; i < n; i++) {
        uint32_t lo = tr->edge_lo[node], hi = lo + tr->edge_n[node], next = UINT32_MAX;
        for (uint32_t e = lo; e < hi; e++) {
            if (tr->edge_byte[e] == s[i]) {
                next = tr->edge_child[e];
                break;
            }
            if (tr->edge_byte[e] > s[i]) break;
        }
        if (next == UINT32_MAX) break;
        node = next;
        if (tr->term[node] >= 0) {
            best = tr->term[node];
            *mlen = i + 1;
        }
    }
    return best;
}

/* ---------------------------------------------------------------------------
 * Encoding
 * ------------------------------------------------------------------------- */

struct seg {
    size_t lo, hi; /* byte range relative to the piece being split */
    int m;         /* 1 if a regex match */
};

struct segv {
    struct seg *v;
    size_t n, cap;
};

struct heap_ent {
    int32_t rank, pos, id;
};

/* Per-call state: everything mutable lives here, so struct tok stays shared. */
struct enc {
    const struct tok *t;
    int flags;
    int32_t *ids;
    size_t cap, n;
    int grow; /* ids is malloc'ed and grows (tok_encode_alloc) */
    uint8_t *buf; /* text arena: the input, then normalized / prefixed copies */
    size_t len, bcap;
    pcre2_match_data *md;
    struct segv lv[TOK_MAX_PRE];
    /* BPE scratch, sized to the longest piece seen */
    int32_t *sym, *rank, *nid, *prv, *nxt;
    struct heap_ent *heap;
    size_t scap;
    char *err;
};

static int emit(struct enc *e, int32_t id) {
    if (e->n >= e->cap && e->grow) {
        size_t nc = e->cap ? e->cap * 2 : 256;
        int32_t *g = realloc(e->ids, nc * sizeof *g);
        if (!g) return dc_errf(e->err, DC_ENOMEM, "tokenizer: out of memory for ids");
        e->ids = g;
        e->cap = nc;
    }
    if (e->n < e->cap) e->ids[e->n] = id;
    e->n++;
    return DC_OK;
}

static int arena_reserve(struct enc *e, size_t extra) {
    if (e->len + extra <= e->bcap) return DC_OK;
    size_t nc = (e->len + extra) * 2;
    uint8_t *g = realloc(e->buf, nc);
    if (!g) return dc_errf(e->err, DC_ENOMEM, "tokenizer: out of memory for text");
    e->buf = g;
    e->bcap = nc;
    return DC_OK;
}

static int scratch_reserve(struct enc *e, size_t n) {
    if (n <= e->scap) return DC_OK;
    size_t c = n * 2;
    int32_t *a = realloc(e->sym, c * 4), *b = a ? realloc(e->rank, c * 4) : NULL;
    if (a) e->sym = a;
    if (b) e->rank = b;
    int32_t *d = b ? realloc(e->nid, c * 4) : NULL;
    if (d) e->nid = d;
    int32_t *p = d ? realloc(e->prv, c * 4) : NULL;
    if (p) e->prv = p;
    int32_t *q = p ? realloc(e->nxt, c * 4) : NULL;
    if (q) e->nxt = q;
    struct heap_ent *h = q ? realloc(e->heap, c * 3 * sizeof *h) : NULL;
    if (h) e->heap = h;
    if (!h) return dc_errf(e->err, DC_ENOMEM, "tokenizer: out of memory for BPE");
    e->scap = c;
    return DC_OK;
}

static int heap_less(const struct heap_ent *a, const struct heap_ent *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(struct heap_ent *h, size_t *n, struct heap_ent x) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(&x, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

static struct heap_ent heap_pop(struct heap_ent *h, size_t *n) {
    struct heap_ent top = h[0], x = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && heap_less(&h[c + 1], &h[c])) c++;
        if (!heap_less(&h[c], &x)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = x;
    return top;
}

/* Merges sym[0..n) in place by rank (lowest first, leftmost on ties) and
 * returns the new count.  Short words: rescan a cached pair-rank array. */
static size_t bpe_naive(const struct tok *t, int32_t *sym, int32_t *rank, int32_t *nid, size_t n) {
    for (size_t i = 0; i + 1 < n; i++)
        if (!tok_merge_get(t, sym[i], sym[i + 1], &rank[i], &nid[i])) rank[i] = INT32_MAX;
    while (n > 1) {
        size_t bi = 0;
        int32_t best = INT32_MAX;
        for (size_t i = 0; i + 1 < n; i++) {
            if (rank[i] < best) {
                best = rank[i];
                bi = i;
            }
        }
        if (best == INT32_MAX) break;
        sym[bi] = nid[bi];
        /* drop symbol bi+1 and pair bi; pairs bi-1 and bi change */
        memmove(sym + bi + 1, sym + bi + 2, (n - bi - 2) * sizeof *sym);
        if (n >= bi + 3) {
            memmove(rank + bi + 1, rank + bi + 2, (n - bi - 3) * sizeof *rank);
            memmove(nid + bi + 1, nid + bi + 2, (n - bi - 3) * sizeof *nid);
        }
        n--;
        if (bi > 0 && !tok_merge_get(t, sym[bi - 1], sym[bi], &rank[bi - 1], &nid[bi - 1])) rank[bi - 1] = INT32_MAX;
        if (bi + 1 < n && !tok_merge_get(t, sym[bi], sym[bi + 1], &rank[bi], &nid[bi])) rank[bi] = INT32_MAX;
    }
    return n;
}

/* Long words: linked list + binary heap of candidate pairs with lazy
 * invalidation (HF Word::merge_all), O(n log n). */
static size_t bpe_heap(struct enc *e, size_t n) {
    const struct tok *t = e->t;
    int32_t *sym = e->sym, *prv = e->prv, *nxt = e->nxt;
    struct heap_ent *h = e->heap;
    size_t hn = 0;
    for (size_t i = 0; i < n; i++) {
        prv[i] = (int32_t)i - 1;
        nxt[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        struct heap_ent x = {0, (int32_t)i, 0};
        if (tok_merge_get(t, sym[i], sym[i + 1], &x.rank, &x.id)) heap_push(h, &hn, x);
    }
    while (hn) {
        struct heap_ent top = heap_pop(h, &hn);
        int32_t p = top.pos, q = nxt[p], r, id;
        if (sym[p] < 0 || q < 0) continue;
        if (!tok_merge_get(t, sym[p], sym[q], &r, &id) || id != top.id) continue; /* stale */
        sym[p] = id;
        sym[q] = -1;
        nxt[p] = nxt[q];
        if (nxt[q] >= 0) prv[nxt[q]] = p;
        if (prv[p] >= 0) {
            struct heap_ent x = {0, prv[p], 0};
            if (tok_merge_get(t, sym[prv[p]], sym[p], &x.rank, &x.id)) heap_push(h, &hn, x);
        }
        if (nxt[p] >= 0) {
            struct heap_ent x = {0, p, 0};
            if (tok_merge_get(t, sym[p], sym[nxt[p]], &x.rank, &x.id)) heap_push(h, &hn, x);
        }
    }
    size_t k = 0;
    for (int32_t i = 0; i >= 0; i = nxt[i]) sym[k++] = sym[i];
    return k;
}

/* One pre-token buf[off..off+len) -> ids (HF BPE::tokenize). */
static int bpe(struct enc *e, size_t off, size_t len) {
    const struct tok *t = e->t;
    const uint8_t *s = e->buf + off;
    if (t->ignore_merges) {
        int32_t id = tok_vocab_get(t, s, len);
        if (id >= 0) return emit(e, id);
    }
    if (len == 1 && t->byte_tok[s[0]] >= 0) return emit(e, t->byte_tok[s[0]]);
    int rc = scratch_reserve(e, len + 1);
    if (rc) return rc;
    size_t n = 0;
    int last_unk = 0;
    for (size_t i = 0; i < len; i++) {
        int32_t id = t->byte_tok[s[i]];
        if (id >= 0) {
            e->sym[n++] = id;
            last_unk = 0;
        } else if (t->unk >= 0 && !(t->fuse_unk && last_unk)) {
            e->sym[n++] = t->unk; /* HF: a byte missing from the vocab is unk, else dropped */
            last_unk = 1;
        }
    }
    n = n <= TOK_NAIVE_BPE ? bpe_naive(t, e->sym, e->rank, e->nid, n) : bpe_heap(e, n);
    for (size_t i = 0; i < n; i++)
        if ((rc = emit(e, e->sym[i]))) return rc;
    return DC_OK;
}

/* Next match of r in buf[off..off+len) at or after `start` (bytes). */
static int re_find(struct enc *e, const struct tok_re *r, size_t off, size_t len, size_t start, size_t *ms,
                   size_t *me) {
    PCRE2_SPTR s = (PCRE2_SPTR)(e->buf + off);
    int rc = r->jit ? pcre2_jit_match(r->code, s, len, start, 0, e->md, NULL)
                    : pcre2_match(r->code, s, len, start, PCRE2_NO_UTF_CHECK, e->md, NULL);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* interpreter keeps its frames on the heap */
        rc = pcre2_match(r->code, s, len, start, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, e->md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) {
        PCRE2_UCHAR msg[120];
        pcre2_get_error_message(rc, msg, sizeof msg);
        return dc_errf(e->err, DC_ERANGE, "tokenizer: regex match failed: %s", (const char *)msg);
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md);
    *ms = ov[0];
    *me = ov[1];
    return 1;
}

static int segv_push(struct enc *e, struct segv *v, size_t lo, size_t hi, int m) {
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 64;
        struct seg *g = realloc(v->v, nc * sizeof *g);
        if (!g) return dc_errf(e->err, DC_ENOMEM, "tokenizer: out of memory");
        v->v = g;
        v->cap = nc;
    }
    v->v[v->n++] = (struct seg){lo, hi, m};
    return DC_OK;
}

static int pretok(struct enc *e, int k, size_t off, size_t len);

/* HF NormalizedString::split(pattern, behavior) on buf[off..off+len), then
 * step k+1 on every resulting non-empty piece. */
static int split_step(struct enc *e, int k, const struct tok_re *re, int behavior, int invert, size_t off,
                      size_t len) {
    struct segv *v = &e->lv[k];
    size_t pos = 0, prev = 0, ms = 0, me = 0;
    int rc;
    v->n = 0;
    while (pos <= len) { /* onig find_iter: all non-overlapping matches */
        rc = re_find(e, re, off, len, pos, &ms, &me);
        if (rc < 0) return rc;
        if (rc == 0) break;
        if (prev != ms && (rc = segv_push(e, v, prev, ms, 0))) return rc;
        if ((rc = segv_push(e, v, ms, me, 1))) return rc;
        prev = me;
        if (me > ms) {
            pos = me;
        } else { /* empty match: step over one character */
            if (me >= len) break;
            uint32_t cp;
            pos = me + utf8_decode(e->buf + off + me, len - me, &cp);
        }
    }
    if (prev != len && (rc = segv_push(e, v, prev, len, 0))) return rc;
    struct seg *s = v->v;
    size_t n = v->n, w = 0, first = 0;
    if (invert)
        for (size_t i = 0; i < n; i++) s[i].m = !s[i].m;
    /* Fold exactly as HF does; afterwards m == 1 marks a piece to drop. */
    switch (behavior) {
    case TOK_BEH_ISOLATED:
        for (size_t i = 0; i < n; i++) s[i].m = 0;
        w = n;
        break;
    case TOK_BEH_REMOVED:
        w = n;
        break;
    case TOK_BEH_CONTIGUOUS: {
        int pm = 0;
        for (size_t i = 0; i < n; i++) {
            int m = s[i].m;
            if (m == pm && w > 0) s[w - 1].hi = s[i].hi;
            else s[w++] = (struct seg){s[i].lo, s[i].hi, 0};
            pm = m;
        }
        break;
    }
    case TOK_BEH_MERGED_PREV: {
        int pm = 0;
        for (size_t i = 0; i < n; i++) {
            int m = s[i].m;
            if (m && !pm && w > 0) s[w - 1].hi = s[i].hi;
            else s[w++] = (struct seg){s[i].lo, s[i].hi, 0};
            pm = m;
        }
        break;
    }
    case TOK_BEH_MERGED_NEXT: { /* same fold from the right, written back to front */
        int pm = 0;
        w = n;
        for (size_t i = n; i-- > 0;) {
            int m = s[i].m;
            if (m && !pm && w < n) s[w].lo = s[i].lo;
            else s[--w] = (struct seg){s[i].lo, s[i].hi, 0};
            pm = m;
        }
        first = w;
        w = n;
        break;
    }
    default:
        return dc_errf(e->err, DC_EINVAL, "tokenizer: bad split behavior");
    }
    /* Deeper steps use lv[k+1..] only, so v->v stays valid; buf may move. */
    for (size_t i = first; i < w; i++) {
        struct seg sg = v->v[i];
        if (sg.m || sg.hi == sg.lo) continue;
        if ((rc = pretok(e, k + 1, off + sg.lo, sg.hi - sg.lo))) return rc;
    }
    return DC_OK;
}

/* Pre-tokenizer step k on buf[off..off+len); past the last step: BPE. */
static int pretok(struct enc *e, int k, size_t off, size_t len) {
    const struct tok *t = e->t;
    if (len == 0) return DC_OK;
    if (k == t->n_pre) return bpe(e, off, len);
    const struct tok_pre *st = &t->pre[k];
    if (st->kind == TOK_PRE_SPLIT) return split_step(e, k, &st->re, st->behavior, st->invert, off, len);
    if (st->add_prefix_space && e->buf[off] != ' ') { /* HF ByteLevel: per piece */
        int rc = arena_reserve(e, len + 1);
        if (rc) return rc;
        e->buf[e->len] = ' ';
        memcpy(e->buf + e->len + 1, e->buf + off, len);
        off = e->len;
        len += 1;
        e->len += len;
    }
    if (st->re.code) return split_step(e, k, &st->re, TOK_BEH_ISOLATED, 0, off, len);
    return pretok(e, k + 1, off, len);
}

typedef int (*stage_fn)(struct enc *e, size_t off, size_t len);

static int is_word_cp(uint32_t cp) { return cp == '_' || utf8_is_alnum(cp); }

/* Code point ending just before buf[pos] (pos > lo). */
static uint32_t cp_before(const uint8_t *s, size_t lo, size_t pos, size_t *clen) {
    size_t i = pos - 1;
    while (i > lo && (s[i] & 0xC0) == 0x80) i--;
    uint32_t cp;
    *clen = pos - i;
    utf8_decode(s + i, pos - i, &cp);
    return cp;
}

/* HF AddedVocabulary::split_with_indices: leftmost-longest matches of the
 * trie's tokens in buf[off..off+len) become ids; the text between them goes
 * to `next`.  lstrip/rstrip absorb adjacent whitespace into the token. */
static int split_added(struct enc *e, const struct tok_trie *tr, size_t off, size_t len, stage_fn next) {
    const struct tok *t = e->t;
    size_t start = 0, i = 0;
    int rc;
    while (i < len) {
        const uint8_t *s = e->buf + off;
        if (!tr->first[s[i]]) {
            i++;
            continue;
        }
        size_t ml = 0, clen;
        int32_t k = trie_match(tr, s + i, len - i, &ml);
        if (k < 0) {
            i++;
            continue;
        }
        const struct tok_added *a = &t->added[k];
        size_t ms = i, me = i + ml;
        uint32_t cp;
        if (a->single_word) {
            int before = ms > 0 && is_word_cp(cp_before(s, 0, ms, &clen));
            int after = me < len && (utf8_decode(s + me, len - me, &cp), is_word_cp(cp));
            if (before || after) {
                i = me;
                continue;
            }
        }
        if (a->lstrip)
            while (ms > start && utf8_is_white_space(cp_before(s, start, ms, &clen))) ms -= clen;
        if (a->rstrip)
            while (me < len) {
                size_t l = utf8_decode(s + me, len - me, &cp);
                if (!utf8_is_white_space(cp)) break;
                me += l;
            }
        if (ms > start && (rc = next(e, off + start, ms - start))) return rc;
        if ((rc = emit(e, a->id))) return rc;
        start = i = me;
    }
    if (start < len) return next(e, off + start, len - start);
    return DC_OK;
}

static int stage_pre(struct enc *e, size_t off, size_t len) { return pretok(e, 0, off, len); }

int tok_normalize(int form, const uint8_t *s, size_t n, uint8_t **out, size_t *out_len) {
    static const int opt[] = {0, UTF8PROC_COMPOSE, UTF8PROC_DECOMPOSE, UTF8PROC_COMPOSE | UTF8PROC_COMPAT,
                              UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT};
    size_t i = 0;
    *out = NULL;
    *out_len = n;
    if (form <= TOK_NORM_NONE || form > TOK_NORM_NFKD) return DC_OK;
    while (i < n && s[i] < 0x80) i++;
    if (i == n) return DC_OK; /* ASCII is invariant under every normal form */
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t nl = utf8proc_map(s, (utf8proc_ssize_t)n, &dst, (utf8proc_option_t)(UTF8PROC_STABLE | opt[form]));
    if (nl < 0) return nl == UTF8PROC_ERROR_NOMEM ? DC_ENOMEM : DC_EINVAL;
    *out = dst;
    *out_len = (size_t)nl;
    return DC_OK;
}

/* Normalizer, then (special parsing) the normalized added tokens. */
static int stage_norm(struct enc *e, size_t off, size_t len) {
    const struct tok *t = e->t;
    uint8_t *dst = NULL;
    size_t nl;
    int rc = tok_normalize(t->normalizer, e->buf + off, len, &dst, &nl);
    if (rc) return dc_errf(e->err, rc, "tokenizer: normalization failed");
    if (dst) {
        if ((rc = arena_reserve(e, nl))) {
            free(dst);
            return rc;
        }
        memcpy(e->buf + e->len, dst, nl);
        free(dst);
        off = e->len;
        len = nl;
        e->len += len;
    }
    if ((e->flags & TOK_PARSE_SPECIAL) && t->trie_norm.n_nodes > 1)
        return split_added(e, &t->trie_norm, off, len, stage_pre);
    return pretok(e, 0, off, len);
}

static int enc_run(struct enc *e, const char *text, size_t len) {
    const struct tok *t = e->t;
    size_t valid = utf8_valid_len((const uint8_t *)text, len);
    int rc = arena_reserve(e, valid == len ? len + 64 : utf8_stream_bound(len));
    if (rc) return rc;
    if (valid == len) {
        if (len) memcpy(e->buf, text, len);
        e->len = len;
    } else { /* invalid UTF-8: U+FFFD per malformed unit, like errors="replace" */
        struct utf8_stream us;
        utf8_stream_init(&us);
        e->len = utf8_stream_push(&us, (const uint8_t *)text, len, e->buf);
        e->len += utf8_stream_flush(&us, e->buf + e->len);
    }
    len = e->len;
    if (len == 0) return DC_OK;
    e->md = pcre2_match_data_create(1, NULL);
    if (!e->md) return dc_errf(e->err, DC_ENOMEM, "tokenizer: out of memory");
    if ((e->flags & TOK_PARSE_SPECIAL) && t->trie_raw.n_nodes > 1)
        return split_added(e, &t->trie_raw, 0, len, stage_norm);
    return stage_norm(e, 0, len);
}

static void enc_free(struct enc *e) {
    pcre2_match_data_free(e->md);
    for (int i = 0; i < TOK_MAX_PRE; i++) free(e->lv[i].v);
    free(e->buf);
    free(e->sym);
    free(e->rank);
    free(e->nid);
    free(e->prv);
    free(e->nxt);
    free(e->heap);
}

int tok_encode(const struct tok *t, const char *text, size_t len, int flags, int32_t *ids, size_t cap,
               size_t *n, char *err) {
    if (!t || (!text && len) || !n || (!ids && cap)) return dc_errf(err, DC_EINVAL, "tok_encode: bad argument");
    if (len > TOK_MAX_INPUT) return dc_errf(err, DC_ERANGE, "tok_encode: %zu bytes of text exceeds the limit", len);
    struct enc e = {.t = t, .flags = flags, .ids = ids, .cap = cap, .err = err};
    int rc = enc_run(&e, text, len);
    *n = e.n;
    enc_free(&e);
    if (rc) return rc;
    if (e.n > cap) return dc_errf(err, DC_ERANGE, "tok_encode: %zu ids do not fit in %zu", e.n, cap);
    return DC_OK;
}

int tok_encode_alloc(const struct tok *t, const char *text, size_t len, int flags, int32_t **ids, size_t *n,
                     char *err) {
    if (!t || (!text && len) || !n || !ids) return dc_errf(err, DC_EINVAL, "tok_encode_alloc: bad argument");
    if (len > TOK_MAX_INPUT) return dc_errf(err, DC_ERANGE, "tok_encode: %zu bytes of text exceeds the limit", len);
    struct enc e = {.t = t, .flags = flags, .grow = 1, .err = err};
    int rc = enc_run(&e, text, len);
    enc_free(&e);
    if (rc) {
        free(e.ids);
        *ids = NULL;
        *n = 0;
        return rc;
    }
    *ids = e.ids;
    *n = e.n;
    return DC_OK;
}

/* ---------------------------------------------------------------------------
 * Decoding and accessors
 * ------------------------------------------------------------------------- */

const char *tok_piece(const struct tok *t, int32_t id, size_t *len) {
    if (!t || id < 0 || id >= t->n_vocab) return NULL;
    size_t l;
    const uint8_t *p = tok_piece_of(t, id, &l);
    if (len) *len = l;
    return (const char *)p;
}

static int skip_piece(const struct tok *t, int32_t id, int flags) {
    return (flags & TOK_DECODE_SKIP_SPECIAL) && t->type[id] == TOK_TYPE_CONTROL;
}

int tok_decode(const struct tok *t, const int32_t *ids, size_t n, int flags, char *out, size_t cap, size_t *len,
               char *err) {
    if (!t || (!ids && n) || !len || (!out && cap)) return dc_errf(err, DC_EINVAL, "tok_decode: bad argument");
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_vocab) return dc_errf(err, DC_EINVAL, "tok_decode: id %d out of range", (int)ids[i]);
        if (skip_piece(t, ids[i], flags)) continue;
        size_t l;
        const uint8_t *p = tok_piece_of(t, ids[i], &l);
        if (o + l <= cap) memcpy(out + o, p, l);
        o += l;
    }
    *len = o;
    if (o > cap) return dc_errf(err, DC_ERANGE, "tok_decode: %zu bytes do not fit in %zu", o, cap);
    return DC_OK;
}

void tok_stream_init(struct tok_stream *s, int flags) {
    utf8_stream_init(&s->u);
    s->flags = flags;
}

size_t tok_stream_max(const struct tok *t) { return utf8_stream_bound(t->max_piece); }

int tok_stream_push(const struct tok *t, struct tok_stream *s, int32_t id, char *out, size_t cap, size_t *len,
                    char *err) {
    *len = 0;
    if (!t || id < 0 || id >= t->n_vocab) return dc_errf(err, DC_EINVAL, "tok_stream_push: id %d out of range", (int)id);
    if (skip_piece(t, id, s->flags)) return DC_OK;
    size_t l;
    const uint8_t *p = tok_piece_of(t, id, &l);
    if (cap < utf8_stream_bound(l)) return dc_errf(err, DC_ERANGE, "tok_stream_push: output buffer too small");
    *len = utf8_stream_push(&s->u, p, l, (uint8_t *)out);
    return DC_OK;
}

size_t tok_stream_flush(struct tok_stream *s, char *out) { return utf8_stream_flush(&s->u, (uint8_t *)out); }

int32_t tok_n_vocab(const struct tok *t) { return t->n_vocab; }
int32_t tok_bos(const struct tok *t) { return t->bos; }
int32_t tok_eos(const struct tok *t) { return t->eos; }
int32_t tok_pad(const struct tok *t) { return t->pad; }
int tok_add_bos(const struct tok *t) { return t->add_bos; }
const char *tok_pre_name(const struct tok *t) { return t->pre_name; }

int tok_type(const struct tok *t, int32_t id) {
    return id >= 0 && id < t->n_vocab ? t->type[id] : TOK_TYPE_UNDEFINED;
}

int32_t tok_find(const struct tok *t, const char *s, size_t len) {
    for (int32_t i = 0; i < t->n_added; i++) {
        size_t l;
        const uint8_t *p = tok_piece_of(t, t->added[i].id, &l);
        if (l == len && memcmp(p, s, len) == 0) return t->added[i].id;
    }
    return t->vhash ? tok_vocab_get(t, (const uint8_t *)s, len) : -1;
}
