"""The aiogram adapter with real aiogram: updates go through the Dispatcher (feed_update) with the
offline network session; FSM state and data live in a BotSession SQLite store and survive a
restart of the bot."""
from __future__ import annotations

import asyncio
from typing import Any, List

import pytest

aiogram = pytest.importorskip("aiogram")
from aiogram import Bot, Dispatcher, F  # noqa: E402
from aiogram.filters import Command  # noqa: E402
from aiogram.fsm.context import FSMContext  # noqa: E402
from aiogram.fsm.state import State, StatesGroup  # noqa: E402
from aiogram.fsm.storage.base import StorageKey  # noqa: E402
from aiogram.types import Message, Update  # noqa: E402

from botsession import Store  # noqa: E402
from botsession.contrib.aiogram import BotSessionStorage  # noqa: E402
from botsession.contrib.offline import AiogramOfflineSession  # noqa: E402
from conftest import message  # noqa: E402


class Order(StatesGroup):
    size = State()


def make_bot(uri: str) -> "tuple[Bot, Dispatcher, Any, BotSessionStorage]":
    session = AiogramOfflineSession()
    bot = Bot("42:TEST", session=session)
    storage = BotSessionStorage(Store.open(uri))
    dp = Dispatcher(storage=storage)

    @dp.message(F.text.contains("🍕"))
    async def pizza(msg: Message, state: FSMContext) -> None:
        data = await state.update_data(pizzas=(await state.get_data()).get("pizzas", 0) + 1)
        await msg.answer(f"pizzas: {data['pizzas']}")

    @dp.message(Command("order"))
    async def order(msg: Message, state: FSMContext) -> None:
        await state.set_state(Order.size)
        await msg.answer("which size?")

    @dp.message(Order.size)
    async def size(msg: Message, state: FSMContext) -> None:
        await state.update_data(size=msg.text)
        await state.set_state(None)
        await msg.answer(f"a {msg.text} pizza it is")

    return bot, dp, session, storage


async def feed(bot: Bot, dp: Dispatcher, update: dict) -> None:
    await dp.feed_update(bot, Update.model_validate(update, context={"bot": bot}))


def test_fsm_data_and_state_survive_a_restart(sqlite_uri: str) -> None:
    async def first_run() -> List[str]:
        bot, dp, session, storage = make_bot(sqlite_uri)
        for i in range(3):
            await feed(bot, dp, message(100, "🍕", user=7, update_id=i + 1))
        await feed(bot, dp, message(100, "/order", user=7, update_id=10))
        key = StorageKey(bot_id=bot.id, chat_id=100, user_id=7)
        assert await storage.get_state(key) == Order.size.state
        await storage.close()
        return session.sent

    async def second_run() -> List[str]:
        bot, dp, session, storage = make_bot(sqlite_uri)
        await feed(bot, dp, message(100, "large", user=7, update_id=11))   # still in Order.size
        await feed(bot, dp, message(100, "🍕", user=7, update_id=12))
        key = StorageKey(bot_id=bot.id, chat_id=100, user_id=7)
        assert await storage.get_state(key) is None
        assert await storage.get_data(key) == {"pizzas": 4, "size": "large"}
        await storage.close()
        return session.sent

    assert asyncio.run(first_run()) == ["pizzas: 1", "pizzas: 2", "pizzas: 3", "which size?"]
    assert asyncio.run(second_run()) == ["a large pizza it is", "pizzas: 4"]
    # What aiogram stored is plain JSON under aiogram's key layout.
    store = Store.open(sqlite_uri)
    assert store.read("fsm:42:100:7:default:data") == {"pizzas": 4, "size": "large"}


def test_concurrent_update_data_loses_nothing(sqlite_uri: str) -> None:
    async def main() -> dict:
        # Two storages on one SQLite file, their store calls in their I/O threads: the merges of
        # one key really run at once, and a plain read-modify-write would lose fields.
        storages = [BotSessionStorage(Store.open(sqlite_uri)) for _ in range(2)]
        key = StorageKey(bot_id=1, chat_id=2, user_id=3)
        await asyncio.gather(*(storages[i % 2].update_data(key, {f"field{i}": i}) for i in range(50)))
        data = await storages[0].get_data(key)
        for storage in storages:
            await storage.close()
        return data

    assert asyncio.run(main()) == {f"field{i}": i for i in range(50)}


def test_clearing_state_and_data_deletes_them(sqlite_uri: str) -> None:
    async def main() -> list:
        storage = BotSessionStorage(Store.open(sqlite_uri), close_store=False)
        key = StorageKey(bot_id=1, chat_id=2, user_id=3)
        await storage.set_state(key, "some:state")
        await storage.set_data(key, {"a": 1})
        await storage.set_state(key, None)
        await storage.set_data(key, {})
        keys = list(storage.store.keys())
        await storage.close()
        return keys

    assert asyncio.run(main()) == []
