"""Threads and asyncio: one counter, many workers, no lost increment; the event loop never
blocks while an update waits for a key."""
from __future__ import annotations

import asyncio
import threading

import pytest

from botsession import Engine, Store
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
