/*
 * chat.h - chat templates: a conversation -> the prompt text the model was
 * trained on.
 *
 * No Jinja engine: each template family the project supports has a small
 * hand-written renderer that reproduces, byte for byte, what the model's own
 * Jinja chat_template gives under Hugging Face transformers'
 * apply_chat_template (tests/test_chat.c compares against fixtures rendered
 * by transformers from the real template texts, tests/data/chat/).
 *
 *   family                 template text it reproduces (docs/CHAT.md)
 *   deepseek-v3            DeepSeek-V3 tokenizer_config.json (Dec 2024)
 *   deepseek-r1            DeepSeek-R1 (Feb 2025): history loses <think>,
 *                          generation prompt opens "<think>\n"
 *   deepseek-r1-distill    R1-Distill-Qwen / -Llama: like R1, last system only
 *   deepseek-r1-legacy     Jan 2025 R1 / distill text: no "<think>\n" opener
 *   chatml                 plain <|im_start|>role\n...<|im_end|>\n
 *   qwen2                  ChatML + Qwen2.5's default system prompt
 *   smollm2                ChatML + SmolLM2's default system prompt
 *   qwen3                  ChatML + Qwen3's <think> history rules
 *   llama3                 Llama-3(.0) Instruct header/eot format
 *
 * Only the roles system, user and assistant are rendered (tool calls and tool
 * outputs are not supported here yet).  A template is chosen from the model's
 * own template text by distinctive substrings (chat_detect), by name
 * (chat_from_name), or falls back to ChatML with a warning (chat_init).
 * Everything here is plain data: no allocation except in chat_render_alloc,
 * and a struct chat_template may be shared by any number of threads.
 */
#ifndef DC_CHAT_H
#define DC_CHAT_H

#include <stddef.h>

/* Template ids; values are stable (they may be logged or stored). */
enum chat_tmpl {
    CHAT_TMPL_CHATML = 0, /* also the fallback for unknown templates */
    CHAT_TMPL_DEEPSEEK_V3 = 1,
    CHAT_TMPL_DEEPSEEK_R1 = 2,
    CHAT_TMPL_DEEPSEEK_R1_DISTILL = 3,
    CHAT_TMPL_DEEPSEEK_R1_LEGACY = 4,
    CHAT_TMPL_QWEN2 = 5,
    CHAT_TMPL_SMOLLM2 = 6,
    CHAT_TMPL_QWEN3 = 7,
    CHAT_TMPL_LLAMA3 = 8,
    CHAT_TMPL_COUNT
};
#define CHAT_TMPL_UNKNOWN (-1)

enum chat_role { CHAT_ROLE_SYSTEM = 0, CHAT_ROLE_USER = 1, CHAT_ROLE_ASSISTANT = 2 };

/* Thinking switch of a request.  DEFAULT renders exactly what the template
 * does with no flag.  ON/OFF are passed to templates that read a flag
 * (Qwen3's enable_thinking); for the R1 family, whose templates have no flag,
 * OFF closes the opened block ("<think>\n" + "\n</think>\n\n") and, for the
 * legacy template, ON opens it ("<think>\n"), as documented in docs/CHAT.md.
 * Families without a reasoning block ignore it. */
enum chat_think { CHAT_THINK_DEFAULT = 0, CHAT_THINK_ON = 1, CHAT_THINK_OFF = 2 };

/* chat_template.flags */
#define CHAT_F_GEN_ALWAYS 1u /* template writes the generation prompt even when
                                add_generation_prompt is false (first
                                Llama-3-8B-Instruct template) */

#define CHAT_BOS_MAX 64

struct chat_template {
    int id;                 /* enum chat_tmpl */
    unsigned flags;         /* CHAT_F_* */
    char bos[CHAT_BOS_MAX]; /* text written for {{ bos_token }} (NUL-terminated) */
};

struct chat_msg {
    int role;                      /* enum chat_role */
    const char *content;           /* NUL-terminated UTF-8, never NULL */
    const char *reasoning_content; /* NULL = absent; only qwen3 reads it */
};

struct chat_opts {
    int add_generation_prompt; /* open an assistant turn at the end */
    int thinking;              /* enum chat_think */
};

/* Special strings of a family (static storage, never NULL unless noted). */
struct chat_specials {
    const char *name;        /* canonical name, as chat_from_name accepts */
    const char *bos;         /* default {{ bos_token }} text, "" if unused */
    const char *eot;         /* end of an assistant turn: a stop string */
    const char *eot_alt;     /* second end marker that also ends a turn, or NULL */
    const char *think_open;  /* "<think>" or NULL when the family has none */
    const char *think_close; /* "</think>" or NULL */
};

/* Special strings of template id (CHAT_TMPL_*); NULL for an invalid id. */
const struct chat_specials *chat_specials(int id);

/* Canonical name of a template id ("deepseek-r1"); "?" for an invalid id. */
const char *chat_name(int id);

/* Template id for a name, case-insensitive: the canonical names above and
 * aliases ("deepseek3", "r1", "r1-distill", "deepseek-r1-distill-qwen",
 * "deepseek-r1-distill-llama", "qwen2.5", "qwen", "llama-3", "smollm").
 * CHAT_TMPL_UNKNOWN if not known. */
int chat_from_name(const char *name);

/* Recognises a template from its Jinja text (exact substrings of the real
 * templates, docs/CHAT.md "Detection").  When the text is NULL, empty or not
 * recognised, arch_hint (may be NULL: GGUF general.architecture and/or
 * general.name, or HF model_type, any case) is tried: "deepseek" + "distill"
 * -> deepseek-r1-distill, "deepseek" + "r1" -> deepseek-r1, "deepseek" ->
 * deepseek-v3, "qwen3", "qwen", "smollm", "llama".  Returns a CHAT_TMPL_*
 * id or CHAT_TMPL_UNKNOWN. */
int chat_detect(const char *jinja_template_text, const char *arch_hint);

/* Fills *t.  Order: override_name (if non-NULL; an unknown name is
 * DC_EINVAL), else chat_detect(jinja, arch_hint), else ChatML.  bos (may be
 * NULL: the family's default) is the tokenizer's BOS text.  warn (may be
 * NULL, DC_ERR_LEN bytes) receives "" or a one-line warning when the text
 * was not recognised (the hint or the ChatML fallback was used).  Returns
 * DC_OK, or DC_EINVAL (unknown override, bos longer than CHAT_BOS_MAX - 1). */
int chat_init(struct chat_template *t, const char *jinja_template_text, const char *arch_hint,
              const char *override_name, const char *bos, char *warn, char *err);

/* Renders msgs[0..n) (n >= 1) into buf[0..cap): writes at most cap - 1 bytes
 * plus a NUL (nothing if cap == 0) and sets *len to the full length of the
 * prompt (excluding the NUL).  Returns DC_OK, DC_ERANGE when *len >= cap (buf
 * holds a truncated prefix; call again with cap > *len), or DC_EINVAL (bad
 * role, NULL content, n == 0).  msgs and their strings are borrowed. */
int chat_render(const struct chat_template *t, const struct chat_msg *msgs, size_t n,
                const struct chat_opts *opts, char *buf, size_t cap, size_t *len, char *err);

/* Same, into a malloc'ed NUL-terminated string the caller frees. */
int chat_render_alloc(const struct chat_template *t, const struct chat_msg *msgs, size_t n,
                      const struct chat_opts *opts, char **out, size_t *len, char *err);

/* 1 when the rendered prompt ends inside an open reasoning block (R1 and
 * distill generation prompt "<think>\n", or legacy with CHAT_THINK_ON), so
 * the reasoning splitter must start in the reasoning state; else 0. */
int chat_prompt_opens_reasoning(const struct chat_template *t, const struct chat_opts *opts);

#endif
