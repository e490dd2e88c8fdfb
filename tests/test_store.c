/*
 * test_store.c - the conversation store (src/server/store.h).
 *
 * SHA-256 against FIPS 180-4 test vectors and Python hashlib digests at the
 * padding boundaries; create/list/get/rename/delete/append with owners kept
 * apart and the limits enforced; WAL mode read back through a separate
 * SQLite connection; the API key never reaches the files; concurrent
 * appends number messages without gaps; and durability: a child process
 * appends messages and acknowledges each one through a pipe as soon as the
 * append returns, the parent SIGKILLs it mid-stream, reopens the database
 * and checks that every acknowledged message is there, byte for byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "store.h"
#include "test.h"

static char g_tmp[256];

static void make_tmp(void) {
    snprintf(g_tmp, sizeof(g_tmp), "/tmp/deepc_store_XXXXXX");
    if (!mkdtemp(g_tmp)) {
        perror("mkdtemp");
        exit(2);
    }
}

static void rm_dir(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* A fresh sub-directory of the test's temp dir. */
static void sub_dir(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", g_tmp, name); }

static void hex(const uint8_t *b, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", b[i]);
}

static void test_sha256(void) {
    struct {
        const char *in;
        size_t rep; /* 'a' repeated rep times when in is NULL */
        const char *want;
    } v[] = {
        /* FIPS 180-4 examples */
        {"", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", 0, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 0,
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {NULL, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
        /* hashlib.sha256(b'a' * n) around the one/two padding block edges */
        {NULL, 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {NULL, 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {NULL, 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {NULL, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {NULL, 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
        {NULL, 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
        {NULL, 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
        {NULL, 1000, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint8_t h[32];
        char got[65];
        if (v[i].in) {
            store_sha256(v[i].in, strlen(v[i].in), h);
        } else {
            char *a = malloc(v[i].rep);
            memset(a, 'a', v[i].rep);
            store_sha256(a, v[i].rep, h);
            free(a);
        }
        hex(h, 32, got);
        T_CHECK(strcmp(got, v[i].want) == 0, "vector %zu: got %s want %s", i, got, v[i].want);
    }
}

static void test_crud(void) {
    char err[DC_ERR_LEN], dir[300];
    sub_dir(dir, sizeof(dir), "crud");
    struct store *s = NULL;
    int rc = store_open(&s, dir, err);
    T_CHECK(rc == DC_OK, "open: %s", err);
    if (rc) return;
    T_CHECK(store_persistent(s) == 1, "persistent");

    char alice[STORE_OWNER_LEN + 1], bob[STORE_OWNER_LEN + 1], none[STORE_OWNER_LEN + 1];
    store_owner(s, "sk-alice", alice);
    store_owner(s, "sk-bob", bob);
    store_owner(s, NULL, none);
    T_CHECK(strlen(alice) == STORE_OWNER_LEN && strcmp(alice, bob) != 0, "owners %s %s", alice, bob);
    T_CHECK(none[0] == 0, "no key -> empty owner");

    struct store_conv a1, a2, b1;
    T_CHECK(store_conv_create(s, alice, "first", &a1, err) == DC_OK, "%s", err);
    struct timespec ts = {0, 3000000};
    nanosleep(&ts, NULL); /* distinct ms timestamps for the ordering check */
    T_CHECK(store_conv_create(s, alice, "второй 第二", &a2, err) == DC_OK, "%s", err);
    T_CHECK(store_conv_create(s, bob, NULL, &b1, err) == DC_OK, "%s", err);
    T_CHECK(strlen(a1.id) == STORE_ID_LEN && strcmp(a1.id, a2.id) != 0, "ids %s %s", a1.id, a2.id);
    T_CHECK(strcmp(b1.title, "") == 0, "null title -> empty");

    struct store_conv *list = NULL;
    size_t n = 0;
    T_CHECK(store_conv_list(s, alice, &list, &n, err) == DC_OK, "%s", err);
    T_CHECK(n == 2, "alice has %zu", n);
    if (n == 2) {
        T_CHECK(strcmp(list[0].id, a2.id) == 0 && strcmp(list[1].id, a1.id) == 0, "newest first");
        T_CHECK(strcmp(list[0].title, "второй 第二") == 0, "utf-8 title '%s'", list[0].title);
    }
    store_convs_free(list, n);
    T_CHECK(store_conv_list(s, bob, &list, &n, err) == DC_OK && n == 1, "bob has %zu", n);
    store_convs_free(list, n);
    T_CHECK(store_conv_list(s, none, &list, &n, err) == DC_OK && n == 0 && list == NULL, "anon has %zu", n);

    /* messages, then a.1 moves to the top of the list */
    struct store_msg m;
    nanosleep(&ts, NULL);
    T_CHECK(store_msg_append(s, alice, a1.id, "user", "Hi <script>x</script>", NULL, -1, -1, &m, err) == DC_OK, "%s",
            err);
    T_CHECK(m.seq == 0 && strcmp(m.role, "user") == 0, "seq %lld", (long long)m.seq);
    T_CHECK(store_msg_append(s, alice, a1.id, "assistant", "Hello", "thinking...", 1234, -1, &m, err) == DC_OK, "%s",
            err);
    T_CHECK(m.seq == 1, "seq %lld", (long long)m.seq);
    T_CHECK(store_msg_append(s, alice, a1.id, "user", "again", NULL, -1, -1, &m, err) == DC_OK && m.seq == 2, "%s", err);
    T_CHECK(store_msg_append(s, alice, a1.id, "assistant", "", "", -1, -1, &m, err) == DC_OK && m.seq == 3, "%s", err);
    T_CHECK(store_conv_list(s, alice, &list, &n, err) == DC_OK && n == 2 && strcmp(list[0].id, a1.id) == 0,
            "append bumps updated");
    store_convs_free(list, n);

    /* regenerate: replace from seq 3; edit: replace from seq 2 */
    T_CHECK(store_msg_append(s, alice, a1.id, "assistant", "Hello again", "r2", -1, 3, &m, err) == DC_OK && m.seq == 3,
            "regenerate seq %lld", (long long)m.seq);
    T_CHECK(store_msg_append(s, alice, a1.id, "user", "edited", NULL, -1, 2, &m, err) == DC_OK && m.seq == 2,
            "edit seq %lld", (long long)m.seq);

    struct store_conv c;
    struct store_msg *msgs = NULL;
    size_t nm = 0;
    T_CHECK(store_conv_get(s, alice, a1.id, &c, &msgs, &nm, err) == DC_OK, "%s", err);
    T_CHECK(nm == 3, "messages %zu", nm);
    if (nm == 3) {
        T_CHECK(msgs[0].seq == 0 && strcmp(msgs[0].content, "Hi <script>x</script>") == 0 && !msgs[0].reasoning,
                "m0");
        T_CHECK(msgs[1].seq == 1 && strcmp(msgs[1].role, "assistant") == 0 && strcmp(msgs[1].content, "Hello") == 0 &&
                    msgs[1].reasoning && strcmp(msgs[1].reasoning, "thinking...") == 0 && msgs[1].reasoning_ms == 1234 &&
                    msgs[0].reasoning_ms == -1,
                "m1");
        T_CHECK(msgs[2].seq == 2 && strcmp(msgs[2].content, "edited") == 0, "m2 '%s'", msgs[2].content);
        T_CHECK(msgs[0].created > 1600000000000LL, "created in ms: %lld", (long long)msgs[0].created);
    }
    T_CHECK(strcmp(c.title, "first") == 0, "title");
    store_msgs_free(msgs, nm);
    store_conv_free(&c);

    /* owners are kept apart: bob cannot see, rename, append to or delete alice's */
    T_CHECK(store_conv_get(s, bob, a1.id, &c, NULL, NULL, err) == DC_ENOTFOUND, "bob get");
    T_CHECK(store_conv_get(s, none, a1.id, &c, NULL, NULL, err) == DC_ENOTFOUND, "anon get");
    T_CHECK(store_conv_rename(s, bob, a1.id, "mine", NULL, err) == DC_ENOTFOUND, "bob rename");
    T_CHECK(store_msg_append(s, bob, a1.id, "user", "x", NULL, -1, -1, NULL, err) == DC_ENOTFOUND, "bob append");
    T_CHECK(store_conv_delete(s, bob, a1.id, err) == DC_ENOTFOUND, "bob delete");

    /* rename */
    struct store_conv r;
    T_CHECK(store_conv_rename(s, alice, a1.id, "renamed", &r, err) == DC_OK, "%s", err);
    T_CHECK(r.title && strcmp(r.title, "renamed") == 0 && strcmp(r.id, a1.id) == 0, "rename result");
    store_conv_free(&r);

    /* bad input */
    T_CHECK(store_conv_create(s, alice, "bad \xff utf8", &c, err) == DC_EINVAL, "invalid utf-8 title");
    char longt[STORE_MAX_TITLE + 2];
    memset(longt, 'x', sizeof(longt) - 1);
    longt[sizeof(longt) - 1] = 0;
    T_CHECK(store_conv_create(s, alice, longt, &c, err) == DC_ERANGE, "long title");
    longt[STORE_MAX_TITLE] = 0;
    T_CHECK(store_conv_create(s, alice, longt, &c, err) == DC_OK, "title at the limit: %s", err);
    store_conv_delete(s, alice, c.id, err);
    store_conv_free(&c);
    T_CHECK(store_msg_append(s, alice, a1.id, "tool", "x", NULL, -1, -1, NULL, err) == DC_EINVAL, "bad role");
    T_CHECK(store_msg_append(s, alice, a1.id, "user", "\xc3", NULL, -1, -1, NULL, err) == DC_EINVAL, "cut utf-8");
    T_CHECK(store_msg_append(s, alice, a1.id, "user", NULL, NULL, -1, -1, NULL, err) == DC_EINVAL, "null content");
    T_CHECK(store_msg_append(s, alice, "0123", "user", "x", NULL, -1, -1, NULL, err) == DC_ENOTFOUND, "short id");
    T_CHECK(store_msg_append(s, alice, "'; DROP TABLE messages; --  ....", "user", "x", NULL, -1, -1, NULL,
                             err) ==
                DC_ENOTFOUND,
            "odd id");
    T_CHECK(store_conv_get(s, alice, "ffffffffffffffffffffffffffffffff", &c, NULL, NULL, err) == DC_ENOTFOUND,
            "unknown id");

    /* delete cascades to the messages */
    T_CHECK(store_conv_delete(s, alice, a1.id, err) == DC_OK, "%s", err);
    T_CHECK(store_conv_get(s, alice, a1.id, &c, NULL, NULL, err) == DC_ENOTFOUND, "gone");
    T_CHECK(store_conv_delete(s, alice, a1.id, err) == DC_ENOTFOUND, "delete twice");
    store_close(s);

    /* the rows of the deleted conversation's messages are gone too, and the
     * database is in WAL mode - read with a separate connection */
    char path[400];
    snprintf(path, sizeof(path), "%s/conversations.db", dir);
    sqlite3 *db = NULL;
    T_CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "sqlite open");
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
    T_CHECK(sqlite3_step(st) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0,
            "journal_mode");
    sqlite3_finalize(st);
    sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM messages", -1, &st, NULL);
    T_CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0, "messages cascaded");
    sqlite3_finalize(st);
    sqlite3_close(db);

    /* reopen: same key -> same owner (the salt is persistent), data kept */
    T_CHECK(store_open(&s, dir, err) == DC_OK, "reopen %s", err);
    char alice2[STORE_OWNER_LEN + 1];
    store_owner(s, "sk-alice", alice2);
    T_CHECK(strcmp(alice, alice2) == 0, "owner stable across reopen");
    T_CHECK(store_conv_get(s, alice, a2.id, &c, NULL, NULL, err) == DC_OK, "a2 kept: %s", err);
    store_conv_free(&c);
    store_close(s);

    store_conv_free(&a1);
    store_conv_free(&a2);
    store_conv_free(&b1);
}

/* Is the byte string needle anywhere in the file? */
static int file_contains(const char *path, const char *needle) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t nn = strlen(needle), cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    int found = 0;
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    for (size_t i = 0; i + nn <= n && !found; i++) found = memcmp(buf + i, needle, nn) == 0;
    free(buf);
    fclose(f);
    return found;
}

static void test_key_not_stored(void) {
    char err[DC_ERR_LEN], dir[300], p1[400], p2[400];
    sub_dir(dir, sizeof(dir), "key");
    struct store *s = NULL;
    const char *key = "sk-VERY-SECRET-KEY-4242";
    T_CHECK(store_open(&s, dir, err) == DC_OK, "%s", err);
    if (!s) return;
    char owner[STORE_OWNER_LEN + 1];
    store_owner(s, key, owner);
    struct store_conv c;
    T_CHECK(store_conv_create(s, owner, "t", &c, err) == DC_OK, "%s", err);
    T_CHECK(store_msg_append(s, owner, c.id, "user", "hello", NULL, -1, -1, NULL, err) == DC_OK, "%s", err);
    snprintf(p1, sizeof(p1), "%s/conversations.db", dir);
    snprintf(p2, sizeof(p2), "%s/conversations.db-wal", dir);
    /* while open the rows sit in the WAL; check both files */
    T_CHECK(file_contains(p2, "hello"), "the WAL holds the message (the scan works)");
    T_CHECK(!file_contains(p1, key) && !file_contains(p2, key), "the key is in a file");
    store_conv_free(&c);
    store_close(s);
    T_CHECK(!file_contains(p1, key), "the key is in the database after close");
}

/* ---- concurrent appends ------------------------------------------------ */

struct th_arg {
    struct store *s;
    const char *owner, *id;
    int n, failures;
};

static void *th_append(void *p) {
    struct th_arg *a = p;
    char err[DC_ERR_LEN], text[64];
    for (int i = 0; i < a->n; i++) {
        snprintf(text, sizeof(text), "t%p-%d", (void *)a, i);
        if (store_msg_append(a->s, a->owner, a->id, "user", text, NULL, -1, -1, NULL, err)) a->failures++;
    }
    return NULL;
}

static void test_threads(void) {
    char err[DC_ERR_LEN];
    struct store *s = NULL;
    T_CHECK(store_open(&s, NULL, err) == DC_OK, "%s", err); /* in memory */
    if (!s) return;
    T_CHECK(store_persistent(s) == 0, "in memory");
    struct store_conv c;
    T_CHECK(store_conv_create(s, "", "threads", &c, err) == DC_OK, "%s", err);
    pthread_t th[4];
    struct th_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (struct th_arg){s, "", c.id, 50, 0};
        pthread_create(&th[i], NULL, th_append, &a[i]);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    struct store_msg *m = NULL;
    size_t n = 0;
    struct store_conv g;
    T_CHECK(store_conv_get(s, "", c.id, &g, &m, &n, err) == DC_OK, "%s", err);
    T_CHECK(n == 200, "200 messages, got %zu", n);
    int gaps = 0;
    for (size_t i = 0; i < n; i++) gaps += m[i].seq != (int64_t)i;
    T_CHECK(gaps == 0, "%d seq gaps", gaps);
    for (int i = 0; i < 4; i++) T_CHECK(a[i].failures == 0, "thread %d failures %d", i, a[i].failures);
    store_msgs_free(m, n);
    store_conv_free(&g);
    store_conv_free(&c);
    store_close(s);
}

/* ---- kill -9 durability --------------------------------------------------- */

/* Message i's text: distinctive and a few hundred bytes, so a torn page would
 * show as a mismatch. */
static void msg_text(int i, char *out, size_t n) {
    int k = snprintf(out, n, "message %d: ", i);
    for (size_t j = (size_t)k; j + 1 < n; j++) out[j] = (char)('a' + (i * 7 + (int)j) % 26);
    out[n - 1] = 0;
}

/* The child: open the store, create a conversation, send its id, then append
 * messages forever, writing each index to the pipe once the append returned. */
static void child_writer(const char *dir, int fd) {
    char err[DC_ERR_LEN], text[300];
    struct store *s = NULL;
    if (store_open(&s, dir, err)) _exit(3);
    char owner[STORE_OWNER_LEN + 1];
    store_owner(s, "sk-durable", owner);
    struct store_conv c;
    if (store_conv_create(s, owner, "durability", &c, err)) _exit(4);
    if (write(fd, c.id, STORE_ID_LEN) != STORE_ID_LEN) _exit(5);
    for (int32_t i = 0;; i++) {
        msg_text(i, text, sizeof(text));
        if (store_msg_append(s, owner, c.id, i % 2 ? "assistant" : "user", text, i % 2 ? "why" : NULL,
                             i % 2 ? i : -1, -1, NULL, err))
            _exit(6);
        if (write(fd, &i, sizeof(i)) != sizeof(i)) _exit(7);
    }
}

static int read_full(int fd, void *buf, size_t n) {
    char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void test_kill9(void) {
    /* Three rounds, killed after different numbers of acknowledgements so
     * the kill lands at different points of the append cycle. */
    const int kill_after[3] = {1, 37, 150};
    for (int round = 0; round < 3; round++) {
        char dir[300], err[DC_ERR_LEN];
        snprintf(dir, sizeof(dir), "%s/kill%d", g_tmp, round);
        int fds[2];
        if (pipe(fds)) {
            T_CHECK(0, "pipe");
            return;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            child_writer(dir, fds[1]);
            _exit(0);
        }
        close(fds[1]);
        char id[STORE_ID_LEN + 1] = {0};
        T_CHECK(read_full(fds[0], id, STORE_ID_LEN) == 0, "child sent no id");
        int32_t last = -1, v;
        int bad_order = 0;
        while (last + 1 < kill_after[round] && read_full(fds[0], &v, sizeof(v)) == 0) {
            bad_order += v != last + 1;
            last = v;
        }
        /* kill while the child is busy appending, then collect the acks it
         * managed to write before dying */
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        T_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child ended by SIGKILL (status %d)", status);
        while (read_full(fds[0], &v, sizeof(v)) == 0) {
            bad_order += v != last + 1;
            last = v;
        }
        close(fds[0]);
        T_CHECK(bad_order == 0, "acks out of order");
        T_CHECK(last + 1 >= kill_after[round], "round %d: only %d acks", round, last + 1);

        struct store *s = NULL;
        T_CHECK(store_open(&s, dir, err) == DC_OK, "reopen after kill: %s", err);
        if (!s) return;
        char owner[STORE_OWNER_LEN + 1];
        store_owner(s, "sk-durable", owner);
        struct store_conv c;
        struct store_msg *m = NULL;
        size_t n = 0;
        T_CHECK(store_conv_get(s, owner, id, &c, &m, &n, err) == DC_OK, "conversation lost: %s", err);
        /* every acknowledged message (0..last) is there; one more may be, if
         * the kill came between the commit and the ack */
        T_CHECK((int64_t)n >= (int64_t)last + 1 && (int64_t)n <= (int64_t)last + 2, "round %d: %d acked, %zu stored",
                round, last + 1, n);
        int mismatches = 0;
        char text[300];
        for (size_t i = 0; i < n; i++) {
            msg_text((int)i, text, sizeof(text));
            if (m[i].seq != (int64_t)i || strcmp(m[i].content, text) != 0 ||
                strcmp(m[i].role, i % 2 ? "assistant" : "user") != 0 ||
                (i % 2 ? !m[i].reasoning || strcmp(m[i].reasoning, "why") || m[i].reasoning_ms != (int64_t)i
                       : m[i].reasoning != NULL || m[i].reasoning_ms != -1))
                mismatches++;
        }
        T_CHECK(mismatches == 0, "round %d: %d messages differ", round, mismatches);
        printf("  round %d: killed after %d acknowledged appends, %zu stored\n", round, last + 1, n);
        store_msgs_free(m, n);
        store_conv_free(&c);
        /* and the store still takes writes */
        T_CHECK(store_msg_append(s, owner, id, "user", "after", NULL, -1, -1, NULL, err) == DC_OK, "append: %s", err);
        store_close(s);
    }
}

int main(void) {
    T_BEGIN("test_store");
    signal(SIGPIPE, SIG_IGN);
    make_tmp();
    T_RUN(test_sha256);
    T_RUN(test_crud);
    T_RUN(test_key_not_stored);
    T_RUN(test_threads);
    T_RUN(test_kill9);
    rm_dir(g_tmp);
    return T_END();
}
