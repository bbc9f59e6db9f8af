/* The library-wide functions: versions, status names, error messages, freeing, buffers. */
#include "check.h"
#include <pthread.h>

static const char *expected_names[] = {
    "BOTSESSION_OK", "BOTSESSION_ERROR", "BOTSESSION_MISUSE", "BOTSESSION_INVALID_JSON",
    "BOTSESSION_INVALID_OPTION", "BOTSESSION_NO_KEY", "BOTSESSION_STORAGE", "BOTSESSION_CONFLICT",
    "BOTSESSION_TOO_BIG", "BOTSESSION_CALLBACK", "BOTSESSION_MIGRATION", "BOTSESSION_BUSY",
    "BOTSESSION_PARTIAL",
};

static void *fresh_thread(void *arg) {
    (void)arg;
    /* A thread that never failed has an empty message, not NULL. */
    const char *message = botsession_last_error();
    if (message == NULL || message[0] != 0) return (void *)1;
    /* Its own failure does not show in the main thread (checked there). */
    botsession_store *s;
    if (botsession_store_open("nosuch:", NULL, &s) != BOTSESSION_INVALID_OPTION) return (void *)2;
    if (!strstr(botsession_last_error(), "nosuch")) return (void *)3;
    return NULL;
}

int main(void) {
    /* Versions: the library matches the header it is used with. */
    CHECK_STR(botsession_version(), BOTSESSION_VERSION);
    CHECK_STR(botsession_version(), "0.1.0");
    CHECK(botsession_version_number() == BOTSESSION_VERSION_NUMBER);
    CHECK(botsession_version_number() == 1000);

    /* Status names, numbers as the header defines them. */
    int statuses[] = {BOTSESSION_OK, BOTSESSION_ERROR, BOTSESSION_MISUSE, BOTSESSION_INVALID_JSON,
                      BOTSESSION_INVALID_OPTION, BOTSESSION_NO_KEY, BOTSESSION_STORAGE,
                      BOTSESSION_CONFLICT, BOTSESSION_TOO_BIG, BOTSESSION_CALLBACK,
                      BOTSESSION_MIGRATION, BOTSESSION_BUSY, BOTSESSION_PARTIAL};
    for (int i = 0; i < 13; i++) CHECK_STR(botsession_status_name(statuses[i]), expected_names[i]);
    CHECK(BOTSESSION_PARTIAL == 12);
    CHECK_STR(botsession_status_name(13), "BOTSESSION_UNKNOWN");
    CHECK_STR(botsession_status_name(-1), "BOTSESSION_UNKNOWN");

    /* No failure yet: an empty message. */
    CHECK_STR(botsession_last_error(), "");

    /* A failure sets the message; a later success leaves it; the next failure replaces it. */
    botsession_store *s = NULL;
    CHECK_RC(botsession_store_open(NULL, NULL, &s), BOTSESSION_MISUSE);
    CHECK(s == NULL);
    CHECK_ERROR_HAS("uri is NULL");
    const char *first = botsession_last_error();
    CHECK_OK(botsession_store_open("memory:", NULL, &s));
    CHECK(botsession_last_error() == first);
    CHECK_ERROR_HAS("uri is NULL");
    botsession_store_close(s);
    CHECK_RC(botsession_store_open("memory:", NULL, NULL), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("out is NULL");

    /* Messages are per thread. */
    pthread_t t;
    void *result = (void *)99;
    CHECK(pthread_create(&t, NULL, fresh_thread, NULL) == 0);
    CHECK(pthread_join(t, &result) == 0);
    CHECK(result == NULL);
    CHECK_ERROR_HAS("out is NULL");

    /* Freeing NULL and closing NULL handles are no-ops. */
    botsession_free(NULL);
    botsession_store_close(NULL);
    botsession_engine_free(NULL);
    botsession_iter_free(NULL);
    botsession_rollback(NULL);

    /* Buffers: NULL is MISUSE. */
    CHECK_RC(botsession_buffer_set(NULL, "x", 1), BOTSESSION_MISUSE);
    CHECK_ERROR_HAS("buf is NULL");

    /* botsession_callback_error outside a callback changes nothing. */
    botsession_callback_error("not in a callback");
    botsession_callback_error(NULL);
    CHECK_ERROR_HAS("buf is NULL");

    report_passed("test_library");
    return 0;
}
