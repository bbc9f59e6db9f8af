"""A python-telegram-bot (v22) persistence on BotSession stores::

    from telegram.ext import Application
    from botsession import Store
    from botsession.contrib.ptb import BotSessionPersistence

    app = Application.builder().token(TOKEN).persistence(
        BotSessionPersistence(Store.open("sqlite:bot.db"))).build()

``user_data``, ``chat_data``, ``bot_data``, ``callback_data`` and conversations are JSON in the
store under ``<prefix>user_data:<id>``, ``<prefix>chat_data:<id>``, ``<prefix>bot_data``,
``<prefix>callback_data`` and ``<prefix>conversation:<name>``, in the encoding of ``codec``
(``TaggedJSON()`` by default, see ``botsession.contrib._codec``): plain JSON stays plain JSON,
and int dict keys, tuples, sets, bytes, datetimes, dates, times and timedeltas are tagged objects
(``{"$dict": [[3, "x"]]}``, ``{"$datetime": "2024-05-01T12:30:00"}``) that read back as they were.
A value the codec cannot encode is refused with ``NotJSONError`` naming the chat, user, bot_data
or conversation and the type, and nothing of that chat (user, ...) is written.

Every store call runs in the persistence's own worker threads (``io_threads``, 8 by default),
never on the event loop. Whatever python-telegram-bot hands over (every ``update_interval``
seconds and at shutdown) is written at once, so ``flush`` has nothing left to do.
python-telegram-bot keeps the newest data in memory between those writes, so ``refresh_*``
reads nothing: a store serves one running instance of a bot (for several, handle sessions with
``botsession.Engine``, whose commits are compare-and-set).

``import_pickle(path, store)`` moves the data of a ``PicklePersistence`` file into a store.
"""
from __future__ import annotations

import json
import pickle
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, TypeVar, Union, cast

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from .._aio import IOThreads
from ..errors import invalid_json, not_json
from ..store import Store
from ._codec import Codec, TaggedJSON, type_name

__all__ = ["BotSessionPersistence", "Codec", "PickledBot", "TaggedJSON", "import_pickle"]

T = TypeVar("T")


class _Layout:
    """Record names and the encoding of each kind of data: shared by the persistence and
    import_pickle."""

    def __init__(self, prefix: str, codec: Optional[Codec]) -> None:
        self.prefix = prefix
        self.codec: Codec = codec if codec is not None else TaggedJSON()

    def _name(self, kind: str, ident: Any = None) -> str:
        return f"{self.prefix}{kind}" if ident is None else f"{self.prefix}{kind}:{ident}"

    @staticmethod
    def _who(kind: str, ident: Any = None) -> str:
        if kind == "user_data":
            return f"user_data of user {ident}"
        if kind == "chat_data":
            return f"chat_data of chat {ident}"
        return kind

    def _encode_data(self, kind: str, ident: Any, data: Any) -> Any:
        """A user's, chat's or the bot's data as the JSON value stored for it."""
        where = self._who(kind, ident)
        if kind != "bot_data" and (isinstance(ident, bool) or not isinstance(ident, int)):
            raise TypeError(f"{where}: the id is a {type_name(ident)}, not an int")
        if not isinstance(data, Mapping):
            raise not_json(f"{where} is a {type_name(data)}, not a dict; nothing was stored")
        # The top level is python-telegram-bot's container (ContextTypes may make it a dict
        # subclass): its items are stored; everything inside is encoded exactly.
        return self.codec.encode(data if type(data) is dict else dict(data.items()), where)

    def _decode_data(self, kind: str, ident: Any, data: Any) -> Dict[Any, Any]:
        where = self._who(kind, ident)
        value = self.codec.decode(data, f"{where} (store key {self._name(kind, ident)})")
        if not isinstance(value, dict):
            raise invalid_json(f"{where} in the store (key {self._name(kind, ident)}) is a "
                               f"{type_name(value)}, not a dict")
        return value

    def _conversation_key(self, name: str, key: ConversationKey) -> str:
        where = f"the key {key!r} of conversation {name!r}"
        if not isinstance(key, tuple):
            raise TypeError(f"{where} is a {type_name(key)}, not a tuple")
        # json.dumps' default form, as earlier versions wrote it, so their entries still match.
        return json.dumps([self.codec.encode(part, where) for part in key])

    def _encode_conversations(self, name: str, states: Mapping[ConversationKey, object]) -> Dict[str, Any]:
        return {self._conversation_key(name, key): self.codec.encode(state, f"the state of conversation {name!r} key {key!r}")
                for key, state in states.items() if state is not None}

    def _encode_callback_data(self, data: CDCData) -> Any:
        buttons, mapping = data
        return [[[button[0], button[1], self.codec.encode(button[2], f"callback_data of keyboard {button[0]!r}")]
                 for button in buttons], self.codec.encode(mapping, "callback_data's mapping")]


class BotSessionPersistence(_Layout, BasePersistence[Dict[Any, Any], Dict[Any, Any], Dict[Any, Any]]):
    def __init__(self, store: Store, *, prefix: str = "ptb:", store_data: Optional[PersistenceInput] = None,
                 update_interval: float = 60, close_store: bool = False, codec: Optional[Codec] = None,
                 io_threads: Optional[int] = None) -> None:
        """``store``: where the data lives. ``prefix``: the start of every key. ``codec``: how
        values become JSON and back (``TaggedJSON()``: lossless for int keys, tuples, sets,
        bytes, datetimes; give it ``encoders=``/``decoders=`` for more types, or pass any object
        with ``encode(value, where)`` and ``decode(data, where)``). ``io_threads``: how many
        worker threads run the store calls (8 by default). ``close_store``: whether ``flush``
        (at the application's shutdown) closes the store."""
        BasePersistence.__init__(self, store_data=store_data, update_interval=update_interval)
        _Layout.__init__(self, prefix, codec)
        self.store = store
        self._close_store = close_store
        self._io_threads = io_threads
        self._io = IOThreads(io_threads, "botsession-ptb")
        # update_conversation reads, changes and writes one record per handler; PTB runs the
        # updates of one handler's conversations concurrently.
        self._conversation_locks: Dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    # -- running store calls ------------------------------------------------------------------

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        return await self._io.run(function, *args)

    def _load_all(self, kind: str) -> Dict[int, Dict[Any, Any]]:
        start = self._name(kind, "")
        result: Dict[int, Dict[Any, Any]] = {}
        for key, value in self.store.items(start):
            suffix = key[len(start):]
            try:
                ident = int(suffix)
            except ValueError:
                ident = None
            if ident is None or str(ident) != suffix:
                raise invalid_json(f"the store key {key!r} does not end in a {kind[:4]} id (an int)")
            result[ident] = self._decode_data(kind, ident, value)
        return result

    def _conversation_lock(self, name: str) -> threading.Lock:
        with self._locks_lock:
            lock = self._conversation_locks.get(name)
            if lock is None:
                lock = self._conversation_locks[name] = threading.Lock()
            return lock

    def _read_conversations(self, record: str) -> Dict[str, Any]:
        value = self.store.read(record)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise invalid_json(f"the conversations in the store (key {record}) are a {type_name(value)}, not a dict")
        return value

    # -- BasePersistence ----------------------------------------------------------------------

    async def get_user_data(self) -> Dict[int, Dict[Any, Any]]:
        return await self._run(self._load_all, "user_data")

    async def get_chat_data(self) -> Dict[int, Dict[Any, Any]]:
        return await self._run(self._load_all, "chat_data")

    async def get_bot_data(self) -> Dict[Any, Any]:
        def load() -> Dict[Any, Any]:
            value = self.store.read(self._name("bot_data"))
            return {} if value is None else self._decode_data("bot_data", None, value)
        return await self._run(load)

    async def get_callback_data(self) -> Optional[CDCData]:
        def load() -> Optional[CDCData]:
            record = self._name("callback_data")
            value = self.store.read(record)
            if value is None:
                return None
            try:
                buttons, mapping = value
                return ([(entry[0], entry[1], self.codec.decode(entry[2], f"callback_data of keyboard {entry[0]!r}"))
                         for entry in buttons], self.codec.decode(mapping, "callback_data's mapping"))
            except (TypeError, ValueError, IndexError) as error:
                raise invalid_json(f"callback_data in the store (key {record}) is not [buttons, mapping]: {error}") from None
        return await self._run(load)

    async def get_conversations(self, name: str) -> ConversationDict:
        record = self._name("conversation", name)

        def load() -> ConversationDict:
            where = f"conversation {name!r} (store key {record})"
            result: ConversationDict = {}
            for text_key, state in self._read_conversations(record).items():
                try:
                    parts = json.loads(text_key)
                except ValueError:
                    parts = None
                if not isinstance(parts, list):
                    raise invalid_json(f"{where} has the key {text_key!r}, which is not a JSON list")
                key = tuple(self.codec.decode(part, where) for part in parts)
                result[cast(ConversationKey, key)] = self.codec.decode(state, f"{where}, key {key!r}")
            return result
        return await self._run(load)

    async def update_conversation(self, name: str, key: ConversationKey, new_state: Optional[object]) -> None:
        record = self._name("conversation", name)
        text_key = self._conversation_key(name, key)
        state = None if new_state is None else self.codec.encode(new_state, f"the state of conversation {name!r} key {key!r}")

        def change() -> None:
            with self._conversation_lock(name):
                conversations = self._read_conversations(record)
                if state is None:
                    conversations.pop(text_key, None)
                else:
                    conversations[text_key] = state
                self.store.write(record, conversations)
        await self._run(change)

    async def update_user_data(self, user_id: int, data: Dict[Any, Any]) -> None:
        value = self._encode_data("user_data", user_id, data)  # here: a snapshot of what was handed over
        await self._run(self.store.write, self._name("user_data", user_id), value)

    async def update_chat_data(self, chat_id: int, data: Dict[Any, Any]) -> None:
        value = self._encode_data("chat_data", chat_id, data)
        await self._run(self.store.write, self._name("chat_data", chat_id), value)

    async def update_bot_data(self, data: Dict[Any, Any]) -> None:
        value = self._encode_data("bot_data", None, data)
        await self._run(self.store.write, self._name("bot_data"), value)

    async def update_callback_data(self, data: CDCData) -> None:
        value = self._encode_callback_data(data)
        await self._run(self.store.write, self._name("callback_data"), value)

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._run(self.store.delete, self._name("chat_data", chat_id))

    async def drop_user_data(self, user_id: int) -> None:
        await self._run(self.store.delete, self._name("user_data", user_id))

    # The data in python-telegram-bot's memory is always at least as new as the store's (it
    # writes it here), so there is nothing to refresh.

    async def refresh_user_data(self, user_id: int, user_data: Dict[Any, Any]) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: Dict[Any, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: Dict[Any, Any]) -> None:
        return None

    async def flush(self) -> None:
        """Called at the application's shutdown: closes the store if ``close_store`` was given,
        and lets the worker threads end (new ones start if the persistence is used again)."""
        if self._close_store:
            await self._run(self.store.close)
        io, self._io = self._io, IOThreads(self._io_threads, "botsession-ptb")
        io.shutdown()


# -- moving from PicklePersistence ---------------------------------------------------------------

# The persistent ids PicklePersistence writes in place of Bot objects
# (telegram/ext/_picklepersistence.py).
_KNOWN_BOT = "a known bot replaced by PTB's PicklePersistence"
_UNKNOWN_BOT = "an unknown bot replaced by PTB's PicklePersistence"


class PickledBot:
    """Stands for a ``telegram.Bot`` that a pickle file refers to (PicklePersistence replaces
    it with the running bot when it loads the file). JSON has no form for it, so the encoding
    refuses it, naming this type and where it is."""

    def __init__(self, known: bool) -> None:
        self.known = known

    def __repr__(self) -> str:
        return f"PickledBot(known={self.known})"


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        if pid in (_KNOWN_BOT, _UNKNOWN_BOT):
            return PickledBot(pid == _KNOWN_BOT)
        raise pickle.UnpicklingError(f"unknown persistent id {pid!r} in a PicklePersistence file")


def _load_pickle(path: Path) -> Any:
    with path.open("rb") as file:
        return _Unpickler(file).load()


_KINDS = ("user_data", "chat_data", "bot_data", "callback_data", "conversations")


def import_pickle(path: Union[str, Path], store: Store, *, prefix: str = "ptb:", codec: Optional[Codec] = None,
                  single_file: Optional[bool] = None) -> Dict[str, int]:
    """Writes the data of a python-telegram-bot ``PicklePersistence(path)`` into ``store``, as
    ``BotSessionPersistence(store, prefix=prefix, codec=codec)`` stores it, and returns how many
    records of each kind were written: ``{"user_data": users, "chat_data": chats, "bot_data": 0
    or 1, "callback_data": 0 or 1, "conversations": conversation states}``.

    ``single_file`` as given to PicklePersistence; by default, one file ``path`` if it exists,
    else the files ``<path>_user_data``, ``<path>_chat_data``, ``<path>_bot_data``,
    ``<path>_callback_data`` and ``<path>_conversations`` (those that exist). Everything is
    encoded before anything is written: a value the codec cannot store (a ``telegram`` object,
    the bot, an instance of your own class) raises ``NotJSONError`` naming the user, chat,
    bot_data or conversation and the type, and the store is left as it was. Records of the
    store that the file has nothing for are left alone. Unpickling runs code the file names:
    import only your own files. Do it while the bot is stopped."""
    path = Path(path)
    if single_file is None:
        single_file = path.is_file()
    data: Dict[str, Any] = {}
    if single_file:
        loaded = _load_pickle(path)
        if not isinstance(loaded, dict):
            raise TypeError(f"{path} holds a {type_name(loaded)}, not PicklePersistence's dict")
        data = {kind: loaded.get(kind) for kind in _KINDS}
    else:
        found = False
        for kind in _KINDS:
            part = Path(f"{path}_{kind}")
            if part.is_file():
                found = True
                data[kind] = _load_pickle(part)
        if not found:
            raise FileNotFoundError(f"no PicklePersistence file at {path} nor {path}_user_data, "
                                    f"{path}_chat_data, ...")

    layout = _Layout(prefix, codec)
    records: List[Tuple[str, Any]] = []
    counts = dict.fromkeys(_KINDS, 0)
    for kind in ("user_data", "chat_data"):
        entries = data.get(kind) or {}
        if not isinstance(entries, Mapping):
            raise TypeError(f"the {kind} of {path} is a {type_name(entries)}, not a dict")
        for ident, value in entries.items():
            records.append((layout._name(kind, ident), layout._encode_data(kind, ident, value)))
            counts[kind] += 1
    if data.get("bot_data") is not None:
        records.append((layout._name("bot_data"), layout._encode_data("bot_data", None, data["bot_data"])))
        counts["bot_data"] = 1
    if data.get("callback_data"):
        records.append((layout._name("callback_data"), layout._encode_callback_data(data["callback_data"])))
        counts["callback_data"] = 1
    conversations = data.get("conversations") or {}
    if not isinstance(conversations, Mapping):
        raise TypeError(f"the conversations of {path} are a {type_name(conversations)}, not a dict")
    for name, states in conversations.items():
        encoded = layout._encode_conversations(name, states)
        records.append((layout._name("conversation", name), encoded))
        counts["conversations"] += len(encoded)
    for key, value in records:
        store.write(key, value)
    return counts
