/*
 * store.h - the chat page's conversations, kept in SQLite.
 *
 * One database file, DIR/conversations.db, in WAL mode with
 * synchronous=FULL: when a write function returns DC_OK its transaction is
 * in the WAL on disk, so neither a kill -9 of the server nor a power cut
 * loses it.  A NULL dir keeps everything in memory (lost at exit).
 *
 *   conversations(id, owner, title, created, updated)
 *   messages(id, conversation, seq, role, content, reasoning, reasoning_ms, created)
 *
 * Every call names an owner, and a conversation is visible only to the
 * owner that created it.  The owner of a request is derived from its API
 * key with store_owner(): hex SHA-256 of a random per-database salt and the
 * key, so the key itself is never stored and the same key maps to the same
 * owner across restarts.  Without keys every request has the owner "".
 *
 * Conversation ids are 128 random bits in hex (not guessable, not counters).
 * Times are milliseconds since the Unix epoch.  Messages of a conversation
 * are numbered by seq from 0 upwards, in the order they were appended.
 *
 * Thread safety: one struct store may be used from any number of threads;
 * calls are serialised by a mutex inside (each is a short transaction).
 */
#ifndef DC_STORE_H
#define DC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define STORE_ID_LEN 32           /* hex characters of a conversation id */
#define STORE_OWNER_LEN 64        /* hex characters of an owner */
#define STORE_MAX_TITLE 512       /* bytes of a title */
#define STORE_MAX_TEXT (4 << 20)  /* bytes of one message's content or reasoning */
#define STORE_MAX_MESSAGES 10000  /* messages in one conversation */
#define STORE_MAX_CONVS 100000    /* conversations of one owner */
#define STORE_LIST_MAX 1000       /* conversations returned by one list call */

struct store; /* opaque */

/* Plain data returned by the calls below; the strings are owned. */
struct store_conv {
    char id[STORE_ID_LEN + 1];
    char *title;
    int64_t created; /* ms since the epoch */
    int64_t updated; /* ms; the last append, rename or creation */
};

struct store_msg {
    int64_t seq;     /* 0, 1, 2 ... within the conversation */
    char role[16];   /* "system" | "user" | "assistant" */
    char *content;
    char *reasoning; /* NULL when the message has none */
    int64_t reasoning_ms; /* how long the model thought, ms; -1 unknown */
    int64_t created; /* ms */
};

/* Opens (creating when missing) DIR/conversations.db, creating DIR itself
 * (one level) when missing; dir NULL gives a private in-memory database.
 * DC_EIO when the file cannot be opened or is not a database of ours. */
int store_open(struct store **out, const char *dir, char *err);
void store_close(struct store *s); /* NULL is a no-op */

/* 1 when the database lives on disk, 0 in memory. */
int store_persistent(const struct store *s);

/* The owner string for an API key: "" for NULL or "" (no keys configured),
 * else 64 hex characters.  out holds STORE_OWNER_LEN + 1 bytes. */
void store_owner(const struct store *s, const char *key, char out[STORE_OWNER_LEN + 1]);

/* Creates a conversation; title may be NULL (empty title).  Fills *out
 * (free its title with store_conv_free).  DC_ERANGE when the owner has
 * STORE_MAX_CONVS conversations or the title is too long; DC_EINVAL for a
 * title that is not valid UTF-8 or contains NUL. */
int store_conv_create(struct store *s, const char *owner, const char *title, struct store_conv *out, char *err);

/* The owner's conversations, most recently updated first, at most
 * STORE_LIST_MAX.  *out is an owned array of *n entries (NULL when 0):
 * free with store_convs_free. */
int store_conv_list(struct store *s, const char *owner, struct store_conv **out, size_t *n, char *err);

/* One conversation and its messages in seq order.  msgs may be NULL when
 * only the conversation is wanted.  DC_ENOTFOUND when there is no such id
 * for this owner (another owner's conversation is "not found" too). */
int store_conv_get(struct store *s, const char *owner, const char *id, struct store_conv *conv,
                   struct store_msg **msgs, size_t *n_msgs, char *err);

/* Sets the title (same checks as create) and fills *out when non-NULL. */
int store_conv_rename(struct store *s, const char *owner, const char *id, const char *title,
                      struct store_conv *out, char *err);

/* Deletes a conversation with its messages.  DC_ENOTFOUND as above. */
int store_conv_delete(struct store *s, const char *owner, const char *id, char *err);

/* Appends one message (role "system", "user" or "assistant"; reasoning may
 * be NULL; reasoning_ms < 0 when unknown) and returns once it is durable.  When truncate_from >= 0 the
 * messages with seq >= truncate_from are deleted first, in the same
 * transaction (regenerate an answer, edit and resend a question).  The new
 * message gets seq = 1 + the highest remaining seq (0 for the first) and
 * the conversation's updated time is set.  *out (may be NULL) receives its
 * seq, role and created time (content/reasoning left NULL).  DC_ENOTFOUND
 * for an unknown conversation; DC_EINVAL for a bad role or text that is not
 * valid UTF-8 or contains NUL; DC_ERANGE past STORE_MAX_TEXT or
 * STORE_MAX_MESSAGES. */
int store_msg_append(struct store *s, const char *owner, const char *id, const char *role, const char *content,
                     const char *reasoning, int64_t reasoning_ms, int64_t truncate_from, struct store_msg *out,
                     char *err);

void store_conv_free(struct store_conv *c);             /* frees the title; c itself is the caller's */
void store_convs_free(struct store_conv *c, size_t n);  /* an array from store_conv_list */
void store_msgs_free(struct store_msg *m, size_t n);    /* an array from store_conv_get */

/* SHA-256 of data[0..n) into out[32] (FIPS 180-4); exposed for its test. */
void store_sha256(const void *data, size_t n, uint8_t out[32]);

#endif
