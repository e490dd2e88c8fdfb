/*
 * auth.h - API keys: "Authorization: Bearer <key>" checked in constant time.
 *
 * A server has zero keys (every request is accepted, as OpenAI-style local
 * servers do) or one or more.  Keys come from --api-key or from a file with
 * one key per line (blank lines and lines starting with '#' skipped).  The
 * comparison takes time that depends only on the length of what the client
 * sent, never on the keys or on where a mismatch is.  Keys are never
 * printed: error messages name the file and line, not the key.
 */
#ifndef DC_AUTH_H
#define DC_AUTH_H

#include <stddef.h>

#define AUTH_MAX_KEYS 64
#define AUTH_MAX_KEY_LEN 512

struct auth {
    char *keys[AUTH_MAX_KEYS]; /* owned copies */
    size_t lens[AUTH_MAX_KEYS];
    int n;
};

/* Adds one key (copied).  DC_EINVAL for an empty key, one longer than
 * AUTH_MAX_KEY_LEN or with control characters/spaces; DC_ERANGE when full. */
int auth_add_key(struct auth *a, const char *key, char *err);
/* Adds every key of a file.  DC_EIO if unreadable, DC_EINVAL if no key. */
int auth_load_file(struct auth *a, const char *path, char *err);
void auth_free(struct auth *a); /* wipes and frees the copies */

/* 1 when no keys are configured or the Authorization header value (may be
 * NULL) is "Bearer <one of the keys>" (scheme case-insensitive); else 0. */
int auth_check(const struct auth *a, const char *authorization);

/* Constant-time equality of a[0..na) and b[0..nb): time depends on na only. */
int auth_ct_equal(const char *a, size_t na, const char *b, size_t nb);

#endif
