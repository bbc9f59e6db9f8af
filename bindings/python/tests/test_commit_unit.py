"""A commit is one unit of work (SPEC §5): a CONFLICT in any store of an update means nothing
was written, so ``Engine.run`` may re-run the handler; a failure while writing after another
store was written is PartialCommitError, which ``run``/``arun`` never re-run."""
from __future__ import annotations

import asyncio
import glob
import os
from typing import Dict, Optional

import pytest

from botsession import Engine, Fragment, PartialCommitError, StorageError, Store, TooBigError
from conftest import message


class DictStore:
    """A custom store in a dict ("custom:" sorts first, so it is written first)."""

    def __init__(self) -> None:
        self.values: Dict[str, str] = {}

    def read(self, key: str) -> Optional[str]:
        return self.values.get(key)

    def write(self, key: str, value: str) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


def two_stores(tmp_path):
    chat = Store.open(f"sqlite:{tmp_path}/chat.db")
    user = Store.open(f"file:{tmp_path}/user-files")
    engine = Engine(fragments={
        "chat": Fragment(store=chat, key="chat", prefix="chat:", initial=0),
        "user": Fragment(store=user, key="user", prefix="user:", initial=0),
    })
    return engine, chat, user


def test_a_conflict_in_one_store_writes_nothing_in_the_other(tmp_path) -> None:
    engine, chat, user = two_stores(tmp_path)
    runs = []

    def handler(session):
        runs.append(1)
        session.set(session.get("chat") + 1, "chat")
        session.set(session.get("user") + 1, "user")
        if len(runs) == 1:
            user.write("user:9", 100)     # another writer, between read and commit
        return session.get("chat")

    assert engine.run(message(5, user=9), handler) == 1
    assert len(runs) == 2
    assert chat.read("chat:5") == 1        # applied once, not twice
    assert user.read("user:9") == 101


class FailingStore(DictStore):
    """A custom store whose writes fail: custom stores are written last, after the stores that
    take locks, so its failure comes after the file store was written."""

    def write(self, key: str, value: str) -> None:
        raise OSError("the custom store is full")


def test_partial_commit_is_never_rerun(tmp_path) -> None:
    files = Store.open(f"file:{tmp_path}/files")
    custom = FailingStore()
    engine = Engine(fragments={
        "chat": Fragment(store=Store.custom(custom), key="chat", prefix="chat:"),
        "user": Fragment(store=files, key="user", prefix="user:", lazy=True),
    })
    runs = []

    def handler(session):
        runs.append(1)
        session.set(len(runs), "chat")
        session.set(len(runs), "user")      # lazy, never read: a blind write

    with pytest.raises(PartialCommitError, match=r"written: fragment 'user'.*not \(fully\) written: fragment 'chat'"):
        engine.run(message(5, user=9), handler, attempts=5)
    assert runs == [1]
    assert files.read("user:9") == 1
    assert custom.values == {}

    async def main() -> None:
        with pytest.raises(PartialCommitError):
            await engine.arun(message(5, user=9), handler, attempts=5)

    asyncio.run(main())
    assert runs == [1, 1]
    assert files.read("user:9") == 2
    assert PartialCommitError.status == 12


def test_a_failure_of_the_first_store_written_writes_nothing(tmp_path) -> None:
    """The file store (written first) cannot rename into place: nothing is written anywhere."""
    files = Store.open(f"file:{tmp_path}/files")
    files.write("user:9", 0)
    (path,) = glob.glob(f"{tmp_path}/files/**/*.json", recursive=True)
    os.unlink(path)
    os.mkdir(path)
    open(os.path.join(path, "keep"), "w").close()
    custom = DictStore()
    engine = Engine(fragments={
        "chat": Fragment(store=Store.custom(custom), key="chat", prefix="chat:"),
        "user": Fragment(store=files, key="user", prefix="user:", lazy=True),
    })
    with pytest.raises(StorageError, match="nothing was written"):
        with engine.update(message(5, user=9)) as session:
            session.set(1, "chat")
            session.set(1, "user")
    assert custom.values == {}


def test_a_migration_result_is_held_to_max_value_bytes(tmp_path) -> None:
    inner = Store.open(f"sqlite:{tmp_path}/big.db")
    inner.write("5", 1)
    enhanced = inner.enhance(max_value_bytes=64)

    @enhanced.migration(1)
    def grow(old):
        return "x" * 100

    with pytest.raises(TooBigError, match="max_value_bytes"):
        enhanced.read("5")
    assert inner.read("5") == 1
