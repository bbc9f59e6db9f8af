"""An aiogram 3 FSM storage on BotSession stores::

    from aiogram import Dispatcher
    from botsession.contrib.aiogram import BotSessionStorage

    storage = BotSessionStorage.from_url("sqlite:bot.db")   # or BotSessionStorage(Store.open(...))
    dp = Dispatcher(storage=storage, events_isolation=storage.create_isolation())

States and data live in the store as ``<prefix>:<bot>:<chat>:<user>:<destiny>:state`` (a JSON
string) and ``...:data`` (a JSON object, the text of ``json_dumps``), as aiogram's Redis storage
names them. No store call blocks the event loop: one that could only wait for a lock (memory,
SQLite, file stores) is tried on the loop with waiting off and goes to the storage's I/O threads
(``io_threads``, 8 by default) only when it would wait; other stores' calls always run there.
``update_data`` is atomic (one merge in the store, ``Store.merge_json``, or with custom json
hooks a read-modify-write in an engine update), so concurrent tasks, threads and processes never
lose each other's changes.
It answers as aiogram's own storages do: ``set_data`` with anything but a dict raises
``DataNotDictLikeError``; ``get_data`` and ``update_data`` return new dicts, which the caller
may change without changing what is stored.

A group that becomes a supergroup keeps its states and data with ``ChatMigrationMiddleware``::

    dp.message.outer_middleware(ChatMigrationMiddleware(storage))
"""
from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Callable, Dict, List, Mapping, Optional, Tuple, Union

from aiogram.dispatcher.middlewares.base import BaseMiddleware
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (BaseEventIsolation, BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType,
                                      StorageKey)

from .._aio import IOThreads, call_store
from ..engine import Engine
from ..errors import ConflictError, misuse
from ..store import Store

JsonDumps = Callable[..., Union[str, bytes]]
JsonLoads = Callable[..., Any]


class BotSessionStorage(BaseStorage):
    def __init__(self, store: Store, *, key_builder: Optional[KeyBuilder] = None, close_store: bool = True,
                 io_threads: Optional[int] = None, json_dumps: JsonDumps = json.dumps,
                 json_loads: JsonLoads = json.loads) -> None:
        """``store``: where states and data live. ``key_builder``: aiogram's key builder
        (default: ``DefaultKeyBuilder(with_bot_id=True, with_destiny=True)``). ``close_store``:
        whether ``close()`` closes the store too. ``io_threads``: how many threads run store
        calls (8 by default). ``json_dumps``/``json_loads``: how data becomes the JSON text the
        store holds and back, as RedisStorage's (``json_dumps`` returns str or UTF-8 bytes of
        JSON; both may run in the I/O threads)."""
        self.store = store
        self.key_builder = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
        self.json_dumps = json_dumps
        self.json_loads = json_loads
        self._close_store = close_store
        self._closed = False
        self._threads = IOThreads(io_threads)
        # With json's own dumps and loads, the stored text is the data object itself, and
        # update_data is one merge in the store. Other hooks may shape the text any way (an
        # envelope, tagged types), so the merge must run in Python, in an update of an engine
        # (made when first needed) keyed by the storage key, which serialises it per key.
        self._merges_in_store = json_dumps is json.dumps and json_loads is json.loads
        self._engine: Optional[Engine] = None

    @classmethod
    def from_url(cls, store_uri: str, *, key_builder: Optional[KeyBuilder] = None, io_threads: Optional[int] = None,
                 json_dumps: JsonDumps = json.dumps, json_loads: JsonLoads = json.loads,
                 **store_options: Any) -> "BotSessionStorage":
        """A storage on ``Store.open(store_uri, **store_options)``, which ``close()`` closes:
        ``BotSessionStorage.from_url("sqlite:bot.db", busy_timeout_ms=5000)``. Opening happens
        here, before the storage serves the loop (a ``postgresql:`` store connects)."""
        store = Store.open(store_uri, **store_options)
        try:
            return cls(store, key_builder=key_builder, close_store=True, io_threads=io_threads,
                       json_dumps=json_dumps, json_loads=json_loads)
        except BaseException:
            store.close()
            raise

    def create_isolation(self) -> "BotSessionEventIsolation":
        """An events isolation for ``Dispatcher(events_isolation=...)``: the updates of one
        storage key are handled one after another (see BotSessionEventIsolation)."""
        return BotSessionEventIsolation(key_builder=self.key_builder)

    # -- JSON through the hooks ------------------------------------------------------------

    def _dump(self, data: Dict[str, Any]) -> Union[str, bytes]:
        text = self.json_dumps(data)
        if isinstance(text, bytearray):
            text = bytes(text)
        if not isinstance(text, (str, bytes)):
            raise TypeError(f"json_dumps returned {type(text).__name__}, not JSON text (str or bytes)")
        return text

    def _load(self, text: Optional[str]) -> Dict[str, Any]:
        if text is None:
            return {}
        value = self.json_loads(text)
        return dict(value) if isinstance(value, dict) else {}

    async def _io(self, function: Callable[..., Any], *args: Any) -> Any:
        """A store call: tried on the loop with waiting off when the store waits for nothing
        but locks (memory, SQLite, file), else, or when it would wait, in the engine's I/O
        threads (botsession._aio.call_store)."""
        if self._closed:
            raise misuse("this BotSessionStorage is closed")
        return await call_store(self._threads, self.store._lock_waits_only, function, *args)

    # -- BaseStorage -----------------------------------------------------------------------

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        name = self.key_builder.build(key, "state")
        value = state.state if isinstance(state, State) else state
        if value is None:
            await self._io(self.store.delete, name)
        else:
            await self._io(self.store.write, name, value)

    async def get_state(self, key: StorageKey) -> Optional[str]:
        value = await self._io(self.store.read, self.key_builder.build(key, "state"))
        return value if isinstance(value, str) else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            raise DataNotDictLikeError(f"Data must be a dict or dict-like object, got {type(data).__name__}")
        name = self.key_builder.build(key, "data")
        if not data:
            await self._io(self.store.delete, name)
        else:
            # Encoded now: what is stored is the data as it was at the call.
            await self._io(self.store.write_json, name, self._dump(data))

    async def get_data(self, key: StorageKey) -> Dict[str, Any]:
        name = self.key_builder.build(key, "data")
        return await self._io(lambda: self._load(self.store.read_json(name)))

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> Dict[str, Any]:
        """Merges ``data`` into the stored data (as ``dict.update``: a mapping or key-value
        pairs) and returns the result, a new dict. Concurrent tasks, threads and processes
        lose no change: with the default json hooks it is one atomic store call
        (``Store.merge_json``), with others a read-modify-write in an engine update."""
        name = self.key_builder.build(key, "data")
        changes = dict(data)
        if self._merges_in_store:
            return self._load(await self._io(self.store.merge_json, name, self._dump(changes)))
        if self._closed:
            raise misuse("this BotSessionStorage is closed")
        if self._engine is None:
            # The storage key rides in as a chat id, which the built-in `chat` strategy turns
            # into the key as it is: no Python key function called back for every update_data.
            self._engine = Engine(self.store)

        def merge() -> Dict[str, Any]:
            # No await between begin and commit, which both run in this thread: the key is
            # held only while this function runs.
            def handler(session: Any) -> Dict[str, Any]:
                merged = self._load(session.get_json())
                if changes:
                    merged.update(changes)
                    session.set_json(self._dump(merged) if merged else None)
                return merged
            # Another process may write between the read and the commit (CONFLICT: nothing
            # was written): merge again after a short random pause, for up to 10 s, as
            # botsession_store_merge does.
            deadline = time.monotonic() + 10
            pause = 0.001
            while True:
                try:
                    return self._engine.run({"message": {"chat": {"id": name}}}, handler, attempts=1)  # type: ignore[union-attr]
                except ConflictError:
                    if time.monotonic() + pause > deadline:
                        raise
                    time.sleep(random.uniform(0, pause))
                    pause = min(pause * 2, 0.02)

        # Not tried on the loop: its pauses would block it.
        return await self._threads.run(merge)

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int, *, bot_id: Optional[int] = None) -> int:
        """Moves every state and data of chat ``old_chat_id`` to ``new_chat_id`` (a group that
        became a supergroup) and returns how many keys moved: every user's, every topic's, and
        under ``FSMStrategy.CHAT`` the chat's own (whose user part is the chat id too). Each key
        moves atomically (``Store.move``) and never over a key the new chat already has, which
        keeps its value. Needs aiogram's ``DefaultKeyBuilder`` (its key layout is known);
        ``bot_id`` is required when it has ``with_bot_id``. Keys of business connections are
        not moved (they belong to private chats, which never migrate)."""
        builder = self.key_builder
        if not isinstance(builder, DefaultKeyBuilder):
            raise TypeError(f"migrate_chat knows the key layout of aiogram's DefaultKeyBuilder, not of {type(builder).__name__}; "
                            "move the keys with storage.store.move(old_key, new_key)")
        sep = builder.separator
        head = builder.prefix + sep
        if builder.with_bot_id:
            if bot_id is None:
                raise TypeError("this storage's keys start with the bot id (DefaultKeyBuilder(with_bot_id=True)): "
                                "pass bot_id=bot.id")
            head += str(bot_id) + sep
        old, new = str(int(old_chat_id)), str(int(new_chat_id))
        if old == new:
            return 0

        def move_all() -> int:
            moved = 0
            for key in list(self.store.keys(head + old + sep)):
                # chat, [thread], user, [destiny], part: the chat part, and a user part equal to
                # the chat (FSMStrategy.CHAT), become the new chat's.
                parts = key[len(head):].split(sep)
                renamed = head + sep.join(new if part == old and i < len(parts) - 1 else part
                                          for i, part in enumerate(parts))
                if self.store.move(key, renamed):
                    moved += 1
            return moved

        if self._closed:
            raise misuse("this BotSessionStorage is closed")
        return int(await self._threads.run(move_all))

    async def close(self) -> None:
        """Ends the storage (and closes its store, unless ``close_store=False``); closing again
        does nothing."""
        if self._closed:
            return
        self._closed = True
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()
        if self._close_store:
            await self._threads.run(self.store.close)
        self._threads.shutdown()


class BotSessionEventIsolation(BaseEventIsolation):
    """``lock(key)`` handles the updates of one storage key one after another, and those of other
    keys at once. It waits on an asyncio lock per key and event loop (as aiogram's
    SimpleEventIsolation does), so a waiting update holds no thread and no store connection, and
    idle keys keep no lock. It serialises within one process: across processes the store offers
    no lock, only the engine's compare-and-set, which keeps ``update_data`` lossless there, while
    ``set_data`` and ``set_state`` are last-writer-wins."""

    def __init__(self, key_builder: Optional[KeyBuilder] = None) -> None:
        self.key_builder = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
        self._guard = threading.Lock()
        # (loop, key) -> [its lock, how many tasks hold it or wait for it]
        self._locks: Dict[Tuple[int, str], List[Any]] = {}

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        name = (id(asyncio.get_running_loop()), self.key_builder.build(key, "lock"))
        with self._guard:
            entry = self._locks.get(name)
            if entry is None:
                entry = self._locks[name] = [asyncio.Lock(), 0]
            entry[1] += 1
        try:
            async with entry[0]:
                yield None
        finally:
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._locks[name]

    async def close(self) -> None:
        pass


class ChatMigrationMiddleware(BaseMiddleware):
    """Follows a group's move to a supergroup for a ``BotSessionStorage``: a message carrying
    ``migrate_to_chat_id`` (sent in the old group) or ``migrate_from_chat_id`` (sent in the new
    supergroup) first moves the old chat's states and data to the new chat id
    (``BotSessionStorage.migrate_chat``), then the handler runs with ``state`` and ``raw_state``
    of the NEW chat, so it sees the moved state. The second announcement finds nothing left.
    Register it on messages, after the dispatcher's FSM middleware::

        dp.message.outer_middleware(ChatMigrationMiddleware(storage))
    """

    def __init__(self, storage: BotSessionStorage) -> None:
        self.storage = storage

    async def __call__(self, handler: Callable[[Any, Dict[str, Any]], Any], event: Any, data: Dict[str, Any]) -> Any:
        to_id = getattr(event, "migrate_to_chat_id", None)
        from_id = getattr(event, "migrate_from_chat_id", None)
        chat = getattr(event, "chat", None)
        if chat is not None and (to_id or from_id):
            old, new = (chat.id, to_id) if to_id else (from_id, chat.id)
            bot = data.get("bot")
            await self.storage.migrate_chat(old, new, bot_id=bot.id if bot is not None else None)
            state = data.get("state")
            if isinstance(state, FSMContext) and state.key.chat_id == old:
                key = state.key
                moved = StorageKey(bot_id=key.bot_id, chat_id=new, user_id=new if key.user_id == old else key.user_id,
                                   thread_id=key.thread_id, business_connection_id=key.business_connection_id,
                                   destiny=key.destiny)
                data["state"] = FSMContext(storage=state.storage, key=moved)
                data["raw_state"] = await data["state"].get_state()
        return await handler(event, data)
