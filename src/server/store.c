/*
 * store.c - conversations of the chat page in SQLite (see store.h).
 *
 * Every public call takes the mutex, runs one short transaction on the one
 * connection and returns.  Durability comes from SQLite: WAL journal with
 * synchronous=FULL fsyncs the WAL at every commit, so a returned DC_OK means
 * the rows are on disk.
 */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "utf8.h"

#define STORE_SCHEMA_VERSION 1
#define STORE_SALT_LEN 16

struct store {
    sqlite3 *db;
    pthread_mutex_t mu;
    int persistent;
    uint8_t salt[STORE_SALT_LEN]; /* mixed into every owner hash */
};

/* ------------------------------------------------------------------ */
/* SHA-256 (FIPS 180-4 section 6.2)                                     */

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t sha_rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

/* One 64-byte block into the state h[8]. */
static void sha_block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 | (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = sha_rotr(w[t - 15], 7) ^ sha_rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = sha_rotr(w[t - 2], 17) ^ sha_rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = hh + (sha_rotr(e, 6) ^ sha_rotr(e, 11) ^ sha_rotr(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[t] + w[t];
        uint32_t t2 = (sha_rotr(a, 2) ^ sha_rotr(a, 13) ^ sha_rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void store_sha256(const void *data, size_t n, uint8_t out[32]) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const uint8_t *p = data;
    size_t left = n;
    for (; left >= 64; p += 64, left -= 64) sha_block(h, p);
    /* Padding: 0x80, zeros, then the bit length as 64-bit big endian. */
    uint8_t tail[128] = {0};
    if (left) memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tl = left + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++) tail[tl - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha_block(h, tail);
    if (tl == 128) sha_block(h, tail + 64);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

/* ------------------------------------------------------------------ */
/* helpers                                                              */

static int64_t store_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int store_random(void *buf, size_t n) {
    uint8_t *p = buf;
    while (n) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void store_hex(const uint8_t *b, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = 0;
}

static int store_db_err(struct store *s, char *err, const char *what) {
    return dc_errf(err, DC_EIO, "store: %s: %s", what, sqlite3_errmsg(s->db));
}

/* Checks a text field: valid UTF-8, no NUL, at most max bytes. */
static int store_check_text(const char *t, size_t max, const char *what, char *err) {
    size_t n = strnlen(t, max + 1);
    if (n > max) return dc_errf(err, DC_ERANGE, "store: %s longer than %zu bytes", what, max);
    if (utf8_valid_len((const uint8_t *)t, n) != n) return dc_errf(err, DC_EINVAL, "store: %s is not valid UTF-8", what);
    return DC_OK;
}

static int store_check_id(const char *id, char *err) {
    size_t n = id ? strnlen(id, STORE_ID_LEN + 1) : 0;
    if (n != STORE_ID_LEN) return dc_errf(err, DC_ENOTFOUND, "store: no such conversation");
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return dc_errf(err, DC_ENOTFOUND, "store: no such conversation");
    return DC_OK;
}

static int store_exec(struct store *s, const char *sql, char *err) {
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        dc_errf(err, DC_EIO, "store: %s", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return DC_EIO;
    }
    return DC_OK;
}

static char *store_strdup_col(sqlite3_stmt *st, int col) {
    const unsigned char *t = sqlite3_column_text(st, col);
    int n = sqlite3_column_bytes(st, col);
    char *r = malloc((size_t)n + 1);
    if (!r) return NULL;
    if (n) memcpy(r, t, (size_t)n);
    r[n] = 0;
    return r;
}

/* Reads (id, title, created, updated) columns 0..3 into *c. */
static int store_read_conv(sqlite3_stmt *st, struct store_conv *c) {
    const unsigned char *id = sqlite3_column_text(st, 0);
    memset(c, 0, sizeof(*c));
    if (!id || sqlite3_column_bytes(st, 0) != STORE_ID_LEN) return DC_EFORMAT;
    memcpy(c->id, id, STORE_ID_LEN + 1);
    c->title = store_strdup_col(st, 1);
    if (!c->title) return DC_ENOMEM;
    c->created = sqlite3_column_int64(st, 2);
    c->updated = sqlite3_column_int64(st, 3);
    return DC_OK;
}

static void store_rollback(struct store *s) { sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL); }

/* ------------------------------------------------------------------ */
/* open / close                                                         */

static const char store_schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS conversations("
    "  id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL,"
    "  created INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS conversations_owner ON conversations(owner, updated);"
    "CREATE TABLE IF NOT EXISTS messages("
    "  id INTEGER PRIMARY KEY, conversation TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL, reasoning TEXT, reasoning_ms INTEGER,"
    "  created INTEGER NOT NULL, UNIQUE(conversation, seq));";

/* Reads the salt and schema version from meta, writing them on first use. */
static int store_init_meta(struct store *s, char *err) {
    sqlite3_stmt *st = NULL;
    int rc = store_exec(s, "BEGIN IMMEDIATE", err);
    if (rc) return rc;
    rc = DC_EIO;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK) goto db_fail;
    /* schema version */
    sqlite3_bind_text(st, 1, "schema", -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        int64_t v = sqlite3_column_int64(st, 0);
        if (v != STORE_SCHEMA_VERSION) {
            rc = dc_errf(err, DC_EIO, "store: database schema version %lld, this build reads %d", (long long)v,
                         STORE_SCHEMA_VERSION);
            goto fail;
        }
    } else if (r != SQLITE_DONE) {
        goto db_fail;
    } else if (store_exec(s, "INSERT INTO meta(key, value) VALUES('schema', 1)", err)) {
        goto fail;
    }
    sqlite3_reset(st);
    /* owner salt */
    sqlite3_bind_text(st, 1, "owner_salt", -1, SQLITE_STATIC);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != STORE_SALT_LEN) {
            rc = dc_errf(err, DC_EIO, "store: owner salt has the wrong size");
            goto fail;
        }
        memcpy(s->salt, sqlite3_column_blob(st, 0), STORE_SALT_LEN);
    } else if (r != SQLITE_DONE) {
        goto db_fail;
    } else {
        sqlite3_stmt *ins = NULL;
        if (store_random(s->salt, STORE_SALT_LEN)) {
            rc = dc_errf(err, DC_EIO, "store: getrandom: %s", strerror(errno));
            goto fail;
        }
        if (sqlite3_prepare_v2(s->db, "INSERT INTO meta(key, value) VALUES('owner_salt', ?)", -1, &ins, NULL) !=
            SQLITE_OK)
            goto db_fail;
        sqlite3_bind_blob(ins, 1, s->salt, STORE_SALT_LEN, SQLITE_STATIC);
        r = sqlite3_step(ins);
        sqlite3_finalize(ins);
        if (r != SQLITE_DONE) goto db_fail;
    }
    sqlite3_finalize(st);
    return store_exec(s, "COMMIT", err);
db_fail:
    rc = store_db_err(s, err, "reading meta");
fail:
    sqlite3_finalize(st);
    store_rollback(s);
    return rc;
}

int store_open(struct store **out, const char *dir, char *err) {
    *out = NULL;
    struct store *s = calloc(1, sizeof(*s));
    char *path = NULL;
    int rc = DC_ENOMEM;
    if (!s) return dc_errf(err, DC_ENOMEM, "store: out of memory");
    pthread_mutex_init(&s->mu, NULL);
    if (dir) {
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            rc = dc_errf(err, DC_EIO, "store: cannot create %s: %s", dir, strerror(errno));
            goto fail;
        }
        size_t n = strlen(dir) + sizeof("/conversations.db");
        path = malloc(n);
        if (!path) goto fail;
        snprintf(path, n, "%s/conversations.db", dir);
        s->persistent = 1;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path ? path : ":memory:", &s->db, flags, NULL) != SQLITE_OK) {
        rc = dc_errf(err, DC_EIO, "store: cannot open %s: %s", path ? path : ":memory:",
                     s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000);
    /* WAL + FULL: each commit fsyncs the WAL, so an acknowledged write
     * survives kill -9 and power loss.  Foreign keys make DELETE cascade. */
    rc = store_exec(s, "PRAGMA foreign_keys=ON", err);
    if (!rc && s->persistent) {
        sqlite3_stmt *st = NULL;
        rc = DC_EIO;
        if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) &&
            strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0)
            rc = DC_OK;
        else
            dc_errf(err, DC_EIO, "store: %s: cannot switch to WAL mode: %s", path, sqlite3_errmsg(s->db));
        sqlite3_finalize(st);
    }
    if (!rc) rc = store_exec(s, "PRAGMA synchronous=FULL", err);
    if (!rc) rc = store_exec(s, store_schema, err);
    if (!rc) rc = store_init_meta(s, err);
    if (rc) goto fail;
    free(path);
    *out = s;
    return DC_OK;
fail:
    free(path);
    store_close(s);
    return rc;
}

void store_close(struct store *s) {
    if (!s) return;
    if (s->db) sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    memset(s->salt, 0, sizeof(s->salt));
    free(s);
}

int store_persistent(const struct store *s) { return s->persistent; }

void store_owner(const struct store *s, const char *key, char out[STORE_OWNER_LEN + 1]) {
    out[0] = 0;
    if (!key || !key[0]) return;
    /* salt || key, hashed; keys are bounded by the auth module (<= 512 bytes)
     * but hash a longer one correctly anyway. */
    size_t kn = strlen(key);
    uint8_t buf[STORE_SALT_LEN + 1024];
    uint8_t h[32];
    if (kn <= sizeof(buf) - STORE_SALT_LEN) {
        memcpy(buf, s->salt, STORE_SALT_LEN);
        memcpy(buf + STORE_SALT_LEN, key, kn);
        store_sha256(buf, STORE_SALT_LEN + kn, h);
        memset(buf, 0, sizeof(buf));
    } else {
        /* too long for the stack buffer: hash the key first, then salt || H(key) */
        uint8_t kh[32];
        store_sha256(key, kn, kh);
        memcpy(buf, s->salt, STORE_SALT_LEN);
        memcpy(buf + STORE_SALT_LEN, kh, 32);
        store_sha256(buf, STORE_SALT_LEN + 32, h);
    }
    store_hex(h, 32, out);
}

/* ------------------------------------------------------------------ */
/* conversations                                                        */

void store_conv_free(struct store_conv *c) {
    if (!c) return;
    free(c->title);
    c->title = NULL;
}

void store_convs_free(struct store_conv *c, size_t n) {
    if (!c) return;
    for (size_t i = 0; i < n; i++) free(c[i].title);
    free(c);
}

void store_msgs_free(struct store_msg *m, size_t n) {
    if (!m) return;
    for (size_t i = 0; i < n; i++) {
        free(m[i].content);
        free(m[i].reasoning);
    }
    free(m);
}

int store_conv_create(struct store *s, const char *owner, const char *title, struct store_conv *out, char *err) {
    memset(out, 0, sizeof(*out));
    if (!title) title = "";
    int rc = store_check_text(title, STORE_MAX_TITLE, "title", err);
    if (rc) return rc;
    uint8_t rnd[STORE_ID_LEN / 2];
    if (store_random(rnd, sizeof(rnd))) return dc_errf(err, DC_EIO, "store: getrandom: %s", strerror(errno));
    store_hex(rnd, sizeof(rnd), out->id);
    out->created = out->updated = store_now_ms();
    out->title = strdup(title);
    if (!out->title) return dc_errf(err, DC_ENOMEM, "store: out of memory");

    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&s->mu);
    rc = store_exec(s, "BEGIN IMMEDIATE", err);
    if (rc) goto out;
    if (sqlite3_prepare_v2(s->db, "SELECT COUNT(*) FROM conversations WHERE owner = ?", -1, &st, NULL) != SQLITE_OK)
        goto db_fail;
    sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) goto db_fail;
    if (sqlite3_column_int64(st, 0) >= STORE_MAX_CONVS) {
        rc = dc_errf(err, DC_ERANGE, "store: at most %d conversations", STORE_MAX_CONVS);
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(s->db, "INSERT INTO conversations(id, owner, title, created, updated) VALUES(?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        goto db_fail;
    sqlite3_bind_text(st, 1, out->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, title, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, out->created);
    sqlite3_bind_int64(st, 5, out->updated);
    if (sqlite3_step(st) != SQLITE_DONE) goto db_fail;
    rc = store_exec(s, "COMMIT", err);
    if (rc) goto fail;
    goto out;
db_fail:
    rc = store_db_err(s, err, "create");
fail:
    store_rollback(s);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (rc) store_conv_free(out);
    return rc;
}

int store_conv_list(struct store *s, const char *owner, struct store_conv **out, size_t *n, char *err) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    struct store_conv *v = NULL;
    size_t nv = 0;
    int rc = DC_OK;
    pthread_mutex_lock(&s->mu);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, title, created, updated FROM conversations WHERE owner = ?"
                           " ORDER BY updated DESC, created DESC, id LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK)
        goto db_fail;
    sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, STORE_LIST_MAX);
    v = calloc(STORE_LIST_MAX, sizeof(*v));
    if (!v) {
        rc = dc_errf(err, DC_ENOMEM, "store: out of memory");
        goto fail;
    }
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW && nv < STORE_LIST_MAX) {
        rc = store_read_conv(st, &v[nv]);
        if (rc) {
            dc_errf(err, rc, "store: bad conversation row");
            goto fail;
        }
        nv++;
    }
    if (r != SQLITE_DONE && r != SQLITE_ROW) goto db_fail;
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (nv == 0) {
        free(v);
        v = NULL;
    }
    *out = v;
    *n = nv;
    return DC_OK;
db_fail:
    rc = store_db_err(s, err, "list");
fail:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    store_convs_free(v, nv); /* a half-read row never holds an allocation */
    return rc;
}

/* SELECT of one conversation row by owner + id (called with the mutex held). */
static int store_find_conv(struct store *s, const char *owner, const char *id, struct store_conv *c, char *err) {
    sqlite3_stmt *st = NULL;
    int rc;
    if (sqlite3_prepare_v2(s->db, "SELECT id, title, created, updated FROM conversations WHERE id = ? AND owner = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return store_db_err(s, err, "get");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        rc = store_read_conv(st, c);
        if (rc) dc_errf(err, rc, "store: bad conversation row");
    } else if (r == SQLITE_DONE) {
        rc = dc_errf(err, DC_ENOTFOUND, "store: no such conversation");
    } else {
        rc = store_db_err(s, err, "get");
    }
    sqlite3_finalize(st);
    return rc;
}

int store_conv_get(struct store *s, const char *owner, const char *id, struct store_conv *conv,
                   struct store_msg **msgs, size_t *n_msgs, char *err) {
    memset(conv, 0, sizeof(*conv));
    if (msgs) *msgs = NULL;
    if (n_msgs) *n_msgs = 0;
    int rc = store_check_id(id, err);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    struct store_msg *m = NULL;
    size_t nm = 0, cap = 0;
    pthread_mutex_lock(&s->mu);
    /* One read transaction so the conversation and its messages agree. */
    rc = store_exec(s, "BEGIN", err);
    if (rc) goto out;
    rc = store_find_conv(s, owner, id, conv, err);
    if (rc || !msgs) goto end;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT seq, role, content, reasoning, reasoning_ms, created FROM messages WHERE conversation = ?"
                           " ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = store_db_err(s, err, "get messages");
        goto end;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (nm == cap) {
            size_t nc = cap ? 2 * cap : 16;
            struct store_msg *g = realloc(m, nc * sizeof(*m));
            if (!g) {
                rc = dc_errf(err, DC_ENOMEM, "store: out of memory");
                goto end;
            }
            m = g;
            cap = nc;
        }
        struct store_msg *x = &m[nm];
        memset(x, 0, sizeof(*x));
        nm++;
        x->seq = sqlite3_column_int64(st, 0);
        const unsigned char *role = sqlite3_column_text(st, 1);
        snprintf(x->role, sizeof(x->role), "%s", role ? (const char *)role : "");
        x->content = store_strdup_col(st, 2);
        if (sqlite3_column_type(st, 3) != SQLITE_NULL) x->reasoning = store_strdup_col(st, 3);
        x->reasoning_ms = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 4);
        x->created = sqlite3_column_int64(st, 5);
        if (!x->content || (sqlite3_column_type(st, 3) != SQLITE_NULL && !x->reasoning)) {
            rc = dc_errf(err, DC_ENOMEM, "store: out of memory");
            goto end;
        }
    }
    if (r != SQLITE_DONE) rc = store_db_err(s, err, "get messages");
end:
    sqlite3_finalize(st);
    store_exec(s, "COMMIT", NULL);
out:
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        store_conv_free(conv);
        store_msgs_free(m, nm);
        return rc;
    }
    if (msgs) {
        *msgs = m;
        *n_msgs = nm;
    }
    return DC_OK;
}

int store_conv_rename(struct store *s, const char *owner, const char *id, const char *title,
                      struct store_conv *out, char *err) {
    if (out) memset(out, 0, sizeof(*out));
    int rc = store_check_id(id, err);
    if (!rc) rc = store_check_text(title ? title : "", STORE_MAX_TITLE, "title", err);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&s->mu);
    if (sqlite3_prepare_v2(s->db, "UPDATE conversations SET title = ?, updated = ? WHERE id = ? AND owner = ?", -1,
                           &st, NULL) != SQLITE_OK) {
        rc = store_db_err(s, err, "rename");
        goto out;
    }
    sqlite3_bind_text(st, 1, title ? title : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, store_now_ms());
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, owner, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = store_db_err(s, err, "rename");
        goto out;
    }
    if (sqlite3_changes(s->db) == 0) {
        rc = dc_errf(err, DC_ENOTFOUND, "store: no such conversation");
        goto out;
    }
    if (out) rc = store_find_conv(s, owner, id, out, err);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_conv_delete(struct store *s, const char *owner, const char *id, char *err) {
    int rc = store_check_id(id, err);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&s->mu);
    if (sqlite3_prepare_v2(s->db, "DELETE FROM conversations WHERE id = ? AND owner = ?", -1, &st, NULL) !=
        SQLITE_OK) {
        rc = store_db_err(s, err, "delete");
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = store_db_err(s, err, "delete");
    else if (sqlite3_changes(s->db) == 0)
        rc = dc_errf(err, DC_ENOTFOUND, "store: no such conversation");
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ------------------------------------------------------------------ */
/* messages                                                             */

int store_msg_append(struct store *s, const char *owner, const char *id, const char *role, const char *content,
                     const char *reasoning, int64_t reasoning_ms, int64_t truncate_from, struct store_msg *out,
                     char *err) {
    if (out) memset(out, 0, sizeof(*out));
    int rc = store_check_id(id, err);
    if (rc) return rc;
    if (!role || (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant")))
        return dc_errf(err, DC_EINVAL, "store: role must be system, user or assistant");
    if (!content) return dc_errf(err, DC_EINVAL, "store: message without content");
    rc = store_check_text(content, STORE_MAX_TEXT, "content", err);
    if (!rc && reasoning) rc = store_check_text(reasoning, STORE_MAX_TEXT, "reasoning", err);
    if (rc) return rc;

    sqlite3_stmt *st = NULL;
    struct store_conv c = {0};
    int64_t now = store_now_ms(), seq = 0;
    pthread_mutex_lock(&s->mu);
    rc = store_exec(s, "BEGIN IMMEDIATE", err);
    if (rc) goto out;
    rc = store_find_conv(s, owner, id, &c, err);
    if (rc) goto fail;
    if (truncate_from >= 0) {
        if (sqlite3_prepare_v2(s->db, "DELETE FROM messages WHERE conversation = ? AND seq >= ?", -1, &st, NULL) !=
            SQLITE_OK)
            goto db_fail;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, truncate_from);
        if (sqlite3_step(st) != SQLITE_DONE) goto db_fail;
        sqlite3_finalize(st);
        st = NULL;
    }
    if (sqlite3_prepare_v2(s->db, "SELECT COALESCE(MAX(seq), -1) + 1, COUNT(*) FROM messages WHERE conversation = ?",
                           -1, &st, NULL) != SQLITE_OK)
        goto db_fail;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) goto db_fail;
    seq = sqlite3_column_int64(st, 0);
    if (sqlite3_column_int64(st, 1) >= STORE_MAX_MESSAGES) {
        rc = dc_errf(err, DC_ERANGE, "store: at most %d messages in a conversation", STORE_MAX_MESSAGES);
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO messages(conversation, seq, role, content, reasoning, reasoning_ms, created)"
                           " VALUES(?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        goto db_fail;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, seq);
    sqlite3_bind_text(st, 3, role, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, content, -1, SQLITE_STATIC);
    if (reasoning)
        sqlite3_bind_text(st, 5, reasoning, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 5);
    if (reasoning_ms >= 0)
        sqlite3_bind_int64(st, 6, reasoning_ms);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_int64(st, 7, now);
    if (sqlite3_step(st) != SQLITE_DONE) goto db_fail;
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(s->db, "UPDATE conversations SET updated = ? WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        goto db_fail;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) goto db_fail;
    /* The commit fsyncs the WAL (synchronous=FULL): after it, the message is
     * durable and may be acknowledged. */
    rc = store_exec(s, "COMMIT", err);
    if (rc) goto fail;
    if (out) {
        out->seq = seq;
        snprintf(out->role, sizeof(out->role), "%s", role);
        out->reasoning_ms = reasoning_ms >= 0 ? reasoning_ms : -1;
        out->created = now;
    }
    goto out;
db_fail:
    rc = store_db_err(s, err, "append");
fail:
    store_rollback(s);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    store_conv_free(&c);
    return rc;
}
