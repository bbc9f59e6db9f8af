/* Handles of the wrong kind (SPEC §9, NULL handle or argument): every function that takes a
 * handle refuses one of another kind with MISUSE and a message naming both kinds; the void ones
 * (close, free, rollback) do nothing. Nothing is freed, written or leaked, and each object works
 * afterwards. A released handle used again is detected in the common case (in a child process:
 * that is still use after free). */
#include "check.h"
#include <sys/wait.h>

#define GROUP_UPDATE "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"chat\":{\"id\":-5,\"type\":\"group\"}}}"

/* Casts that a C compiler lets through, as a confused program's would. */
#define AS_STORE(h) ((botsession_store *)(void *)(h))
#define AS_ENGINE(h) ((botsession_engine *)(void *)(h))
#define AS_UPDATE(h) ((botsession_update *)(void *)(h))
#define AS_ITER(h) ((botsession_iter *)(void *)(h))
#define AS_BUFFER(h) ((botsession_buffer *)(void *)(h))

#define CHECK_WRONG(call, expected, got)                                                   \
    do {                                                                                   \
        CHECK_RC(call, BOTSESSION_MISUSE);                                                 \
        CHECK_ERROR_HAS("expected a " expected " handle, got a " got);                     \
    } while (0)

static int key_fn(void *ud, const char *update, botsession_buffer *out) {
    (void)ud; (void)update; (void)out;
    return 0;
}
static int initial_fn(void *ud, botsession_buffer *out) { (void)ud; (void)out; return 0; }
static int migrate_fn(void *ud, const char *old, botsession_buffer *out) { (void)ud; (void)old; (void)out; return 0; }
static int64_t clock_fn(void *ud) { (void)ud; return 0; }

/* A key callback that passes its buffer where other handles belong, and others as a buffer. */
static botsession_store *seen_store;
static int buffer_checks;
static int confused_key_fn(void *ud, const char *update, botsession_buffer *out) {
    (void)ud; (void)update;
    char *json = (char *)1;
    if (botsession_store_read(AS_STORE(out), "k", &json) == BOTSESSION_MISUSE && json == NULL &&
        strstr(botsession_last_error(), "expected a botsession_store handle, got a botsession_buffer"))
        buffer_checks++;
    if (botsession_buffer_set(AS_BUFFER(seen_store), "x", 1) == BOTSESSION_MISUSE &&
        strstr(botsession_last_error(), "expected a botsession_buffer handle, got a botsession_store"))
        buffer_checks++;
    botsession_store_close(AS_STORE(out));  /* nothing happens: the buffer still works */
    return botsession_buffer_set(out, "k1", 2);
}

static void test_wrong_kinds(void) {
    botsession_store *s, *enhanced;
    botsession_engine *e;
    botsession_update *u;
    botsession_iter *it;
    char *json, *key;
    int exists = 7;

    CHECK_OK(botsession_store_open("memory:", NULL, &s));
    CHECK_OK(botsession_store_write(s, "-5", "{\"n\":1}"));
    CHECK_OK(botsession_store_enhance(s, NULL, &enhanced));
    CHECK_OK(botsession_engine_new(NULL, &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    CHECK_OK(botsession_store_iter(s, NULL, &it));
    CHECK_OK(botsession_begin(e, GROUP_UPDATE, &u));

    /* Store functions given an engine, an update, an iterator. */
    botsession_store *out = (botsession_store *)1;
    CHECK_WRONG(botsession_store_enhance(AS_STORE(e), NULL, &out), "botsession_store", "botsession_engine");
    CHECK(out == NULL);
    CHECK_WRONG(botsession_store_add_migration(AS_STORE(u), 1, migrate_fn, NULL), "botsession_store", "botsession_update");
    json = (char *)1;
    CHECK_WRONG(botsession_store_read(AS_STORE(it), "-5", &json), "botsession_store", "botsession_iter");
    CHECK(json == NULL);
    CHECK_WRONG(botsession_store_write(AS_STORE(e), "-5", "2"), "botsession_store", "botsession_engine");
    CHECK_WRONG(botsession_store_delete(AS_STORE(u), "-5"), "botsession_store", "botsession_update");
    CHECK_WRONG(botsession_store_has(AS_STORE(e), "-5", &exists), "botsession_store", "botsession_engine");
    CHECK(exists == 0);
    CHECK_WRONG(botsession_store_set_clock(AS_STORE(it), clock_fn, NULL), "botsession_store", "botsession_iter");
    botsession_iter *out_it = (botsession_iter *)1;
    CHECK_WRONG(botsession_store_iter(AS_STORE(u), NULL, &out_it), "botsession_store", "botsession_update");
    CHECK(out_it == NULL);
    CHECK_WRONG(botsession_engine_set_store(e, NULL, AS_STORE(e)), "botsession_store", "botsession_engine");
    CHECK_ERROR_HAS("s: expected");

    /* Engine functions given a store, an update. */
    CHECK_WRONG(botsession_engine_set_store(AS_ENGINE(s), NULL, s), "botsession_engine", "botsession_store");
    CHECK_WRONG(botsession_engine_set_key_fn(AS_ENGINE(u), NULL, key_fn, NULL), "botsession_engine", "botsession_update");
    CHECK_WRONG(botsession_engine_set_initial_fn(AS_ENGINE(it), NULL, initial_fn, NULL), "botsession_engine", "botsession_iter");
    botsession_update *out_u = (botsession_update *)1;
    CHECK_WRONG(botsession_begin(AS_ENGINE(s), GROUP_UPDATE, &out_u), "botsession_engine", "botsession_store");
    CHECK(out_u == NULL);
    CHECK_ERROR_HAS("e: expected");
    out_u = (botsession_update *)1;
    CHECK_WRONG(botsession_begin_nowait(AS_ENGINE(u), GROUP_UPDATE, &out_u), "botsession_engine", "botsession_update");
    CHECK(out_u == NULL);
    json = (char *)1;
    CHECK_WRONG(botsession_lock_names(AS_ENGINE(it), GROUP_UPDATE, &json), "botsession_engine", "botsession_iter");
    CHECK(json == NULL);
    CHECK_WRONG(botsession_read_sessions(AS_UPDATE(e)), "botsession_update", "botsession_engine");

    /* Update functions given a store, an engine, an iterator. */
    json = (char *)1;
    CHECK_WRONG(botsession_get(AS_UPDATE(s), NULL, &json), "botsession_update", "botsession_store");
    CHECK(json == NULL);
    CHECK_WRONG(botsession_set(AS_UPDATE(e), NULL, "3"), "botsession_update", "botsession_engine");
    CHECK_WRONG(botsession_clear(AS_UPDATE(it)), "botsession_update", "botsession_iter");
    key = (char *)1;
    CHECK_WRONG(botsession_key(AS_UPDATE(s), NULL, &key), "botsession_update", "botsession_store");
    CHECK(key == NULL);
    CHECK_WRONG(botsession_commit(AS_UPDATE(e)), "botsession_update", "botsession_engine");
    CHECK_ERROR_HAS("u: expected");

    /* Iterator functions given an update. */
    key = (char *)1;
    CHECK_WRONG(botsession_iter_next(AS_ITER(u), &key, &json), "botsession_iter", "botsession_update");
    CHECK(key == NULL);

    /* A buffer given a store. */
    CHECK_WRONG(botsession_buffer_set(AS_BUFFER(s), "x", 1), "botsession_buffer", "botsession_store");

    /* The void functions do nothing with a handle of another kind (and say why). */
    botsession_store_close(AS_STORE(e));
    CHECK_ERROR_HAS("expected a botsession_store handle, got a botsession_engine");
    botsession_engine_free(AS_ENGINE(s));
    CHECK_ERROR_HAS("expected a botsession_engine handle, got a botsession_store");
    botsession_iter_free(AS_ITER(u));
    CHECK_ERROR_HAS("expected a botsession_iter handle, got a botsession_update");
    botsession_rollback(AS_UPDATE(it));
    CHECK_ERROR_HAS("expected a botsession_update handle, got a botsession_iter");

    /* Everything still works, and nothing was written. */
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK_TAKE_STR(json, "{\"n\":1}");
    CHECK_OK(botsession_set(u, NULL, "{\"n\":2}"));
    CHECK_OK(botsession_commit(u));
    CHECK_OK(botsession_iter_next(it, &key, &json));
    CHECK_TAKE_STR(key, "-5");
    botsession_free(json);
    CHECK_OK(botsession_store_read(s, "-5", &json));
    CHECK_TAKE_STR(json, "{\"n\":2}");
    CHECK_OK(botsession_store_add_migration(enhanced, 1, migrate_fn, NULL));

    /* A buffer passed as a store inside a callback, and a store as a buffer. */
    botsession_engine *e2;
    CHECK_OK(botsession_engine_new(NULL, &e2));
    CHECK_OK(botsession_engine_set_key_fn(e2, NULL, confused_key_fn, NULL));
    seen_store = s;
    CHECK_OK(botsession_begin(e2, "{}", &u));
    CHECK(buffer_checks == 2);
    CHECK_OK(botsession_key(u, NULL, &key));
    CHECK_TAKE_STR(key, "k1");
    botsession_rollback(u);
    botsession_engine_free(e2);

    /* Memory that is not a BotSession handle at all. */
    static long long not_a_handle[8];
    CHECK_RC(botsession_store_write(AS_STORE(not_a_handle), "k", "1"), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("s: expected a botsession_store handle, got something that is not a BotSession handle");
    botsession_engine_free(AS_ENGINE(not_a_handle));
    CHECK_ERROR_HAS("expected a botsession_engine handle, got something that is not a BotSession handle");

    botsession_iter_free(it);
    botsession_store_close(enhanced);
    botsession_engine_free(e);
    botsession_store_close(s);
}

/* A handle used after it was released: use after free, undefined in the header, but detected in
 * the common case because release clears the magic word before freeing (and the allocator
 * reuses the first words of freed memory). Run in a child, whose exit status is not counted (under
 * valgrind, the read of freed memory is reported there, silently). The child reports what
 * the calls returned through a pipe. */
static void test_released_handles(void) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        botsession_store *s;
        botsession_engine *e;
        int results[3] = {-1, -1, -1};
        if (botsession_store_open("memory:", NULL, &s) == BOTSESSION_OK) {
            botsession_store_close(s);
            results[0] = botsession_store_write(s, "k", "1");
            botsession_store_close(s); /* a double close does nothing */
        }
        if (botsession_engine_new(NULL, &e) == BOTSESSION_OK) {
            botsession_update *u;
            if (botsession_begin(e, GROUP_UPDATE, &u) == BOTSESSION_OK) {
                botsession_rollback(u);
                results[1] = botsession_commit(u);
            }
            botsession_engine_free(e);
            botsession_update *out;
            results[2] = botsession_begin(e, GROUP_UPDATE, &out);
        }
        if (write(fds[1], results, sizeof results) != sizeof results) _exit(2);
        _exit(0);
    }
    close(fds[1]);
    int results[3] = {0, 0, 0};
    CHECK(read(fds[0], results, sizeof results) == sizeof results);
    close(fds[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(results[0] == BOTSESSION_MISUSE);
    CHECK(results[1] == BOTSESSION_MISUSE);
    CHECK(results[2] == BOTSESSION_MISUSE);
}

/* Under AddressSanitizer (make test-asan), the use after free this test makes on purpose is
 * reported and aborts, as it should: the check is valgrind's and the plain build's. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUILT_WITH_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define BUILT_WITH_ASAN 1
#endif

int main(void) {
    test_wrong_kinds();
#ifndef BUILT_WITH_ASAN
    test_released_handles();
#else
    printf("  released handles: skipped under AddressSanitizer (a use after free on purpose)\n");
#endif
    report_passed("test_handles");
    return 0;
}
