"""The pizza counter as a python-telegram-bot (v22) bot whose persistence is a BotSession SQLite
store.

    python examples/ptb_bot.py [DB]                # replays examples/updates.jsonl offline
    BOT_TOKEN=123:ABC python examples/ptb_bot.py   # runs for real, with long polling

The switch to BotSession is one line: .persistence(BotSessionPersistence(store)).
"""
import asyncio
import json
import os
import sys
from pathlib import Path

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from botsession import Store
from botsession.contrib.offline import PTBOfflineRequest
from botsession.contrib.ptb import BotSessionPersistence

UPDATES = Path(__file__).with_name("updates.jsonl")


async def pizza(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    context.chat_data["pizzaCount"] = context.chat_data.get("pizzaCount", 0) + 1


async def hunger(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(f"Your hunger level is {context.chat_data.get('pizzaCount', 0)}!")


def build(store: Store, token: str, request=None) -> Application:
    builder = Application.builder().token(token).persistence(BotSessionPersistence(store))
    if request is not None:
        builder = builder.request(request).get_updates_request(request).updater(None)
    app = builder.build()
    app.add_handler(MessageHandler(filters.Regex("🍕"), pizza))
    app.add_handler(CommandHandler("hunger", hunger))
    return app


async def replay(store: Store) -> None:
    request = PTBOfflineRequest()
    app = build(store, "42:TEST", request)
    await app.initialize()
    for line in UPDATES.read_text(encoding="utf-8").splitlines():
        await app.process_update(Update.de_json(json.loads(line), app.bot))
    await app.shutdown()  # hands chat_data to the persistence
    for reply in request.sent:
        print("->", reply)
    total = sum(value.get("pizzaCount", 0) for _, value in store.items("ptb:chat_data:"))
    print(f"replies: {len(request.sent)}; pizzas counted in the store: {total}")


def main() -> None:
    store = Store.open(f"sqlite:{sys.argv[1] if len(sys.argv) > 1 else 'ptb_sessions.db'}")
    token = os.environ.get("BOT_TOKEN")
    if token:
        build(store, token).run_polling()
    else:
        asyncio.run(replay(store))
    store.close()


if __name__ == "__main__":
    main()
