"""A pytest plugin for aiogram's own test suite (scripts/aiogram-suite.sh loads it with
``-p botsession_aiogram_fixtures``): it adds BotSessionStorage to the storages that aiogram's
storage tests run against, and its isolation to the isolations, without changing a test.

aiogram parametrises ``TestStorages`` (tests/test_fsm/storage/test_storages.py) with the names
of storage fixtures (``memory_storage``, ``redis_storage``, ...) and ``TestIsolations``
(test_isolation.py) with isolation fixtures; its ``storage``/``isolation`` fixtures look those
names up. This plugin defines BotSession fixtures and appends their names to those two lists as
the classes are collected. The session fails when no BotSession test was collected (aiogram
renamed something), so the suite cannot pass by running none of them.
"""
from __future__ import annotations

import inspect
import os
import uuid
from typing import Any, AsyncIterator, Dict, List

import pytest

from botsession import Store
from botsession.contrib.aiogram import BotSessionStorage

EXTRA: Dict[str, List[str]] = {
    "storage": ["botsession_memory_storage", "botsession_sqlite_storage", "botsession_url_storage",
                "botsession_postgresql_storage"],
    "isolation": ["botsession_isolation"],
}
CLASSES = {"TestStorages": "storage", "TestIsolations": "isolation"}


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: Any, name: str, obj: Any) -> None:
    argname = CLASSES.get(name)
    if argname is None or not inspect.isclass(obj) or getattr(obj, "_botsession_added", False):
        return None
    marks = []
    for mark in getattr(obj, "pytestmark", []):
        if mark.name == "parametrize" and mark.args and mark.args[0] == argname:
            mark = pytest.mark.parametrize(argname, [*mark.args[1], *EXTRA[argname]], **mark.kwargs).mark
        marks.append(mark)
    obj.pytestmark = marks
    obj._botsession_added = True
    return None


def pytest_collection_modifyitems(session: Any, config: Any, items: List[Any]) -> None:
    if not any("[botsession_" in item.nodeid for item in items):
        raise pytest.UsageError("botsession_aiogram_fixtures: no test of aiogram's suite runs a BotSession fixture")


async def _serve(storage: BotSessionStorage) -> AsyncIterator[BotSessionStorage]:
    try:
        yield storage
    finally:
        await storage.close()


@pytest.fixture()
async def botsession_memory_storage() -> AsyncIterator[BotSessionStorage]:
    async for storage in _serve(BotSessionStorage(Store.open("memory:"))):
        yield storage


@pytest.fixture()
async def botsession_sqlite_storage(tmp_path: Any) -> AsyncIterator[BotSessionStorage]:
    async for storage in _serve(BotSessionStorage(Store.open(f"sqlite:{tmp_path}/fsm.db"))):
        yield storage


@pytest.fixture()
async def botsession_url_storage(tmp_path: Any) -> AsyncIterator[BotSessionStorage]:
    """from_url, store options and json hooks: what a RedisStorage user configures."""
    import json
    storage = BotSessionStorage.from_url(f"sqlite:{tmp_path}/fsm-url.db", table="aiogram_fsm", busy_timeout_ms=2000,
                                         io_threads=2, json_dumps=lambda data: json.dumps(data, sort_keys=True),
                                         json_loads=json.loads)
    async for storage in _serve(storage):
        yield storage


@pytest.fixture()
async def botsession_postgresql_storage() -> AsyncIterator[BotSessionStorage]:
    """On the server of scripts/with-postgres.sh (BOTSESSION_TEST_POSTGRES_URI), in a table of
    its own per test."""
    uri = os.environ.get("BOTSESSION_TEST_POSTGRES_URI")
    if not uri:
        pytest.skip("no BOTSESSION_TEST_POSTGRES_URI (run through scripts/with-postgres.sh)")
    storage = BotSessionStorage.from_url(uri, table=f"aiogram_{uuid.uuid4().hex}")
    async for storage in _serve(storage):
        yield storage


@pytest.fixture()
async def botsession_isolation() -> AsyncIterator[Any]:
    storage = BotSessionStorage(Store.open("memory:"))
    isolation = storage.create_isolation()
    try:
        yield isolation
    finally:
        await isolation.close()
        await storage.close()
