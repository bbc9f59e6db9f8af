/* The calls for event loops (the Python binding's asyncio API): botsession_lock_names says which
 * keys an update needs, botsession_begin_nowait takes them or fails at once with BUSY and reads
 * nothing, botsession_read_sessions reads the strict sessions afterwards. */
#include "check.h"

static const char *update =
    "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"chat\":{\"id\":-5,\"type\":\"group\"},"
    "\"from\":{\"id\":\"7\\\"x\",\"is_bot\":false,\"first_name\":\"A\"}}}";

int main(void) {
    make_test_dir();
    counting_store c = {0};
    botsession_store *counted = counting_open(&c);
    botsession_store *memory;
    CHECK_OK(botsession_store_open("memory:", NULL, &memory));
    botsession_engine *e;
    CHECK_OK(botsession_engine_new("{\"fragments\": {\"chat\": {\"initial\": 0}, \"user\": {\"key\": \"user\", \"lazy\": true},"
                                   " \"none\": {\"key\": \"business\"}}}", &e));
    CHECK_OK(botsession_engine_set_store(e, "chat", counted));
    CHECK_OK(botsession_engine_set_store(e, "user", memory));

    /* The lock names: [store identity, key] pairs in the order begin takes them, keys escaped
     * as JSON strings; nothing is read or locked. */
    char *names = NULL;
    CHECK_OK(botsession_lock_names(e, update, &names));
    CHECK(names && names[0] == '[' && strstr(names, "[\"custom:#") && strstr(names, "\",\"-5\"]"));
    CHECK(strstr(names, "[\"memory:#") && strstr(names, "\",\"7\\\"x\"]"));
    CHECK(strstr(names, "custom:#") < strstr(names, "memory:#"));
    botsession_free(names);
    CHECK(c.reads == 0);
    CHECK_OK(botsession_lock_names(e, "{\"update_id\":2,\"poll\":{\"id\":\"p\"}}", &names));
    CHECK_STR(names, "[]");
    botsession_free(names);
    CHECK_RC(botsession_lock_names(e, "[1,2]", &names), BOTSESSION_INVALID_JSON);
    CHECK(names == NULL);
    CHECK_RC(botsession_lock_names(NULL, update, &names), BOTSESSION_MISUSE);
    CHECK_RC(botsession_lock_names(e, update, NULL), BOTSESSION_MISUSE);

    /* begin_nowait takes the keys and reads nothing; read_sessions reads the strict one (once). */
    counting_put(&c, "-5", "41");
    botsession_update *u, *second;
    CHECK_OK(botsession_begin_nowait(e, update, &u));
    CHECK(c.reads == 0);
    CHECK_OK(botsession_read_sessions(u));
    CHECK(c.reads == 1);
    CHECK_OK(botsession_read_sessions(u));
    CHECK(c.reads == 1);
    char *json;
    CHECK_OK(botsession_get(u, "chat", &json));
    CHECK_TAKE_STR(json, "41");

    /* While it is open, another begin_nowait of the same keys is BUSY at once, holding nothing. */
    second = (botsession_update *)1;
    CHECK_RC(botsession_begin_nowait(e, update, &second), BOTSESSION_BUSY);
    CHECK(second == NULL);
    CHECK_OK(botsession_set(u, "chat", "42"));
    CHECK_OK(botsession_commit(u));
    CHECK_STR(counting_get(&c, "-5"), "42");

    /* A session set before read_sessions is not read over. */
    CHECK_OK(botsession_begin_nowait(e, update, &u));
    CHECK_OK(botsession_set(u, "chat", "7"));
    CHECK_OK(botsession_read_sessions(u));
    CHECK_OK(botsession_get(u, "chat", &json));
    CHECK_TAKE_STR(json, "7");
    CHECK_OK(botsession_commit(u));
    CHECK_STR(counting_get(&c, "-5"), "7");

    /* A failing read: the caller rolls back, and the keys are free again. */
    CHECK_OK(botsession_begin_nowait(e, update, &u));
    c.fail_next = BOTSESSION_STORAGE;
    CHECK_RC(botsession_read_sessions(u), BOTSESSION_CALLBACK);
    botsession_rollback(u);
    CHECK_OK(botsession_begin_nowait(e, update, &u));
    CHECK_OK(botsession_read_sessions(u));
    botsession_rollback(u);
    CHECK_RC(botsession_read_sessions(NULL), BOTSESSION_MISUSE);
    CHECK_RC(botsession_begin_nowait(e, update, NULL), BOTSESSION_MISUSE);

    botsession_engine_free(e);
    botsession_store_close(counted);
    botsession_store_close(memory);
    counting_reset(&c);
    report_passed("test_nowait");
    return 0;
}
