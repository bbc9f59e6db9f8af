/*
 * crash_kill.c - kill -9 in the middle of commits (make test-crash):
 *
 *   crash_kill URI KILLS        URI: sqlite:PATH or file:DIR; CRASH_SEED=N repeats a run
 *
 * A child increments one session through the engine, forever: it reads n, sets a value made
 * from n + 1 (a number and a padding whose length depends on it, so a torn write cannot look
 * whole) and, once botsession_commit returns OK, acknowledges n + 1 through a pipe. The parent
 * SIGKILLs it after a random delay, reopens the store and checks that the stored value is
 * exactly value(m) for m the last acknowledged number or the one after it (a commit that landed
 * before its acknowledgement): no acknowledged commit lost, no torn or foreign value. KILLS
 * rounds; the run fails if no commit was acknowledged at all. Only the public header is used.
 */
#define _GNU_SOURCE
#include <botsession.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define UPDATE "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"text\":\"+1\"," \
               "\"chat\":{\"id\":-100777,\"type\":\"group\"}}}"
#define KEY "-100777"

static void fail(const char *what, long detail) {
    fprintf(stderr, "crash_kill: %s (%ld); botsession_last_error(): %s\n", what, detail, botsession_last_error());
    exit(1);
}

/* The value committed for number n: {"n":n,"pad":"xxx..."} with (n * 37) % 3000 x's. */
static char *value_of(long n) {
    size_t pad = (size_t)(n * 37) % 3000;
    char *s = malloc(pad + 64);
    int len = sprintf(s, "{\"n\":%ld,\"pad\":\"", n);
    memset(s + len, 'x', pad);
    strcpy(s + len + pad, "\"}");
    return s;
}

static void child(const char *uri, int ack) {
    botsession_store *s;
    botsession_engine *e;
    if (botsession_store_open(uri, NULL, &s) || botsession_engine_new(NULL, &e) || botsession_engine_set_store(e, NULL, s))
        _exit(3);
    botsession_store_close(s);
    for (;;) {
        botsession_update *u;
        char *json;
        if (botsession_begin(e, UPDATE, &u) != BOTSESSION_OK) _exit(4);
        if (botsession_get(u, NULL, &json) != BOTSESSION_OK) _exit(5);
        long next = json ? atol(json + 5) + 1 : 1;   /* json is {"n":N,... */
        botsession_free(json);
        char *v = value_of(next);
        if (botsession_set(u, NULL, v) != BOTSESSION_OK) _exit(6);
        free(v);
        int rc = botsession_commit(u);
        if (rc == BOTSESSION_CONFLICT) continue;     /* no other writer, but retrying is the contract */
        if (rc != BOTSESSION_OK) _exit(7);
        if (write(ack, &next, sizeof next) != sizeof next) _exit(8);
    }
}

/* What the store holds now, as a number, checked against value(); 0 when absent. */
static long stored_number(const char *uri) {
    botsession_store *s;
    char *json;
    if (botsession_store_open(uri, NULL, &s) != BOTSESSION_OK) fail("reopening the store failed", 0);
    int rc = botsession_store_read(s, KEY, &json);
    if (rc != BOTSESSION_OK) fail("reading the session after a kill failed (torn or corrupt?)", rc);
    botsession_store_close(s);
    if (!json) return 0;
    long n = strncmp(json, "{\"n\":", 5) == 0 ? atol(json + 5) : -1;
    char *expected = n > 0 ? value_of(n) : NULL;
    if (!expected || strcmp(json, expected) != 0) {
        fprintf(stderr, "crash_kill: the store holds a value nobody wrote (torn?): %.200s\n", json);
        exit(1);
    }
    free(expected);
    botsession_free(json);
    return n;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: crash_kill sqlite:PATH|file:DIR KILLS\n"); return 2; }
    const char *uri = argv[1];
    int kills = atoi(argv[2]);
    unsigned seed = getenv("CRASH_SEED") ? (unsigned)atol(getenv("CRASH_SEED")) : (unsigned)time(NULL) ^ (unsigned)getpid();
    srand(seed);
    long acked = stored_number(uri), total_acks = 0, landed_early = 0;
    for (int round = 0; round < kills; round++) {
        int fds[2];
        if (pipe(fds)) fail("pipe", errno);
        pid_t pid = fork();
        if (pid < 0) fail("fork", errno);
        if (pid == 0) { close(fds[0]); child(uri, fds[1]); }
        close(fds[1]);
        /* 0-40 ms: some kills land while the child opens the store, most in commits. */
        usleep((useconds_t)(rand() % 40000));
        kill(pid, SIGKILL);
        int status;
        if (waitpid(pid, &status, 0) != pid) fail("waitpid", errno);
        if (!WIFSIGNALED(status)) fail("the child stopped by itself with status", WEXITSTATUS(status));
        long n;
        while (read(fds[0], &n, sizeof n) == sizeof n) {
            if (n != acked + 1) fail("an acknowledgement out of sequence", n);
            acked = n;
            total_acks++;
        }
        close(fds[0]);
        long now = stored_number(uri);
        if (now != acked && now != acked + 1) {
            fprintf(stderr, "crash_kill: round %d: the store holds %ld, the last acknowledged commit was %ld (seed %u)\n",
                    round, now, acked, seed);
            return 1;
        }
        if (now == acked + 1) { landed_early++; acked = now; }
    }
    if (total_acks == 0) fail("no commit was acknowledged in any round; the test proved nothing", kills);
    printf("  crash_kill %s: %d kills, %ld acknowledged commits all present, %ld landed before their "
           "acknowledgement, no torn value (CRASH_SEED=%u)\n", uri, kills, total_acks, landed_early, seed);
    return 0;
}
