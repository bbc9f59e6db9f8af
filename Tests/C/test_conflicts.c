/* Compare-and-set commits (SPEC §8): a session read by an update and changed by another writer
 * before the update commits is not overwritten: the commit fails with CONFLICT and writes
 * nothing, and running the handler again succeeds. Another writer is simulated with a direct
 * store write between begin and commit (direct writes take no key lock). Runs on every store
 * that processes can share: SQLite, the file store, PostgreSQL (when BOTSESSION_TEST_POSTGRES_URI
 * names a server), and each of them enhanced. */
#include "check.h"

static const char *update =
    "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"chat\":{\"id\":31,\"type\":\"private\"}}}";

static botsession_engine *engine_on(botsession_store *s, const char *options) {
    botsession_engine *e;
    CHECK_OK(botsession_engine_new(options, &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    return e;
}

/* The C retry loop the README shows: run the handler again while begin or commit reports
 * CONFLICT. On the first attempt, another writer stores `meanwhile` in `s` between the
 * handler's read and its commit. */
static int increment(botsession_engine *e, botsession_store *s, const char *meanwhile, int attempts, int *conflicts) {
    for (int attempt = 1; attempt <= attempts; attempt++) {
        botsession_update *u;
        char *json = NULL, next[32];
        int rc = botsession_begin(e, update, &u);
        if (rc == BOTSESSION_OK) {
            CHECK_OK(botsession_get(u, NULL, &json));
            snprintf(next, sizeof next, "%d", json ? atoi(json) + 1 : 1);
            botsession_free(json);
            CHECK_OK(botsession_set(u, NULL, next));
            if (attempt == 1) CHECK_OK(botsession_store_write(s, "31", meanwhile));
            rc = botsession_commit(u);
        }
        if (rc != BOTSESSION_CONFLICT) return rc;
        (*conflicts)++;
    }
    return BOTSESSION_CONFLICT;
}

static void conflicts_on(botsession_store *s, const char *name) {
    botsession_engine *e = engine_on(s, NULL);
    botsession_update *u;
    char *json;
    printf("  %s\n", name);
    botsession_store_delete(s, "31");

    /* Read absent, another writer creates the key, commit: CONFLICT, the other write stays. */
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_set(u, NULL, "1"));
    CHECK_OK(botsession_store_write(s, "31", "100"));
    CHECK_RC(botsession_commit(u), BOTSESSION_CONFLICT);
    CHECK_ERROR_HAS("another writer changed key '31'");
    CHECK_ERROR_HAS("run the handler again");
    CHECK_OK(botsession_store_read(s, "31", &json));
    CHECK_TAKE_STR(json, "100");

    /* Read a value, another writer changes it, commit: CONFLICT. */
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_set(u, NULL, "101"));
    CHECK_OK(botsession_store_write(s, "31", "200"));
    CHECK_RC(botsession_commit(u), BOTSESSION_CONFLICT);
    CHECK_OK(botsession_store_read(s, "31", &json));
    CHECK_TAKE_STR(json, "200");

    /* A delete of a value changed meanwhile: CONFLICT, the value stays. */
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_set(u, NULL, NULL));
    CHECK_OK(botsession_store_write(s, "31", "300"));
    CHECK_RC(botsession_commit(u), BOTSESSION_CONFLICT);
    CHECK_OK(botsession_store_read(s, "31", &json));
    CHECK_TAKE_STR(json, "300");

    /* Nothing changed meanwhile: the commit applies. */
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_set(u, NULL, "301"));
    CHECK_OK(botsession_commit(u));
    CHECK_OK(botsession_store_read(s, "31", &json));
    CHECK_TAKE_STR(json, "301");

    /* The retry loop: the first attempt conflicts, the second applies on the new value. */
    int conflicts = 0;
    CHECK_OK(increment(e, s, "400", 3, &conflicts));
    CHECK(conflicts == 1);
    CHECK_OK(botsession_store_read(s, "31", &json));
    CHECK_TAKE_STR(json, "401");

    /* Deleted and made again by another writer between read and commit (A-B-A): still a
     * CONFLICT, since a new row never reuses a version. */
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_set(u, NULL, "402"));
    CHECK_OK(botsession_store_delete(s, "31"));
    CHECK_OK(botsession_store_write(s, "31", "1"));
    CHECK_RC(botsession_commit(u), BOTSESSION_CONFLICT);
    CHECK_OK(botsession_store_read(s, "31", &json));
    CHECK_TAKE_STR(json, "1");
    CHECK_OK(botsession_store_write(s, "31", "401"));

    /* Housekeeping is not a conflict: an initial value that another writer beat is skipped. */
    CHECK_OK(botsession_store_delete(s, "31"));
    botsession_engine *initial = engine_on(s, "{\"initial\": 0}");
    CHECK_OK(botsession_begin(initial, update, &u));     /* absent: initial 0, to be persisted */
    CHECK_OK(botsession_store_write(s, "31", "401"));
    CHECK_OK(botsession_commit(u));                      /* skipped, not CONFLICT */
    CHECK_OK(botsession_store_read(s, "31", &json));
    CHECK_TAKE_STR(json, "401");
    botsession_engine_free(initial);
    botsession_engine_free(e);

    /* A lazy session set without being read is a blind write: no CONFLICT. */
    e = engine_on(s, "{\"lazy\": true}");
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_set(u, NULL, "500"));
    CHECK_OK(botsession_store_write(s, "31", "999"));
    CHECK_OK(botsession_commit(u));
    CHECK_OK(botsession_store_read(s, "31", &json));
    CHECK_TAKE_STR(json, "500");
    botsession_engine_free(e);

    /* Two fragments in one store: when one conflicts, neither is written (one transaction on
     * SQLite and PostgreSQL; on the file store both are checked under the folder locks before
     * either is renamed into place). */
    CHECK_OK(botsession_engine_new("{\"fragments\": {\"a\": {\"prefix\": \"a:\"}, \"b\": {\"prefix\": \"b:\"}}}", &e));
    CHECK_OK(botsession_engine_set_store(e, "a", s));
    CHECK_OK(botsession_engine_set_store(e, "b", s));
    botsession_store_delete(s, "a:31");
    botsession_store_delete(s, "b:31");
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_set(u, "a", "1"));
    CHECK_OK(botsession_set(u, "b", "2"));
    CHECK_OK(botsession_store_write(s, "b:31", "\"other\""));
    CHECK_RC(botsession_commit(u), BOTSESSION_CONFLICT);
    CHECK_ERROR_HAS("fragment 'b'");
    CHECK_OK(botsession_store_read(s, "b:31", &json));
    CHECK_TAKE_STR(json, "\"other\"");
    CHECK_OK(botsession_store_read(s, "a:31", &json));
    CHECK(json == NULL);
    botsession_free(json);
    botsession_engine_free(e);
}

int main(void) {
    make_test_dir();
    char uri[600];
    botsession_store *s, *enhanced;

    snprintf(uri, sizeof uri, "sqlite:%s/cas.db", test_dir);
    CHECK_OK(botsession_store_open(uri, NULL, &s));
    conflicts_on(s, "sqlite:FILE");
    CHECK_OK(botsession_store_enhance(s, "{\"ttl_ms\": 60000}", &enhanced));
    conflicts_on(enhanced, "enhanced sqlite:FILE");
    botsession_store_close(enhanced);
    botsession_store_close(s);

    snprintf(uri, sizeof uri, "file:%s/cas-files", test_dir);
    CHECK_OK(botsession_store_open(uri, NULL, &s));
    conflicts_on(s, "file:DIR");
    CHECK_OK(botsession_store_enhance(s, NULL, &enhanced));
    conflicts_on(enhanced, "enhanced file:DIR");
    botsession_store_close(enhanced);
    botsession_store_close(s);

    const char *postgres = postgres_test_uri("test_conflicts");
    if (postgres) {
        CHECK_OK(botsession_store_open(postgres, "{\"table\": \"cas_sessions\"}", &s));
        conflicts_on(s, "postgresql");
        CHECK_OK(botsession_store_enhance(s, NULL, &enhanced));
        conflicts_on(enhanced, "enhanced postgresql");
        botsession_store_close(enhanced);
        botsession_store_close(s);
    }

    /* A memory store keeps no versions: it relies on the in-process key locks, so a direct
     * write between begin and commit is overwritten (documented). */
    CHECK_OK(botsession_store_open("memory:", NULL, &s));
    botsession_engine *e = engine_on(s, NULL);
    botsession_update *u;
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_set(u, NULL, "1"));
    CHECK_OK(botsession_store_write(s, "31", "2"));
    CHECK_OK(botsession_commit(u));
    char *json;
    CHECK_OK(botsession_store_read(s, "31", &json));
    CHECK_TAKE_STR(json, "1");
    botsession_engine_free(e);
    botsession_store_close(s);
    report_passed("test_conflicts");
    return 0;
}
