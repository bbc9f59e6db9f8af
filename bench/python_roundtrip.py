"""SPEC §12's Python target: a round-trip through the binding on sqlite: against Python's sqlite3
module doing the same read and upsert (WAL, synchronous=NORMAL, autocommit), and aiogram's
feed_update with BotSession's storage against aiogram's MemoryStorage. Prints figures and ratios.

    BOTSESSION_LIBRARY=... python bench/python_roundtrip.py [ROUND_TRIPS]
"""
import asyncio
import json
import sqlite3
import sys
import tempfile
import time

from botsession import Store
from roundtrip_common import KEYS, ROUNDS, UPDATES, by_hand, race, through_botsession

N = int(sys.argv[1]) if len(sys.argv) > 1 else 50000


def sqlite3_by_hand(path: str):
    """Python's sqlite3 module: the same read and upsert, autocommit."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS sessions (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")

    def read(key):
        row = db.execute("SELECT value FROM sessions WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def write(key, text):
        db.execute("INSERT INTO sessions (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                   (key, text))

    return by_hand(read, write)


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
            await dp.feed_update(bot, Update.model_validate(json.loads(UPDATES[i % 1024]), context={"bot": bot}))
        return time.perf_counter() - start

    return lambda first, n: asyncio.run(main(n))


with tempfile.TemporaryDirectory() as directory:
    hand, ours = race(sqlite3_by_hand(f"{directory}/hand.db"), through_botsession(f"sqlite:{directory}/ours.db"), N)
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
