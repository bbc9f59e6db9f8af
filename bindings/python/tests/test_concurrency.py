"""Threads and asyncio: one counter, many workers, no lost increment; the event loop never
blocks while an update waits for a key."""
from __future__ import annotations

import asyncio
import threading

import pytest

from botsession import BusyError, ConflictError, Engine, Store
from conftest import message


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_threads_lose_no_increment(kind: str, tmp_path) -> None:
    store = Store.open("memory:" if kind == "memory" else f"sqlite:{tmp_path}/t.db")
    # A Python key function too: callbacks run on every thread at once.
    engine = Engine(store, key=lambda update: update["message"]["chat"]["id"], initial=0)
    errors = []

    def worker() -> None:
        try:
            for _ in range(300):
                with engine.update(message(5)) as session:
                    session.set(session.get() + 1)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.read("5") == 8 * 300


def test_async_tasks_lose_no_increment(tmp_path) -> None:
    store = Store.open(f"sqlite:{tmp_path}/a.db")
    engine = Engine(store, initial=0)

    async def worker() -> None:
        for _ in range(50):
            async with engine.update(message(9)) as session:
                value = session.get()
                await asyncio.sleep(0)  # let other tasks run while the key is held
                session.set(value + 1)

    async def main() -> None:
        await asyncio.gather(*(worker() for _ in range(20)))

    asyncio.run(main())
    assert store.read("9") == 20 * 50


def test_waiting_for_a_key_does_not_block_the_event_loop() -> None:
    engine = Engine(initial=0)
    ticks = []

    async def holder(held: asyncio.Event) -> None:
        async with engine.update(message(3)) as session:
            held.set()
            await asyncio.sleep(0.3)           # holds chat 3's key for 300 ms
            session.set(1)

    async def waiter(held: asyncio.Event) -> int:
        await held.wait()
        async with engine.update(message(3)) as session:  # waits for the key, off the loop
            return session.get()

    async def heartbeat(stop: asyncio.Event) -> None:
        while not stop.is_set():
            ticks.append(1)
            await asyncio.sleep(0.01)

    async def main() -> int:
        held, stop = asyncio.Event(), asyncio.Event()
        beat = asyncio.create_task(heartbeat(stop))
        _, seen = await asyncio.gather(holder(held), waiter(held))
        stop.set()
        await beat
        return seen

    assert asyncio.run(main()) == 1  # the waiter saw the holder's commit
    assert len(ticks) >= 10               # the loop kept running meanwhile


def test_arun_with_a_coroutine_handler() -> None:
    engine = Engine(initial={"n": 0})

    async def handler(session):
        await asyncio.sleep(0)
        session.set({"n": session.get()["n"] + 1})
        return "replied"

    async def main():
        return [await engine.arun(message(4), handler) for _ in range(3)]

    assert asyncio.run(main()) == ["replied"] * 3


def test_a_key_held_too_long_is_busy() -> None:
    engine = Engine(initial=0, lock_timeout_ms=50)
    with engine.update(message(6)) as session:
        session.set(1)
        with pytest.raises(BusyError, match="lock_timeout_ms"):
            engine.update(message(6)).begin()    # the key is held (by this very thread)
    with engine.update(message(6)) as session:   # released at commit
        assert session.get() == 1


def test_a_cancelled_begin_releases_its_key() -> None:
    engine = Engine(initial=0, lock_timeout_ms=2000)

    async def main() -> int:
        held = asyncio.Event()

        async def holder() -> None:
            async with engine.update(message(8)) as session:
                held.set()
                await asyncio.sleep(0.2)
                session.set(1)

        async def waiter() -> None:
            async with engine.update(message(8)) as session:  # pragma: no cover - cancelled
                session.set(-1)

        holding = asyncio.create_task(holder())
        await held.wait()
        try:
            await asyncio.wait_for(waiter(), 0.05)    # cancelled while begin waits for the key
        except asyncio.TimeoutError as error:
            kept = error  # keeps the cancelled frames (and their update) alive
        await holding
        # The cancelled begin got the key once the holder committed, and gave it back at once:
        # this update does not wait for lock_timeout_ms, nor fail with BusyError.
        async with engine.update(message(8)) as session:
            value = session.get()
            session.set(value + 1)
        assert kept is not None
        return value

    assert asyncio.run(main()) == 1


def test_arun_reruns_the_handler_after_a_conflict(tmp_path) -> None:
    store = Store.open(f"sqlite:{tmp_path}/arun.db")
    engine = Engine(store, initial=0)
    attempts = []

    async def handler(session):
        attempts.append(1)
        value = session.get()
        await asyncio.sleep(0)
        if len(attempts) == 1:
            store.write("4", 100)                 # another writer wins the first attempt
        session.set(value + 1)
        return value + 1

    assert asyncio.run(engine.arun(message(4), handler)) == 101
    assert len(attempts) == 2
    assert store.read("4") == 101
    with pytest.raises(ConflictError):
        asyncio.run(engine.arun(message(4), lambda s: (s.set(1), store.write("4", 5)), attempts=1))
    assert store.read("4") == 5
