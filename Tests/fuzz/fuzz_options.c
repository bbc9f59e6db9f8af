/*
 * fuzz_options.c - the options JSON of botsession_engine_new, botsession_store_open (memory: and
 * a SQLite file) and botsession_store_enhance. The first byte picks the call, the rest is the
 * options text.
 * Invariants: text that is not JSON is INVALID_JSON ("" is taken as NULL), JSON is never INVALID_JSON; a refused
 * option leaves the out-parameter NULL; what was accepted works: an engine begins and commits an
 * update, a store (enhanced or not) reads back what was written.
 */
#include "fuzz.h"

#define UPDATE "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"text\":\"x\"," \
               "\"chat\":{\"id\":-100123,\"type\":\"group\"},\"from\":{\"id\":42,\"is_bot\":false,\"first_name\":\"A\"}}}"

static void check_json_verdict(const char *call, int rc, const char *options) {
    /* The library takes "" as NULL (the defaults), as the header says. */
    int valid = json_valid(options) || options[0] == 0;
    FUZZ_CHECK((rc == BOTSESSION_INVALID_JSON) == !valid, "%s gave %s for %s JSON", call, botsession_status_name(rc),
               valid ? "valid" : "invalid");
}

static void check_store_works(botsession_store *s) {
    char *json = UNSET;
    STATUS(botsession_store_write(s, "k", "{\"v\":[1,2]}"), BOTSESSION_OK);
    STATUS(botsession_store_read(s, "k", &json), BOTSESSION_OK);
    FUZZ_CHECK(streq(json, "{\"v\":[1,2]}"), "read back %s", json);
    botsession_free(json);
}

static void engine_case(const char *options) {
    botsession_engine *e = UNSET;
    int rc = STATUS(botsession_engine_new(options, &e), BOTSESSION_OK, BOTSESSION_INVALID_JSON, BOTSESSION_INVALID_OPTION,
                    BOTSESSION_ERROR);
    check_json_verdict("engine_new", rc, options);
    if (rc != BOTSESSION_OK) { FUZZ_CHECK(e == NULL, "a refused engine was returned"); return; }
    botsession_update *u = UNSET;
    /* Fragments may resolve to one key in one (private memory) store; a prefix may make the key
     * longer than 1,024 bytes. */
    rc = STATUS(botsession_begin(e, UPDATE, &u), BOTSESSION_OK, BOTSESSION_INVALID_OPTION, BOTSESSION_TOO_BIG);
    if (rc == BOTSESSION_OK) STATUS(botsession_commit(u), BOTSESSION_OK);
    else FUZZ_CHECK(u == NULL, "a failed begin left an update");
    botsession_engine_free(e);
}

static void store_case(const char *uri, const char *options) {
    botsession_store *s = UNSET;
    int rc = STATUS(botsession_store_open(uri, options, &s), BOTSESSION_OK, BOTSESSION_INVALID_JSON, BOTSESSION_INVALID_OPTION);
    check_json_verdict("store_open", rc, options);
    if (rc != BOTSESSION_OK) { FUZZ_CHECK(s == NULL, "a refused store was returned"); return; }
    check_store_works(s);
    botsession_store_close(s);
}

static void enhance_case(const char *options) {
    botsession_store *inner, *s = UNSET;
    if (botsession_store_open("memory:", NULL, &inner)) abort();
    int rc = STATUS(botsession_store_enhance(inner, options, &s), BOTSESSION_OK, BOTSESSION_INVALID_JSON,
                    BOTSESSION_INVALID_OPTION);
    check_json_verdict("store_enhance", rc, options);
    if (rc == BOTSESSION_OK) {
        check_store_works(s);
        char *wrapped = NULL;
        STATUS(botsession_store_read(inner, "k", &wrapped), BOTSESSION_OK);
        FUZZ_CHECK(wrapped && strstr(wrapped, "\"__d\""), "the inner store holds %s, not grammY's wrapper", wrapped);
        botsession_free(wrapped);
        botsession_store_close(s);
    } else {
        FUZZ_CHECK(s == NULL, "a refused enhancer was returned");
    }
    botsession_store_close(inner);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    char *options = fuzz_text(data + 1, size - 1);
    char uri[600], path[600];
    switch (data[0] % 4) {
    case 0: engine_case(options); break;
    case 1: store_case("memory:", options); break;
    case 2:   /* a fresh file each time, so tables named by the fuzzer do not pile up */
        snprintf(path, sizeof path, "%s/options.db", fuzz_dir());
        unlink(path);
        snprintf(uri, sizeof uri, "%s-wal", path); unlink(uri);
        snprintf(uri, sizeof uri, "%s-shm", path); unlink(uri);
        snprintf(uri, sizeof uri, "sqlite:%s", path);
        store_case(uri, options);
        break;
    case 3: enhance_case(options); break;
    }
    free(options);
    return 0;
}
