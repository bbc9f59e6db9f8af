/* The SQLite store when things go wrong underneath it: another program's lock, a dropped table,
 * data that is not JSON. Each gives a clear status, changes nothing, and the store works again
 * once the cause is gone. Uses libsqlite3 directly as "another program". */
#include "check.h"
#include <sqlite3.h>
#include <time.h>

static sqlite3 *other_program(const char *path) {
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) FAIL("sqlite3_open %s", path);
    return db;
}

static void run(sqlite3 *db, const char *sql) {
    char *error = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &error) != SQLITE_OK) FAIL("%s: %s", sql, error);
}

static const char *update =
    "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"chat\":{\"id\":5,\"type\":\"private\"}}}";

int main(void) {
    make_test_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/failures.db", test_dir);
    const char *uri = sqlite_uri("failures.db");
    botsession_store *s;
    botsession_engine *e;
    botsession_update *u;
    char *json;

    CHECK_OK(botsession_store_open(uri, "{\"busy_timeout_ms\": 50}", &s));
    CHECK_OK(botsession_engine_new("{\"initial\": 0}", &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    CHECK_OK(botsession_store_write(s, "5", "1"));
    sqlite3 *db = other_program(path);

    /* Another program holds the write lock: BUSY after busy_timeout_ms, and nothing changes. */
    run(db, "BEGIN IMMEDIATE");
    CHECK_RC(botsession_store_write(s, "5", "2"), BOTSESSION_BUSY);
    CHECK_ERROR_HAS("busy_timeout_ms");
    CHECK_OK(botsession_begin(e, update, &u));   /* WAL: reading still works */
    CHECK_OK(botsession_set(u, NULL, "3"));
    CHECK_RC(botsession_commit(u), BOTSESSION_BUSY);
    run(db, "ROLLBACK");
    CHECK_OK(botsession_store_read(s, "5", &json));
    CHECK_TAKE_STR(json, "1");
    CHECK_OK(botsession_store_write(s, "5", "2"));

    /* The table disappears: STORAGE; it comes back: the same handles work again. */
    run(db, "DROP TABLE sessions");
    CHECK_RC(botsession_store_read(s, "5", &json), BOTSESSION_STORAGE);
    CHECK_ERROR_HAS("no such table");
    CHECK_RC(botsession_begin(e, update, &u), BOTSESSION_STORAGE);
    CHECK(u == NULL);
    run(db, "CREATE TABLE sessions (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID");
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK_TAKE_STR(json, "0");
    CHECK_OK(botsession_set(u, NULL, "10"));
    CHECK_OK(botsession_commit(u));
    CHECK_OK(botsession_store_read(s, "5", &json));
    CHECK_TAKE_STR(json, "10");

    /* Another program wrote a value that is not JSON: INVALID_JSON naming the key, and the row
     * is left for the operator to inspect. */
    run(db, "UPDATE sessions SET value = 'pizza, not json' WHERE key = '5'");
    CHECK_RC(botsession_store_read(s, "5", &json), BOTSESSION_INVALID_JSON);
    CHECK_ERROR_HAS("the value stored under key '5'");
    CHECK_RC(botsession_begin(e, update, &u), BOTSESSION_INVALID_JSON);
    botsession_iter *it;
    char *key;
    CHECK_OK(botsession_store_iter(s, NULL, &it));
    CHECK_RC(botsession_iter_next(it, &key, &json), BOTSESSION_INVALID_JSON);
    CHECK(key == NULL && json == NULL);
    botsession_iter_free(it);
    /* Deleting it through the store repairs the session. */
    CHECK_OK(botsession_store_delete(s, "5"));
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_commit(u));
    CHECK_OK(botsession_store_read(s, "5", &json));
    CHECK_TAKE_STR(json, "0");

    /* A grammY-style row written by a plain INSERT (no version column given) is read. */
    run(db, "INSERT INTO sessions (key, value) VALUES ('g', '{\"__d\":1}')");
    CHECK_OK(botsession_store_read(s, "g", &json));
    CHECK_TAKE_STR(json, "{\"__d\":1}");

    /* A table made by another program without a version column gets one, keeping its rows. */
    run(db, "CREATE TABLE legacy (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    run(db, "INSERT INTO legacy VALUES ('old', '[1,2,3]')");
    botsession_store *legacy;
    CHECK_OK(botsession_store_open(uri, "{\"table\": \"legacy\"}", &legacy));
    CHECK_OK(botsession_store_read(legacy, "old", &json));
    CHECK_TAKE_STR(json, "[1,2,3]");
    botsession_store_close(legacy);
    /* A table without key and value columns is refused. */
    run(db, "CREATE TABLE unrelated (id INTEGER, name TEXT)");
    CHECK_RC(botsession_store_open(uri, "{\"table\": \"unrelated\"}", &legacy), BOTSESSION_STORAGE);
    CHECK_ERROR_HAS("has no key and value columns");

    /* A table of another program's with a NULL value: it is absent (as in every store), is
     * replaced by a commit, and key iteration goes past it to the end (pages skip NULL rows in
     * SQL). */
    run(db, "CREATE TABLE nullable (key TEXT PRIMARY KEY, value TEXT)");
    run(db, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 599) "
            "INSERT INTO nullable SELECT printf('k%03d', i), CASE i WHEN 5 THEN NULL ELSE '1' END FROM n");
    botsession_store *nullable;
    CHECK_OK(botsession_store_open(uri, "{\"table\": \"nullable\"}", &nullable));
    CHECK_OK(botsession_store_read(nullable, "k005", &json));
    CHECK(json == NULL);
    int listed = 0;
    CHECK_OK(botsession_store_iter(nullable, "k", &it));
    while (botsession_iter_next(it, &key, &json) == BOTSESSION_OK && key) {
        listed++;
        botsession_free(key);
        botsession_free(json);
    }
    botsession_iter_free(it);
    CHECK(listed == 599);
    botsession_engine *on_nullable;
    CHECK_OK(botsession_engine_new("{\"prefix\": \"k00\"}", &on_nullable));
    CHECK_OK(botsession_engine_set_store(on_nullable, NULL, nullable));
    CHECK_OK(botsession_begin(on_nullable, "{\"message\":{\"chat\":{\"id\":5}}}", &u));
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK(json == NULL);
    CHECK_OK(botsession_set(u, NULL, "2"));
    CHECK_OK(botsession_commit(u));
    botsession_engine_free(on_nullable);
    CHECK_OK(botsession_store_read(nullable, "k005", &json));
    CHECK_TAKE_STR(json, "2");
    listed = 0;
    CHECK_OK(botsession_store_iter(nullable, "k", &it));
    while (botsession_iter_next(it, &key, &json) == BOTSESSION_OK && key) {
        listed++;
        botsession_free(key);
        botsession_free(json);
    }
    botsession_iter_free(it);
    CHECK(listed == 600);  /* the replaced row is listed now */
    botsession_store_close(nullable);

    /* A new file held exclusively by another connection: opening gives BUSY after about
     * busy_timeout_ms, not after many times that. */
    char locked_path[600], locked_uri[700];
    snprintf(locked_path, sizeof locked_path, "%s/locked.db", test_dir);
    snprintf(locked_uri, sizeof locked_uri, "sqlite:%s", locked_path);
    sqlite3 *holder = other_program(locked_path);
    run(holder, "PRAGMA locking_mode=EXCLUSIVE");
    run(holder, "BEGIN EXCLUSIVE");
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    botsession_store *blocked = (botsession_store *)1;
    CHECK_RC(botsession_store_open(locked_uri, "{\"busy_timeout_ms\": 300}", &blocked), BOTSESSION_BUSY);
    clock_gettime(CLOCK_MONOTONIC, &b);
    CHECK(blocked == NULL);
    CHECK((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 2000);
    sqlite3_close(holder);

    sqlite3_close(db);
    botsession_engine_free(e);
    botsession_store_close(s);
    report_passed("test_sqlite_failures");
    return 0;
}
