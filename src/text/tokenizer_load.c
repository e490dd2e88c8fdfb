/*
 * tokenizer_load.c - building a struct tok (tokenizer.h) from a Hugging Face
 * tokenizer.json + tokenizer_config.json or from GGUF tokenizer.ggml.* keys.
 *
 * Both loaders fill the same pieces: per-id type and raw bytes, the raw-bytes
 * vocabulary hash, the merge table (pair -> rank, merged id), the added
 * tokens and their tries, the normalizer and the pre-tokenizer steps.  The
 * regexes of tokenizer.json are Oniguruma (Ruby syntax); they run here with
 * PCRE2 after re_rewrite() adjusts the constructs whose meaning differs.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "err.h"
#include "gguf.h"
#include "mapfile.h"
#include "tokenizer_int.h"
#include "utf8.h"

/* ---------------------------------------------------------------------------
 * Pre-tokenizer patterns for GGUF files (the tokenizer.json strings, as facts)
 * ------------------------------------------------------------------------- */

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

/* ---------------------------------------------------------------------------
 * Byte map and tables
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

static uint32_t pow2_at_least(uint64_t n) {
    uint32_t c = 16;
    while (c < n && c < (1u << 30)) c <<= 1;
    return c;
}

/* Inserts id (its piece is the key); a later id with the same bytes replaces
 * the earlier one, as a map assignment in llama.cpp would. */
static void vocab_put(struct tok *t, int32_t id) {
    size_t n;
    const uint8_t *s = tok_piece_of(t, id, &n);
    uint32_t h = (uint32_t)tok_hash_bytes(s, n) & t->vhash_mask;
    for (;;) {
        int32_t cur = t->vhash[h];
        if (cur < 0) {
            t->vhash[h] = id;
            return;
        }
        size_t l;
        const uint8_t *p = tok_piece_of(t, cur, &l);
        if (l == n && memcmp(p, s, n) == 0) {
            t->vhash[h] = id;
            return;
        }
        h = (h + 1) & t->vhash_mask;
    }
}

/* Later duplicates overwrite (HF collects the merges into a HashMap). */
static void merge_put(struct tok *t, int32_t a, int32_t b, int32_t rank, int32_t id) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    uint32_t h = tok_hash_pair(key, t->merges_mask);
    while (t->merges[h].key != UINT64_MAX && t->merges[h].key != key) h = (h + 1) & t->merges_mask;
    t->merges[h].key = key;
    t->merges[h].rank = rank;
    t->merges[h].id = id;
}

/* ---------------------------------------------------------------------------
 * Added-token trie
 * ------------------------------------------------------------------------- */

/* An added token's content, for sorting without global state. */
struct trie_key {
    const uint8_t *s;
    uint32_t len;
    int32_t idx; /* into t->added */
};

static int cmp_key(const void *pa, const void *pb) {
    const struct trie_key *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);
    if (c) return c;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    return a->idx - b->idx;
}

/* Builds the subtree for the sorted keys k[lo..hi) that share their first
 * `depth` bytes; returns the node index.  Depth <= TOK_MAX_ADDED_LEN, and
 * nodes/edges never exceed the total key length + 1 allocated by the caller. */
static uint32_t trie_build_node(struct tok_trie *tr, const struct trie_key *k, uint32_t lo, uint32_t hi,
                                uint32_t depth) {
    uint32_t node = tr->n_nodes++;
    tr->term[node] = -1;
    /* Sorted order puts the key that ends here (if any) first. */
    if (lo < hi && k[lo].len == depth) tr->term[node] = k[lo++].idx;
    while (lo < hi && k[lo].len == depth) lo++; /* duplicate contents: the first wins */
    uint32_t groups = 0;
    for (uint32_t i = lo; i < hi;) {
        uint8_t b = k[i].s[depth];
        while (i < hi && k[i].s[depth] == b) i++;
        groups++;
    }
    tr->edge_lo[node] = tr->n_edges;
    tr->edge_n[node] = (uint16_t)groups;
    uint32_t e = tr->n_edges;
    tr->n_edges += groups;
    for (uint32_t i = lo; i < hi; e++) {
        uint8_t b = k[i].s[depth];
        uint32_t j = i;
        while (j < hi && k[j].s[depth] == b) j++;
        tr->edge_byte[e] = b;
        tr->edge_child[e] = trie_build_node(tr, k, i, j, depth + 1);
        i = j;
    }
    return node;
}

/* Trie over the added tokens whose `normalized` flag equals want_norm.  The
 * contents of normalized tokens are normalized first, as HF's
 * AddedVocabulary::refresh_added_tokens does, since they are matched in
 * normalized text. */
static int trie_build(struct tok *t, struct tok_trie *tr, int want_norm) {
    size_t total = 1, n = 0;
    int rc = DC_ENOMEM;
    struct trie_key *k = malloc(sizeof *k * (size_t)(t->n_added + 1));
    uint8_t **owned = calloc((size_t)t->n_added + 1, sizeof *owned);
    if (!k || !owned) goto done;
    for (int32_t i = 0; i < t->n_added; i++) {
        const struct tok_added *a = &t->added[i];
        if (a->normalized != want_norm || a->len == 0) continue;
        const uint8_t *s = t->blob + a->off;
        size_t len = a->len;
        if (want_norm) {
            if ((rc = tok_normalize(t->normalizer, s, len, &owned[i], &len))) goto done;
            if (owned[i]) s = owned[i];
            rc = DC_ENOMEM;
            if (len == 0) continue;
            if (len > 4 * TOK_MAX_ADDED_LEN) {
                rc = DC_EFORMAT;
                goto done;
            }
        }
        k[n++] = (struct trie_key){s, (uint32_t)len, i};
        total += len;
    }
    tr->edge_lo = malloc(sizeof *tr->edge_lo * total);
    tr->edge_n = malloc(sizeof *tr->edge_n * total);
    tr->term = malloc(sizeof *tr->term * total);
    tr->edge_byte = malloc(total);
    tr->edge_child = malloc(sizeof *tr->edge_child * total);
    if (!tr->edge_lo || !tr->edge_n || !tr->term || !tr->edge_byte || !tr->edge_child) goto done;
    qsort(k, n, sizeof *k, cmp_key);
    tr->n_nodes = tr->n_edges = 0;
    trie_build_node(tr, k, 0, (uint32_t)n, 0);
    memset(tr->first, 0, sizeof tr->first);
    for (size_t i = 0; i < n; i++) tr->first[k[i].s[0]] = 1;
    rc = DC_OK;
done:
    if (owned)
        for (int32_t i = 0; i < t->n_added; i++) free(owned[i]);
    free(owned);
    free(k);
    return rc;
}

static void trie_free(struct tok_trie *tr) {
    free(tr->edge_lo);
    free(tr->edge_n);
    free(tr->term);
    free(tr->edge_byte);
    free(tr->edge_child);
    memset(tr, 0, sizeof *tr);
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
    if (literal) { /* LITERAL admits only a few other options */
        opts = PCRE2_UTF | PCRE2_LITERAL;
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
    struct tok_pre *s = &t->pre[t->n_pre];
    memset(s, 0, sizeof *s);
    s->kind = TOK_PRE_SPLIT;
    s->behavior = behavior;
    s->invert = invert;
    int rc = re_compile(&s->re, pat, n, literal, err);
    if (rc == DC_OK) t->n_pre++;
    return rc;
}

static int pre_add_bytelevel(struct tok *t, int add_prefix_space, int use_regex, char *err) {
    if (t->n_pre >= TOK_MAX_PRE) return dc_errf(err, DC_EUNSUPPORTED, "tokenizer: too many pre-tokenizer steps");
    struct tok_pre *s = &t->pre[t->n_pre];
    memset(s, 0, sizeof *s);
    s->kind = TOK_PRE_BYTELEVEL;
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
    return pre_add_split(t, p, strlen(p), 0, TOK_BEH_ISOLATED, 0, err);
}

/* Pipelines for GGUF tokenizer.ggml.pre values (docs/TOKENIZER.md table). */
static int pre_from_gguf_name(struct tok *t, const char *pre, char *err) {
    int rc = DC_OK;
#define SPLIT(p) (rc = rc ? rc : pre_add_split(t, p, strlen(p), 0, TOK_BEH_ISOLATED, 0, err))
    if (!strcmp(pre, "deepseek-v3")) {
        SPLIT(RE_DSV3_DIGITS);
        SPLIT(RE_DSV3_CJK);
        SPLIT(RE_DSV3_MAIN);
    } else if (!strcmp(pre, "qwen2") || !strcmp(pre, "deepseek-r1-qwen")) {
        t->normalizer = TOK_NORM_NFC; /* tokenizer.json of Qwen2/R1-Distill-Qwen has NFC */
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
        t->byte_tok[b] = tok_vocab_get(t, &c, 1);
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
    int32_t ia = tok_vocab_get(t, scratch, (size_t)ra);
    int32_t ib = tok_vocab_get(t, scratch + ra, (size_t)rb);
    int32_t in = tok_vocab_get(t, scratch, (size_t)(ra + rb));
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
        struct tok_added *a = &t->added[i];
        a->off = t->piece_off[a->id];
        a->len = t->piece_off[a->id + 1] - t->piece_off[a->id];
        if (a->len > TOK_MAX_ADDED_LEN)
            return dc_errf(err, DC_EFORMAT, "tokenizer: added token %d is %u bytes long (limit %d)",
                           (int)a->id, a->len, TOK_MAX_ADDED_LEN);
    }
    int rc = trie_build(t, &t->trie_raw, 0);
    if (rc == DC_OK) rc = trie_build(t, &t->trie_norm, 1);
    if (rc) return dc_errf(err, rc, "tokenizer: cannot index the added tokens (%s)", dc_strerror(rc));
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
    if (!strcmp(type, "NFC")) want = TOK_NORM_NFC;
    else if (!strcmp(type, "NFD")) want = TOK_NORM_NFD;
    else if (!strcmp(type, "NFKC")) want = TOK_NORM_NFKC;
    else if (!strcmp(type, "NFKD")) want = TOK_NORM_NFKD;
    if (want < 0 || (t->normalizer != TOK_NORM_NONE && t->normalizer != want))
        return dc_errf(err, DC_EUNSUPPORTED, "tokenizer.json: normalizer '%s' is not supported", type);
    t->normalizer = want;
    return DC_OK;
}

static int hf_behavior(const char *b) {
    if (!b || !strcmp(b, "Isolated")) return TOK_BEH_ISOLATED;
    if (!strcmp(b, "Removed")) return TOK_BEH_REMOVED;
    if (!strcmp(b, "MergedWithPrevious")) return TOK_BEH_MERGED_PREV;
    if (!strcmp(b, "MergedWithNext")) return TOK_BEH_MERGED_NEXT;
    if (!strcmp(b, "Contiguous")) return TOK_BEH_CONTIGUOUS;
    return -1;
}

static int hf_pre(struct tok *t, json_object *p, char *err) {
    const char *type = jstr(p, "type");
    if (!type) return dc_errf(err, DC_EFORMAT, "tokenizer.json: pre_tokenizer without type");
    if (t->n_pre > 0 && t->pre[t->n_pre - 1].kind == TOK_PRE_BYTELEVEL)
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
        struct tok_added *ad = &t->added[t->n_added++];
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
    if (t->n_pre == 0 || t->pre[t->n_pre - 1].kind != TOK_PRE_BYTELEVEL) {
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
            struct tok_added *a = &t->added[t->n_added++];
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
