/* One update through the C API: the commit table of SPEC §5 observed through a counting store,
 * values, bad input, lifetimes and key locks. (grammY's own session tests are in
 * test_conformance.c.) */
#include "check.h"

#define CHAT_KEY "-1001234567890"

static counting_store c;


/* SPEC §5, row by row. */
static void test_commit_table(void) {
    botsession_engine *e = engine_on_counting(&c, NULL);
    botsession_update *u;
    char *json;

    /* absent | nothing, no initial | no I/O (beyond begin's read) */
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK(json == NULL);
    CHECK_OK(botsession_commit(u));
    CHECK_STR(c.log, "R " CHAT_KEY "; ");

    /* absent | set null | no I/O (grammY issues a needless delete) */
    c.log[0] = 0;
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_set(u, NULL, NULL));
    CHECK_OK(botsession_commit(u));
    CHECK_STR(c.log, "R " CHAT_KEY "; ");

    /* any | set X | write X */
    c.log[0] = 0;
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_set(u, NULL, "{\"n\": 1}"));
    CHECK_OK(botsession_commit(u));
    CHECK_STR(c.log, "R " CHAT_KEY "; W " CHAT_KEY "={\"n\": 1}; ");

    /* V | nothing | no write */
    c.log[0] = 0;
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_commit(u));
    CHECK_STR(c.log, "R " CHAT_KEY "; ");

    /* V | only get | no write */
    c.log[0] = 0;
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK_TAKE_STR(json, "{\"n\": 1}");
    CHECK_OK(botsession_commit(u));
    CHECK_STR(c.log, "R " CHAT_KEY "; ");

    /* V | set V byte for byte | no write; set an equivalent but different text | write */
    c.log[0] = 0;
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_set(u, NULL, "{\"n\": 1}"));
    CHECK_OK(botsession_commit(u));
    CHECK_STR(c.log, "R " CHAT_KEY "; ");
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_set(u, NULL, "{\"n\":1}"));
    CHECK_OK(botsession_commit(u));
    CHECK_STR(c.log, "R " CHAT_KEY "; R " CHAT_KEY "; W " CHAT_KEY "={\"n\":1}; ");

    /* V | set null | delete; "null" and NULL alike */
    c.log[0] = 0;
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_set(u, NULL, " null "));
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK(json == NULL);
    CHECK_OK(botsession_commit(u));
    CHECK_STR(c.log, "R " CHAT_KEY "; D " CHAT_KEY "; ");

    /* A stored JSON null counts as absent: the initial value applies. */
    botsession_engine_free(e);
    e = engine_on_counting(&c, "{\"initial\": {\"fresh\": true}}");
    counting_put(&c, CHAT_KEY, "null");
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK_TAKE_STR(json, "{\"fresh\": true}");
    CHECK_OK(botsession_commit(u));
    /* absent | nothing, initial I | write I */
    CHECK_STR(c.log, "R " CHAT_KEY "; W " CHAT_KEY "={\"fresh\": true}; ");
    botsession_engine_free(e);
}

static void test_values_and_bad_input(void) {
    botsession_engine *e = engine_on_counting(&c, "{\"max_value_bytes\": 16}");
    botsession_update *u = begin_update(e, GROUP_MESSAGE);
    char *json;

    /* Exactly max_value_bytes is fine; one more is TOO_BIG and keeps the previous value. */
    CHECK_OK(botsession_set(u, NULL, "\"0123456789abcd\""));  /* 16 bytes */
    CHECK_RC(botsession_set(u, NULL, "\"0123456789abcde\""), BOTSESSION_TOO_BIG);
    CHECK_ERROR_HAS("17 bytes, more than max_value_bytes (16)");
    /* Size is checked before JSON: an oversize non-JSON text is TOO_BIG, not INVALID_JSON. */
    CHECK_RC(botsession_set(u, NULL, "this is not json at all"), BOTSESSION_TOO_BIG);
    CHECK_RC(botsession_set(u, NULL, "{\"a\":"), BOTSESSION_INVALID_JSON);
    CHECK_RC(botsession_set(u, NULL, "\"\xc0\xaf\""), BOTSESSION_INVALID_JSON);
    CHECK_ERROR_HAS("invalid UTF-8");
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK_TAKE_STR(json, "\"0123456789abcd\"");

    /* Values are copied: changing what get returned changes nothing. */
    CHECK_OK(botsession_get(u, NULL, &json));
    json[1] = 'X';
    botsession_free(json);
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK_TAKE_STR(json, "\"0123456789abcd\"");

    /* NULL arguments. */
    CHECK_RC(botsession_get(NULL, NULL, &json), BOTSESSION_MISUSE);
    CHECK_RC(botsession_get(u, NULL, NULL), BOTSESSION_MISUSE);
    CHECK_RC(botsession_set(NULL, NULL, "1"), BOTSESSION_MISUSE);
    CHECK_RC(botsession_key(u, NULL, NULL), BOTSESSION_MISUSE);
    CHECK_RC(botsession_key(NULL, NULL, &json), BOTSESSION_MISUSE);
    CHECK_RC(botsession_clear(NULL), BOTSESSION_MISUSE);
    CHECK_RC(botsession_commit(NULL), BOTSESSION_MISUSE);
    CHECK_RC(botsession_get(u, "fragment", &json), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("single session");
    CHECK_OK(botsession_commit(u));
    CHECK_STR(counting_get(&c, CHAT_KEY), "\"0123456789abcd\"");

    /* Bad updates. */
    u = (botsession_update *)1;
    CHECK_RC(botsession_begin(e, "{\"update_id\": 1,", &u), BOTSESSION_INVALID_JSON);
    CHECK_ERROR_HAS("the update is not valid JSON");
    CHECK(u == NULL);
    CHECK_RC(botsession_begin(e, "{\"message\":{\"chat\":{\"id\":1}}}\xff", &u), BOTSESSION_INVALID_JSON);
    /* Valid JSON that is not an object is not an update: INVALID_JSON, no key, no I/O. */
    {
        const char *not_objects[] = {"[1,2]", "42", "null", "\"text\"", "true", " \n [{}]"};
        int reads = c.reads;
        for (size_t i = 0; i < sizeof not_objects / sizeof *not_objects; i++) {
            u = (botsession_update *)1;
            CHECK_RC(botsession_begin(e, not_objects[i], &u), BOTSESSION_INVALID_JSON);
            CHECK_ERROR_HAS("an update is a JSON object");
            CHECK(u == NULL);
        }
        CHECK(c.reads == reads);
    }
    CHECK_RC(botsession_begin(e, NULL, &u), BOTSESSION_MISUSE);
    CHECK_RC(botsession_begin(NULL, GROUP_MESSAGE, &u), BOTSESSION_MISUSE);
    CHECK_RC(botsession_begin(e, GROUP_MESSAGE, NULL), BOTSESSION_MISUSE);
    /* Nesting: 512 levels are JSON we accept, 513 are refused, and 100,000 do not crash. */
    static char deep[200010];
    for (int depth = 512; depth <= 513; depth++) {
        int n = 0;
        n += sprintf(deep + n, "{\"update_id\":1,\"x\":");
        for (int i = 0; i < depth - 1; i++) deep[n++] = '[';
        for (int i = 0; i < depth - 1; i++) deep[n++] = ']';
        deep[n++] = '}';
        deep[n] = 0;
        if (depth == 512) {
            CHECK_OK(botsession_begin(e, deep, &u));
            botsession_rollback(u);
        } else {
            CHECK_RC(botsession_begin(e, deep, &u), BOTSESSION_INVALID_JSON);
            CHECK_ERROR_HAS("deeper than 512");
        }
    }
    memset(deep, '[', 100000);
    memset(deep + 100000, ']', 100000);
    deep[200000] = 0;
    CHECK_RC(botsession_begin(e, deep, &u), BOTSESSION_INVALID_JSON);
    botsession_engine_free(e);

    /* A store that fails at begin: the status and a message naming the store's failure. */
    e = engine_on_counting(&c, NULL);
    c.fail_next = 4;
    CHECK_RC(botsession_begin(e, GROUP_MESSAGE, &u), BOTSESSION_CALLBACK);
    CHECK_ERROR_HAS("the disk is on fire");
    /* It works again once the store does. */
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_set(u, NULL, "7"));
    /* A commit whose write fails: the status, nothing written. */
    c.fail_next = 9;
    CHECK_RC(botsession_commit(u), BOTSESSION_CALLBACK);
    CHECK_ERROR_HAS("write callback");
    CHECK(counting_get(&c, CHAT_KEY) == NULL);
    botsession_engine_free(e);
}

static void test_lifetimes_and_locks(void) {
    botsession_engine *e = engine_on_counting(&c, "{\"lock_timeout_ms\": 0, \"initial\": 0}");
    botsession_update *u, *u2 = (botsession_update *)1;
    char *json;

    /* An open update keeps its engine alive after botsession_engine_free. */
    u = begin_update(e, GROUP_MESSAGE);
    /* A second update of the same chat waits for the first; with lock_timeout_ms 0 it is BUSY. */
    CHECK_RC(botsession_begin(e, GROUP_MESSAGE, &u2), BOTSESSION_BUSY);
    CHECK_ERROR_HAS("lock_timeout_ms");
    CHECK(u2 == NULL);
    /* Updates of other chats and without a chat are not held up. */
    CHECK_OK(botsession_begin(e, INLINE_QUERY, &u2));
    botsession_rollback(u2);
    botsession_engine_free(e);
    CHECK_OK(botsession_set(u, NULL, "1"));
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK_TAKE_STR(json, "1");
    CHECK_OK(botsession_commit(u));
    CHECK_STR(counting_get(&c, CHAT_KEY), "1");

    /* After commit (or rollback) the key is free again. */
    e = engine_on_counting(&c, "{\"lock_timeout_ms\": 0}");
    u = begin_update(e, GROUP_MESSAGE);
    botsession_rollback(u);
    u = begin_update(e, GROUP_MESSAGE);
    CHECK_OK(botsession_commit(u));
    u = begin_update(e, GROUP_MESSAGE);
    botsession_rollback(u);
    botsession_engine_free(e);
    counting_reset(&c);
    CHECK(c.released >= 1);
}

int main(void) {
    test_commit_table();
    test_values_and_bad_input();
    test_lifetimes_and_locks();
    counting_reset(&c);
    report_passed("test_update");
    return 0;
}
