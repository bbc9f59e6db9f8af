/* A commit is one unit of work (SPEC §5): no change is ever applied twice.
 *
 * An update with two fragments, "chat" and "user", in two stores. Between begin and commit an
 * outside writer changes one of the two sessions, so the commit must fail with CONFLICT; the
 * header's retry loop then runs the handler again. If the commit had written the other store
 * before finding the conflict, the re-run would apply that store's change a second time (the
 * chat counter would end at 2 for one update). Checked for: two handles on one SQLite file
 * (one transaction), two SQLite files, two file stores, a SQLite file with a file store, and
 * SQLite with PostgreSQL; the outside writer hits each store in turn.
 *
 * Also: a failure while writing, after another store was written, is PARTIAL and is never
 * re-run; the file store's lock wait is bounded by lock_timeout_ms; two processes committing
 * the same two stores with their fragments in opposite orders never deadlock. */
#include "check.h"
#include <sys/file.h>
#include <sys/wait.h>

static const char *update =
    "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"chat\":{\"id\":7,\"type\":\"group\"},"
    "\"from\":{\"id\":8,\"is_bot\":false,\"first_name\":\"A\"}}}";

/* Store `fragment`'s session for chat 7 / user 8 as `json` through `s`. */
static void put(botsession_store *s, const char *key, const char *json) {
    CHECK_OK(botsession_store_write(s, key, json));
}

static long stored_number(botsession_store *s, const char *key) {
    char *json = NULL;
    CHECK_OK(botsession_store_read(s, key, &json));
    CHECK(json != NULL);
    long n = atol(json);
    botsession_free(json);
    return n;
}

/* An engine with fragments "chat" (key chat, on `chat_store`) and "user" (key user, on
 * `user_store`), both starting at 0. `user_first` lists "user" first. */
static botsession_engine *two_fragments(botsession_store *chat_store, botsession_store *user_store, int user_first, int lock_timeout_ms) {
    char options[400];
    const char *chat = "\"chat\": {\"key\": \"chat\", \"prefix\": \"chat:\", \"initial\": 0}";
    const char *user = "\"user\": {\"key\": \"user\", \"prefix\": \"user:\", \"initial\": 0}";
    snprintf(options, sizeof options, "{\"lock_timeout_ms\": %d, \"fragments\": {%s, %s}}",
             lock_timeout_ms, user_first ? user : chat, user_first ? chat : user);
    botsession_engine *e;
    CHECK_OK(botsession_engine_new(options, &e));
    CHECK_OK(botsession_engine_set_store(e, "chat", chat_store));
    CHECK_OK(botsession_engine_set_store(e, "user", user_store));
    return e;
}

/* The handler: both counters plus one. */
static int increment_both(botsession_update *u) {
    char *json = NULL, next[32];
    int rc;
    const char *fragments[] = {"chat", "user"};
    for (int i = 0; i < 2; i++) {
        if ((rc = botsession_get(u, fragments[i], &json)) != BOTSESSION_OK) return rc;
        snprintf(next, sizeof next, "%ld", json ? atol(json) + 1 : 1);
        botsession_free(json);
        json = NULL;
        if ((rc = botsession_set(u, fragments[i], next)) != BOTSESSION_OK) return rc;
    }
    return BOTSESSION_OK;
}

/* The header's retry loop: run the handler again while begin or commit reports CONFLICT or
 * BUSY. On the first attempt, `outside` (a handle of its own) stores `meanwhile` under `key`
 * between the handler's read and its commit. Returns the last status; counts attempts. */
static int run_with_retries(botsession_engine *e, botsession_store *outside, const char *key,
                            const char *meanwhile, int *attempts) {
    int rc = BOTSESSION_CONFLICT;
    for (*attempts = 1; *attempts <= 5; (*attempts)++) {
        botsession_update *u;
        rc = botsession_begin(e, update, &u);
        if (rc == BOTSESSION_OK) {
            rc = increment_both(u);
            if (rc != BOTSESSION_OK) {
                botsession_rollback(u);
                return rc;
            }
            if (*attempts == 1 && outside) put(outside, key, meanwhile);
            rc = botsession_commit(u);
        }
        if (rc != BOTSESSION_CONFLICT && rc != BOTSESSION_BUSY) return rc;
    }
    return rc;
}

/* One configuration: the sessions start at chat 0 / user 0; the outside writer sets the
 * session of `hit` ("chat" or "user") to 100 through `outside_*`. After the retried update, the
 * other session is exactly 1 (applied once) and the hit one 101. */
static void applied_once(const char *name, botsession_store *chat_store, botsession_store *user_store,
                         botsession_store *outside_chat, botsession_store *outside_user) {
    for (int user_first = 0; user_first <= 1; user_first++) {
        for (int hit_user = 0; hit_user <= 1; hit_user++) {
            put(chat_store, "chat:7", "0");
            put(user_store, "user:8", "0");
            botsession_engine *e = two_fragments(chat_store, user_store, user_first, 10000);
            int attempts = 0;
            int rc = run_with_retries(e, hit_user ? outside_user : outside_chat,
                                      hit_user ? "user:8" : "chat:7", "100", &attempts);
            if (rc != BOTSESSION_OK) FAIL("%s: the retried update ended with %s: %s", name, botsession_status_name(rc), botsession_last_error());
            if (attempts != 2) FAIL("%s: %d attempts, expected 2 (one CONFLICT)", name, attempts);
            long chat = stored_number(chat_store, "chat:7"), user = stored_number(user_store, "user:8");
            if (chat != (hit_user ? 1 : 101) || user != (hit_user ? 101 : 1))
                FAIL("%s (outside writer on %s, %s first): chat %ld, user %ld: a change was applied twice or lost",
                     name, hit_user ? "user" : "chat", user_first ? "user" : "chat", chat, user);
            botsession_engine_free(e);
        }
    }
    printf("  %s: each change applied once\n", name);
}

static botsession_store *open_with(const char *uri, const char *options) {
    botsession_store *s = NULL;
    if (botsession_store_open(uri, options, &s) != BOTSESSION_OK) FAIL("opening %s: %s", uri, botsession_last_error());
    return s;
}

static botsession_store *open_store(const char *uri) { return open_with(uri, NULL); }

/* `applied_once` with stores opened from two URIs, and outside handles of their own. */
static void applied_once_on(const char *name, const char *chat_uri, const char *user_uri) {
    botsession_store *chat = open_store(chat_uri), *user = open_store(user_uri);
    botsession_store *outside_chat = open_store(chat_uri), *outside_user = open_store(user_uri);
    applied_once(name, chat, user, outside_chat, outside_user);
    botsession_store_close(chat);
    botsession_store_close(user);
    botsession_store_close(outside_chat);
    botsession_store_close(outside_user);
}

/* A custom store whose writes can be made to fail (written last in a commit of several stores). */
static int failing_writes;
static char custom_value[64];
static int custom_read(void *ud, const char *key, botsession_buffer *out) {
    (void)ud; (void)key;
    if (custom_value[0]) botsession_buffer_set(out, custom_value, strlen(custom_value));
    return 0;
}
static int custom_write(void *ud, const char *key, const char *json) {
    (void)ud; (void)key;
    if (failing_writes) { botsession_callback_error("the custom store is full"); return 1; }
    snprintf(custom_value, sizeof custom_value, "%s", json);
    return 0;
}
static int custom_remove(void *ud, const char *key) { (void)ud; (void)key; custom_value[0] = 0; return 0; }

/* A failure while writing. Stores that take locks are written first, stores without (custom,
 * memory) last, once the locks are released, so no custom callback runs under a store lock:
 * a failure of the first written store (the file store's rename fails: the session's file is a
 * folder with something in it) writes nothing at all; a failure of the custom store after the
 * file store was written is PARTIAL, names what was and was not written, and the retry loop
 * does not run the handler again. */
static void partial_commit(void) {
    botsession_store_methods methods = {sizeof methods, custom_read, custom_write, custom_remove, NULL, NULL, NULL};
    botsession_store *custom, *files;
    CHECK_OK(botsession_store_custom(&methods, NULL, &custom));
    char uri[400], path[400];
    snprintf(uri, sizeof uri, "file:%s/partial-files", test_dir);
    files = open_store(uri);
    /* The user's session file "user:8" (encoded by the file store) is made a non-empty folder:
     * find its path by writing it once, then replace the file with a folder. */
    put(files, "user:8", "0");
    botsession_engine *e;
    CHECK_OK(botsession_engine_new("{\"fragments\": {\"chat\": {\"key\": \"chat\", \"prefix\": \"chat:\"},"
                                   " \"user\": {\"key\": \"user\", \"prefix\": \"user:\", \"lazy\": true}}}", &e));
    CHECK_OK(botsession_engine_set_store(e, "chat", custom));
    CHECK_OK(botsession_engine_set_store(e, "user", files));
    botsession_iter *it;
    char *key, *json;
    CHECK_OK(botsession_store_iter(files, "", &it));
    CHECK_OK(botsession_iter_next(it, &key, &json));
    CHECK_STR(key, "user:8");
    botsession_free(key);
    botsession_free(json);
    botsession_iter_free(it);
    /* The layout: DIR/<last two characters>/<encoded name>.json; find the one file. */
    char found[600] = "";
    snprintf(path, sizeof path, "find %s/partial-files -name '*.json' -type f", test_dir);
    FILE *p = popen(path, "r");
    CHECK(p && fgets(found, sizeof found, p));
    pclose(p);
    found[strcspn(found, "\n")] = 0;
    CHECK(unlink(found) == 0 && mkdir(found, 0755) == 0);
    snprintf(path, sizeof path, "%s/keep", found);
    FILE *keep = fopen(path, "w");
    CHECK(keep && fclose(keep) == 0);

    /* The file store (prepared, so written first) cannot rename into place: nothing was
     * written, and the custom store (written last) was not written either. */
    botsession_update *u;
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_set(u, "chat", "1"));
    CHECK_OK(botsession_set(u, "user", "1"));  /* lazy, not read: a blind write */
    CHECK_RC(botsession_commit(u), BOTSESSION_STORAGE);
    CHECK_ERROR_HAS("nothing was written");
    CHECK_STR(custom_value, "");

    /* With the folder out of the way, the file store is written, then the custom store's write
     * fails: PARTIAL, and the retry loop does not run the handler again. */
    CHECK(unlink(path) == 0 && rmdir(found) == 0);
    failing_writes = 1;
    int runs = 0, rc = BOTSESSION_CONFLICT;
    for (int attempt = 0; attempt < 5 && (rc == BOTSESSION_CONFLICT || rc == BOTSESSION_BUSY); attempt++) {
        CHECK_OK(botsession_begin(e, update, &u));
        runs++;
        CHECK_OK(botsession_set(u, "chat", "2"));
        CHECK_OK(botsession_set(u, "user", "2"));
        rc = botsession_commit(u);
    }
    CHECK_RC(rc, BOTSESSION_PARTIAL);
    CHECK(runs == 1);
    CHECK_ERROR_HAS("written: fragment 'user'");
    CHECK_ERROR_HAS("not (fully) written: fragment 'chat'");
    CHECK_ERROR_HAS("Do not run the handler again");
    CHECK_STR(custom_value, "");
    CHECK(stored_number(files, "user:8") == 2);
    failing_writes = 0;
    botsession_engine_free(e);
    botsession_store_close(custom);
    botsession_store_close(files);
    printf("  a failure while writing after another store was written: PARTIAL, not re-run\n");
}

/* A custom store's write callback that reads another store of the same update: it runs after
 * that store's commit released its locks (it would wait for ever under them). alarm() turns a
 * hang into a failure. */
static botsession_store *other_store;
static int reading_write(void *ud, const char *key, const char *json) {
    (void)ud; (void)key;
    char *seen = NULL;
    if (botsession_store_read(other_store, "chat:7", &seen) != BOTSESSION_OK) return 1;
    botsession_free(seen);
    snprintf(custom_value, sizeof custom_value, "%s", json);
    return 0;
}

static void callbacks_run_after_locks(void) {
    char uri[400];
    snprintf(uri, sizeof uri, "sqlite:%s/callbacks.db", test_dir);
    other_store = open_store(uri);
    botsession_store_methods methods = {sizeof methods, custom_read, reading_write, custom_remove, NULL, NULL, NULL};
    botsession_store *custom;
    CHECK_OK(botsession_store_custom(&methods, NULL, &custom));
    custom_value[0] = 0;
    botsession_engine *e = two_fragments(other_store, custom, 0, 10000);
    alarm(120);
    int attempts = 0;
    CHECK_OK(run_with_retries(e, NULL, NULL, NULL, &attempts));
    alarm(0);
    CHECK(stored_number(other_store, "chat:7") == 1);
    CHECK_STR(custom_value, "1");
    botsession_engine_free(e);
    botsession_store_close(custom);
    botsession_store_close(other_store);
    printf("  a custom store's callbacks run after the other stores released their locks\n");
}

/* The file store waits for a folder lock at most lock_timeout_ms: BUSY after, nothing written;
 * once the lock is free the same update commits. */
static void bounded_file_lock(void) {
    char uri[400];
    snprintf(uri, sizeof uri, "file:%s/locked-files", test_dir);
    botsession_store *files = open_store(uri);
    put(files, "7", "0");
    char lock_path[600], command[700], found[600] = "";
    snprintf(command, sizeof command, "find %s/locked-files -name .botsession.lock", test_dir);
    FILE *p = popen(command, "r");
    CHECK(p && fgets(found, sizeof found, p));
    pclose(p);
    found[strcspn(found, "\n")] = 0;
    snprintf(lock_path, sizeof lock_path, "%s", found);
    int fd = open(lock_path, O_RDWR);
    CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);  /* another writer holds the folder */

    botsession_engine *e;
    CHECK_OK(botsession_engine_new("{\"lock_timeout_ms\": 200}", &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, files));
    CHECK_RC(increment_once(e, update), BOTSESSION_BUSY);
    CHECK_ERROR_HAS("lock_timeout_ms");
    CHECK(stored_number(files, "7") == 0);
    close(fd);  /* released */
    CHECK_OK(increment_once(e, update));
    CHECK(stored_number(files, "7") == 1);
    botsession_engine_free(e);
    botsession_store_close(files);
    printf("  the file store's lock wait is bounded by lock_timeout_ms\n");
}

/* Two processes update the same two sessions in two stores, each process with its fragments in
 * the other order. Without one global order of preparing stores, each could hold one store's
 * lock while waiting for the other's. Both finish, and every increment is there. */
static void no_deadlock(const char *name, const char *chat_uri, const char *user_uri) {
    enum { TIMES = 150 };
    botsession_store *chat = open_store(chat_uri), *user = open_store(user_uri);
    put(chat, "chat:7", "0");
    put(user, "user:8", "0");
    botsession_store_close(chat);
    botsession_store_close(user);
    pid_t children[2];
    fflush(stdout);  /* the children must not print the parent's buffered output again */
    for (int i = 0; i < 2; i++) {
        children[i] = fork();
        CHECK(children[i] >= 0);
        if (children[i] > 0) continue;
        botsession_store *c = open_store(chat_uri), *s = open_store(user_uri);
        botsession_engine *e = two_fragments(c, s, i, 10000);
        botsession_store_close(c);
        botsession_store_close(s);
        for (int n = 0; n < TIMES; n++) {
            int rc = BOTSESSION_CONFLICT;
            for (int attempt = 0; attempt < 1000 && (rc == BOTSESSION_CONFLICT || rc == BOTSESSION_BUSY); attempt++) {
                botsession_update *u;
                rc = botsession_begin(e, update, &u);
                if (rc != BOTSESSION_OK) continue;
                if ((rc = increment_both(u)) != BOTSESSION_OK) {
                    botsession_rollback(u);
                    continue;
                }
                rc = botsession_commit(u);
            }
            if (rc != BOTSESSION_OK) {
                fprintf(stderr, "child %d: %s: %s\n", i, botsession_status_name(rc), botsession_last_error());
                _exit(1);
            }
        }
        botsession_engine_free(e);
        _exit(0);
    }
    for (int i = 0; i < 2; i++) {
        int status = -1;
        CHECK(waitpid(children[i], &status, 0) == children[i]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) FAIL("%s: a child failed", name);
    }
    chat = open_store(chat_uri);
    user = open_store(user_uri);
    CHECK(stored_number(chat, "chat:7") == 2 * TIMES);
    CHECK(stored_number(user, "user:8") == 2 * TIMES);
    botsession_store_close(chat);
    botsession_store_close(user);
    printf("  %s: two processes, opposite fragment orders, %d updates each, no deadlock\n", name, TIMES);
}

int main(void) {
    make_test_dir();
    char a[400], b[400];

    /* Two handles on one SQLite file: one transaction. */
    snprintf(a, sizeof a, "sqlite:%s/one.db", test_dir);
    applied_once_on("two handles on one SQLite file", a, a);

    snprintf(a, sizeof a, "sqlite:%s/chat.db", test_dir);
    snprintf(b, sizeof b, "sqlite:%s/user.db", test_dir);
    applied_once_on("two SQLite files", a, b);
    no_deadlock("two SQLite files", a, b);

    snprintf(a, sizeof a, "file:%s/chat-files", test_dir);
    snprintf(b, sizeof b, "file:%s/user-files", test_dir);
    applied_once_on("two file stores", a, b);
    no_deadlock("two file stores", a, b);

    snprintf(a, sizeof a, "sqlite:%s/mixed.db", test_dir);
    snprintf(b, sizeof b, "file:%s/mixed-files", test_dir);
    applied_once_on("a SQLite file with a file store", a, b);
    applied_once_on("a file store with a SQLite file", b, a);
    no_deadlock("a SQLite file with a file store", a, b);

    /* Two tables of one SQLite file: two stores, but one writer per file, so the second joins
     * the first one's transaction (a second BEGIN IMMEDIATE would wait for the first). */
    snprintf(a, sizeof a, "sqlite:%s/tables.db", test_dir);
    {
        const char *chats = "{\"table\": \"chats\"}", *users = "{\"table\": \"users\"}";
        botsession_store *chat = open_with(a, chats), *user = open_with(a, users);
        botsession_store *outside_chat = open_with(a, chats), *outside_user = open_with(a, users);
        applied_once("two tables of one SQLite file", chat, user, outside_chat, outside_user);
        botsession_store_close(chat);
        botsession_store_close(user);
        botsession_store_close(outside_chat);
        botsession_store_close(outside_user);
    }

    /* The same file behind an enhancer and plain: one store identity, one transaction. */
    snprintf(a, sizeof a, "sqlite:%s/enhanced.db", test_dir);
    botsession_store *plain = open_store(a), *inner = open_store(a), *enhanced, *outside = open_store(a);
    CHECK_OK(botsession_store_enhance(inner, NULL, &enhanced));
    applied_once("an enhanced and a plain handle on one SQLite file", plain, enhanced, outside, enhanced);
    botsession_store_close(enhanced);
    botsession_store_close(inner);
    botsession_store_close(plain);
    botsession_store_close(outside);

    const char *postgres = postgres_test_uri("test_commit_unit");
    if (postgres) {
        snprintf(a, sizeof a, "sqlite:%s/with-postgres.db", test_dir);
        applied_once_on("a SQLite file with PostgreSQL", a, postgres);
        no_deadlock("a SQLite file with PostgreSQL", a, postgres);
    }

    partial_commit();
    callbacks_run_after_locks();
    bounded_file_lock();
    report_passed("test_commit_unit");
    return 0;
}
