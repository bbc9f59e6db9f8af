/*
 * fuzz_update.c - update JSON at botsession_begin, through engines with every key strategy (one
 * with a prefix and an initial value, one with two fragments, one lazy).
 * Invariants: begin accepts only valid JSON (fuzz.h's validator) and refuses with INVALID_JSON
 * or TOO_BIG; a begun update has a key of at most 1,024 valid UTF-8 bytes or none; without a key
 * get is NO_KEY, with one get gives the initial value; a value set and committed is in the store
 * under that key, the same update begins again with the same key and reads it back; setting null
 * deletes it.
 */
#include "fuzz.h"

typedef struct { const char *options; const char *fragment; const char *initial; } engine_case;
static const engine_case cases[] = {
    {"{\"initial\": {\"n\": 0}}", NULL, "{\"n\": 0}"},
    {"{\"key\": \"user\", \"prefix\": \"u:\"}", NULL, NULL},
    {"{\"key\": \"user-chat\", \"lazy\": true}", NULL, NULL},
    {"{\"key\": \"chat-topic\"}", NULL, NULL},
    {"{\"key\": \"business\", \"initial\": [1]}", NULL, "[1]"},
    {"{\"fragments\": {\"a\": {\"key\": \"chat\"}, \"b\": {\"key\": \"user\", \"lazy\": true, \"initial\": 7}}}", "b", "7"},
};
#define CASES (sizeof cases / sizeof cases[0])
static botsession_engine *engines[CASES];
static botsession_store *stores[CASES];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    for (size_t i = 0; i < CASES; i++) {
        if (botsession_engine_new(cases[i].options, &engines[i]) || botsession_store_open("memory:", NULL, &stores[i]) ||
            botsession_engine_set_store(engines[i], cases[i].fragment ? "a" : NULL, stores[i]))
            abort();
        if (cases[i].fragment) {   /* the fragment under test shares the store */
            if (botsession_engine_set_store(engines[i], cases[i].fragment, stores[i])) abort();
        }
    }
    return 0;
}

static char *key_of(botsession_update *u, const char *fragment) {
    char *key = UNSET;
    STATUS(botsession_key(u, fragment, &key), BOTSESSION_OK);
    FUZZ_CHECK(key != UNSET, "key left its out-parameter unset");
    if (key) FUZZ_CHECK(strlen(key) <= 1024 && utf8_valid(key), "a bad key: %zu bytes", strlen(key));
    return key;
}

static void run(size_t i, const char *update, int valid) {
    botsession_engine *e = engines[i];
    const char *f = cases[i].fragment;
    botsession_update *u = UNSET;
    int rc = STATUS(botsession_begin(e, update, &u), BOTSESSION_OK, BOTSESSION_INVALID_JSON, BOTSESSION_TOO_BIG,
                    BOTSESSION_INVALID_OPTION);
    if (rc != BOTSESSION_OK) {
        FUZZ_CHECK(u == NULL, "a failed begin left an update");
        /* An id that cannot be a key (INVALID_JSON) or is too long can fail valid JSON; the
         * fragments engine refuses two fragments on one key in one store (INVALID_OPTION). */
        FUZZ_CHECK(rc != BOTSESSION_INVALID_OPTION || f, "INVALID_OPTION without fragments");
        return;
    }
    FUZZ_CHECK(valid, "begin accepted an update that is not JSON");
    char *key = key_of(u, f), *json = UNSET;
    rc = STATUS(botsession_get(u, f, &json), BOTSESSION_OK, BOTSESSION_NO_KEY);
    FUZZ_CHECK((rc == BOTSESSION_NO_KEY) == (key == NULL), "get gave %s with key %s", botsession_status_name(rc), key);
    if (!key) {
        FUZZ_CHECK(json == NULL, "a failed get left a value");
        STATUS(botsession_set(u, f, "1"), BOTSESSION_NO_KEY);
        botsession_rollback(u);
        return;
    }
    FUZZ_CHECK(streq(json, cases[i].initial), "get gave %s, not the initial value", json);
    botsession_free(json);
    STATUS(botsession_set(u, f, "{\"seen\":true}"), BOTSESSION_OK);
    STATUS(botsession_commit(u), BOTSESSION_OK);

    STATUS(botsession_store_read(stores[i], key, &json), BOTSESSION_OK);
    FUZZ_CHECK(streq(json, "{\"seen\":true}"), "the store holds %s under the update's key", json);
    botsession_free(json);

    STATUS(botsession_begin(e, update, &u), BOTSESSION_OK);
    char *again = key_of(u, f);
    FUZZ_CHECK(streq(again, key), "the same update gave the key %s, then %s", key, again);
    STATUS(botsession_get(u, f, &json), BOTSESSION_OK);
    FUZZ_CHECK(streq(json, "{\"seen\":true}"), "read back %s", json);
    botsession_free(json);
    STATUS(botsession_clear(u), BOTSESSION_OK);
    STATUS(botsession_commit(u), BOTSESSION_OK);
    int exists = -1;
    STATUS(botsession_store_has(stores[i], key, &exists), BOTSESSION_OK);
    FUZZ_CHECK(exists == 0, "clear did not delete the session");
    botsession_free(key);
    botsession_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *update = fuzz_text(data, size);
    int valid = json_valid(update);
    for (size_t i = 0; i < CASES; i++) run(i, update, valid);
    free(update);
    return 0;
}
