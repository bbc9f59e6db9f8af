/* One store conformance suite, run against every store and each of them enhanced: read, write,
 * delete, has, iteration with and without prefix, absent keys, hostile, unicode and long keys,
 * unicode values, 1 MiB values, bad input, and expiry where configured (SPEC §6). */
#include "check.h"
#include <libpq-fe.h>
#include <sqlite3.h>

static int64_t fake_now = 1700000000000;
static int64_t fake_clock(void *user_data) {
    (void)user_data;
    return fake_now;
}

/* A migration that changes nothing (so enhanced stores carry a version). */
static int same(void *ud, const char *old, botsession_buffer *out) {
    (void)ud;
    return botsession_buffer_set(out, old, strlen(old));
}

static counting_store custom;

/* The stores under test. `ttl` is the lifetime in ms where the store expires values, else 0. */
typedef struct { char name[300]; const char *uri; const char *options; int custom; int enhanced; int ttl; } kind;

static botsession_store *open_kind(const kind *k) {
    botsession_store *s, *inner;
    if (k->custom) {
        counting_reset(&custom);
        inner = counting_open(&custom);
    } else {
        CHECK_OK(botsession_store_open(k->uri, k->options, &inner));
    }
    int inner_expires = k->options && strstr(k->options, "ttl_ms");
    if (inner_expires) CHECK_OK(botsession_store_set_clock(inner, fake_clock, NULL));
    if (!k->enhanced) return inner;
    CHECK_OK(botsession_store_enhance(inner, k->ttl ? "{\"ttl_ms\": 1000}" : NULL, &s));
    botsession_store_close(inner);  /* the enhanced store keeps it */
    CHECK_OK(botsession_store_add_migration(s, 1, same, NULL));
    /* The fake clock, on the inner store where that expires (the enhancer then uses it; that
     * fallback is checked in test_enhancer.c), else on the enhancer. */
    if (!inner_expires) CHECK_OK(botsession_store_set_clock(s, fake_clock, NULL));
    return s;
}

/* "key=value,..." of an iteration, in the store's order. */
static void entries(botsession_store *s, const char *prefix, char *out, size_t size) {
    botsession_iter *it;
    char *key, *json;
    out[0] = 0;
    CHECK_OK(botsession_store_iter(s, prefix, &it));
    while (1) {
        CHECK_OK(botsession_iter_next(it, &key, &json));
        if (!key) break;
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s%s=%s", used ? "," : "", key, json);
        botsession_free(key);
        botsession_free(json);
    }
    botsession_iter_free(it);
}

/* Whether `list` (comma-separated) holds `item`. */
static int holds(const char *list, const char *item) {
    size_t n = strlen(item);
    for (const char *p = list; (p = strstr(p, item)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return 1;
    return 0;
}

static void suite(const kind *k) {
    botsession_store *s = open_kind(k);
    char *json = NULL;
    int exists = -1;
    char list[8192];
    printf("  %s\n", k->name);

    /* Absent keys. */
    CHECK_OK(botsession_store_read(s, "absent", &json));
    CHECK(json == NULL);
    CHECK_OK(botsession_store_has(s, "absent", &exists));
    CHECK(exists == 0);
    CHECK_OK(botsession_store_delete(s, "absent"));

    /* Write, read, has, overwrite, delete; values keep their exact text. */
    const char *exact = "{\"count\": 1, \"pi\": 0.1, \"big\": 123456789012345678901234567890, \"e\": 1E+2}";
    CHECK_OK(botsession_store_write(s, "k1", exact));
    CHECK_OK(botsession_store_read(s, "k1", &json));
    CHECK_TAKE_STR(json, exact);
    CHECK_OK(botsession_store_has(s, "k1", &exists));
    CHECK(exists == 1);
    CHECK_OK(botsession_store_write(s, "k1", "[2]"));
    CHECK_OK(botsession_store_read(s, "k1", &json));
    CHECK_TAKE_STR(json, "[2]");
    CHECK_OK(botsession_store_delete(s, "k1"));
    CHECK_OK(botsession_store_read(s, "k1", &json));
    CHECK(json == NULL);
    CHECK_OK(botsession_store_has(s, "k1", &exists));
    CHECK(exists == 0);

    /* Keys with SQL metacharacters, path parts, quotes, unicode; unicode values. */
    const char *keys[] = {"'; DROP TABLE sessions; --", "a/b/../../c", "..", "../../etc/passwd", "\"quoted\"",
                          "ключ 🍕", "", ".hidden", "%41", "\\", "x..", "-1001234567890", "AbC_-9.z"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char value[64];
        snprintf(value, sizeof value, "{\"i\":%zu,\"s\":\"пицца 🍕\"}", i);
        CHECK_OK(botsession_store_write(s, keys[i], value));
    }
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char value[64];
        snprintf(value, sizeof value, "{\"i\":%zu,\"s\":\"пицца 🍕\"}", i);
        CHECK_OK(botsession_store_read(s, keys[i], &json));
        CHECK_TAKE_STR(json, value);
    }
    /* "%41" and "A" are different keys, whatever the encoding. */
    CHECK_OK(botsession_store_read(s, "A", &json));
    CHECK(json == NULL);
    entries(s, "", list, sizeof list);
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char item[128];
        snprintf(item, sizeof item, "%s={\"i\":%zu,\"s\":\"пицца 🍕\"}", keys[i], i);
        CHECK(holds(list, item));
    }
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) CHECK_OK(botsession_store_delete(s, keys[i]));
    entries(s, "", list, sizeof list);
    CHECK_STR(list, "");

    /* Keys of 1,024 bytes work (plain and not); 1,025 bytes are TOO_BIG; not UTF-8 is MISUSE. */
    char long_key[1026];
    memset(long_key, 'k', 1024);
    long_key[1024] = 0;
    CHECK_OK(botsession_store_write(s, long_key, "1"));
    CHECK_OK(botsession_store_read(s, long_key, &json));
    CHECK_TAKE_STR(json, "1");
    memset(long_key, '/', 1024);
    CHECK_OK(botsession_store_write(s, long_key, "2"));
    CHECK_OK(botsession_store_read(s, long_key, &json));
    CHECK_TAKE_STR(json, "2");
    CHECK_OK(botsession_store_has(s, long_key, &exists));
    CHECK(exists == 1);
    entries(s, "////", list, sizeof list);
    CHECK(strlen(list) == 1024 + 2);
    CHECK_OK(botsession_store_delete(s, long_key));
    memset(long_key, 'k', 1024);
    CHECK_OK(botsession_store_delete(s, long_key));
    long_key[1024] = 'k';
    long_key[1025] = 0;
    CHECK_RC(botsession_store_write(s, long_key, "1"), BOTSESSION_TOO_BIG);
    CHECK_RC(botsession_store_read(s, long_key, &json), BOTSESSION_TOO_BIG);
    CHECK_RC(botsession_store_write(s, "bad\xff", "1"), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("not valid UTF-8");

    /* Bad values change nothing. */
    CHECK_OK(botsession_store_write(s, "keep", "{\"a\":1}"));
    const char *bad_values[] = {"", "{", "{\"a\":}", "[1,]", "nul", "01", "1.", "\"\x01\"", "\"\xc3\x28\"",
                                "{} x", "\xef\xbb\xbf{}", "{'a':1}", "NaN"};
    for (size_t i = 0; i < sizeof bad_values / sizeof *bad_values; i++)
        CHECK_RC(botsession_store_write(s, "keep", bad_values[i]), BOTSESSION_INVALID_JSON);
    CHECK_OK(botsession_store_read(s, "keep", &json));
    CHECK_TAKE_STR(json, "{\"a\":1}");
    CHECK_OK(botsession_store_delete(s, "keep"));

    /* NULL arguments. */
    botsession_iter *it = NULL;
    CHECK_RC(botsession_store_read(s, NULL, &json), BOTSESSION_MISUSE);
    CHECK_RC(botsession_store_read(s, "k", NULL), BOTSESSION_MISUSE);
    CHECK_RC(botsession_store_write(s, "k", NULL), BOTSESSION_MISUSE);
    CHECK_RC(botsession_store_delete(s, NULL), BOTSESSION_MISUSE);
    CHECK_RC(botsession_store_has(s, "k", NULL), BOTSESSION_MISUSE);
    CHECK_RC(botsession_store_iter(s, NULL, NULL), BOTSESSION_MISUSE);

    /* Iteration: everything, a prefix, nothing; entries that exist throughout are each returned
     * once even when another is deleted meanwhile (which may or may not be returned). */
    CHECK_OK(botsession_store_write(s, "chat:2", "2"));
    CHECK_OK(botsession_store_write(s, "user:1", "10"));
    CHECK_OK(botsession_store_write(s, "chat:1", "1"));
    CHECK_OK(botsession_store_write(s, "chat", "0"));
    entries(s, "chat:", list, sizeof list);
    CHECK(holds(list, "chat:1=1") && holds(list, "chat:2=2") && strlen(list) == strlen("chat:1=1,chat:2=2"));
    entries(s, NULL, list, sizeof list);
    CHECK(holds(list, "chat=0") && holds(list, "user:1=10") && strlen(list) == strlen("chat:1=1,chat:2=2,user:1=10,chat=0"));
    entries(s, "nobody", list, sizeof list);
    CHECK_STR(list, "");
    char *key;
    CHECK_OK(botsession_store_iter(s, NULL, &it));
    CHECK_OK(botsession_store_delete(s, "user:1"));
    int seen_user = 0, seen_others = 0;
    while (botsession_iter_next(it, &key, &json) == BOTSESSION_OK && key) {
        if (strcmp(key, "user:1") == 0) seen_user++;
        else seen_others++;
        botsession_free(key);
        botsession_free(json);
    }
    botsession_iter_free(it);
    CHECK(seen_others == 3 && seen_user <= 1);
    CHECK_OK(botsession_store_delete(s, "chat:1"));
    CHECK_OK(botsession_store_delete(s, "chat:2"));
    CHECK_OK(botsession_store_delete(s, "chat"));

    /* A 1 MiB value, exactly. */
    size_t size = 1 << 20;
    char *big = malloc(size + 1);
    big[0] = '"';
    for (size_t i = 1; i < size - 1; i++) big[i] = (char)('a' + i % 26);
    big[size - 1] = '"';
    big[size] = 0;
    CHECK_OK(botsession_store_write(s, "big", big));
    CHECK_OK(botsession_store_read(s, "big", &json));
    CHECK(json && strlen(json) == size && memcmp(json, big, size) == 0);
    botsession_free(json);
    CHECK_OK(botsession_store_delete(s, "big"));
    free(big);

    /* Expiry, where configured (the lifetime is 1000 ms on every expiring store here). */
    if (k->ttl) {
        CHECK_OK(botsession_store_write(s, "x", "1"));
        CHECK_OK(botsession_store_write(s, "y", "2"));
        fake_now += 1000;                  /* exactly the lifetime: still there */
        CHECK_OK(botsession_store_read(s, "x", &json));
        CHECK_TAKE_STR(json, "1");
        CHECK_OK(botsession_store_write(s, "y", "3"));
        fake_now += 1;                     /* x has expired; y was written again */
        CHECK_OK(botsession_store_read(s, "x", &json));
        CHECK(json == NULL);
        CHECK_OK(botsession_store_has(s, "x", &exists));
        CHECK(exists == 0);
        entries(s, NULL, list, sizeof list);
        CHECK_STR(list, "y=3");
        fake_now += 1000;
        CHECK_OK(botsession_store_has(s, "y", &exists));
        CHECK(exists == 0);
        entries(s, NULL, list, sizeof list);
        CHECK_STR(list, "");
        CHECK_OK(botsession_store_write(s, "x", "4"));   /* writing again works */
        CHECK_OK(botsession_store_read(s, "x", &json));
        CHECK_TAKE_STR(json, "4");
        CHECK_OK(botsession_store_delete(s, "x"));
        CHECK_OK(botsession_store_delete(s, "y"));
    }
    botsession_store_close(s);
}

/* A row whose value is SQL NULL (a table of another program's, or grammY's PostgreSQL table,
 * allows one) is absent, on every store that can hold one: read gives none, has 0, iteration
 * skips it, and an update starts from its initial value and replaces it. Plain and enhanced.
 * `insert_null` puts the row `key` with a NULL value; `raw` reads the row's value as SQL sees
 * it. */
static void null_rows(const char *name, botsession_store *s, void (*insert_null)(const char *key),
                      char *(*raw)(const char *key)) {
    for (int enhanced = 0; enhanced <= 1; enhanced++) {
        botsession_store *t = s;
        if (enhanced) CHECK_OK(botsession_store_enhance(s, NULL, &t));
        const char *key = enhanced ? "-2" : "-1";
        insert_null(key);
        char *json = (char *)1, *found;
        int exists = -1;
        CHECK_OK(botsession_store_read(t, key, &json));
        CHECK(json == NULL);
        CHECK_OK(botsession_store_has(t, key, &exists));
        CHECK(exists == 0);
        botsession_iter *it;
        CHECK_OK(botsession_store_iter(t, "", &it));
        while (botsession_iter_next(it, &found, &json) == BOTSESSION_OK && found) {
            if (strcmp(found, key) == 0) FAIL("%s: iteration lists the NULL row", name);
            botsession_free(found);
            botsession_free(json);
        }
        botsession_iter_free(it);
        botsession_engine *e;
        CHECK_OK(botsession_engine_new("{\"initial\": {\"n\": 0}}", &e));
        CHECK_OK(botsession_engine_set_store(e, NULL, t));
        char update[128];
        snprintf(update, sizeof update, "{\"message\":{\"chat\":{\"id\":%s}}}", key);
        botsession_update *u;
        CHECK_OK(botsession_begin(e, update, &u));
        CHECK_OK(botsession_get(u, NULL, &json));
        CHECK_TAKE_STR(json, "{\"n\": 0}");
        CHECK_OK(botsession_commit(u));
        CHECK_OK(botsession_store_read(t, key, &json));
        CHECK_TAKE_STR(json, "{\"n\": 0}");
        char *value = raw(key);
        CHECK(value != NULL);
        free(value);
        botsession_engine_free(e);
        if (enhanced) botsession_store_close(t);
    }
    printf("  %s: a NULL value is absent\n", name);
}

static sqlite3 *nullable_db;
static void sqlite_insert_null(const char *key) {
    char sql[200];
    snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO nullable (key, value) VALUES ('%s', NULL)", key);
    CHECK(sqlite3_exec(nullable_db, sql, NULL, NULL, NULL) == SQLITE_OK);
}
static char *sqlite_raw(const char *key) {
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(nullable_db, "SELECT value FROM nullable WHERE key = ?1", -1, &st, NULL) == SQLITE_OK);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    char *out = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

static PGconn *postgres_conn;
static void postgres_insert_null(const char *key) {
    const char *values[] = {key};
    PGresult *r = PQexecParams(postgres_conn, "INSERT INTO suite_sessions (key, value) VALUES ($1, NULL) "
                               "ON CONFLICT (key) DO UPDATE SET value = NULL", 1, NULL, values, NULL, NULL, 0);
    CHECK(PQresultStatus(r) == PGRES_COMMAND_OK);
    PQclear(r);
}
static char *postgres_raw(const char *key) {
    const char *values[] = {key};
    PGresult *r = PQexecParams(postgres_conn, "SELECT value FROM suite_sessions WHERE key = $1", 1, NULL, values, NULL, NULL, 0);
    char *out = NULL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) out = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return out;
}

static void sql_null_rows(const char *postgres_uri) {
    char path[300], uri[320];
    snprintf(path, sizeof path, "%s/nullable.db", test_dir);
    snprintf(uri, sizeof uri, "sqlite:%s", path);
    CHECK(sqlite3_open(path, &nullable_db) == SQLITE_OK);
    CHECK(sqlite3_exec(nullable_db, "CREATE TABLE nullable (key TEXT PRIMARY KEY, value TEXT)", NULL, NULL, NULL) == SQLITE_OK);
    botsession_store *s;
    CHECK_OK(botsession_store_open(uri, "{\"table\": \"nullable\"}", &s));
    null_rows("sqlite:FILE", s, sqlite_insert_null, sqlite_raw);
    botsession_store_close(s);
    sqlite3_close(nullable_db);
    if (!postgres_uri) return;
    CHECK_OK(botsession_store_open(postgres_uri, "{\"table\": \"suite_sessions\"}", &s));
    postgres_conn = PQconnectdb(postgres_uri);
    CHECK(PQstatus(postgres_conn) == CONNECTION_OK);
    null_rows("postgresql", s, postgres_insert_null, postgres_raw);
    PQfinish(postgres_conn);
    botsession_store_close(s);
}

int main(void) {
    make_test_dir();
    kind kinds[] = {
        {"memory:", "memory:", NULL, 0, 0, 0},
        {"memory: with ttl_ms", "memory:", "{\"ttl_ms\": 1000}", 0, 0, 1000},
        {"", NULL, NULL, 0, 0, 0},  /* sqlite:FILE, filled in below */
        {"sqlite::memory:", "sqlite::memory:", NULL, 0, 0, 0},
        {"", NULL, NULL, 0, 0, 0},  /* file:DIR */
        {"custom store in C", NULL, NULL, 1, 0, 0},
    };
    static char sqlite[300], file[300];
    snprintf(sqlite, sizeof sqlite, "sqlite:%s/suite.db", test_dir);
    snprintf(file, sizeof file, "file:%s/suite-files", test_dir);
    kinds[2].uri = sqlite;
    snprintf(kinds[2].name, sizeof kinds[2].name, "sqlite:FILE");
    kinds[4].uri = file;
    snprintf(kinds[4].name, sizeof kinds[4].name, "file:DIR");

    size_t n = sizeof kinds / sizeof *kinds;
    /* PostgreSQL, when a test server runs (make test starts one). */
    kind postgres = {"postgresql", postgres_test_uri("test_store_suite"), "{\"table\": \"suite_sessions\"}", 0, 0, 0};
    for (size_t i = 0; i < n; i++) suite(&kinds[i]);
    if (postgres.uri) suite(&postgres);
    /* Each of them enhanced, with a lifetime and a migration (its own clock). */
    for (size_t i = 0; i <= n; i++) {
        if (i == n && !postgres.uri) break;
        kind enhanced = i < n ? kinds[i] : postgres;
        snprintf(enhanced.name, sizeof enhanced.name, "enhanced %.200s", i < n ? kinds[i].name : postgres.name);
        enhanced.enhanced = 1;
        enhanced.ttl = 1000;
        if (i == n) enhanced.options = "{\"table\": \"suite_enhanced\"}";
        suite(&enhanced);
    }
    sql_null_rows(postgres.uri);
    counting_reset(&custom);
    report_passed("test_store_suite");
    return 0;
}
