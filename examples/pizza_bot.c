/*
 * pizza_bot.c - grammY's pizza counter, in C on BotSession.
 *
 * grammY's documentation introduces sessions with this bot:
 *
 *     bot.use(session({ initial: () => ({ pizzaCount: 0 }) }));
 *     bot.command("hunger", (ctx) => ctx.reply(`Your hunger level is ${ctx.session.pizzaCount}!`));
 *     bot.hears(/.*🍕.*\/, (ctx) => ctx.session.pizzaCount++);
 *
 * This program is the same bot. Instead of polling Telegram it replays a file of updates (one
 * JSON update per line), prints the replies it would send, and ends with a summary. Sessions are
 * per chat and live in the store given on the command line, so a second run continues where the
 * first stopped.
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

typedef struct stats {
    long updates, with_session, without_chat, replies, failures;
} stats;

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

/* The session's pizzaCount (the session is {"pizzaCount": N}). */
static long pizza_count(botsession_update *u) {
    char *json = NULL;
    long count = 0;
    if (botsession_get(u, NULL, &json) == BOTSESSION_OK && json) {
        json_t *session = json_loads(json, JSON_DECODE_ANY, NULL);
        count = (long)json_integer_value(json_object_get(session, "pizzaCount"));
        json_decref(session);
    }
    botsession_free(json);
    return count;
}

/* Chat migration: a group that becomes a supergroup gets a new chat id. Move its session to the
 * new id, unless the new chat already has one. */
static void follow_migration(botsession_store *store, json_t *message) {
    json_t *to = json_object_get(message, "migrate_to_chat_id");
    if (!json_is_integer(to)) return;
    char old_key[32], new_key[32];
    snprintf(old_key, sizeof old_key, "%lld", (long long)json_integer_value(json_object_get(json_object_get(message, "chat"), "id")));
    snprintf(new_key, sizeof new_key, "%lld", (long long)json_integer_value(to));
    char *value = NULL;
    int exists = 0;
    if (botsession_store_read(store, old_key, &value) != BOTSESSION_OK || !value ||
        botsession_store_has(store, new_key, &exists) != BOTSESSION_OK) {
        botsession_free(value);
        return;
    }
    if (exists) {
        printf("  group %s became supergroup %s, which has a session already: both kept\n", old_key, new_key);
    } else if (botsession_store_write(store, new_key, value) == BOTSESSION_OK &&
               botsession_store_delete(store, old_key) == BOTSESSION_OK) {
        printf("  group %s became supergroup %s: its session moved along\n", old_key, new_key);
    }
    botsession_free(value);
}

/* The bot's handler for one update. */
static void handle(botsession_engine *engine, botsession_store *store, const char *line, stats *st) {
    botsession_update *u;
    st->updates++;
    int rc = botsession_begin(engine, line, &u);
    if (rc != BOTSESSION_OK) {
        fprintf(stderr, "update %ld: %s: %s\n", st->updates, botsession_status_name(rc), botsession_last_error());
        st->failures++;
        return;
    }
    json_t *update = json_loads(line, 0, NULL);
    json_t *message = NULL;
    const char *text = update_text(update, &message);

    char *key = NULL;
    botsession_key(u, NULL, &key);
    if (!key) {
        /* Inline queries, polls, ...: no chat, so no session. Touching the session here would
         * fail with BOTSESSION_NO_KEY, exactly as grammY throws. */
        st->without_chat++;
        botsession_rollback(u);
        json_decref(update);
        return;
    }
    st->with_session++;

    if (text && strstr(text, PIZZA)) {
        /* bot.hears(/🍕/, ctx => ctx.session.pizzaCount++) */
        char next[64];
        snprintf(next, sizeof next, "{\"pizzaCount\":%ld}", pizza_count(u) + 1);
        botsession_set(u, NULL, next);
    } else if (text && (strcmp(text, "/hunger") == 0 || strncmp(text, "/hunger@", 8) == 0)) {
        /* bot.command("hunger", ...) */
        printf("  -> %-14s Your hunger level is %ld!\n", chat_name(message), pizza_count(u));
        st->replies++;
    }

    rc = botsession_commit(u);
    if (rc != BOTSESSION_OK) {
        fprintf(stderr, "update %ld: commit: %s: %s\n", st->updates, botsession_status_name(rc), botsession_last_error());
        st->failures++;
    } else if (message) {
        follow_migration(store, message);
    }
    botsession_free(key);
    json_decref(update);
}

/* Prints every session in the store. */
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
    botsession_store *store;
    botsession_engine *engine;
    if (botsession_store_open(argv[1], NULL, &store) != BOTSESSION_OK ||
        botsession_engine_new("{\"initial\": {\"pizzaCount\": 0}}", &engine) != BOTSESSION_OK ||
        botsession_engine_set_store(engine, NULL, store) != BOTSESSION_OK) {
        fprintf(stderr, "%s\n", botsession_last_error());
        return 1;
    }
    FILE *updates = fopen(argv[2], "r");
    if (!updates) {
        perror(argv[2]);
        return 1;
    }

    printf("BotSession %s, sessions in %s\n", botsession_version(), argv[1]);
    stats st = {0};
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    while ((length = getline(&line, &capacity, updates)) > 0) {
        if (line[length - 1] == '\n') line[length - 1] = 0;
        if (line[0]) handle(engine, store, line, &st);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    free(line);
    fclose(updates);

    double seconds = (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    printf("\nSessions now in the store:\n");
    long sessions = print_sessions(store);
    printf("\nupdates: %ld (%ld with a session, %ld without a chat), replies: %ld, failures: %ld\n",
           st.updates, st.with_session, st.without_chat, st.replies, st.failures);
    printf("sessions: %ld; %.1f ms, %.0f updates/s (replies printed included)\n", sessions, seconds * 1e3,
           st.updates / seconds);
    printf("Run it again: the counts continue where they stopped.\n");

    botsession_engine_free(engine);
    botsession_store_close(store);
    return st.failures ? 1 : 0;
}
