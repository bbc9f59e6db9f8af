"""SPEC §12's PostgreSQL target: a round-trip through the Python binding on postgresql://
against psycopg doing the same two statements (SELECT, then an upsert; autocommit), in
alternating rounds. One server round trip per read and one per commit, so both do two.

    BOTSESSION_LIBRARY=... python bench/postgres_roundtrip.py POSTGRES_URI [ROUND_TRIPS]
"""
import json
import sys
import time

import psycopg

from botsession import Engine, Store

URI = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
ROUNDS = 5
KEYS = 10000
INITIAL = {"count": 0, "name": "a session of about two hundred bytes, padded with some text", "recent": [1, 2, 3],
           "settings": {"notify": True, "language": "en"}}
updates = [json.dumps({"update_id": 1, "message": {"message_id": 1, "date": 1763700000, "text": "one more pizza please",
                       "from": {"id": 424242, "is_bot": False, "first_name": "Ann"},
                       "chat": {"id": -1000000000000 - (i * 7919) % KEYS, "title": "Pizza lovers", "type": "supergroup"}}})
           for i in range(1024)]


def by_hand():
    conn = psycopg.connect(URI, autocommit=True)
    conn.execute('CREATE TABLE IF NOT EXISTS bench_hand ("key" VARCHAR NOT NULL, "value" TEXT)')
    conn.execute('CREATE UNIQUE INDEX IF NOT EXISTS IDX_bench_hand ON bench_hand ("key")')

    def run(first, n):
        start = time.perf_counter()
        for i in range(first, first + n):
            key = str(json.loads(updates[i % 1024])["message"]["chat"]["id"])
            row = conn.execute("SELECT value FROM bench_hand WHERE key = %s", (key,)).fetchone()
            session = json.loads(row[0]) if row else dict(INITIAL)
            session["count"] += 1
            conn.execute("INSERT INTO bench_hand (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                         (key, json.dumps(session)))
        return time.perf_counter() - start

    return run


def through_botsession():
    engine = Engine(Store.open(URI, table="bench_botsession"), initial=INITIAL)

    def run(first, n):
        start = time.perf_counter()
        for i in range(first, first + n):
            with engine.update(updates[i % 1024]) as session:
                value = session.get()
                value["count"] += 1
                session.set(value)
        return time.perf_counter() - start

    return run


hand, ours = by_hand(), through_botsession()
per_round = N // ROUNDS
seconds_hand = seconds_ours = 0.0
for r in range(ROUNDS):
    seconds_hand += hand(r * per_round, per_round)
    seconds_ours += ours(r * per_round, per_round)
total = per_round * ROUNDS
print(f"postgres psycopg        {total / seconds_hand:9.0f}/s   botsession {total / seconds_ours:9.0f}/s   "
      f"ratio {seconds_hand / seconds_ours:.2f}x  (target >= 1.0x)")
