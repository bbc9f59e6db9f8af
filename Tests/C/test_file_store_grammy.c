/* The file store beside grammY's file adapter, which writes files in place and takes no lock:
 * - a grammY write while a commit is under way is not lost: the commit writes and flushes its
 *   temporary file before it takes the lock, and inside the lock only compares and renames, so
 *   a grammY write made before the compare turns the commit into a CONFLICT. A test-only pause
 *   point (BOTSESSION_TEST_FILE_COMMIT_PAUSE) stops the commit right there, so this is
 *   deterministic;
 * - an empty file (what grammY's in-place write leaves after a crash) reads as absent;
 * - temporary files left by killed writers are removed by the next write to their folder, when
 *   older than a minute and locked by no one; a live writer's file is never removed. */
#include "check.h"
#include <dirent.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>

static char dir[512], gate[600];

static const char *update =
    "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"chat\":{\"id\":-1001234567890,\"type\":\"group\"}}}";

/* grammY's file adapter: fs.writeFile, i.e. truncate and write in place, no lock. */
static void grammy_write(const char *relative, const char *content) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, relative);
    FILE *f = fopen(path, "w");
    if (!f) FAIL("cannot write %s", path);
    fputs(content, f);
    fclose(f);
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* The grammY bot: waits until the commit stands at its pause point, writes in place, then
 * lets the commit go on. Returns NULL when it wrote, else a reason. */
static void *grammy_bot(void *arg) {
    (void)arg;
    char reached[700];
    snprintf(reached, sizeof reached, "%s.reached", gate);
    for (int i = 0; i < 5000 && !exists(reached); i++) usleep(1000);
    if (!exists(reached)) {
        unlink(gate);
        return "the commit never reached its pause point";
    }
    grammy_write("90/-1001234567890.json", "{\"pizzaCount\":10}");
    unlink(reached);
    unlink(gate);  /* the commit goes on */
    return NULL;
}

static void open_gate(void) {
    FILE *f = fopen(gate, "w");
    CHECK(f && fclose(f) == 0);
}

static void grammy_write_during_commit(botsession_store *s) {
    botsession_engine *e;
    CHECK_OK(botsession_engine_new("{\"initial\": {\"pizzaCount\": 0}}", &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    CHECK_OK(botsession_store_write(s, "-1001234567890", "{\"pizzaCount\":1}"));

    botsession_update *u;
    char *json;
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK_TAKE_STR(json, "{\"pizzaCount\":1}");
    CHECK_OK(botsession_set(u, NULL, "{\"pizzaCount\":2}"));
    open_gate();
    pthread_t bot;
    CHECK(pthread_create(&bot, NULL, grammy_bot, NULL) == 0);
    int rc = botsession_commit(u);
    void *why;
    CHECK(pthread_join(bot, &why) == 0);
    if (why) FAIL("%s", (const char *)why);
    /* The commit saw grammY's write: CONFLICT, and grammY's value stands. */
    CHECK_RC(rc, BOTSESSION_CONFLICT);
    CHECK_OK(botsession_store_read(s, "-1001234567890", &json));
    CHECK_TAKE_STR(json, "{\"pizzaCount\":10}");
    /* No temporary file is left behind. */
    char folder[700];
    snprintf(folder, sizeof folder, "%s/90", dir);
    DIR *d = opendir(folder);
    CHECK(d != NULL);
    for (struct dirent *entry; (entry = readdir(d));)
        if (strstr(entry->d_name, ".tmp")) FAIL("temporary file %s left behind", entry->d_name);
    closedir(d);
    /* The re-run builds on grammY's value. */
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK_TAKE_STR(json, "{\"pizzaCount\":10}");
    CHECK_OK(botsession_set(u, NULL, "{\"pizzaCount\":11}"));
    CHECK_OK(botsession_commit(u));
    CHECK_OK(botsession_store_read(s, "-1001234567890", &json));
    CHECK_TAKE_STR(json, "{\"pizzaCount\":11}");
    botsession_engine_free(e);
}

static void empty_file_is_absent(botsession_store *s) {
    grammy_write("90/-1001234567890.json", "");
    char *json = (char *)1;
    int exists_out = -1;
    CHECK_OK(botsession_store_read(s, "-1001234567890", &json));
    CHECK(json == NULL);
    CHECK_OK(botsession_store_has(s, "-1001234567890", &exists_out));
    CHECK(exists_out == 0);
    botsession_iter *it;
    char *key;
    CHECK_OK(botsession_store_iter(s, "", &it));
    CHECK_OK(botsession_iter_next(it, &key, &json));
    CHECK(key == NULL);
    botsession_iter_free(it);
    /* An update starts from the initial value, and its commit (expecting absence) replaces
     * the empty file. */
    botsession_engine *e;
    CHECK_OK(botsession_engine_new("{\"initial\": {\"pizzaCount\": 0}}", &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    botsession_update *u;
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_get(u, NULL, &json));
    CHECK_TAKE_STR(json, "{\"pizzaCount\": 0}");
    CHECK_OK(botsession_set(u, NULL, "{\"pizzaCount\":1}"));
    CHECK_OK(botsession_commit(u));
    CHECK_OK(botsession_store_read(s, "-1001234567890", &json));
    CHECK_TAKE_STR(json, "{\"pizzaCount\":1}");
    botsession_engine_free(e);
}

/* A temporary file as a writer leaves it, `age_s` seconds old. */
static void make_temporary(const char *name, int age_s) {
    char path[800];
    snprintf(path, sizeof path, "%s/90/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f && fputs("{\"half", f) >= 0 && fclose(f) == 0);
    struct timeval times[2];
    gettimeofday(&times[0], NULL);
    times[0].tv_sec -= age_s;
    times[1] = times[0];
    CHECK(utimes(path, times) == 0);
}

static int temporary_exists(const char *name) {
    char path[800];
    snprintf(path, sizeof path, "%s/90/%s", dir, name);
    return exists(path);
}

static void stale_temporaries_are_swept(void) {
    /* A fresh handle: it has not swept folder 90 yet. */
    char uri[700];
    snprintf(uri, sizeof uri, "file:%s", dir);
    botsession_store *s;
    CHECK_OK(botsession_store_open(uri, NULL, &s));
    make_temporary(".botsession-4242-1.tmp", 120);            /* a killed writer's: removed */
    make_temporary(".botsession-4243-deadbeef.tmp", 120);     /* a killed writer's: removed */
    make_temporary(".botsession-4244-cafe.tmp", 5);           /* recent: kept */
    make_temporary(".botsession-4245-live.tmp", 120);         /* old, but a live writer holds it */
    make_temporary("notes.tmp", 120);                         /* not ours: kept */
    char live[800];
    snprintf(live, sizeof live, "%s/90/.botsession-4245-live.tmp", dir);
    int fd = open(live, O_RDWR);
    CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
    /* A write to another folder leaves folder 90 alone. */
    CHECK_OK(botsession_store_write(s, "11", "1"));
    CHECK(temporary_exists(".botsession-4242-1.tmp"));
    /* A write to folder 90 sweeps it. */
    CHECK_OK(botsession_store_write(s, "-1001234567890", "{\"pizzaCount\":5}"));
    CHECK(!temporary_exists(".botsession-4242-1.tmp"));
    CHECK(!temporary_exists(".botsession-4243-deadbeef.tmp"));
    CHECK(temporary_exists(".botsession-4244-cafe.tmp"));
    CHECK(temporary_exists(".botsession-4245-live.tmp"));
    CHECK(temporary_exists("notes.tmp"));
    close(fd);
    char *json;
    CHECK_OK(botsession_store_read(s, "-1001234567890", &json));
    CHECK_TAKE_STR(json, "{\"pizzaCount\":5}");
    botsession_store_close(s);
}

int main(void) {
    make_test_dir();
    snprintf(dir, sizeof dir, "%s/shared-with-grammy", test_dir);
    snprintf(gate, sizeof gate, "%s/commit-pause", test_dir);
    /* Read when a store opens: only the store of the pause test has it. */
    setenv("BOTSESSION_TEST_FILE_COMMIT_PAUSE", gate, 1);
    char uri[700];
    snprintf(uri, sizeof uri, "file:%s", dir);
    botsession_store *s;
    CHECK_OK(botsession_store_open(uri, NULL, &s));
    unsetenv("BOTSESSION_TEST_FILE_COMMIT_PAUSE");

    grammy_write_during_commit(s);
    printf("  a grammY write during a commit: CONFLICT, grammY's value kept, the re-run builds on it\n");
    empty_file_is_absent(s);
    printf("  an empty file reads as absent\n");
    botsession_store_close(s);
    stale_temporaries_are_swept();
    printf("  temporary files of killed writers are swept, live and recent ones kept\n");
    report_passed("test_file_store_grammy");
    return 0;
}
