"""aiogram's update_data loses no change when tasks, threads and processes update the data of
one key at once: with the default json hooks it is one merge in the store
(botsession_store_merge), with custom hooks a read-modify-write in an engine update. Each writer
sets members of its own; a read-then-write would drop the others'."""
from __future__ import annotations

import asyncio
import multiprocessing
from typing import Any

import pytest

pytest.importorskip("aiogram")
from _merge_writer import KEY, ROUNDS, hooks, writer  # noqa: E402

from botsession import Store  # noqa: E402
from botsession.contrib.aiogram import BotSessionStorage  # noqa: E402

@pytest.mark.parametrize("kind", ["default", "custom hooks"])
def test_update_data_loses_nothing_across_processes(tmp_path: Any, kind: str) -> None:
    uri = f"sqlite:{tmp_path}/fsm.db"
    # fork: the children have aiogram imported already (importing it takes seconds); the
    # library re-arms its locks in a forked child.
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=writer, args=(uri, kind, f"p{i}")) for i in range(3)]
    for process in processes:
        process.start()
    writer(uri, kind, "main")
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    storage = BotSessionStorage.from_url(uri, **hooks(kind))
    data = asyncio.run(storage.get_data(KEY))
    asyncio.run(storage.close())
    expected = {f"{name}-{part}": ROUNDS for name in ("main", "p0", "p1", "p2") for part in ("task-a", "task-b", "thread")}
    assert data == expected
    with Store.open(uri) as store:
        stored = store.read("fsm:1:2:3:default:data")
    assert stored == (expected if kind == "default" else {"tagged": expected})
