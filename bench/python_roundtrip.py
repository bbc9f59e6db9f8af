"""SPEC §12's Python target: a round-trip through the binding on sqlite: against Python's sqlite3
module doing the same read and upsert (WAL, synchronous=NORMAL, autocommit), and aiogram's
feed_update with BotSession's storage against aiogram's MemoryStorage. Prints figures and ratios.

    BOTSESSION_LIBRARY=... python bench/python_roundtrip.py [ROUND_TRIPS]
"""
import asyncio
import json
import random
import sqlite3
import sys
import tempfile
import time

from botsession import Engine, Store

N = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
KEYS = 10000
random.seed(7)


def update_for(chat: int) -> dict:
    return {"update_id": 1, "message": {"message_id": 1, "date": 1763700000, "text": "one more pizza please 🍕",
            "from": {"id": 424242, "is_bot": False, "first_name": "Ann", "username": "ann_example", "language_code": "en"},
            "chat": {"id": -1000000000000 - chat, "title": "Pizza lovers of the world", "type": "supergroup"},
            "entities": [{"offset": 0, "length": 3, "type": "bold"}]}}


INITIAL = {"count": 0, "name": "a session of about two hundred bytes, padded with some text", "recent": [1, 2, 3],
           "settings": {"notify": True, "language": "en"}}
updates = [json.dumps(update_for(random.randrange(KEYS))) for _ in range(1024)]


ROUNDS = 5  # the contenders take turns, so a machine that speeds up or slows down affects both


def by_hand(path: str):
    """Python's sqlite3 module: the same read and upsert, autocommit. Returns a function that
    runs n round-trips and returns the seconds they took."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS sessions (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")

    def run(first: int, n: int) -> float:
        start = time.perf_counter()
        for i in range(first, first + n):
            update = json.loads(updates[i % 1024])
            key = str(update["message"]["chat"]["id"])
            row = db.execute("SELECT value FROM sessions WHERE key = ?", (key,)).fetchone()
            session = json.loads(row[0]) if row else dict(INITIAL)
            session["count"] += 1
            db.execute("INSERT INTO sessions (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                       (key, json.dumps(session)))
        return time.perf_counter() - start

    return run


def through_botsession(path: str):
    engine = Engine(Store.open(f"sqlite:{path}"), initial=INITIAL)

    def run(first: int, n: int) -> float:
        start = time.perf_counter()
        for i in range(first, first + n):
            with engine.update(updates[i % 1024]) as session:
                value = session.get()
                value["count"] += 1
                session.set(value)
        return time.perf_counter() - start

    return run


def race(a, b, n: int):
    """Round-trips per second of `a` and `b`, run in alternating rounds."""
    per_round = max(n // ROUNDS, 1)
    seconds_a = seconds_b = 0.0
    for r in range(ROUNDS):
        seconds_a += a(r * per_round, per_round)
        seconds_b += b(r * per_round, per_round)
    return per_round * ROUNDS / seconds_a, per_round * ROUNDS / seconds_b


def aiogram_feed(storage_factory):
    from aiogram import Bot, Dispatcher, F
    from aiogram.fsm.context import FSMContext
    from aiogram.types import Message, Update

    from botsession.contrib.offline import AiogramOfflineSession

    async def main(n: int) -> float:
        dp = Dispatcher(storage=storage_factory())
        bot = Bot("42:TEST", session=AiogramOfflineSession())

        @dp.message(F.text)
        async def count(message: Message, state: FSMContext) -> None:
            data = await state.get_data()
            await state.set_data({**data, "count": data.get("count", 0) + 1})

        # Each update is parsed as aiogram parses what it polls (feeding one Update object
        # again and again makes aiogram compare it with itself, field by field).
        start = time.perf_counter()
        for i in range(n):
            await dp.feed_update(bot, Update.model_validate(json.loads(updates[i % 1024]), context={"bot": bot}))
        return time.perf_counter() - start

    return lambda first, n: asyncio.run(main(n))


with tempfile.TemporaryDirectory() as directory:
    hand, ours = race(by_hand(f"{directory}/hand.db"), through_botsession(f"{directory}/ours.db"), N)
    print(f"round-trips: {N} over {KEYS} keys, in {ROUNDS} alternating rounds")
    print(f"python   sqlite3 module {hand:9.0f}/s   botsession {ours:9.0f}/s   ratio {ours / hand:.2f}x  (target >= 0.8x)")
    try:
        from aiogram.fsm.storage.memory import MemoryStorage

        from botsession.contrib.aiogram import BotSessionStorage
    except ImportError:
        print("aiogram   not installed: skipped")
    else:
        memory, sessions = race(aiogram_feed(MemoryStorage),
                                aiogram_feed(lambda: BotSessionStorage(Store.open(f"sqlite:{directory}/aiogram.db"))),
                                max(N // 10, 500))
        print(f"aiogram  MemoryStorage  {memory:9.0f}/s   BotSession {sessions:9.0f}/s   ratio {sessions / memory:.2f}x  (target >= 0.85x)")
