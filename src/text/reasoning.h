/*
 * reasoning.h - splits a model's streamed text into reasoning and content.
 *
 * DeepSeek-R1-style models write their chain of thought between "<think>"
 * and "</think>"; the API returns it as reasoning_content and the rest as
 * content (spec/API.md 1.4-1.5).  The splitter is fed the decoded text one
 * piece at a time (normally one token's text, already assembled into whole
 * UTF-8 characters) and reports spans through a callback.  Tags may be split
 * across pieces or several may arrive in one piece; a partial tag is held
 * back until it is complete or proven not to be a tag, so a tag or a piece of
 * one is never emitted.  Everything else is emitted as soon as it is known
 * (whitespace that may turn out to be trimmed is held too).
 *
 * Rules (docs/CHAT.md "Reasoning splitter"):
 *  - start state: reasoning when the prompt already opened the block
 *    (chat_prompt_opens_reasoning), else "undecided": leading whitespace and
 *    an opening tag put the stream into reasoning; anything else makes the
 *    whole stream content (a model that never thinks);
 *  - in reasoning, "</think>" ends it; a second "<think>" before any
 *    reasoning text is dropped (some distills repeat the forced opener);
 *  - after "</think>" everything is content; tags there are plain text;
 *  - unless keep_whitespace, whitespace is trimmed around the block: leading
 *    and trailing whitespace of the reasoning and leading whitespace of the
 *    content after "</think>" ("\n\n" in R1 output), matching the DeepSeek
 *    API, whose reasoning_content / content carry no such padding;
 *  - emitted kinds only go reasoning -> content, never back.
 * Optional budget: after `budget` pieces inside the block rsn_budget_hit
 * turns 1; the caller then appends the close tag's tokens itself (and feeds
 * their text here, which ends the block).
 */
#ifndef DC_REASONING_H
#define DC_REASONING_H

#include <stddef.h>
#include <stdint.h>

enum rsn_kind { RSN_CONTENT = 0, RSN_REASONING = 1 };

#define RSN_TAG_MAX 32   /* longest tag, bytes */
#define RSN_HOLD_MAX 256 /* whitespace held before a possible close tag, bytes;
                            a longer run is emitted (and not trimmed) */

/* Receives one span: kind (enum rsn_kind) and text[0..len), len > 0, valid
 * only during the call. */
typedef void (*rsn_emit_fn)(void *user, int kind, const char *text, size_t len);

struct rsn_config {
    const char *open_tag;   /* NULL = "<think>" */
    const char *close_tag;  /* NULL = "</think>" */
    int start_in_reasoning; /* the prompt ends inside an open block */
    int keep_whitespace;    /* 1: no trimming around the block */
    int64_t budget;         /* reasoning pieces allowed; 0 = unlimited */
};

/* State of one stream.  Plain data (no heap): declare it, rsn_init it; the
 * fields are private to reasoning.c. */
struct rsn {
    char open[RSN_TAG_MAX], close[RSN_TAG_MAX];
    size_t open_len, close_len;
    int state;          /* private: start / reasoning / content */
    int keep_ws;
    int at_start;       /* reasoning: no non-whitespace emitted yet */
    int strip_leading;  /* content: dropping whitespace after the close tag */
    char tag[RSN_TAG_MAX];
    size_t tag_len;     /* partial tag being matched */
    char ws[RSN_HOLD_MAX];
    size_t ws_len;      /* whitespace held (start: before the opener) */
    int64_t budget, n_reasoning;
};

/* DC_OK, or DC_EINVAL for an empty tag, a tag longer than RSN_TAG_MAX - 1,
 * or a negative budget. */
int rsn_init(struct rsn *r, const struct rsn_config *cfg, char *err);

/* Feeds text[0..len) (one piece).  Calls fn for each span that is ready. */
void rsn_push(struct rsn *r, const char *text, size_t len, rsn_emit_fn fn, void *user);

/* End of the stream: releases what was held (a partial tag is text then;
 * trailing whitespace of unfinished reasoning is trimmed like any other). */
void rsn_finish(struct rsn *r, rsn_emit_fn fn, void *user);

int rsn_in_reasoning(const struct rsn *r);        /* 1 inside the block */
int64_t rsn_n_reasoning(const struct rsn *r);     /* pieces pushed inside the block */
int rsn_budget_hit(const struct rsn *r);          /* budget used up, block still open */

#endif
