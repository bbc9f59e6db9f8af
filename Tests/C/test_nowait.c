/* The calls for event loops (the Python binding's asyncio API): botsession_lock_names says which
 * keys an update needs, botsession_begin_nowait takes them or fails at once with BUSY and reads
 * nothing, botsession_read_sessions reads the strict sessions afterwards. */
#include "check.h"
#include <sqlite3.h>
#include <sys/file.h>

static const char *update =
    "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"chat\":{\"id\":-5,\"type\":\"group\"},"
    "\"from\":{\"id\":\"7\\\"x\",\"is_bot\":false,\"first_name\":\"A\"}}}";

/* botsession_thread_nowait: with waiting off, what would wait for a lock is BUSY at once and did
 * nothing. alarm() turns a wait (60 s lock timeouts here) into a failure. */
static void thread_nowait(void) {
    char path[400], uri[420];
    snprintf(path, sizeof path, "%s/nowait.db", test_dir);
    snprintf(uri, sizeof uri, "sqlite:%s", path);
    botsession_store *s, *files;
    CHECK_OK(botsession_store_open(uri, "{\"busy_timeout_ms\": 60000}", &s));
    CHECK_OK(botsession_store_write(s, "1", "10"));
    sqlite3 *other;
    CHECK(sqlite3_open(path, &other) == SQLITE_OK);
    CHECK(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);  /* holds the write lock */

    CHECK(botsession_thread_nowait(1) == 0);
    CHECK(botsession_thread_nowait(1) == 1);
    alarm(30);
    char *json;
    CHECK_OK(botsession_store_read(s, "1", &json));        /* WAL: a read needs no lock */
    CHECK_TAKE_STR(json, "10");
    CHECK_RC(botsession_store_write(s, "1", "11"), BOTSESSION_BUSY);
    CHECK_ERROR_HAS("does not wait");
    botsession_engine *e;
    CHECK_OK(botsession_engine_new("{\"lock_timeout_ms\": 60000}", &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    const char *one = "{\"message\":{\"chat\":{\"id\":1}}}";
    botsession_update *u, *again;
    CHECK_OK(botsession_begin(e, one, &u));                  /* reads: fine */
    CHECK_RC(botsession_begin(e, one, &again), BOTSESSION_BUSY);  /* its key is held: no wait */
    CHECK_OK(botsession_set(u, NULL, "12"));
    CHECK_RC(botsession_commit(u), BOTSESSION_BUSY);         /* the write lock is another's */

    char dir[420];
    snprintf(dir, sizeof dir, "file:%s/nowait-files", test_dir);
    CHECK_OK(botsession_store_open(dir, NULL, &files));
    CHECK(botsession_thread_nowait(0) == 1);
    CHECK_OK(botsession_store_write(files, "1", "1"));
    char lock_path[500];
    snprintf(lock_path, sizeof lock_path, "%s/nowait-files/1/.botsession.lock", test_dir);
    int fd = open(lock_path, O_RDWR);
    CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
    botsession_thread_nowait(1);
    CHECK_RC(botsession_store_write(files, "1", "2"), BOTSESSION_BUSY);
    alarm(0);
    botsession_thread_nowait(0);
    close(fd);
    CHECK(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(other);

    /* Waiting on again: nothing of the refused calls was written, and they work now. */
    CHECK_OK(botsession_store_read(s, "1", &json));
    CHECK_TAKE_STR(json, "10");
    CHECK_OK(botsession_store_read(files, "1", &json));
    CHECK_TAKE_STR(json, "1");
    CHECK_OK(botsession_store_write(files, "1", "2"));
    CHECK_OK(increment_once(e, one));
    CHECK_OK(botsession_store_read(s, "1", &json));
    CHECK_TAKE_STR(json, "11");
    botsession_engine_free(e);
    botsession_store_close(s);
    botsession_store_close(files);
    printf("  with waiting off, a call that would wait is BUSY at once and did nothing\n");
}

int main(void) {
    make_test_dir();
    counting_store c = {0};
    botsession_store *counted = counting_open(&c);
    botsession_store *memory;
    CHECK_OK(botsession_store_open("memory:", NULL, &memory));
    botsession_engine *e;
    CHECK_OK(botsession_engine_new("{\"fragments\": {\"chat\": {\"initial\": 0}, \"user\": {\"key\": \"user\", \"lazy\": true},"
                                   " \"none\": {\"key\": \"business\"}}}", &e));
    CHECK_OK(botsession_engine_set_store(e, "chat", counted));
    CHECK_OK(botsession_engine_set_store(e, "user", memory));

    /* The lock names: [store identity, key] pairs in the order begin takes them, keys escaped
     * as JSON strings; nothing is read or locked. */
    char *names = NULL;
    CHECK_OK(botsession_lock_names(e, update, &names));
    CHECK(names && names[0] == '[' && strstr(names, "[\"custom:#") && strstr(names, "\",\"-5\"]"));
    CHECK(strstr(names, "[\"memory:#") && strstr(names, "\",\"7\\\"x\"]"));
    CHECK(strstr(names, "custom:#") < strstr(names, "memory:#"));
    botsession_free(names);
    CHECK(c.reads == 0);
    CHECK_OK(botsession_lock_names(e, "{\"update_id\":2,\"poll\":{\"id\":\"p\"}}", &names));
    CHECK_STR(names, "[]");
    botsession_free(names);
    CHECK_RC(botsession_lock_names(e, "[1,2]", &names), BOTSESSION_INVALID_JSON);
    CHECK(names == NULL);
    CHECK_RC(botsession_lock_names(NULL, update, &names), BOTSESSION_MISUSE);
    CHECK_RC(botsession_lock_names(e, update, NULL), BOTSESSION_MISUSE);

    /* begin_nowait takes the keys and reads nothing; read_sessions reads the strict one (once). */
    counting_put(&c, "-5", "41");
    botsession_update *u, *second;
    CHECK_OK(botsession_begin_nowait(e, update, &u));
    CHECK(c.reads == 0);
    CHECK_OK(botsession_read_sessions(u));
    CHECK(c.reads == 1);
    CHECK_OK(botsession_read_sessions(u));
    CHECK(c.reads == 1);
    char *json;
    CHECK_OK(botsession_get(u, "chat", &json));
    CHECK_TAKE_STR(json, "41");

    /* While it is open, another begin_nowait of the same keys is BUSY at once, holding nothing. */
    second = (botsession_update *)1;
    CHECK_RC(botsession_begin_nowait(e, update, &second), BOTSESSION_BUSY);
    CHECK(second == NULL);
    CHECK_OK(botsession_set(u, "chat", "42"));
    CHECK_OK(botsession_commit(u));
    CHECK_STR(counting_get(&c, "-5"), "42");

    /* A session set before read_sessions is not read over. */
    CHECK_OK(botsession_begin_nowait(e, update, &u));
    CHECK_OK(botsession_set(u, "chat", "7"));
    CHECK_OK(botsession_read_sessions(u));
    CHECK_OK(botsession_get(u, "chat", &json));
    CHECK_TAKE_STR(json, "7");
    CHECK_OK(botsession_commit(u));
    CHECK_STR(counting_get(&c, "-5"), "7");

    /* A failing read: the caller rolls back, and the keys are free again. */
    CHECK_OK(botsession_begin_nowait(e, update, &u));
    c.fail_next = BOTSESSION_STORAGE;
    CHECK_RC(botsession_read_sessions(u), BOTSESSION_CALLBACK);
    botsession_rollback(u);
    CHECK_OK(botsession_begin_nowait(e, update, &u));
    CHECK_OK(botsession_read_sessions(u));
    botsession_rollback(u);
    CHECK_RC(botsession_read_sessions(NULL), BOTSESSION_MISUSE);
    CHECK_RC(botsession_begin_nowait(e, update, NULL), BOTSESSION_MISUSE);

    botsession_engine_free(e);
    botsession_store_close(counted);
    botsession_store_close(memory);
    counting_reset(&c);
    thread_nowait();
    report_passed("test_nowait");
    return 0;
}
