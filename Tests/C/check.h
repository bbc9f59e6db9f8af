/*
 * check.h - the C tests' small harness: checks that stop the test with a clear message, a
 * temporary directory per test program, and a counting custom store that records every read,
 * write and delete (the way grammY's own session tests observe a store).
 */
#ifndef BOTSESSION_CHECK_H
#define BOTSESSION_CHECK_H

#define _GNU_SOURCE
#include <botsession.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int checks_passed;

#define FAIL(...)                                                                   \
    do {                                                                            \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                             \
        fprintf(stderr, __VA_ARGS__);                                               \
        fprintf(stderr, "\n  botsession_last_error(): %s\n", botsession_last_error()); \
        exit(1);                                                                    \
    } while (0)

#define CHECK(cond)                                                 \
    do {                                                            \
        if (!(cond)) FAIL("CHECK failed: %s", #cond);               \
        checks_passed++;                                            \
    } while (0)

/* Runs `call` and checks its status. */
#define CHECK_RC(call, expected)                                                        \
    do {                                                                                \
        int rc_ = (call);                                                               \
        if (rc_ != (expected))                                                          \
            FAIL("%s returned %s, expected %s", #call, botsession_status_name(rc_),     \
                 botsession_status_name(expected));                                     \
        checks_passed++;                                                                \
    } while (0)

#define CHECK_OK(call) CHECK_RC(call, BOTSESSION_OK)

/* Two strings are equal; NULL equals only NULL. */
#define CHECK_STR(actual, expected)                                                     \
    do {                                                                                \
        const char *a_ = (actual), *e_ = (expected);                                    \
        if ((a_ == NULL) != (e_ == NULL) || (a_ && strcmp(a_, e_) != 0))                \
            FAIL("%s is \"%s\", expected \"%s\"", #actual, a_ ? a_ : "(null)",          \
                 e_ ? e_ : "(null)");                                                   \
        checks_passed++;                                                                \
    } while (0)

/* The last error message contains `needle`. */
#define CHECK_ERROR_HAS(needle)                                                         \
    do {                                                                                \
        if (!strstr(botsession_last_error(), (needle)))                                 \
            FAIL("the last error does not mention \"%s\"", (needle));                   \
        checks_passed++;                                                                \
    } while (0)

/* Frees *p (a string from the library) and checks it was equal to `expected`. */
#define CHECK_TAKE_STR(p, expected)      \
    do {                                 \
        CHECK_STR((p), (expected));      \
        botsession_free(p);              \
        (p) = NULL;                      \
    } while (0)

static char test_dir[256];

static inline int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

static inline void remove_test_dir(void) {
    if (test_dir[0]) nftw(test_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh temporary directory for this program, removed at exit. */
static inline const char *make_test_dir(void) {
    snprintf(test_dir, sizeof test_dir, "/tmp/botsession-test-XXXXXX");
    if (!mkdtemp(test_dir)) FAIL("mkdtemp failed");
    atexit(remove_test_dir);
    return test_dir;
}

/* "sqlite:<test dir>/<name>" in a static buffer. */
static inline const char *sqlite_uri(const char *name) {
    static char uri[512];
    snprintf(uri, sizeof uri, "sqlite:%s/%s", test_dir, name);
    return uri;
}

static inline void report_passed(const char *program) {
    printf("%s: %d checks passed\n", program, checks_passed);
}

/* ---- A counting custom store: a small map plus a log of every operation. ---- */

#define COUNTING_MAX 64

typedef struct counting_store {
    char *keys[COUNTING_MAX];
    char *values[COUNTING_MAX];
    int reads, writes, deletes, has_calls, keys_calls, released;
    char log[4096];          /* "R key; W key=value; D key; " */
    int fail_next;           /* when set, the next operation fails with this status */
} counting_store;

static inline int counting_find(counting_store *c, const char *key) {
    for (int i = 0; i < COUNTING_MAX; i++)
        if (c->keys[i] && strcmp(c->keys[i], key) == 0) return i;
    return -1;
}

static inline void counting_log(counting_store *c, const char *op, const char *key, const char *value) {
    size_t used = strlen(c->log);
    snprintf(c->log + used, sizeof c->log - used, value ? "%s %s=%s; " : "%s %s; ", op, key, value);
}

static inline int counting_read(void *ud, const char *key, botsession_buffer *out) {
    counting_store *c = ud;
    if (c->fail_next) { int rc = c->fail_next; c->fail_next = 0; botsession_callback_error("the disk is on fire"); return rc; }
    c->reads++;
    counting_log(c, "R", key, NULL);
    int i = counting_find(c, key);
    if (i >= 0) botsession_buffer_set(out, c->values[i], strlen(c->values[i]));
    return 0;
}

static inline int counting_write(void *ud, const char *key, const char *json) {
    counting_store *c = ud;
    if (c->fail_next) { int rc = c->fail_next; c->fail_next = 0; return rc; }
    c->writes++;
    counting_log(c, "W", key, json);
    int i = counting_find(c, key);
    if (i < 0) {
        for (i = 0; i < COUNTING_MAX && c->keys[i]; i++) {}
        if (i == COUNTING_MAX) return 1;
        c->keys[i] = strdup(key);
    } else {
        free(c->values[i]);
    }
    c->values[i] = strdup(json);
    return 0;
}

static inline int counting_remove(void *ud, const char *key) {
    counting_store *c = ud;
    if (c->fail_next) { int rc = c->fail_next; c->fail_next = 0; return rc; }
    c->deletes++;
    counting_log(c, "D", key, NULL);
    int i = counting_find(c, key);
    if (i >= 0) {
        free(c->keys[i]); free(c->values[i]);
        c->keys[i] = c->values[i] = NULL;
    }
    return 0;
}

static inline int counting_keys(void *ud, const char *prefix, botsession_buffer *out) {
    counting_store *c = ud;
    c->keys_calls++;
    /* A JSON array of strings, with quotes, backslashes and control characters escaped. */
    static char json[COUNTING_MAX * 2100];
    size_t n = 0;
    json[n++] = '[';
    for (int i = 0; i < COUNTING_MAX; i++) {
        if (!c->keys[i] || strncmp(c->keys[i], prefix, strlen(prefix)) != 0) continue;
        if (n > 1) json[n++] = ',';
        json[n++] = '"';
        for (const unsigned char *p = (const unsigned char *)c->keys[i]; *p; p++) {
            if (*p == '"' || *p == '\\') { json[n++] = '\\'; json[n++] = (char)*p; }
            else if (*p < 0x20) n += sprintf(json + n, "\\u%04x", *p);
            else json[n++] = (char)*p;
        }
        json[n++] = '"';
    }
    json[n++] = ']';
    return botsession_buffer_set(out, json, n);
}

static inline void counting_release(void *ud) {
    counting_store *c = ud;
    c->released++;
}

/* Frees what the map holds and resets the counters (not `released`). */
static inline void counting_reset(counting_store *c) {
    for (int i = 0; i < COUNTING_MAX; i++) {
        free(c->keys[i]); free(c->values[i]);
        c->keys[i] = c->values[i] = NULL;
    }
    c->reads = c->writes = c->deletes = c->has_calls = c->keys_calls = 0;
    c->log[0] = 0;
    c->fail_next = 0;
}

/* Seeds a value without counting it. */
static inline void counting_put(counting_store *c, const char *key, const char *json) {
    counting_write(c, key, json);
    c->writes--;
    c->log[0] = 0;
}

/* The stored value of `key`, or NULL. */
static inline const char *counting_get(counting_store *c, const char *key) {
    int i = counting_find(c, key);
    return i < 0 ? NULL : c->values[i];
}

static inline botsession_store *counting_open(counting_store *c) {
    static const botsession_store_methods methods = {
        sizeof(botsession_store_methods), counting_read, counting_write, counting_remove,
        NULL, counting_keys, counting_release,
    };
    botsession_store *s = NULL;
    if (botsession_store_custom(&methods, c, &s) != BOTSESSION_OK) FAIL("cannot make the counting store");
    return s;
}

/* An engine from `options` on the counting store `c` (emptied first). */
static inline botsession_engine *engine_on_counting(counting_store *c, const char *options) {
    botsession_engine *e;
    counting_reset(c);
    CHECK_OK(botsession_engine_new(options, &e));
    botsession_store *s = counting_open(c);
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    botsession_store_close(s);
    return e;
}

/* A begun update, or the test fails. */
static inline botsession_update *begin_update(botsession_engine *e, const char *update) {
    botsession_update *u = NULL;
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK(u != NULL);
    return u;
}

/* The test server's URI (make test starts one and sets BOTSESSION_TEST_POSTGRES_URI), or NULL
 * when none runs: then the PostgreSQL part is skipped, except under CI, where that fails. */
static inline const char *postgres_test_uri(const char *program) {
    const char *uri = getenv("BOTSESSION_TEST_POSTGRES_URI");
    if (!uri) {
        if (getenv("CI")) FAIL("BOTSESSION_TEST_POSTGRES_URI is not set: run %s through scripts/with-postgres.sh (make test does)", program);
        printf("  %s: postgresql skipped (BOTSESSION_TEST_POSTGRES_URI not set; make test sets it)\n", program);
    }
    return uri;
}

/* One increment of the number in the single session of `update` (absent counts as 0): begin,
 * get, set it plus one, commit. Returns the first status that was not OK (the update is then
 * rolled back; botsession_last_error() still says why), else the commit's. */
static inline int increment_once(botsession_engine *e, const char *update) {
    botsession_update *u;
    char *json = NULL, next[32];
    int rc = botsession_begin(e, update, &u);
    if (rc != BOTSESSION_OK) return rc;
    if ((rc = botsession_get(u, NULL, &json)) != BOTSESSION_OK) {
        botsession_rollback(u);
        return rc;
    }
    snprintf(next, sizeof next, "%ld", json ? atol(json) + 1 : 1);
    botsession_free(json);
    if ((rc = botsession_set(u, NULL, next)) != BOTSESSION_OK) {
        botsession_rollback(u);
        return rc;
    }
    return botsession_commit(u);
}

/* Updates used across the tests. */
#define GROUP_MESSAGE \
    "{\"update_id\":10,\"message\":{\"message_id\":5,\"date\":1700000000,\"text\":\"hi\"," \
    "\"chat\":{\"id\":-1001234567890,\"type\":\"supergroup\",\"title\":\"Pizza\"}," \
    "\"from\":{\"id\":424242,\"is_bot\":false,\"first_name\":\"Ann\"}}}"
#define INLINE_QUERY \
    "{\"update_id\":11,\"inline_query\":{\"id\":\"q1\",\"query\":\"pi\",\"offset\":\"\"," \
    "\"from\":{\"id\":424242,\"is_bot\":false,\"first_name\":\"Ann\"}}}"
#define POLL_UPDATE \
    "{\"update_id\":12,\"poll\":{\"id\":\"p1\",\"question\":\"?\",\"options\":[]}}"

#endif
