"""BotSessionPersistence runs its store calls in its own worker threads, never on the event loop:
a store whose calls wait for something another task of the same loop does would deadlock (until
its timeout) if they ran on the loop."""
from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import pytest

pytest.importorskip("telegram")

from botsession import CallbackError, InvalidOptionError, Store  # noqa: E402
from botsession.contrib.ptb import BotSessionPersistence  # noqa: E402

WAIT_S = 5.0


class GatedStore:
    """A custom store whose every call waits until ``gate`` is set (at most WAIT_S seconds,
    then it fails) and notes the thread it ran in."""

    def __init__(self, data: Dict[str, str]) -> None:
        self.data = dict(data)
        self.gate = threading.Event()
        self.calls: List[Tuple[str, str]] = []

    def _wait(self, what: str) -> None:
        self.calls.append((what, threading.current_thread().name))
        if not self.gate.wait(WAIT_S):
            raise TimeoutError(f"{what}: the gate never opened (the call blocked the event loop)")

    def read(self, key: str) -> Optional[str]:
        self._wait("read")
        return self.data.get(key)

    def write(self, key: str, value: str) -> None:
        self._wait("write")
        self.data[key] = value

    def delete(self, key: str) -> None:
        self._wait("delete")
        self.data.pop(key, None)

    def keys(self, prefix: str) -> List[str]:
        self._wait("keys")
        return [key for key in self.data if key.startswith(prefix)]


PRESET = {
    "ptb:user_data:7": '{"seen":true}',
    "ptb:chat_data:-100": '{"pizzas":2}',
    "ptb:bot_data": '{"total":2}',
    "ptb:conversation:order": '{"[-100, 7]":1}',
    "ptb:callback_data": '[[["kb",1.5,{"b":"x"}]],{"b":"kb"}]',
}

Call = Callable[[BotSessionPersistence], Awaitable[Any]]
CALLS: Dict[str, Tuple[Call, Any]] = {
    "get_user_data": (lambda p: p.get_user_data(), {7: {"seen": True}}),
    "get_chat_data": (lambda p: p.get_chat_data(), {-100: {"pizzas": 2}}),
    "get_bot_data": (lambda p: p.get_bot_data(), {"total": 2}),
    "get_conversations": (lambda p: p.get_conversations("order"), {(-100, 7): 1}),
    "get_callback_data": (lambda p: p.get_callback_data(), ([("kb", 1.5, {"b": "x"})], {"b": "kb"})),
    "update_chat_data": (lambda p: p.update_chat_data(-100, {"pizzas": 3}), None),
    "update_user_data": (lambda p: p.update_user_data(7, {"seen": False}), None),
    "update_bot_data": (lambda p: p.update_bot_data({"total": 3}), None),
    "update_callback_data": (lambda p: p.update_callback_data(([("kb", 2.5, {"b": "y"})], {"b": "kb"})), None),
    "update_conversation": (lambda p: p.update_conversation("order", (-100, 7), None), None),
    "drop_chat_data": (lambda p: p.drop_chat_data(-100), None),
    "drop_user_data": (lambda p: p.drop_user_data(7), None),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_store_calls_run_in_worker_threads(name: str) -> None:
    call, expected = CALLS[name]
    gated = GatedStore(PRESET)

    async def main() -> Any:
        persistence = BotSessionPersistence(Store.custom(gated))

        async def open_gate() -> None:
            await asyncio.sleep(0.05)
            gated.gate.set()

        opener = asyncio.create_task(open_gate())
        started = time.monotonic()
        result = await call(persistence)
        elapsed = time.monotonic() - started
        await opener
        await persistence.flush()
        return result, elapsed

    result, elapsed = asyncio.run(main())
    assert result == expected
    assert elapsed < WAIT_S / 2
    assert gated.calls, "the call reached the store"
    loop_thread = threading.current_thread().name
    assert all(thread != loop_thread and thread.startswith("botsession-ptb") for _, thread in gated.calls), gated.calls


def test_a_slow_store_call_leaves_the_loop_free() -> None:
    """While one persistence call waits for its store, other tasks of the loop keep running."""
    gated = GatedStore(PRESET)

    async def main() -> List[int]:
        persistence = BotSessionPersistence(Store.custom(gated))
        ticks: List[int] = []

        async def ticker() -> None:
            for tick in range(5):
                ticks.append(tick)
                await asyncio.sleep(0.01)
            gated.gate.set()

        data, _ = await asyncio.gather(persistence.get_chat_data(), ticker())
        assert data == {-100: {"pizzas": 2}}
        return ticks

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]


def test_a_failing_store_call_raises_in_the_awaiting_task() -> None:
    gated = GatedStore(PRESET)

    def broken(key: str) -> Optional[str]:
        raise OSError("the disk is gone")

    gated.read = broken  # type: ignore[method-assign]
    with pytest.raises(CallbackError) as caught:
        asyncio.run(BotSessionPersistence(Store.custom(gated)).get_bot_data())
    assert isinstance(caught.value.__cause__, OSError)


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "8"])
def test_io_threads_must_be_a_whole_positive_number(threads: Any) -> None:
    with pytest.raises(InvalidOptionError):
        BotSessionPersistence(Store.open("memory:"), io_threads=threads)


def test_the_persistence_works_again_after_flush() -> None:
    """Application.shutdown calls flush; an application initialised again uses the persistence
    again."""
    async def main() -> None:
        persistence = BotSessionPersistence(Store.open("memory:"), io_threads=1)
        await persistence.update_chat_data(1, {"a": 1})
        await persistence.flush()
        assert await persistence.get_chat_data() == {1: {"a": 1}}
        await persistence.flush()

    asyncio.run(main())


def test_concurrent_conversation_updates_of_one_handler_lose_nothing() -> None:
    """PTB gathers the update_conversation calls of a persistence run; they change one record
    per handler, from several worker threads."""
    async def main() -> None:
        persistence = BotSessionPersistence(Store.open("memory:"), io_threads=8)
        await asyncio.gather(*(persistence.update_conversation("order", (chat, 7), chat % 3) for chat in range(60)))
        assert await persistence.get_conversations("order") == {(chat, 7): chat % 3 for chat in range(60)}
        await asyncio.gather(*(persistence.update_conversation("order", (chat, 7), None) for chat in range(0, 60, 2)))
        assert await persistence.get_conversations("order") == {(chat, 7): chat % 3 for chat in range(1, 60, 2)}
        await persistence.flush()

    asyncio.run(main())
