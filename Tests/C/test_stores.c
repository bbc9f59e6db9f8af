/* What is particular to each store: memory order and expiry options, SQLite files and options,
 * custom store callbacks and method tables, URIs and their errors. The behaviour all stores share
 * is in test_store_suite.c. */
#include "check.h"
#include <sys/stat.h>

/* Collects the keys of an iteration into one comma-separated string. */
static void iterate_keys(botsession_store *s, const char *prefix, char *out, size_t size) {
    botsession_iter *it;
    char *key;
    out[0] = 0;
    CHECK_OK(botsession_store_iter(s, prefix, &it));
    while (botsession_iter_next(it, &key, NULL) == BOTSESSION_OK && key) {
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s%s", used ? "," : "", key);
        botsession_free(key);
    }
    botsession_iter_free(it);
}

static int64_t fake_now;
static int64_t fake_clock(void *user_data) {
    (void)user_data;
    return fake_now;
}

static void test_memory_store(void) {
    botsession_store *s;
    char *json;
    int exists;
    char order[256];

    CHECK_OK(botsession_store_open("memory:", NULL, &s));

    /* Iteration in insertion order; overwriting keeps the position. */
    CHECK_OK(botsession_store_write(s, "b", "1"));
    CHECK_OK(botsession_store_write(s, "a", "1"));
    CHECK_OK(botsession_store_write(s, "c", "1"));
    CHECK_OK(botsession_store_write(s, "b", "2"));
    iterate_keys(s, "", order, sizeof order);
    CHECK_STR(order, "b,a,c");
    botsession_store_close(s);

    /* Expiry with a clock the test controls. */
    CHECK_OK(botsession_store_open("memory:", "{\"ttl_ms\": 50}", &s));
    CHECK_OK(botsession_store_set_clock(s, fake_clock, NULL));
    fake_now = 1000000;
    CHECK_OK(botsession_store_write(s, "x", "{\"v\":1}"));
    CHECK_OK(botsession_store_write(s, "y", "{\"v\":2}"));
    fake_now += 50;  /* exactly the lifetime: still there */
    CHECK_OK(botsession_store_read(s, "x", &json));
    CHECK_TAKE_STR(json, "{\"v\":1}");
    CHECK_OK(botsession_store_write(s, "y", "{\"v\":3}"));  /* refreshed */
    fake_now += 1;  /* x expired, y not */
    CHECK_OK(botsession_store_read(s, "x", &json));
    CHECK(json == NULL);
    CHECK_OK(botsession_store_has(s, "x", &exists));
    CHECK(exists == 0);
    iterate_keys(s, "", order, sizeof order);
    CHECK_STR(order, "y");
    fake_now += 100;  /* everything expired: invisible to has and iteration */
    CHECK_OK(botsession_store_has(s, "y", &exists));
    CHECK(exists == 0);
    iterate_keys(s, "", order, sizeof order);
    CHECK_STR(order, "");
    /* Writing again works. */
    CHECK_OK(botsession_store_write(s, "x", "5"));
    CHECK_OK(botsession_store_read(s, "x", &json));
    CHECK_TAKE_STR(json, "5");
    /* Back to the system clock: the fake time was in 1970, so the value has long expired. */
    CHECK_OK(botsession_store_set_clock(s, NULL, NULL));
    CHECK_OK(botsession_store_read(s, "x", &json));
    CHECK(json == NULL);
    botsession_store_close(s);

    /* Options. */
    /* ttl_ms 0 is refused (grammY's MemorySessionStorage(0) keeps nothing; README, "Differences
     * from grammY"): leave it out to keep sessions forever. */
    s = (botsession_store *)1;
    CHECK_RC(botsession_store_open("memory:", "{\"ttl_ms\": 0}", &s), BOTSESSION_INVALID_OPTION);
    CHECK_ERROR_HAS("\"ttl_ms\" must be a whole number from 1 to");
    CHECK(s == NULL);
    CHECK_RC(botsession_store_open("memory:", "{\"ttl_ms\": \"60\"}", &s), BOTSESSION_INVALID_OPTION);
    CHECK_ERROR_HAS("must be a whole number");
    CHECK_RC(botsession_store_open("memory:", "{\"ttl_ms\": 1.5}", &s), BOTSESSION_INVALID_OPTION);
    CHECK_RC(botsession_store_open("memory:", "{\"ttl\": 60}", &s), BOTSESSION_INVALID_OPTION);
    CHECK_ERROR_HAS("unknown option \"ttl\"");
    CHECK_RC(botsession_store_open("memory:", "{\"ttl_ms\": 1, \"ttl_ms\": 2}", &s), BOTSESSION_INVALID_OPTION);
    CHECK_ERROR_HAS("twice");
    CHECK_RC(botsession_store_open("memory:", "[]", &s), BOTSESSION_INVALID_OPTION);
    CHECK_ERROR_HAS("must be a JSON object");
    CHECK_RC(botsession_store_open("memory:", "{\"ttl_ms\": ", &s), BOTSESSION_INVALID_JSON);
    CHECK(s == NULL);
}

static void test_sqlite_store(void) {
    botsession_store *s, *s2;
    char *json;
    char order[256];
    const char *uri = sqlite_uri("sessions.db");

    CHECK_OK(botsession_store_open(uri, NULL, &s));

    /* Iteration in key byte order. */
    CHECK_OK(botsession_store_write(s, "b", "1"));
    CHECK_OK(botsession_store_write(s, "a", "1"));
    CHECK_OK(botsession_store_write(s, "c", "1"));
    iterate_keys(s, "", order, sizeof order);
    CHECK_STR(order, "a,b,c");

    /* Many keys: iteration crosses pages and sees each key once. */
    for (int i = 0; i < 700; i++) {
        char key[32];
        snprintf(key, sizeof key, "many:%04d", i);
        CHECK_OK(botsession_store_write(s, key, "0"));
    }
    botsession_iter *it;
    char *key, *previous = NULL;
    int count = 0;
    CHECK_OK(botsession_store_iter(s, "many:", &it));
    while (botsession_iter_next(it, &key, &json) == BOTSESSION_OK && key) {
        if (previous) CHECK(strcmp(previous, key) < 0);
        botsession_free(previous);
        previous = key;
        botsession_free(json);
        count++;
    }
    botsession_free(previous);
    botsession_iter_free(it);
    CHECK(count == 700);

    /* A second handle on the same file sees the same data; data persists after close. */
    CHECK_OK(botsession_store_open(uri, NULL, &s2));
    CHECK_OK(botsession_store_write(s, "shared", "{\"x\":1}"));
    CHECK_OK(botsession_store_read(s2, "shared", &json));
    CHECK_TAKE_STR(json, "{\"x\":1}");
    botsession_store_close(s2);
    /* An iterator keeps its store alive after close. */
    CHECK_OK(botsession_store_iter(s, "shared", &it));
    botsession_store_close(s);
    CHECK_OK(botsession_iter_next(it, &key, &json));
    CHECK_TAKE_STR(key, "shared");
    CHECK_TAKE_STR(json, "{\"x\":1}");
    botsession_iter_free(it);
    CHECK_OK(botsession_store_open(uri, "{\"synchronous\": \"full\", \"busy_timeout_ms\": 100}", &s));
    CHECK_OK(botsession_store_read(s, "shared", &json));
    CHECK_TAKE_STR(json, "{\"x\":1}");
    botsession_store_close(s);

    /* Another table in the same file is separate. */
    CHECK_OK(botsession_store_open(uri, "{\"table\": \"other_sessions\"}", &s2));
    CHECK_OK(botsession_store_read(s2, "shared", &json));
    CHECK(json == NULL);
    botsession_store_close(s2);

    /* sqlite::memory: is private to its store. */
    CHECK_OK(botsession_store_open("sqlite::memory:", NULL, &s));
    CHECK_OK(botsession_store_open("sqlite::memory:", NULL, &s2));
    CHECK_OK(botsession_store_write(s, "private", "1"));
    CHECK_OK(botsession_store_read(s2, "private", &json));
    CHECK(json == NULL);
    botsession_store_close(s);
    botsession_store_close(s2);

    /* Options and bad paths. */
    CHECK_RC(botsession_store_open(uri, "{\"table\": \"x\\\"; DROP TABLE sessions; --\"}", &s), BOTSESSION_INVALID_OPTION);
    /* SQLite's own names (found by make fuzz: it was STORAGE). */
    CHECK_RC(botsession_store_open(uri, "{\"table\": \"SQLite_sessions\"}", &s), BOTSESSION_INVALID_OPTION);
    CHECK_ERROR_HAS("reserved by SQLite");
    CHECK_ERROR_HAS("table name");
    CHECK_RC(botsession_store_open(uri, "{\"table\": \"\"}", &s), BOTSESSION_INVALID_OPTION);
    CHECK_RC(botsession_store_open(uri, "{\"synchronous\": \"sometimes\"}", &s), BOTSESSION_INVALID_OPTION);
    CHECK_ERROR_HAS("synchronous");
    CHECK_RC(botsession_store_open(uri, "{\"ttl_ms\": 10}", &s), BOTSESSION_INVALID_OPTION);
    CHECK_ERROR_HAS("unknown option \"ttl_ms\"");
    CHECK_RC(botsession_store_open("sqlite:", NULL, &s), BOTSESSION_INVALID_OPTION);
    CHECK_ERROR_HAS("needs a path");
    char missing_dir[512];
    snprintf(missing_dir, sizeof missing_dir, "sqlite:%s/no/such/dir/s.db", test_dir);
    CHECK_RC(botsession_store_open(missing_dir, NULL, &s), BOTSESSION_STORAGE);
    CHECK_ERROR_HAS("cannot open SQLite database");
    CHECK(s == NULL);

    /* A file that is not a database: STORAGE, and the file is left as it was. */
    char garbage_path[512];
    snprintf(garbage_path, sizeof garbage_path, "%s/garbage.db", test_dir);
    FILE *f = fopen(garbage_path, "w");
    for (int i = 0; i < 300; i++) fputs("this is not a database, it is a pizza menu\n", f);
    fclose(f);
    struct stat before, after;
    stat(garbage_path, &before);
    char garbage_uri[600];
    snprintf(garbage_uri, sizeof garbage_uri, "sqlite:%s", garbage_path);
    CHECK_RC(botsession_store_open(garbage_uri, NULL, &s), BOTSESSION_STORAGE);
    CHECK_ERROR_HAS("not a SQLite database");
    stat(garbage_path, &after);
    CHECK(before.st_size == after.st_size);
}

static int failing_has(void *ud, const char *key, int *exists_out) {
    (void)ud; (void)key; (void)exists_out;
    botsession_callback_error("has is broken");
    return 42;
}

static int bad_read(void *ud, const char *key, botsession_buffer *out) {
    (void)ud; (void)key;
    return botsession_buffer_set(out, "{not json", 9);
}

static int bad_keys(void *ud, const char *prefix, botsession_buffer *out) {
    (void)ud; (void)prefix;
    return botsession_buffer_set(out, "[1, 2]", 6);
}

static void test_custom_store(void) {
    counting_store c = {0};
    botsession_store *s = counting_open(&c);
    char *json;
    int exists;

    /* has falls back to read. */
    counting_reset(&c);
    counting_put(&c, "h", "1");
    CHECK_OK(botsession_store_has(s, "h", &exists));
    CHECK(exists == 1 && c.reads == 1);

    /* A failing callback: CALLBACK, with what the callback said. */
    c.fail_next = 7;
    CHECK_RC(botsession_store_read(s, "h", &json), BOTSESSION_CALLBACK);
    CHECK_ERROR_HAS("read callback");
    CHECK_ERROR_HAS("returned 7");
    CHECK_ERROR_HAS("the disk is on fire");
    c.fail_next = 3;
    CHECK_RC(botsession_store_write(s, "h", "2"), BOTSESSION_CALLBACK);
    CHECK_ERROR_HAS("write callback");
    /* What a callback said does not leak into the next failure. */
    CHECK(!strstr(botsession_last_error(), "fire"));
    c.fail_next = 3;
    CHECK_RC(botsession_store_delete(s, "h"), BOTSESSION_CALLBACK);
    CHECK_STR(counting_get(&c, "h"), "1");

    /* release: once, only when the last user is gone. */
    botsession_iter *it;
    CHECK_OK(botsession_store_iter(s, NULL, &it));
    botsession_store_close(s);
    CHECK(c.released == 0);
    botsession_iter_free(it);
    CHECK(c.released == 1);
    counting_reset(&c);

    /* A store with has but no keys; a read that returns invalid JSON; bad key lists. */
    botsession_store_methods methods = {sizeof(botsession_store_methods), bad_read, counting_write,
                                        counting_remove, failing_has, NULL, NULL};
    CHECK_OK(botsession_store_custom(&methods, &c, &s));
    CHECK_RC(botsession_store_read(s, "x", &json), BOTSESSION_INVALID_JSON);
    CHECK_ERROR_HAS("read callback result");
    CHECK_RC(botsession_store_has(s, "x", &exists), BOTSESSION_CALLBACK);
    CHECK_ERROR_HAS("has is broken");
    CHECK_RC(botsession_store_iter(s, NULL, &it), BOTSESSION_ERROR);
    CHECK_ERROR_HAS("without a keys callback");
    CHECK(it == NULL);
    botsession_store_close(s);
    methods.keys = bad_keys;
    CHECK_OK(botsession_store_custom(&methods, &c, &s));
    CHECK_RC(botsession_store_iter(s, NULL, &it), BOTSESSION_CALLBACK);
    CHECK_ERROR_HAS("array of strings");
    botsession_store_close(s);

    /* A struct from an older header (no has/keys/release) works: size tells what is there. */
    botsession_store_methods old = {offsetof(botsession_store_methods, has), counting_read,
                                    counting_write, counting_remove, failing_has, NULL, counting_release};
    CHECK_OK(botsession_store_custom(&old, &c, &s));
    counting_put(&c, "o", "1");
    CHECK_OK(botsession_store_has(s, "o", &exists));  /* has beyond size: read answers */
    CHECK(exists == 1);
    int released_before = c.released;
    botsession_store_close(s);
    CHECK(c.released == released_before);  /* release beyond size: not called */

    /* Bad method tables. */
    botsession_store_methods missing = {sizeof(botsession_store_methods), counting_read, counting_write, NULL, NULL, NULL, NULL};
    CHECK_RC(botsession_store_custom(&missing, &c, &s), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("read, write and remove");
    botsession_store_methods small = {8, counting_read, counting_write, counting_remove, NULL, NULL, NULL};
    CHECK_RC(botsession_store_custom(&small, &c, &s), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("sizeof(botsession_store_methods)");
    CHECK_RC(botsession_store_custom(NULL, &c, &s), BOTSESSION_MISUSE);
    CHECK_RC(botsession_store_custom(&methods, &c, NULL), BOTSESSION_MISUSE);

    /* A struct from a newer header: larger, with a member this library does not know. A set
     * member would be dropped: MISUSE naming both sizes and the library's version, no store
     * made, release not called. Zero bytes beyond the known members are fine. */
    struct {
        botsession_store_methods known;
        void *newer_member;
        void *newer_member_2;
    } newer = {{sizeof newer, counting_read, counting_write, counting_remove, NULL, counting_keys,
                counting_release}, NULL, (void *)counting_read};
    int released = c.released;
    s = (botsession_store *)1;
    CHECK_RC(botsession_store_custom(&newer.known, &c, &s), BOTSESSION_MISUSE);
    CHECK(s == NULL);
    CHECK(c.released == released);
    CHECK_ERROR_HAS("built against a newer header of BotSession than 0.1.0");
    char expected[200];
    snprintf(expected, sizeof expected, "methods->size is %zu bytes and a member at byte %zu is set",
             sizeof newer, sizeof(botsession_store_methods) + sizeof(void *));
    CHECK_ERROR_HAS(expected);
    snprintf(expected, sizeof expected, "knows botsession_store_methods of %zu bytes", sizeof(botsession_store_methods));
    CHECK_ERROR_HAS(expected);
    newer.newer_member_2 = NULL;
    CHECK_OK(botsession_store_custom(&newer.known, &c, &s));
    CHECK_OK(botsession_store_write(s, "n", "1"));
    CHECK_STR(counting_get(&c, "n"), "1");
    botsession_store_close(s);
    CHECK(c.released == released + 1);
    /* A size no header has (an uninitialised size): refused without reading beyond. */
    botsession_store_methods garbage = methods;
    garbage.size = (size_t)1 << 40;
    CHECK_RC(botsession_store_custom(&garbage, &c, &s), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("which no version of botsession_store_methods has");
    /* Too small to hold read, write and remove. */
    garbage.size = offsetof(botsession_store_methods, remove);
    CHECK_RC(botsession_store_custom(&garbage, &c, &s), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("set it to sizeof(botsession_store_methods)");
    counting_reset(&c);
}

static void test_open_errors(void) {
    botsession_store *s = (botsession_store *)1, *inner;
    CHECK_RC(botsession_store_open("redis://localhost", NULL, &s), BOTSESSION_INVALID_OPTION);
    CHECK_ERROR_HAS("unknown store URI scheme 'redis'");
    CHECK(s == NULL);
    CHECK_RC(botsession_store_open("sqlite:/tmp/\xff\xfe.db", NULL, &s), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("not valid UTF-8");
    CHECK_RC(botsession_store_open("mysql://root:hunter2@db/x", NULL, &s), BOTSESSION_INVALID_OPTION);
    CHECK(!strstr(botsession_last_error(), "hunter2"));
    /* URIs libpq cannot parse: INVALID_OPTION, and libpq's message (which quotes the URI) is not
     * passed on. */
    const char *malformed[] = {"postgresql://bot:s3cret@[::1/db", "postgresql://bot:s3cr%zzet@host/db",
                               "postgresql://bot:s3cret@[::1]x/db"};
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        CHECK_RC(botsession_store_open(malformed[i], NULL, &s), BOTSESSION_INVALID_OPTION);
        CHECK_ERROR_HAS("malformed");
        CHECK(!strstr(botsession_last_error(), "s3cr"));
    }
    CHECK_RC(botsession_store_open("postgresql://u:secret@127.0.0.1:1/db", NULL, &s), BOTSESSION_STORAGE);
    CHECK_ERROR_HAS("cannot connect to PostgreSQL at 127.0.0.1:1/db");
    CHECK(!strstr(botsession_last_error(), "secret"));

    /* Migrations only go to enhanced stores. */
    CHECK_OK(botsession_store_open("memory:", NULL, &inner));
    CHECK_RC(botsession_store_add_migration(inner, 1, NULL, NULL), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("not enhanced");
    CHECK_RC(botsession_store_add_migration(NULL, 1, NULL, NULL), BOTSESSION_MISUSE);
    botsession_store_close(inner);
}

int main(void) {
    make_test_dir();
    test_memory_store();
    test_sqlite_store();
    test_custom_store();
    test_open_errors();
    report_passed("test_stores");
    return 0;
}
