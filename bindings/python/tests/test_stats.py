"""Engine.stats(): the engine's counters, and their Prometheus form."""
from __future__ import annotations

import threading
import time

import pytest

from botsession import BusyError, ConflictError, Engine, Store

CHAT = {"message": {"chat": {"id": 5}}}


def test_counts_what_the_engine_did(tmp_path) -> None:
    uri = f"sqlite:{tmp_path}/s.db"
    engine = Engine(Store.open(uri), initial={"n": 0}, lock_timeout_ms=0)
    assert engine.stats()["begins"] == 0
    with engine.update(CHAT) as s:      # reads (absent), writes the initial value
        s.get()
    with engine.update(CHAT) as s:      # reads, sets a new value
        s.set({"n": 1})
    with engine.update(CHAT) as s:      # reads, leaves it: skipped
        s.get()
    with engine.update(CHAT) as s:      # reads, deletes
        s.delete()
    with pytest.raises(RuntimeError):
        with engine.update(CHAT):       # rolled back
            raise RuntimeError("handler failed")
    other = Store.open(uri)
    with pytest.raises(ConflictError):
        with engine.update(CHAT) as s:
            s.get()
            other.write("5", {"n": 9})  # another writer, between read and commit
            s.set({"n": 2})
    held = engine.update(CHAT).begin()
    with pytest.raises(BusyError):
        engine.update(CHAT).begin()
    held.rollback()
    stats = engine.stats()
    assert {k: stats[k] for k in ("begins", "commits", "rollbacks", "reads", "writes", "deletes",
                                  "skipped_writes", "conflicts", "busy", "chat_migrations")} == {
        "begins": 7, "commits": 4, "rollbacks": 2, "reads": 7, "writes": 2, "deletes": 1,
        "skipped_writes": 1, "conflicts": 1, "busy": 1, "chat_migrations": 0}
    latency = stats["store_latency_us"]
    # Timed: the 7 reads, and the 4 commits that had something to write (the initial value, the
    # set, the delete, the conflicting set); the read-only commit did no store operation.
    assert latency["count"] == 7 + 4
    assert 0 <= latency["p50"] <= latency["p99"] <= latency["max"] and latency["max"] > 0


def test_lock_wait_and_threads() -> None:
    engine = Engine(Store.open("memory:"))
    held = engine.update(CHAT).begin()

    def release_later() -> None:
        time.sleep(0.3)
        held.rollback()

    threading.Thread(target=release_later).start()
    with engine.update(CHAT) as s:      # waits about 300 ms for the key
        s.set(1)
    assert engine.stats()["lock_wait_ms"] >= 200

    def work() -> None:
        for i in range(200):
            with engine.update({"message": {"chat": {"id": threading.get_ident() % 1000 * 1000 + i}}}) as s:
                s.set(i)

    before = engine.stats()["commits"]
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        engine.stats()                  # read while others count
    for t in threads:
        t.join()
    assert engine.stats()["commits"] - before == 800


def test_prometheus_metrics() -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    from botsession.contrib import prometheus

    engine = Engine(Store.open("memory:"))
    registry = prometheus_client.CollectorRegistry()
    prometheus.register(engine, registry=registry, namespace="bot")
    for i in range(3):
        with engine.update({"message": {"chat": {"id": i}}}) as s:
            s.set(i)
    text = prometheus_client.generate_latest(registry).decode()
    assert "bot_commits_total 3.0" in text
    assert "bot_writes_total 3.0" in text
    assert 'bot_store_latency_seconds{quantile="0.99"}' in text
    assert registry.get_sample_value("bot_begins_total") == 3.0
