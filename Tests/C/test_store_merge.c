/* botsession_store_merge: setting members of the JSON object under one key in one atomic step
 * (what the aiogram storage's update_data is). What it makes of the stored value, what it
 * refuses, that it writes nothing it need not, and that concurrent merges and updates, in
 * threads and in processes, lose nothing on every kind of store. */
#include "check.h"
#include <pthread.h>
#include <sys/wait.h>

static void check_merge(botsession_store *s, const char *key, const char *patch, const char *expected) {
    char *merged;
    CHECK_OK(botsession_store_merge(s, key, patch, &merged));
    CHECK_TAKE_STR(merged, expected);
    char *stored;
    CHECK_OK(botsession_store_read(s, key, &stored));
    CHECK_TAKE_STR(stored, expected);
}

/* dict.update's rules, on the texts as written. */
static void semantics(botsession_store *s) {
    check_merge(s, "m", "{\"a\": 1}", "{\"a\":1}");                                  /* absent: {} */
    check_merge(s, "m", "{\"b\": [1, 2.50], \"a\": \"x\"}", "{\"a\":\"x\",\"b\":[1, 2.50]}"); /* in place, appended */
    check_merge(s, "m", "{\"\\u0061\": null}", "{\"a\":null,\"b\":[1, 2.50]}");       /* names compared decoded */
    check_merge(s, "m", "{\"c\": 1, \"c\": 2}", "{\"a\":null,\"b\":[1, 2.50],\"c\":2}");  /* last duplicate counts */
    CHECK_OK(botsession_store_write(s, "n", "[1, 2]"));
    check_merge(s, "n", "{\"x\": {}}", "{\"x\":{}}");                                 /* not an object: {} */
    CHECK_OK(botsession_store_write(s, "d", "{\"k\": 1, \"k\": 2, \"j\": 0}"));
    check_merge(s, "d", "{\"j\": 3}", "{\"k\":2,\"j\":3}");                           /* stored duplicates folded */
    CHECK_OK(botsession_store_merge(s, "d", "{\"j\": 4}", NULL));                     /* merged_out is optional */
    char *stored;
    CHECK_OK(botsession_store_read(s, "d", &stored));
    CHECK_TAKE_STR(stored, "{\"k\":2,\"j\":4}");

    /* Refused, and the stored value stays as it was. */
    const char *bad[] = {"[1]", "\"text\"", "3", "null", "true", "{\"a\":", "{} x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *merged = (char *)"untouched";
        CHECK_RC(botsession_store_merge(s, "d", bad[i], &merged), BOTSESSION_INVALID_JSON);
        CHECK(merged == NULL);
    }
    CHECK_ERROR_HAS("the patch");
    CHECK_RC(botsession_store_merge(s, "d", NULL, NULL), BOTSESSION_MISUSE);
    CHECK_RC(botsession_store_merge(s, NULL, "{}", NULL), BOTSESSION_MISUSE);
    CHECK_RC(botsession_store_merge(NULL, "d", "{}", NULL), BOTSESSION_MISUSE);
    CHECK_OK(botsession_store_read(s, "d", &stored));
    CHECK_TAKE_STR(stored, "{\"k\":2,\"j\":4}");
    CHECK_OK(botsession_store_delete(s, "m"));
    CHECK_OK(botsession_store_delete(s, "n"));
    CHECK_OK(botsession_store_delete(s, "d"));
}

/* Nothing is written for {} or for a patch that changes nothing (a counting store sees it). */
static void writes_only_changes(void) {
    counting_store c = {0};
    botsession_store *s = counting_open(&c);
    char *merged;
    CHECK_OK(botsession_store_merge(s, "k", "{}", &merged));
    CHECK_TAKE_STR(merged, "{}");
    CHECK(c.writes == 0);
    CHECK_OK(botsession_store_merge(s, "k", "{\"a\":1}", NULL));
    CHECK(c.writes == 1);
    CHECK_OK(botsession_store_merge(s, "k", "{\"a\": 1}", &merged));  /* same value, as written compactly */
    CHECK_TAKE_STR(merged, "{\"a\":1}");
    CHECK_OK(botsession_store_merge(s, "k", "{}", NULL));
    CHECK(c.writes == 1);
    CHECK_OK(botsession_store_merge(s, "k", "{\"a\":2}", NULL));
    CHECK(c.writes == 2);
    botsession_store_close(s);
    counting_reset(&c);
}

/* Through an enhancer the value is stored wrapped, read unwrapped. */
static void through_an_enhancer(void) {
    botsession_store *inner, *enhanced;
    CHECK_OK(botsession_store_open(sqlite_uri("enhanced.db"), NULL, &inner));
    CHECK_OK(botsession_store_enhance(inner, "{\"ttl_ms\": 60000}", &enhanced));
    check_merge(enhanced, "e", "{\"a\":1}", "{\"a\":1}");
    char *raw;
    CHECK_OK(botsession_store_read(inner, "e", &raw));
    CHECK(raw && strstr(raw, "\"__d\":{\"a\":1}") != NULL);
    CHECK(strstr(raw, "\"e\":") != NULL);  /* with its expiry */
    botsession_free(raw);
    check_merge(enhanced, "e", "{\"b\":2}", "{\"a\":1,\"b\":2}");
    botsession_store_close(enhanced);
    botsession_store_close(inner);
}

/* An update that holds the key: a merge with waiting off is BUSY at once; one that waits comes
 * after the update's commit and keeps what it wrote. */
typedef struct {
    botsession_store *s;
    int status;
} merge_arg;

static void *merge_later(void *p) {
    merge_arg *a = p;
    a->status = botsession_store_merge(a->s, "1", "{\"merged\":true}", NULL);
    return NULL;
}

static void with_updates(void) {
    botsession_store *s;
    CHECK_OK(botsession_store_open(sqlite_uri("updates.db"), NULL, &s));
    botsession_engine *e;
    CHECK_OK(botsession_engine_new(NULL, &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    botsession_update *u;
    CHECK_OK(botsession_begin(e, "{\"message\":{\"chat\":{\"id\":1}}}", &u));
    botsession_thread_nowait(1);
    CHECK_RC(botsession_store_merge(s, "1", "{\"early\":true}", NULL), BOTSESSION_BUSY);
    botsession_thread_nowait(0);
    merge_arg a = {s, -1};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, merge_later, &a) == 0);
    usleep(50000);
    CHECK(a.status == -1);  /* still waiting for the key */
    CHECK_OK(botsession_set(u, NULL, "{\"update\":1}"));
    CHECK_OK(botsession_commit(u));
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK_OK(a.status);
    char *value;
    CHECK_OK(botsession_store_read(s, "1", &value));
    CHECK_TAKE_STR(value, "{\"update\":1,\"merged\":true}");
    botsession_engine_free(e);
    botsession_store_close(s);
}

/* Lost updates: each worker merges its own member ROUNDS times. A read-then-write would drop
 * other workers' members; a merge keeps every one, each at its last value. */
#define WORKERS 4
#define ROUNDS 150

typedef struct {
    botsession_store *s;
    int worker;
    int failures;
} worker_arg;

static void merge_rounds(botsession_store *s, int worker, int *failures) {
    for (int r = 1; r <= ROUNDS; r++) {
        char patch[64];
        snprintf(patch, sizeof patch, "{\"w%d\":%d}", worker, r);
        int rc;
        while ((rc = botsession_store_merge(s, "shared", patch, NULL)) == BOTSESSION_BUSY) usleep(1000);
        if (rc != BOTSESSION_OK) {
            (*failures)++;
            fprintf(stderr, "worker %d: %s: %s\n", worker, botsession_status_name(rc), botsession_last_error());
        }
    }
}

static void *worker_thread(void *p) {
    worker_arg *a = p;
    merge_rounds(a->s, a->worker, &a->failures);
    return NULL;
}

static void check_all_members(botsession_store *s, int workers, const char *what) {
    char *value;
    CHECK_OK(botsession_store_read(s, "shared", &value));
    for (int w = 0; w < workers; w++) {
        char member[32];
        snprintf(member, sizeof member, "\"w%d\":%d", w, ROUNDS);
        if (!value || !strstr(value, member)) FAIL("%s: member %s lost in %s", what, member, value ? value : "(null)");
    }
    botsession_free(value);
}

static void threads_lose_nothing(const char *uri) {
    botsession_store *s;
    CHECK_OK(botsession_store_open(uri, NULL, &s));
    CHECK_OK(botsession_store_delete(s, "shared"));
    worker_arg args[WORKERS];
    pthread_t threads[WORKERS];
    for (int w = 0; w < WORKERS; w++) {
        args[w] = (worker_arg){s, w, 0};
        CHECK(pthread_create(&threads[w], NULL, worker_thread, &args[w]) == 0);
    }
    for (int w = 0; w < WORKERS; w++) {
        CHECK(pthread_join(threads[w], NULL) == 0);
        CHECK(args[w].failures == 0);
    }
    check_all_members(s, WORKERS, uri);
    botsession_store_close(s);
}

/* Processes, each with its own handle: the store's compare-and-set keeps every member. */
static void processes_lose_nothing(const char *uri) {
    botsession_store *s;
    CHECK_OK(botsession_store_open(uri, NULL, &s));
    CHECK_OK(botsession_store_delete(s, "shared"));
    botsession_store_close(s);
    fflush(stdout);  /* children must not print what the parent has buffered */
    pid_t children[WORKERS];
    for (int w = 0; w < WORKERS; w++) {
        children[w] = fork();
        CHECK(children[w] >= 0);
        if (children[w] == 0) {
            botsession_store *mine;
            if (botsession_store_open(uri, NULL, &mine) != BOTSESSION_OK) _exit(2);
            int failures = 0;
            merge_rounds(mine, w, &failures);
            botsession_store_close(mine);
            _exit(failures ? 1 : 0);
        }
    }
    for (int w = 0; w < WORKERS; w++) {
        int status;
        CHECK(waitpid(children[w], &status, 0) == children[w]);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    CHECK_OK(botsession_store_open(uri, NULL, &s));
    check_all_members(s, WORKERS, uri);
    botsession_store_close(s);
}

int main(void) {
    make_test_dir();
    const char *uris[4];
    char sqlite[400], files[400];
    snprintf(sqlite, sizeof sqlite, "sqlite:%s/merge.db", test_dir);
    snprintf(files, sizeof files, "file:%s/merge-files", test_dir);
    int n = 0;
    uris[n++] = "memory:";
    uris[n++] = sqlite;
    uris[n++] = files;
    const char *postgres = postgres_test_uri("test_store_merge");
    if (postgres) uris[n++] = postgres;
    for (int i = 0; i < n; i++) {
        botsession_store *s;
        CHECK_OK(botsession_store_open(uris[i], NULL, &s));
        semantics(s);
        botsession_store_close(s);
        threads_lose_nothing(uris[i]);
        if (i > 0) processes_lose_nothing(uris[i]);  /* a memory store is one process's */
    }
    writes_only_changes();
    through_an_enhancer();
    with_updates();
    report_passed("test_store_merge");
    return 0;
}
