/*
 * tokenizer.h - byte-level BPE tokenizer (GPT-2 family: DeepSeek-V3/R1,
 * Qwen2 / R1-Distill-Qwen, Llama-3 / R1-Distill-Llama, SmolLM2, GPT-2).
 *
 * Loaded from GGUF metadata (tokenizer.ggml.*) or from a Hugging Face
 * tokenizer.json (+ tokenizer_config.json).  Encoding reproduces HF
 * `tokenizers` exactly (docs/TOKENIZER.md, tests/test_tokenizer.c):
 *
 *   text -> [added-token split] -> normalizer (NFC for Qwen2) -> [added-token
 *   split for normalized tokens] -> pre-tokenizer steps (regex Split,
 *   Digits, ByteLevel) -> byte-level BPE by merge rank -> ids
 *
 * Input that is not valid UTF-8 is first repaired the way Python's
 * bytes.decode("utf-8", errors="replace") does (each malformed unit becomes
 * U+FFFD, utf8.h), so any byte string encodes and encoding never fails on
 * content.  Added tokens (specials like <｜User｜>, <|im_start|>, <think>) are
 * matched in the text only with TOK_PARSE_SPECIAL; otherwise the whole text is
 * tokenized as plain text, so user content cannot inject control tokens.
 *
 * A struct tok is immutable after loading: any number of threads may encode
 * and decode with the same tokenizer concurrently (scratch memory is per call).
 */
#ifndef DC_TOKENIZER_H
#define DC_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "utf8.h"

struct tok;  /* opaque */
struct gguf; /* src/formats/gguf.h */

/* Token types; numeric values are the GGUF tokenizer.ggml.token_type enum. */
enum tok_type {
    TOK_TYPE_UNDEFINED = 0,
    TOK_TYPE_NORMAL = 1,
    TOK_TYPE_UNKNOWN = 2,
    TOK_TYPE_CONTROL = 3,      /* special added token (BOS, EOS, <|im_start|>) */
    TOK_TYPE_USER_DEFINED = 4, /* non-special added token (<think> in R1-Distill) */
    TOK_TYPE_UNUSED = 5,       /* padding rows ([PAD123]); no text */
    TOK_TYPE_BYTE = 6,
};

/* tok_encode flags */
#define TOK_PARSE_SPECIAL 1 /* match added tokens in the text (HF default) */

/* tok_decode flags */
#define TOK_DECODE_SKIP_SPECIAL 1 /* drop CONTROL tokens (HF skip_special_tokens) */

/* Builds a tokenizer from the tokenizer.ggml.* keys of an open GGUF file
 * (model must be "gpt2"; .pre selects the pre-tokenizer, see
 * docs/TOKENIZER.md).  g is borrowed only during the call.  *out is set on
 * success; release with tok_free. */
int tok_load_gguf(struct tok **out, const struct gguf *g, char *err);

/* Builds a tokenizer from the NUL-terminated text of a HF tokenizer.json and
 * (optionally, may be NULL) tokenizer_config.json, which supplies bos/eos/pad
 * and add_bos_token.  Both texts are borrowed only during the call. */
int tok_load_hf(struct tok **out, const char *tokenizer_json, const char *tokenizer_config_json,
                char *err);

/* Loads from a path: a .gguf file, a tokenizer.json file, or a directory
 * holding tokenizer.json (+ tokenizer_config.json). */
int tok_load_path(struct tok **out, const char *path, char *err);

void tok_free(struct tok *t); /* NULL is a no-op */

/* Encodes text[0..len) (any bytes) into ids.  Writes at most cap ids and sets
 * *n to the number the full encoding has; returns DC_OK, or DC_ERANGE when
 * *n > cap (ids holds the first cap ids; call again with a larger buffer).
 * Never adds BOS/EOS: the caller prepends tok_bos() when tok_add_bos() says
 * so and the text does not already start with it. */
int tok_encode(const struct tok *t, const char *text, size_t len, int flags, int32_t *ids,
               size_t cap, size_t *n, char *err);

/* Same, into a malloc'ed array the caller frees (*ids may be NULL if *n == 0). */
int tok_encode_alloc(const struct tok *t, const char *text, size_t len, int flags, int32_t **ids,
                     size_t *n, char *err);

/* Raw bytes of one token (borrowed, not NUL-terminated; may be an incomplete
 * UTF-8 sequence).  Added tokens give their content, UNUSED tokens "".
 * NULL for an id out of range. */
const char *tok_piece(const struct tok *t, int32_t id, size_t *len);

/* Concatenated bytes of ids[0..n) into out[0..cap).  *len gets the full
 * length; returns DC_ERANGE if it exceeds cap, DC_EINVAL for a bad id.
 * The bytes are raw: an id sequence that splits a character yields invalid
 * UTF-8 here (use the stream below for text meant for people). */
int tok_decode(const struct tok *t, const int32_t *ids, size_t n, int flags, char *out, size_t cap,
               size_t *len, char *err);

/* Streaming detokenizer: emits only complete UTF-8 characters, holding back
 * a trailing incomplete sequence until the next token completes it; bytes
 * that can never become valid are replaced by U+FFFD.  Plain data, one per
 * generated sequence; zero-initialise or tok_stream_init. */
struct tok_stream {
    struct utf8_stream u; /* held bytes of an incomplete character */
    int flags;            /* TOK_DECODE_* */
};
void tok_stream_init(struct tok_stream *s, int flags);
/* Upper bound of bytes one tok_stream_push can write (any id). */
size_t tok_stream_max(const struct tok *t);
/* Appends token id; writes the newly completed text to out (capacity cap >=
 * tok_stream_max(t)) and its length to *len. */
int tok_stream_push(const struct tok *t, struct tok_stream *s, int32_t id, char *out, size_t cap,
                    size_t *len, char *err);
/* End of sequence: a held incomplete sequence becomes U+FFFD (out >= 3 bytes). */
size_t tok_stream_flush(struct tok_stream *s, char *out);

/* Vocabulary facts. */
int32_t tok_n_vocab(const struct tok *t); /* ids are 0..n_vocab-1 */
int32_t tok_bos(const struct tok *t);     /* -1 if none */
int32_t tok_eos(const struct tok *t);     /* -1 if none */
int32_t tok_pad(const struct tok *t);     /* -1 if none */
int tok_add_bos(const struct tok *t);     /* 1 if prompts should start with BOS */
int tok_type(const struct tok *t, int32_t id); /* enum tok_type; UNDEFINED if out of range */
const char *tok_pre_name(const struct tok *t); /* pre-tokenizer family, e.g. "deepseek-v3" */

/* Id of the token whose text is exactly s[0..len): an added token by its
 * content ("<think>", "<｜end▁of▁sentence｜>") or a vocabulary token by its
 * raw bytes (" the" finds "Ġthe").  -1 if there is none. */
int32_t tok_find(const struct tok *t, const char *s, size_t len);

#endif
