/*
 * auth.c - API key storage and constant-time comparison (see auth.h).
 */
#include "auth.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"

/* Overwrites memory in a way the compiler may not drop as a dead store. */
static void wipe(void *p, size_t n) {
    volatile unsigned char *v = p;
    while (n--) *v++ = 0;
}

int auth_add_key(struct auth *a, const char *key, char *err) {
    size_t n = strlen(key);
    if (n == 0) return dc_errf(err, DC_EINVAL, "empty API key");
    if (n > AUTH_MAX_KEY_LEN) return dc_errf(err, DC_EINVAL, "API key longer than %d bytes", AUTH_MAX_KEY_LEN);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)key[i] <= 0x20 || key[i] == 0x7f)
            return dc_errf(err, DC_EINVAL, "API key contains a space or control character");
    if (a->n >= AUTH_MAX_KEYS) return dc_errf(err, DC_ERANGE, "more than %d API keys", AUTH_MAX_KEYS);
    char *c = malloc(n + 1);
    if (!c) return dc_errf(err, DC_ENOMEM, "out of memory");
    memcpy(c, key, n + 1);
    a->keys[a->n] = c;
    a->lens[a->n] = n;
    a->n++;
    return DC_OK;
}

int auth_load_file(struct auth *a, const char *path, char *err) {
    FILE *f = fopen(path, "r");
    if (!f) return dc_errf(err, DC_EIO, "cannot read API key file %s", path);
    char line[AUTH_MAX_KEY_LEN + 8];
    int lineno = 0, added = 0, rc = DC_OK;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        size_t n = strlen(line);
        if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
            rc = dc_errf(err, DC_EINVAL, "%s:%d: line too long for an API key", path, lineno);
            break;
        }
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            line[--n] = 0;
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        if (!*s || *s == '#') continue;
        char e2[DC_ERR_LEN];
        if ((rc = auth_add_key(a, s, e2))) {
            dc_errf(err, rc, "%s:%d: %s", path, lineno, e2);
            break;
        }
        added++;
    }
    wipe(line, sizeof(line));
    fclose(f);
    if (!rc && !added) rc = dc_errf(err, DC_EINVAL, "no API key in %s", path);
    return rc;
}

void auth_free(struct auth *a) {
    for (int i = 0; i < a->n; i++) {
        wipe(a->keys[i], a->lens[i]);
        free(a->keys[i]);
    }
    memset(a, 0, sizeof(*a));
}

int auth_ct_equal(const char *a, size_t na, const char *b, size_t nb) {
    /* Walk the client's bytes (a) once; index the key modulo its length so
     * the memory access pattern does not depend on where they differ. */
    unsigned diff = (unsigned)(na ^ nb) | (unsigned)((uint64_t)(na ^ nb) >> 32);
    if (nb == 0) return na == 0;
    for (size_t i = 0; i < na; i++) diff |= (unsigned char)a[i] ^ (unsigned char)b[i % nb];
    return diff == 0;
}

int auth_check(const struct auth *a, const char *authorization) {
    if (a->n == 0) return 1;
    if (!authorization) return 0;
    const char *s = authorization;
    while (*s == ' ') s++;
    if (strncasecmp(s, "Bearer", 6) != 0 || (s[6] != ' ' && s[6] != '\t')) return 0;
    s += 6;
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    int ok = 0;
    for (int i = 0; i < a->n; i++) ok |= auth_ct_equal(s, n, a->keys[i], a->lens[i]); /* no early exit */
    return ok;
}
