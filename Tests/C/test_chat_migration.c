/* Chat migration: follow_chat_migrations and botsession_migrate_chat move a group's sessions to
 * its supergroup's id in every store (memory, SQLite, file, PostgreSQL, custom, enhanced),
 * for chat, chat-topic and user-chat keys, never overwriting the target and never touching
 * other chats' or users' sessions. */
#include "check.h"
#include <jansson.h>

static const char *fragments =
    "{\"follow_chat_migrations\": true, \"lock_timeout_ms\": 0, \"fragments\": {"
    "\"chat\": {\"key\": \"chat\", \"prefix\": \"c:\"},"
    "\"topic\": {\"key\": \"chat-topic\", \"prefix\": \"t:\", \"lazy\": true},"
    "\"member\": {\"key\": \"user-chat\", \"prefix\": \"u:\"},"
    "\"user\": {\"key\": \"user\", \"prefix\": \"p:\"}}}";

/* The old group announces its move (migrate_to_chat_id, sent in the old chat). */
static const char *migrate_to =
    "{\"update_id\": 1, \"message\": {\"message_id\": 1, \"date\": 0, \"chat\": {\"id\": -1, \"type\": \"group\"},"
    " \"from\": {\"id\": 42}, \"migrate_to_chat_id\": -1001}}";
/* The supergroup announces it too (migrate_from_chat_id, sent in the new chat). */
static const char *migrate_from =
    "{\"update_id\": 2, \"message\": {\"message_id\": 1, \"date\": 0, \"chat\": {\"id\": -1001, \"type\": \"supergroup\"},"
    " \"from\": {\"id\": 42}, \"migrate_from_chat_id\": -1}}";

static long long counter(botsession_engine *e, const char *name) {
    char *text;
    CHECK_OK(botsession_engine_stats(e, &text));
    json_error_t error;
    json_t *stats = json_loads(text, 0, &error);
    botsession_free(text);
    if (!stats) FAIL("no stats JSON");
    json_t *value = json_object_get(stats, name);
    if (!json_is_integer(value)) FAIL("stats has no integer %s", name);
    long long n = json_integer_value(value);
    json_decref(stats);
    return n;
}

/* The stored value of `key` is `expected` (NULL: absent), read through `s`. */
static void check_stored(botsession_store *s, const char *key, const char *expected, const char *label) {
    char *json = NULL;
    CHECK_OK(botsession_store_read(s, key, &json));
    if ((json == NULL) != (expected == NULL) || (json && strcmp(json, expected) != 0))
        FAIL("%s: key %s holds %s, expected %s", label, key, json ? json : "nothing", expected ? expected : "nothing");
    checks_passed++;
    botsession_free(json);
}

static void get_is(botsession_update *u, const char *fragment, const char *expected) {
    char *json = NULL;
    CHECK_OK(botsession_get(u, fragment, &json));
    CHECK_TAKE_STR(json, expected);
}

/* The whole story on store `s`; `raw` is the store under an enhancer (NULL otherwise), where
 * the wrapper must move as it is. */
static void migration_on(botsession_store *s, botsession_store *raw, const char *label) {
    static const char *seeded[][2] = {
        {"c:-1", "{\"n\":1}"}, {"t:-1", "{\"t\":0}"}, {"t:-1/7", "{\"t\":7}"},
        {"u:42/-1", "{\"u\":42}"}, {"u:43/-1", "{\"u\":43}"},
        /* not the old chat's: another chat, a chat whose id starts the same, a user session */
        {"u:42/-5", "{\"other\":5}"}, {"c:-10", "{\"other\":10}"}, {"u:42/-10", "{\"other\":10}"},
        {"t:-10/7", "{\"other\":10}"}, {"p:42", "{\"user\":42}"},
    };
    size_t n = sizeof seeded / sizeof seeded[0];
    for (size_t i = 0; i < n; i++) CHECK_OK(botsession_store_write(s, seeded[i][0], seeded[i][1]));
    char *wrapped = NULL;
    if (raw) CHECK_OK(botsession_store_read(raw, "c:-1", &wrapped));

    botsession_engine *e;
    CHECK_OK(botsession_engine_new(fragments, &e));
    const char *names[] = {"chat", "topic", "member", "user"};
    for (int i = 0; i < 4; i++) CHECK_OK(botsession_engine_set_store(e, names[i], s));

    /* The handler of the announcement sees the moved sessions, under the new chat's keys. */
    botsession_update *u;
    CHECK_OK(botsession_begin(e, migrate_to, &u));
    char *key;
    CHECK_OK(botsession_key(u, "chat", &key));
    CHECK_TAKE_STR(key, "c:-1001");
    CHECK_OK(botsession_key(u, "member", &key));
    CHECK_TAKE_STR(key, "u:42/-1001");
    get_is(u, "chat", "{\"n\":1}");
    get_is(u, "member", "{\"u\":42}");
    get_is(u, "topic", "{\"t\":0}");
    get_is(u, "user", "{\"user\":42}");
    CHECK_OK(botsession_set(u, "chat", "{\"n\":2}"));
    CHECK_OK(botsession_commit(u));
    CHECK(counter(e, "chat_migrations") == 1);
    CHECK(counter(e, "chat_migrations_skipped") == 0);

    static const char *moved_to[][2] = {
        {"c:-1001", "{\"n\":2}"}, {"t:-1001", "{\"t\":0}"}, {"t:-1001/7", "{\"t\":7}"},
        {"u:42/-1001", "{\"u\":42}"}, {"u:43/-1001", "{\"u\":43}"},
    };
    for (size_t i = 0; i < sizeof moved_to / sizeof moved_to[0]; i++) check_stored(s, moved_to[i][0], moved_to[i][1], label);
    static const char *gone[] = {"c:-1", "t:-1", "t:-1/7", "u:42/-1", "u:43/-1"};
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) check_stored(s, gone[i], NULL, label);
    for (size_t i = 5; i < n; i++) check_stored(s, seeded[i][0], seeded[i][1], label);

    /* The supergroup's announcement finds nothing left to move, and sees the same sessions. */
    CHECK_OK(botsession_begin(e, migrate_from, &u));
    get_is(u, "chat", "{\"n\":2}");
    CHECK_OK(botsession_commit(u));
    CHECK(counter(e, "chat_migrations") == 1);
    check_stored(s, "c:-1", NULL, label);

    if (raw) {
        /* Moved as stored: the enhancer's wrapper (its version and expiry) is unchanged. */
        botsession_engine *plain;
        CHECK_OK(botsession_engine_new("{\"fragments\": {\"chat\": {\"prefix\": \"c:\"}}}", &plain));
        CHECK_OK(botsession_engine_set_store(plain, "chat", s));
        CHECK_OK(botsession_store_write(s, "c:-4", "{\"n\":4}"));
        botsession_free(wrapped);
        CHECK_OK(botsession_store_read(raw, "c:-4", &wrapped));
        CHECK_OK(botsession_migrate_chat(plain, -4, -4004));
        check_stored(raw, "c:-4004", wrapped, label);
        check_stored(raw, "c:-4", NULL, label);
        botsession_engine_free(plain);
    }
    botsession_free(wrapped);

    /* The target has a session of its own: nothing is overwritten, the old one stays. */
    CHECK_OK(botsession_store_write(s, "c:-2", "{\"old\":2}"));
    CHECK_OK(botsession_store_write(s, "c:-2002", "{\"new\":2}"));
    CHECK_OK(botsession_migrate_chat(e, -2, -2002));
    check_stored(s, "c:-2", "{\"old\":2}", label);
    check_stored(s, "c:-2002", "{\"new\":2}", label);
    CHECK(counter(e, "chat_migrations") == 1);
    CHECK(counter(e, "chat_migrations_skipped") == 1);

    /* Nothing to move, and a chat moved onto itself, are not errors. */
    CHECK_OK(botsession_migrate_chat(e, -77, -7007));
    CHECK_OK(botsession_migrate_chat(e, -1001, -1001));
    check_stored(s, "c:-1001", "{\"n\":2}", label);
    CHECK(counter(e, "chat_migrations") == 1);

    /* A key of the new chat held by an update: BUSY (lock_timeout_ms 0), nothing moved. */
    CHECK_OK(botsession_store_write(s, "c:-6", "{\"n\":6}"));
    CHECK_OK(botsession_begin(e, "{\"message\": {\"chat\": {\"id\": -6006}, \"from\": {\"id\": 1}}}", &u));
    CHECK_RC(botsession_migrate_chat(e, -6, -6006), BOTSESSION_BUSY);
    CHECK_ERROR_HAS("chat -6 to chat -6006");
    botsession_rollback(u);
    check_stored(s, "c:-6", "{\"n\":6}", label);
    check_stored(s, "c:-6006", NULL, label);
    CHECK_OK(botsession_migrate_chat(e, -6, -6006));
    check_stored(s, "c:-6006", "{\"n\":6}", label);
    check_stored(s, "c:-6", NULL, label);
    CHECK(counter(e, "chat_migrations") == 2);
    botsession_engine_free(e);

    /* One key at a time (botsession_store_move), by the same rules. */
    int moved = -1;
    CHECK_OK(botsession_store_write(s, "m:a", "{\"a\":1}"));
    char *before = NULL;
    if (raw) CHECK_OK(botsession_store_read(raw, "m:a", &before));
    CHECK_OK(botsession_store_move(s, "m:a", "m:b", &moved));
    CHECK(moved == 1);
    check_stored(s, "m:b", "{\"a\":1}", label);
    check_stored(s, "m:a", NULL, label);
    if (raw) check_stored(raw, "m:b", before, label);
    botsession_free(before);
    CHECK_OK(botsession_store_move(s, "m:a", "m:b", &moved));  /* nothing left under m:a */
    CHECK(moved == 0);
    CHECK_OK(botsession_store_write(s, "m:c", "{\"c\":1}"));
    CHECK_OK(botsession_store_move(s, "m:c", "m:b", NULL));     /* m:b is taken */
    check_stored(s, "m:b", "{\"a\":1}", label);
    check_stored(s, "m:c", "{\"c\":1}", label);
    CHECK_OK(botsession_store_write(s, "m:null", "null"));      /* a stored null is no value */
    CHECK_OK(botsession_store_move(s, "m:c", "m:null", &moved));
    CHECK(moved == 1);
    check_stored(s, "m:null", "{\"c\":1}", label);
    CHECK_RC(botsession_store_move(s, NULL, "m:b", &moved), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("from_key");
    CHECK_RC(botsession_store_move(s, "m:b", NULL, &moved), BOTSESSION_MISUSE);
    CHECK_RC(botsession_store_move(NULL, "m:b", "m:x", &moved), BOTSESSION_MISUSE);
    check_stored(s, "m:b", "{\"a\":1}", label);
}

/* Without the option, an announcement is an update of the chat it was sent in. */
static void not_followed(void) {
    botsession_store *s;
    CHECK_OK(botsession_store_open("memory:", NULL, &s));
    CHECK_OK(botsession_store_write(s, "-1", "{\"n\":1}"));
    botsession_engine *e;
    CHECK_OK(botsession_engine_new(NULL, &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    botsession_update *u;
    CHECK_OK(botsession_begin(e, migrate_to, &u));
    char *key;
    CHECK_OK(botsession_key(u, NULL, &key));
    CHECK_TAKE_STR(key, "-1");
    CHECK_OK(botsession_commit(u));
    check_stored(s, "-1", "{\"n\":1}", "memory, not followed");
    check_stored(s, "-1001", NULL, "memory, not followed");
    botsession_engine_free(e);

    /* Followed, on a single session; a migration id that is not an integer is no migration. */
    CHECK_OK(botsession_engine_new("{\"follow_chat_migrations\": true}", &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    CHECK_OK(botsession_begin(e, "{\"message\": {\"chat\": {\"id\": -1}, \"migrate_to_chat_id\": \"x\"}}", &u));
    CHECK_OK(botsession_key(u, NULL, &key));
    CHECK_TAKE_STR(key, "-1");
    botsession_rollback(u);
    CHECK_OK(botsession_begin(e, migrate_to, &u));
    get_is(u, NULL, "{\"n\":1}");
    botsession_rollback(u);  /* moved at begin: a rollback does not move it back */
    check_stored(s, "-1001", "{\"n\":1}", "memory, single session");
    check_stored(s, "-1", NULL, "memory, single session");
    botsession_engine_free(e);
    botsession_store_close(s);

    CHECK_RC(botsession_engine_new("{\"follow_chat_migrations\": \"yes\"}", &e), BOTSESSION_INVALID_OPTION);
    CHECK_ERROR_HAS("follow_chat_migrations");
    CHECK_RC(botsession_migrate_chat(NULL, -1, -2), BOTSESSION_MISUSE);
}

int main(void) {
    make_test_dir();
    botsession_store *s, *inner;
    char uri[600];

    CHECK_OK(botsession_store_open("memory:", NULL, &s));
    migration_on(s, NULL, "memory");
    botsession_store_close(s);

    CHECK_OK(botsession_store_open(sqlite_uri("migration.db"), NULL, &s));
    migration_on(s, NULL, "sqlite");
    botsession_store_close(s);

    snprintf(uri, sizeof uri, "file:%s/migration-files", test_dir);
    CHECK_OK(botsession_store_open(uri, NULL, &s));
    migration_on(s, NULL, "file");
    botsession_store_close(s);

    counting_store c = {0};
    s = counting_open(&c);
    migration_on(s, NULL, "custom");
    botsession_store_close(s);
    counting_reset(&c);

    CHECK_OK(botsession_store_open(sqlite_uri("enhanced.db"), NULL, &inner));
    CHECK_OK(botsession_store_enhance(inner, "{\"ttl_ms\": 3600000}", &s));
    migration_on(s, inner, "enhanced sqlite");
    botsession_store_close(s);
    botsession_store_close(inner);

    const char *postgres = postgres_test_uri("test_chat_migration");
    if (postgres) {
        CHECK_OK(botsession_store_open(postgres, "{\"table\": \"migration_sessions\"}", &s));
        migration_on(s, NULL, "postgresql");
        botsession_store_close(s);
    }

    not_followed();
    report_passed("test_chat_migration");
    return 0;
}
