/*
 * roundtrip.c - SPEC §12's round-trip benchmark, BotSession against hand-written C.
 *
 * A round-trip is one update: resolve the key from a ~400-byte group message, read a ~200-byte
 * session, the handler parses it, increments a counter and serialises it, write it back.
 * 10,000 keys, chosen uniformly. Each contender does exactly that work:
 *
 *   sqlite   BotSession on sqlite:FILE (WAL, synchronous=NORMAL)
 *            vs libsqlite3 + Jansson by hand: parse the update with Jansson, SELECT with a
 *            prepared statement, upsert with a prepared statement, autocommit
 *   memory   BotSession on memory:
 *            vs a C hash map of JSON strings with the same Jansson work
 *
 * It prints round-trips per second and the ratio BotSession / hand-written (higher is better).
 * The contenders take turns in rounds, so a machine that speeds up or slows down (a shared VM)
 * affects both alike.
 *
 *     bench/roundtrip [ROUND_TRIPS]      (default 200000)
 *
 * Build: cc -O2 roundtrip.c $(pkg-config --cflags --libs botsession sqlite3 jansson)
 */
#define _GNU_SOURCE
#include <botsession.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEYS 10000
#define UPDATE_VARIANTS 1024
#define ROUNDS 5

static char *updates[UPDATE_VARIANTS];
static int update_chat[UPDATE_VARIANTS];

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long long rng = 88172645463325252ULL;
static unsigned next_random(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (unsigned)rng;
}

/* ~400-byte group messages for random chats. */
static void make_updates(void) {
    for (int i = 0; i < UPDATE_VARIANTS; i++) {
        int chat = next_random() % KEYS;
        update_chat[i] = chat;
        if (asprintf(&updates[i],
                 "{\"update_id\":%d,\"message\":{\"message_id\":%d,\"from\":{\"id\":%d,\"is_bot\":false,"
                 "\"first_name\":\"Ann\",\"last_name\":\"Example\",\"username\":\"ann_example\",\"language_code\":\"en\"},"
                 "\"chat\":{\"id\":-100%010d,\"title\":\"Pizza lovers of the world\",\"type\":\"supergroup\"},"
                 "\"date\":1763700000,\"text\":\"one more pizza please, with extra cheese and olives \xF0\x9F\x8D\x95\","
                 "\"entities\":[{\"offset\":0,\"length\":3,\"type\":\"bold\"}]}}",
                 700000000 + i, 1000 + i, 424242 + chat, chat) < 0) exit(1);
    }
}

/* The handler: parse the session, increment "count", serialise. Returns a malloc'd string. */
static char *handle(const char *session) {
    json_t *value = session ? json_loads(session, 0, NULL) : NULL;
    if (!value) {
        value = json_pack("{s:i, s:s, s:[i,i,i], s:{s:b, s:s}}", "count", 0, "name",
                          "a session of about two hundred bytes, padded with text", "recent", 1, 2, 3,
                          "settings", "notify", 1, "language", "en");
    }
    json_t *count = json_object_get(value, "count");
    json_integer_set(count, json_integer_value(count) + 1);
    char *out = json_dumps(value, JSON_COMPACT);
    json_decref(value);
    return out;
}

/* ---- BotSession ---- */

/* n round-trips through an engine on `s`; the seconds they took. */
static double run_botsession_on(botsession_store *s, long n) {
    botsession_engine *e;
    if (botsession_engine_new(NULL, &e) || botsession_engine_set_store(e, NULL, s)) {
        fprintf(stderr, "setup: %s\n", botsession_last_error());
        exit(1);
    }
    double start = now();
    for (long i = 0; i < n; i++) {
        botsession_update *u;
        char *session;
        if (botsession_begin(e, updates[i % UPDATE_VARIANTS], &u) || botsession_get(u, NULL, &session)) {
            fprintf(stderr, "round-trip: %s\n", botsession_last_error());
            exit(1);
        }
        char *next = handle(session);
        botsession_free(session);
        botsession_set(u, NULL, next);
        free(next);
        if (botsession_commit(u)) {
            fprintf(stderr, "commit: %s\n", botsession_last_error());
            exit(1);
        }
    }
    double elapsed = now() - start;
    botsession_engine_free(e);
    return elapsed;
}

static double run_botsession(const char *uri, long n) {
    botsession_store *s;
    if (botsession_store_open(uri, NULL, &s)) {
        fprintf(stderr, "setup: %s\n", botsession_last_error());
        exit(1);
    }
    double seconds = run_botsession_on(s, n);
    botsession_store_close(s);
    return seconds;
}

/* ---- Hand-written: libsqlite3 + Jansson ---- */

static char *key_of(const char *update_json) {
    json_t *update = json_loads(update_json, 0, NULL);
    json_t *id = json_object_get(json_object_get(json_object_get(update, "message"), "chat"), "id");
    char *key;
    if (asprintf(&key, "%lld", (long long)json_integer_value(id)) < 0) exit(1);
    json_decref(update);
    return key;
}

static double run_sqlite_by_hand(const char *path, long n) {
    sqlite3 *db;
    sqlite3_stmt *select, *upsert;
    if (sqlite3_open(path, &db) != SQLITE_OK) exit(1);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "CREATE TABLE IF NOT EXISTS sessions (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
                 NULL, NULL, NULL);
    sqlite3_prepare_v2(db, "SELECT value FROM sessions WHERE key = ?", -1, &select, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO sessions (key, value) VALUES (?, ?) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value", -1, &upsert, NULL);
    double start = now();
    for (long i = 0; i < n; i++) {
        char *key = key_of(updates[i % UPDATE_VARIANTS]);
        sqlite3_bind_text(select, 1, key, -1, SQLITE_STATIC);
        const char *session = sqlite3_step(select) == SQLITE_ROW ? (const char *)sqlite3_column_text(select, 0) : NULL;
        char *next = handle(session);
        sqlite3_reset(select);
        sqlite3_bind_text(upsert, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(upsert, 2, next, -1, SQLITE_STATIC);
        if (sqlite3_step(upsert) != SQLITE_DONE) exit(1);
        sqlite3_reset(upsert);
        free(next);
        free(key);
    }
    double elapsed = now() - start;
    sqlite3_finalize(select);
    sqlite3_finalize(upsert);
    sqlite3_close(db);
    return elapsed;
}

/* ---- Hand-written: a C hash map of JSON strings + Jansson ---- */

typedef struct { char *key; char *value; } slot;
static slot table[KEYS * 4];

static slot *lookup(const char *key) {
    unsigned h = 2166136261u;
    for (const char *p = key; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    for (unsigned i = h % (KEYS * 4);; i = (i + 1) % (KEYS * 4))
        if (!table[i].key || strcmp(table[i].key, key) == 0) return &table[i];
}

static void free_table(void) {
    for (int i = 0; i < KEYS * 4; i++) { free(table[i].key); free(table[i].value); table[i].key = table[i].value = NULL; }
}

static double run_memory_by_hand(long n) {
    double start = now();
    for (long i = 0; i < n; i++) {
        char *key = key_of(updates[i % UPDATE_VARIANTS]);
        slot *s = lookup(key);
        char *next = handle(s->value);
        if (s->key) {
            free(key);
            free(s->value);
        } else {
            s->key = key;
        }
        s->value = next;
    }
    return now() - start;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 200000;
    make_updates();
    char dir[] = "/tmp/botsession-bench-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char by_hand[256], ours[300];
    snprintf(by_hand, sizeof by_hand, "%s/by-hand.db", dir);
    snprintf(ours, sizeof ours, "sqlite:%s/botsession.db", dir);

    printf("round-trips: %ld over %d keys, ~%zu-byte updates, in %d alternating rounds (BotSession %s)\n",
           n, KEYS, strlen(updates[0]), ROUNDS, botsession_version());
    double hand_sqlite = 0, bs_sqlite = 0, hand_memory = 0, bs_memory = 0;
    long per_round = n / ROUNDS;
    botsession_store *memory;
    botsession_store_open("memory:", NULL, &memory);
    for (int r = 0; r < ROUNDS; r++) {
        hand_sqlite += run_sqlite_by_hand(by_hand, per_round);
        bs_sqlite += run_botsession(ours, per_round);
        hand_memory += run_memory_by_hand(per_round);
        bs_memory += run_botsession_on(memory, per_round);
    }
    botsession_store_close(memory);
    free_table();
    long total = per_round * ROUNDS;
    printf("sqlite   hand-written C %9.0f/s   BotSession %9.0f/s   ratio %.2fx  (target >= 1.0x)\n",
           total / hand_sqlite, total / bs_sqlite, hand_sqlite / bs_sqlite);
    printf("memory   hand-written C %9.0f/s   BotSession %9.0f/s   ratio %.2fx  (target >= 0.7x)\n",
           total / hand_memory, total / bs_memory, hand_memory / bs_memory);

    char cleanup[400];
    snprintf(cleanup, sizeof cleanup, "rm -rf %s", dir);
    if (system(cleanup) != 0) return 1;
    for (int i = 0; i < UPDATE_VARIANTS; i++) free(updates[i]);
    return 0;
}
