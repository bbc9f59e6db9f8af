"""SPEC §12's PostgreSQL target: a round-trip through the Python binding on postgresql://
against psycopg doing the same two statements (SELECT, then an upsert; autocommit), in
alternating rounds. One server round trip per read and one per commit, so both do two.

    BOTSESSION_LIBRARY=... python bench/postgres_roundtrip.py POSTGRES_URI [ROUND_TRIPS]
"""
import sys

import psycopg

from roundtrip_common import ROUNDS, by_hand, race, through_botsession

URI = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10000


def psycopg_by_hand():
    conn = psycopg.connect(URI, autocommit=True)
    conn.execute('CREATE TABLE IF NOT EXISTS bench_hand ("key" VARCHAR NOT NULL, "value" TEXT)')
    conn.execute('CREATE UNIQUE INDEX IF NOT EXISTS IDX_bench_hand ON bench_hand ("key")')

    def read(key):
        row = conn.execute("SELECT value FROM bench_hand WHERE key = %s", (key,)).fetchone()
        return row[0] if row else None

    def write(key, text):
        conn.execute("INSERT INTO bench_hand (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                     (key, text))

    return by_hand(read, write)


hand, ours = race(psycopg_by_hand(), through_botsession(URI, table="bench_botsession"), N)
print(f"round-trips: {N} in {ROUNDS} alternating rounds")
print(f"postgres psycopg        {hand:9.0f}/s   botsession {ours:9.0f}/s   ratio {ours / hand:.2f}x  (target >= 1.0x)")
