"""SPEC §12's PostgreSQL target: a round-trip through the Python binding on postgresql://
against psycopg doing the same two statements by hand (SELECT, then an upsert; autocommit), in
interleaved rounds, by CPU time of this process (the server's is not counted). One server round
trip per read and one per commit, so both do two. Distinct update ids, 10,000 chats.

    BOTSESSION_LIBRARY=... python bench/postgres_roundtrip.py POSTGRES_URI [ROUND_TRIPS] [--rounds R]
"""
import argparse

import psycopg

from botsession import Engine, Store
from roundtrip_common import INITIAL, KEYS, ROUNDS, by_hand, compare, make_updates, race, report, timed, through_botsession

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("uri")
parser.add_argument("round_trips", nargs="?", type=int, default=10000)
parser.add_argument("--rounds", type=int, default=ROUNDS)
args = parser.parse_args()
if args.rounds < 5:
    parser.error("--rounds must be at least 5 (the figures are medians of the rounds)")


def psycopg_by_hand():
    """psycopg 3, autocommit, the same SELECT and upsert (prepared by psycopg after a few runs)."""
    conn = psycopg.connect(args.uri, autocommit=True)
    conn.execute("DROP TABLE IF EXISTS bench_hand")
    conn.execute('CREATE TABLE bench_hand ("key" VARCHAR NOT NULL, "value" TEXT)')
    conn.execute('CREATE UNIQUE INDEX IDX_bench_hand ON bench_hand ("key")')

    def read(key):
        row = conn.execute("SELECT value FROM bench_hand WHERE key = %s", (key,)).fetchone()
        return row[0] if row else None

    def write(key, text):
        conn.execute("INSERT INTO bench_hand (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                     (key, text))

    return by_hand(read, write), conn


def main() -> None:
    updates = make_updates(args.round_trips, seed=13)
    hand, conn = psycopg_by_hand()
    conn.execute("DROP TABLE IF EXISTS bench_botsession")
    engine = Engine(Store.open(args.uri, table="bench_botsession"), initial=INITIAL)
    ours = through_botsession(engine)
    warmup = len(updates) // (args.rounds + 1)
    per_round = (len(updates) - warmup) // args.rounds
    results = race({"psycopg": lambda u: timed(hand, u), "binding": lambda u: timed(ours, u)}, updates, args.rounds, warmup)
    print(f"== the round-trip on postgresql:// (a local server): {warmup} warm-up + {args.rounds} rounds x "
          f"{per_round} updates per contender, {KEYS} chats")
    report(results, {"psycopg": "json.loads the update, SELECT, json.loads, count += 1, compact json.dumps, upsert (autocommit)",
                     "binding": "with engine.update(text) as s: v = s.get(); v['count'] += 1; s.set(v)"})
    compare("binding / psycopg", results["binding"], results["psycopg"], ">= 1.0x")
    engine.close()
    fed = warmup + per_round * args.rounds
    for table in ("bench_hand", "bench_botsession"):
        total = conn.execute(f"SELECT coalesce(sum((value::json->>'count')::int), 0) FROM {table}").fetchone()[0]
        print(f"  check: {table}: counts add up to {total} of the {fed} updates fed" + ("" if total == fed else "  CHECK FAILED"))
    conn.close()


print(f"psycopg {psycopg.__version__}; CPU time is this process's (time.process_time), figures are medians of "
      f"{args.rounds} interleaved rounds")
main()
