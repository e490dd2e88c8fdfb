/*
 * chat.c - hand-written renderers for the chat templates in chat.h.
 *
 * Each renderer mirrors one real Jinja template (tests/data/chat/templates/)
 * for messages with roles system/user/assistant; comments quote the Jinja
 * fragment a branch reproduces.  Output goes through a bounded writer that
 * keeps counting past the end of the buffer, so callers learn the full length
 * in one pass (snprintf-style).
 */
#include "chat.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "utf8.h"

/* ------------------------------------------------------------------------ */
/* Family table                                                              */

#define DS_BOS "<｜begin▁of▁sentence｜>"
#define DS_EOS "<｜end▁of▁sentence｜>"
#define DS_USER "<｜User｜>"
#define DS_ASSISTANT "<｜Assistant｜>"

static const struct chat_specials k_specials[CHAT_TMPL_COUNT] = {
    [CHAT_TMPL_CHATML] = {"chatml", "", "<|im_end|>", "<|endoftext|>", NULL, NULL},
    [CHAT_TMPL_DEEPSEEK_V3] = {"deepseek-v3", DS_BOS, DS_EOS, NULL, NULL, NULL},
    [CHAT_TMPL_DEEPSEEK_R1] = {"deepseek-r1", DS_BOS, DS_EOS, NULL, "<think>", "</think>"},
    [CHAT_TMPL_DEEPSEEK_R1_DISTILL] = {"deepseek-r1-distill", DS_BOS, DS_EOS, NULL, "<think>",
                                       "</think>"},
    [CHAT_TMPL_DEEPSEEK_R1_LEGACY] = {"deepseek-r1-legacy", DS_BOS, DS_EOS, NULL, "<think>",
                                      "</think>"},
    [CHAT_TMPL_QWEN2] = {"qwen2", "", "<|im_end|>", "<|endoftext|>", NULL, NULL},
    [CHAT_TMPL_SMOLLM2] = {"smollm2", "", "<|im_end|>", "<|endoftext|>", NULL, NULL},
    [CHAT_TMPL_QWEN3] = {"qwen3", "", "<|im_end|>", "<|endoftext|>", "<think>", "</think>"},
    [CHAT_TMPL_LLAMA3] = {"llama3", "<|begin_of_text|>", "<|eot_id|>", "<|end_of_text|>", NULL,
                          NULL},
};

/* Default system prompts written when the first message is not a system
 * message (Qwen2.5 and SmolLM2-Instruct tokenizer_config / GGUF texts). */
static const char k_qwen2_system[] =
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
static const char k_smollm2_system[] =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

const struct chat_specials *chat_specials(int id) {
    if (id < 0 || id >= CHAT_TMPL_COUNT) return NULL;
    return &k_specials[id];
}

const char *chat_name(int id) {
    const struct chat_specials *s = chat_specials(id);
    return s ? s->name : "?";
}

static int ieq(const char *a, const char *b) {
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
    return *a == *b;
}

int chat_from_name(const char *name) {
    static const struct {
        const char *name;
        int id;
    } k_alias[] = {
        {"deepseek3", CHAT_TMPL_DEEPSEEK_V3},
        {"deepseek-chat", CHAT_TMPL_DEEPSEEK_V3},
        {"r1", CHAT_TMPL_DEEPSEEK_R1},
        {"deepseek-reasoner", CHAT_TMPL_DEEPSEEK_R1},
        {"r1-distill", CHAT_TMPL_DEEPSEEK_R1_DISTILL},
        {"deepseek-r1-distill-qwen", CHAT_TMPL_DEEPSEEK_R1_DISTILL},
        {"deepseek-r1-distill-llama", CHAT_TMPL_DEEPSEEK_R1_DISTILL},
        {"qwen", CHAT_TMPL_QWEN2},
        {"qwen2.5", CHAT_TMPL_QWEN2},
        {"smollm", CHAT_TMPL_SMOLLM2},
        {"llama-3", CHAT_TMPL_LLAMA3},
    };
    if (!name) return CHAT_TMPL_UNKNOWN;
    for (int i = 0; i < CHAT_TMPL_COUNT; i++)
        if (ieq(name, k_specials[i].name)) return i;
    for (size_t i = 0; i < sizeof k_alias / sizeof k_alias[0]; i++)
        if (ieq(name, k_alias[i].name)) return k_alias[i].id;
    return CHAT_TMPL_UNKNOWN;
}

/* ------------------------------------------------------------------------ */
/* Detection                                                                 */

static int has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

/* Case-insensitive substring test for the free-form architecture hint. */
static int ihas(const char *s, const char *sub) {
    size_t n = strlen(sub);
    for (; *s; s++) {
        size_t i = 0;
        while (i < n && s[i] && tolower((unsigned char)s[i]) == tolower((unsigned char)sub[i])) i++;
        if (i == n) return 1;
    }
    return 0;
}

/* The substrings below occur in the real template texts (the stored copies in
 * tests/data/chat/templates/ and the GGUF/tokenizer_config originals) and
 * separate the families; docs/CHAT.md lists them as the detection rule. */
static int detect_text(const char *t) {
    if (has(t, DS_USER) && has(t, DS_ASSISTANT)) {
        /* V3.1+ hybrid templates answer with "<｜Assistant｜></think>": a
         * different format, not rendered here. */
        if (has(t, DS_ASSISTANT "</think>")) return CHAT_TMPL_UNKNOWN;
        if (!has(t, "split('</think>')")) return CHAT_TMPL_DEEPSEEK_V3;
        if (has(t, "is_first_sp")) return CHAT_TMPL_DEEPSEEK_R1; /* joins system prompts */
        if (has(t, DS_ASSISTANT "<think>")) return CHAT_TMPL_DEEPSEEK_R1_DISTILL;
        return CHAT_TMPL_DEEPSEEK_R1_LEGACY;
    }
    if (has(t, "<|im_start|>") && has(t, "<|im_end|>")) {
        if (has(t, "enable_thinking") || has(t, "reasoning_content")) return CHAT_TMPL_QWEN3;
        if (has(t, "You are Qwen, created by Alibaba Cloud")) return CHAT_TMPL_QWEN2;
        if (has(t, "named SmolLM")) return CHAT_TMPL_SMOLLM2;
        return CHAT_TMPL_CHATML;
    }
    if (has(t, "<|start_header_id|>") && has(t, "<|eot_id|>")) {
        /* Llama-3.1+ templates add a dated system header and tool blocks. */
        if (has(t, "Cutting Knowledge Date")) return CHAT_TMPL_UNKNOWN;
        return CHAT_TMPL_LLAMA3;
    }
    return CHAT_TMPL_UNKNOWN;
}

static int detect_hint(const char *h) {
    if (ihas(h, "deepseek")) {
        if (ihas(h, "distill")) return CHAT_TMPL_DEEPSEEK_R1_DISTILL;
        if (ihas(h, "r1")) return CHAT_TMPL_DEEPSEEK_R1;
        return CHAT_TMPL_DEEPSEEK_V3;
    }
    if (ihas(h, "qwen3")) return CHAT_TMPL_QWEN3;
    if (ihas(h, "qwen")) return CHAT_TMPL_QWEN2;
    if (ihas(h, "smollm")) return CHAT_TMPL_SMOLLM2;
    if (ihas(h, "llama")) return CHAT_TMPL_LLAMA3;
    return CHAT_TMPL_UNKNOWN;
}

int chat_detect(const char *jinja, const char *arch_hint) {
    int id = (jinja && *jinja) ? detect_text(jinja) : CHAT_TMPL_UNKNOWN;
    if (id == CHAT_TMPL_UNKNOWN && arch_hint && *arch_hint) id = detect_hint(arch_hint);
    return id;
}

int chat_init(struct chat_template *t, const char *jinja, const char *arch_hint,
              const char *override_name, const char *bos, char *warn, char *err) {
    memset(t, 0, sizeof *t);
    if (warn) warn[0] = 0;
    if (override_name) {
        t->id = chat_from_name(override_name);
        if (t->id == CHAT_TMPL_UNKNOWN)
            return dc_errf(err, DC_EINVAL, "chat: unknown template name '%s'", override_name);
    } else {
        int by_text = (jinja && *jinja) ? detect_text(jinja) : CHAT_TMPL_UNKNOWN;
        t->id = by_text != CHAT_TMPL_UNKNOWN ? by_text : chat_detect(NULL, arch_hint);
        if (by_text == CHAT_TMPL_UNKNOWN) {
            const char *why = (jinja && *jinja) ? "chat template not recognised"
                                                : "model has no chat template";
            if (t->id == CHAT_TMPL_UNKNOWN) {
                t->id = CHAT_TMPL_CHATML;
                if (warn)
                    dc_errf(warn, DC_OK,
                            "%s; falling back to ChatML (<|im_start|>role\\n...<|im_end|>); "
                            "choose one with a template name (deepseek-r1, llama3, ...)",
                            why);
            } else if (warn) {
                dc_errf(warn, DC_OK, "%s; using '%s' from the architecture hint '%s'", why,
                        chat_name(t->id), arch_hint);
            }
        }
    }
    /* The first Llama-3-Instruct template always appends the assistant header. */
    if (t->id == CHAT_TMPL_LLAMA3 && !override_name && jinja && *jinja &&
        !has(jinja, "add_generation_prompt"))
        t->flags |= CHAT_F_GEN_ALWAYS;
    if (!bos) bos = k_specials[t->id].bos;
    size_t n = strlen(bos);
    if (n >= CHAT_BOS_MAX) return dc_errf(err, DC_EINVAL, "chat: bos text of %zu bytes is too long", n);
    memcpy(t->bos, bos, n + 1);
    return DC_OK;
}

/* ------------------------------------------------------------------------ */
/* Output                                                                    */

struct wr {
    char *buf;
    size_t cap; /* bytes usable for text (buffer size - 1 for the NUL) */
    size_t len; /* full length so far, may exceed cap */
};

static void put(struct wr *w, const char *s, size_t n) {
    if (w->len < w->cap) {
        size_t room = w->cap - w->len;
        memcpy(w->buf + w->len, s, n < room ? n : room);
    }
    w->len += n;
}

static void puts_(struct wr *w, const char *s) { put(w, s, strlen(s)); }

static const char *role_name(int role) {
    return role == CHAT_ROLE_SYSTEM ? "system" : role == CHAT_ROLE_USER ? "user" : "assistant";
}

/* ------------------------------------------------------------------------ */
/* String helpers with Python semantics (the templates call str methods)     */

/* Python str.isspace() for one code point: Unicode White_Space plus the
 * information separators U+001C..U+001F (bidi class B/S), which Jinja's trim
 * filter (str.strip()) also removes. */
static int py_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

/* s.strip(): [*b, *e) of s[0..n) without leading/trailing Python whitespace. */
static void py_strip(const char *s, size_t n, size_t *b, size_t *e) {
    size_t i = 0, first = n, last_end = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = utf8_decode((const uint8_t *)s + i, n - i, &cp);
        if (!py_space(cp)) {
            if (first == n) first = i;
            last_end = i + k;
        }
        i += k;
    }
    *b = first == n ? n : first;
    *e = first == n ? n : last_end;
}

/* Strips the byte c (ASCII) from the left / right of [*b, *e). */
static void lstrip_c(const char *s, size_t *b, size_t e, char c) {
    while (*b < e && s[*b] == c) (*b)++;
}
static void rstrip_c(const char *s, size_t b, size_t *e, char c) {
    while (*e > b && s[*e - 1] == c) (*e)--;
}

/* Last occurrence of needle in s[0..n); NULL if none. */
static const char *find_last(const char *s, size_t n, const char *needle) {
    size_t m = strlen(needle);
    const char *last = NULL;
    for (const char *p = s; (size_t)(p - s) + m <= n; p++) {
        p = memmem(p, n - (size_t)(p - s), needle, m);
        if (!p) break;
        last = p;
    }
    return last;
}

/* ------------------------------------------------------------------------ */
/* DeepSeek family                                                           */

/* V3 / R1 / distill / legacy for roles system, user, assistant:
 *   {{bos_token}}{{ns.system_prompt}}  then per message
 *   user:      '<｜User｜>' + content
 *   assistant: '<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'
 *              (R1 family: content.split('</think>')[-1] when it holds one)
 *   generation '<｜Assistant｜>' (R1, distill: + '<think>\n')
 * V3 and R1 join every system message with '\n\n' (ns.is_first_sp); the
 * distill and legacy texts keep only the last one. */
static void render_deepseek(struct wr *w, const struct chat_template *t, const struct chat_msg *m,
                            size_t n, const struct chat_opts *o) {
    int join_systems = t->id == CHAT_TMPL_DEEPSEEK_V3 || t->id == CHAT_TMPL_DEEPSEEK_R1;
    int strip_think = t->id != CHAT_TMPL_DEEPSEEK_V3;
    int gen_think = t->id == CHAT_TMPL_DEEPSEEK_R1 || t->id == CHAT_TMPL_DEEPSEEK_R1_DISTILL;

    puts_(w, t->bos);
    if (join_systems) {
        int first = 1;
        for (size_t i = 0; i < n; i++) {
            if (m[i].role != CHAT_ROLE_SYSTEM) continue;
            if (!first) puts_(w, "\n\n");
            puts_(w, m[i].content);
            first = 0;
        }
    } else {
        const char *sys = "";
        for (size_t i = 0; i < n; i++)
            if (m[i].role == CHAT_ROLE_SYSTEM) sys = m[i].content;
        puts_(w, sys);
    }
    for (size_t i = 0; i < n; i++) {
        const char *c = m[i].content;
        if (m[i].role == CHAT_ROLE_USER) {
            puts_(w, DS_USER);
            puts_(w, c);
        } else if (m[i].role == CHAT_ROLE_ASSISTANT) {
            puts_(w, DS_ASSISTANT);
            const char *cut = strip_think ? find_last(c, strlen(c), "</think>") : NULL;
            puts_(w, cut ? cut + strlen("</think>") : c);
            puts_(w, DS_EOS);
        }
    }
    if (!o->add_generation_prompt) return;
    puts_(w, DS_ASSISTANT);
    if (gen_think) {
        puts_(w, "<think>\n");
        if (o->thinking == CHAT_THINK_OFF) puts_(w, "\n</think>\n\n");
    } else if (t->id == CHAT_TMPL_DEEPSEEK_R1_LEGACY) {
        if (o->thinking == CHAT_THINK_ON) puts_(w, "<think>\n");
        if (o->thinking == CHAT_THINK_OFF) puts_(w, "<think>\n\n</think>\n\n");
    }
}

/* ------------------------------------------------------------------------ */
/* ChatML family                                                             */

/* chatml / qwen2 / smollm2: every message is
 *   '<|im_start|>' + role + '\n' + content + '<|im_end|>' + '\n'
 * and, for qwen2/smollm2, a default system message is written first when
 * messages[0] is not a system message.  Generation: '<|im_start|>assistant\n'. */
static void render_chatml(struct wr *w, const struct chat_template *t, const struct chat_msg *m,
                          size_t n, const struct chat_opts *o) {
    const char *def = t->id == CHAT_TMPL_QWEN2     ? k_qwen2_system
                      : t->id == CHAT_TMPL_SMOLLM2 ? k_smollm2_system
                                                   : NULL;
    if (def && m[0].role != CHAT_ROLE_SYSTEM) {
        puts_(w, "<|im_start|>system\n");
        puts_(w, def);
        puts_(w, "<|im_end|>\n");
    }
    for (size_t i = 0; i < n; i++) {
        puts_(w, "<|im_start|>");
        puts_(w, role_name(m[i].role));
        puts_(w, "\n");
        puts_(w, m[i].content);
        puts_(w, "<|im_end|>\n");
    }
    if (o->add_generation_prompt) puts_(w, "<|im_start|>assistant\n");
}

/* Qwen3 (no tools):
 *   messages[0] system -> '<|im_start|>system\n' + content + '<|im_end|>\n'
 *   last_query_index = index of the last user message that is not a
 *     '<tool_response>...</tool_response>' wrapper (len - 1 if none)
 *   user / later system -> ChatML block
 *   assistant: reasoning = message.reasoning_content if given, else from
 *     '<think>r</think>c' inside content (content then loses it); after the
 *     last query, the last message or one with reasoning is written as
 *     '<|im_start|>assistant\n<think>\n' + r.strip('\n') + '\n</think>\n\n'
 *     + c.lstrip('\n'), any other as '<|im_start|>assistant\n' + c; then
 *     '<|im_end|>\n'
 *   generation '<|im_start|>assistant\n' (+ '<think>\n\n</think>\n\n' when
 *     enable_thinking is false). */
static int is_tool_response(const char *c) {
    static const char open[] = "<tool_response>", close[] = "</tool_response>";
    size_t n = strlen(c), no = sizeof open - 1, nc = sizeof close - 1;
    return n >= no && n >= nc && memcmp(c, open, no) == 0 && memcmp(c + n - nc, close, nc) == 0;
}

static void render_qwen3(struct wr *w, const struct chat_msg *m, size_t n,
                         const struct chat_opts *o) {
    size_t last_query = n - 1;
    for (size_t k = n; k-- > 0;) {
        if (m[k].role == CHAT_ROLE_USER && !is_tool_response(m[k].content)) {
            last_query = k;
            break;
        }
    }
    if (m[0].role == CHAT_ROLE_SYSTEM) {
        puts_(w, "<|im_start|>system\n");
        puts_(w, m[0].content);
        puts_(w, "<|im_end|>\n");
    }
    for (size_t i = 0; i < n; i++) {
        const char *c = m[i].content;
        size_t cn = strlen(c);
        if (m[i].role == CHAT_ROLE_USER || (m[i].role == CHAT_ROLE_SYSTEM && i > 0)) {
            puts_(w, "<|im_start|>");
            puts_(w, role_name(m[i].role));
            puts_(w, "\n");
            puts_(w, c);
            puts_(w, "<|im_end|>\n");
            continue;
        }
        if (m[i].role != CHAT_ROLE_ASSISTANT) continue;
        size_t cb = 0, ce = cn;                    /* content slice */
        const char *r = "";                        /* reasoning text */
        size_t rb = 0, re = 0;                     /* reasoning slice of r */
        if (m[i].reasoning_content) {
            r = m[i].reasoning_content;
            re = strlen(r);
        } else {
            const char *close = strstr(c, "</think>");
            if (close) {
                const char *last = find_last(c, cn, "</think>");
                cb = (size_t)(last - c) + strlen("</think>");
                lstrip_c(c, &cb, ce, '\n');
                /* content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') */
                r = c;
                re = (size_t)(close - c);
                rstrip_c(c, 0, &re, '\n');
                const char *open = find_last(c, re, "<think>");
                rb = open ? (size_t)(open - c) + strlen("<think>") : 0;
                lstrip_c(c, &rb, re, '\n');
            }
        }
        int with_think = i > last_query && (i == n - 1 || re > rb);
        puts_(w, "<|im_start|>assistant\n");
        if (with_think) {
            lstrip_c(r, &rb, re, '\n');
            rstrip_c(r, rb, &re, '\n');
            puts_(w, "<think>\n");
            put(w, r + rb, re - rb);
            puts_(w, "\n</think>\n\n");
            lstrip_c(c, &cb, ce, '\n');
        }
        put(w, c + cb, ce - cb);
        puts_(w, "<|im_end|>\n");
    }
    if (o->add_generation_prompt) {
        puts_(w, "<|im_start|>assistant\n");
        if (o->thinking == CHAT_THINK_OFF) puts_(w, "<think>\n\n</think>\n\n");
    }
}

/* ------------------------------------------------------------------------ */
/* Llama-3                                                                   */

/* Per message: '<|start_header_id|>' + role + '<|end_header_id|>\n\n' +
 * message['content'] | trim + '<|eot_id|>', bos_token before the first;
 * generation '<|start_header_id|>assistant<|end_header_id|>\n\n'. */
static void render_llama3(struct wr *w, const struct chat_template *t, const struct chat_msg *m,
                          size_t n, const struct chat_opts *o) {
    for (size_t i = 0; i < n; i++) {
        size_t b, e;
        if (i == 0) puts_(w, t->bos);
        puts_(w, "<|start_header_id|>");
        puts_(w, role_name(m[i].role));
        puts_(w, "<|end_header_id|>\n\n");
        py_strip(m[i].content, strlen(m[i].content), &b, &e);
        put(w, m[i].content + b, e - b);
        puts_(w, "<|eot_id|>");
    }
    if (o->add_generation_prompt || (t->flags & CHAT_F_GEN_ALWAYS))
        puts_(w, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                              */

int chat_render(const struct chat_template *t, const struct chat_msg *msgs, size_t n,
                const struct chat_opts *opts, char *buf, size_t cap, size_t *len, char *err) {
    static const struct chat_opts k_default_opts = {1, CHAT_THINK_DEFAULT};
    if (!opts) opts = &k_default_opts;
    *len = 0;
    if (cap > 0) buf[0] = 0;
    if (!t || t->id < 0 || t->id >= CHAT_TMPL_COUNT)
        return dc_errf(err, DC_EINVAL, "chat: invalid template");
    if (n == 0) return dc_errf(err, DC_EINVAL, "chat: no messages");
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].role < CHAT_ROLE_SYSTEM || msgs[i].role > CHAT_ROLE_ASSISTANT)
            return dc_errf(err, DC_EINVAL, "chat: message %zu has an unsupported role", i);
        if (!msgs[i].content)
            return dc_errf(err, DC_EINVAL, "chat: message %zu has no content", i);
    }
    struct wr w = {buf, cap > 0 ? cap - 1 : 0, 0};
    switch (t->id) {
    case CHAT_TMPL_DEEPSEEK_V3:
    case CHAT_TMPL_DEEPSEEK_R1:
    case CHAT_TMPL_DEEPSEEK_R1_DISTILL:
    case CHAT_TMPL_DEEPSEEK_R1_LEGACY: render_deepseek(&w, t, msgs, n, opts); break;
    case CHAT_TMPL_QWEN3: render_qwen3(&w, msgs, n, opts); break;
    case CHAT_TMPL_LLAMA3: render_llama3(&w, t, msgs, n, opts); break;
    default: render_chatml(&w, t, msgs, n, opts); break;
    }
    if (cap > 0) buf[w.len < w.cap ? w.len : w.cap] = 0;
    *len = w.len;
    if (w.len >= cap)
        return dc_errf(err, DC_ERANGE, "chat: prompt of %zu bytes does not fit in %zu", w.len, cap);
    return DC_OK;
}

int chat_render_alloc(const struct chat_template *t, const struct chat_msg *msgs, size_t n,
                      const struct chat_opts *opts, char **out, size_t *len, char *err) {
    char *buf = NULL;
    *out = NULL;
    int rc = chat_render(t, msgs, n, opts, NULL, 0, len, NULL); /* size only */
    if (rc != DC_ERANGE) return chat_render(t, msgs, n, opts, NULL, 0, len, err);
    buf = malloc(*len + 1);
    if (!buf) return dc_errf(err, DC_ENOMEM, "chat: out of memory for a %zu-byte prompt", *len);
    rc = chat_render(t, msgs, n, opts, buf, *len + 1, len, err);
    if (rc != DC_OK) goto fail;
    *out = buf;
    return DC_OK;
fail:
    free(buf);
    return rc;
}

int chat_prompt_opens_reasoning(const struct chat_template *t, const struct chat_opts *opts) {
    if (!t || !opts || !opts->add_generation_prompt) return 0;
    switch (t->id) {
    case CHAT_TMPL_DEEPSEEK_R1:
    case CHAT_TMPL_DEEPSEEK_R1_DISTILL: return opts->thinking != CHAT_THINK_OFF;
    case CHAT_TMPL_DEEPSEEK_R1_LEGACY: return opts->thinking == CHAT_THINK_ON;
    default: return 0;
    }
}
