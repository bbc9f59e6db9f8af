/*
 * roundtrip.c - SPEC §12's round-trip benchmark, BotSession against hand-written C.
 *
 * A round-trip is one update: resolve the key from a ~400-byte group message, read a ~200-byte
 * session, the handler parses it, increments a counter and serialises it, write it back.
 * 10,000 keys, each with its own update, all stored before the first timed round-trip, visited
 * in a random order. Each contender does exactly that work:
 *
 *   sqlite        BotSession on sqlite:FILE (WAL, synchronous=NORMAL)
 *   sqlite-best   by hand, the best a bot can do: the chat id found with strstr + strtoll,
 *                 SELECT and an UPSERT with prepared statements, autocommit, WAL, NORMAL
 *   sqlite-jansson  the same, but the update parsed with Jansson to find the chat id
 *   memory        BotSession on memory:
 *   memory-hand   a C hash map of JSON strings, the update parsed with Jansson
 *
 * It prints round-trips per wall-clock second and per CPU second, and the ratios BotSession /
 * hand-written (higher is better). The contenders take turns in rounds, so a machine that
 * speeds up or slows down (a shared VM) affects all alike.
 *
 *     bench/roundtrip [ROUND_TRIPS]             all contenders, interleaved (default 200000)
 *     bench/roundtrip ROUND_TRIPS CONTENDER     one contender, for callgrind: its loop is the
 *                                               function run_CONTENDER (scripts/bench-instructions.sh)
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
#define ROUNDS 5

/* updates[k] is the update of chat k; visits[i] the chat of round-trip i (the same order for
 * every contender). */
static char *updates[KEYS];
static int *visits;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long long rng = 88172645463325252ULL;
static unsigned next_random(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (unsigned)rng;
}

/* A ~400-byte group message for every chat, and n visits in a random order. */
static void make_updates(long n) {
    for (int chat = 0; chat < KEYS; chat++) {
        if (asprintf(&updates[chat],
                 "{\"update_id\":%d,\"message\":{\"message_id\":%d,\"from\":{\"id\":%d,\"is_bot\":false,"
                 "\"first_name\":\"Ann\",\"last_name\":\"Example\",\"username\":\"ann_example\",\"language_code\":\"en\"},"
                 "\"chat\":{\"id\":-100%010d,\"title\":\"Pizza lovers of the world\",\"type\":\"supergroup\"},"
                 "\"date\":1763700000,\"text\":\"one more pizza please, with extra cheese and olives \xF0\x9F\x8D\x95\","
                 "\"entities\":[{\"offset\":0,\"length\":3,\"type\":\"bold\"}]}}",
                 700000000 + chat, 1000 + chat, 424242 + chat, chat) < 0) exit(1);
    }
    visits = malloc(sizeof *visits * (size_t)n);
    for (long i = 0; i < n; i++) visits[i] = (int)(next_random() % KEYS);
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

static void fail(const char *what) {
    fprintf(stderr, "%s: %s\n", what, botsession_last_error());
    exit(1);
}

/* ---- BotSession ---- */

/* Round-trips visits[from .. from+n) through engine `e`. */
static void botsession_round_trips(botsession_engine *e, long from, long n) {
    for (long i = from; i < from + n; i++) {
        botsession_update *u;
        char *session;
        if (botsession_begin(e, updates[visits[i]], &u) || botsession_get(u, NULL, &session)) fail("round-trip");
        char *next = handle(session);
        botsession_free(session);
        botsession_set(u, NULL, next);
        free(next);
        if (botsession_commit(u)) fail("commit");
    }
}

/* Distinct functions per store, so callgrind can count each (--toggle-collect); noipa keeps
 * gcc from merging the identical two into one (-fipa-icf). */
__attribute__((noipa)) static void run_sqlite(botsession_engine *e, long from, long n) { botsession_round_trips(e, from, n); }
__attribute__((noipa)) static void run_memory(botsession_engine *e, long from, long n) { botsession_round_trips(e, from, n); }

/* An engine on `s`, with every chat's session stored. */
static botsession_engine *botsession_setup(botsession_store *s) {
    botsession_engine *e;
    if (botsession_engine_new(NULL, &e) || botsession_engine_set_store(e, NULL, s)) fail("setup");
    char *initial = handle(NULL);
    for (int chat = 0; chat < KEYS; chat++) {
        char key[32];
        snprintf(key, sizeof key, "-100%010d", chat);
        if (botsession_store_write(s, key, initial)) fail("populate");
    }
    free(initial);
    return e;
}

/* ---- By hand: libsqlite3, with the key found by strstr or by Jansson ---- */

/* The best a bot can do by hand: the chat id is the number after "chat":{"id": (the update's
 * layout is Telegram's: chat comes before any nested object with an "id"). */
static long long chat_id_by_strstr(const char *update_json) {
    const char *chat = strstr(update_json, "\"chat\":{\"id\":");
    return chat ? strtoll(chat + 13, NULL, 10) : 0;
}

static long long chat_id_by_jansson(const char *update_json) {
    json_t *update = json_loads(update_json, 0, NULL);
    long long id = json_integer_value(json_object_get(json_object_get(json_object_get(update, "message"), "chat"), "id"));
    json_decref(update);
    return id;
}

typedef struct { sqlite3 *db; sqlite3_stmt *select, *upsert; } by_hand_db;

static by_hand_db open_by_hand(const char *path) {
    by_hand_db h;
    if (sqlite3_open(path, &h.db) != SQLITE_OK) exit(1);
    sqlite3_exec(h.db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                       "CREATE TABLE IF NOT EXISTS sessions (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
                 NULL, NULL, NULL);
    sqlite3_prepare_v2(h.db, "SELECT value FROM sessions WHERE key = ?", -1, &h.select, NULL);
    sqlite3_prepare_v2(h.db, "INSERT INTO sessions (key, value) VALUES (?, ?) "
                             "ON CONFLICT (key) DO UPDATE SET value = excluded.value", -1, &h.upsert, NULL);
    char *initial = handle(NULL);
    sqlite3_exec(h.db, "BEGIN", NULL, NULL, NULL);
    for (int chat = 0; chat < KEYS; chat++) {
        char key[32];
        snprintf(key, sizeof key, "-100%010d", chat);
        sqlite3_bind_text(h.upsert, 1, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(h.upsert, 2, initial, -1, SQLITE_STATIC);
        if (sqlite3_step(h.upsert) != SQLITE_DONE) exit(1);
        sqlite3_reset(h.upsert);
    }
    sqlite3_exec(h.db, "COMMIT", NULL, NULL, NULL);
    free(initial);
    return h;
}

static void close_by_hand(by_hand_db *h) {
    sqlite3_finalize(h->select);
    sqlite3_finalize(h->upsert);
    sqlite3_close(h->db);
}

static void by_hand_round_trip(by_hand_db *h, long long chat_id) {
    char key[32];
    int length = snprintf(key, sizeof key, "%lld", chat_id);
    sqlite3_bind_text(h->select, 1, key, length, SQLITE_STATIC);
    const char *session = sqlite3_step(h->select) == SQLITE_ROW ? (const char *)sqlite3_column_text(h->select, 0) : NULL;
    char *next = handle(session);
    sqlite3_reset(h->select);
    sqlite3_bind_text(h->upsert, 1, key, length, SQLITE_STATIC);
    sqlite3_bind_text(h->upsert, 2, next, -1, SQLITE_STATIC);
    if (sqlite3_step(h->upsert) != SQLITE_DONE) exit(1);
    sqlite3_reset(h->upsert);
    free(next);
}

__attribute__((noipa)) static void run_sqlite_best(by_hand_db *h, long from, long n) {
    for (long i = from; i < from + n; i++) by_hand_round_trip(h, chat_id_by_strstr(updates[visits[i]]));
}

__attribute__((noipa)) static void run_sqlite_jansson(by_hand_db *h, long from, long n) {
    for (long i = from; i < from + n; i++) by_hand_round_trip(h, chat_id_by_jansson(updates[visits[i]]));
}

/* ---- By hand: a C hash map of JSON strings + Jansson ---- */

typedef struct { char *key; char *value; } slot;
static slot table[KEYS * 4];

static slot *lookup(const char *key) {
    unsigned h = 2166136261u;
    for (const char *p = key; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    for (unsigned i = h % (KEYS * 4);; i = (i + 1) % (KEYS * 4))
        if (!table[i].key || strcmp(table[i].key, key) == 0) return &table[i];
}

static void populate_table(void) {
    char *initial = handle(NULL);
    for (int chat = 0; chat < KEYS; chat++) {
        char key[32];
        snprintf(key, sizeof key, "-100%010d", chat);
        slot *s = lookup(key);
        s->key = strdup(key);
        s->value = strdup(initial);
    }
    free(initial);
}

static void free_table(void) {
    for (int i = 0; i < KEYS * 4; i++) { free(table[i].key); free(table[i].value); table[i].key = table[i].value = NULL; }
}

__attribute__((noipa)) static void run_memory_hand(long from, long n) {
    for (long i = from; i < from + n; i++) {
        char key[32];
        snprintf(key, sizeof key, "%lld", chat_id_by_jansson(updates[visits[i]]));
        slot *s = lookup(key);
        char *next = handle(s->value);
        free(s->value);
        s->value = next;
    }
}

/* ---- The contenders, interleaved ---- */

enum { SQLITE, SQLITE_BEST, SQLITE_JANSSON, MEMORY, MEMORY_HAND, CONTENDERS };
static const char *names[CONTENDERS] = {"sqlite", "sqlite-best", "sqlite-jansson", "memory", "memory-hand"};

typedef struct {
    botsession_store *sqlite_store, *memory_store;
    botsession_engine *sqlite_engine, *memory_engine;
    by_hand_db best, jansson;
} contenders;

static void run(contenders *c, int which, long from, long n) {
    switch (which) {
    case SQLITE: run_sqlite(c->sqlite_engine, from, n); break;
    case SQLITE_BEST: run_sqlite_best(&c->best, from, n); break;
    case SQLITE_JANSSON: run_sqlite_jansson(&c->jansson, from, n); break;
    case MEMORY: run_memory(c->memory_engine, from, n); break;
    case MEMORY_HAND: run_memory_hand(from, n); break;
    }
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 200000;
    int only = -1;
    if (argc > 2) {
        for (int i = 0; i < CONTENDERS; i++) if (strcmp(argv[2], names[i]) == 0) only = i;
        if (only < 0) { fprintf(stderr, "unknown contender %s\n", argv[2]); return 2; }
    }
    make_updates(n);
    char dir[] = "/tmp/botsession-bench-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[300];
    contenders c;
    snprintf(path, sizeof path, "sqlite:%s/botsession.db", dir);
    if (botsession_store_open(path, NULL, &c.sqlite_store)) fail("open");
    if (botsession_store_open("memory:", NULL, &c.memory_store)) fail("open");
    c.sqlite_engine = botsession_setup(c.sqlite_store);
    c.memory_engine = botsession_setup(c.memory_store);
    snprintf(path, sizeof path, "%s/best.db", dir);
    c.best = open_by_hand(path);
    snprintf(path, sizeof path, "%s/jansson.db", dir);
    c.jansson = open_by_hand(path);
    populate_table();

    double wall[CONTENDERS] = {0}, cpu[CONTENDERS] = {0};
    if (only >= 0) {
        run(&c, only, 0, n);
    } else {
        printf("round-trips: %ld per contender over %d stored keys, ~%zu-byte updates, %d interleaved rounds (BotSession %s)\n",
               n, KEYS, strlen(updates[0]), ROUNDS, botsession_version());
        long per_round = n / ROUNDS;
        for (int r = 0; r < ROUNDS; r++) {
            for (int k = 0; k < CONTENDERS; k++) {
                double w = now(), t = cpu_now();
                run(&c, k, r * per_round, per_round);
                wall[k] += now() - w;
                cpu[k] += cpu_now() - t;
            }
        }
        long total = per_round * ROUNDS;
        for (int k = 0; k < CONTENDERS; k++)
            printf("  %-15s %9.0f round-trips/s wall   %9.0f per CPU second\n", names[k], total / wall[k], total / cpu[k]);
        printf("sqlite: BotSession / best by hand       %.2fx per CPU second (%.2fx wall)\n", cpu[SQLITE_BEST] / cpu[SQLITE], wall[SQLITE_BEST] / wall[SQLITE]);
        printf("sqlite: BotSession / Jansson by hand    %.2fx per CPU second (%.2fx wall)  (target >= 1.2x)\n", cpu[SQLITE_JANSSON] / cpu[SQLITE], wall[SQLITE_JANSSON] / wall[SQLITE]);
        printf("memory: BotSession / hash map by hand   %.2fx per CPU second (%.2fx wall)  (target >= 1.5x)\n", cpu[MEMORY_HAND] / cpu[MEMORY], wall[MEMORY_HAND] / wall[MEMORY]);
        printf("instructions per round-trip: make bench-instructions (callgrind)\n");
    }
    botsession_engine_free(c.sqlite_engine);
    botsession_engine_free(c.memory_engine);
    botsession_store_close(c.sqlite_store);
    botsession_store_close(c.memory_store);
    close_by_hand(&c.best);
    close_by_hand(&c.jansson);
    free_table();
    char cleanup[400];
    snprintf(cleanup, sizeof cleanup, "rm -rf %s", dir);
    if (system(cleanup) != 0) return 1;
    for (int i = 0; i < KEYS; i++) free(updates[i]);
    free(visits);
    return 0;
}
