"""Chat migration from Python: the engine option, engine.migrate_chat / amigrate_chat,
Store.move, aiogram's ChatMigrationMiddleware and python-telegram-bot's migrate_chat_data, all on
real SQLite files (and the real aiogram and python-telegram-bot)."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest

from botsession import Engine, Fragment, Store
from conftest import message


def migrate_to(old: int, new: int, user: int = 7, update_id: int = 50) -> Dict[str, Any]:
    """The service message Telegram sends in the old group."""
    update = message(old, update_id=update_id, user=user)
    del update["message"]["text"]
    update["message"]["migrate_to_chat_id"] = new
    return update


def migrate_from(old: int, new: int, user: int = 7, update_id: int = 51) -> Dict[str, Any]:
    """The service message Telegram sends in the new supergroup."""
    update = message(new, update_id=update_id, user=user)
    del update["message"]["text"]
    update["message"]["chat"]["type"] = "supergroup"
    update["message"]["migrate_from_chat_id"] = old
    return update


def test_the_handler_of_the_announcement_sees_the_moved_session(sqlite_uri: str) -> None:
    store = Store.open(sqlite_uri)
    store.write("c:-5", {"pizzas": 3})
    store.write("m:7/-5", {"seen": True})
    store.write("c:-50", {"other": True})
    engine = Engine(fragments={"chat": Fragment(store=store, prefix="c:"),
                               "member": Fragment(store=store, key="user-chat", prefix="m:")},
                    follow_chat_migrations=True)
    with engine.update(migrate_to(-5, -1005)) as session:
        assert session.key("chat") == "c:-1005"
        assert session.get("chat") == {"pizzas": 3}
        assert session.get("member") == {"seen": True}
        session.set({"pizzas": 4}, "chat")
    assert store.read("c:-1005") == {"pizzas": 4}
    assert store.read("m:7/-1005") == {"seen": True}
    assert store.read("c:-5") is None and store.read("m:7/-5") is None
    assert store.read("c:-50") == {"other": True}
    # The supergroup's own announcement finds nothing left to move.
    with engine.update(migrate_from(-5, -1005)) as session:
        assert session.get("chat") == {"pizzas": 4}
    stats = engine.stats()
    assert (stats["chat_migrations"], stats["chat_migrations_skipped"]) == (1, 0)


def test_without_the_option_an_announcement_is_the_old_chats_update(sqlite_uri: str) -> None:
    store = Store.open(sqlite_uri)
    store.write("-5", {"pizzas": 3})
    engine = Engine(store)
    with engine.update(migrate_to(-5, -1005)) as session:
        assert session.key() == "-5"
        assert session.get() == {"pizzas": 3}
    assert store.read("-1005") is None


def test_migrate_chat_never_overwrites_and_counts(sqlite_uri: str) -> None:
    store = Store.open(sqlite_uri)
    store.write("-1", {"old": 1})
    store.write("-1001", {"new": 1})
    store.write("-2", {"old": 2})
    engine = Engine(store)
    engine.migrate_chat(-1, -1001)
    engine.migrate_chat(-2, -1002)
    engine.migrate_chat(-3, -1003)   # nothing to move
    assert store.read("-1") == {"old": 1} and store.read("-1001") == {"new": 1}
    assert store.read("-1002") == {"old": 2} and store.read("-2") is None
    stats = engine.stats()
    assert (stats["chat_migrations"], stats["chat_migrations_skipped"]) == (1, 1)
    with pytest.raises(TypeError, match="old_chat_id must be an int"):
        engine.migrate_chat("-1", -1001)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        engine.migrate_chat(True, -1001)
    with pytest.raises(ValueError, match="64-bit"):
        engine.migrate_chat(-1, -(1 << 70))


def test_amigrate_chat_and_async_updates(sqlite_uri: str) -> None:
    store = Store.open(sqlite_uri)
    store.write("-8", {"n": 8})
    store.write("-9", {"n": 9})
    engine = Engine(store, follow_chat_migrations=True)

    async def main() -> Any:
        await engine.amigrate_chat(-8, -1008)
        async with engine.update(migrate_from(-9, -1009)) as session:
            return session.get()

    assert asyncio.run(main()) == {"n": 9}
    assert store.read("-1008") == {"n": 8} and store.read("-1009") == {"n": 9}
    assert store.read("-8") is None and store.read("-9") is None


def test_store_move(sqlite_uri: str) -> None:
    store = Store.open(sqlite_uri)
    store.write("a", [1])
    assert store.move("a", "b") is True
    assert store.read("b") == [1] and store.read("a") is None
    assert store.move("a", "b") is False          # nothing under a
    store.write("c", [2])
    assert store.move("c", "b") is False          # b keeps its value
    assert store.read("b") == [1] and store.read("c") == [2]


def test_aiogram_middleware_moves_state_and_data(sqlite_uri: str) -> None:
    pytest.importorskip("aiogram")
    from aiogram import Bot, Dispatcher, F
    from aiogram.fsm.context import FSMContext
    from aiogram.fsm.storage.base import StorageKey
    from aiogram.fsm.strategy import FSMStrategy
    from aiogram.types import Message, Update

    from botsession.contrib.aiogram import BotSessionStorage, ChatMigrationMiddleware
    from botsession.contrib.offline import AiogramOfflineSession

    async def main(strategy: FSMStrategy) -> List[str]:
        session = AiogramOfflineSession()
        bot = Bot("42:TEST", session=session)
        storage = BotSessionStorage(Store.open(sqlite_uri))
        dp = Dispatcher(storage=storage, fsm_strategy=strategy)
        dp.message.outer_middleware(ChatMigrationMiddleware(storage))

        @dp.message(F.migrate_to_chat_id)
        async def moved(msg: Message, state: FSMContext, raw_state: Any) -> None:
            data = await state.get_data()
            await msg.answer(f"{state.key.chat_id}: {raw_state} {data}")

        @dp.message(F.text)
        async def pizza(msg: Message, state: FSMContext) -> None:
            data = await state.update_data(pizzas=(await state.get_data()).get("pizzas", 0) + 1)
            await state.set_state("eating")
            await msg.answer(f"pizzas: {data['pizzas']}")

        async def feed(update: Dict[str, Any]) -> None:
            await dp.feed_update(bot, Update.model_validate(update, context={"bot": bot}))

        await feed(message(-5, "🍕", user=7, update_id=1))
        await feed(message(-5, "🍕", user=8, update_id=2))
        await feed(migrate_to(-5, -1005, user=7))
        await feed(migrate_from(-5, -1005, user=7))
        await feed(message(-1005, "🍕", user=7, update_id=3))
        user = 7 if strategy == FSMStrategy.USER_IN_CHAT else -1005
        assert await storage.get_state(StorageKey(bot_id=bot.id, chat_id=-1005, user_id=user)) == "eating"
        keys = sorted(storage.store.keys())
        await storage.close()
        return session.sent + keys

    assert asyncio.run(main(FSMStrategy.USER_IN_CHAT)) == [
        "pizzas: 1", "pizzas: 1", "-1005: eating {'pizzas': 1}", "pizzas: 2",
        "fsm:42:-1005:7:default:data", "fsm:42:-1005:7:default:state",
        "fsm:42:-1005:8:default:data", "fsm:42:-1005:8:default:state",
    ]
    emptied = Store.open(sqlite_uri)
    for key in list(emptied.keys()):
        emptied.delete(key)
    emptied.close()
    # FSMStrategy.CHAT: the user part of the key is the chat id too, and moves with it.
    assert asyncio.run(main(FSMStrategy.CHAT)) == [
        "pizzas: 1", "pizzas: 2", "-1005: eating {'pizzas': 2}", "pizzas: 3",
        "fsm:42:-1005:-1005:default:data", "fsm:42:-1005:-1005:default:state",
    ]


def test_aiogram_migrate_chat_needs_the_default_key_layout(sqlite_uri: str) -> None:
    pytest.importorskip("aiogram")
    from aiogram.fsm.storage.base import DefaultKeyBuilder, KeyBuilder

    from botsession.contrib.aiogram import BotSessionStorage

    class Custom(KeyBuilder):
        def build(self, key: Any, part: Any = None) -> str:
            return f"{key.chat_id}-{part}"

    async def main() -> None:
        storage = BotSessionStorage(Store.open(sqlite_uri), key_builder=Custom())
        with pytest.raises(TypeError, match="DefaultKeyBuilder"):
            await storage.migrate_chat(-1, -2)
        await storage.close()
        storage = BotSessionStorage(Store.open(sqlite_uri), key_builder=DefaultKeyBuilder(with_bot_id=True))
        with pytest.raises(TypeError, match="bot_id"):
            await storage.migrate_chat(-1, -2)
        await storage.close()

    asyncio.run(main())


def test_ptb_migrate_chat_data_moves_the_stored_chat_data(sqlite_uri: str) -> None:
    pytest.importorskip("telegram")
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    from botsession.contrib.offline import PTBOfflineRequest
    from botsession.contrib.ptb import BotSessionPersistence

    sent: List[str] = []
    store = Store.open(sqlite_uri)
    app = (Application.builder().token("42:TEST").request(PTBOfflineRequest(sent))
           .get_updates_request(PTBOfflineRequest(sent)).persistence(BotSessionPersistence(store)).updater(None).build())

    async def pizza(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        context.chat_data["pizzas"] = context.chat_data.get("pizzas", 0) + 1

    async def migrate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # The handler python-telegram-bot's docs recommend (Application.migrate_chat_data).
        context.application.migrate_chat_data(message=update.message)

    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, migrate))
    app.add_handler(MessageHandler(filters.TEXT, pizza))

    async def main() -> None:
        await app.initialize()
        for update in (message(-5, "🍕", update_id=1), message(-5, "🍕", update_id=2), migrate_to(-5, -1005)):
            await app.process_update(Update.de_json(update, app.bot))
        await app.update_persistence()
        await app.shutdown()

    asyncio.run(main())
    chat_keys = sorted(k for k in Store.open(sqlite_uri).keys() if "chat_data" in k)
    assert len(chat_keys) == 1 and chat_keys[0].endswith("-1005")
    assert Store.open(sqlite_uri).read(chat_keys[0]) == {"pizzas": 2}
