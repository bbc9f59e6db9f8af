"""Compare-and-set from Python: a commit after another writer's raises ConflictError and writes
nothing; engine.run re-runs the handler; processes counting through their own engines lose no
increment. On SQLite, the file store and (when make test runs a server) PostgreSQL."""
from __future__ import annotations

import multiprocessing
import os

import pytest

from botsession import ConflictError, Engine, Store
from conftest import message

POSTGRES = os.environ.get("BOTSESSION_TEST_POSTGRES_URI")


def uris(tmp_path) -> list:
    found = [f"sqlite:{tmp_path}/cas.db", f"file:{tmp_path}/cas-files"]
    if POSTGRES:
        found.append(POSTGRES)
    elif os.environ.get("CI"):
        pytest.fail("BOTSESSION_TEST_POSTGRES_URI is not set: make test starts a PostgreSQL server")
    return found


def open_store(uri: str) -> Store:
    return Store.open(uri, table="python_cas") if uri.startswith("postgresql") else Store.open(uri)


def test_conflict_then_retry(tmp_path) -> None:
    for uri in uris(tmp_path):
        store = open_store(uri)
        store.delete("12")
        engine = Engine(store, initial=0)
        with pytest.raises(ConflictError, match="another writer changed key '12'"):
            with engine.update(message(12)) as session:
                session.set(session.get() + 1)
                store.write("12", 100)        # another writer, between read and commit
        assert store.read("12") == 100, uri

        attempts = []

        def handler(session):
            attempts.append(1)
            session.set(session.get() + 1)
            if len(attempts) == 1:
                store.write("12", 200)        # the first attempt loses the race again
            return session.get()

        assert engine.run(message(12), handler) == 201, uri
        assert len(attempts) == 2
        assert store.read("12") == 201, uri


def count(uri: str, times: int) -> None:
    engine = Engine(open_store(uri), initial=0)
    for _ in range(times):
        engine.run(message(5), lambda s: s.set(s.get() + 1), attempts=10_000)


def test_processes_lose_no_increment(tmp_path) -> None:
    for uri in uris(tmp_path):
        open_store(uri).delete("5")
        context = multiprocessing.get_context("spawn")  # a fresh interpreter per process
        workers = [context.Process(target=count, args=(uri, 150)) for _ in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
            assert worker.exitcode == 0
        assert open_store(uri).read("5") == 3 * 150, uri
