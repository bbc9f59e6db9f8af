"""The aiogram storage never blocks the event loop: every store call runs in the I/O threads of
the storage's engine (``io_threads=``), not on the loop and not in the loop's default executor.

The store here is a custom one whose calls wait for an event that another task of the same loop
sets: run on the loop, a call would hold the loop, the task could never run, and the call would
time out."""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional

import pytest

pytest.importorskip("aiogram")
from aiogram.fsm.storage.base import StorageKey  # noqa: E402

from botsession import Store  # noqa: E402
from botsession.errors import InvalidOptionError, MisuseError  # noqa: E402
from botsession.contrib.aiogram import BotSessionStorage  # noqa: E402

KEY = StorageKey(bot_id=1, chat_id=2, user_id=3)
WAIT_S = 5.0


class GatedStore:
    """A custom store whose every call waits (up to WAIT_S) for ``gate`` and notes its thread."""

    def __init__(self) -> None:
        self.data: Dict[str, str] = {}
        self.gate = threading.Event()
        self.gate.set()
        self.threads: List[str] = []

    def _wait(self) -> None:
        self.threads.append(threading.current_thread().name)
        if not self.gate.wait(WAIT_S):
            raise TimeoutError("the gate was never opened: the store call ran on the event loop")

    def read(self, key: str) -> Optional[str]:
        self._wait()
        return self.data.get(key)

    def write(self, key: str, value: str) -> None:
        self._wait()
        self.data[key] = value

    def delete(self, key: str) -> None:
        self._wait()
        self.data.pop(key, None)


async def gated(gates: GatedStore, call: Callable[[], Awaitable[Any]]) -> Any:
    """Runs ``call`` with the gate closed; a task of this loop opens it."""
    gates.gate.clear()

    async def open_gate() -> None:
        await asyncio.sleep(0.05)
        gates.gate.set()

    started = time.monotonic()
    result, _ = await asyncio.gather(call(), open_gate())
    assert time.monotonic() - started < WAIT_S / 2
    return result


@pytest.mark.parametrize("operation", ["get_data", "get_state", "update_data", "set_data", "set_state"])
def test_store_calls_leave_the_event_loop_free(operation: str) -> None:
    async def main() -> None:
        gates = GatedStore()
        storage = BotSessionStorage(Store.custom(gates))
        gates.data["fsm:1:2:3:default:data"] = '{"a": 1}'
        gates.data["fsm:1:2:3:default:state"] = '"Form:name"'
        calls = {
            "get_data": lambda: storage.get_data(KEY),
            "get_state": lambda: storage.get_state(KEY),
            "update_data": lambda: storage.update_data(KEY, {"b": 2}),
            "set_data": lambda: storage.set_data(KEY, {"c": 3}),
            "set_state": lambda: storage.set_state(KEY, "Form:age"),
        }
        expected = {"get_data": {"a": 1}, "get_state": "Form:name", "update_data": {"a": 1, "b": 2},
                    "set_data": None, "set_state": None}
        loop = asyncio.get_running_loop()
        default_executor_threads: List[str] = []
        loop.set_default_executor(_NamingExecutor(default_executor_threads))
        assert await gated(gates, calls[operation]) == expected[operation]
        # Every call ran in the engine's I/O threads, none in the loop's default executor.
        assert gates.threads and all(name.startswith("botsession-io") for name in gates.threads), gates.threads
        assert default_executor_threads == []
        await storage.close()

    asyncio.run(main())


class _NamingExecutor(concurrent.futures.ThreadPoolExecutor):
    """A default executor that notes every call it is given (and then runs it)."""

    def __init__(self, log: List[str]) -> None:
        super().__init__(1, thread_name_prefix="default-executor")
        self._log = log

    def submit(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._log.append(repr(function))
        return super().submit(function, *args, **kwargs)


def test_io_threads_bounds_the_store_calls_in_flight() -> None:
    class Slow:
        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.now = 0
            self.most = 0

        def read(self, key: str) -> Optional[str]:
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
            time.sleep(0.1)
            with self.lock:
                self.now -= 1
            return None

        def write(self, key: str, value: str) -> None:
            pass

        def delete(self, key: str) -> None:
            pass

    async def most_at_once(io_threads: int) -> int:
        slow = Slow()
        storage = BotSessionStorage(Store.custom(slow), io_threads=io_threads)
        keys = [StorageKey(bot_id=1, chat_id=i, user_id=i) for i in range(6)]
        await asyncio.gather(*(storage.get_data(key) for key in keys))
        await storage.close()
        return slow.most

    assert asyncio.run(most_at_once(1)) == 1
    assert asyncio.run(most_at_once(3)) == 3
    with pytest.raises(InvalidOptionError):
        BotSessionStorage(Store.open("memory:"), io_threads=0)


def test_offload_is_gone_and_close_is_idempotent() -> None:
    with pytest.raises(TypeError):
        BotSessionStorage(Store.open("memory:"), offload=True)  # type: ignore[call-arg]

    async def main() -> None:
        storage = BotSessionStorage(Store.open("memory:"))
        await storage.set_data(KEY, {"a": 1})
        await storage.close()
        await storage.close()
        assert storage.store.closed
        with pytest.raises(MisuseError):
            await storage.get_data(KEY)

    asyncio.run(main())
