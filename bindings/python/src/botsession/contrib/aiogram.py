"""An aiogram 3 FSM storage on BotSession stores::

    from aiogram import Dispatcher
    from botsession import Store
    from botsession.contrib.aiogram import BotSessionStorage

    dp = Dispatcher(storage=BotSessionStorage(Store.open("sqlite:bot.db")))

States and data live in the store as ``<prefix>:<bot>:<chat>:<user>:<destiny>:state`` (a JSON
string) and ``...:data`` (a JSON object), as aiogram's Redis storage names them. Updates of the
data of one key (``update_data``) go through a BotSession engine, so concurrent tasks and threads
never lose each other's changes. Store operations are short for SQLite and memory stores and run
on the event loop; pass ``offload=True`` to run them in a worker thread (for a remote store).
"""
from __future__ import annotations

import asyncio
import functools
from typing import Any, Callable, Dict, Mapping, Optional, TypeVar

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey

from ..engine import Engine
from ..store import Store

T = TypeVar("T")


class BotSessionStorage(BaseStorage):
    def __init__(self, store: Store, *, key_builder: Optional[KeyBuilder] = None,
                 close_store: bool = True, offload: bool = False) -> None:
        """``store``: where states and data live. ``key_builder``: aiogram's key builder
        (default: ``DefaultKeyBuilder(with_bot_id=True, with_destiny=True)``). ``close_store``:
        whether ``close()`` closes the store too. ``offload``: run store calls in a thread."""
        self.store = store
        self.key_builder = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
        self._close_store = close_store
        self._offload = offload
        # update_data's read-modify-write runs in an update of this engine, keyed by the
        # storage key: it is serialised per key.
        self._engine = Engine(store, key=lambda update: update["key"])

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        if self._offload:
            return await asyncio.get_running_loop().run_in_executor(None, functools.partial(function, *args))
        return function(*args)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        name = self.key_builder.build(key, "state")
        value = state.state if isinstance(state, State) else state
        if value is None:
            await self._run(self.store.delete, name)
        else:
            await self._run(self.store.write, name, value)

    async def get_state(self, key: StorageKey) -> Optional[str]:
        value = await self._run(self.store.read, self.key_builder.build(key, "state"))
        return value if isinstance(value, str) else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        name = self.key_builder.build(key, "data")
        if not data:
            await self._run(self.store.delete, name)
        else:
            await self._run(self.store.write, name, dict(data))

    async def get_data(self, key: StorageKey) -> Dict[str, Any]:
        value = await self._run(self.store.read, self.key_builder.build(key, "data"))
        return dict(value) if isinstance(value, dict) else {}

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> Dict[str, Any]:
        name = self.key_builder.build(key, "data")

        def merge() -> Dict[str, Any]:
            # No await between begin and commit: the key is never held across a task switch,
            # so another task's begin on this loop never waits for it.
            def handler(session: Any) -> Dict[str, Any]:
                current = session.get()
                merged = {**(current if isinstance(current, dict) else {}), **data}
                session.set(merged or None)
                return merged
            return self._engine.run({"key": name}, handler)

        return dict(await self._run(merge))

    async def close(self) -> None:
        self._engine.close()
        if self._close_store:
            self.store.close()
