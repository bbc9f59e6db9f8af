/*
 * Counting without losing an increment (SPEC §8): WORKERS threads through one engine, or
 * WORKERS processes with engines of their own, each increment one counter TIMES times; the
 * final value must be exactly WORKERS x TIMES. Threads are serialised by the engine's key locks;
 * processes by compare-and-set commits, whose CONFLICTs are retried (and counted).
 *
 *     counting threads|processes STORE_URI WORKERS TIMES
 *
 * `make test` runs it at full size natively (8 threads x 10,000; 4 processes x 5,000 on SQLite,
 * the file store and PostgreSQL) and at a small size under valgrind.
 */
#include "check.h"
#include <pthread.h>
#include <sys/wait.h>

static const char *update =
    "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"chat\":{\"id\":77,\"type\":\"private\"}}}";
static const char *uri;
static long times;

/* TIMES increments through `e`, each retried on CONFLICT; returns the conflicts, or -1. */
static long count_up(botsession_engine *e) {
    long conflicts = 0;
    for (long i = 0; i < times; i++) {
        int rc;
        while ((rc = increment_once(e, update)) == BOTSESSION_CONFLICT) conflicts++;
        if (rc != BOTSESSION_OK) {
            fprintf(stderr, "increment: %s: %s\n", botsession_status_name(rc), botsession_last_error());
            return -1;
        }
    }
    return conflicts;
}

/* The store `uri` names; SQLite stores wait up to a minute for another process's write lock. */
static botsession_store *open_store(void) {
    botsession_store *s;
    const char *options = strncmp(uri, "sqlite:", 7) == 0 ? "{\"busy_timeout_ms\": 60000}" : NULL;
    CHECK_OK(botsession_store_open(uri, options, &s));
    return s;
}

static botsession_engine *new_engine(botsession_store *s) {
    botsession_engine *e;
    CHECK_OK(botsession_engine_new("{\"initial\": 0, \"lock_timeout_ms\": 60000}", &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    return e;
}

static void *thread_main(void *engine) {
    return (void *)count_up(engine);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s threads|processes STORE_URI WORKERS TIMES\n", argv[0]);
        return 2;
    }
    uri = argv[2];
    int workers = atoi(argv[3]);
    times = atol(argv[4]);
    int processes = strcmp(argv[1], "processes") == 0;

    /* Start from nothing. */
    botsession_store *s = open_store();
    CHECK_OK(botsession_store_delete(s, "77"));

    long conflicts = 0;
    if (processes) {
        pid_t children[64];
        int pipes[64][2];
        for (int w = 0; w < workers; w++) {
            CHECK(pipe(pipes[w]) == 0);
            children[w] = fork();
            if (children[w] == 0) {
                botsession_store *own = open_store();  /* a process of its own: its own store */
                botsession_engine *e = new_engine(own);
                botsession_store_close(own);
                long mine = count_up(e);
                botsession_engine_free(e);
                if (write(pipes[w][1], &mine, sizeof mine) != sizeof mine) _exit(3);
                _exit(mine < 0 ? 1 : 0);
            }
            close(pipes[w][1]);
        }
        for (int w = 0; w < workers; w++) {
            long theirs = -1;
            CHECK(read(pipes[w][0], &theirs, sizeof theirs) == sizeof theirs);
            CHECK(theirs >= 0);
            conflicts += theirs;
            close(pipes[w][0]);
            CHECK(waitpid(children[w], NULL, 0) == children[w]);
        }
    } else {
        botsession_engine *e = new_engine(s);
        pthread_t threads[64];
        for (int w = 0; w < workers; w++) CHECK(pthread_create(&threads[w], NULL, thread_main, e) == 0);
        for (int w = 0; w < workers; w++) {
            void *theirs;
            CHECK(pthread_join(threads[w], &theirs) == 0);
            CHECK((long)theirs >= 0);
            conflicts += (long)theirs;
        }
        botsession_engine_free(e);
    }

    char *json;
    CHECK_OK(botsession_store_read(s, "77", &json));
    CHECK(json != NULL);
    long final = atol(json);
    printf("  %s %d x %ld on %s: final %ld (expected %ld), %ld conflicts retried\n",
           argv[1], workers, times, uri, final, workers * times, conflicts);
    CHECK(final == workers * times);
    if (!processes) CHECK(conflicts == 0);  /* threads are serialised by the key locks */
    botsession_free(json);
    botsession_store_close(s);
    return 0;
}
