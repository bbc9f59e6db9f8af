/* One store conformance suite, run against every store and each of them enhanced: read, write,
 * delete, has, iteration with and without prefix, absent keys, hostile, unicode and long keys,
 * unicode values, 1 MiB values, bad input, and expiry where configured (SPEC §6). */
#include "check.h"

static int64_t fake_now = 1700000000000;
static int64_t fake_clock(void *user_data) {
    (void)user_data;
    return fake_now;
}

/* A migration that changes nothing (so enhanced stores carry a version). */
static int same(void *ud, const char *old, botsession_buffer *out) {
    (void)ud;
    return botsession_buffer_set(out, old, strlen(old));
}

static counting_store custom;

/* The stores under test. `ttl` is the lifetime in ms where the store expires values, else 0. */
typedef struct { char name[300]; const char *uri; const char *options; int custom; int enhanced; int ttl; } kind;

static botsession_store *open_kind(const kind *k) {
    botsession_store *s, *inner;
    if (k->custom) {
        counting_reset(&custom);
        inner = counting_open(&custom);
    } else {
        CHECK_OK(botsession_store_open(k->uri, k->options, &inner));
    }
    int inner_expires = k->options && strstr(k->options, "ttl_ms");
    if (inner_expires) CHECK_OK(botsession_store_set_clock(inner, fake_clock, NULL));
    if (!k->enhanced) return inner;
    CHECK_OK(botsession_store_enhance(inner, k->ttl ? "{\"ttl_ms\": 1000}" : NULL, &s));
    botsession_store_close(inner);  /* the enhanced store keeps it */
    CHECK_OK(botsession_store_add_migration(s, 1, same, NULL));
    /* The fake clock, on the inner store where that expires (the enhancer then uses it; that
     * fallback is checked in test_enhancer.c), else on the enhancer. */
    if (!inner_expires) CHECK_OK(botsession_store_set_clock(s, fake_clock, NULL));
    return s;
}

/* "key=value,..." of an iteration, in the store's order. */
static void entries(botsession_store *s, const char *prefix, char *out, size_t size) {
    botsession_iter *it;
    char *key, *json;
    out[0] = 0;
    CHECK_OK(botsession_store_iter(s, prefix, &it));
    while (1) {
        CHECK_OK(botsession_iter_next(it, &key, &json));
        if (!key) break;
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s%s=%s", used ? "," : "", key, json);
        botsession_free(key);
        botsession_free(json);
    }
    botsession_iter_free(it);
}

/* Whether `list` (comma-separated) holds `item`. */
static int holds(const char *list, const char *item) {
    size_t n = strlen(item);
    for (const char *p = list; (p = strstr(p, item)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return 1;
    return 0;
}

static void suite(const kind *k) {
    botsession_store *s = open_kind(k);
    char *json = NULL;
    int exists = -1;
    char list[8192];
    printf("  %s\n", k->name);

    /* Absent keys. */
    CHECK_OK(botsession_store_read(s, "absent", &json));
    CHECK(json == NULL);
    CHECK_OK(botsession_store_has(s, "absent", &exists));
    CHECK(exists == 0);
    CHECK_OK(botsession_store_delete(s, "absent"));

    /* Write, read, has, overwrite, delete; values keep their exact text. */
    const char *exact = "{\"count\": 1, \"pi\": 0.1, \"big\": 123456789012345678901234567890, \"e\": 1E+2}";
    CHECK_OK(botsession_store_write(s, "k1", exact));
    CHECK_OK(botsession_store_read(s, "k1", &json));
    CHECK_TAKE_STR(json, exact);
    CHECK_OK(botsession_store_has(s, "k1", &exists));
    CHECK(exists == 1);
    CHECK_OK(botsession_store_write(s, "k1", "[2]"));
    CHECK_OK(botsession_store_read(s, "k1", &json));
    CHECK_TAKE_STR(json, "[2]");
    CHECK_OK(botsession_store_delete(s, "k1"));
    CHECK_OK(botsession_store_read(s, "k1", &json));
    CHECK(json == NULL);
    CHECK_OK(botsession_store_has(s, "k1", &exists));
    CHECK(exists == 0);

    /* Keys with SQL metacharacters, path parts, quotes, unicode; unicode values. */
    const char *keys[] = {"'; DROP TABLE sessions; --", "a/b/../../c", "..", "../../etc/passwd", "\"quoted\"",
                          "ключ 🍕", "", ".hidden", "%41", "\\", "x..", "-1001234567890", "AbC_-9.z"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char value[64];
        snprintf(value, sizeof value, "{\"i\":%zu,\"s\":\"пицца 🍕\"}", i);
        CHECK_OK(botsession_store_write(s, keys[i], value));
    }
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char value[64];
        snprintf(value, sizeof value, "{\"i\":%zu,\"s\":\"пицца 🍕\"}", i);
        CHECK_OK(botsession_store_read(s, keys[i], &json));
        CHECK_TAKE_STR(json, value);
    }
    /* "%41" and "A" are different keys, whatever the encoding. */
    CHECK_OK(botsession_store_read(s, "A", &json));
    CHECK(json == NULL);
    entries(s, "", list, sizeof list);
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char item[128];
        snprintf(item, sizeof item, "%s={\"i\":%zu,\"s\":\"пицца 🍕\"}", keys[i], i);
        CHECK(holds(list, item));
    }
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) CHECK_OK(botsession_store_delete(s, keys[i]));
    entries(s, "", list, sizeof list);
    CHECK_STR(list, "");

    /* Keys of 1,024 bytes work (plain and not); 1,025 bytes are TOO_BIG; not UTF-8 is MISUSE. */
    char long_key[1026];
    memset(long_key, 'k', 1024);
    long_key[1024] = 0;
    CHECK_OK(botsession_store_write(s, long_key, "1"));
    CHECK_OK(botsession_store_read(s, long_key, &json));
    CHECK_TAKE_STR(json, "1");
    memset(long_key, '/', 1024);
    CHECK_OK(botsession_store_write(s, long_key, "2"));
    CHECK_OK(botsession_store_read(s, long_key, &json));
    CHECK_TAKE_STR(json, "2");
    CHECK_OK(botsession_store_has(s, long_key, &exists));
    CHECK(exists == 1);
    entries(s, "////", list, sizeof list);
    CHECK(strlen(list) == 1024 + 2);
    CHECK_OK(botsession_store_delete(s, long_key));
    memset(long_key, 'k', 1024);
    CHECK_OK(botsession_store_delete(s, long_key));
    long_key[1024] = 'k';
    long_key[1025] = 0;
    CHECK_RC(botsession_store_write(s, long_key, "1"), BOTSESSION_TOO_BIG);
    CHECK_RC(botsession_store_read(s, long_key, &json), BOTSESSION_TOO_BIG);
    CHECK_RC(botsession_store_write(s, "bad\xff", "1"), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("not valid UTF-8");

    /* Bad values change nothing. */
    CHECK_OK(botsession_store_write(s, "keep", "{\"a\":1}"));
    const char *bad_values[] = {"", "{", "{\"a\":}", "[1,]", "nul", "01", "1.", "\"\x01\"", "\"\xc3\x28\"",
                                "{} x", "\xef\xbb\xbf{}", "{'a':1}", "NaN"};
    for (size_t i = 0; i < sizeof bad_values / sizeof *bad_values; i++)
        CHECK_RC(botsession_store_write(s, "keep", bad_values[i]), BOTSESSION_INVALID_JSON);
    CHECK_OK(botsession_store_read(s, "keep", &json));
    CHECK_TAKE_STR(json, "{\"a\":1}");
    CHECK_OK(botsession_store_delete(s, "keep"));

    /* NULL arguments. */
    botsession_iter *it = NULL;
    CHECK_RC(botsession_store_read(s, NULL, &json), BOTSESSION_MISUSE);
    CHECK_RC(botsession_store_read(s, "k", NULL), BOTSESSION_MISUSE);
    CHECK_RC(botsession_store_write(s, "k", NULL), BOTSESSION_MISUSE);
    CHECK_RC(botsession_store_delete(s, NULL), BOTSESSION_MISUSE);
    CHECK_RC(botsession_store_has(s, "k", NULL), BOTSESSION_MISUSE);
    CHECK_RC(botsession_store_iter(s, NULL, NULL), BOTSESSION_MISUSE);

    /* Iteration: everything, a prefix, nothing; entries that exist throughout are each returned
     * once even when another is deleted meanwhile (which may or may not be returned). */
    CHECK_OK(botsession_store_write(s, "chat:2", "2"));
    CHECK_OK(botsession_store_write(s, "user:1", "10"));
    CHECK_OK(botsession_store_write(s, "chat:1", "1"));
    CHECK_OK(botsession_store_write(s, "chat", "0"));
    entries(s, "chat:", list, sizeof list);
    CHECK(holds(list, "chat:1=1") && holds(list, "chat:2=2") && strlen(list) == strlen("chat:1=1,chat:2=2"));
    entries(s, NULL, list, sizeof list);
    CHECK(holds(list, "chat=0") && holds(list, "user:1=10") && strlen(list) == strlen("chat:1=1,chat:2=2,user:1=10,chat=0"));
    entries(s, "nobody", list, sizeof list);
    CHECK_STR(list, "");
    char *key;
    CHECK_OK(botsession_store_iter(s, NULL, &it));
    CHECK_OK(botsession_store_delete(s, "user:1"));
    int seen_user = 0, seen_others = 0;
    while (botsession_iter_next(it, &key, &json) == BOTSESSION_OK && key) {
        if (strcmp(key, "user:1") == 0) seen_user++;
        else seen_others++;
        botsession_free(key);
        botsession_free(json);
    }
    botsession_iter_free(it);
    CHECK(seen_others == 3 && seen_user <= 1);
    CHECK_OK(botsession_store_delete(s, "chat:1"));
    CHECK_OK(botsession_store_delete(s, "chat:2"));
    CHECK_OK(botsession_store_delete(s, "chat"));

    /* A 1 MiB value, exactly. */
    size_t size = 1 << 20;
    char *big = malloc(size + 1);
    big[0] = '"';
    for (size_t i = 1; i < size - 1; i++) big[i] = (char)('a' + i % 26);
    big[size - 1] = '"';
    big[size] = 0;
    CHECK_OK(botsession_store_write(s, "big", big));
    CHECK_OK(botsession_store_read(s, "big", &json));
    CHECK(json && strlen(json) == size && memcmp(json, big, size) == 0);
    botsession_free(json);
    CHECK_OK(botsession_store_delete(s, "big"));
    free(big);

    /* Expiry, where configured (the lifetime is 1000 ms on every expiring store here). */
    if (k->ttl) {
        CHECK_OK(botsession_store_write(s, "x", "1"));
        CHECK_OK(botsession_store_write(s, "y", "2"));
        fake_now += 1000;                  /* exactly the lifetime: still there */
        CHECK_OK(botsession_store_read(s, "x", &json));
        CHECK_TAKE_STR(json, "1");
        CHECK_OK(botsession_store_write(s, "y", "3"));
        fake_now += 1;                     /* x has expired; y was written again */
        CHECK_OK(botsession_store_read(s, "x", &json));
        CHECK(json == NULL);
        CHECK_OK(botsession_store_has(s, "x", &exists));
        CHECK(exists == 0);
        entries(s, NULL, list, sizeof list);
        CHECK_STR(list, "y=3");
        fake_now += 1000;
        CHECK_OK(botsession_store_has(s, "y", &exists));
        CHECK(exists == 0);
        entries(s, NULL, list, sizeof list);
        CHECK_STR(list, "");
        CHECK_OK(botsession_store_write(s, "x", "4"));   /* writing again works */
        CHECK_OK(botsession_store_read(s, "x", &json));
        CHECK_TAKE_STR(json, "4");
        CHECK_OK(botsession_store_delete(s, "x"));
        CHECK_OK(botsession_store_delete(s, "y"));
    }
    botsession_store_close(s);
}

int main(void) {
    make_test_dir();
    kind kinds[] = {
        {"memory:", "memory:", NULL, 0, 0, 0},
        {"memory: with ttl_ms", "memory:", "{\"ttl_ms\": 1000}", 0, 0, 1000},
        {"", NULL, NULL, 0, 0, 0},  /* sqlite:FILE, filled in below */
        {"sqlite::memory:", "sqlite::memory:", NULL, 0, 0, 0},
        {"", NULL, NULL, 0, 0, 0},  /* file:DIR */
        {"custom store in C", NULL, NULL, 1, 0, 0},
    };
    static char sqlite[300], file[300];
    snprintf(sqlite, sizeof sqlite, "sqlite:%s/suite.db", test_dir);
    snprintf(file, sizeof file, "file:%s/suite-files", test_dir);
    kinds[2].uri = sqlite;
    snprintf(kinds[2].name, sizeof kinds[2].name, "sqlite:FILE");
    kinds[4].uri = file;
    snprintf(kinds[4].name, sizeof kinds[4].name, "file:DIR");

    size_t n = sizeof kinds / sizeof *kinds;
    /* PostgreSQL, when a test server runs (make test starts one). */
    kind postgres = {"postgresql", postgres_test_uri("test_store_suite"), "{\"table\": \"suite_sessions\"}", 0, 0, 0};
    for (size_t i = 0; i < n; i++) suite(&kinds[i]);
    if (postgres.uri) suite(&postgres);
    /* Each of them enhanced, with a lifetime and a migration (its own clock). */
    for (size_t i = 0; i <= n; i++) {
        if (i == n && !postgres.uri) break;
        kind enhanced = i < n ? kinds[i] : postgres;
        snprintf(enhanced.name, sizeof enhanced.name, "enhanced %.200s", i < n ? kinds[i].name : postgres.name);
        enhanced.enhanced = 1;
        enhanced.ttl = 1000;
        if (i == n) enhanced.options = "{\"table\": \"suite_enhanced\"}";
        suite(&enhanced);
    }
    counting_reset(&custom);
    report_passed("test_store_suite");
    return 0;
}
