/* One engine and one store shared by several threads: no increment is lost, and each thread's
 * error message is its own. */
#include "check.h"
#include <pthread.h>

#define THREADS 4
#define TIMES 250

static botsession_engine *engine;
static const char *update =
    "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"chat\":{\"id\":99,\"type\":\"private\"}}}";

static void *worker(void *arg) {
    long failures = 0;
    (void)arg;
    for (int i = 0; i < TIMES; i++) {
        botsession_update *u;
        char *json, next[32];
        if (botsession_begin(engine, update, &u) != BOTSESSION_OK) { failures++; continue; }
        if (botsession_get(u, NULL, &json) != BOTSESSION_OK) { failures++; botsession_rollback(u); continue; }
        snprintf(next, sizeof next, "%d", atoi(json) + 1);
        botsession_free(json);
        if (botsession_set(u, NULL, next) != BOTSESSION_OK) failures++;
        if (botsession_commit(u) != BOTSESSION_OK) failures++;
        /* A failure of this thread's own: its message stays this thread's. */
        botsession_store *s;
        if (botsession_store_open("bogus:", NULL, &s) != BOTSESSION_INVALID_OPTION) failures++;
        if (!strstr(botsession_last_error(), "'bogus'")) failures++;
    }
    return (void *)failures;
}

int main(void) {
    make_test_dir();
    const char *stores[] = {"memory:", sqlite_uri("threads.db")};
    for (int k = 0; k < 2; k++) {
        botsession_store *s;
        char *json;
        CHECK_OK(botsession_store_open(stores[k], NULL, &s));
        CHECK_OK(botsession_engine_new("{\"initial\": 0}", &engine));
        CHECK_OK(botsession_engine_set_store(engine, NULL, s));
        pthread_t threads[THREADS];
        for (int t = 0; t < THREADS; t++) CHECK(pthread_create(&threads[t], NULL, worker, NULL) == 0);
        for (int t = 0; t < THREADS; t++) {
            void *failures;
            CHECK(pthread_join(threads[t], &failures) == 0);
            CHECK(failures == NULL);
        }
        CHECK_OK(botsession_store_read(s, "99", &json));
        CHECK(atoi(json) == THREADS * TIMES);
        printf("  %s: %d increments from %d threads, final value %s\n", stores[k], THREADS * TIMES, THREADS, json);
        botsession_free(json);
        botsession_engine_free(engine);
        botsession_store_close(s);
    }
    /* The main thread never failed here. */
    CHECK_STR(botsession_last_error(), "");
    report_passed("test_threads");
    return 0;
}
