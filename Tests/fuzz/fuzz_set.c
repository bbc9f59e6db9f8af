/*
 * fuzz_set.c - session values at botsession_set: the input is the JSON text a handler sets.
 * Invariants: set accepts exactly the valid JSON texts (compared with fuzz.h's validator) that
 * fit max_value_bytes (TOO_BIG is decided by size alone); a refused value leaves the previous
 * one; an accepted one is what get returns, what commit writes (byte for byte) and what the next
 * update reads; setting null deletes it.
 */
#include "fuzz.h"

#define MAX_VALUE 4096
#define UPDATE "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"text\":\"x\"," \
               "\"chat\":{\"id\":-100123,\"type\":\"group\"}}}"
#define KEY "-100123"

static botsession_engine *engine;
static botsession_store *store;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    if (botsession_store_open("memory:", NULL, &store) ||
        botsession_engine_new("{\"max_value_bytes\": 4096}", &engine) ||
        botsession_engine_set_store(engine, NULL, store)) abort();
    return 0;
}

static botsession_update *begin(void) {
    botsession_update *u = UNSET;
    STATUS(botsession_begin(engine, UPDATE, &u), BOTSESSION_OK);
    return u;
}

static char *get(botsession_update *u) {
    char *json = UNSET;
    STATUS(botsession_get(u, NULL, &json), BOTSESSION_OK);
    FUZZ_CHECK(json != UNSET, "get left its out-parameter unset");
    return json;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_text(data, size);
    size_t len = strlen(text);
    int valid = json_valid(text);

    botsession_update *u = begin();
    char *json = get(u);
    FUZZ_CHECK(json == NULL, "the store was not empty: %s", json);
    STATUS(botsession_set(u, NULL, "[0]"), BOTSESSION_OK);

    int rc = STATUS(botsession_set(u, NULL, text), BOTSESSION_OK, BOTSESSION_INVALID_JSON, BOTSESSION_TOO_BIG);
    FUZZ_CHECK((rc == BOTSESSION_TOO_BIG) == (len > MAX_VALUE), "%zu bytes gave %s", len, botsession_status_name(rc));
    if (len <= MAX_VALUE)
        FUZZ_CHECK((rc == BOTSESSION_OK) == valid, "set said %s, the validator says %s", botsession_status_name(rc),
                   valid ? "valid" : "invalid");
    json = get(u);
    int null = rc == BOTSESSION_OK && json_is_null(text);
    if (rc != BOTSESSION_OK) FUZZ_CHECK(streq(json, "[0]"), "a refused set changed the value to %s", json);
    else FUZZ_CHECK(streq(json, text) || (null && json == NULL), "set \"%s\", get gave \"%s\"", text, json);
    botsession_free(json);
    STATUS(botsession_commit(u), BOTSESSION_OK);

    /* What the store holds, and what the next update reads. */
    const char *expected = rc != BOTSESSION_OK ? "[0]" : null ? NULL : text;
    char *stored = UNSET;
    STATUS(botsession_store_read(store, KEY, &stored), BOTSESSION_OK);
    FUZZ_CHECK(streq(stored, expected), "commit wrote \"%s\", expected \"%s\"", stored, expected);
    botsession_free(stored);
    u = begin();
    json = get(u);
    FUZZ_CHECK(streq(json, expected), "the next update read \"%s\", expected \"%s\"", json, expected);
    botsession_free(json);
    STATUS(botsession_set(u, NULL, NULL), BOTSESSION_OK);
    STATUS(botsession_commit(u), BOTSESSION_OK);
    int exists = -1;
    STATUS(botsession_store_has(store, KEY, &exists), BOTSESSION_OK);
    FUZZ_CHECK(exists == 0, "setting null did not delete the session");
    free(text);
    return 0;
}
