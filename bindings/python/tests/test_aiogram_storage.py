"""BotSessionStorage keeps the contract of aiogram's own storages: the same answers as aiogram's
MemoryStorage for the same calls (DataNotDictLikeError for data that is not a dict, copies that a
caller may mutate), RedisStorage's json_dumps/json_loads hooks, ``from_url`` and an events
isolation (``create_isolation``) that aiogram's Dispatcher uses. Real aiogram throughout."""
from __future__ import annotations

import asyncio
import json
import types
from typing import Any, Dict, List

import pytest

pytest.importorskip("aiogram")
from aiogram import Bot, Dispatcher, F  # noqa: E402
from aiogram.exceptions import DataNotDictLikeError  # noqa: E402
from aiogram.fsm.context import FSMContext  # noqa: E402
from aiogram.fsm.state import State, StatesGroup  # noqa: E402
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, StorageKey  # noqa: E402
from aiogram.fsm.storage.memory import MemoryStorage  # noqa: E402
from aiogram.types import Message, Update  # noqa: E402

from botsession import Store  # noqa: E402
from botsession.errors import InvalidJSONError, InvalidOptionError  # noqa: E402
from botsession.contrib.aiogram import BotSessionEventIsolation, BotSessionStorage  # noqa: E402
from botsession.contrib.offline import AiogramOfflineSession  # noqa: E402
from conftest import message  # noqa: E402

KEY = StorageKey(bot_id=1, chat_id=2, user_id=3)


class Form(StatesGroup):
    name = State()


async def contract(storage: BaseStorage) -> List[Any]:
    """What a storage answers to a sequence of calls, mutations of what it returned included."""
    seen: List[Any] = []
    seen.append(await storage.get_data(KEY))
    seen.append(await storage.update_data(KEY, {}))
    seen.append(await storage.update_data(KEY, {"a": 1}))
    seen.append(await storage.update_data(KEY, [("b", 2)]))  # type: ignore[arg-type]  # as dict.update
    returned = await storage.get_data(KEY)
    returned["mutated"] = True
    seen.append(await storage.get_data(KEY))
    merged = await storage.update_data(KEY, {"c": 3})
    merged.pop("a")
    seen.append(await storage.get_data(KEY))
    given = {"d": 4}
    await storage.set_data(KEY, given)
    given["after"] = True
    seen.append(await storage.get_data(KEY))
    for bad in ((), [("a", 1)], "text", types.MappingProxyType({"a": 1}), None, 5):
        with pytest.raises(DataNotDictLikeError):
            await storage.set_data(KEY, bad)  # type: ignore[arg-type]
    seen.append(await storage.get_data(KEY))
    seen.append(await storage.get_value(KEY, "d"))
    seen.append(await storage.get_value(KEY, "missing", "default"))
    await storage.set_data(KEY, {})
    seen.append(await storage.get_data(KEY))
    seen.append(await storage.get_state(KEY))
    await storage.set_state(KEY, Form.name)
    seen.append(await storage.get_state(KEY))
    await storage.set_state(KEY, "other:state")
    seen.append(await storage.get_state(KEY))
    await storage.set_state(KEY, None)
    seen.append(await storage.get_state(KEY))
    return seen


def test_answers_as_aiogram_memory_storage(sqlite_uri: str) -> None:
    async def main() -> None:
        expected = await contract(MemoryStorage())
        assert expected[1] == {} and expected[3] == {"a": 1, "b": 2}  # the reference itself
        for store in (Store.open("memory:"), Store.open(sqlite_uri)):
            storage = BotSessionStorage(store, close_store=False)
            assert await contract(storage) == expected
            # Empty data and no state are nothing at all in the store.
            assert list(store.keys()) == []
            await storage.close()
            store.close()

    asyncio.run(main())


def test_json_hooks_carry_the_data(sqlite_uri: str) -> None:
    calls: List[str] = []

    def dumps(value: Any) -> str:
        calls.append("dumps")
        return json.dumps({"v": 1, "data": value}, sort_keys=True)

    def loads(text: str) -> Any:
        calls.append("loads")
        return json.loads(text)["data"]

    async def main() -> None:
        store = Store.open(sqlite_uri)
        storage = BotSessionStorage(store, close_store=False, json_dumps=dumps, json_loads=loads)
        await storage.set_data(KEY, {"b": 1, "a": 2})
        assert store.read_json("fsm:1:2:3:default:data") == '{"data": {"a": 2, "b": 1}, "v": 1}'
        assert await storage.update_data(KEY, {"c": 3}) == {"a": 2, "b": 1, "c": 3}
        assert await storage.get_data(KEY) == {"a": 2, "b": 1, "c": 3}
        assert calls == ["dumps", "loads", "dumps", "loads"]
        assert store.read("fsm:1:2:3:default:data") == {"v": 1, "data": {"a": 2, "b": 1, "c": 3}}

        # bytes (orjson.dumps) are JSON text too; what is not JSON text is refused, nothing stored.
        as_bytes = BotSessionStorage(store, close_store=False, json_dumps=lambda v: json.dumps(v).encode())
        await as_bytes.set_data(KEY, {"x": "ü"})
        assert await as_bytes.get_data(KEY) == {"x": "ü"}
        for bad_dumps, error in ((lambda v: "{not json", InvalidJSONError), (lambda v: 42, TypeError)):
            bad = BotSessionStorage(store, close_store=False, json_dumps=bad_dumps)
            with pytest.raises(error):
                await bad.set_data(KEY, {"y": 1})
            with pytest.raises(error):
                await bad.update_data(KEY, {"y": 1})
            await bad.close()
        assert await as_bytes.get_data(KEY) == {"x": "ü"}
        await as_bytes.close()
        await storage.close()
        store.close()

    asyncio.run(main())


def test_from_url_opens_and_closes_its_store(tmp_path: Any) -> None:
    async def main() -> None:
        storage = BotSessionStorage.from_url(f"sqlite:{tmp_path}/fsm.db", busy_timeout_ms=2000, io_threads=2)
        await storage.update_data(KEY, {"a": 1})
        await storage.close()
        assert storage.store.closed
        again = BotSessionStorage.from_url(f"sqlite:{tmp_path}/fsm.db")
        assert await again.get_data(KEY) == {"a": 1}
        await again.close()
        with pytest.raises(InvalidOptionError):
            BotSessionStorage.from_url("memory:", no_such_option=1)

    asyncio.run(main())


def counting_bot(storage: BotSessionStorage, isolation: BaseEventIsolation | None) -> "tuple[Bot, Dispatcher]":
    bot = Bot("42:TEST", session=AiogramOfflineSession())
    dp = Dispatcher(storage=storage, **({"events_isolation": isolation} if isolation else {}))

    @dp.message(F.text == "+1")
    async def count(msg: Message, state: FSMContext) -> None:
        # A read-modify-write across an await: only isolation keeps concurrent updates of one
        # chat from losing increments.
        data = await state.get_data()
        await asyncio.sleep(0.01)
        await state.set_data({"count": data.get("count", 0) + 1})

    return bot, dp


async def feed_all(bot: Bot, dp: Dispatcher, updates: List[Dict[str, Any]]) -> None:
    await asyncio.gather(*(dp.feed_update(bot, Update.model_validate(u, context={"bot": bot})) for u in updates))


def test_isolation_serialises_the_updates_of_a_chat(sqlite_uri: str) -> None:
    async def count(isolated: bool) -> int:
        storage = BotSessionStorage(Store.open(sqlite_uri))
        isolation = storage.create_isolation() if isolated else None
        assert isolation is None or isinstance(isolation, BotSessionEventIsolation)
        bot, dp = counting_bot(storage, isolation)
        await feed_all(bot, dp, [message(100, "+1", update_id=i) for i in range(20)])
        result = (await storage.get_data(StorageKey(bot_id=42, chat_id=100, user_id=7)))["count"]
        await storage.set_data(StorageKey(bot_id=42, chat_id=100, user_id=7), {})
        await dp.storage.close()
        if isolation is not None:
            assert isolation._locks == {}  # idle keys hold no lock
            await isolation.close()
        return result

    assert asyncio.run(count(isolated=False)) < 20  # what isolation is for
    assert asyncio.run(count(isolated=True)) == 20


def test_isolation_is_per_key() -> None:
    async def main() -> None:
        storage = BotSessionStorage(Store.open("memory:"))
        isolation = storage.create_isolation()
        first, second = StorageKey(bot_id=1, chat_id=1, user_id=1), StorageKey(bot_id=1, chat_id=2, user_id=2)
        other_ran = asyncio.Event()
        order: List[str] = []

        async def holder() -> None:
            async with isolation.lock(first):
                # Another key's lock is free while this one is held.
                await asyncio.wait_for(other_ran.wait(), 5)
                order.append("first done")

        async def other() -> None:
            await asyncio.sleep(0.01)
            async with isolation.lock(second):
                order.append("second")
                other_ran.set()

        async def same() -> None:
            await asyncio.sleep(0.01)
            async with isolation.lock(first):
                order.append("first again")

        await asyncio.gather(holder(), other(), same())
        assert order == ["second", "first done", "first again"]
        assert isolation._locks == {}
        await isolation.close()
        await storage.close()

    asyncio.run(main())
