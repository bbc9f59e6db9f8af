#!/usr/bin/env python3
"""Writes examples/updates.jsonl: a deterministic stream of realistic Telegram updates for the
demo bot. Private chats, groups, a forum supergroup with topics, a channel, inline queries,
callback queries, edits, polls, and a group that migrates to a supergroup.

Run it again only to change the stream: `python3 examples/make_updates.py > examples/updates.jsonl`.
"""
import json
import random

rng = random.Random(20261121)
update_id = 700_000_000
date = 1_763_700_000
message_ids = {}

users = [
    {"id": 1001, "is_bot": False, "first_name": "Ann", "username": "ann_eats", "language_code": "en"},
    {"id": 1002, "is_bot": False, "first_name": "Bao", "language_code": "vi"},
    {"id": 1003, "is_bot": False, "first_name": "Chiara", "last_name": "Rossi", "language_code": "it"},
    {"id": 1004, "is_bot": False, "first_name": "Dmitri", "username": "dima", "language_code": "ru"},
    {"id": 1005, "is_bot": False, "first_name": "Eve", "is_premium": True, "language_code": "en"},
]
bot = {"id": 6000000001, "is_bot": True, "first_name": "Pizza Bot", "username": "PizzaCounterBot"}
groups = [
    {"id": -4001, "type": "group", "title": "Friday pizza", "all_members_are_administrators": True},
    {"id": -4002, "type": "group", "title": "Office lunch"},
]
migrating = {"id": -4003, "type": "group", "title": "Pizza lovers"}
migrated = {"id": -1004003000123, "type": "supergroup", "title": "Pizza lovers"}
forum = {"id": -1002003004005, "type": "supergroup", "title": "Pizza makers", "is_forum": True}
channel = {"id": -1007770000001, "type": "channel", "title": "Pizza news", "username": "pizzanews"}
topics = [17, 42]

texts = ["🍕", "one more 🍕 please", "I had 🍕🍕 today", "hello", "anyone hungry?", "🍕",
         "pineapple 🍕?", "thanks", "🍕🍕🍕", "see you", "🍕 with extra cheese", "lunch?", "🍕", "ok",
         "/hunger", "/hunger@PizzaCounterBot", "/me"]


def private_chat(user):
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    for k in ("last_name", "username"):
        if k in user:
            chat[k] = user[k]
    return chat


def next_message_id(chat_id):
    message_ids[chat_id] = message_ids.get(chat_id, 0) + 1
    return message_ids[chat_id]


def message(chat, user, text, **extra):
    global date
    date += rng.randint(1, 90)
    m = {"message_id": next_message_id(chat["id"]), "from": user, "chat": chat, "date": date, "text": text}
    if text.startswith("/"):
        m["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
    m.update(extra)
    return m


def emit(kind, payload):
    global update_id
    update_id += 1
    print(json.dumps({"update_id": update_id, kind: payload}, ensure_ascii=False, separators=(",", ":")))


def chatter(n):
    for _ in range(n):
        roll = rng.random()
        user = rng.choice(users)
        text = rng.choice(texts)
        if roll < 0.35:
            emit("message", message(private_chat(user), user, text))
        elif roll < 0.60:
            emit("message", message(rng.choice(groups), user, text))
        elif roll < 0.72:
            topic = rng.choice(topics)
            emit("message", message(forum, user, text, message_thread_id=topic, is_topic_message=True))
        elif roll < 0.78:
            post = {"message_id": next_message_id(channel["id"]), "sender_chat": channel, "chat": channel,
                    "date": date, "text": rng.choice(["Today's special: 🍕 margherita", "Closed on Monday"])}
            emit("channel_post", post)
        elif roll < 0.85:
            emit("inline_query", {"id": str(rng.getrandbits(60)), "from": user,
                                  "query": rng.choice(["pi", "pizza", "🍕"]), "offset": "", "chat_type": "sender"})
        elif roll < 0.93:
            chat = private_chat(user)
            shown = {"message_id": next_message_id(chat["id"]), "from": bot, "chat": chat, "date": date,
                     "text": "Hungry?", "reply_markup": {"inline_keyboard": [[{"text": "🍕", "callback_data": "🍕"}]]}}
            emit("callback_query", {"id": str(rng.getrandbits(60)), "from": user, "message": shown,
                                    "chat_instance": str(rng.getrandbits(40)), "data": "🍕"})
        elif roll < 0.97:
            edited = message(rng.choice(groups), user, "edit: 🍕")
            edited["edit_date"] = edited["date"] + 5
            emit("edited_message", edited)
        else:
            emit("poll", {"id": str(rng.getrandbits(60)), "question": "Pizza tonight?",
                          "options": [{"persistent_id": "o1", "text": "yes", "voter_count": 3},
                                      {"persistent_id": "o2", "text": "yes!", "voter_count": 4}],
                          "total_voter_count": 7, "is_closed": False, "is_anonymous": True,
                          "type": "regular", "allows_multiple_answers": False,
                          "allows_revoting": False, "members_only": False})


chatter(140)
# The group that will migrate gets some pizza first.
for user in users[:3]:
    emit("message", message(migrating, user, "🍕"))
emit("message", message(migrating, users[0], "/hunger"))
# Telegram sends the migration twice: in the old group, then in the new supergroup.
emit("message", {"message_id": next_message_id(migrating["id"]), "from": users[0], "chat": migrating,
                 "date": date, "migrate_to_chat_id": migrated["id"]})
emit("message", {"message_id": next_message_id(migrated["id"]), "from": users[0], "chat": migrated,
                 "date": date, "migrate_from_chat_id": migrating["id"]})
emit("message", message(migrated, users[1], "🍕 in the supergroup"))
emit("message", message(migrated, users[0], "/hunger"))
chatter(140)
for user in users:
    emit("message", message(private_chat(user), user, "/hunger"))
    emit("message", message(private_chat(user), user, "/me"))
