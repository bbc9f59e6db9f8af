/* botsession_engine_stats: the engine's counters, as JSON, counted exactly (a counting store
 * shows the I/O they count), readable from any thread while others work. */
#include "check.h"
#include <jansson.h>
#include <pthread.h>

static json_t *stats_of(botsession_engine *e) {
    char *text;
    CHECK_OK(botsession_engine_stats(e, &text));
    json_error_t error;
    json_t *stats = json_loads(text, 0, &error);
    if (!stats) FAIL("botsession_engine_stats gave no JSON: %s", text);
    botsession_free(text);
    return stats;
}

static long long counter(json_t *stats, const char *name) {
    json_t *value = json_object_get(stats, name);
    if (!json_is_integer(value)) FAIL("stats has no integer %s", name);
    return json_integer_value(value);
}

static const char *chat5 = "{\"message\":{\"chat\":{\"id\":5}}}";

static void counts(void) {
    counting_store c = {0};
    botsession_store *s = counting_open(&c);
    botsession_engine *e;
    CHECK_OK(botsession_engine_new("{\"initial\": 0, \"lock_timeout_ms\": 0}", &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    botsession_update *u, *v;
    CHECK_OK(botsession_begin(e, chat5, &u));   /* read (absent) ... */
    CHECK_OK(botsession_commit(u));              /* ... initial value written */
    CHECK_OK(botsession_begin(e, chat5, &u));
    CHECK_OK(botsession_set(u, NULL, "1"));
    CHECK_OK(botsession_commit(u));              /* written */
    CHECK_OK(botsession_begin(e, chat5, &u));
    CHECK_OK(botsession_commit(u));              /* read, unchanged: skipped */
    CHECK_OK(botsession_begin(e, chat5, &u));
    CHECK_RC(botsession_begin(e, chat5, &v), BOTSESSION_BUSY);  /* key held, no wait */
    CHECK_OK(botsession_set(u, NULL, NULL));
    CHECK_OK(botsession_commit(u));              /* deleted */
    CHECK_OK(botsession_begin(e, chat5, &u));
    botsession_rollback(u);
    CHECK(c.reads == 5 && c.writes == 2 && c.deletes == 1);
    json_t *stats = stats_of(e);
    CHECK(counter(stats, "begins") == 5);
    CHECK(counter(stats, "commits") == 4);
    CHECK(counter(stats, "rollbacks") == 1);
    CHECK(counter(stats, "reads") == c.reads);
    CHECK(counter(stats, "writes") == c.writes);
    CHECK(counter(stats, "deletes") == c.deletes);
    CHECK(counter(stats, "skipped_writes") == 1);
    CHECK(counter(stats, "busy") == 1);
    CHECK(counter(stats, "conflicts") == 0);
    CHECK(counter(stats, "chat_migrations") == 0 && counter(stats, "chat_migrations_skipped") == 0);
    CHECK(counter(stats, "lock_wait_ms") == 0);
    json_t *latency = json_object_get(stats, "store_latency_us");
    CHECK(json_is_object(latency));
    CHECK(counter(latency, "count") == 5 + 3);  /* the reads, and the commits that wrote */
    CHECK(counter(latency, "p50") <= counter(latency, "p99") && counter(latency, "p99") <= counter(latency, "max"));
    json_decref(stats);
    char *text = (char *)"untouched";
    CHECK_RC(botsession_engine_stats(NULL, &text), BOTSESSION_MISUSE);
    CHECK_RC(botsession_engine_stats(e, NULL), BOTSESSION_MISUSE);
    botsession_engine_free(e);
    botsession_store_close(s);
    counting_reset(&c);
}

#define THREADS 4
#define UPDATES 500

static void *worker(void *arg) {
    botsession_engine *e = arg;
    for (int i = 0; i < UPDATES; i++) {
        if (increment_once(e, "{\"message\":{\"chat\":{\"id\":7}}}") != BOTSESSION_OK) return "an increment failed";
    }
    return NULL;
}

static void threads(void) {
    botsession_store *s;
    CHECK_OK(botsession_store_open("memory:", NULL, &s));
    botsession_engine *e;
    CHECK_OK(botsession_engine_new(NULL, &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) CHECK(pthread_create(&t[i], NULL, worker, e) == 0);
    for (int i = 0; i < 50; i++) json_decref(stats_of(e));  /* read while they count */
    for (int i = 0; i < THREADS; i++) {
        void *why;
        CHECK(pthread_join(t[i], &why) == 0 && why == NULL);
    }
    json_t *stats = stats_of(e);
    CHECK(counter(stats, "commits") == THREADS * UPDATES);
    CHECK(counter(stats, "begins") == THREADS * UPDATES);
    CHECK(counter(stats, "writes") == THREADS * UPDATES);
    json_decref(stats);
    botsession_engine_free(e);
    botsession_store_close(s);
}

int main(void) {
    make_test_dir();
    counts();
    threads();
    report_passed("test_stats");
    return 0;
}
