"""import_pickle moves a python-telegram-bot PicklePersistence file (one file, or one per kind of
data) into a store; BotSessionPersistence then reads what PicklePersistence reads."""
from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any, List

import pytest

pytest.importorskip("telegram")
from telegram import Update  # noqa: E402
from telegram.ext import (Application, CommandHandler, ContextTypes, ConversationHandler,  # noqa: E402
                          ExtBot, MessageHandler, PicklePersistence, filters)

from botsession import NotJSONError, Store  # noqa: E402
from botsession.contrib.offline import PTBOfflineRequest  # noqa: E402
from botsession.contrib.ptb import BotSessionPersistence, import_pickle  # noqa: E402
from conftest import message  # noqa: E402
from test_ptb_lossless import EVERYTHING, same  # noqa: E402

ASK = 0
WHEN = dt.datetime(2024, 5, 1, 12, 30, 5, 17, tzinfo=dt.timezone.utc)


def pickle_bot(persistence: Any, sent: List[str]) -> Application:
    app = (Application.builder().token("42:TEST").request(PTBOfflineRequest(sent)).get_updates_request(PTBOfflineRequest(sent))
           .persistence(persistence).updater(None).build())

    async def pizza(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        context.chat_data["pizzas"] = context.chat_data.get("pizzas", 0) + 1
        context.chat_data[update.effective_message.message_id] = (update.effective_message.text, WHEN)
        context.user_data["seen"] = {WHEN.date(), dt.date(2000, 1, 1)}
        context.bot_data.setdefault("by chat", {})[update.effective_chat.id] = context.chat_data["pizzas"]
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


async def run_app(app: Application, updates: List[dict]) -> None:
    await app.initialize()
    for update in updates:
        await app.process_update(Update.de_json(update, app.bot))
    await app.shutdown()


async def everything(persistence: Any) -> Any:
    """What each get_* returns; users and chats sorted by id (a store lists them in its own order)."""
    return (dict(sorted((await persistence.get_user_data()).items())),
            dict(sorted((await persistence.get_chat_data()).items())), await persistence.get_bot_data(),
            await persistence.get_callback_data(), await persistence.get_conversations("order"))


def test_a_pickle_file_of_a_running_bot_imports_and_the_bot_goes_on(tmp_path: Path, sqlite_uri: str) -> None:
    sent: List[str] = []
    pickled = tmp_path / "bot.pickle"
    run = asyncio.run
    run(run_app(pickle_bot(PicklePersistence(pickled), sent),
                [message(100, "🍕", update_id=1), message(-200, "🍕 🍕", user=8, update_id=2),
                 message(100, "🍕", update_id=3), message(-200, "/order", user=8, update_id=4)]))
    assert sent == ["pizzas: 1", "pizzas: 1", "pizzas: 2", "which size?"]

    store = Store.open(sqlite_uri)
    counts = import_pickle(pickled, store)
    assert counts == {"user_data": 2, "chat_data": 2, "bot_data": 1, "callback_data": 0, "conversations": 1}
    want = run(everything(PicklePersistence(pickled)))
    got = run(everything(BotSessionPersistence(store)))
    assert same(got[:3], want[:3]) and got[4] == want[4] == {(-200, 8): ASK}
    assert got[1][100][3] == ("🍕", WHEN) and got[2] == {"by chat": {100: 2, -200: 1}}

    # The same bot on the store: the counts and the open conversation go on.
    run(run_app(pickle_bot(BotSessionPersistence(store), sent),
                [message(100, "🍕", update_id=5), message(-200, "large", user=8, update_id=6)]))
    assert sent[-2:] == ["pizzas: 3", "a large pizza it is"]


def test_the_multi_file_layout_and_every_kind_of_data(tmp_path: Path) -> None:
    base = tmp_path / "bot"

    async def write() -> None:
        persistence = PicklePersistence(base, single_file=False)
        persistence.set_bot(ExtBot("42:TEST"))  # without a bot, PicklePersistence pickles None as "the bot"
        await persistence.update_user_data(7, {"all": EVERYTHING})
        await persistence.update_chat_data(-100, EVERYTHING)
        await persistence.update_chat_data(5, {"5": 5, 5: "5"})
        await persistence.update_bot_data({1: {"1": (1,)}})
        await persistence.update_callback_data(([("kb", 1.5, {"b": (1, WHEN), 3: "x"})], {"b": "kb"}))
        await persistence.update_conversation("order", (-100, 7), 1)
        await persistence.update_conversation("order", (5, 7), ("ASK", WHEN))
        await persistence.update_conversation("other", ("x",), "s")

    asyncio.run(write())
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bot_bot_data", "bot_callback_data", "bot_chat_data", "bot_conversations", "bot_user_data"]
    store = Store.open("memory:")
    counts = import_pickle(base, store, prefix="bot1:")
    assert counts == {"user_data": 1, "chat_data": 2, "bot_data": 1, "callback_data": 1, "conversations": 3}
    want = asyncio.run(everything(PicklePersistence(base, single_file=False)))
    got = asyncio.run(everything(BotSessionPersistence(store, prefix="bot1:")))
    assert same(got, want)
    assert same(got[1][5], {"5": 5, 5: "5"})
    assert asyncio.run(BotSessionPersistence(store, prefix="bot1:").get_conversations("other")) == {("x",): "s"}
    assert store.read("bot1:chat_data:5") == {"$dict": [["5", 5], [5, "5"]]}


class Pizza:
    pass


def test_an_unencodable_value_stops_the_import_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "bot.pickle"

    async def write() -> None:
        persistence = PicklePersistence(path)
        persistence.set_bot(ExtBot("42:TEST"))
        await persistence.update_user_data(7, {"a": 1})
        await persistence.update_chat_data(-100, {"order": [Pizza()]})

    asyncio.run(write())
    store = Store.open("memory:")
    store.write("ptb:user_data:7", {"kept": True})
    with pytest.raises(NotJSONError) as caught:
        import_pickle(path, store)
    assert "chat_data of chat -100" in str(caught.value) and "test_ptb_import.Pizza" in str(caught.value)
    assert list(store.items()) == [("ptb:user_data:7", {"kept": True})]


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        import_pickle(tmp_path / "nothing", Store.open("memory:"))
