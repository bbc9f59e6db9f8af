/*
 * fuzz_enhancer.c - grammY's enhancer reading back what a store holds: a custom store whose one
 * entry, "k", is the fuzz input (after a first mode byte), behind botsession_store_enhance with
 * (mode bit 0) a ttl_ms and a fixed clock, and (bit 1) two migrations, one wrapping the data and
 * one dropping data that mentions "drop".
 * Invariants: has and read agree (status, and presence); what read returns is JSON and a second
 * read returns the same text (housekeeping converges); iteration gives the same entry or nothing, or
 * fails as read does; migrations and the store only ever get JSON from the library; the custom
 * store is released exactly once when the last handle is closed.
 */
#include "fuzz.h"

#define NOW 1700000000000LL

static struct {
    char *text;          /* the entry "k", or NULL */
    int writes, released;
} entry;

static int e_read(void *ud, const char *key, botsession_buffer *out) {
    (void)ud;
    if (strcmp(key, "k") == 0 && entry.text) botsession_buffer_set(out, entry.text, strlen(entry.text));
    return 0;
}
static int e_write(void *ud, const char *key, const char *json) {
    (void)ud;
    FUZZ_CHECK(strcmp(key, "k") == 0, "the enhancer wrote a key it never read: %s", key);
    FUZZ_CHECK(json_valid(json), "the enhancer wrote text that is not JSON: %s", json);
    free(entry.text);
    entry.text = strdup(json);
    entry.writes++;
    return 0;
}
static int e_remove(void *ud, const char *key) {
    (void)ud;
    if (strcmp(key, "k") == 0) { free(entry.text); entry.text = NULL; }
    return 0;
}
static int e_keys(void *ud, const char *prefix, botsession_buffer *out) {
    (void)ud;
    const char *keys = entry.text && strncmp("k", prefix, strlen(prefix)) == 0 ? "[\"k\"]" : "[]";
    return botsession_buffer_set(out, keys, strlen(keys));
}
static void e_release(void *ud) { (void)ud; entry.released++; }

static int64_t fixed_clock(void *ud) { (void)ud; return NOW; }

static int wrap(void *ud, const char *old, botsession_buffer *out) {
    (void)ud;
    FUZZ_CHECK(json_valid(old), "a migration was given text that is not JSON: %s", old);
    size_t n = strlen(old) + 8;
    char *s = malloc(n);
    snprintf(s, n, "{\"m\":%s}", old);
    botsession_buffer_set(out, s, strlen(s));
    free(s);
    return 0;
}
static int drop(void *ud, const char *old, botsession_buffer *out) {
    (void)ud;
    FUZZ_CHECK(json_valid(old), "a migration was given text that is not JSON: %s", old);
    if (!strstr(old, "drop")) botsession_buffer_set(out, old, strlen(old));
    return 0;
}

/* The enhancer keeps a value's text but not the whitespace around it (a value written as
 * " [1] " reads back as "[1]", README). Two reads of the same data agree exactly: legacy
 * "\t[2]" reads as "[2]" before and after ttl_ms stamps it (corpus: ws-legacy-stamp). */
#define READ_STATUSES BOTSESSION_OK, BOTSESSION_INVALID_JSON, BOTSESSION_MIGRATION

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int ttl = data[0] & 1, migrations = data[0] & 2;
    entry.text = fuzz_text(data + 1, size - 1);
    entry.writes = entry.released = 0;

    static const botsession_store_methods methods = {
        sizeof(botsession_store_methods), e_read, e_write, e_remove, NULL, e_keys, e_release,
    };
    botsession_store *inner, *s;
    if (botsession_store_custom(&methods, NULL, &inner)) abort();
    STATUS(botsession_store_enhance(inner, ttl ? "{\"ttl_ms\": 1000}" : NULL, &s), BOTSESSION_OK);
    if (migrations) {
        STATUS(botsession_store_add_migration(s, 1, wrap, NULL), BOTSESSION_OK);
        STATUS(botsession_store_add_migration(s, 2.5, drop, NULL), BOTSESSION_OK);
    }
    STATUS(botsession_store_set_clock(s, fixed_clock, NULL), BOTSESSION_OK);

    int exists = -1;
    int has_rc = STATUS(botsession_store_has(s, "k", &exists), READ_STATUSES);
    char *json = UNSET;
    int rc = STATUS(botsession_store_read(s, "k", &json), READ_STATUSES);
    FUZZ_CHECK(rc == has_rc, "has gave %s, read %s", botsession_status_name(has_rc), botsession_status_name(rc));
    FUZZ_CHECK(json != UNSET && (rc == BOTSESSION_OK || json == NULL), "read's out-parameter after %s", botsession_status_name(rc));
    if (rc == BOTSESSION_OK) {
        FUZZ_CHECK(exists == (json != NULL), "has said %d, read gave %s", exists, json);
        if (json) FUZZ_CHECK(json_valid(json), "read gave text that is not JSON: %s", json);
    }

    char *again = UNSET;
    int rc2 = STATUS(botsession_store_read(s, "k", &again), READ_STATUSES);
    FUZZ_CHECK(rc2 == rc && streq(again, json), "read gave %s \"%s\", then %s \"%s\"", botsession_status_name(rc), json,
               botsession_status_name(rc2), again);
    botsession_free(again);

    botsession_iter *it = UNSET;
    char *k = UNSET, *v = UNSET;
    STATUS(botsession_store_iter(s, "", &it), BOTSESSION_OK);
    int irc = STATUS(botsession_iter_next(it, &k, &v), READ_STATUSES);
    FUZZ_CHECK(irc == rc, "read gave %s, iteration %s", botsession_status_name(rc), botsession_status_name(irc));
    if (irc == BOTSESSION_OK)
        FUZZ_CHECK(json ? streq(k, "k") && streq(v, json) : k == NULL && v == NULL,
                   "read gave \"%s\", iteration \"%s\" = \"%s\"", json, k, v);
    else
        FUZZ_CHECK(k == NULL && v == NULL, "a failed iter_next left a key or value");
    botsession_free(k); botsession_free(v);
    botsession_iter_free(it);
    botsession_free(json);

    botsession_store_close(s);
    FUZZ_CHECK(entry.released == 0, "the custom store was released while the enhancer held it");
    botsession_store_close(inner);
    FUZZ_CHECK(entry.released == 1, "the custom store was released %d times", entry.released);
    free(entry.text);
    entry.text = NULL;
    return 0;
}
