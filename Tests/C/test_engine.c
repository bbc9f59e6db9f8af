/* Engines through the C API: options, configuration, key and initial callbacks, key
 * strategies, fragments, and the rules about when configuration may change. */
#include "check.h"

/* The key of `update` under an engine made from `options`, or NULL (the caller frees it). */
static char *key_for(const char *options, const char *update) {
    botsession_engine *e;
    botsession_update *u;
    char *key = NULL;
    CHECK_OK(botsession_engine_new(options, &e));
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_key(u, NULL, &key));
    botsession_rollback(u);
    botsession_engine_free(e);
    return key;
}

static void test_options(void) {
    botsession_engine *e = (botsession_engine *)1;
    CHECK_OK(botsession_engine_new(NULL, &e));
    botsession_engine_free(e);
    CHECK_OK(botsession_engine_new("{}", &e));
    botsession_engine_free(e);
    CHECK_OK(botsession_engine_new("{\"lazy\": false, \"key\": \"user-chat\", \"prefix\": \"p:\", \"initial\": [1, 2],"
                                   " \"max_value_bytes\": 100, \"lock_timeout_ms\": 0, \"follow_chat_migrations\": false}", &e));
    botsession_engine_free(e);

    struct { const char *options; int status; const char *mentions; } bad[] = {
        {"{\"key\": \"channel\"}", BOTSESSION_INVALID_OPTION, "unknown key strategy \"channel\""},
        {"{\"key\": 1}", BOTSESSION_INVALID_OPTION, "\"key\" must be a string"},
        {"{\"lazy\": \"yes\"}", BOTSESSION_INVALID_OPTION, "\"lazy\" must be true or false"},
        {"{\"prefix\": null}", BOTSESSION_INVALID_OPTION, "\"prefix\" must be a string"},
        {"{\"max_value_bytes\": 0}", BOTSESSION_INVALID_OPTION, "max_value_bytes"},
        {"{\"max_value_bytes\": -5}", BOTSESSION_INVALID_OPTION, "max_value_bytes"},
        {"{\"lock_timeout_ms\": 1e99}", BOTSESSION_INVALID_OPTION, "lock_timeout_ms"},
        {"{\"inital\": {}}", BOTSESSION_INVALID_OPTION, "unknown option \"inital\""},
        {"{\"initial\": {}, \"initial\": []}", BOTSESSION_INVALID_OPTION, "twice"},
        {"{\"fragments\": {\"a\": {}}, \"lazy\": true}", BOTSESSION_INVALID_OPTION, "cannot stand next to \"fragments\""},
        {"{\"fragments\": {\"a\": 1}}", BOTSESSION_INVALID_OPTION, "fragment \"a\" must be an object"},
        {"{\"fragments\": {\"a\": {\"store\": \"x\"}}}", BOTSESSION_INVALID_OPTION, "unknown option \"store\""},
        {"{\"fragments\": {\"a\": {}, \"a\": {}}}", BOTSESSION_INVALID_OPTION, "twice"},
        {"{\"fragments\": []}", BOTSESSION_INVALID_OPTION, "\"fragments\" must be an object"},
        {"{\"initial\": 1234567}", BOTSESSION_OK, ""},
        {"{\"initial\": \"0123456789\", \"max_value_bytes\": 5}", BOTSESSION_INVALID_OPTION, "larger than max_value_bytes"},
        {"{\"follow_chat_migrations\": true}", BOTSESSION_OK, ""},
        {"{\"follow_chat_migrations\": 1}", BOTSESSION_INVALID_OPTION, "follow_chat_migrations"},
        {"{\"key\": \"chat\"", BOTSESSION_INVALID_JSON, "engine options is not valid JSON"},
        {"\"chat\"", BOTSESSION_INVALID_OPTION, "must be a JSON object"},
        {"{\"prefix\": \"a\\u0000b\"}", BOTSESSION_INVALID_OPTION, "without NUL"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        e = (botsession_engine *)1;
        CHECK_RC(botsession_engine_new(bad[i].options, &e), bad[i].status);
        CHECK_ERROR_HAS(bad[i].mentions);
        if (bad[i].status == BOTSESSION_OK) botsession_engine_free(e);
        else CHECK(e == NULL);
    }
    CHECK_RC(botsession_engine_new("{}", NULL), BOTSESSION_MISUSE);
}

static void test_key_strategies(void) {
    char *key;
    key = key_for(NULL, GROUP_MESSAGE);
    CHECK_TAKE_STR(key, "-1001234567890");
    key = key_for("{\"key\": \"user\"}", GROUP_MESSAGE);
    CHECK_TAKE_STR(key, "424242");
    key = key_for("{\"key\": \"user-chat\"}", GROUP_MESSAGE);
    CHECK_TAKE_STR(key, "424242/-1001234567890");
    key = key_for("{\"key\": \"chat\", \"prefix\": \"pizza:\"}", GROUP_MESSAGE);
    CHECK_TAKE_STR(key, "pizza:-1001234567890");
    /* No chat, no key, and no prefix in front of a missing key. */
    key = key_for("{\"prefix\": \"pizza:\"}", INLINE_QUERY);
    CHECK(key == NULL);
    key = key_for("{\"key\": \"user\"}", INLINE_QUERY);
    CHECK_TAKE_STR(key, "424242");
    key = key_for("{\"key\": \"user-chat\"}", INLINE_QUERY);
    CHECK(key == NULL);
    key = key_for("{\"key\": \"chat-topic\"}",
                  "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"message_thread_id\":77,"
                  "\"is_topic_message\":true,\"chat\":{\"id\":-100500,\"type\":\"supergroup\",\"is_forum\":true}}}");
    CHECK_TAKE_STR(key, "-100500/77");
    key = key_for("{\"key\": \"business\"}",
                  "{\"update_id\":1,\"business_message\":{\"message_id\":1,\"date\":0,\"business_connection_id\":\"bc-1\","
                  "\"chat\":{\"id\":5,\"type\":\"private\"}}}");
    CHECK_TAKE_STR(key, "bc-1");
}

/* Key callbacks: what they set is the key. */
static int key_mode;
static int key_fn(void *ud, const char *update, botsession_buffer *out) {
    int *calls = ud;
    (*calls)++;
    if (!strstr(update, "update_id")) return 99;
    switch (key_mode) {
    case 0: return botsession_buffer_set(out, "custom", 6);
    case 1: return 0;                                     /* unset: no key */
    case 2: return botsession_buffer_set(out, "", 0);     /* empty key: valid */
    case 3: return botsession_buffer_set(out, "a\0b", 3); /* NUL inside */
    case 4: { char big[1100]; memset(big, 'x', sizeof big); return botsession_buffer_set(out, big, sizeof big); }
    case 5: botsession_callback_error("no database connection"); return 5;
    case 6: return botsession_buffer_set(out, "\xff\xfe", 2);
    case 7: return botsession_buffer_set(NULL, "x", 1) == BOTSESSION_MISUSE ? botsession_buffer_set(out, "recovered", 9) : 1;
    }
    return 1;
}

static void test_key_callbacks(void) {
    botsession_engine *e;
    botsession_update *u = NULL;
    char *key;
    int calls = 0;
    CHECK_OK(botsession_engine_new("{\"prefix\": \"p-\"}", &e));
    CHECK_RC(botsession_engine_set_key_fn(e, NULL, NULL, NULL), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("fn is NULL");
    CHECK_OK(botsession_engine_set_key_fn(e, NULL, key_fn, &calls));

    struct { int mode; int status; const char *key; const char *mentions; } cases[] = {
        {0, BOTSESSION_OK, "p-custom", NULL},
        {1, BOTSESSION_OK, NULL, NULL},
        {2, BOTSESSION_OK, "p-", NULL},
        {3, BOTSESSION_CALLBACK, NULL, "NUL byte"},
        {4, BOTSESSION_TOO_BIG, NULL, "keys are at most 1024 bytes"},
        {5, BOTSESSION_CALLBACK, NULL, "the key callback failed (returned 5): no database connection"},
        {6, BOTSESSION_CALLBACK, NULL, "not valid UTF-8"},
        {7, BOTSESSION_OK, "p-recovered", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        key_mode = cases[i].mode;
        CHECK_RC(botsession_begin(e, POLL_UPDATE, &u), cases[i].status);
        if (cases[i].status != BOTSESSION_OK) {
            CHECK(u == NULL);
            CHECK_ERROR_HAS(cases[i].mentions);
            continue;
        }
        CHECK_OK(botsession_key(u, NULL, &key));
        CHECK_TAKE_STR(key, cases[i].key);
        botsession_rollback(u);
    }
    CHECK(calls == (int)(sizeof cases / sizeof *cases));

    /* Configuration after the first begin is MISUSE. */
    CHECK_RC(botsession_engine_set_key_fn(e, NULL, key_fn, &calls), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("already in use");
    botsession_store *s;
    CHECK_OK(botsession_store_open("memory:", NULL, &s));
    CHECK_RC(botsession_engine_set_store(e, NULL, s), BOTSESSION_MISUSE);
    botsession_store_close(s);
    botsession_engine_free(e);
}

/* Initial callbacks. */
static int initial_mode;
static int initial_fn(void *ud, botsession_buffer *out) {
    int *calls = ud;
    (*calls)++;
    switch (initial_mode) {
    case 0: return botsession_buffer_set(out, "{\"count\":0}", 11);
    case 1: return 0;  /* unset: absent */
    case 2: return botsession_buffer_set(out, "{oops", 5);
    case 3: return 3;
    case 4: return botsession_buffer_set(out, "null", 4);
    }
    return 1;
}

static void test_initial_callbacks(void) {
    botsession_engine *e;
    botsession_update *u = NULL;
    counting_store c = {0};
    char *json;
    int calls = 0;
    CHECK_OK(botsession_engine_new("{\"initial\": {\"replaced\": true}}", &e));
    botsession_store *s = counting_open(&c);
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    botsession_store_close(s);
    CHECK_RC(botsession_engine_set_initial_fn(e, NULL, NULL, NULL), BOTSESSION_MISUSE);
    CHECK_OK(botsession_engine_set_initial_fn(e, NULL, initial_fn, &calls));

    initial_mode = 0;
    CHECK_OK(botsession_begin(e, GROUP_MESSAGE, &u));
    CHECK(calls == 1);  /* strict: called at begin */
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK_TAKE_STR(json, "{\"count\":0}");
    botsession_rollback(u);
    CHECK(c.writes == 0);

    initial_mode = 1;
    CHECK_OK(botsession_begin(e, GROUP_MESSAGE, &u));
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK(json == NULL);
    CHECK_OK(botsession_commit(u));
    CHECK(c.writes == 0);

    initial_mode = 4;  /* null also means absent */
    CHECK_OK(botsession_begin(e, GROUP_MESSAGE, &u));
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK(json == NULL);
    botsession_rollback(u);

    initial_mode = 2;
    CHECK_RC(botsession_begin(e, GROUP_MESSAGE, &u), BOTSESSION_INVALID_JSON);
    CHECK_ERROR_HAS("the initial callback's value is not valid JSON");
    CHECK(u == NULL);

    initial_mode = 3;
    CHECK_RC(botsession_begin(e, GROUP_MESSAGE, &u), BOTSESSION_CALLBACK);
    CHECK_ERROR_HAS("the initial callback failed (returned 3)");

    /* No key: the initial callback is never called. */
    calls = 0;
    initial_mode = 0;
    CHECK_OK(botsession_begin(e, INLINE_QUERY, &u));
    botsession_rollback(u);
    CHECK(calls == 0);
    CHECK(c.reads == 5 && c.writes == 0 && c.deletes == 0);
    botsession_engine_free(e);
    counting_reset(&c);
    CHECK(c.released == 1);
}

/* A callback that calls back into the library keeps its own botsession_callback_error message. */
static int inner_initial(void *ud, botsession_buffer *out) {
    (void)ud; (void)out;
    botsession_callback_error("inner reason");
    return 1;
}
static int outer_key(void *ud, const char *update, botsession_buffer *out) {
    botsession_engine *inner = ud;
    botsession_update *u;
    (void)out;
    botsession_callback_error("outer reason");
    if (botsession_begin(inner, update, &u) != BOTSESSION_CALLBACK) return 99;  /* the inner one fails */
    if (!strstr(botsession_last_error(), "inner reason")) return 98;
    return 1;
}

static void test_nested_callbacks(void) {
    botsession_engine *outer, *inner;
    botsession_update *u;
    CHECK_OK(botsession_engine_new(NULL, &inner));
    CHECK_OK(botsession_engine_set_initial_fn(inner, NULL, inner_initial, NULL));
    CHECK_OK(botsession_engine_new(NULL, &outer));
    CHECK_OK(botsession_engine_set_key_fn(outer, NULL, outer_key, inner));
    CHECK_RC(botsession_begin(outer, GROUP_MESSAGE, &u), BOTSESSION_CALLBACK);
    CHECK_STR(botsession_last_error(), "the key callback failed (returned 1): outer reason");
    botsession_engine_free(outer);
    botsession_engine_free(inner);
}

static void test_fragments(void) {
    botsession_engine *e;
    botsession_update *u;
    botsession_store *chats, *users;
    char *json, *key;
    CHECK_OK(botsession_engine_new(
        "{\"fragments\": {\"chat\": {\"initial\": {\"pizzas\": 0}},"
        " \"user\": {\"key\": \"user\", \"prefix\": \"u:\", \"initial\": {\"name\": null}}}}", &e));
    CHECK_OK(botsession_store_open("memory:", NULL, &chats));
    CHECK_OK(botsession_store_open("memory:", NULL, &users));
    CHECK_RC(botsession_engine_set_store(e, NULL, chats), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("has fragments");
    CHECK_RC(botsession_engine_set_store(e, "nope", chats), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("unknown fragment 'nope'");
    CHECK_RC(botsession_engine_set_store(e, "chat", NULL), BOTSESSION_MISUSE);
    CHECK_RC(botsession_engine_set_store(NULL, "chat", chats), BOTSESSION_MISUSE);
    CHECK_OK(botsession_engine_set_store(e, "chat", chats));
    CHECK_OK(botsession_engine_set_store(e, "user", users));

    CHECK_OK(botsession_begin(e, GROUP_MESSAGE, &u));
    CHECK_OK(botsession_key(u, "user", &key));
    CHECK_TAKE_STR(key, "u:424242");
    CHECK_RC(botsession_get(u, NULL, &json), BOTSESSION_MISUSE);
    CHECK_RC(botsession_get(u, "other", &json), BOTSESSION_MISUSE);
    CHECK_OK(botsession_set(u, "chat", "{\"pizzas\": 1}"));
    CHECK_OK(botsession_get(u, "user", &json));
    CHECK_TAKE_STR(json, "{\"name\": null}");
    CHECK_OK(botsession_commit(u));

    CHECK_OK(botsession_store_read(chats, "-1001234567890", &json));
    CHECK_TAKE_STR(json, "{\"pizzas\": 1}");
    CHECK_OK(botsession_store_read(users, "u:424242", &json));
    CHECK_TAKE_STR(json, "{\"name\": null}");

    /* An inline query has a user but no chat: the chat fragment says NO_KEY, the user works. */
    CHECK_OK(botsession_begin(e, INLINE_QUERY, &u));
    CHECK_RC(botsession_get(u, "chat", &json), BOTSESSION_NO_KEY);
    CHECK_STR(botsession_last_error(), "Cannot access session data because this update does not belong to a chat, so the session key is undefined!");
    CHECK_OK(botsession_get(u, "user", &json));
    CHECK_TAKE_STR(json, "{\"name\": null}");
    botsession_rollback(u);
    botsession_engine_free(e);

    /* Two fragments resolving to the same key in the same store: found at begin. */
    CHECK_OK(botsession_engine_new("{\"fragments\": {\"a\": {}, \"b\": {}}}", &e));
    CHECK_OK(botsession_engine_set_store(e, "a", chats));
    CHECK_OK(botsession_engine_set_store(e, "b", chats));
    CHECK_RC(botsession_begin(e, GROUP_MESSAGE, &u), BOTSESSION_INVALID_OPTION);
    CHECK_ERROR_HAS("fragment 'a' and fragment 'b' both resolve to key '-1001234567890'");
    /* ... but not for an update where they have no key. */
    CHECK_OK(botsession_begin(e, INLINE_QUERY, &u));
    botsession_rollback(u);
    botsession_engine_free(e);

    /* Same key, different stores: fine. Different prefixes, same store: fine. */
    CHECK_OK(botsession_engine_new("{\"fragments\": {\"a\": {}, \"b\": {\"prefix\": \"b:\"}}}", &e));
    CHECK_OK(botsession_engine_set_store(e, "a", chats));
    CHECK_OK(botsession_engine_set_store(e, "b", chats));
    CHECK_OK(botsession_begin(e, GROUP_MESSAGE, &u));
    botsession_rollback(u);
    botsession_engine_free(e);

    /* An engine with no fragments passes updates through. */
    CHECK_OK(botsession_engine_new("{\"fragments\": {}}", &e));
    CHECK_OK(botsession_begin(e, GROUP_MESSAGE, &u));
    CHECK_OK(botsession_clear(u));
    CHECK_OK(botsession_commit(u));
    botsession_engine_free(e);

    /* A single-session engine refuses fragment names. */
    CHECK_OK(botsession_engine_new(NULL, &e));
    CHECK_RC(botsession_engine_set_store(e, "chat", chats), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("single session");
    botsession_engine_free(e);

    botsession_store_close(chats);
    botsession_store_close(users);
}

int main(void) {
    test_options();
    test_key_strategies();
    test_key_callbacks();
    test_initial_callbacks();
    test_nested_callbacks();
    test_fragments();
    report_passed("test_engine");
    return 0;
}
