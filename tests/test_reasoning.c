/*
 * test_reasoning.c - the <think> splitter.  Each case is a model output with
 * the reasoning and content the API should return (written by hand from the
 * rules in docs/CHAT.md); the output is fed whole, cut at every byte
 * boundary into two pieces, at every pair of boundaries into three, one byte
 * at a time and in random chunks, and the concatenated spans must always be
 * the same.  Spans must never go back from content to reasoning.  The stop
 * matcher (stop.h), the next stage on the content stream, gets the same
 * treatment against hand-written expected outputs.
 */
#include "err.h"
#include "reasoning.h"
#include "stop.h"
#include "test.h"

struct sink {
    char r[4096], c[4096];
    size_t nr, nc;
    int saw_content, went_back, empty_span;
};

static void on_span(void *user, int kind, const char *text, size_t len) {
    struct sink *s = user;
    if (len == 0) s->empty_span = 1;
    if (kind == RSN_REASONING) {
        if (s->saw_content) s->went_back = 1;
        if (s->nr + len < sizeof s->r) memcpy(s->r + s->nr, text, len), s->nr += len;
    } else {
        s->saw_content = 1;
        if (s->nc + len < sizeof s->c) memcpy(s->c + s->nc, text, len), s->nc += len;
    }
}

struct rcase {
    int start_in_reasoning, keep_ws;
    const char *in, *reasoning, *content;
};

static const struct rcase k_cases[] = {
    /* R1 with the "<think>\n" generation prompt: output starts inside */
    {1, 0, "Okay, let me think.\nStep 1.\n</think>\n\nThe answer is 4.", "Okay, let me think.\nStep 1.",
     "The answer is 4."},
    /* the model opens the block itself */
    {0, 0, "<think>\nHmm.\n</think>\n\nDone.", "Hmm.", "Done."},
    /* never opened: all content, tags inside it are text */
    {0, 0, "Hello there, <think> is literal here.</think>", "", "Hello there, <think> is literal here.</think>"},
    {0, 0, "\n\n<think>x</think>y", "x", "y"},
    /* a distill repeating the forced opener */
    {1, 0, "<think>\nreal reasoning</think>answer", "real reasoning", "answer"},
    {1, 0, "\n<think>\n\n</think>\n\nHi", "", "Hi"},
    /* never closed: a partial tag at the end is text */
    {1, 0, "still thinking <b>bold</b> and </thin", "still thinking <b>bold</b> and </thin", ""},
    /* near-tags, several tags in one stream, content keeps later tags */
    {1, 0, "a<b</c</think</think>x</think>y", "a<b</c</think", "x</think>y"},
    {1, 0, "<<think>>x</think>z", "<<think>>x", "z"},
    /* inner whitespace kept, padding trimmed */
    {1, 0, "line1\n\n  line2   \n</think>   \n answer  \n", "line1\n\n  line2", "answer  \n"},
    /* keep_whitespace: byte-faithful split */
    {1, 1, "Okay.\n</think>\n\nThe answer.", "Okay.\n", "\n\nThe answer."},
    {0, 1, "<think>\nHmm.\n</think>\n\nDone.", "\nHmm.\n", "\n\nDone."},
    {0, 0, "<think>\n\n</think>\n\nHi", "", "Hi"},
    {1, 0, "嗯，让我想想。\n</think>\n\n答案是4。", "嗯，让我想想。", "答案是4。"},
    /* almost-openers at the start are content */
    {0, 0, "<thinking>text", "", "<thinking>text"},
    {0, 0, " <b>", "", " <b>"},
    {0, 0, "  \n", "", "  \n"},
    {0, 0, "", "", ""},
    {1, 0, "</think>\n\n", "", ""},
    {1, 0, "\n\n\n", "", ""},
    {1, 0, "x <", "x <", ""},
};

static void run_pieces(const struct rcase *k, const size_t *cuts, size_t n_cuts, struct sink *s) {
    struct rsn r;
    struct rsn_config cfg = {NULL, NULL, k->start_in_reasoning, k->keep_ws, 0};
    char err[DC_ERR_LEN];
    memset(s, 0, sizeof *s);
    T_CHECK(rsn_init(&r, &cfg, err) == DC_OK, "%s", err);
    size_t n = strlen(k->in), at = 0;
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : n;
        rsn_push(&r, k->in + at, end - at, on_span, s);
        at = end;
    }
    rsn_finish(&r, on_span, s);
}

static int sink_ok(const struct rcase *k, const struct sink *s) {
    return s->nr == strlen(k->reasoning) && memcmp(s->r, k->reasoning, s->nr) == 0 &&
           s->nc == strlen(k->content) && memcmp(s->c, k->content, s->nc) == 0 && !s->went_back &&
           !s->empty_span;
}

static void report(size_t ci, const char *how, const struct sink *s) {
    printf("    case %zu (%s): reasoning \"%.*s\" content \"%.*s\"%s\n", ci, how, (int)s->nr, s->r, (int)s->nc, s->c,
           s->went_back ? " (content then reasoning)" : "");
}

static void test_every_split(void) {
    struct sink s;
    size_t n_runs = 0;
    for (size_t ci = 0; ci < sizeof k_cases / sizeof k_cases[0]; ci++) {
        const struct rcase *k = &k_cases[ci];
        size_t n = strlen(k->in), cuts[4096];
        int bad = 0;
        run_pieces(k, NULL, 0, &s); /* whole */
        if (!sink_ok(k, &s)) bad = 1, report(ci, "whole", &s);
        for (size_t i = 0; i <= n && !bad; i++) { /* two pieces */
            cuts[0] = i;
            run_pieces(k, cuts, 1, &s), n_runs++;
            if (!sink_ok(k, &s)) bad = 1, report(ci, "two pieces", &s), printf("    cut at %zu\n", i);
        }
        for (size_t i = 0; i <= n && !bad; i++) /* three pieces */
            for (size_t j = i; j <= n && !bad; j++) {
                cuts[0] = i, cuts[1] = j;
                run_pieces(k, cuts, 2, &s), n_runs++;
                if (!sink_ok(k, &s)) bad = 1, report(ci, "three pieces", &s), printf("    cuts %zu %zu\n", i, j);
            }
        for (size_t i = 0; i < n; i++) cuts[i] = i + 1; /* one byte at a time */
        run_pieces(k, cuts, n ? n - 1 : 0, &s), n_runs++;
        if (!bad && !sink_ok(k, &s)) bad = 1, report(ci, "per byte", &s);
        unsigned long long rng = 99 + ci; /* random chunks, with empty pieces */
        for (int t = 0; t < 200 && !bad; t++) {
            size_t m = 0, at = 0;
            while (at < n && m < 64) {
                at += t_rand_u32(&rng) % 5;
                if (at > n) at = n;
                cuts[m++] = at;
            }
            run_pieces(k, cuts, m, &s), n_runs++;
            if (!sink_ok(k, &s)) bad = 1, report(ci, "random chunks", &s);
        }
        T_CHECK(!bad, "case %zu: \"%s\"", ci, k->in);
    }
    printf("  %zu cases, %zu piece layouts checked\n", sizeof k_cases / sizeof k_cases[0], n_runs);
}

/* Text that cannot be part of a tag is emitted at once; only the possible
 * tag (and whitespace before it) waits. */
static void test_emits_early(void) {
    struct rsn r;
    struct sink s;
    struct rsn_config cfg = {NULL, NULL, 1, 0, 0};
    char err[DC_ERR_LEN];
    memset(&s, 0, sizeof s);
    rsn_init(&r, &cfg, err);
    rsn_push(&r, "abc", 3, on_span, &s);
    T_CHECK(s.nr == 3 && memcmp(s.r, "abc", 3) == 0, "abc held back (%zu)", s.nr);
    rsn_push(&r, " def </thi", 10, on_span, &s);
    T_CHECK(s.nr == 7 && memcmp(s.r, "abc def", 7) == 0, "got \"%.*s\"", (int)s.nr, s.r);
    rsn_push(&r, "ng", 2, on_span, &s);
    T_CHECK(s.nr == 15 && memcmp(s.r, "abc def </thing", 15) == 0, "got \"%.*s\"", (int)s.nr, s.r);
    T_CHECK(rsn_in_reasoning(&r), "left reasoning");
    rsn_push(&r, "</think>\n\nok", 12, on_span, &s);
    T_CHECK(!rsn_in_reasoning(&r) && s.nc == 2 && memcmp(s.c, "ok", 2) == 0, "content \"%.*s\"", (int)s.nc, s.c);
}

static void test_budget(void) {
    struct rsn r;
    struct sink s;
    struct rsn_config cfg = {NULL, NULL, 1, 0, 3};
    char err[DC_ERR_LEN];
    memset(&s, 0, sizeof s);
    T_CHECK(rsn_init(&r, &cfg, err) == DC_OK, "%s", err);
    const char *toks[] = {"Let", " me", " see"};
    for (int i = 0; i < 3; i++) {
        T_CHECK(!rsn_budget_hit(&r), "hit after %d pieces", i);
        rsn_push(&r, toks[i], strlen(toks[i]), on_span, &s);
    }
    T_CHECK(rsn_budget_hit(&r) && rsn_n_reasoning(&r) == 3, "budget not hit (%lld)", (long long)rsn_n_reasoning(&r));
    /* the caller injects the close tag's tokens and feeds their text */
    rsn_push(&r, "\n</", 3, on_span, &s);
    rsn_push(&r, "think>\n\n", 8, on_span, &s);
    T_CHECK(!rsn_budget_hit(&r) && !rsn_in_reasoning(&r), "still in reasoning");
    rsn_push(&r, "Answer", 6, on_span, &s);
    rsn_finish(&r, on_span, &s);
    T_CHECK(s.nr == 10 && memcmp(s.r, "Let me see", 10) == 0 && s.nc == 6, "r \"%.*s\" c \"%.*s\"", (int)s.nr, s.r,
            (int)s.nc, s.c);
    /* budget 0 = unlimited; start outside the block: no reasoning pieces */
    struct rsn_config c2 = {NULL, NULL, 0, 0, 0};
    rsn_init(&r, &c2, err);
    rsn_push(&r, "Hi", 2, on_span, &s);
    T_CHECK(!rsn_budget_hit(&r) && rsn_n_reasoning(&r) == 0, "budget 0");
}

static void test_config(void) {
    struct rsn r;
    char err[DC_ERR_LEN];
    struct rsn_config empty = {"", NULL, 0, 0, 0}, neg = {NULL, NULL, 0, 0, -1};
    T_CHECK(rsn_init(&r, &empty, err) == DC_EINVAL, "empty tag accepted");
    T_CHECK(rsn_init(&r, &neg, err) == DC_EINVAL, "negative budget accepted");
    T_CHECK(rsn_init(&r, NULL, err) == DC_OK && !rsn_in_reasoning(&r), "NULL config");
    /* other tags, including a self-overlapping close tag: "aab" in "xaaab" */
    struct rsn_config ov = {"[[", "aab", 1, 0, 0};
    struct sink s;
    memset(&s, 0, sizeof s);
    T_CHECK(rsn_init(&r, &ov, err) == DC_OK, "%s", err);
    for (const char *p = "xaaabz"; *p; p++) rsn_push(&r, p, 1, on_span, &s);
    rsn_finish(&r, on_span, &s);
    T_CHECK(s.nr == 2 && memcmp(s.r, "xa", 2) == 0 && s.nc == 1 && s.c[0] == 'z', "overlap: r \"%.*s\" c \"%.*s\"",
            (int)s.nr, s.r, (int)s.nc, s.c);
}


/* ------------------------------------------------------------------------ */
/* Stop strings                                                              */

struct scase {
    const char *stops[3];
    const char *in, *out;
    int hit; /* index of the stop string that must be hit, -1 for none */
};

static const struct scase k_stops[] = {
    {{"\n\nUser:"}, "Hello world\n\nUser: more", "Hello world", 0},
    {{"END", "STOP"}, "abc STO ST STOP xyz END", "abc STO ST ", 1},
    {{"ab", "b"}, "xxab", "xx", 0},
    {{"###"}, "a ## b # c ##", "a ## b # c ##", -1},
    {{"aab"}, "aaab", "a", 0},
    {{"。"}, "你好。世界", "你好", 0},
    {{"Hi"}, "Hi there", "", 0},
    {{"end"}, "the end", "the ", 0},
    {{"<|im_end|>"}, "text <|im_e", "text <|im_e", -1},
    /* "cd" completes before "bcde" would: generation stops there */
    {{"cd", "bcde"}, "abcdef", "ab", 0},
    {{"bcd", "cd"}, "abcdef", "a", 0},
    {{"x"}, "", "", -1},
    {{NULL}, "no stop strings at all", "no stop strings at all", -1},
};

static size_t n_stops(const struct scase *k) {
    size_t n = 0;
    while (n < 3 && k->stops[n]) n++;
    return n;
}

/* Feeds the pieces; returns the emitted text's length in got (and hit). */
static size_t run_stop(const struct scase *k, const size_t *cuts, size_t n_cuts, char *got, int *hit) {
    struct stop s;
    char err[DC_ERR_LEN], out[64 + STOP_MAX_LEN];
    size_t n = strlen(k->in), at = 0, ng = 0, no;
    T_CHECK(stop_init(&s, k->stops, n_stops(k), err) == DC_OK, "%s", err);
    *hit = 0;
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : n;
        int h = stop_push(&s, k->in + at, end - at, out, &no);
        memcpy(got + ng, out, no), ng += no;
        T_CHECK(!(*hit && no), "text emitted after the stop");
        *hit |= h;
        at = end;
    }
    no = stop_flush(&s, out);
    memcpy(got + ng, out, no), ng += no;
    if (*hit) T_CHECK(stop_which(&s) == k->hit, "hit string %d, want %d", stop_which(&s), k->hit);
    return ng;
}

static void test_stop_every_split(void) {
    size_t runs = 0;
    for (size_t ci = 0; ci < sizeof k_stops / sizeof k_stops[0]; ci++) {
        const struct scase *k = &k_stops[ci];
        size_t n = strlen(k->in), cuts[64], want = strlen(k->out);
        char got[256];
        int hit, bad = 0;
        for (size_t i = 0; i <= n && !bad; i++)
            for (size_t j = i; j <= n && !bad; j++) {
                cuts[0] = i, cuts[1] = j;
                size_t ng = run_stop(k, cuts, 2, got, &hit);
                runs++;
                if (ng != want || memcmp(got, k->out, want) != 0 || hit != (k->hit >= 0)) {
                    bad = 1;
                    printf("    case %zu cuts %zu %zu: got \"%.*s\" hit %d\n", ci, i, j, (int)ng, got, hit);
                }
            }
        for (size_t i = 0; i < n; i++) cuts[i] = i + 1;
        size_t ng = run_stop(k, cuts, n ? n - 1 : 0, got, &hit);
        runs++;
        if (!bad && (ng != want || memcmp(got, k->out, want) != 0 || hit != (k->hit >= 0))) {
            bad = 1;
            printf("    case %zu per byte: got \"%.*s\" hit %d\n", ci, (int)ng, got, hit);
        }
        T_CHECK(!bad, "stop case %zu: \"%s\"", ci, k->in);
    }
    printf("  %zu stop cases, %zu piece layouts checked\n", sizeof k_stops / sizeof k_stops[0], runs);
}

/* Only what can still become a stop string is held back. */
static void test_stop_holds_little(void) {
    struct stop s;
    const char *stops[] = {"<|im_end|>", "\n\nQ:"};
    char err[DC_ERR_LEN], out[64 + STOP_MAX_LEN];
    size_t no;
    T_CHECK(stop_init(&s, stops, 2, err) == DC_OK, "%s", err);
    T_CHECK(stop_push(&s, "Hello <|im", 10, out, &no) == 0 && no == 6 && memcmp(out, "Hello ", 6) == 0, "%zu", no);
    T_CHECK(stop_push(&s, "portant", 7, out, &no) == 0 && no == 11 && memcmp(out, "<|important", 11) == 0, "%zu",
            no);
    T_CHECK(stop_push(&s, "\n", 1, out, &no) == 0 && no == 0, "newline released early");
    T_CHECK(stop_push(&s, "\nQ:", 3, out, &no) == 1 && no == 0 && stop_which(&s) == 1, "no stop");
    T_CHECK(stop_push(&s, "more", 4, out, &no) == 1 && no == 0, "text after stop");
    T_CHECK(stop_flush(&s, out) == 0, "flush after stop");
    const char *many[STOP_MAX_STRINGS + 1];
    for (int i = 0; i <= STOP_MAX_STRINGS; i++) many[i] = "x";
    T_CHECK(stop_init(&s, many, STOP_MAX_STRINGS + 1, err) == DC_EINVAL, "17 stop strings accepted");
    const char *empty[] = {""};
    T_CHECK(stop_init(&s, empty, 1, err) == DC_EINVAL, "empty stop string accepted");
}

int main(void) {
    T_BEGIN("test_reasoning");
    T_RUN(test_every_split);
    T_RUN(test_emits_early);
    T_RUN(test_budget);
    T_RUN(test_config);
    T_RUN(test_stop_every_split);
    T_RUN(test_stop_holds_little);
    return T_END();
}
