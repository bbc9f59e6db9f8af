"""The asyncio API never blocks the event loop: keys are waited for on the loop (an update of a
busy chat holds no thread), store I/O runs in the engine's I/O threads, a lazy session's first
read runs there too (``await session.aget()``). Ordering, not timing: a store call that ran on
the loop would wait for an event that only another task of the same loop can set."""
from __future__ import annotations

import asyncio
import gc
import threading
from typing import Dict, List, Optional

import pytest

from botsession import BusyError, Engine, Fragment, InvalidOptionError, MisuseError, Store
from botsession._aio import gates_of
from botsession.store import describe_uri
from conftest import message


class GatedStore:
    """A custom store whose reads and writes wait (5 s at most) until ``gate`` is set, and
    which records the threads they ran in."""

    def __init__(self) -> None:
        self.values: Dict[str, str] = {}
        self.gate = threading.Event()
        self.threads: List[str] = []

    def _wait(self) -> None:
        self.threads.append(threading.current_thread().name)
        if not self.gate.wait(5):
            raise TimeoutError("the gate was never opened: this call ran on the event loop")

    def read(self, key: str) -> Optional[str]:
        self._wait()
        return self.values.get(key)

    def write(self, key: str, value: str) -> None:
        self._wait()
        self.values[key] = value

    def delete(self, key: str) -> None:
        self._wait()
        self.values.pop(key, None)


async def open_gate_soon(store: GatedStore) -> None:
    await asyncio.sleep(0)      # runs only if the loop is free
    store.gate.set()


def test_strict_read_and_commit_run_off_the_loop() -> None:
    store = GatedStore()
    engine = Engine(Store.custom(store), initial=0)

    async def main() -> None:
        opener = asyncio.ensure_future(open_gate_soon(store))
        async with engine.update(message(5)) as session:
            session.set(session.get() + 1)
            store.gate.clear()
            opener = asyncio.ensure_future(open_gate_soon(store))
        await opener

    asyncio.run(main())
    assert store.values == {"5": "1"}
    assert store.threads and all(name.startswith("botsession-io") for name in store.threads)


def test_lazy_first_read_runs_off_the_loop_with_aget() -> None:
    store = GatedStore()
    store.values["5"] = "41"
    engine = Engine(Store.custom(store), lazy=True)

    async def main() -> None:
        async with engine.update(message(5)) as session:
            assert store.threads == []          # lazy: nothing read at begin
            opener = asyncio.ensure_future(open_gate_soon(store))
            assert await session.aget() == 41
            await opener
            assert await session.aget() == 41   # read once
            session.set(42)

    asyncio.run(main())
    assert store.values["5"] == "42"
    assert len(store.threads) == 2 and all(name.startswith("botsession-io") for name in store.threads)


def test_a_blocking_lazy_read_on_the_loop_is_refused() -> None:
    store = GatedStore()
    store.gate.set()
    engine = Engine(fragments={"chat": Fragment(store=Store.custom(store), lazy=True),
                               "user": Fragment(key="user")})

    async def main() -> None:
        async with engine.update(message(5)) as session:
            with pytest.raises(MisuseError, match=r"await session\.aget"):
                session.get("chat")
            assert session.get("user") is None   # its own memory store: cannot block
            session.set({"n": 1}, "chat")         # a set needs no read
            assert session.get("chat") == {"n": 1}

    asyncio.run(main())
    assert store.values == {"5": '{"n":1}'}


def test_an_idle_chat_is_not_stalled_by_a_busy_one() -> None:
    """40 updates wait for chat 1, whose update stays open; with two I/O threads, an update of
    chat 2 still completes before chat 1's holder lets go (it would wait for a free thread, or
    time out, if waiting took threads)."""
    engine = Engine(Store.open("sqlite::memory:"), initial=0, io_threads=2, lock_timeout_ms=20_000)
    order: List[str] = []

    async def main() -> None:
        release = asyncio.Event()
        holding = asyncio.Event()

        async def holder() -> None:
            async with engine.update(message(1)) as session:
                holding.set()
                await release.wait()
                session.set(session.get() + 1)
            order.append("holder done")

        async def waiter() -> None:
            async with engine.update(message(1)) as session:
                session.set(session.get() + 1)

        first = asyncio.ensure_future(holder())
        await holding.wait()
        waiters = [asyncio.ensure_future(waiter()) for _ in range(40)]
        await asyncio.sleep(0.01)
        async with engine.update(message(2)) as session:
            session.set(session.get() + 1)
        order.append("idle chat done")
        release.set()
        await first
        await asyncio.gather(*waiters)
        assert len(gates_of(asyncio.get_running_loop())) == 0   # every key given back

    asyncio.run(main())
    assert order == ["idle chat done", "holder done"]
    assert engine.update(message(1)).begin().get() == 41


def test_waiting_is_bounded_and_cancellable() -> None:
    memory = Store.open("memory:")
    engine = Engine(memory, initial=0, lock_timeout_ms=50)

    async def main() -> None:
        async with engine.update(message(3)):
            with pytest.raises(BusyError, match="lock_timeout_ms"):
                async with engine.update(message(3)):
                    pass
            patient = Engine(memory, initial=0)   # the same store, so the same keys
            waiting = asyncio.ensure_future(patient.update(message(3)).__aenter__())
            await asyncio.sleep(0.01)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        # Nothing is held any more: the next update of the chat begins at once.
        async with engine.update(message(3)) as session:
            session.set(1)
        assert len(gates_of(asyncio.get_running_loop())) == 0

    asyncio.run(main())


def test_reprs_show_no_user_information_and_options_are_listed(tmp_path) -> None:
    assert describe_uri("postgresql://alice:Sup3r/Secret@db.example/bot") == "postgresql://***@db.example/bot"
    assert describe_uri("postgresql://bob@host/db?sslmode=require&password=Hunter2") == \
        "postgresql://***@host/db?sslmode=require&password=***"
    assert describe_uri("host=db port=5432 password='s e c' dbname=bot") == "host=db port=5432 password=*** dbname=bot"
    store = Store.open(f"sqlite:{tmp_path}/r.db")
    assert repr(store) == f"<botsession.Store sqlite:{tmp_path}/r.db>"
    enhanced = store.enhance(ttl_ms=1000)
    assert repr(enhanced) == f"<botsession.EnhancedStore enhanced sqlite:{tmp_path}/r.db>"
    engine = Engine(fragments={"chat": Fragment(store=enhanced), "user": Fragment(key="user")})
    assert repr(engine) == (f"<botsession.Engine fragments 'chat' on enhanced sqlite:{tmp_path}/r.db, "
                            "'user' on its own memory store>")
    with pytest.raises(InvalidOptionError, match=r"unknown engine option 'lazzy'; the options are store, key, prefix, "
                                                 r"initial, lazy, fragments, max_value_bytes, lock_timeout_ms, follow_chat_migrations, io_threads"):
        Engine(store, lazzy=True)  # type: ignore[call-arg]


def test_a_timed_out_aget_leaves_the_update_whole() -> None:
    """A body that gives up waiting for a lazy read (wait_for) goes on with its update: the
    read still ends in its thread first, nothing is rolled back under the body, and no other
    update of the chat enters meanwhile."""
    store = GatedStore()
    store.values["5"] = "1"
    engine = Engine(Store.custom(store), lazy=True)
    entered: List[str] = []

    async def main() -> None:
        async def second() -> None:
            async with engine.update(message(5)) as session:
                entered.append("second")
                session.set({"from": "second"})

        async with engine.update(message(5)) as session:
            other = asyncio.ensure_future(second())
            asyncio.get_running_loop().call_later(0.2, store.gate.set)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(session.aget(), 0.05)   # ends once the read has ended
            assert store.gate.is_set()
            await asyncio.sleep(0.05)
            assert entered == []                 # still ours
            session.set({"from": "first"})
        await other

    asyncio.run(main())
    assert entered == ["second"]
    assert store.values["5"] == '{"from":"second"}'


def test_a_failed_set_does_not_count_as_a_read() -> None:
    store = GatedStore()
    store.gate.set()
    engine = Engine(Store.custom(store), lazy=True)

    async def main() -> None:
        async with engine.update(message(5)) as session:
            with pytest.raises(TypeError):
                session.set(object())
            with pytest.raises(MisuseError, match="aget"):
                session.get()

    asyncio.run(main())


def test_closing_the_engine_inside_an_update_still_commits() -> None:
    store = GatedStore()
    store.gate.set()
    engine = Engine(Store.custom(store), initial=0)

    async def main() -> None:
        async with engine.update(message(5)) as session:
            session.set(1)
            engine.close()
        assert len(gates_of(asyncio.get_running_loop())) == 0

    asyncio.run(main())
    assert store.values == {"5": "1"}


def test_a_dropped_async_update_gives_its_keys_back() -> None:
    engine = Engine(Store.open("memory:"), initial=0, lock_timeout_ms=2000)

    async def main() -> None:
        update = engine.update(message(6))
        await update.__aenter__()
        with pytest.warns(ResourceWarning):
            del update                          # collected here (its last reference)
            gc.collect()
        await asyncio.sleep(0)
        async with engine.update(message(6)) as session:     # not BusyError
            session.set(1)

    asyncio.run(main())


def test_cancellation_is_never_swallowed_when_a_key_is_handed_over() -> None:
    """The holder lets go in the same loop iteration as the waiter is cancelled: the waiter
    still ends cancelled (its body never runs), and the key is free afterwards."""
    memory = Store.open("memory:")
    engine = Engine(memory, initial=0)
    ran: List[str] = []

    async def main() -> None:
        holder = engine.update(message(7))
        await holder.__aenter__()

        async def waiter() -> None:
            async with engine.update(message(7)):
                ran.append("waiter body")

        task = asyncio.ensure_future(waiter())
        await asyncio.sleep(0.01)
        await holder.__aexit__(None, None, None)   # hands the key to the waiter...
        task.cancel()                              # ...as it is cancelled
        with pytest.raises(asyncio.CancelledError):
            await task
        async with engine.update(message(7)) as session:
            session.set(1)
        assert len(gates_of(asyncio.get_running_loop())) == 0

    asyncio.run(main())
    assert ran == []


def test_a_store_call_that_would_wait_goes_to_a_thread(tmp_path) -> None:
    """aiogram's storage tries a SQLite call on the loop with waiting off; when another
    connection holds the database's write lock it runs in a thread instead, so the task that
    releases the lock (on the same loop) can run. If the call waited on the loop, the release
    could never happen and the write would fail after busy_timeout_ms."""
    import sqlite3

    from aiogram.fsm.storage.base import StorageKey

    from botsession.contrib.aiogram import BotSessionStorage

    path = tmp_path / "aiogram.db"
    storage = BotSessionStorage(Store.open(f"sqlite:{path}", busy_timeout_ms=3000))
    key = StorageKey(bot_id=1, chat_id=2, user_id=3)

    async def main() -> None:
        await storage.set_data(key, {"n": 1})            # free: runs on the loop
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")                  # another writer holds the lock

        async def release() -> None:
            await asyncio.sleep(0.2)
            other.execute("COMMIT")

        releaser = asyncio.ensure_future(release())
        assert await storage.get_data(key) == {"n": 1}   # WAL: reads do not wait
        await storage.set_data(key, {"n": 2})            # would wait: in a thread
        await releaser
        other.close()
        assert await storage.update_data(key, {"m": 3}) == {"n": 2, "m": 3}
        await storage.close()

    asyncio.run(main())
