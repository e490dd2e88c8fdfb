/*
 * tokenizer_int.h - private to the tokenizer module (tokenizer.c: encoding,
 * decoding; tokenizer_load.c: building a struct tok from tokenizer.json or
 * GGUF).  Not part of the API: include tokenizer.h instead.
 */
#ifndef DC_TOKENIZER_INT_H
#define DC_TOKENIZER_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
/* tokenizer.c: applies normalizer `form` (TOK_NORM_*) to valid UTF-8
 * s[0..n).  *out is a malloc'ed result (caller frees), or NULL when the text
 * is unchanged (then *out_len = n).  DC_OK or DC_EINVAL/DC_ENOMEM. */
int tok_normalize(int form, const uint8_t *s, size_t n, uint8_t **out, size_t *out_len);

#endif
#include <pcre2.h>

#include "tokenizer.h"

#define TOK_MAX_VOCAB (1 << 24)      /* ids must fit comfortably in int32 */
#define TOK_MAX_PRE 16               /* pre-tokenizer steps */
#define TOK_MAX_ADDED_LEN 1024       /* bytes of one added token's content */
#define TOK_MAX_INPUT ((size_t)1 << 30) /* bytes of text per encode call */
#define TOK_NAIVE_BPE 48             /* pieces up to this many bytes use the O(n^2) loop */

enum { TOK_NORM_NONE, TOK_NORM_NFC, TOK_NORM_NFD, TOK_NORM_NFKC, TOK_NORM_NFKD };
enum { TOK_PRE_SPLIT, TOK_PRE_BYTELEVEL };
/* HF SplitDelimiterBehavior */
enum { TOK_BEH_REMOVED, TOK_BEH_ISOLATED, TOK_BEH_MERGED_PREV, TOK_BEH_MERGED_NEXT, TOK_BEH_CONTIGUOUS };

struct tok_re {
    pcre2_code *code;
    int jit; /* 1 if JIT-compiled */
};

struct tok_pre {
    int kind;
    struct tok_re re;     /* SPLIT: the pattern; BYTELEVEL: GPT-2 regex if use_regex, else none */
    int behavior, invert; /* SPLIT */
    int add_prefix_space; /* BYTELEVEL */
};

struct tok_added {
    int32_t id;
    uint32_t off, len; /* content bytes in t->blob */
    uint8_t special, lstrip, rstrip, single_word, normalized;
};

/* Byte trie over added-token contents, for leftmost-longest matching. */
struct tok_trie {
    uint32_t n_nodes, n_edges;
    uint32_t *edge_lo;    /* [n_nodes] first edge of the node */
    uint16_t *edge_n;     /* [n_nodes] number of edges (<= 256) */
    int32_t *term;        /* [n_nodes] index into t->added ending here, or -1 */
    uint8_t *edge_byte;   /* [n_edges] sorted per node */
    uint32_t *edge_child; /* [n_edges] */
    uint8_t first[256];   /* 1 if some token starts with this byte */
};

struct tok_merge {
    uint64_t key; /* (left id << 32) | right id; UINT64_MAX = empty */
    int32_t rank; /* index in the merges list: lower merges first */
    int32_t id;   /* id of the merged token */
};

struct tok {
    int32_t n_vocab;
    uint8_t *type;       /* [n_vocab] enum tok_type */
    uint32_t *piece_off; /* [n_vocab + 1] raw bytes of token i: blob[piece_off[i] .. piece_off[i+1]) */
    uint8_t *blob;       /* token bytes, then added-token contents */
    size_t max_piece;    /* longest piece, bytes */

    /* Byte-level BPE */
    uint16_t b2u[256];      /* GPT-2 bytes_to_unicode: byte -> code point */
    int16_t u2b[0x144];     /* inverse over code points < 0x144, -1 where none */
    int32_t byte_tok[256];  /* id of the one-byte token for each byte, -1 if absent */
    int32_t *vhash;         /* open addressing on raw bytes -> id, -1 empty */
    uint32_t vhash_mask;
    struct tok_merge *merges;
    uint32_t merges_mask;
    int32_t n_merges;
    int ignore_merges; /* a pre-token that is a whole vocab entry skips merging (Llama-3) */
    int32_t unk;       /* unknown-character id, -1 if none (chars are then dropped, as HF) */
    int fuse_unk;

    /* Added tokens */
    struct tok_added *added;
    int32_t n_added;
    struct tok_trie trie_raw;  /* normalized == false: matched on the raw text */
    struct tok_trie trie_norm; /* normalized == true: matched after normalization */

    int normalizer; /* NORM_* */
    struct tok_pre pre[TOK_MAX_PRE];
    int n_pre;
    char pre_name[48];

    int32_t bos, eos, pad;
    int add_bos;
};

/* ---- lookups shared by loading and encoding ---- */

static inline uint64_t tok_hash_bytes(const uint8_t *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

static inline uint32_t tok_hash_pair(uint64_t key, uint32_t mask) {
    return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static inline const uint8_t *tok_piece_of(const struct tok *t, int32_t id, size_t *len) {
    *len = t->piece_off[id + 1] - t->piece_off[id];
    return t->blob + t->piece_off[id];
}

/* id of the hashed token with raw bytes s[0..n), or -1. */
static inline int32_t tok_vocab_get(const struct tok *t, const uint8_t *s, size_t n) {
    uint32_t h = (uint32_t)tok_hash_bytes(s, n) & t->vhash_mask;
    for (;;) {
        int32_t id = t->vhash[h];
        if (id < 0) return -1;
        size_t l;
        const uint8_t *p = tok_piece_of(t, id, &l);
        if (l == n && memcmp(p, s, n) == 0) return id;
        h = (h + 1) & t->vhash_mask;
    }
}

static inline int tok_merge_get(const struct tok *t, int32_t a, int32_t b, int32_t *rank, int32_t *id) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    uint32_t h = tok_hash_pair(key, t->merges_mask);
    for (;;) {
        const struct tok_merge *m = &t->merges[h];
        if (m->key == key) {
            *rank = m->rank;
            *id = m->id;
            return 1;
        }
        if (m->key == UINT64_MAX) return 0;
        h = (h + 1) & t->merges_mask;
    }
}

/* tokenizer.c: applies normalizer `form` (TOK_NORM_*) to valid UTF-8
 * s[0..n).  *out is a malloc'ed result (caller frees), or NULL when the text
 * is unchanged (then *out_len = n).  DC_OK or DC_EINVAL/DC_ENOMEM. */
int tok_normalize(int form, const uint8_t *s, size_t n, uint8_t **out, size_t *out_len);

#endif
