/* Several processes on one SQLite file and one file-store directory: each sees the others'
 * commits, and a store handle that crosses fork() opens its own connection in the child instead
 * of sharing the parent's. (Handles are not meant to cross fork(); the store protects itself
 * anyway.) This program is single-threaded, which is what makes fork() safe here. */
#include "check.h"
#include <sys/wait.h>

static const char *update_for(int chat) {
    static char update[256];
    snprintf(update, sizeof update,
             "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"chat\":{\"id\":%d,\"type\":\"private\"}}}", chat);
    return update;
}

/* A child's failure: says why on stderr and exits with `code`. */
static void child_fails(int code) {
    fprintf(stderr, "child %d failed (%d): %s\n", (int)getpid(), code, botsession_last_error());
    _exit(code);
}

/* In a child: count to `times` in the session of chat `chat`, then exit 0 on success. */
static void child_counts(const char *uri, int chat, int times) {
    botsession_store *s;
    botsession_engine *e;
    if (botsession_store_open(uri, NULL, &s) || botsession_engine_new("{\"initial\": 0}", &e) ||
        botsession_engine_set_store(e, NULL, s))
        child_fails(10);
    botsession_store_close(s);
    for (int i = 0; i < times; i++) {
        botsession_update *u;
        char *json, next[32];
        if (botsession_begin(e, update_for(chat), &u) || botsession_get(u, NULL, &json)) child_fails(11);
        snprintf(next, sizeof next, "%d", atoi(json) + 1);
        botsession_free(json);
        if (botsession_set(u, NULL, next) || botsession_commit(u)) child_fails(12);
    }
    botsession_engine_free(e);
    _exit(0);
}

static void processes_see_each_other(const char *uri) {
    /* Four processes, each counting in its own chat, at the same time. */
    pid_t children[4];
    for (int i = 0; i < 4; i++) {
        children[i] = fork();
        if (children[i] == 0) child_counts(uri, 100 + i, 200);
        CHECK(children[i] > 0);
    }
    for (int i = 0; i < 4; i++) {
        int status = -1;
        CHECK(waitpid(children[i], &status, 0) == children[i]);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    botsession_store *s;
    char *json, key[16];
    CHECK_OK(botsession_store_open(uri, NULL, &s));
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "%d", 100 + i);
        CHECK_OK(botsession_store_read(s, key, &json));
        CHECK_TAKE_STR(json, "200");
    }
    botsession_store_close(s);
}

/* Processes that open a brand-new SQLite file at the same instant (a barrier releases them
 * together) all get a working store: setting the file up (WAL, the table) waits for the others
 * instead of failing. */
static void processes_open_a_new_file_at_once(int file) {
    char uri[600];
    snprintf(uri, sizeof uri, "sqlite:%s/new-%d.db", test_dir, file);
    int barrier[2];
    CHECK(pipe(barrier) == 0);
    pid_t children[6];
    for (int i = 0; i < 6; i++) {
        children[i] = fork();
        if (children[i] == 0) {
            char go;
            close(barrier[1]);
            if (read(barrier[0], &go, 1) != 0) _exit(20);  /* returns 0 when the parent closes */
            botsession_store *s;
            char key[16];
            snprintf(key, sizeof key, "p%d", i);
            if (botsession_store_open(uri, NULL, &s)) child_fails(21);
            if (botsession_store_write(s, key, "1")) child_fails(22);
            botsession_store_close(s);
            _exit(0);
        }
    }
    close(barrier[0]);
    close(barrier[1]);  /* go */
    for (int i = 0; i < 6; i++) {
        int status = -1;
        CHECK(waitpid(children[i], &status, 0) == children[i]);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    botsession_store *s;
    int exists;
    CHECK_OK(botsession_store_open(uri, NULL, &s));
    for (int i = 0; i < 6; i++) {
        char key[16];
        snprintf(key, sizeof key, "p%d", i);
        CHECK_OK(botsession_store_has(s, key, &exists));
        CHECK(exists == 1);
    }
    botsession_store_close(s);
}

int main(void) {
    make_test_dir();
    char sqlite[600], file[600];
    snprintf(sqlite, sizeof sqlite, "sqlite:%s/shared.db", test_dir);
    snprintf(file, sizeof file, "file:%s/shared-files", test_dir);
    processes_see_each_other(sqlite);
    processes_see_each_other(file);
    for (int i = 0; i < 4; i++) processes_open_a_new_file_at_once(i);

    /* A handle opened before fork() and used in the child: the child gets its own connection.
     * The child keeps the connection it inherited open and unused (closing it could disturb
     * the parent's locks), which valgrind reports at the child's exit; so the child sends its
     * verdict through a pipe rather than its exit status. */
    botsession_store *s;
    char *json;
    int verdict[2];
    CHECK(pipe(verdict) == 0);
    CHECK_OK(botsession_store_open(sqlite, NULL, &s));
    CHECK_OK(botsession_store_write(s, "from-parent", "1"));
    pid_t pid = fork();
    if (pid == 0) {
        char *seen = NULL;
        char ok = botsession_store_read(s, "from-parent", &seen) == BOTSESSION_OK && seen && !strcmp(seen, "1") &&
                  botsession_store_write(s, "from-child", "2") == BOTSESSION_OK;
        botsession_free(seen);
        botsession_store_close(s);
        if (write(verdict[1], &ok, 1) != 1) _exit(2);
        _exit(0);
    }
    char child_ok = 0;
    CHECK(read(verdict[0], &child_ok, 1) == 1);
    CHECK(child_ok == 1);
    CHECK(waitpid(pid, NULL, 0) == pid);
    close(verdict[0]);
    close(verdict[1]);
    CHECK_OK(botsession_store_read(s, "from-child", &json));
    CHECK_TAKE_STR(json, "2");
    /* The parent's connection still works after the child's exit. */
    CHECK_OK(botsession_store_write(s, "after", "3"));
    CHECK_OK(botsession_store_read(s, "after", &json));
    CHECK_TAKE_STR(json, "3");
    botsession_store_close(s);
    report_passed("test_processes");
    return 0;
}
