/* The enhancer (SPEC §7): grammY's wrapper, expiry, migrations. CONFORMANCE.md items 19-26 and
 * the deliberate differences, observed through a counting store underneath, which shows the
 * exact text stored. */
#include "check.h"

static counting_store c;
static int64_t fake_now = 1000000;
static int64_t fake_clock(void *ud) {
    (void)ud;
    return fake_now;
}

/* Migrations on integers, logging the order they run in. */
static char calls[256];
static int apply(const char *name, const char *old, botsession_buffer *out, long long (*f)(long long)) {
    size_t used = strlen(calls);
    snprintf(calls + used, sizeof calls - used, "%s%s", used ? " " : "", name);
    char next[64];
    snprintf(next, sizeof next, "%lld", f(atoll(old)));
    return botsession_buffer_set(out, next, strlen(next));
}
static long long plus10(long long x) { return x + 10; }
static long long times2(long long x) { return x * 2; }
static long long squared(long long x) { return x * x; }
static int m_plus10(void *ud, const char *old, botsession_buffer *out) { (void)ud; return apply("+10", old, out, plus10); }
static int m_times2(void *ud, const char *old, botsession_buffer *out) { (void)ud; return apply("*2", old, out, times2); }
static int m_squared(void *ud, const char *old, botsession_buffer *out) { (void)ud; return apply("^2", old, out, squared); }
static int m_fails(void *ud, const char *old, botsession_buffer *out) {
    (void)ud; (void)old; (void)out;
    botsession_callback_error("cannot read the old format");
    return 2;
}
static int m_absent(void *ud, const char *old, botsession_buffer *out) { (void)ud; (void)old; (void)out; return 0; }
static int m_garbage(void *ud, const char *old, botsession_buffer *out) { (void)ud; (void)old; return botsession_buffer_set(out, "{oops", 5); }

/* An enhanced store over the counting store (emptied), with the fake clock. */
static botsession_store *enhanced(const char *options) {
    botsession_store *inner, *s;
    counting_reset(&c);
    calls[0] = 0;
    inner = counting_open(&c);
    CHECK_OK(botsession_store_enhance(inner, options, &s));
    botsession_store_close(inner);
    CHECK_OK(botsession_store_set_clock(s, fake_clock, NULL));
    return s;
}

/* Migrations 3, 12, 1 (registered out of order): +10 at 1, *2 at 3, ^2 at 12. */
static void add_three(botsession_store *s) {
    CHECK_OK(botsession_store_add_migration(s, 3, m_times2, NULL));
    CHECK_OK(botsession_store_add_migration(s, 12, m_squared, NULL));
    CHECK_OK(botsession_store_add_migration(s, 1, m_plus10, NULL));
}

static void read_is(botsession_store *s, const char *key, const char *expected) {
    char *json = NULL;
    CHECK_OK(botsession_store_read(s, key, &json));
    CHECK_TAKE_STR(json, expected);
}

static void test_grammy_enhancer(void) {
    botsession_store *s;

    /* 19. The wrapper: {"__d":{"__d":42}} reads as {"__d":42}; writing {"__d":42} stores
     *     {"__d":{"__d":42}}; delete passes through. */
    s = enhanced(NULL);
    counting_put(&c, "k", "{\"__d\":{\"__d\":42}}");
    read_is(s, "k", "{\"__d\":42}");
    CHECK_OK(botsession_store_write(s, "k", "{\"__d\":42}"));
    CHECK_STR(counting_get(&c, "k"), "{\"__d\":{\"__d\":42}}");
    CHECK_OK(botsession_store_delete(s, "k"));
    CHECK(counting_get(&c, "k") == NULL);
    CHECK_STR(c.log, "R k; W k={\"__d\":{\"__d\":42}}; D k; ");
    botsession_store_close(s);

    /* 20. Expiry 50 ms: gone after 100 ms (and deleted underneath); writing again works. */
    s = enhanced("{\"ttl_ms\": 50}");
    CHECK_OK(botsession_store_write(s, "k", "\"v\""));
    char expected[64];
    snprintf(expected, sizeof expected, "{\"__d\":\"v\",\"e\":%lld}", (long long)fake_now + 50);
    CHECK_STR(counting_get(&c, "k"), expected);
    fake_now += 100;
    read_is(s, "k", NULL);
    CHECK(counting_get(&c, "k") == NULL);
    CHECK_OK(botsession_store_write(s, "k", "\"again\""));
    read_is(s, "k", "\"again\"");
    botsession_store_close(s);

    /* 21. Duplicate or non-finite versions are INVALID_OPTION; without migrations, v is ignored. */
    s = enhanced(NULL);
    CHECK_OK(botsession_store_add_migration(s, 1, m_plus10, NULL));
    CHECK_RC(botsession_store_add_migration(s, 1, m_times2, NULL), BOTSESSION_INVALID_OPTION);
    CHECK_ERROR_HAS("already a migration to version 1");
    CHECK_RC(botsession_store_add_migration(s, 0.0 / 0.0, m_times2, NULL), BOTSESSION_INVALID_OPTION);
    CHECK_ERROR_HAS("finite");
    CHECK_RC(botsession_store_add_migration(s, 1.0 / 0.0, m_times2, NULL), BOTSESSION_INVALID_OPTION);
    CHECK_RC(botsession_store_add_migration(s, 2, NULL, NULL), BOTSESSION_MISUSE);
    botsession_store_close(s);
    s = enhanced(NULL);
    counting_put(&c, "k", "{\"v\":99,\"__d\":5}");
    read_is(s, "k", "5");
    botsession_store_close(s);

    /* 22. Absent values never run migrations. */
    s = enhanced(NULL);
    add_three(s);
    read_is(s, "nothing", NULL);
    CHECK_STR(calls, "");

    /* 23. A write stores {"v":<latest>,"__d":<value>}; delete passes through. */
    CHECK_OK(botsession_store_write(s, "k", "{\"a\": 1.50}"));
    CHECK_STR(counting_get(&c, "k"), "{\"v\":12,\"__d\":{\"a\": 1.50}}");
    CHECK_OK(botsession_store_delete(s, "k"));
    CHECK(counting_get(&c, "k") == NULL);

    /* 24. Registered 3, 12, 1; legacy data 0 runs 1, 3, 12: (0 + 10) * 2, squared = 400. */
    counting_put(&c, "k", "0");
    read_is(s, "k", "400");
    CHECK_STR(calls, "+10 *2 ^2");

    /* 25. Data at v3 runs only 12; at v12 nothing; at v8 (no such migration) all above 8. */
    calls[0] = 0;
    counting_put(&c, "k", "{\"v\":3,\"__d\":5}");
    read_is(s, "k", "25");
    CHECK_STR(calls, "^2");
    calls[0] = 0;
    counting_put(&c, "k", "{\"v\":12,\"__d\":5}");
    read_is(s, "k", "5");
    CHECK_STR(calls, "");
    counting_put(&c, "k", "{\"v\":8,\"__d\":5}");
    read_is(s, "k", "25");
    CHECK_STR(calls, "^2");
    /* Reading does not write the migrated value back by itself (the engine does, at commit). */
    CHECK_STR(counting_get(&c, "k"), "{\"v\":8,\"__d\":5}");
    botsession_store_close(s);

    /* 26. Expiry and migrations: legacy 0 reads as 400 and is stamped, migrated, at the latest
     *     version; gone after two lifetimes; written and read again: 42. */
    s = enhanced("{\"ttl_ms\": 50}");
    add_three(s);
    counting_put(&c, "k", "0");
    read_is(s, "k", "400");
    snprintf(expected, sizeof expected, "{\"v\":12,\"__d\":400,\"e\":%lld}", (long long)fake_now + 50);
    CHECK_STR(counting_get(&c, "k"), expected);  /* grammY would write the unmigrated 0 */
    fake_now += 100;
    read_is(s, "k", NULL);
    CHECK_OK(botsession_store_write(s, "k", "42"));
    read_is(s, "k", "42");
    botsession_store_close(s);
}

static void test_differences(void) {
    botsession_store *s;
    char *json = NULL;

    /* Fractional versions run exactly once each, in numeric order (grammY truncates them). */
    s = enhanced(NULL);
    CHECK_OK(botsession_store_add_migration(s, 4, m_squared, NULL));
    CHECK_OK(botsession_store_add_migration(s, 1.5, m_times2, NULL));
    CHECK_OK(botsession_store_add_migration(s, 1, m_plus10, NULL));
    counting_put(&c, "k", "{\"v\":1,\"__d\":1}");
    read_is(s, "k", "4");            /* 1 * 2, squared */
    CHECK_STR(calls, "*2 ^2");
    CHECK_OK(botsession_store_write(s, "w", "0"));
    CHECK_STR(counting_get(&c, "w"), "{\"v\":4,\"__d\":0}");
    calls[0] = 0;
    counting_put(&c, "k", "{\"v\":1.5,\"__d\":3}");
    read_is(s, "k", "9");
    CHECK_STR(calls, "^2");

    /* Newer than the latest migration: MIGRATION, and the data stays as it is. */
    counting_put(&c, "k", "{\"v\":10.1,\"__d\":3}");
    CHECK_RC(botsession_store_read(s, "k", &json), BOTSESSION_MIGRATION);
    CHECK_ERROR_HAS("version 10.1, newer than the latest migration (4)");
    CHECK_STR(counting_get(&c, "k"), "{\"v\":10.1,\"__d\":3}");
    /* A version that is not a number cannot be migrated either. */
    counting_put(&c, "k", "{\"v\":\"2\",\"__d\":3}");
    CHECK_RC(botsession_store_read(s, "k", &json), BOTSESSION_MIGRATION);
    /* Adding a migration after the store was used is MISUSE. */
    CHECK_RC(botsession_store_add_migration(s, 5, m_plus10, NULL), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("before the enhanced store is first used");
    botsession_store_close(s);

    /* A failing migration fails the read with CALLBACK and leaves the stored data untouched. */
    s = enhanced("{\"ttl_ms\": 1000}");
    CHECK_OK(botsession_store_add_migration(s, 1, m_plus10, NULL));
    CHECK_OK(botsession_store_add_migration(s, 2, m_fails, NULL));
    counting_put(&c, "k", "7");
    CHECK_RC(botsession_store_read(s, "k", &json), BOTSESSION_CALLBACK);
    CHECK_ERROR_HAS("the migration to version 2 of the value under key 'k'");
    CHECK_ERROR_HAS("cannot read the old format");
    CHECK_STR(counting_get(&c, "k"), "7");  /* not stamped either */
    CHECK(c.writes == 0);
    botsession_store_close(s);

    /* A migration that leaves its buffer unset: the data reads as absent, later migrations do
     * not run, nothing is stamped or deleted (more in test_dropped_and_null_data). A migration
     * giving invalid JSON: INVALID_JSON. */
    s = enhanced("{\"ttl_ms\": 1000}");
    CHECK_OK(botsession_store_add_migration(s, 1, m_absent, NULL));
    CHECK_OK(botsession_store_add_migration(s, 2, m_plus10, NULL));
    counting_put(&c, "k", "7");
    read_is(s, "k", NULL);
    CHECK_STR(calls, "");
    CHECK_STR(counting_get(&c, "k"), "7");
    botsession_store_close(s);
    s = enhanced(NULL);
    CHECK_OK(botsession_store_add_migration(s, 1, m_garbage, NULL));
    counting_put(&c, "k", "7");
    CHECK_RC(botsession_store_read(s, "k", &json), BOTSESSION_INVALID_JSON);
    CHECK_ERROR_HAS("the result of the migration to version 1");
    botsession_store_close(s);

    /* has and iteration work through the enhancer, without expired entries. */
    s = enhanced("{\"ttl_ms\": 10}");
    add_three(s);
    CHECK_OK(botsession_store_write(s, "a", "1"));
    counting_put(&c, "legacy", "0");
    counting_put(&c, "old", "{\"v\":12,\"__d\":2,\"e\":1}");
    int exists = 0;
    CHECK_OK(botsession_store_has(s, "a", &exists));
    CHECK(exists == 1);
    CHECK_OK(botsession_store_has(s, "old", &exists));
    CHECK(exists == 0);
    botsession_iter *it;
    char *key;
    CHECK_OK(botsession_store_iter(s, NULL, &it));
    int found = 0;
    while (botsession_iter_next(it, &key, &json) == BOTSESSION_OK && key) {
        if (strcmp(key, "a") == 0) { CHECK_STR(json, "1"); found |= 1; }
        else if (strcmp(key, "legacy") == 0) { CHECK_STR(json, "400"); found |= 2; }
        else FAIL("iteration returned %s", key);
        botsession_free(key);
        botsession_free(json);
    }
    botsession_iter_free(it);
    CHECK(found == 3);
    /* An enhancer's options are checked. */
    botsession_store *bad;
    CHECK_RC(botsession_store_enhance(s, "{\"ttl\": 5}", &bad), BOTSESSION_INVALID_OPTION);
    CHECK_ERROR_HAS("unknown option \"ttl\"");
    CHECK_RC(botsession_store_enhance(s, "{\"ttl_ms\": -5}", &bad), BOTSESSION_INVALID_OPTION);
    CHECK_RC(botsession_store_enhance(NULL, NULL, &bad), BOTSESSION_MISUSE);
    CHECK_RC(botsession_store_enhance(s, NULL, NULL), BOTSESSION_MISUSE);
    botsession_store_close(s);
}

/* The engine on an enhanced store: what a migration changed is written back at commit, even
 * when the handler only read it; a lifetime is refreshed for what the handler touched. */
static void test_with_engine(void) {
    botsession_store *s = enhanced("{\"ttl_ms\": 1000}");
    add_three(s);
    botsession_engine *e;
    botsession_update *u;
    char *json;
    CHECK_OK(botsession_engine_new(NULL, &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    const char *update = "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"chat\":{\"id\":8,\"type\":\"private\"}}}";

    /* Data at v3 with an expiry: migrated on read, written back at commit though only read. */
    char stored[96];
    snprintf(stored, sizeof stored, "{\"v\":3,\"__d\":5,\"e\":%lld}", (long long)fake_now + 1000);
    counting_put(&c, "8", stored);
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK_TAKE_STR(json, "25");
    CHECK_OK(botsession_commit(u));
    fake_now += 500;
    char expected[96];
    snprintf(expected, sizeof expected, "{\"v\":12,\"__d\":25,\"e\":%lld}", (long long)fake_now - 500 + 1000);
    CHECK_STR(counting_get(&c, "8"), expected);

    /* Read again 500 ms later: refreshed (lifetime counted from now). Untouched: not refreshed. */
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_get(u, NULL, &json));
    botsession_free(json);
    CHECK_OK(botsession_commit(u));
    snprintf(expected, sizeof expected, "{\"v\":12,\"__d\":25,\"e\":%lld}", (long long)fake_now + 1000);
    CHECK_STR(counting_get(&c, "8"), expected);
    int writes = c.writes;
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_commit(u));
    CHECK(c.writes == writes);

    /* A rollback after a migration writes nothing back. */
    snprintf(stored, sizeof stored, "{\"v\":3,\"__d\":6,\"e\":%lld}", (long long)fake_now + 1000);
    counting_put(&c, "8", stored);
    CHECK_OK(botsession_begin(e, update, &u));
    botsession_rollback(u);
    CHECK_STR(counting_get(&c, "8"), stored);
    botsession_engine_free(e);
    botsession_store_close(s);
}

/* The keys and values an iteration of `s` yields, as "k=v;k=v;" in the order given. */
static void entries_are(botsession_store *s, const char *expected) {
    botsession_iter *it;
    char *key, *json, list[512] = "";
    CHECK_OK(botsession_store_iter(s, NULL, &it));
    while (botsession_iter_next(it, &key, &json) == BOTSESSION_OK && key) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s=%s;", key, json);
        botsession_free(key);
        botsession_free(json);
    }
    botsession_iter_free(it);
    CHECK_STR(list, expected);
}

/* SPEC §7: data a migration drops reads as absent (store_read NULL, has 0, not iterated) but
 * stays stored: an engine's initial value is shown without replacing it, and only a handler's
 * set or clear replaces it, on stores with compare-and-set too (the session keeps the row's
 * version instead of expecting absence, which would conflict forever). Null data is a stored
 * null, as in any store: it reads as "null", and the initial value replaces it at commit. */
static void test_dropped_and_null_data(void) {
    char path[600];
    snprintf(path, sizeof path, "sqlite:%s/absent.db", make_test_dir());
    botsession_store *inner, *s;
    CHECK_OK(botsession_store_open(path, NULL, &inner));
    CHECK_OK(botsession_store_enhance(inner, "{\"ttl_ms\": 60000}", &s));
    CHECK_OK(botsession_store_add_migration(s, 1, m_absent, NULL));
    CHECK_OK(botsession_store_write(inner, "8", "{\"__d\":null,\"e\":99999999999999}"));
    CHECK_OK(botsession_store_write(inner, "9", "5"));  /* legacy data the migration drops */
    CHECK_OK(botsession_store_write(inner, "10", "7"));
    int exists = -1;
    read_is(s, "8", "null");
    CHECK_OK(botsession_store_has(s, "8", &exists));
    CHECK(exists == 1);
    read_is(s, "9", NULL);
    CHECK_OK(botsession_store_has(s, "9", &exists));
    CHECK(exists == 0);
    entries_are(s, "8=null;");
    read_is(inner, "9", "5");  /* reading dropped it for show only */

    botsession_engine *e;
    botsession_update *u;
    char *json;
    CHECK_OK(botsession_engine_new("{\"key\": \"user\", \"initial\": {\"fresh\": true}}", &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    const char *updates[] = {"{\"message\":{\"chat\":{\"id\":1},\"from\":{\"id\":8}}}",
                             "{\"message\":{\"chat\":{\"id\":1},\"from\":{\"id\":9}}}",
                             "{\"message\":{\"chat\":{\"id\":1},\"from\":{\"id\":10}}}"};
    for (int i = 0; i < 2; i++) {
        CHECK_OK(botsession_begin(e, updates[i], &u));
        CHECK_OK(botsession_get(u, NULL, &json));
        CHECK_TAKE_STR(json, "{\"fresh\": true}");
        CHECK_OK(botsession_commit(u));
    }
    read_is(s, "8", "{\"fresh\": true}");  /* the initial value replaced the null */
    read_is(inner, "9", "5");               /* but not the dropped data */
    for (int i = 0; i < 2; i++) {
        CHECK_OK(botsession_begin(e, updates[i], &u));
        CHECK_OK(botsession_set(u, NULL, "{\"set\": 1}"));
        CHECK_OK(botsession_commit(u));
        read_is(s, i == 0 ? "8" : "9", "{\"set\": 1}");
    }
    /* Clearing dropped data deletes it. */
    CHECK_OK(botsession_begin(e, updates[2], &u));
    CHECK_OK(botsession_clear(u));
    CHECK_OK(botsession_commit(u));
    read_is(inner, "10", NULL);
    botsession_engine_free(e);
    botsession_store_close(s);
    botsession_store_close(inner);
}

/* A store whose reads always find the legacy value 5, whatever was written. */
static int stubborn_read(void *ud, const char *key, botsession_buffer *out) {
    (void)ud; (void)key;
    return botsession_buffer_set(out, "5", 1);
}
static int stubborn_write(void *ud, const char *key, const char *json) { (void)ud; (void)key; (void)json; return 0; }
static int stubborn_remove(void *ud, const char *key) { (void)ud; (void)key; return 0; }

/* Expiry housekeeping (SPEC §5, §7): it stands after a rollback; a read that keeps losing its
 * race returns CONFLICT; without ttl_ms, an "e" is ignored. */
static void test_housekeeping(void) {
    char expected[96];

    /* Versions are written as JavaScript writes numbers, so grammY reads the same number. */
    botsession_store *versions = enhanced(NULL);
    CHECK_OK(botsession_store_add_migration(versions, 1e16, m_plus10, NULL));
    CHECK_OK(botsession_store_write(versions, "k", "0"));
    CHECK_STR(counting_get(&c, "k"), "{\"v\":10000000000000000,\"__d\":0}");
    botsession_store_close(versions);
    versions = enhanced(NULL);
    CHECK_OK(botsession_store_add_migration(versions, 1e-7, m_plus10, NULL));
    CHECK_OK(botsession_store_write(versions, "k", "0"));
    CHECK_STR(counting_get(&c, "k"), "{\"v\":1e-7,\"__d\":0}");
    botsession_store_close(versions);
    const char *update = "{\"message\":{\"chat\":{\"id\":8},\"from\":{\"id\":1}}}";

    /* Legacy data is stamped by the read at begin; a rollback leaves the stamp. */
    botsession_store *s = enhanced("{\"ttl_ms\": 1000}");
    botsession_engine *e;
    botsession_update *u;
    CHECK_OK(botsession_engine_new(NULL, &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    counting_put(&c, "8", "4");
    CHECK_OK(botsession_begin(e, update, &u));
    botsession_rollback(u);
    snprintf(expected, sizeof expected, "{\"__d\":4,\"e\":%lld}", (long long)fake_now + 1000);
    CHECK_STR(counting_get(&c, "8"), expected);
    botsession_engine_free(e);
    botsession_store_close(s);

    /* The stamp never reads back (another writer each time): CONFLICT after five attempts, from
     * a direct read and from begin. */
    static const botsession_store_methods stubborn = {
        sizeof(botsession_store_methods), stubborn_read, stubborn_write, stubborn_remove, NULL, NULL, NULL,
    };
    botsession_store *inner;
    char *json = NULL;
    CHECK_OK(botsession_store_custom(&stubborn, NULL, &inner));
    CHECK_OK(botsession_store_enhance(inner, "{\"ttl_ms\": 1000}", &s));
    botsession_store_close(inner);
    CHECK_RC(botsession_store_read(s, "8", &json), BOTSESSION_CONFLICT);
    CHECK_ERROR_HAS("keeps changing while it is read");
    CHECK(json == NULL);
    CHECK_OK(botsession_engine_new(NULL, &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    u = NULL;
    CHECK_RC(botsession_begin(e, update, &u), BOTSESSION_CONFLICT);
    CHECK(u == NULL);
    botsession_engine_free(e);
    botsession_store_close(s);

    /* An enhancer without a clock of its own reads its inner store's. */
    botsession_store *counting = counting_open(&c);
    counting_reset(&c);
    CHECK_OK(botsession_store_set_clock(counting, fake_clock, NULL));
    CHECK_OK(botsession_store_enhance(counting, "{\"ttl_ms\": 1000}", &s));
    botsession_store_close(counting);
    CHECK_OK(botsession_store_write(s, "k", "1"));
    snprintf(expected, sizeof expected, "{\"__d\":1,\"e\":%lld}", (long long)fake_now + 1000);
    CHECK_STR(counting_get(&c, "k"), expected);
    fake_now += 1001;
    read_is(s, "k", NULL);
    botsession_store_close(s);

    /* Without ttl_ms, an expiry in the data is ignored: read, counted by has, never deleted. */
    s = enhanced(NULL);
    counting_put(&c, "k", "{\"__d\":3,\"e\":1}");
    read_is(s, "k", "3");
    int exists = 0;
    CHECK_OK(botsession_store_has(s, "k", &exists));
    CHECK(exists == 1);
    CHECK_STR(counting_get(&c, "k"), "{\"__d\":3,\"e\":1}");
    CHECK(c.deletes == 0);
    botsession_store_close(s);
}

/* A migration whose result is a 3 MiB string. */
static int m_huge(void *ud, const char *old, botsession_buffer *out) {
    (void)ud; (void)old;
    size_t n = 3 << 20;
    char *big = malloc(n);
    memset(big, 'x', n);
    big[0] = big[n - 1] = '"';
    int rc = botsession_buffer_set(out, big, n);
    free(big);
    return rc;
}

/* SPEC §5 and §7 at the edges. */
static void test_edges(void) {
    const char *update = "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"chat\":{\"id\":5,\"type\":\"private\"}}}";
    botsession_engine *e;
    botsession_update *u;
    char *json;

    /* An untouched strict session whose data a migration changed is not written; one the
     * handler read is written back migrated. */
    botsession_store *s = enhanced(NULL);
    CHECK_OK(botsession_store_add_migration(s, 1, m_plus10, NULL));
    counting_put(&c, "5", "1");
    CHECK_OK(botsession_engine_new(NULL, &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_commit(u));
    CHECK(c.writes == 0);
    CHECK_STR(counting_get(&c, "5"), "1");
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK_TAKE_STR(json, "11");
    CHECK_OK(botsession_commit(u));
    CHECK(c.writes == 1);
    CHECK_STR(counting_get(&c, "5"), "{\"v\":1,\"__d\":11}");
    botsession_engine_free(e);
    botsession_store_close(s);

    /* A migration's result is held to the enhancer's max_value_bytes (1 MiB by default): TOO_BIG
     * from store_read and from begin, and nothing is written, with a lifetime too. */
    s = enhanced("{\"ttl_ms\": 60000}");
    CHECK_OK(botsession_store_add_migration(s, 1, m_huge, NULL));
    counting_put(&c, "5", "1");
    CHECK_RC(botsession_store_read(s, "5", &json), BOTSESSION_TOO_BIG);
    CHECK_ERROR_HAS("max_value_bytes");
    CHECK_OK(botsession_engine_new(NULL, &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    u = NULL;
    CHECK_RC(botsession_begin(e, update, &u), BOTSESSION_TOO_BIG);
    CHECK(u == NULL);
    CHECK(c.writes == 0);
    CHECK_STR(counting_get(&c, "5"), "1");
    botsession_engine_free(e);
    botsession_store_close(s);
    s = enhanced("{\"max_value_bytes\": 8}");
    CHECK_OK(botsession_store_add_migration(s, 1, m_plus10, NULL));
    counting_put(&c, "5", "123456789");
    CHECK_RC(botsession_store_read(s, "5", &json), BOTSESSION_TOO_BIG);
    counting_put(&c, "5", "1234567");
    read_is(s, "5", "1234577");
    botsession_store_close(s);
    botsession_store *inner = counting_open(&c);
    CHECK_RC(botsession_store_enhance(inner, "{\"max_value_bytes\": 0}", &s), BOTSESSION_INVALID_OPTION);
    CHECK_RC(botsession_store_enhance(inner, "{\"max_value_bytes\": \"1\"}", &s), BOTSESSION_INVALID_OPTION);
    botsession_store_close(inner);

    /* With no migrations, `v` is ignored, even one that is not a number; with migrations such
     * data cannot be migrated (MIGRATION) and stays as it is. */
    s = enhanced(NULL);
    counting_put(&c, "5", "{\"v\":\"abc\",\"__d\":7}");
    read_is(s, "5", "7");
    botsession_store_close(s);
    s = enhanced(NULL);
    CHECK_OK(botsession_store_add_migration(s, 1, m_plus10, NULL));
    counting_put(&c, "5", "{\"v\":\"abc\",\"__d\":7}");
    CHECK_RC(botsession_store_read(s, "5", &json), BOTSESSION_MIGRATION);
    CHECK_STR(counting_get(&c, "5"), "{\"v\":\"abc\",\"__d\":7}");
    botsession_store_close(s);

    /* Legacy data reads as its text without the whitespace around it, before and after it is
     * stamped into a wrapper (found by make fuzz: two reads gave different text). */
    s = enhanced("{\"ttl_ms\": 1000}");
    counting_put(&c, "5", "\t[2]\n");
    read_is(s, "5", "[2]");
    read_is(s, "5", "[2]");
    botsession_store_close(s);

    /* With expiry, legacy null data is stamped, as grammY stamps it (and reads as null). */
    s = enhanced("{\"ttl_ms\": 1000}");
    counting_put(&c, "5", "null");
    read_is(s, "5", "null");
    char stamped[64];
    snprintf(stamped, sizeof stamped, "{\"__d\":null,\"e\":%lld}", (long long)fake_now + 1000);
    CHECK_STR(counting_get(&c, "5"), stamped);
    botsession_store_close(s);
}

int main(void) {
    test_edges();
    test_grammy_enhancer();
    test_dropped_and_null_data();
    test_housekeeping();
    test_differences();
    test_with_engine();
    counting_reset(&c);
    report_passed("test_enhancer");
    return 0;
}
