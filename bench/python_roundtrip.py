"""SPEC §12's Python targets, measured in CPU time (this process, all its threads) over interleaved
rounds, medians of the rounds:

1. The binding's round-trip on sqlite: against Python's sqlite3 module doing the same read and
   upsert by hand (target >= 1.0x).
2. aiogram's Dispatcher.feed_update with a handler that reads and updates FSM data, with
   BotSessionStorage on sqlite: against aiogram's MemoryStorage (target >= 0.9x) and against
   aiogram's RedisStorage on a private redis-server (target: BotSession >= 3x).

After the races, each contender's database is read back and checked: every update counted once,
and the by-hand contender and the binding left the same rows. No figure is asserted.

    BOTSESSION_LIBRARY=... python bench/python_roundtrip.py [ROUND_TRIPS] [--rounds R]
        [--aiogram N] [--only sqlite|aiogram] [--profile]

ROUND_TRIPS (default 50000) are the sqlite: round-trips per contender, warm-up included; --aiogram
(default ROUND_TRIPS / 10) the updates each aiogram contender is fed. The Redis contender needs
Debian's redis-server (`apt-get install redis-server`; `make bench` installs it) and redis-py
(`make bench` pins it); without them it is skipped, saying so. --profile runs each BotSession
contender once under cProfile and prints where its time goes, instead of the races.
"""
import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

from botsession import Engine, Store
from roundtrip_common import (INITIAL, KEYS, ROUNDS, by_hand, compare, dumps, key_of, make_updates, race, report, timed,
                              through_botsession)

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("round_trips", nargs="?", type=int, default=50000)
parser.add_argument("--rounds", type=int, default=ROUNDS)
parser.add_argument("--aiogram", type=int, default=None, help="updates per aiogram contender (default ROUND_TRIPS/10)")
parser.add_argument("--only", choices=("sqlite", "aiogram"), help="run one of the two benchmarks")
parser.add_argument("--profile", action="store_true", help="profile the BotSession contenders instead of racing")
args = parser.parse_args()
if args.rounds < 5:
    parser.error("--rounds must be at least 5 (the figures are medians of the rounds)")
N = args.round_trips
N_AIOGRAM = args.aiogram if args.aiogram is not None else max(N // 10, 2000)

# The table the binding's sqlite: store makes (SQLiteConnection.prepareSchema), for the by-hand
# contender too.
TABLE = ("CREATE TABLE IF NOT EXISTS sessions (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL, "
         "version INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID")


# -- 1. the round-trip on sqlite: ------------------------------------------------------------------

def sqlite3_module(path: str):
    """Python's sqlite3 module by hand: WAL, synchronous=NORMAL, autocommit (isolation_level=None:
    each statement its own transaction, as the binding's read and its one-statement commit are),
    one cursor reused, so both statements come from the module's statement cache prepared."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(TABLE)
    cursor = db.cursor()
    select = "SELECT value, version FROM sessions WHERE key = ?"
    upsert = ("INSERT INTO sessions (key, value, version) VALUES (?, ?, random()) "
              "ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = version + 1")

    def read(key):
        row = cursor.execute(select, (key,)).fetchone()
        return row[0] if row else None

    def write(key, text):
        cursor.execute(upsert, (key, text))

    return by_hand(read, write)


def rows(path: str):
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT key, value FROM sessions"))
    finally:
        db.close()


def check_sqlite(hand_path: str, ours_path: str, updates) -> None:
    """Both databases hold one row per chat seen, each counting that chat's updates, in the same
    compact JSON; the binding's file is in WAL mode."""
    expected = {}
    for text in updates:
        key = key_of(text)
        expected[key] = expected.get(key, 0) + 1
    hand, ours = rows(hand_path), rows(ours_path)
    problems = []
    for name, table in (("sqlite3 module", hand), ("binding", ours)):
        counts = {key: json.loads(value)["count"] for key, value in table.items()}
        if counts != expected:
            problems.append(f"{name}: {len(counts)} rows summing to {sum(counts.values())}, expected "
                            f"{len(expected)} rows summing to {len(updates)}")
    if hand != ours:
        differing = sum(1 for key in expected if hand.get(key) != ours.get(key))
        problems.append(f"the two databases differ in {differing} rows (e.g. {next(iter(ours.values()), None)!r})")
    db = sqlite3.connect(ours_path)
    mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    db.close()
    if mode != "wal":
        problems.append(f"the binding's database is in journal_mode={mode}, not wal")
    if problems:
        print("  CHECK FAILED: " + "; ".join(problems))
    else:
        sample = next(iter(ours.values()))
        print(f"  check: both databases hold {len(ours)} rows whose counts add up to the {len(updates)} updates "
              f"fed, identical row for row ({len(sample)}-byte compact JSON values); the binding's is WAL")


def sqlite_race(directory: str) -> None:
    updates = make_updates(N)
    hand_path, ours_path = f"{directory}/hand.db", f"{directory}/ours.db"
    hand = sqlite3_module(hand_path)
    engine = Engine(Store.open(f"sqlite:{ours_path}"), initial=INITIAL)
    ours = through_botsession(engine)
    warmup = len(updates) // (args.rounds + 1)
    results = race({"sqlite3 module": lambda u: timed(hand, u), "binding": lambda u: timed(ours, u)},
                   updates, args.rounds, warmup)
    per_round = (len(updates) - warmup) // args.rounds
    print(f"== the round-trip on sqlite: {warmup} warm-up + {args.rounds} rounds x {per_round} updates per "
          f"contender, {KEYS} chats, ~400-byte updates, ~200-byte sessions")
    report(results, {
        "sqlite3 module": "json.loads the update, SELECT value, version; json.loads, count += 1, compact "
                          "json.dumps; INSERT .. ON CONFLICT DO UPDATE (autocommit, WAL, synchronous=NORMAL)",
        "binding": "with engine.update(text) as s: v = s.get(); v['count'] += 1; s.set(v)  (sqlite: store)"})
    compare("binding / sqlite3 module", results["binding"], results["sqlite3 module"], ">= 1.0x")
    engine.close()
    check_sqlite(hand_path, ours_path, updates[:warmup + per_round * args.rounds])


# -- 2. aiogram's feed_update ----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def redis_server(directory: str):
    """A private redis-server on 127.0.0.1 and a free port, no persistence (no RDB snapshots, no
    AOF), stopped when the block ends, however it ends. Yields (port, pid), or None when Debian's
    redis-server is not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = free_port()
    process = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                                "--appendonly", "no", "--dir", directory, "--daemonize", "no",
                                "--loglevel", "warning"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield port, process.pid
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) that process `pid` has used, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hand_sqlite_storage(path: str):
    """The floor of any aiogram storage on SQLite: a BaseStorage written by hand on Python's
    sqlite3 module, its calls made on the event loop (blocking it: no thread hop, no lock, no
    checks), in the same table, keys and compact JSON as BotSessionStorage; update_data is
    atomic as ours is (BEGIN IMMEDIATE, read, merge, upsert, COMMIT)."""
    from aiogram.fsm.state import State
    from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder

    class HandSQLiteStorage(BaseStorage):
        def __init__(self) -> None:
            self.key_builder = DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
            self.db = sqlite3.connect(path, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute(TABLE)
            self.cursor = self.db.cursor()

        def _read(self, name):
            row = self.cursor.execute("SELECT value FROM sessions WHERE key = ?", (name,)).fetchone()
            return row[0] if row else None

        def _write(self, name, text):
            if text is None:
                self.cursor.execute("DELETE FROM sessions WHERE key = ?", (name,))
            else:
                self.cursor.execute("INSERT INTO sessions (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                                    "SET value = excluded.value, version = version + 1", (name, text))

        async def set_state(self, key, state=None):
            value = state.state if isinstance(state, State) else state
            self._write(self.key_builder.build(key, "state"), None if value is None else json.dumps(value))

        async def get_state(self, key):
            text = self._read(self.key_builder.build(key, "state"))
            return json.loads(text) if text is not None else None

        async def set_data(self, key, data):
            self._write(self.key_builder.build(key, "data"), dumps(data) if data else None)

        async def get_data(self, key):
            text = self._read(self.key_builder.build(key, "data"))
            return json.loads(text) if text is not None else {}

        async def update_data(self, key, data):
            name = self.key_builder.build(key, "data")
            self.cursor.execute("BEGIN IMMEDIATE")
            try:
                text = self._read(name)
                merged = json.loads(text) if text is not None else {}
                merged.update(data)
                self._write(name, dumps(merged))
                self.cursor.execute("COMMIT")
            except BaseException:
                self.cursor.execute("ROLLBACK")
                raise
            return merged

        async def close(self):
            self.db.close()

    return HandSQLiteStorage()


def aiogram_contender(loop, storage, server_pid=None):
    """aiogram 3 as a group bot runs it: a Dispatcher with FSM data per chat (FSMStrategy.CHAT, so
    10,000 chats are 10,000 FSM keys), a message handler that reads the chat's data and updates
    it (no filter: aiogram 3 runs a magic filter such as F.text, a plain function, through
    asyncio.to_thread, a thread hop per update that costs every storage alike and blurs the CPU
    figures); each update is parsed into aiogram's Update before the clock starts (what polling does),
    then fed with Dispatcher.feed_update."""
    from aiogram import Bot, Dispatcher
    from aiogram.fsm.context import FSMContext
    from aiogram.fsm.strategy import FSMStrategy
    from aiogram.types import Message, Update

    from botsession.contrib.offline import AiogramOfflineSession

    dp = Dispatcher(storage=storage, fsm_strategy=FSMStrategy.CHAT)
    bot = Bot("42:TEST", session=AiogramOfflineSession())
    handled = [0]

    @dp.message()
    async def count(message: Message, state: FSMContext) -> None:
        data = await state.get_data()
        await state.update_data(count=data.get("count", 0) + 1, last=message.message_id)
        handled[0] += 1

    async def feed(updates):
        for update in updates:
            await dp.feed_update(bot, update)

    def parse(texts):
        return [Update.model_validate(json.loads(t), context={"bot": bot}) for t in texts]

    def feed_all(parsed):
        loop.run_until_complete(feed(parsed))

    def measure(texts):
        parsed = parse(texts)
        server = process_cpu(server_pid) if server_pid else 0.0
        cpu, wall = timed(feed_all, parsed)
        if server_pid:
            return cpu, wall, process_cpu(server_pid) - server
        return cpu, wall

    measure.handled = handled
    measure.parse, measure.feed = parse, feed_all
    return measure


async def stored_counts(name: str, storage) -> dict:
    """chat id -> the count the handler left in `storage`'s FSM data."""
    if name == "MemoryStorage":
        return {key.chat_id: record.data["count"] for key, record in storage.storage.items() if record.data}
    if name == "sqlite3 by hand":
        return {int(key.split(":")[2]): json.loads(value)["count"]
                for key, value in storage.db.execute("SELECT key, value FROM sessions WHERE key LIKE '%:data'")}
    if name == "RedisStorage":
        counts = {}
        async for raw in storage.redis.scan_iter(match="fsm:*:data", count=1000):
            value = json.loads(await storage.redis.get(raw))
            counts[int(raw.decode().split(":")[1])] = value["count"]  # fsm:chat:user:data
        return counts
    return {int(key.split(":")[2]): value["count"] for key, value in storage.store.items() if key.endswith(":data")}


def aiogram_race(directory: str) -> None:
    try:
        from aiogram.fsm.storage.memory import MemoryStorage

        from botsession.contrib.aiogram import BotSessionStorage
    except ImportError:
        print("== aiogram: not installed, skipped")
        return
    try:
        from aiogram.fsm.storage.redis import RedisStorage
        from redis.asyncio import Redis
    except ImportError:
        RedisStorage = None  # noqa: N806

    updates = make_updates(N_AIOGRAM, seed=11)
    warmup = len(updates) // (args.rounds + 1)
    per_round = (len(updates) - warmup) // args.rounds
    loop = asyncio.new_event_loop()
    with redis_server(directory) as server:
        storages = {"MemoryStorage": MemoryStorage(),
                    "sqlite3 by hand": hand_sqlite_storage(f"{directory}/aiogram-hand.db"),
                    "BotSessionStorage": BotSessionStorage(Store.open(f"sqlite:{directory}/aiogram.db"))}
        skipped = None
        if server is None:
            skipped = "Debian's redis-server is not installed (apt-get install redis-server)"
        elif RedisStorage is None:
            skipped = "redis-py is not installed (pip install 'redis[hiredis]')"
        else:
            storages["RedisStorage"] = RedisStorage(Redis(host="127.0.0.1", port=server[0]))
        contenders = {name: aiogram_contender(loop, storage, server[1] if name == "RedisStorage" else None)
                      for name, storage in storages.items()}
        results = race(contenders, updates, args.rounds, warmup)
        print(f"== aiogram {_aiogram_version()} Dispatcher.feed_update: {warmup} warm-up + {args.rounds} rounds x "
              f"{per_round} updates per contender, {KEYS} chats; handler: get_data(), update_data(count=+1)")
        report(results, {
            "MemoryStorage": "aiogram's in-process dict",
            "sqlite3 by hand": "the floor on SQLite: a BaseStorage on the sqlite3 module, blocking the loop",
            "BotSessionStorage": "botsession.contrib.aiogram on sqlite: (WAL, synchronous=NORMAL)",
            "RedisStorage": "aiogram's, redis-py + hiredis to a private redis-server on 127.0.0.1 (no persistence)"})
        if skipped:
            print(f"  RedisStorage: skipped: {skipped}")
        ours = results["BotSessionStorage"]
        compare("BotSessionStorage / MemoryStorage", ours, results["MemoryStorage"], ">= 0.9x")
        compare("sqlite3 by hand / MemoryStorage", results["sqlite3 by hand"], results["MemoryStorage"],
                "none: the floor of any SQLite storage")
        compare("BotSessionStorage / sqlite3 by hand", ours, results["sqlite3 by hand"], "none")
        if "RedisStorage" in results:
            compare("BotSessionStorage / RedisStorage", ours, results["RedisStorage"], ">= 3x")
            print("  (RedisStorage's ratio counts this process's CPU only; the server's is shown beside it)")
        fed = warmup + per_round * args.rounds
        expected = {}
        for text in updates[:fed]:
            chat = json.loads(text)["message"]["chat"]["id"]
            expected[chat] = expected.get(chat, 0) + 1
        for name, storage in storages.items():
            counts = loop.run_until_complete(stored_counts(name, storage))
            handled = contenders[name].handled[0]
            if counts != expected or handled != fed:
                print(f"  CHECK FAILED: {name}: handler ran {handled} times for {fed} updates; {len(counts)} chats "
                      f"summing to {sum(counts.values())}, expected {len(expected)} summing to {fed}")
            else:
                print(f"  check: {name}: the handler ran once per update ({fed}); the {len(counts)} chats' "
                      f"counts add up")
        for storage in storages.values():
            loop.run_until_complete(storage.close())
    loop.close()


def _aiogram_version() -> str:
    import aiogram
    return aiogram.__version__


# -- --profile -------------------------------------------------------------------------------------

def profile(directory: str) -> None:
    import cProfile
    import pstats

    def show(title, profiler, n):
        print(f"== cProfile: {title}, {n} updates; by own time (tottime), per update")
        stats = pstats.Stats(profiler)
        entries = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:14]
        total = sum(v[2] for v in stats.stats.values())
        print(f"  total {total / n * 1e6:.1f} µs/update (profiled, so slower than the race)")
        for (file, line, function), (_, calls, own, cumulative, _) in entries:
            where = f"{os.path.basename(file)}:{line}({function})" if line else function
            print(f"  {own / n * 1e6:7.2f} µs own {cumulative / n * 1e6:7.2f} µs cum {calls / n:5.1f} calls  {where}")
        print("  the binding's and the adapter's own functions, by cumulative time:")
        ours = sorted(((k, v) for k, v in stats.stats.items() if "botsession" in k[0]), key=lambda kv: kv[1][3], reverse=True)
        for (file, line, function), (_, calls, own, cumulative, _) in ours[:10]:
            print(f"  {own / n * 1e6:7.2f} µs own {cumulative / n * 1e6:7.2f} µs cum {calls / n:5.1f} calls  "
                  f"{os.path.basename(file)}:{line}({function})")

    updates = make_updates(N)
    engine = Engine(Store.open(f"sqlite:{directory}/profile.db"), initial=INITIAL)
    run = through_botsession(engine)
    run(updates[:N // 5])
    profiler = cProfile.Profile()
    profiler.runcall(run, updates[N // 5:])
    show("the binding's round-trip on sqlite:", profiler, len(updates) - N // 5)
    engine.close()

    from botsession.contrib.aiogram import BotSessionStorage
    loop = asyncio.new_event_loop()
    storage = BotSessionStorage(Store.open(f"sqlite:{directory}/profile-aiogram.db"))
    measure = aiogram_contender(loop, storage)
    updates = make_updates(N_AIOGRAM, seed=11)
    measure(updates[:N_AIOGRAM // 5])
    profiler = cProfile.Profile()
    profiler.runcall(measure.feed, measure.parse(updates[N_AIOGRAM // 5:]))
    show("aiogram feed_update with BotSessionStorage on sqlite:", profiler,
         N_AIOGRAM - N_AIOGRAM // 5)
    loop.run_until_complete(storage.close())
    loop.close()


with tempfile.TemporaryDirectory(prefix="botsession-bench-") as directory:
    print(f"Python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version} (the sqlite3 module's); CPU time is "
          f"this process's (time.process_time), figures are medians of {args.rounds} interleaved rounds")
    if args.profile:
        profile(directory)
    else:
        if args.only != "aiogram":
            sqlite_race(directory)
        if args.only != "sqlite":
            aiogram_race(directory)
