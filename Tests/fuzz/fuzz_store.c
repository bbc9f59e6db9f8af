/*
 * fuzz_store.c - keys and values at the store API, on a memory store, a SQLite file and a file
 * store in a scratch directory. Input: two bytes of key length (mod 1100, so keys reach past the
 * 1,024-byte limit), the key, then the value.
 * Invariants: every store gives the same verdict on a key and a value; a key is refused
 * (MISUSE: not UTF-8, TOO_BIG: above 1,024 bytes) exactly when fuzz.h says so, and the same way
 * by read, has, write and delete; a value is refused exactly when it is not JSON; after a write,
 * has is 1, read returns the exact text, an iteration with the key as prefix finds exactly that
 * entry; after a delete, has is 0 and read returns NULL.
 */
#include "fuzz.h"

#define STORES 3
static botsession_store *stores[STORES];
static const char *names[STORES] = {"memory", "sqlite", "file"};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    char uri[600];
    if (botsession_store_open("memory:", NULL, &stores[0])) abort();
    snprintf(uri, sizeof uri, "sqlite:%s/fuzz.db", fuzz_dir());
    if (botsession_store_open(uri, "{\"synchronous\": \"off\"}", &stores[1])) abort();
    snprintf(uri, sizeof uri, "file:%s/files", fuzz_dir());
    if (botsession_store_open(uri, NULL, &stores[2])) abort();
    return 0;
}

/* Writes, reads back, iterates and deletes on one store; returns write's status. */
static int round_trip(int i, const char *key, const char *value, int key_rc) {
    botsession_store *s = stores[i];
    const char *n = names[i];
    char *json = UNSET;
    int exists = -1;
    int rc = STATUS(botsession_store_read(s, key, &json), BOTSESSION_OK, BOTSESSION_MISUSE, BOTSESSION_TOO_BIG);
    FUZZ_CHECK(rc == key_rc, "%s: read of the key gave %s, expected %s", n, botsession_status_name(rc), botsession_status_name(key_rc));
    FUZZ_CHECK(json == NULL, "%s: the store was not empty (or out not NULL on failure)", n);
    rc = STATUS(botsession_store_has(s, key, &exists), BOTSESSION_OK, BOTSESSION_MISUSE, BOTSESSION_TOO_BIG);
    FUZZ_CHECK(rc == key_rc && exists == 0, "%s: has gave %s, %d", n, botsession_status_name(rc), exists);
    rc = STATUS(botsession_store_delete(s, key), BOTSESSION_OK, BOTSESSION_MISUSE, BOTSESSION_TOO_BIG);
    FUZZ_CHECK(rc == key_rc, "%s: delete of an absent key gave %s", n, botsession_status_name(rc));

    int wrc = STATUS(botsession_store_write(s, key, value), BOTSESSION_OK, BOTSESSION_MISUSE, BOTSESSION_TOO_BIG,
                     BOTSESSION_INVALID_JSON);
    if (key_rc != BOTSESSION_OK) {
        FUZZ_CHECK(wrc == key_rc, "%s: write with a bad key gave %s", n, botsession_status_name(wrc));
        return wrc;
    }
    FUZZ_CHECK((wrc == BOTSESSION_OK) == json_valid(value), "%s: write said %s, the validator says %s", n,
               botsession_status_name(wrc), json_valid(value) ? "valid" : "invalid");
    STATUS(botsession_store_has(s, key, &exists), BOTSESSION_OK);
    FUZZ_CHECK(exists == (wrc == BOTSESSION_OK), "%s: has is %d after a write that gave %s", n, exists, botsession_status_name(wrc));
    if (wrc != BOTSESSION_OK) return wrc;

    STATUS(botsession_store_read(s, key, &json), BOTSESSION_OK);
    FUZZ_CHECK(streq(json, value), "%s: wrote \"%s\", read \"%s\"", n, value, json);
    botsession_free(json);

    botsession_iter *it = UNSET;
    char *k = UNSET, *v = UNSET;
    STATUS(botsession_store_iter(s, key, &it), BOTSESSION_OK);
    STATUS(botsession_iter_next(it, &k, &v), BOTSESSION_OK);
    FUZZ_CHECK(streq(k, key) && streq(v, value), "%s: iterating prefix \"%s\" gave \"%s\" = \"%s\"", n, key, k, v);
    botsession_free(k); botsession_free(v);
    STATUS(botsession_iter_next(it, &k, &v), BOTSESSION_OK);
    FUZZ_CHECK(k == NULL && v == NULL, "%s: iterating prefix \"%s\" found a second entry \"%s\"", n, key, k);
    botsession_iter_free(it);

    STATUS(botsession_store_delete(s, key), BOTSESSION_OK);
    STATUS(botsession_store_has(s, key, &exists), BOTSESSION_OK);
    json = UNSET;
    STATUS(botsession_store_read(s, key, &json), BOTSESSION_OK);
    FUZZ_CHECK(exists == 0 && json == NULL, "%s: the key is still there after delete", n);
    return wrc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    size_t klen = ((size_t)data[0] << 8 | data[1]) % 1100;
    if (klen > size - 2) klen = size - 2;
    char *key = fuzz_text(data + 2, klen);
    char *value = fuzz_text(data + 2 + klen, size - 2 - klen);
    int key_rc = !utf8_valid(key) ? BOTSESSION_MISUSE : strlen(key) > 1024 ? BOTSESSION_TOO_BIG : BOTSESSION_OK;

    int first = round_trip(0, key, value, key_rc);
    for (int i = 1; i < STORES; i++) {
        int rc = round_trip(i, key, value, key_rc);
        FUZZ_CHECK(rc == first, "%s said %s, %s said %s", names[0], botsession_status_name(first), names[i],
                   botsession_status_name(rc));
    }
    free(key); free(value);
    return 0;
}
