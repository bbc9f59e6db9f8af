/* The PostgreSQL store against a real server (scripts/with-postgres.sh starts one): the table
 * grammY's adapter uses, rows written by other clients, a server restart in the middle of
 * work, an unreachable server, passwords kept out of messages, options. */
#include "check.h"
#include <libpq-fe.h>
#include <pthread.h>
#include <time.h>

static const char *uri;

static void quiet(void *arg, const char *message) { (void)arg; (void)message; }

static PGconn *other_client(void) {
    PGconn *conn = PQconnectdb(uri);
    if (PQstatus(conn) != CONNECTION_OK) FAIL("psql client: %s", PQerrorMessage(conn));
    PQsetNoticeProcessor(conn, quiet, NULL);
    return conn;
}

static void sql(PGconn *conn, const char *statement) {
    PGresult *result = PQexec(conn, statement);
    if (PQresultStatus(result) != PGRES_COMMAND_OK && PQresultStatus(result) != PGRES_TUPLES_OK)
        FAIL("%s: %s", statement, PQerrorMessage(conn));
    PQclear(result);
}

static char *sql_value(PGconn *conn, const char *statement) {
    static char value[512];
    PGresult *result = PQexec(conn, statement);
    if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) != 1) FAIL("%s: %s", statement, PQerrorMessage(conn));
    snprintf(value, sizeof value, "%s", PQgetvalue(result, 0, 0));
    PQclear(result);
    return value;
}

static void control(const char *action) {
    char command[1024];
    snprintf(command, sizeof command, "%s %s", getenv("BOTSESSION_TEST_POSTGRES_CONTROL"), action);
    if (system(command) != 0) FAIL("%s failed", command);
}

static const char *update = "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":0,\"chat\":{\"id\":88,\"type\":\"private\"}}}";

static void test_grammy_table(void) {
    botsession_store *s;
    char *json;
    PGconn *conn = other_client();
    sql(conn, "DROP TABLE IF EXISTS grammy_sessions");
    /* The table exactly as grammY's PostgreSQL adapter creates it, with a row it wrote. */
    sql(conn, "CREATE TABLE grammy_sessions (\"key\" VARCHAR NOT NULL, \"value\" TEXT)");
    sql(conn, "CREATE UNIQUE INDEX IDX_grammy_sessions ON grammy_sessions (\"key\")");
    sql(conn, "INSERT INTO grammy_sessions (key, value) VALUES ('-100123', '{\"pizzaCount\":3}')");
    sql(conn, "INSERT INTO grammy_sessions (key, value) VALUES ('null-value', NULL)");
    sql(conn, "INSERT INTO grammy_sessions (key, value) VALUES ('89', NULL)");
    CHECK_OK(botsession_store_open(uri, "{\"table\": \"grammy_sessions\"}", &s));
    CHECK_OK(botsession_store_read(s, "-100123", &json));
    CHECK_TAKE_STR(json, "{\"pizzaCount\":3}");
    /* grammY's table allows a NULL value: absent, as in every store (read, has, iteration). */
    json = (char *)1;
    CHECK_OK(botsession_store_read(s, "null-value", &json));
    CHECK(json == NULL);
    int exists = -1;
    CHECK_OK(botsession_store_has(s, "null-value", &exists));
    CHECK(exists == 0);

    /* What BotSession writes is plain JSON in value, readable by grammY (JSON.parse). */
    botsession_engine *e;
    botsession_update *u;
    CHECK_OK(botsession_engine_new("{\"initial\": {\"pizzaCount\": 0}}", &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    /* A NULL row is absent for the engine, and its initial value replaces it. */
    CHECK_OK(botsession_begin(e, "{\"message\":{\"chat\":{\"id\":89}}}", &u));
    CHECK_OK(botsession_commit(u));
    CHECK_STR(sql_value(conn, "SELECT value FROM grammy_sessions WHERE key = '89'"), "{\"pizzaCount\": 0}");
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_set(u, NULL, "{\"pizzaCount\": 1, \"big\": 12345678901234567890}"));
    CHECK_OK(botsession_commit(u));
    CHECK_STR(sql_value(conn, "SELECT value FROM grammy_sessions WHERE key = '88'"), "{\"pizzaCount\": 1, \"big\": 12345678901234567890}");
    CHECK_STR(sql_value(conn, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'grammy_sessions'"), "2");

    /* grammY's adapter writes (its upsert) between our begin and commit: CONFLICT, since xmin
     * changes with every writer. */
    CHECK_OK(botsession_begin(e, update, &u));
    CHECK_OK(botsession_set(u, NULL, "{\"pizzaCount\": 2}"));
    sql(conn, "INSERT INTO grammy_sessions (key, value) VALUES ('88', '{\"pizzaCount\":10}') ON CONFLICT (key) DO UPDATE SET value = '{\"pizzaCount\":10}'");
    CHECK_RC(botsession_commit(u), BOTSESSION_CONFLICT);
    CHECK_STR(sql_value(conn, "SELECT value FROM grammy_sessions WHERE key = '88'"), "{\"pizzaCount\":10}");

    /* Iteration in the table's key order, by prefix, across pages. */
    for (int i = 0; i < 600; i++) {
        char key[32];
        snprintf(key, sizeof key, "many:%04d", i);
        CHECK_OK(botsession_store_write(s, key, "1"));
    }
    botsession_iter *it;
    char *key;
    int count = 0;
    CHECK_OK(botsession_store_iter(s, "many:", &it));
    while (botsession_iter_next(it, &key, &json) == BOTSESSION_OK && key) {
        char expected[32];
        snprintf(expected, sizeof expected, "many:%04d", count++);
        CHECK_TAKE_STR(key, expected);
        botsession_free(json);
    }
    botsession_iter_free(it);
    CHECK(count == 600);
    botsession_engine_free(e);
    botsession_store_close(s);
    PQfinish(conn);
}

static void test_restart_in_the_middle(void) {
    botsession_store *s;
    botsession_engine *e;
    CHECK_OK(botsession_store_open(uri, "{\"table\": \"restart_sessions\"}", &s));
    CHECK_OK(botsession_engine_new("{\"initial\": 0}", &e));
    CHECK_OK(botsession_engine_set_store(e, NULL, s));
    CHECK_OK(botsession_store_delete(s, "88"));

    /* Count, restart the server (fast shutdown: connections are cut), keep counting. Every
     * increment that reported success is in the store; a failure is STORAGE, never a crash. */
    long committed = 0, failed = 0;
    for (int i = 0; i < 400; i++) {
        if (i == 150) control("restart");
        if (i == 250) control("stop");
        if (i == 300) control("start");
        int rc = increment_once(e, update);
        if (rc == BOTSESSION_OK) {
            committed++;
        } else {
            CHECK_RC(rc, BOTSESSION_STORAGE);
            CHECK_ERROR_HAS("PostgreSQL at 127.0.0.1:");
            failed++;
        }
    }
    char *json;
    CHECK_OK(botsession_store_read(s, "88", &json));
    long final = atol(json);
    botsession_free(json);
    printf("  restart: %ld increments committed, %ld failed while the server was away, final value %ld\n",
           committed, failed, final);
    CHECK(final == committed);     /* nothing lost, nothing applied twice */
    CHECK(failed == 50);           /* only the 50 updates while it was stopped failed... */
    CHECK(committed == 350);       /* ...and work went on before, after the restart, and after */
    botsession_engine_free(e);
    botsession_store_close(s);
}

/* After a restart, connections the pool kept from before are noticed dead and replaced: no
 * operation fails once the server is back, however many connections the pool holds. */
static botsession_store *pooled;
static void *read_a_while(void *arg) {
    (void)arg;
    for (int i = 0; i < 50; i++) {
        char *json;
        if (botsession_store_read(pooled, "k", &json) != BOTSESSION_OK) return (void *)1;
        botsession_free(json);
    }
    return NULL;
}

static void test_pool_after_restart(void) {
    CHECK_OK(botsession_store_open(uri, "{\"table\": \"pool_sessions\"}", &pooled));
    pthread_t threads[6];
    for (int i = 0; i < 6; i++) CHECK(pthread_create(&threads[i], NULL, read_a_while, NULL) == 0);
    for (int i = 0; i < 6; i++) {
        void *failed;
        CHECK(pthread_join(threads[i], &failed) == 0);
        CHECK(failed == NULL);
    }
    control("restart");
    for (int i = 0; i < 12; i++) {
        char *json = NULL;
        CHECK_OK(botsession_store_write(pooled, "k", "1"));
        CHECK_OK(botsession_store_read(pooled, "k", &json));
        CHECK_TAKE_STR(json, "1");
    }
    botsession_store_close(pooled);
}

static void test_unreachable_and_secrets(void) {
    botsession_store *s = (botsession_store *)1;
    /* A port nobody listens on: STORAGE quickly, and the password is not in the message. */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    CHECK_RC(botsession_store_open("postgresql://bot:s3cr3t-pa55@127.0.0.1:1/sessions", NULL, &s), BOTSESSION_STORAGE);
    clock_gettime(CLOCK_MONOTONIC, &b);
    CHECK(s == NULL);
    CHECK_ERROR_HAS("cannot connect to PostgreSQL at 127.0.0.1:1/sessions");
    CHECK(!strstr(botsession_last_error(), "s3cr3t"));
    CHECK(b.tv_sec - a.tv_sec < 10);
    /* An unroutable address: the connect timeout applies (the default is 5 s; here 2 s). */
    clock_gettime(CLOCK_MONOTONIC, &a);
    CHECK_RC(botsession_store_open("postgresql://bot:s3cr3t-pa55@10.255.255.1:5432/x", "{\"connect_timeout_s\": 2}", &s), BOTSESSION_STORAGE);
    clock_gettime(CLOCK_MONOTONIC, &b);
    CHECK(!strstr(botsession_last_error(), "s3cr3t"));
    CHECK(b.tv_sec - a.tv_sec <= 6);

    /* Options. */
    CHECK_RC(botsession_store_open(uri, "{\"table\": \"x; DROP TABLE y\"}", &s), BOTSESSION_INVALID_OPTION);
    CHECK_RC(botsession_store_open(uri, "{\"ttl_ms\": 5}", &s), BOTSESSION_INVALID_OPTION);
    CHECK_ERROR_HAS("known options are \"table\", \"connect_timeout_s\", \"statement_timeout_ms\"");
    CHECK_OK(botsession_store_open(uri, "{\"table\": \"timeout_sessions\", \"statement_timeout_ms\": 50}", &s));
    PGconn *conn = other_client();
    sql(conn, "BEGIN");
    sql(conn, "LOCK TABLE timeout_sessions IN ACCESS EXCLUSIVE MODE");
    char *json;
    CHECK_RC(botsession_store_read(s, "k", &json), BOTSESSION_STORAGE);
    CHECK_ERROR_HAS("statement_timeout_ms");
    sql(conn, "ROLLBACK");
    CHECK_OK(botsession_store_read(s, "k", &json));  /* works again at once */
    CHECK(json == NULL);
    botsession_store_close(s);
    PQfinish(conn);
}

/* The failing open's message holds none of `secrets` (NULL-terminated). */
static void check_open_hides(const char *target, const char *const *secrets) {
    botsession_store *s = (botsession_store *)1;
    int rc = botsession_store_open(target, "{\"connect_timeout_s\": 2}", &s);
    if (rc == BOTSESSION_OK) FAIL("store_open(%s) succeeded", target);
    CHECK(rc == BOTSESSION_STORAGE || rc == BOTSESSION_INVALID_OPTION);
    CHECK(s == NULL);
    CHECK(strlen(botsession_last_error()) > 20);  /* it still says something */
    for (const char *const *secret = secrets; *secret; secret++)
        if (strstr(botsession_last_error(), *secret))
            FAIL("the message for %s contains \"%s\": %s", target, *secret, botsession_last_error());
    checks_passed++;
}

/* `base` (postgresql://user@host:port/db) with `password` put in its user information as is. */
static char *with_password(const char *base, const char *password) {
    const char *start = strstr(base, "://") + 3, *at = strchr(start, '@');
    static char out[512];
    if (at)
        snprintf(out, sizeof out, "%.*s:%s%s", (int)(at - base), base, password, at);
    else
        snprintf(out, sizeof out, "%.*spostgres:%s@%s", (int)(start - base), base, password, start);
    return out;
}

/* No part of the user information, and no password, in any message: unencoded '/', '@' and ':'
 * in a password make libpq read parts of it as host, port or database, and it quotes them. */
static void test_user_information_never_shown(void) {
    const char *sup3r[] = {"Sup3r", "Secret", NULL};
    const char *pass[] = {"p@ss", "w0rd", NULL};
    const char *hunter[] = {"Hunter2x", NULL};
    check_open_hides("postgresql://alice:Sup3r/Secret@127.0.0.1:1/db", sup3r);
    check_open_hides("postgresql://alice:p@ss:w0rd@127.0.0.1:1/db", pass);
    check_open_hides("postgresql://alice@127.0.0.1:1/db?password=Hunter2x", hunter);
    check_open_hides("postgresql://alice@127.0.0.1:1/db?sslmode=disable&password=Hunter%32x", hunter);
    check_open_hides("host=127.0.0.1 port=1 password=Hunter2x", hunter);
    check_open_hides("host=127.0.0.1 port=1 password='Hunter2x'", hunter);
    CHECK_ERROR_HAS("key=value connection string");
    check_open_hides("postgresql://alice:Sup3r%2FSecret@127.0.0.1:1/db", sup3r);
    /* The real server, with the same passwords in its URI. */
    check_open_hides(with_password(uri, "Sup3r/Secret"), sup3r);
    check_open_hides(with_password(uri, "p@ss:w0rd"), pass);
    /* A password the server does not need (trust): the store works, and its failures do not
     * show the password either. */
    char target[600];
    snprintf(target, sizeof target, "%s%cpassword=Hunter2x", uri, strchr(uri, '?') ? '&' : '?');
    botsession_store *s;
    CHECK_OK(botsession_store_open(target, "{\"table\": \"secret_sessions\", \"statement_timeout_ms\": 50}", &s));
    CHECK_OK(botsession_store_write(s, "k", "1"));
    PGconn *conn = other_client();
    sql(conn, "BEGIN");
    sql(conn, "LOCK TABLE secret_sessions IN ACCESS EXCLUSIVE MODE");
    char *json;
    CHECK_RC(botsession_store_read(s, "k", &json), BOTSESSION_STORAGE);
    CHECK_ERROR_HAS("PostgreSQL at ");
    CHECK(!strstr(botsession_last_error(), "Hunter2x"));
    sql(conn, "ROLLBACK");
    PQfinish(conn);
    botsession_store_close(s);
    /* A location that holds text of the user information (here, an '@' in the query makes
     * everything before it count as such) is replaced by a neutral text, and the store works. */
    snprintf(target, sizeof target, "%s%capplication_name=bot@x", uri, strchr(uri, '?') ? '&' : '?');
    CHECK_OK(botsession_store_open(target, "{\"table\": \"secret_sessions\", \"statement_timeout_ms\": 50}", &s));
    conn = other_client();
    sql(conn, "BEGIN");
    sql(conn, "LOCK TABLE secret_sessions IN ACCESS EXCLUSIVE MODE");
    CHECK_RC(botsession_store_read(s, "k", &json), BOTSESSION_STORAGE);
    CHECK_ERROR_HAS("PostgreSQL at a server whose address is not shown");
    CHECK(!strstr(botsession_last_error(), "127.0.0.1"));
    sql(conn, "ROLLBACK");
    PQfinish(conn);
    CHECK_OK(botsession_store_read(s, "k", &json));
    CHECK_TAKE_STR(json, "1");
    botsession_store_close(s);
}

int main(void) {
    uri = postgres_test_uri("test_postgres");
    if (!uri) return 0;
    test_grammy_table();
    test_restart_in_the_middle();
    test_pool_after_restart();
    test_unreachable_and_secrets();
    test_user_information_never_shown();
    report_passed("test_postgres");
    return 0;
}
