/*
 * tokenizer.c - byte-level BPE tokenizer (see tokenizer.h, docs/TOKENIZER.md).
 *
 * Sections: tables and hashing | loading (common builder, tokenizer.json,
 * GGUF, paths) | encoding (added tokens, normalizer, pre-tokenizer, BPE) |
 * decoding and accessors.
 *
 * Reference semantics are Hugging Face `tokenizers` (Rust): AddedVocabulary
 * split, NormalizedString::split with SplitDelimiterBehavior, the ByteLevel
 * pre-tokenizer and BPE::merge_word / Word::merge_all.  The regexes of
 * tokenizer.json are Oniguruma (Ruby syntax); they are run here with PCRE2
 * (UTF + UCP) after rewriting the few constructs whose meaning differs
 * (re_rewrite below).
 */
#include "tokenizer.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <json-c/json.h>
#include <pcre2.h>
#include <utf8proc.h>

#include "err.h"
#include "gguf.h"
#include "mapfile.h"
#include "utf8.h"

/* ---------------------------------------------------------------------------
 * Limits and pattern constants
 * ------------------------------------------------------------------------- */

#define TOK_MAX_VOCAB (1 << 24)      /* ids must fit comfortably in int32 */
#define TOK_MAX_PRE 16               /* pre-tokenizer steps */
#define TOK_MAX_ADDED_LEN 1024       /* bytes of one added token's content */
#define TOK_MAX_INPUT ((size_t)1 << 30) /* bytes of text per encode call */
#define TOK_NAIVE_BPE 48             /* pieces up to this many bytes use the O(n^2) loop */

/* GPT-2's split regex, used by ByteLevel(use_regex=true) (HF byte_level.rs). */
static const char RE_GPT2[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
/* DeepSeek-V3/R1 tokenizer.json: three Isolated splits (spec TOKENIZER.md 1.3). */
static const char RE_DSV3_DIGITS[] = "\\p{N}{1,3}";
static const char RE_DSV3_CJK[] = "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+";
static const char RE_DSV3_MAIN[] =
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
    " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
/* Qwen2 / Qwen2.5 / R1-Distill-Qwen tokenizer.json (digits one by one). */
static const char RE_QWEN2[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/* Llama-3 / R1-Distill-Llama tokenizer.json (digits in groups of <= 3). */
static const char RE_LLAMA3[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/* DeepSeek-LLM (V1/V2) and DeepSeek-Coder (V1) Split lists, as llama.cpp
 * lists them for GGUF .pre "deepseek-llm" / "deepseek-coder". */
static const char RE_DSLLM_LATIN[] =
    "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}"
    "\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}"
    "\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}"
    "\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}"
    "\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}"
    "\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}"
    "\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}"
    "\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}"
    "\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}"
    "\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}"
    "\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}"
    "\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}"
    "\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}"
    "\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}"
    "\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+";
static const char RE_DSLLM_PUNCT[] =
    "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+";
static const char RE_DSLLM_CJK[] = "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+";

enum { NORM_NONE, NORM_NFC, NORM_NFD, NORM_NFKC, NORM_NFKD };
enum { PRE_SPLIT, PRE_BYTELEVEL };
/* HF SplitDelimiterBehavior */
enum { BEH_REMOVED, BEH_ISOLATED, BEH_MERGED_PREV, BEH_MERGED_NEXT, BEH_CONTIGUOUS };

struct tok_re {
    pcre2_code *code;
    int jit; /* 1 if JIT-compiled */
};

struct pre_step {
    int kind;
    struct tok_re re;     /* SPLIT: the pattern; BYTELEVEL: GPT-2 regex if use_regex, else none */
    int behavior, invert; /* SPLIT */
    int add_prefix_space; /* BYTELEVEL */
};

struct added {
    int32_t id;
    uint32_t off, len; /* content bytes in t->blob */
    uint8_t special, lstrip, rstrip, single_word, normalized;
};

/* Byte trie over added-token contents, for leftmost-longest matching. */
struct trie {
    uint32_t n_nodes, n_edges;
    uint32_t *edge_lo;    /* [n_nodes] first edge of the node */
    uint16_t *edge_n;     /* [n_nodes] number of edges (<= 256) */
    int32_t *term;        /* [n_nodes] index into t->added ending here, or -1 */
    uint8_t *edge_byte;   /* [n_edges] sorted per node */
    uint32_t *edge_child; /* [n_edges] */
    uint8_t first[256];   /* 1 if some token starts with this byte */
};

struct merge_slot {
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
    struct merge_slot *merges;
    uint32_t merges_mask;
    int32_t n_merges;
    int ignore_merges; /* a pre-token that is a whole vocab entry skips merging (Llama-3) */
    int32_t unk;       /* unknown-character id, -1 if none (chars are then dropped, as HF) */
    int fuse_unk;

    /* Added tokens */
    struct added *added;
    int32_t n_added;
    struct trie trie_raw;  /* normalized == false: matched on the raw text */
    struct trie trie_norm; /* normalized == true: matched after normalization */

    int normalizer; /* NORM_* */
    struct pre_step pre[TOK_MAX_PRE];
    int n_pre;
    char pre_name[48];

    int32_t bos, eos, pad;
    int add_bos;
};

/* ---------------------------------------------------------------------------
 * Byte map, hashing, tables
 * ------------------------------------------------------------------------- */

/* GPT-2 bytes_to_unicode: printable bytes keep their value, the other 68 get
 * U+0100.. in increasing byte order (spec TOKENIZER.md 1.4). */
static void bytemap_init(struct tok *t) {
    uint32_t next = 0x100;
    for (int i = 0; i < 0x144; i++) t->u2b[i] = -1;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        t->b2u[b] = (uint16_t)(printable ? (uint32_t)b : next++);
        t->u2b[t->b2u[b]] = (int16_t)b;
    }
}

/* Converts a token string in byte-mapped form to its raw bytes (out holds
 * >= len bytes).  Returns the raw length, or -1 if the string contains a
 * character outside the 256-symbol alphabet (then it is not byte-level). */
static long unmap_bytes(const struct tok *t, const uint8_t *s, size_t len, uint8_t *out) {
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t l = utf8_decode(s + i, len - i, &cp);
        if (cp >= 0x144 || t->u2b[cp] < 0) return -1;
        out[o++] = (uint8_t)t->u2b[cp];
        i += l;
    }
    return (long)o;
}

static uint64_t hash_bytes(const uint8_t *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

static uint32_t hash_pair(uint64_t key, uint32_t mask) {
    return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static uint32_t pow2_at_least(uint64_t n) {
    uint32_t c = 16;
    while (c < n && c < (1u << 30)) c <<= 1;
    return c;
}

static const uint8_t *piece_of(const struct tok *t, int32_t id, size_t *len) {
    *len = t->piece_off[id + 1] - t->piece_off[id];
    return t->blob + t->piece_off[id];
}

/* id of the hashed token with raw bytes s[0..n), or -1. */
static int32_t vocab_get(const struct tok *t, const uint8_t *s, size_t n) {
    uint32_t h = (uint32_t)hash_bytes(s, n) & t->vhash_mask;
    for (;;) {
        int32_t id = t->vhash[h];
        if (id < 0) return -1;
        size_t l;
        const uint8_t *p = piece_of(t, id, &l);
        if (l == n && memcmp(p, s, n) == 0) return id;
        h = (h + 1) & t->vhash_mask;
    }
}

/* Inserts id (its piece is the key); a later id with the same bytes replaces
 * the earlier one, as a map assignment in llama.cpp would. */
static void vocab_put(struct tok *t, int32_t id) {
    size_t n;
    const uint8_t *s = piece_of(t, id, &n);
    uint32_t h = (uint32_t)hash_bytes(s, n) & t->vhash_mask;
    for (;;) {
        int32_t cur = t->vhash[h];
        if (cur < 0) {
            t->vhash[h] = id;
            return;
        }
        size_t l;
        const uint8_t *p = piece_of(t, cur, &l);
        if (l == n && memcmp(p, s, n) == 0) {
            t->vhash[h] = id;
            return;
        }
        h = (h + 1) & t->vhash_mask;
    }
}

static inline int merge_get(const struct tok *t, int32_t a, int32_t b, int32_t *rank, int32_t *id) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    uint32_t h = hash_pair(key, t->merges_mask);
    for (;;) {
        const struct merge_slot *m = &t->merges[h];
        if (m->key == key) {
            *rank = m->rank;
            *id = m->id;
            return 1;
        }
        if (m->key == UINT64_MAX) return 0;
        h = (h + 1) & t->merges_mask;
    }
}

/* Later duplicates overwrite (HF collects the merges into a HashMap). */
static void merge_put(struct tok *t, int32_t a, int32_t b, int32_t rank, int32_t id) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    uint32_t h = hash_pair(key, t->merges_mask);
    while (t->merges[h].key != UINT64_MAX && t->merges[h].key != key) h = (h + 1) & t->merges_mask;
    t->merges[h].key = key;
    t->merges[h].rank = rank;
    t->merges[h].id = id;
}

/* ---------------------------------------------------------------------------
 * Added-token trie
 * ------------------------------------------------------------------------- */

static const struct tok *g_sort_tok; /* only read inside qsort during loading */

static int cmp_added(const void *pa, const void *pb) {
    const struct added *a = &g_sort_tok->added[*(const int32_t *)pa];
    const struct added *b = &g_sort_tok->added[*(const int32_t *)pb];
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(g_sort_tok->blob + a->off, g_sort_tok->blob + b->off, n);
    if (c) return c;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    return *(const int32_t *)pa - *(const int32_t *)pb;
}

/* Builds the subtree for sorted token indices idx[lo..hi) that share their
 * first `depth` bytes; returns the node index.  Depth <= TOK_MAX_ADDED_LEN. */
static uint32_t trie_build_node(struct tok *t, struct trie *tr, const int32_t *idx, uint32_t lo,
                                uint32_t hi, uint32_t depth) {
    uint32_t node = tr->n_nodes++;
    tr->term[node] = -1;
    /* Sorted order puts the token that ends here (if any) first. */
    if (lo < hi && t->added[idx[lo]].len == depth) tr->term[node] = idx[lo++];
    while (lo < hi && t->added[idx[lo]].len == depth) lo++; /* duplicate contents: first wins */
    uint32_t groups = 0;
    for (uint32_t i = lo; i < hi;) {
        uint8_t b = t->blob[t->added[idx[i]].off + depth];
        while (i < hi && t->blob[t->added[idx[i]].off + depth] == b) i++;
        groups++;
    }
    tr->edge_lo[node] = tr->n_edges;
    tr->edge_n[node] = (uint16_t)groups;
    uint32_t e = tr->n_edges;
    tr->n_edges += groups;
    for (uint32_t i = lo; i < hi; e++) {
        uint8_t b = t->blob[t->added[idx[i]].off + depth];
        uint32_t j = i;
        while (j < hi && t->blob[t->added[idx[j]].off + depth] == b) j++;
        tr->edge_byte[e] = b;
        tr->edge_child[e] = trie_build_node(t, tr, idx, i, j, depth + 1);
        i = j;
    }
    return node;
}

/* Trie over the added tokens whose `normalized` flag equals want_norm. */
static int trie_build(struct tok *t, struct trie *tr, int want_norm) {
    size_t total = 1, n = 0;
    int32_t *idx = malloc(sizeof *idx * (size_t)(t->n_added + 1));
    if (!idx) return DC_ENOMEM;
    for (int32_t i = 0; i < t->n_added; i++) {
        if (t->added[i].normalized != want_norm || t->added[i].len == 0) continue;
        idx[n++] = i;
        total += t->added[i].len;
    }
    tr->edge_lo = malloc(sizeof *tr->edge_lo * total);
    tr->edge_n = malloc(sizeof *tr->edge_n * total);
    tr->term = malloc(sizeof *tr->term * total);
    tr->edge_byte = malloc(total);
    tr->edge_child = malloc(sizeof *tr->edge_child * total);
    if (!tr->edge_lo || !tr->edge_n || !tr->term || !tr->edge_byte || !tr->edge_child) {
        free(idx);
        return DC_ENOMEM;
    }
    g_sort_tok = t;
    qsort(idx, n, sizeof *idx, cmp_added);
    g_sort_tok = NULL;
    tr->n_nodes = tr->n_edges = 0;
    trie_build_node(t, tr, idx, 0, (uint32_t)n, 0);
    memset(tr->first, 0, sizeof tr->first);
    for (size_t i = 0; i < n; i++) tr->first[t->blob[t->added[idx[i]].off]] = 1;
    free(idx);
    return DC_OK;
}

static void trie_free(struct trie *tr) {
    free(tr->edge_lo);
    free(tr->edge_n);
    free(tr->term);
    free(tr->edge_byte);
    free(tr->edge_child);
    memset(tr, 0, sizeof *tr);
}

/* Longest added token that is a prefix of s[0..n): its index, or -1. */
static int32_t trie_match(const struct trie *tr, const uint8_t *s, size_t n, size_t *mlen) {
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
 * Regexes
 * ------------------------------------------------------------------------- */

/* Oniguruma's \s is the Unicode White_Space property; PCRE2's (with UCP) is
 * general category Z plus HT..CR, which misses U+0085.  Ruby-syntax \h is a
 * hex digit (PCRE2: horizontal space).  Everything else used by the known
 * tokenizer.json files (\p{L}, \p{N}, (?i:), lookahead, {m,n}) means the same
 * in both engines.  \S inside a class is left to PCRE2 (no file uses it). */
#define WS_SET "\\t-\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
static char *re_rewrite(const char *p, size_t n) {
    size_t cap = n * 4 + sizeof(WS_SET) * 8 + 16, o = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    int in_class = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        const char *rep = NULL;
        if (c == '\\' && i + 1 < n) {
            char d = p[i + 1];
            if (d == 's') rep = in_class ? WS_SET : "[" WS_SET "]";
            else if (d == 'S' && !in_class) rep = "[^" WS_SET "]";
            else if (d == 'h') rep = in_class ? "0-9a-fA-F" : "[0-9a-fA-F]";
            else if (d == 'H' && !in_class) rep = "[^0-9a-fA-F]";
            if (!rep) { /* copy the escape pair unchanged */
                out[o++] = c;
                out[o++] = d;
                i++;
                continue;
            }
            i++;
        } else if (c == '[' && !in_class) {
            in_class = 1;
            out[o++] = c;
            if (i + 1 < n && p[i + 1] == '^') out[o++] = p[++i];
            if (i + 1 < n && p[i + 1] == ']') out[o++] = p[++i]; /* leading ] is literal */
            continue;
        } else if (c == ']' && in_class) {
            in_class = 0;
        }
        if (rep) {
            size_t l = strlen(rep);
            if (o + l + 8 > cap) { /* very many \s: grow */
                cap = (cap + l) * 2;
                char *g = realloc(out, cap);
                if (!g) {
                    free(out);
                    return NULL;
                }
                out = g;
            }
            memcpy(out + o, rep, l);
            o += l;
        } else {
            if (o + 8 > cap) {
                cap *= 2;
                char *g = realloc(out, cap);
                if (!g) {
                    free(out);
                    return NULL;
                }
                out = g;
            }
            out[o++] = c;
        }
    }
    out[o] = 0;
    return out;
}

/* Compiles an Oniguruma-style pattern (literal = 1: plain string). */
static int re_compile(struct tok_re *r, const char *pat, size_t n, int literal, char *err) {
    char *rw = NULL;
    uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE; /* Ruby: ^ $ match at line ends */
    if (literal) {
        opts |= PCRE2_LITERAL;
        opts &= ~(uint32_t)PCRE2_MULTILINE;
    } else {
        rw = re_rewrite(pat, n);
        if (!rw) return dc_errf(err, DC_ENOMEM, "tokenizer: out of memory");
        pat = rw;
        n = strlen(rw);
    }
    int ec;
    PCRE2_SIZE eo;
    r->code = pcre2_compile((PCRE2_SPTR)pat, n, opts, &ec, &eo, NULL);
    free(rw);
    if (!r->code) {
        PCRE2_UCHAR msg[120];
        pcre2_get_error_message(ec, msg, sizeof msg);
        return dc_errf(err, DC_EUNSUPPORTED, "tokenizer: regex does not compile at %zu: %s",
                       (size_t)eo, (const char *)msg);
    }
    r->jit = pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE) == 0;
    return DC_OK;
}

static int pre_add_split(struct tok *t, const char *pat, size_t n, int literal, int behavior,
                         int invert, char *err) {
    if (t->n_pre >= TOK_MAX_PRE) return dc_errf(err, DC_EUNSUPPORTED, "tokenizer: too many pre-tokenizer steps");
    struct pre_step *s = &t->pre[t->n_pre];
    memset(s, 0, sizeof *s);
    s->kind = PRE_SPLIT;
    s->behavior = behavior;
    s->invert = invert;
    int rc = re_compile(&s->re, pat, n, literal, err);
    if (rc == DC_OK) t->n_pre++;
    return rc;
}

static int pre_add_bytelevel(struct tok *t, int add_prefix_space, int use_regex, char *err) {
    if (t->n_pre >= TOK_MAX_PRE) return dc_errf(err, DC_EUNSUPPORTED, "tokenizer: too many pre-tokenizer steps");
    struct pre_step *s = &t->pre[t->n_pre];
    memset(s, 0, sizeof *s);
    s->kind = PRE_BYTELEVEL;
    s->add_prefix_space = add_prefix_space;
    if (use_regex) {
        int rc = re_compile(&s->re, RE_GPT2, strlen(RE_GPT2), 0, err);
        if (rc) return rc;
    }
    t->n_pre++;
    return DC_OK;
}

/* HF Digits: each \p{N} char alone (individual) or runs of them. */
static int pre_add_digits(struct tok *t, int individual, char *err) {
    const char *p = individual ? "\\p{N}" : "\\p{N}+";
    return pre_add_split(t, p, strlen(p), 0, BEH_ISOLATED, 0, err);
}

/* Pipelines for GGUF tokenizer.ggml.pre values (docs/TOKENIZER.md table). */
static int pre_from_gguf_name(struct tok *t, const char *pre, char *err) {
    int rc = DC_OK;
#define SPLIT(p) (rc = rc ? rc : pre_add_split(t, p, strlen(p), 0, BEH_ISOLATED, 0, err))
    if (!strcmp(pre, "deepseek-v3")) {
        SPLIT(RE_DSV3_DIGITS);
        SPLIT(RE_DSV3_CJK);
        SPLIT(RE_DSV3_MAIN);
    } else if (!strcmp(pre, "qwen2") || !strcmp(pre, "deepseek-r1-qwen")) {
        t->normalizer = NORM_NFC; /* tokenizer.json of Qwen2/R1-Distill-Qwen has NFC */
        SPLIT(RE_QWEN2);
    } else if (!strcmp(pre, "llama-bpe") || !strcmp(pre, "llama3") || !strcmp(pre, "llama-v3") ||
               !strcmp(pre, "smaug-bpe") || !strcmp(pre, "dbrx")) {
        t->ignore_merges = 1;
        SPLIT(RE_LLAMA3);
    } else if (!strcmp(pre, "smollm") || !strcmp(pre, "starcoder")) {
        rc = pre_add_digits(t, 1, err);
        return rc ? rc : pre_add_bytelevel(t, 0, 1, err);
    } else if (!strcmp(pre, "deepseek-llm")) {
        SPLIT("[\r\n]");
        SPLIT(RE_DSLLM_LATIN);
        SPLIT(RE_DSLLM_PUNCT);
        SPLIT("\\s+$");
        SPLIT(RE_DSLLM_CJK);
        SPLIT("\\p{N}+");
    } else if (!strcmp(pre, "deepseek-coder")) {
        SPLIT("[\r\n]");
        SPLIT("\\s?\\p{L}+");
        SPLIT("\\s?\\p{P}+");
        SPLIT(RE_DSLLM_CJK);
        SPLIT("\\p{N}");
    } else if (!strcmp(pre, "gpt-2") || !strcmp(pre, "gpt2") || !strcmp(pre, "default")) {
        return pre_add_bytelevel(t, 0, 1, err);
    } else {
        return dc_errf(err, DC_EUNSUPPORTED, "tokenizer: unknown tokenizer.ggml.pre '%s'", pre);
    }
#undef SPLIT
    return rc ? rc : pre_add_bytelevel(t, 0, 0, err);
}

/* ---------------------------------------------------------------------------
 * Loading: common builder
 * ------------------------------------------------------------------------- */

/* One vocabulary entry as the loaders see it (strings borrowed from the
 * parsed JSON / GGUF metadata for the duration of the load). */
struct tb_tok {
    const char *s;    /* stored form: byte-mapped for vocab tokens, content for added ones */
    uint32_t len;
    uint8_t type;     /* enum tok_type */
    uint8_t in_model; /* part of the BPE vocabulary (merge results, ignore_merges lookups) */
};

static int tok_alloc(struct tok **out, char *err) {
    struct tok *t = calloc(1, sizeof *t);
    if (!t) return dc_errf(err, DC_ENOMEM, "tokenizer: out of memory");
    bytemap_init(t);
    t->bos = t->eos = t->pad = t->unk = -1;
    for (int b = 0; b < 256; b++) t->byte_tok[b] = -1;
    *out = t;
    return DC_OK;
}

static int is_added_type(int type) {
    return type == TOK_TYPE_CONTROL || type == TOK_TYPE_USER_DEFINED || type == TOK_TYPE_UNKNOWN;
}

/* Fills type, pieces, the raw-bytes hash and the one-byte tokens from v[0..n). */
static int build_vocab(struct tok *t, const struct tb_tok *v, int32_t n, char *err) {
    uint64_t total = 0;
    for (int32_t i = 0; i < n; i++) total += v[i].len;
    if (total > UINT32_MAX - 16) return dc_errf(err, DC_EFORMAT, "tokenizer: vocabulary strings too large");
    t->n_vocab = n;
    t->type = malloc((size_t)n);
    t->piece_off = malloc(sizeof *t->piece_off * ((size_t)n + 1));
    t->blob = malloc((size_t)total + 1);
    t->vhash_mask = pow2_at_least((uint64_t)n * 2) - 1;
    t->vhash = malloc(sizeof *t->vhash * ((size_t)t->vhash_mask + 1));
    uint8_t *hashed = calloc((size_t)n, 1);
    if (!t->type || !t->piece_off || !t->blob || !t->vhash || !hashed) {
        free(hashed);
        return dc_errf(err, DC_ENOMEM, "tokenizer: out of memory for %d tokens", (int)n);
    }
    memset(t->vhash, 0xff, sizeof *t->vhash * ((size_t)t->vhash_mask + 1));
    uint32_t o = 0;
    for (int32_t i = 0; i < n; i++) {
        const uint8_t *s = (const uint8_t *)v[i].s;
        t->type[i] = v[i].type;
        t->piece_off[i] = o;
        if (!s || v[i].type == TOK_TYPE_UNUSED || v[i].type == TOK_TYPE_UNDEFINED) continue;
        long raw = unmap_bytes(t, s, v[i].len, t->blob + o);
        if (is_added_type(v[i].type)) {
            /* Added tokens decode to their content; they join the BPE
             * vocabulary only when the byte-mapped reading is the same text. */
            int same = raw == (long)v[i].len && memcmp(t->blob + o, s, v[i].len) == 0;
            memcpy(t->blob + o, s, v[i].len);
            o += v[i].len;
            hashed[i] = v[i].in_model && same;
        } else if (raw >= 0) {
            o += (uint32_t)raw;
            hashed[i] = v[i].in_model;
        } else { /* not byte-level text (e.g. a special string in the vocab) */
            memcpy(t->blob + o, s, v[i].len);
            o += v[i].len;
        }
    }
    t->piece_off[n] = o;
    for (int32_t i = 0; i < n; i++) {
        size_t l = t->piece_off[i + 1] - t->piece_off[i];
        if (l > t->max_piece) t->max_piece = l;
        if (hashed[i]) vocab_put(t, i);
    }
    free(hashed);
    for (int b = 0; b < 256; b++) {
        uint8_t c = (uint8_t)b;
        t->byte_tok[b] = vocab_get(t, &c, 1);
    }
    return DC_OK;
}

static int merges_alloc(struct tok *t, uint64_t n, char *err) {
    if (n > (uint64_t)TOK_MAX_VOCAB * 4) return dc_errf(err, DC_EFORMAT, "tokenizer: %llu merges is too many", (unsigned long long)n);
    t->merges_mask = pow2_at_least(n * 2 + 1) - 1;
    t->merges = malloc(sizeof *t->merges * ((size_t)t->merges_mask + 1));
    if (!t->merges) return dc_errf(err, DC_ENOMEM, "tokenizer: out of memory for merges");
    for (uint32_t i = 0; i <= t->merges_mask; i++) t->merges[i].key = UINT64_MAX;
    return DC_OK;
}

/* Registers merge `rank`: byte-mapped strings a and b.  `strict` (HF) makes a
 * part or result missing from the vocabulary an error, as in HF's
 * BpeBuilder; GGUF files are looked up leniently like llama.cpp does.  A part
 * that is not byte-level text can never occur in a byte-level word and is
 * skipped.  scratch holds >= al + bl bytes. */
static int add_merge(struct tok *t, const char *a, size_t al, const char *b, size_t bl, int32_t rank,
                     int strict, uint8_t *scratch, char *err) {
    long ra = unmap_bytes(t, (const uint8_t *)a, al, scratch);
    if (ra < 0) return DC_OK;
    long rb = unmap_bytes(t, (const uint8_t *)b, bl, scratch + ra);
    if (rb < 0) return DC_OK;
    int32_t ia = vocab_get(t, scratch, (size_t)ra);
    int32_t ib = vocab_get(t, scratch + ra, (size_t)rb);
    int32_t in = vocab_get(t, scratch, (size_t)(ra + rb));
    if (ia < 0 || ib < 0 || in < 0) {
        if (!strict) return DC_OK;
        return dc_errf(err, DC_EFORMAT, "tokenizer: merge %d ('%.*s' '%.*s') uses a token missing from the vocabulary",
                       (int)rank, (int)(al > 40 ? 40 : al), a, (int)(bl > 40 ? 40 : bl), b);
    }
    merge_put(t, ia, ib, rank, in);
    t->n_merges++;
    return DC_OK;
}

/* Splits a merge line "left right" at the first space after position 0. */
static int split_merge_line(const char *s, size_t n, size_t *sp) {
    for (size_t i = 1; i < n; i++) {
        if (s[i] == ' ') {
            *sp = i;
            return 1;
        }
    }
    return 0;
}

static int finish_added(struct tok *t, char *err) {
    for (int32_t i = 0; i < t->n_added; i++) {
        struct added *a = &t->added[i];
        a->off = t->piece_off[a->id];
        a->len = t->piece_off[a->id + 1] - t->piece_off[a->id];
        if (a->len > TOK_MAX_ADDED_LEN)
            return dc_errf(err, DC_EFORMAT, "tokenizer: added token %d is %u bytes long (limit %d)",
                           (int)a->id, a->len, TOK_MAX_ADDED_LEN);
    }
    int rc = trie_build(t, &t->trie_raw, 0);
    if (rc == DC_OK) rc = trie_build(t, &t->trie_norm, 1);
    if (rc) return dc_errf(err, rc, "tokenizer: out of memory for added tokens");
    return DC_OK;
}

void tok_free(struct tok *t) {
    if (!t) return;
    for (int i = 0; i < t->n_pre; i++) pcre2_code_free(t->pre[i].re.code);
    trie_free(&t->trie_raw);
    trie_free(&t->trie_norm);
    free(t->added);
    free(t->merges);
    free(t->vhash);
    free(t->blob);
    free(t->piece_off);
    free(t->type);
    free(t);
}

/* ---------------------------------------------------------------------------
 * Loading: Hugging Face tokenizer.json
 * ------------------------------------------------------------------------- */

/* Member k of o, or NULL if absent or JSON null. */
static json_object *jget(json_object *o, const char *k) {
    json_object *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, k, &v)) return NULL;
    return json_object_is_type(v, json_type_null) ? NULL : v;
}

static const char *jstr(json_object *o, const char *k) {
    json_object *v = jget(o, k);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int jbool(json_object *o, const char *k, int dflt) {
    json_object *v = jget(o, k);
    return v && json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : dflt;
}

static int hf_normalizer(struct tok *t, json_object *n, char *err) {
    if (!n) return DC_OK;
    const char *type = jstr(n, "type");
    if (!type) return dc_errf(err, DC_EFORMAT, "tokenizer.json: normalizer without type");
    int want = -1;
    if (!strcmp(type, "Sequence")) {
        json_object *list = jget(n, "normalizers");
        size_t k = list && json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
        for (size_t i = 0; i < k; i++) {
            int rc = hf_normalizer(t, json_object_array_get_idx(list, i), err);
            if (rc) return rc;
        }
        return DC_OK;
    }
    if (!strcmp(type, "NFC")) want = NORM_NFC;
    else if (!strcmp(type, "NFD")) want = NORM_NFD;
    else if (!strcmp(type, "NFKC")) want = NORM_NFKC;
    else if (!strcmp(type, "NFKD")) want = NORM_NFKD;
    if (want < 0 || (t->normalizer != NORM_NONE && t->normalizer != want))
        return dc_errf(err, DC_EUNSUPPORTED, "tokenizer.json: normalizer '%s' is not supported", type);
    t->normalizer = want;
    return DC_OK;
}

static int hf_behavior(const char *b) {
    if (!b || !strcmp(b, "Isolated")) return BEH_ISOLATED;
    if (!strcmp(b, "Removed")) return BEH_REMOVED;
    if (!strcmp(b, "MergedWithPrevious")) return BEH_MERGED_PREV;
    if (!strcmp(b, "MergedWithNext")) return BEH_MERGED_NEXT;
    if (!strcmp(b, "Contiguous")) return BEH_CONTIGUOUS;
    return -1;
}

static int hf_pre(struct tok *t, json_object *p, char *err) {
    const char *type = jstr(p, "type");
    if (!type) return dc_errf(err, DC_EFORMAT, "tokenizer.json: pre_tokenizer without type");
    if (t->n_pre > 0 && t->pre[t->n_pre - 1].kind == PRE_BYTELEVEL)
        return dc_errf(err, DC_EUNSUPPORTED, "tokenizer.json: a pre-tokenizer step after ByteLevel is not supported");
    if (!strcmp(type, "Sequence")) {
        json_object *list = jget(p, "pretokenizers");
        size_t k = list && json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
        for (size_t i = 0; i < k; i++) {
            int rc = hf_pre(t, json_object_array_get_idx(list, i), err);
            if (rc) return rc;
        }
        return DC_OK;
    }
    if (!strcmp(type, "Split")) {
        json_object *pat = jget(p, "pattern");
        json_object *re = jget(pat, "Regex"), *lit = jget(pat, "String");
        json_object *ps = re ? re : lit;
        int beh = hf_behavior(jstr(p, "behavior"));
        if (!ps || !json_object_is_type(ps, json_type_string) || beh < 0)
            return dc_errf(err, DC_EFORMAT, "tokenizer.json: bad Split pre-tokenizer");
        return pre_add_split(t, json_object_get_string(ps), (size_t)json_object_get_string_len(ps), re == NULL,
                             beh, jbool(p, "invert", 0), err);
    }
    if (!strcmp(type, "ByteLevel")) /* HF defaults: add_prefix_space true, use_regex true */
        return pre_add_bytelevel(t, jbool(p, "add_prefix_space", 1), jbool(p, "use_regex", 1), err);
    if (!strcmp(type, "Digits")) return pre_add_digits(t, jbool(p, "individual_digits", 0), err);
    return dc_errf(err, DC_EUNSUPPORTED, "tokenizer.json: pre-tokenizer '%s' is not supported", type);
}

/* bos added by a TemplateProcessing post-processor (Llama-3.1 style): the
 * content of its leading SpecialToken, or NULL. */
static const char *hf_template_bos(json_object *pp) {
    const char *type = jstr(pp, "type");
    if (!type) return NULL;
    if (!strcmp(type, "Sequence")) {
        json_object *list = jget(pp, "processors");
        size_t k = list && json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
        for (size_t i = 0; i < k; i++) {
            const char *b = hf_template_bos(json_object_array_get_idx(list, i));
            if (b) return b;
        }
        return NULL;
    }
    if (strcmp(type, "TemplateProcessing")) return NULL;
    json_object *single = jget(pp, "single");
    if (!single || !json_object_is_type(single, json_type_array) || json_object_array_length(single) < 2) return NULL;
    return jstr(jget(json_object_array_get_idx(single, 0), "SpecialToken"), "id");
}

/* A tokenizer_config.json token entry: "text" or {"content": "text"}. */
static const char *hf_cfg_token(json_object *cfg, const char *k) {
    json_object *v = jget(cfg, k);
    if (!v) return NULL;
    if (json_object_is_type(v, json_type_string)) return json_object_get_string(v);
    return jstr(v, "content");
}

static json_object *json_parse_text(const char *text, size_t len, const char *what, char *err) {
    struct json_tokener *tk = json_tokener_new_ex(64);
    if (!tk) return NULL;
    if (len > INT_MAX) {
        json_tokener_free(tk);
        dc_errf(err, DC_ERANGE, "%s: too large", what);
        return NULL;
    }
    json_object *root = json_tokener_parse_ex(tk, text, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tk);
    if (!root || je != json_tokener_success) {
        dc_errf(err, DC_EFORMAT, "%s: invalid JSON (%s)", what, json_tokener_error_desc(je));
        json_object_put(root);
        root = NULL;
    }
    json_tokener_free(tk);
    return root;
}

static int hf_vocab(struct tok *t, json_object *model, json_object *added, char *err) {
    json_object *vocab = jget(model, "vocab");
    if (!vocab || !json_object_is_type(vocab, json_type_object))
        return dc_errf(err, DC_EFORMAT, "tokenizer.json: model.vocab missing");
    int64_t max_id = -1;
    json_object_object_foreach(vocab, key0, val0) {
        (void)key0;
        int64_t id = json_object_get_int64(val0);
        if (!json_object_is_type(val0, json_type_int) || id < 0 || id >= TOK_MAX_VOCAB)
            return dc_errf(err, DC_EFORMAT, "tokenizer.json: bad id for vocab entry");
        if (id > max_id) max_id = id;
    }
    size_t n_added = added && json_object_is_type(added, json_type_array) ? json_object_array_length(added) : 0;
    for (size_t i = 0; i < n_added; i++) {
        json_object *a = json_object_array_get_idx(added, i), *idv = jget(a, "id");
        int64_t id = idv ? json_object_get_int64(idv) : -1;
        if (!idv || !json_object_is_type(idv, json_type_int) || id < 0 || id >= TOK_MAX_VOCAB || !jstr(a, "content"))
            return dc_errf(err, DC_EFORMAT, "tokenizer.json: bad added_tokens entry %zu", i);
        if (id > max_id) max_id = id;
    }
    if (max_id < 0) return dc_errf(err, DC_EFORMAT, "tokenizer.json: empty vocabulary");
    int32_t n = (int32_t)(max_id + 1);
    struct tb_tok *v = calloc((size_t)n, sizeof *v);
    t->added = calloc(n_added + 1, sizeof *t->added);
    if (!v || !t->added) {
        free(v);
        return dc_errf(err, DC_ENOMEM, "tokenizer: out of memory");
    }
    json_object_object_foreach(vocab, key, val) {
        int32_t id = (int32_t)json_object_get_int64(val);
        v[id].s = key;
        v[id].len = (uint32_t)strlen(key);
        v[id].type = TOK_TYPE_NORMAL;
        v[id].in_model = 1;
    }
    for (size_t i = 0; i < n_added; i++) {
        json_object *a = json_object_array_get_idx(added, i), *c = jget(a, "content");
        int32_t id = (int32_t)json_object_get_int64(jget(a, "id"));
        const char *s = json_object_get_string(c);
        uint32_t len = (uint32_t)json_object_get_string_len(c);
        if (v[id].s && (v[id].len != len || memcmp(v[id].s, s, len))) v[id].in_model = 0;
        v[id].s = s;
        v[id].len = len;
        v[id].type = jbool(a, "special", 0) ? TOK_TYPE_CONTROL : TOK_TYPE_USER_DEFINED;
        struct added *ad = &t->added[t->n_added++];
        ad->id = id;
        ad->special = (uint8_t)jbool(a, "special", 0);
        ad->lstrip = (uint8_t)jbool(a, "lstrip", 0);
        ad->rstrip = (uint8_t)jbool(a, "rstrip", 0);
        ad->single_word = (uint8_t)jbool(a, "single_word", 0);
        ad->normalized = (uint8_t)jbool(a, "normalized", !ad->special);
    }
    int rc = build_vocab(t, v, n, err);
    free(v);
    return rc;
}

static int hf_merges(struct tok *t, json_object *model, char *err) {
    json_object *m = jget(model, "merges");
    size_t n = m && json_object_is_type(m, json_type_array) ? json_object_array_length(m) : 0;
    int rc = merges_alloc(t, n, err);
    if (rc) return rc;
    size_t scap = 256;
    uint8_t *scratch = malloc(scap);
    if (!scratch) return dc_errf(err, DC_ENOMEM, "tokenizer: out of memory");
    for (size_t i = 0; i < n && rc == DC_OK; i++) {
        json_object *e = json_object_array_get_idx(m, i);
        const char *a, *b;
        size_t al, bl;
        if (json_object_is_type(e, json_type_string)) { /* "a b" */
            const char *s = json_object_get_string(e);
            size_t len = (size_t)json_object_get_string_len(e), sp;
            if (!split_merge_line(s, len, &sp)) {
                rc = dc_errf(err, DC_EFORMAT, "tokenizer.json: merge %zu has no space", i);
                break;
            }
            a = s, al = sp, b = s + sp + 1, bl = len - sp - 1;
        } else if (json_object_is_type(e, json_type_array) && json_object_array_length(e) == 2) { /* ["a","b"] */
            json_object *ja = json_object_array_get_idx(e, 0), *jb = json_object_array_get_idx(e, 1);
            if (!json_object_is_type(ja, json_type_string) || !json_object_is_type(jb, json_type_string)) {
                rc = dc_errf(err, DC_EFORMAT, "tokenizer.json: bad merge %zu", i);
                break;
            }
            a = json_object_get_string(ja), al = (size_t)json_object_get_string_len(ja);
            b = json_object_get_string(jb), bl = (size_t)json_object_get_string_len(jb);
        } else {
            rc = dc_errf(err, DC_EFORMAT, "tokenizer.json: bad merge %zu", i);
            break;
        }
        if (al + bl > scap) {
            scap = (al + bl) * 2;
            uint8_t *g = realloc(scratch, scap);
            if (!g) {
                rc = dc_errf(err, DC_ENOMEM, "tokenizer: out of memory");
                break;
            }
            scratch = g;
        }
        rc = add_merge(t, a, al, b, bl, (int32_t)i, 1, scratch, err);
    }
    free(scratch);
    return rc;
}

static int hf_model_options(struct tok *t, json_object *model, char *err) {
    const char *type = jstr(model, "type");
    if (type && strcmp(type, "BPE"))
        return dc_errf(err, DC_EUNSUPPORTED, "tokenizer.json: model type '%s' is not supported (BPE only)", type);
    if (jbool(model, "byte_fallback", 0))
        return dc_errf(err, DC_EUNSUPPORTED, "tokenizer.json: byte_fallback BPE is not supported");
    const char *pfx = jstr(model, "continuing_subword_prefix"), *sfx = jstr(model, "end_of_word_suffix");
    if ((pfx && *pfx) || (sfx && *sfx))
        return dc_errf(err, DC_EUNSUPPORTED, "tokenizer.json: subword prefix/suffix is not supported");
    json_object *drop = jget(model, "dropout");
    if (drop && json_object_get_double(drop) > 0.0)
        return dc_errf(err, DC_EUNSUPPORTED, "tokenizer.json: BPE dropout is not supported");
    t->ignore_merges = jbool(model, "ignore_merges", 0);
    t->fuse_unk = jbool(model, "fuse_unk", 0);
    const char *unk = jstr(model, "unk_token");
    if (unk) t->unk = tok_find(t, unk, strlen(unk));
    return DC_OK;
}

static int hf_config(struct tok *t, json_object *root, json_object *cfg) {
    const char *tbos = hf_template_bos(jget(root, "post_processor"));
    const char *bos = hf_cfg_token(cfg, "bos_token"), *eos = hf_cfg_token(cfg, "eos_token");
    const char *pad = hf_cfg_token(cfg, "pad_token");
    if (!bos) bos = tbos;
    if (bos) t->bos = tok_find(t, bos, strlen(bos));
    if (eos) t->eos = tok_find(t, eos, strlen(eos));
    if (pad) t->pad = tok_find(t, pad, strlen(pad));
    t->add_bos = jbool(cfg, "add_bos_token", tbos != NULL) && t->bos >= 0;
    return DC_OK;
}

static int load_hf_mem(struct tok **out, const char *json, size_t len, const char *cfg_text, size_t cfg_len,
                       char *err) {
    struct tok *t = NULL;
    json_object *root = NULL, *cfg = NULL;
    int rc = tok_alloc(&t, err);
    if (rc) return rc;
    root = json_parse_text(json, len, "tokenizer.json", err);
    if (!root) {
        rc = DC_EFORMAT;
        goto fail;
    }
    if (cfg_text) {
        cfg = json_parse_text(cfg_text, cfg_len, "tokenizer_config.json", err);
        if (!cfg) {
            rc = DC_EFORMAT;
            goto fail;
        }
    }
    json_object *model = jget(root, "model");
    if (!model) {
        rc = dc_errf(err, DC_EFORMAT, "tokenizer.json: no model");
        goto fail;
    }
    if ((rc = hf_vocab(t, model, jget(root, "added_tokens"), err))) goto fail;
    if ((rc = hf_model_options(t, model, err))) goto fail;
    if ((rc = hf_merges(t, model, err))) goto fail;
    if ((rc = hf_normalizer(t, jget(root, "normalizer"), err))) goto fail;
    json_object *pre = jget(root, "pre_tokenizer");
    if (pre && (rc = hf_pre(t, pre, err))) goto fail;
    if (t->n_pre == 0 || t->pre[t->n_pre - 1].kind != PRE_BYTELEVEL) {
        rc = dc_errf(err, DC_EUNSUPPORTED, "tokenizer.json: not a byte-level BPE (no final ByteLevel pre-tokenizer)");
        goto fail;
    }
    if ((rc = finish_added(t, err))) goto fail;
    hf_config(t, root, cfg);
    snprintf(t->pre_name, sizeof t->pre_name, "tokenizer.json");
    json_object_put(root);
    json_object_put(cfg);
    *out = t;
    return DC_OK;
fail:
    json_object_put(root);
    json_object_put(cfg);
    tok_free(t);
    return rc;
}

int tok_load_hf(struct tok **out, const char *tokenizer_json, const char *tokenizer_config_json, char *err) {
    if (!out || !tokenizer_json) return dc_errf(err, DC_EINVAL, "tok_load_hf: NULL argument");
    return load_hf_mem(out, tokenizer_json, strlen(tokenizer_json), tokenizer_config_json,
                       tokenizer_config_json ? strlen(tokenizer_config_json) : 0, err);
}

/* ---------------------------------------------------------------------------
 * Loading: GGUF (tokenizer.ggml.*)
 * ------------------------------------------------------------------------- */

static int gguf_token_id(const struct gguf *g, const char *key, int32_t n, int32_t *out) {
    int64_t v;
    if (gguf_get_int(g, key, &v) == DC_OK && v >= 0 && v < n) *out = (int32_t)v;
    return DC_OK;
}

static int gguf_vocab(struct tok *t, const struct gguf *g, char *err) {
    int et, tt = -1;
    uint64_t n, nt = 0;
    const void *data, *tdata = NULL;
    int rc = gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n, &data);
    if (rc) return dc_errf(err, rc == DC_ENOTFOUND ? DC_ENOTFOUND : DC_EFORMAT, "gguf: tokenizer.ggml.tokens missing");
    if (et != GGUF_STRING || n == 0 || n > TOK_MAX_VOCAB)
        return dc_errf(err, DC_EFORMAT, "gguf: tokenizer.ggml.tokens must be 1..%d strings", TOK_MAX_VOCAB);
    if (gguf_get_arr(g, "tokenizer.ggml.token_type", &tt, &nt, &tdata) == DC_OK &&
        ((tt != GGUF_I32 && tt != GGUF_U32) || nt != n))
        return dc_errf(err, DC_EFORMAT, "gguf: tokenizer.ggml.token_type must be %llu int32", (unsigned long long)n);
    struct tb_tok *v = calloc((size_t)n, sizeof *v);
    t->added = calloc((size_t)n + 1, sizeof *t->added);
    if (!v || !t->added) {
        free(v);
        return dc_errf(err, DC_ENOMEM, "tokenizer: out of memory");
    }
    for (uint64_t i = 0; i < n; i++) {
        const char *s;
        uint64_t len;
        int32_t type = TOK_TYPE_NORMAL;
        if (tdata) memcpy(&type, (const uint8_t *)tdata + 4 * i, 4);
        if (gguf_get_arr_str(g, "tokenizer.ggml.tokens", i, &s, &len) || len > UINT32_MAX / 2 ||
            type < 0 || type > TOK_TYPE_BYTE) {
            free(v);
            return dc_errf(err, DC_EFORMAT, "gguf: bad token %llu", (unsigned long long)i);
        }
        if (type == TOK_TYPE_UNDEFINED) type = TOK_TYPE_NORMAL;
        v[i].s = s;
        v[i].len = (uint32_t)len;
        v[i].type = (uint8_t)type;
        v[i].in_model = type != TOK_TYPE_UNUSED;
        if (is_added_type(type)) {
            struct added *a = &t->added[t->n_added++];
            a->id = (int32_t)i;
            a->special = type != TOK_TYPE_USER_DEFINED;
        }
    }
    rc = build_vocab(t, v, (int32_t)n, err);
    free(v);
    return rc;
}

static int gguf_merges(struct tok *t, const struct gguf *g, char *err) {
    int et;
    uint64_t n = 0;
    const void *data;
    int rc = gguf_get_arr(g, "tokenizer.ggml.merges", &et, &n, &data);
    if (rc || et != GGUF_STRING) return dc_errf(err, DC_EFORMAT, "gguf: tokenizer.ggml.merges missing (required for gpt2)");
    if ((rc = merges_alloc(t, n, err))) return rc;
    size_t scap = 256;
    uint8_t *scratch = malloc(scap);
    if (!scratch) return dc_errf(err, DC_ENOMEM, "tokenizer: out of memory");
    for (uint64_t i = 0; i < n && rc == DC_OK; i++) {
        const char *s;
        uint64_t len;
        size_t sp;
        if (gguf_get_arr_str(g, "tokenizer.ggml.merges", i, &s, &len) || !split_merge_line(s, (size_t)len, &sp)) {
            rc = dc_errf(err, DC_EFORMAT, "gguf: bad merge %llu", (unsigned long long)i);
            break;
        }
        if (len > scap) {
            scap = (size_t)len * 2;
            uint8_t *gr = realloc(scratch, scap);
            if (!gr) {
                rc = dc_errf(err, DC_ENOMEM, "tokenizer: out of memory");
                break;
            }
            scratch = gr;
        }
        rc = add_merge(t, s, sp, s + sp + 1, (size_t)len - sp - 1, (int32_t)i, 0, scratch, err);
    }
    free(scratch);
    return rc;
}

int tok_load_gguf(struct tok **out, const struct gguf *g, char *err) {
    struct tok *t = NULL;
    const char *model = NULL, *pre = "default";
    uint64_t len;
    if (!out || !g) return dc_errf(err, DC_EINVAL, "tok_load_gguf: NULL argument");
    int rc = gguf_get_str(g, "tokenizer.ggml.model", &model, &len);
    if (rc) return dc_errf(err, DC_ENOTFOUND, "gguf: no tokenizer.ggml.model");
    if (strcmp(model, "gpt2"))
        return dc_errf(err, DC_EUNSUPPORTED, "gguf: tokenizer model '%s' is not supported (byte-level BPE 'gpt2' only)", model);
    if ((rc = tok_alloc(&t, err))) return rc;
    if ((rc = gguf_vocab(t, g, err))) goto fail;
    if ((rc = gguf_merges(t, g, err))) goto fail;
    gguf_get_str(g, "tokenizer.ggml.pre", &pre, &len);
    if ((rc = pre_from_gguf_name(t, pre, err))) goto fail;
    if ((rc = finish_added(t, err))) goto fail;
    snprintf(t->pre_name, sizeof t->pre_name, "%s", pre);
    gguf_token_id(g, "tokenizer.ggml.bos_token_id", t->n_vocab, &t->bos);
    gguf_token_id(g, "tokenizer.ggml.eos_token_id", t->n_vocab, &t->eos);
    gguf_token_id(g, "tokenizer.ggml.padding_token_id", t->n_vocab, &t->pad);
    int add_bos = t->ignore_merges; /* llama.cpp: the Llama-3 family adds BOS unless told otherwise */
    gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &add_bos);
    t->add_bos = add_bos && t->bos >= 0;
    *out = t;
    return DC_OK;
fail:
    tok_free(t);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Loading: paths
 * ------------------------------------------------------------------------- */

static int read_text(const char *path, char **text, size_t *len, char *err) {
    struct mapfile m = {0};
    int rc = mapfile_open(&m, path, err);
    if (rc) return rc;
    *text = malloc(m.size + 1);
    if (!*text) {
        mapfile_close(&m);
        return dc_errf(err, DC_ENOMEM, "tokenizer: out of memory reading %s", path);
    }
    if (m.size) memcpy(*text, m.data, m.size);
    (*text)[m.size] = 0;
    *len = m.size;
    mapfile_close(&m);
    return DC_OK;
}

int tok_load_path(struct tok **out, const char *path, char *err) {
    struct stat st;
    char *json = NULL, *cfg = NULL, *jpath = NULL, *cpath = NULL;
    size_t jl = 0, cl = 0, pl;
    int rc;
    if (!out || !path) return dc_errf(err, DC_EINVAL, "tok_load_path: NULL argument");
    if (stat(path, &st) != 0) return dc_errf(err, DC_EIO, "%s: %s", path, strerror(errno));
    pl = strlen(path);
    if (!S_ISDIR(st.st_mode)) {
        FILE *f = fopen(path, "rb");
        char magic[4] = {0};
        if (!f) return dc_errf(err, DC_EIO, "%s: %s", path, strerror(errno));
        size_t got = fread(magic, 1, 4, f);
        fclose(f);
        if (got == 4 && !memcmp(magic, "GGUF", 4)) {
            struct gguf *g = NULL;
            if ((rc = gguf_open(&g, path, err))) return rc;
            rc = tok_load_gguf(out, g, err);
            gguf_free(g);
            return rc;
        }
    }
    jpath = malloc(pl + 32);
    cpath = malloc(pl + 32);
    if (!jpath || !cpath) {
        rc = dc_errf(err, DC_ENOMEM, "tokenizer: out of memory");
        goto done;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(jpath, pl + 32, "%s/tokenizer.json", path);
        snprintf(cpath, pl + 32, "%s/tokenizer_config.json", path);
    } else { /* a tokenizer.json; its config, if any, sits beside it */
        snprintf(jpath, pl + 32, "%s", path);
        const char *slash = strrchr(path, '/');
        size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
        snprintf(cpath, pl + 32, "%.*stokenizer_config.json", (int)dl, path);
    }
    if ((rc = read_text(jpath, &json, &jl, err))) goto done;
    if (access(cpath, R_OK) == 0 && (rc = read_text(cpath, &cfg, &cl, err))) goto done;
    rc = load_hf_mem(out, json, jl, cfg, cl, err);
done:
    free(json);
    free(cfg);
    free(jpath);
    free(cpath);
    return rc;
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
        if (!merge_get(t, sym[i], sym[i + 1], &rank[i], &nid[i])) rank[i] = INT32_MAX;
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
        if (bi > 0 && !merge_get(t, sym[bi - 1], sym[bi], &rank[bi - 1], &nid[bi - 1])) rank[bi - 1] = INT32_MAX;
        if (bi + 1 < n && !merge_get(t, sym[bi], sym[bi + 1], &rank[bi], &nid[bi])) rank[bi] = INT32_MAX;
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
        if (merge_get(t, sym[i], sym[i + 1], &x.rank, &x.id)) heap_push(h, &hn, x);
    }
    while (hn) {
        struct heap_ent top = heap_pop(h, &hn);
        int32_t p = top.pos, q = nxt[p], r, id;
        if (sym[p] < 0 || q < 0) continue;
        if (!merge_get(t, sym[p], sym[q], &r, &id) || id != top.id) continue; /* stale */
        sym[p] = id;
        sym[q] = -1;
        nxt[p] = nxt[q];
        if (nxt[q] >= 0) prv[nxt[q]] = p;
        if (prv[p] >= 0) {
            struct heap_ent x = {0, prv[p], 0};
            if (merge_get(t, sym[prv[p]], sym[p], &x.rank, &x.id)) heap_push(h, &hn, x);
        }
        if (nxt[p] >= 0) {
            struct heap_ent x = {0, p, 0};
            if (merge_get(t, sym[p], sym[nxt[p]], &x.rank, &x.id)) heap_push(h, &hn, x);
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
        int32_t id = vocab_get(t, s, len);
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
    case BEH_ISOLATED:
        for (size_t i = 0; i < n; i++) s[i].m = 0;
        w = n;
        break;
    case BEH_REMOVED:
        w = n;
        break;
    case BEH_CONTIGUOUS: {
        int pm = 0;
        for (size_t i = 0; i < n; i++) {
            int m = s[i].m;
            if (m == pm && w > 0) s[w - 1].hi = s[i].hi;
            else s[w++] = (struct seg){s[i].lo, s[i].hi, 0};
            pm = m;
        }
        break;
    }
    case BEH_MERGED_PREV: {
        int pm = 0;
        for (size_t i = 0; i < n; i++) {
            int m = s[i].m;
            if (m && !pm && w > 0) s[w - 1].hi = s[i].hi;
            else s[w++] = (struct seg){s[i].lo, s[i].hi, 0};
            pm = m;
        }
        break;
    }
    case BEH_MERGED_NEXT: { /* same fold from the right, written back to front */
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
    const struct pre_step *st = &t->pre[k];
    if (st->kind == PRE_SPLIT) return split_step(e, k, &st->re, st->behavior, st->invert, off, len);
    if (st->add_prefix_space && e->buf[off] != ' ') { /* HF ByteLevel: per piece */
        int rc = arena_reserve(e, len + 1);
        if (rc) return rc;
        e->buf[e->len] = ' ';
        memcpy(e->buf + e->len + 1, e->buf + off, len);
        off = e->len;
        len += 1;
        e->len += len;
    }
    if (st->re.code) return split_step(e, k, &st->re, BEH_ISOLATED, 0, off, len);
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
static int split_added(struct enc *e, const struct trie *tr, size_t off, size_t len, stage_fn next) {
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
        const struct added *a = &t->added[k];
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

/* Normalizer, then (special parsing) the normalized added tokens. */
static int stage_norm(struct enc *e, size_t off, size_t len) {
    const struct tok *t = e->t;
    if (t->normalizer != NORM_NONE) {
        size_t i = 0;
        while (i < len && e->buf[off + i] < 0x80) i++;
        if (i < len) { /* ASCII is invariant under every normal form */
            static const int opt[] = {0, UTF8PROC_COMPOSE, UTF8PROC_DECOMPOSE, UTF8PROC_COMPOSE | UTF8PROC_COMPAT,
                                      UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT};
            utf8proc_uint8_t *dst = NULL;
            utf8proc_ssize_t nl = utf8proc_map(e->buf + off, (utf8proc_ssize_t)len, &dst,
                                               (utf8proc_option_t)(UTF8PROC_STABLE | opt[t->normalizer]));
            if (nl < 0) return dc_errf(e->err, DC_EINVAL, "tokenizer: normalization failed: %s", utf8proc_errmsg(nl));
            int rc = arena_reserve(e, (size_t)nl);
            if (rc) {
                free(dst);
                return rc;
            }
            memcpy(e->buf + e->len, dst, (size_t)nl);
            free(dst);
            off = e->len;
            len = (size_t)nl;
            e->len += len;
        }
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
    const uint8_t *p = piece_of(t, id, &l);
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
        const uint8_t *p = piece_of(t, ids[i], &l);
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
    const uint8_t *p = piece_of(t, id, &l);
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
        const uint8_t *p = piece_of(t, t->added[i].id, &l);
        if (l == len && memcmp(p, s, len) == 0) return t->added[i].id;
    }
    return t->vhash ? vocab_get(t, (const uint8_t *)s, len) : -1;
}
