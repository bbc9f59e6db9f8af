/*
 * pizza_bot.c - grammY's pizza counter, in C on BotSession.
 *
 * grammY's documentation introduces sessions with this bot:
 *
 *     bot.use(session({ initial: () => ({ pizzaCount: 0 }) }));
 *     bot.command("hunger", (ctx) => ctx.reply(`Your hunger level is ${ctx.session.pizzaCount}!`));
 *     bot.hears(/.*🍕.*\/, (ctx) => ctx.session.pizzaCount++);
 *
 * This program is that bot, grown a little to show what BotSession offers:
 *   - two session fragments: "chat" (per chat, read at begin) and "user" (per user, lazy: read
 *     only when the handler asks for it, so most updates never touch it);
 *   - both in one SQLite file, so an update that changes both commits them in one transaction;
 *   - grammY's enhancer with a migration: chat sessions written by the first version of this bot
 *     ({"pizzaCount": N}) gain a "hungerChecks" counter when they are next read;
 *   - the retry loop for stores shared by several processes (SQLite, files, PostgreSQL): a
 *     commit that lost the race to another process is run again, and replies go out after it;
 *   - chat migration followed: when a group becomes a supergroup (a new chat id), the engine
 *     moves its session before the handler runs ("follow_chat_migrations"). When the
 *     supergroup has a session already (this replay run a second time), the engine keeps both,
 *     and this bot adds the group's counts to the supergroup's in the same commit.
 *
 * Instead of polling Telegram it replays a file of updates (one JSON update per line), prints
 * the replies it would send, and ends with a summary. A second run continues where the first
 * stopped.
 *
 *     pizza_bot sqlite:./sessions.db examples/updates.jsonl
 *
 * Build: cc pizza_bot.c $(pkg-config --cflags --libs botsession jansson)
 */
#define _GNU_SOURCE
#include <botsession.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PIZZA "\xF0\x9F\x8D\x95" /* 🍕 in UTF-8 */

static const char *engine_options =
    "{\"follow_chat_migrations\": true, \"fragments\": {"
    "  \"chat\": {\"initial\": {\"pizzaCount\": 0, \"hungerChecks\": 0}},"
    "  \"user\": {\"key\": \"user\", \"prefix\": \"user:\", \"lazy\": true, \"initial\": {\"pizzas\": 0}},"
    "  \"old_group\": {\"lazy\": true}"
    "}}";

typedef struct stats {
    long updates, with_session, without_chat, replies, failures, migrated, groups_moved, groups_merged;
} stats;

/* The migration to version 1 of the session format: the first version of this bot stored
 * {"pizzaCount": N}; version 1 also counts /hunger requests. Runs once per old session, when it
 * is read. */
static int migrate_to_v1(void *user_data, const char *old_json, botsession_buffer *json_out) {
    stats *st = user_data;
    json_t *session = json_loads(old_json, JSON_DECODE_ANY, NULL);
    if (!json_is_object(session)) {
        json_decref(session);
        botsession_callback_error("a chat session must be a JSON object");
        return 1;
    }
    if (!json_object_get(session, "hungerChecks")) json_object_set_new(session, "hungerChecks", json_integer(0));
    char *migrated = json_dumps(session, JSON_COMPACT);
    int rc = botsession_buffer_set(json_out, migrated, strlen(migrated));
    free(migrated);
    json_decref(session);
    st->migrated++;
    return rc;
}

/* The text a handler reacts to: a message's text or a button's callback data. */
static const char *update_text(json_t *update, json_t **message_out) {
    const char *kinds[] = {"message", "edited_message", "channel_post", "edited_channel_post"};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        json_t *message = json_object_get(update, kinds[i]);
        if (message) {
            *message_out = message;
            return json_string_value(json_object_get(message, "text"));
        }
    }
    json_t *callback = json_object_get(update, "callback_query");
    *message_out = json_object_get(callback, "message");
    return json_string_value(json_object_get(callback, "data"));
}

/* Who a reply goes to, for printing: the chat's title or the user's first name. */
static const char *chat_name(json_t *message) {
    json_t *chat = json_object_get(message, "chat");
    const char *title = json_string_value(json_object_get(chat, "title"));
    return title ? title : json_string_value(json_object_get(chat, "first_name"));
}

static int is_command(const char *text, const char *command) {
    size_t n = strlen(command);
    return text && strncmp(text, command, n) == 0 && (text[n] == 0 || text[n] == '@' || text[n] == ' ');
}

/* A fragment's session as a Jansson object (an empty object when there is none). */
static json_t *session_of(botsession_update *u, const char *fragment) {
    char *json = NULL;
    json_t *session = NULL;
    if (botsession_get(u, fragment, &json) == BOTSESSION_OK && json) session = json_loads(json, 0, NULL);
    botsession_free(json);
    return session ? session : json_object();
}

/* Replaces a fragment's session with `session` (and releases it). */
static void store_session(botsession_update *u, const char *fragment, json_t *session) {
    char *json = json_dumps(session, JSON_COMPACT);
    if (botsession_set(u, fragment, json) != BOTSESSION_OK)
        fprintf(stderr, "set %s: %s\n", fragment, botsession_last_error());
    free(json);
    json_decref(session);
}

static void add_to(json_t *session, const char *field, long amount) {
    json_object_set_new(session, field, json_integer(json_integer_value(json_object_get(session, field)) + amount));
}

/* The key of the "old_group" fragment: the old group's chat id when the update announces a
 * migration, else none. The engine moves the old group's "chat" session to the new chat id by
 * itself; this fragment lets the handler see what the engine had to leave behind, because the
 * supergroup already had a session. */
static int old_group_key(void *user_data, const char *update_json, botsession_buffer *key_out) {
    (void)user_data;
    json_t *update = json_loads(update_json, 0, NULL);
    json_t *message = json_object_get(update, "message");
    json_t *to = json_object_get(message, "migrate_to_chat_id");
    json_t *from = json_object_get(message, "migrate_from_chat_id");
    json_t *old = json_is_integer(to) ? json_object_get(json_object_get(message, "chat"), "id") : from;
    int rc = 0;
    if (json_is_integer(old)) {
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)json_integer_value(old));
        rc = botsession_buffer_set(key_out, key, strlen(key));
    }
    json_decref(update);
    return rc;
}

/* A migration announcement: the engine has moved the group's session already. If it could not
 * (the supergroup had one), add the group's counts to the supergroup's and delete the group's,
 * in this update's one commit. Returns whether it did. */
static int merge_old_group(botsession_update *u) {
    char *old_json = NULL;
    if (botsession_get(u, "old_group", &old_json) != BOTSESSION_OK || !old_json) return 0;  /* NO_KEY, or moved */
    json_t *old = json_loads(old_json, 0, NULL), *merged = session_of(u, "chat");
    add_to(merged, "pizzaCount", json_integer_value(json_object_get(old, "pizzaCount")));
    add_to(merged, "hungerChecks", json_integer_value(json_object_get(old, "hungerChecks")));
    store_session(u, "chat", merged);
    botsession_set(u, "old_group", NULL);
    json_decref(old);
    botsession_free(old_json);
    return 1;
}

/* The engine's count of chat migrations that moved a session (botsession_engine_stats). */
static long long chats_moved(botsession_engine *engine) {
    char *text = NULL;
    long long n = 0;
    if (botsession_engine_stats(engine, &text) == BOTSESSION_OK) {
        json_t *stats = json_loads(text, 0, NULL);
        n = json_integer_value(json_object_get(stats, "chat_migrations"));
        json_decref(stats);
    }
    botsession_free(text);
    return n;
}

/* The bot's handler for one update: reads and changes the sessions of `u`, and writes the reply
 * to send (if any) into `reply`. It sends nothing itself: if the commit reports a concurrent
 * writer, the handler runs again, and a reply sent by the first run would go out twice. */
static void handler(botsession_update *u, json_t *message, const char *text, char *reply, size_t size,
                    int *merged) {
    reply[0] = 0;
    *merged = merge_old_group(u);
    if (text && strstr(text, PIZZA)) {
        /* bot.hears(/🍕/, ...): one more pizza for the chat, and for the user (if any: a
         * channel post has no user, so its "user" fragment has no key and is left alone). */
        json_t *chat = session_of(u, "chat");
        add_to(chat, "pizzaCount", 1);
        store_session(u, "chat", chat);
        char *user_key = NULL;
        botsession_key(u, "user", &user_key);
        if (user_key) {
            json_t *user = session_of(u, "user");  /* the lazy fragment is read only now */
            add_to(user, "pizzas", 1);
            store_session(u, "user", user);
        }
        botsession_free(user_key);
    } else if (is_command(text, "/hunger")) {
        json_t *chat = session_of(u, "chat");
        add_to(chat, "hungerChecks", 1);
        snprintf(reply, size, "%-14s Your hunger level is %lld!", chat_name(message),
                 (long long)json_integer_value(json_object_get(chat, "pizzaCount")));
        store_session(u, "chat", chat);
    } else if (is_command(text, "/me")) {
        json_t *user = session_of(u, "user");
        const char *name = json_string_value(json_object_get(json_object_get(message, "from"), "first_name"));
        snprintf(reply, size, "%-14s %s, you ate %lld pizzas in all chats.", chat_name(message), name ? name : "you",
                 (long long)json_integer_value(json_object_get(user, "pizzas")));
        json_decref(user);
    }
}

/* One update: begin, run the handler, commit; when another process committed the same session
 * meanwhile (BOTSESSION_CONFLICT), run the handler again on what is stored now. The reply is
 * sent once the commit succeeded. */
static void handle(botsession_engine *engine, const char *line, stats *st) {
    st->updates++;
    json_t *update = json_loads(line, 0, NULL);
    json_t *message = NULL;
    const char *text = update_text(update, &message);
    char reply[256];
    int rc = BOTSESSION_CONFLICT, merged = 0;
    long long moved_before = chats_moved(engine);
    for (int attempt = 0; attempt < 5 && rc == BOTSESSION_CONFLICT; attempt++) {
        botsession_update *u;
        rc = botsession_begin(engine, line, &u);
        if (rc != BOTSESSION_OK) continue;  /* CONFLICT (an expiry race) is tried again too */
        char *chat_key = NULL;
        botsession_key(u, "chat", &chat_key);
        if (!chat_key) {
            /* Inline queries, polls, ...: no chat, so no chat session. Touching it here would
             * fail with BOTSESSION_NO_KEY, exactly as grammY throws. */
            st->without_chat++;
            botsession_rollback(u);
            json_decref(update);
            return;
        }
        botsession_free(chat_key);
        handler(u, message, text, reply, sizeof reply, &merged);
        rc = botsession_commit(u);
    }
    if (rc != BOTSESSION_OK) {
        fprintf(stderr, "update %ld: %s: %s\n", st->updates, botsession_status_name(rc), botsession_last_error());
        st->failures++;
    } else {
        st->with_session++;
        if (reply[0]) {
            printf("  -> %s\n", reply);  /* "send" the reply: after the commit, once */
            st->replies++;
        }
        json_t *to = json_object_get(message, "migrate_to_chat_id");
        if (json_is_integer(to)) {
            long long from = json_integer_value(json_object_get(json_object_get(message, "chat"), "id"));
            if (chats_moved(engine) > moved_before) {
                printf("  group %lld became supergroup %lld: its session moved along\n", from, (long long)json_integer_value(to));
                st->groups_moved++;
            } else if (merged) {
                printf("  group %lld became supergroup %lld, which had a session already: the counts were added to it\n",
                       from, (long long)json_integer_value(to));
                st->groups_merged++;
            }
        }
    }
    json_decref(update);
}

/* Prints every session in the store (through the enhancer: unwrapped, migrated). */
static long print_sessions(botsession_store *store) {
    botsession_iter *it;
    char *key, *json;
    long n = 0;
    if (botsession_store_iter(store, NULL, &it) != BOTSESSION_OK) {
        fprintf(stderr, "cannot list sessions: %s\n", botsession_last_error());
        return -1;
    }
    while (botsession_iter_next(it, &key, &json) == BOTSESSION_OK && key) {
        printf("  %-16s %s\n", key, json);
        botsession_free(key);
        botsession_free(json);
        n++;
    }
    botsession_iter_free(it);
    return n;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s STORE_URI UPDATES.jsonl\n  e.g. %s sqlite:./sessions.db examples/updates.jsonl\n", argv[0], argv[0]);
        return 2;
    }
    stats st = {0};
    botsession_store *file, *store;
    botsession_engine *engine;
    if (botsession_store_open(argv[1], NULL, &file) != BOTSESSION_OK ||
        botsession_store_enhance(file, NULL, &store) != BOTSESSION_OK ||
        botsession_store_add_migration(store, 1, migrate_to_v1, &st) != BOTSESSION_OK ||
        botsession_engine_new(engine_options, &engine) != BOTSESSION_OK ||
        botsession_engine_set_store(engine, "chat", store) != BOTSESSION_OK ||
        botsession_engine_set_store(engine, "user", store) != BOTSESSION_OK ||
        botsession_engine_set_store(engine, "old_group", store) != BOTSESSION_OK ||
        botsession_engine_set_key_fn(engine, "old_group", old_group_key, NULL) != BOTSESSION_OK) {
        fprintf(stderr, "%s\n", botsession_last_error());
        return 1;
    }
    botsession_store_close(file);  /* the enhanced store keeps it */
    FILE *updates = fopen(argv[2], "r");
    if (!updates) {
        perror(argv[2]);
        return 1;
    }

    printf("BotSession %s, sessions in %s\n", botsession_version(), argv[1]);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    while ((length = getline(&line, &capacity, updates)) > 0) {
        if (line[length - 1] == '\n') line[length - 1] = 0;
        if (line[0]) handle(engine, line, &st);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    free(line);
    fclose(updates);

    double seconds = (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    printf("\nSessions now in the store:\n");
    long sessions = print_sessions(store);
    printf("\nupdates: %ld (%ld with a chat session, %ld without a chat), replies: %ld, failures: %ld\n",
           st.updates, st.with_session, st.without_chat, st.replies, st.failures);
    printf("sessions: %ld (%ld migrated from the first version's format); groups that became supergroups: %ld moved, %ld merged;"
           " %.1f ms, %.0f updates/s\n",
           sessions, st.migrated, st.groups_moved, st.groups_merged, seconds * 1e3, st.updates / seconds);
    printf("Run it again: the counts continue where they stopped.\n");

    botsession_engine_free(engine);
    botsession_store_close(store);
    return st.failures ? 1 : 0;
}
