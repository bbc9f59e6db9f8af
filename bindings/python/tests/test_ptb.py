"""The python-telegram-bot adapter with real python-telegram-bot: updates go through
Application.process_update with the offline request layer; chat, user and bot data and a
conversation live in a BotSession SQLite store and survive a restart of the bot."""
from __future__ import annotations

import asyncio
from typing import List

import pytest

telegram = pytest.importorskip("telegram")
from telegram import Update  # noqa: E402
from telegram.ext import (Application, CommandHandler, ContextTypes, ConversationHandler,  # noqa: E402
                          MessageHandler, filters)

from botsession import Store  # noqa: E402
from botsession.contrib.offline import PTBOfflineRequest  # noqa: E402
from botsession.contrib.ptb import BotSessionPersistence  # noqa: E402
from conftest import message  # noqa: E402

ASK, DONE = range(2)


def make_app(store: Store, sent: List[str]) -> Application:
    app = (Application.builder().token("42:TEST").request(PTBOfflineRequest(sent)).get_updates_request(PTBOfflineRequest(sent))
           .persistence(BotSessionPersistence(store)).updater(None).build())

    async def pizza(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        context.chat_data["pizzas"] = context.chat_data.get("pizzas", 0) + 1
        context.user_data["seen"] = True
        context.bot_data["total"] = context.bot_data.get("total", 0) + 1
        await update.effective_message.reply_text(f"pizzas: {context.chat_data['pizzas']}")

    async def start_order(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        await update.effective_message.reply_text("which size?")
        return ASK

    async def size(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        await update.effective_message.reply_text(f"a {update.effective_message.text} pizza it is")
        return ConversationHandler.END

    app.add_handler(ConversationHandler(
        entry_points=[CommandHandler("order", start_order)],
        states={ASK: [MessageHandler(filters.TEXT & ~filters.COMMAND, size)]},
        fallbacks=[], name="order", persistent=True))
    app.add_handler(MessageHandler(filters.Regex("🍕"), pizza))
    return app


async def run(app: Application, updates: List[dict]) -> None:
    await app.initialize()
    for update in updates:
        await app.process_update(Update.de_json(update, app.bot))
    await app.shutdown()  # hands the data to the persistence


def test_data_and_conversations_survive_a_restart(sqlite_uri: str) -> None:
    sent: List[str] = []
    store = Store.open(sqlite_uri)
    asyncio.run(run(make_app(store, sent), [message(100, "🍕", update_id=1), message(100, "🍕", update_id=2),
                                           message(100, "/order", update_id=3)]))
    assert sent == ["pizzas: 1", "pizzas: 2", "which size?"]
    store.close()

    sent.clear()
    store = Store.open(sqlite_uri)   # a new process would do the same
    asyncio.run(run(make_app(store, sent), [message(100, "large", update_id=4), message(100, "🍕", update_id=5)]))
    assert sent == ["a large pizza it is", "pizzas: 3"]
    assert store.read("ptb:chat_data:100") == {"pizzas": 3}
    assert store.read("ptb:user_data:7") == {"seen": True}
    assert store.read("ptb:bot_data") == {"total": 3}
    assert store.read("ptb:conversation:order") == {}  # the conversation ended


def test_persistence_methods_directly(tmp_path) -> None:
    async def main() -> None:
        persistence = BotSessionPersistence(Store.open(f"sqlite:{tmp_path}/p.db"), prefix="bot1:")
        await persistence.update_chat_data(-100, {"a": 1})
        await persistence.update_user_data(7, {"b": 2})
        await persistence.update_conversation("c", (1, 2), 3)
        await persistence.update_callback_data(([("id", 1.5, {"x": "y"})], {"k": "v"}))
        assert await persistence.get_chat_data() == {-100: {"a": 1}}
        assert await persistence.get_user_data() == {7: {"b": 2}}
        assert await persistence.get_conversations("c") == {(1, 2): 3}
        assert await persistence.get_callback_data() == ([("id", 1.5, {"x": "y"})], {"k": "v"})
        await persistence.drop_chat_data(-100)
        await persistence.update_conversation("c", (1, 2), None)
        assert await persistence.get_chat_data() == {}
        assert await persistence.get_conversations("c") == {}

    asyncio.run(main())
