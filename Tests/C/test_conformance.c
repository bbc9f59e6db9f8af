/*
 * CONFORMANCE.md, item by item: grammY's own session test suite in BotSession's terms. A grammY
 * "update handler" is the code between botsession_begin and botsession_commit; "the handler
 * throws" is botsession_rollback. Stores are observed through a counting custom store.
 *
 * Items 1-18 and 27-29 are here; 19-26 (the enhancer) are in test_enhancer.c. The deliberate
 * differences are tested where the behaviour lives: a stored null and absent reads without I/O
 * in test_update.c (commit table), copied values in test_update.c, expired entries in
 * test_store_suite.c, fractional and newer versions in test_enhancer.c, duplicate fragment keys
 * and key functions without a key in test_engine.c, lost writes in test_threads.c, poll_answer
 * users in the Swift tests (KeyResolutionTests); lazy fragments and clear without a key are here.
 */
#include "check.h"

#define CHAT_KEY "-1001234567890"

static counting_store c;


static char *get(botsession_update *u, const char *fragment) {
    char *json = NULL;
    CHECK_OK(botsession_get(u, fragment, &json));
    return json;
}

/* 2 and 9: a key function that gives no key (grammY's getSessionKey returning undefined). */
static int no_key(void *ud, const char *update, botsession_buffer *out) {
    (void)ud; (void)update; (void)out;
    return 0;
}

/* 1-5: strict single sessions. */
static void test_grammy_strict(void) {
    botsession_engine *e;
    botsession_update *u;
    char *json;

    /* 1. An update with a key passes through; the handler sees the stored value. */
    e = engine_on_counting(&c, NULL);
    counting_put(&c, CHAT_KEY, "{\"seen\":42}");
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK_TAKE_STR(json, "{\"seen\":42}");
    CHECK_OK(botsession_commit(u));

    /* 2. get without a key: NO_KEY, grammY's "access" message (default resolver) ... */
    u = begin_update(e, POLL_UPDATE);
    CHECK_RC(botsession_get(u, NULL, &json), BOTSESSION_NO_KEY);
    CHECK(json == NULL);
    CHECK_STR(botsession_last_error(), "Cannot access session data because this update does not belong to a chat, so the session key is undefined!");
    /* 3. set without a key: the "assign" message. */
    CHECK_RC(botsession_set(u, NULL, "1"), BOTSESSION_NO_KEY);
    CHECK_STR(botsession_last_error(), "Cannot assign session data because this update does not belong to a chat, so the session key is undefined!");
    char *key = (char *)1;
    CHECK_OK(botsession_key(u, NULL, &key));
    CHECK(key == NULL);
    botsession_rollback(u);
    botsession_engine_free(e);
    /* ... and the custom-resolver messages for every other strategy. */
    e = engine_on_counting(&c, "{\"key\": \"user\"}");
    u = begin_update(e, POLL_UPDATE);
    CHECK_RC(botsession_get(u, NULL, &json), BOTSESSION_NO_KEY);
    CHECK_STR(botsession_last_error(), "Cannot access session data because the custom `getSessionKey` function returned undefined for this update!");
    CHECK_RC(botsession_set(u, NULL, "1"), BOTSESSION_NO_KEY);
    CHECK_STR(botsession_last_error(), "Cannot assign session data because the custom `getSessionKey` function returned undefined for this update!");
    botsession_rollback(u);
    botsession_engine_free(e);
    /* ... and a key function of the caller's that gives no key, even for a group message. */
    e = engine_on_counting(&c, NULL);
    CHECK_OK(botsession_engine_set_key_fn(e, NULL, no_key, NULL));
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_RC(botsession_get(u, NULL, &json), BOTSESSION_NO_KEY);
    CHECK_STR(botsession_last_error(), "Cannot access session data because the custom `getSessionKey` function returned undefined for this update!");
    CHECK_RC(botsession_set(u, NULL, "1"), BOTSESSION_NO_KEY);
    CHECK_STR(botsession_last_error(), "Cannot assign session data because the custom `getSessionKey` function returned undefined for this update!");
    botsession_rollback(u);
    botsession_engine_free(e);
    /* No storage I/O for a fragment without a key. */
    CHECK(c.reads == 0 && c.writes == 0 && c.deletes == 0);

    /* 4. set then fail (rollback): one read, no write, no delete. */
    e = engine_on_counting(&c, NULL);
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_set(u, NULL, "{\"lost\":true}"));
    botsession_rollback(u);
    CHECK(c.reads == 1 && c.writes == 0 && c.deletes == 0);
    botsession_engine_free(e);

    /* 5. Primitive sessions: stored 0, set 1; next update reads 1 and sets null. */
    e = engine_on_counting(&c, NULL);
    counting_put(&c, CHAT_KEY, "0");
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK_TAKE_STR(json, "0");
    CHECK_OK(botsession_set(u, NULL, "1"));
    CHECK_OK(botsession_commit(u));
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK_TAKE_STR(json, "1");
    CHECK_OK(botsession_set(u, NULL, "null"));
    CHECK_OK(botsession_commit(u));
    CHECK(c.reads == 2 && c.writes == 1 && c.deletes == 1);
    CHECK(counting_get(&c, CHAT_KEY) == NULL);
    botsession_engine_free(e);
}

/* 6. A custom key function plus prefix xyz-: every read, write and delete uses the prefixed key. */
static int constant_key(void *ud, const char *update, botsession_buffer *out) {
    (void)ud; (void)update;
    return botsession_buffer_set(out, "42", 2);
}

/* 7's and 16's initial function, counting its calls. */
static int initial_calls;
static int empty_object(void *ud, botsession_buffer *out) {
    (void)ud;
    initial_calls++;
    return botsession_buffer_set(out, "{}", 2);
}

/* 7's and 16's three updates, on an engine whose initial value is {}: each sees the fields so
 * far and adds one. */
static void add_fields_over_three_updates(botsession_engine *e) {
    const char *steps[] = {"{\"a\":1}", "{\"a\":1,\"b\":2}", "{\"a\":1,\"b\":2,\"c\":3}"};
    const char *before[] = {"{}", "{\"a\":1}", "{\"a\":1,\"b\":2}"};
    for (int i = 0; i < 3; i++) {
        botsession_update *u = begin_update(e, GROUP_MESSAGE);
        char *json = get(u, NULL);
        CHECK_TAKE_STR(json, before[i]);
        CHECK_OK(botsession_set(u, NULL, steps[i]));
        CHECK_OK(botsession_commit(u));
    }
}

static void test_grammy_prefix_and_objects(void) {
    botsession_engine *e = engine_on_counting(&c, "{\"prefix\": \"xyz-\"}");
    botsession_update *u;
    char *json;
    CHECK_OK(botsession_engine_set_key_fn(e, NULL, constant_key, NULL));
    u = begin_update(e, POLL_UPDATE);
    CHECK_OK(botsession_set(u, NULL, "{\"a\":1}"));
    CHECK_OK(botsession_commit(u));
    u = begin_update(e, POLL_UPDATE);
    CHECK_OK(botsession_clear(u));
    CHECK_OK(botsession_commit(u));
    CHECK_STR(c.log, "R xyz-42; W xyz-42={\"a\":1}; R xyz-42; D xyz-42; ");
    botsession_engine_free(e);

    /* 7. Object sessions with initial {}: fields added over three updates, deleted, restarted. */
    e = engine_on_counting(&c, NULL);
    initial_calls = 0;
    CHECK_OK(botsession_engine_set_initial_fn(e, NULL, empty_object, NULL));
    add_fields_over_three_updates(e);
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_set(u, NULL, NULL));
    CHECK_OK(botsession_commit(u));
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK_TAKE_STR(json, "{}");
    CHECK_OK(botsession_commit(u));
    CHECK(initial_calls == 2);
    CHECK(c.reads == 5 && c.writes == 4 && c.deletes == 1);
    botsession_engine_free(e);
}


/* 8-12: fragments (grammY's multi sessions), on two counting stores. */
static counting_store c2;
static int initial_a, initial_b;
static int init_a(void *ud, botsession_buffer *out) { (void)ud; initial_a++; return botsession_buffer_set(out, "{\"a\":0}", 7); }
static int init_b(void *ud, botsession_buffer *out) { (void)ud; initial_b++; return botsession_buffer_set(out, "[]", 2); }

static botsession_engine *two_fragments(const char *options) {
    botsession_engine *e;
    counting_reset(&c);
    counting_reset(&c2);
    CHECK_OK(botsession_engine_new(options, &e));
    botsession_store *s1 = counting_open(&c), *s2 = counting_open(&c2);
    CHECK_OK(botsession_engine_set_store(e, "chat", s1));
    CHECK_OK(botsession_engine_set_store(e, "user", s2));
    botsession_store_close(s1);
    botsession_store_close(s2);
    return e;
}

static void test_fragments(void) {
    botsession_engine *e;
    botsession_update *u;
    char *json;

    /* 8. An engine with no fragments passes updates through. */
    CHECK_OK(botsession_engine_new("{\"fragments\": {}}", &e));
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_commit(u));
    botsession_engine_free(e);

    /* 9, 10. get and set on a fragment whose key is missing: NO_KEY, default and custom resolver. */
    e = two_fragments("{\"fragments\": {\"chat\": {}, \"user\": {\"key\": \"user\"}}}");
    u = begin_update(e, POLL_UPDATE);
    /* grammY's text exactly, with no "fragment '...': " in front (SPEC §4). */
    CHECK_RC(botsession_get(u, "chat", &json), BOTSESSION_NO_KEY);
    CHECK_STR(botsession_last_error(), "Cannot access session data because this update does not belong to a chat, so the session key is undefined!");
    CHECK_RC(botsession_set(u, "chat", "1"), BOTSESSION_NO_KEY);
    CHECK_STR(botsession_last_error(), "Cannot assign session data because this update does not belong to a chat, so the session key is undefined!");
    CHECK_RC(botsession_get(u, "user", &json), BOTSESSION_NO_KEY);
    CHECK_STR(botsession_last_error(), "Cannot access session data because the custom `getSessionKey` function returned undefined for this update!");
    CHECK_RC(botsession_set(u, "user", "1"), BOTSESSION_NO_KEY);
    CHECK_STR(botsession_last_error(), "Cannot assign session data because the custom `getSessionKey` function returned undefined for this update!");
    botsession_rollback(u);
    CHECK(c.reads + c.writes + c.deletes + c2.reads + c2.writes + c2.deletes == 0);
    botsession_engine_free(e);
    /* A fragment's own key function that gives no key: the custom message, for that fragment
     * only (the other one is read). */
    e = two_fragments("{\"fragments\": {\"chat\": {}, \"user\": {}}}");
    CHECK_OK(botsession_engine_set_key_fn(e, "user", no_key, NULL));
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_RC(botsession_get(u, "user", &json), BOTSESSION_NO_KEY);
    CHECK_STR(botsession_last_error(), "Cannot access session data because the custom `getSessionKey` function returned undefined for this update!");
    CHECK_RC(botsession_set(u, "user", "1"), BOTSESSION_NO_KEY);
    CHECK_STR(botsession_last_error(), "Cannot assign session data because the custom `getSessionKey` function returned undefined for this update!");
    botsession_rollback(u);
    CHECK(c.reads == 1 && c2.reads + c2.writes + c2.deletes == 0);
    botsession_engine_free(e);
    e = two_fragments("{\"fragments\": {\"chat\": {}, \"user\": {\"key\": \"user\"}}}");

    /* 11. A fragment is set, then the handler fails: one read, no write, no delete. */
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_set(u, "chat", "{\"lost\":1}"));
    botsession_rollback(u);
    CHECK(c.reads == 1 && c.writes == 0 && c.deletes == 0);
    botsession_engine_free(e);

    /* 12. Two fragments, two stores, two initial values: they evolve independently; clearing
     *     deletes both; the next update starts both again. Per fragment: initial x2, 5 reads,
     *     4 writes, 1 delete. */
    e = two_fragments("{\"fragments\": {\"chat\": {}, \"user\": {\"key\": \"user\"}}}");
    initial_a = initial_b = 0;
    CHECK_OK(botsession_engine_set_initial_fn(e, "chat", init_a, NULL));
    CHECK_OK(botsession_engine_set_initial_fn(e, "user", init_b, NULL));
    const char *chat_steps[] = {"{\"a\":1}", "{\"a\":2}", "{\"a\":3}"};
    const char *user_steps[] = {"[1]", "[1,2]", "[1,2,3]"};
    for (int i = 0; i < 3; i++) {
        u = begin_update(e, GROUP_MESSAGE);
        CHECK_OK(botsession_set(u, "chat", chat_steps[i]));
        CHECK_OK(botsession_set(u, "user", user_steps[i]));
        CHECK_OK(botsession_commit(u));
    }
    u = begin_update(e, GROUP_MESSAGE);
    json = get(u, "chat");
    CHECK_TAKE_STR(json, "{\"a\":3}");
    json = get(u, "user");
    CHECK_TAKE_STR(json, "[1,2,3]");
    CHECK_OK(botsession_clear(u));
    CHECK_OK(botsession_commit(u));
    u = begin_update(e, GROUP_MESSAGE);
    json = get(u, "chat");
    CHECK_TAKE_STR(json, "{\"a\":0}");
    json = get(u, "user");
    CHECK_TAKE_STR(json, "[]");
    CHECK_OK(botsession_commit(u));
    CHECK(initial_a == 2 && initial_b == 2);
    CHECK(c.reads == 5 && c.writes == 4 && c.deletes == 1);
    CHECK(c2.reads == 5 && c2.writes == 4 && c2.deletes == 1);
    botsession_engine_free(e);

    /* Difference: clear deletes every fragment that has a key and skips the others (grammY
     * throws after the handler and writes nothing). */
    e = two_fragments("{\"fragments\": {\"chat\": {}, \"user\": {\"key\": \"user\"}}}");
    counting_put(&c2, "424242", "\"mine\"");
    u = begin_update(e, INLINE_QUERY);
    CHECK_OK(botsession_clear(u));
    CHECK_OK(botsession_commit(u));
    CHECK(counting_get(&c2, "424242") == NULL);
    CHECK(c.reads + c.writes + c.deletes == 0);
    botsession_engine_free(e);

    /* Difference: lazy fragments are allowed (grammY forbids lazy multi sessions). */
    e = two_fragments("{\"fragments\": {\"chat\": {\"lazy\": true}, \"user\": {\"key\": \"user\", \"lazy\": true}}}");
    counting_put(&c, CHAT_KEY, "1");
    u = begin_update(e, GROUP_MESSAGE);
    CHECK(c.reads == 0 && c2.reads == 0);
    json = get(u, "chat");
    CHECK_TAKE_STR(json, "1");
    CHECK_OK(botsession_commit(u));
    CHECK(c.reads == 1 && c2.reads == 0 && c.writes == 0 && c2.writes == 0);
    counting_reset(&c2);
    botsession_engine_free(e);
}

/* 13-18: lazy sessions. */
static void test_lazy(void) {
    botsession_engine *e;
    botsession_update *u;
    char *json;

    /* 13. An update passes through. */
    e = engine_on_counting(&c, "{\"lazy\": true}");
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_commit(u));

    /* 14. get and set without a key: NO_KEY with the lazy messages. */
    u = begin_update(e, POLL_UPDATE);
    CHECK_RC(botsession_get(u, NULL, &json), BOTSESSION_NO_KEY);
    CHECK_STR(botsession_last_error(), "Cannot access lazy session data because this update does not belong to a chat, so the session key is undefined!");
    CHECK_RC(botsession_set(u, NULL, "1"), BOTSESSION_NO_KEY);
    CHECK_STR(botsession_last_error(), "Cannot assign lazy session data because this update does not belong to a chat, so the session key is undefined!");
    botsession_rollback(u);
    botsession_engine_free(e);
    e = engine_on_counting(&c, "{\"lazy\": true, \"key\": \"user-chat\"}");
    u = begin_update(e, POLL_UPDATE);
    CHECK_RC(botsession_get(u, NULL, &json), BOTSESSION_NO_KEY);
    CHECK_STR(botsession_last_error(), "Cannot access lazy session data because the custom `getSessionKey` function returned undefined for this update!");
    botsession_rollback(u);
    botsession_engine_free(e);
    /* A lazy fragment: grammY's text exactly, no fragment name in front. */
    CHECK_OK(botsession_engine_new("{\"fragments\": {\"chat\": {\"lazy\": true}}}", &e));
    u = begin_update(e, POLL_UPDATE);
    CHECK_RC(botsession_get(u, "chat", &json), BOTSESSION_NO_KEY);
    CHECK_STR(botsession_last_error(), "Cannot access lazy session data because this update does not belong to a chat, so the session key is undefined!");
    CHECK_RC(botsession_set(u, "chat", "{}"), BOTSESSION_NO_KEY);
    CHECK_STR(botsession_last_error(), "Cannot assign lazy session data because this update does not belong to a chat, so the session key is undefined!");
    botsession_rollback(u);
    botsession_engine_free(e);

    /* 15. get, set, then fail: one read, no write, no delete. */
    e = engine_on_counting(&c, "{\"lazy\": true}");
    u = begin_update(e, GROUP_MESSAGE);
    json = get(u, NULL);
    botsession_free(json);
    CHECK_OK(botsession_set(u, NULL, "1"));
    botsession_rollback(u);
    CHECK(c.reads == 1 && c.writes == 0 && c.deletes == 0);

    /* 16. Primitives and objects as in 5 and 7; several gets in one update: one read. */
    counting_put(&c, CHAT_KEY, "0");
    c.reads = 0;
    u = begin_update(e, GROUP_MESSAGE);
    for (int i = 0; i < 3; i++) {
        json = get(u, NULL);
        CHECK_TAKE_STR(json, "0");
    }
    CHECK_OK(botsession_set(u, NULL, "1"));
    CHECK_OK(botsession_commit(u));
    u = begin_update(e, GROUP_MESSAGE);
    json = get(u, NULL);
    CHECK_TAKE_STR(json, "1");
    CHECK_OK(botsession_set(u, NULL, NULL));
    CHECK_OK(botsession_commit(u));
    CHECK(c.reads == 2 && c.writes == 1 && c.deletes == 1);
    botsession_engine_free(e);
    e = engine_on_counting(&c, "{\"lazy\": true}");
    initial_calls = 0;
    CHECK_OK(botsession_engine_set_initial_fn(e, NULL, empty_object, NULL));
    add_fields_over_three_updates(e);
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_set(u, NULL, NULL));
    CHECK_OK(botsession_commit(u));
    u = begin_update(e, GROUP_MESSAGE);
    json = get(u, NULL);
    CHECK_TAKE_STR(json, "{}");
    CHECK_OK(botsession_commit(u));
    /* The delete was a blind one (set without get): no read for it. */
    CHECK(initial_calls == 2 && c.reads == 4 && c.writes == 4 && c.deletes == 1);
    botsession_engine_free(e);

    /* 17. set then get: no read, one write; get returns what was set. */
    e = engine_on_counting(&c, "{\"lazy\": true}");
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_set(u, NULL, "{\"set\":true}"));
    json = get(u, NULL);
    CHECK_TAKE_STR(json, "{\"set\":true}");
    CHECK_OK(botsession_commit(u));
    CHECK(c.reads == 0 && c.writes == 1);
    botsession_engine_free(e);

    /* 18. Untouched: no read, no write, initial never called. */
    e = engine_on_counting(&c, "{\"lazy\": true}");
    initial_calls = 0;
    CHECK_OK(botsession_engine_set_initial_fn(e, NULL, empty_object, NULL));
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_commit(u));
    CHECK(c.reads == 0 && c.writes == 0 && initial_calls == 0);
    botsession_engine_free(e);
}

/* 27-29: the memory store. */
static int64_t fake_now = 5000;
static int64_t fake_clock(void *ud) { (void)ud; return fake_now; }

static void test_memory_store(void) {
    botsession_store *s;
    char *json, *key;

    /* 27. read, write, delete. */
    CHECK_OK(botsession_store_open("memory:", NULL, &s));
    CHECK_OK(botsession_store_write(s, "k", "{\"v\":1}"));
    CHECK_OK(botsession_store_read(s, "k", &json));
    CHECK_TAKE_STR(json, "{\"v\":1}");
    CHECK_OK(botsession_store_delete(s, "k"));
    CHECK_OK(botsession_store_read(s, "k", &json));
    CHECK(json == NULL);

    /* 28. Iteration over all keys and values, in insertion order. */
    const char *keys[] = {"z", "a", "m", "b"};
    for (int i = 0; i < 4; i++) {
        char value[8];
        snprintf(value, sizeof value, "%d", i);
        CHECK_OK(botsession_store_write(s, keys[i], value));
    }
    botsession_iter *it;
    CHECK_OK(botsession_store_iter(s, NULL, &it));
    for (int i = 0; i < 4; i++) {
        char value[8];
        snprintf(value, sizeof value, "%d", i);
        CHECK_OK(botsession_iter_next(it, &key, &json));
        CHECK_TAKE_STR(key, keys[i]);
        CHECK_TAKE_STR(json, value);
    }
    CHECK_OK(botsession_iter_next(it, &key, &json));
    CHECK(key == NULL);
    botsession_iter_free(it);
    botsession_store_close(s);

    /* 29. Expiry: gone after the lifetime; writing again works. */
    CHECK_OK(botsession_store_open("memory:", "{\"ttl_ms\": 50}", &s));
    CHECK_OK(botsession_store_set_clock(s, fake_clock, NULL));
    CHECK_OK(botsession_store_write(s, "k", "1"));
    fake_now += 100;
    CHECK_OK(botsession_store_read(s, "k", &json));
    CHECK(json == NULL);
    CHECK_OK(botsession_store_write(s, "k", "2"));
    CHECK_OK(botsession_store_read(s, "k", &json));
    CHECK_TAKE_STR(json, "2");
    botsession_store_close(s);
}

int main(void) {
    test_grammy_strict();
    test_grammy_prefix_and_objects();
    test_fragments();
    test_lazy();
    test_memory_store();
    counting_reset(&c);
    report_passed("test_conformance");
    return 0;
}
