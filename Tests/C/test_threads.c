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
    long failures = 0, number = (long)arg;
    char scheme[32], expected[40];
    snprintf(scheme, sizeof scheme, "bogus%ld:", number);
    snprintf(expected, sizeof expected, "'bogus%ld'", number);
    for (int i = 0; i < TIMES; i++) {
        if (increment_once(engine, update) != BOTSESSION_OK) failures++;
        /* A failure of this thread's own, named after the thread: the message the thread reads
         * is its own, not another thread's. */
        botsession_store *s;
        if (botsession_store_open(scheme, NULL, &s) != BOTSESSION_INVALID_OPTION) failures++;
        if (!strstr(botsession_last_error(), expected)) failures++;
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
        for (long t = 0; t < THREADS; t++) CHECK(pthread_create(&threads[t], NULL, worker, (void *)t) == 0);
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
