"""Engines (the session middleware's configuration) and updates (one update being handled)."""
from __future__ import annotations

import asyncio
import inspect
import json
import warnings
from ctypes import byref, c_void_p
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Tuple, TypeVar, Union

from . import _aio, _native
from ._native import lib
from ._text import c_text, decode, encode, json_argument, optional_text
from ._aio import IOThreads
from ._handle import Closable, Handle
from .errors import BusyError, ConflictError, _pending_threads, check, filling_callback, guarded, invalid_json, invalid_option, misuse
from .store import Store

#: A key function: the update as a dict in, the key out (str or int), or None for "no key".
KeyFunction = Callable[[Dict[str, Any]], Union[str, int, None]]
T = TypeVar("T")

_UNSET: Any = object()


@dataclass
class Fragment:
    """One session of every update, for ``Engine(fragments={"name": Fragment(...)})``.

    ``key`` is a strategy name (``"chat"``, ``"user"``, ``"user-chat"``, ``"chat-topic"``,
    ``"business"``) or a key function; ``initial`` a value or a function that makes one (called
    each time a session starts); ``store`` defaults to a memory store of the fragment's own.
    """

    store: Optional[Store] = None
    key: Union[str, KeyFunction, None] = None
    prefix: Optional[str] = None
    initial: Any = _UNSET
    lazy: Optional[bool] = None


def _fragment_options(fragment: Fragment) -> Dict[str, Any]:
    options: Dict[str, Any] = {}
    if isinstance(fragment.key, str):
        options["key"] = fragment.key
    elif fragment.key is not None and not callable(fragment.key):
        raise TypeError("key must be a strategy name or a function")
    if fragment.prefix is not None:
        options["prefix"] = fragment.prefix
    if fragment.initial is not _UNSET and not callable(fragment.initial):
        options["initial"] = fragment.initial
    if fragment.lazy is not None:
        options["lazy"] = fragment.lazy
    return options


class Engine(Closable):
    """The session middleware's configuration::

        engine = Engine(Store.open("sqlite:bot.db"), initial={"count": 0})
        with engine.update(update) as session:
            data = session.get()
            session.set({"count": data["count"] + 1})

    Or with fragments: ``Engine(fragments={"chat": Fragment(...), "user": Fragment(...)})``.
    An engine may be shared by threads and by asyncio tasks.
    """

    def __init__(
        self,
        store: Optional[Store] = None,
        *,
        key: Union[str, KeyFunction, None] = None,
        prefix: Optional[str] = None,
        initial: Any = _UNSET,
        lazy: Optional[bool] = None,
        fragments: Optional[Mapping[str, Fragment]] = None,
        max_value_bytes: Optional[int] = None,
        lock_timeout_ms: Optional[int] = None,
        follow_chat_migrations: Optional[bool] = None,
        io_threads: Optional[int] = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise invalid_option(f"unknown engine option{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                                 f"the options are {', '.join(_ENGINE_OPTIONS)}")
        single = Fragment(store=store, key=key, prefix=prefix, initial=initial, lazy=lazy)
        if fragments is not None and single != Fragment():
            raise invalid_option("give either fragments or the single session's options (store, key, prefix, initial, lazy), not both")
        options: Dict[str, Any] = {}
        if fragments is not None:
            options["fragments"] = {name: _fragment_options(f) for name, f in fragments.items()}
        else:
            options.update(_fragment_options(single))
        if max_value_bytes is not None:
            options["max_value_bytes"] = max_value_bytes
        if lock_timeout_ms is not None:
            options["lock_timeout_ms"] = lock_timeout_ms
        if follow_chat_migrations is not None:
            options["follow_chat_migrations"] = follow_chat_migrations

        # Store I/O of the asyncio API runs in these threads (`run_io`).
        self._io = IOThreads(io_threads, "botsession-io")
        # What the asyncio API needs to know: how long a key may be waited for, which sessions
        # are lazy (their first get reads), and whether any store may block (memory stores
        # cannot: their calls run inline on the loop, which measures faster than a thread hop).
        self._lock_timeout_s = (10_000 if lock_timeout_ms is None else lock_timeout_ms) / 1000
        configured = dict(fragments) if fragments is not None else {None: single}
        self._lazy = frozenset(name for name, f in configured.items() if f.lazy)
        self._blocking = frozenset(name for name, f in configured.items() if f.store is not None and f.store._blocking)
        self._blocking_io = bool(self._blocking)
        # Whether every store waits for nothing but locks (memory, SQLite, file): then reads are
        # tried on the loop with waiting off first (`_aio.call_store`).
        self._lock_waits_only = all(f.store is None or f.store._lock_waits_only for f in configured.values())
        self._described = {name: (f.store._description if f.store is not None else "its own memory store")
                           for name, f in configured.items()}
        out = c_void_p()
        check(lib.botsession_engine_new(encode(options, "the engine options"), byref(out)))
        # Closing waits for a begin in flight on another thread (Handle).
        self._handle = Handle(out.value, lib.botsession_engine_free, "engine")
        self._fragment_names = frozenset(fragments or ())
        # Fragment names as the C API takes them, encoded once.
        self._c_names: Dict[str, bytes] = {name: c_text(name, "fragment name") for name in self._fragment_names}
        # Python objects the C engine may call into or keeps alive: stores, callbacks.
        self._keep: List[Any] = []
        try:
            for name, fragment in (fragments.items() if fragments is not None else [(None, single)]):
                self._configure(name, fragment)
        except BaseException:
            self.close()
            raise

    def _configure(self, name: Optional[str], fragment: Fragment) -> None:
        c_name = optional_text(name, "fragment name")
        with self._handle as engine:
            if fragment.store is not None:
                with fragment.store._handle as store:
                    check(lib.botsession_engine_set_store(engine, c_name, store))
                self._keep.append(fragment.store)
            if callable(fragment.key):
                callback = _native.KEY_FN(_key_callback(fragment.key))
                check(lib.botsession_engine_set_key_fn(engine, c_name, callback, None))
                self._keep.append(callback)
            if fragment.initial is not _UNSET and callable(fragment.initial):
                callback = _native.INITIAL_FN(_initial_callback(fragment.initial))
                check(lib.botsession_engine_set_initial_fn(engine, c_name, callback, None))
                self._keep.append(callback)

    def _c_fragment(self, fragment: Optional[str]) -> Optional[bytes]:
        """A fragment name as the C API takes it (None for the single session)."""
        if fragment is None:
            return None
        return self._c_names.get(fragment) or c_text(fragment, "fragment")

    def __repr__(self) -> str:
        if None in self._described:
            return f"<botsession.Engine single session on {self._described[None]}>"
        parts = ", ".join(f"{name!r} on {where}" for name, where in self._described.items())
        return f"<botsession.Engine fragments {parts}>"

    def _lock_names(self, update_json: bytes) -> List[Tuple[str, str]]:
        """The key locks an update needs (botsession_lock_names); nothing is locked."""
        out = c_void_p()
        with self._handle as engine:
            status = lib.botsession_lock_names(engine, update_json, byref(out))
        if status or _pending_threads[0]:
            check(status)
        return [tuple(pair) for pair in json.loads(_native.take_string(out.value))]  # type: ignore[misc]

    @property
    def fragments(self) -> frozenset:
        """The names of the engine's fragments (empty for a single session)."""
        return self._fragment_names

    def update(self, update: Union[Mapping[str, Any], str, bytes]) -> "Update":
        """An update to handle, as a context manager: ``with engine.update(u) as session:``
        (or ``async with``) begins it, commits when the block ends normally and rolls back when
        it raises. ``update`` is a dict (as Telegram sends it) or its JSON text."""
        if self._handle.closed:
            raise misuse("this engine is closed")
        return Update(self, update)

    def run(self, update: Union[Mapping[str, Any], str, bytes], handler: Callable[["Update"], T], *, attempts: int = 3) -> T:
        """Runs ``handler(session)`` for ``update`` and commits, re-running it from the start
        (at most ``attempts`` times in all) when the commit reports a concurrent writer
        (ConflictError), which always means nothing was written. PartialCommitError (a commit
        that failed after writing some of its stores) is never re-run: the handler's change
        would apply twice. A re-run repeats the handler's side effects, so send replies after
        the update is committed, with what the handler returns."""
        for attempt in range(1, attempts + 1):
            try:
                with self.update(update) as session:
                    return handler(session)
            except ConflictError:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def arun(self, update: Union[Mapping[str, Any], str, bytes],
                   handler: Callable[["Update"], Union[T, Awaitable[T]]], *, attempts: int = 3) -> T:
        """``run`` for asyncio, through ``async with``: the handler may be a coroutine function.
        The update waits for its keys on the loop, holding no thread; reading and committing run
        in the engine's I/O threads. A lazy session on a store that may block is read with
        ``await session.aget()``, so give such a handler as a coroutine function (a plain
        ``get`` of it is MisuseError: it would block the loop)."""
        for attempt in range(1, attempts + 1):
            try:
                async with self.update(update) as session:
                    result = handler(session)
                    if inspect.isawaitable(result):
                        result = await result
                    return result  # type: ignore[return-value]
            except ConflictError:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def run_io(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in one of this engine's I/O threads (``io_threads``, default 8):
        how asyncio code (the adapters) calls a store without blocking the event loop."""
        return await self._io.run(function, *args)

    def stats(self) -> Dict[str, Any]:
        """What the engine has done since it was made (botsession_engine_stats): ``begins``,
        ``commits``, ``rollbacks``, ``reads``, ``writes``, ``deletes``, ``skipped_writes``,
        ``conflicts``, ``busy``, ``chat_migrations``, ``chat_migrations_skipped``,
        ``lock_wait_ms`` and ``store_latency_us`` (``{"p50", "p99", "max", "count"}``).
        Any thread may call it at any time."""
        out = c_void_p()
        with self._handle as engine:
            check(lib.botsession_engine_stats(engine, byref(out)))
        return json.loads(_native.take_string(out.value))  # type: ignore[arg-type]

    def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """Moves the sessions of chat ``old_chat_id`` to ``new_chat_id`` (a group that became a
        supergroup; botsession_migrate_chat): every fragment keyed by the chat (``chat``,
        ``chat-topic``, ``user-chat``), atomically per store, never overwriting a session the
        new chat already has. Nothing to move is not an error; ``stats()``'s
        ``chat_migrations`` and ``chat_migrations_skipped`` say what happened. Blocks for
        store I/O: in asyncio code use ``amigrate_chat``."""
        old, new = _chat_id(old_chat_id, "old_chat_id"), _chat_id(new_chat_id, "new_chat_id")
        with self._handle as engine:
            check(lib.botsession_migrate_chat(engine, old, new))

    async def amigrate_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """``migrate_chat`` in the engine's I/O threads, so the event loop never waits."""
        await self.run_io(self.migrate_chat, old_chat_id, new_chat_id)

    def close(self) -> None:
        """Releases the engine; updates still open keep it alive until they end."""
        handle = getattr(self, "_handle", None)  # absent when __init__ failed early
        if handle is not None:
            handle.close()
        io = getattr(self, "_io", None)
        if io is not None:
            io.shutdown()


def _chat_id(value: Any, name: str) -> int:
    """A Telegram chat id: an int in int64's range (bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int (a Telegram chat id such as -1001234567890), not {type(value).__name__}")
    if not -(1 << 63) <= value < (1 << 63):
        raise ValueError(f"{name} {value} is outside the 64-bit range of Telegram chat ids")
    return value


def _key_callback(function: KeyFunction) -> Callable[[Optional[int], bytes, int], int]:
    def call(_user_data: Optional[int], update_json: bytes, out: int) -> int:
        def body() -> None:
            key = function(json.loads(update_json))
            if key is None:
                return
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"a key function must return str, int or None, not {type(key).__name__}")
            _native.buffer_set(out, str(key).encode("utf-8"))
        return guarded(body)
    return call


def _initial_callback(function: Callable[[], Any]) -> Callable[[Optional[int], int], int]:
    return lambda _user_data, out: filling_callback(function, out)


BUSY = 11  # BOTSESSION_BUSY

_ENGINE_OPTIONS = ("store", "key", "prefix", "initial", "lazy", "fragments", "max_value_bytes", "lock_timeout_ms",
                   "follow_chat_migrations", "io_threads")


class Update:
    """One update being handled: its sessions, read at ``begin`` (strict) or at the first
    ``get`` (lazy), and written back at ``commit``. Belongs to one thread (or task) at a time.

    ``get(fragment)``/``set(value, fragment)`` work on Python values; ``get_json``/``set_json``
    on the exact JSON text. With fragments, they can also be reached as attributes:
    ``session.chat``, ``session.chat = {...}``. After ``commit`` or ``rollback`` every call
    raises MisuseError.

    Use it in a ``with`` (or ``async with``) block, or end it with ``commit()`` or
    ``rollback()`` yourself: a begun update holds its session keys until it ends, and one that
    is only dropped ends when the garbage collector gets to it (it rolls back and emits a
    ResourceWarning). That can be much later than you think: an update still referenced by a
    traceback (``except Exception as error:`` keeps ``error.__traceback__``, and with it the
    handler's frame and its variables) keeps its keys, so the next update of the same chat
    waits up to ``lock_timeout_ms`` (10 s by default) and then raises BusyError.
    """

    __slots__ = ("_engine", "_update", "_pointer", "_state", "_out", "_out_ref", "_gates", "_names", "_unread")

    def __new__(cls, engine: Engine, update: Any) -> "Update":
        # Engines with fragments get the subclass that reaches fragments as attributes; the
        # plain class keeps attribute assignment fast.
        if cls is Update and engine._fragment_names:
            cls = FragmentUpdate
        return object.__new__(cls)

    def __init__(self, engine: Engine, update: Union[Mapping[str, Any], str, bytes]) -> None:
        set_field = object.__setattr__
        set_field(self, "_state", 0)  # 0 new, 1 open, 2 ended; first, for __del__
        set_field(self, "_engine", engine)
        if isinstance(update, (str, bytes)):
            set_field(self, "_update", json_argument(update, "the update"))
        elif isinstance(update, dict):
            set_field(self, "_update", encode(update, "the update"))
        elif isinstance(update, Mapping):
            set_field(self, "_update", encode(dict(update), "the update"))
        else:
            raise invalid_json(f"the update is a {type(update).__name__}, not a JSON object: an update is a JSON "
                               "object (a dict such as {'update_id': 1, 'message': {...}}) or its JSON text")
        set_field(self, "_pointer", None)
        # The asyncio API's: the loop's key gates and the keys held there, and the lazy sessions
        # not read yet, whose first read must not run on the loop (None: not begun with async with).
        set_field(self, "_gates", None)
        set_field(self, "_names", None)
        set_field(self, "_unread", None)
        # One out-parameter for every call of this update (an update is used by one thread).
        out = c_void_p()
        set_field(self, "_out", out)
        set_field(self, "_out_ref", byref(out))

    # -- beginning and ending ---------------------------------------------------------------

    def begin(self) -> "Update":
        """Begins the update (``with`` does this): resolves keys, waits for them, reads strict
        sessions."""
        if self._state:
            raise misuse("this update has already begun")
        with self._engine._handle as engine_pointer:
            status = lib.botsession_begin(engine_pointer, self._update, self._out_ref)
        if status or _pending_threads[0]:
            check(status)
        object.__setattr__(self, "_pointer", self._out.value)
        object.__setattr__(self, "_state", 1)
        return self

    def _end(self) -> int:
        pointer = self._open_pointer()
        object.__setattr__(self, "_state", 2)
        object.__setattr__(self, "_pointer", None)
        return pointer

    def commit(self) -> None:
        """Writes back what the handler left and ends the update (whatever the result)."""
        check(lib.botsession_commit(self._end()))

    def rollback(self) -> None:
        """Ends the update without writing anything. Ending an ended update does nothing."""
        if self._state == 1:
            lib.botsession_rollback(self._end())
        object.__setattr__(self, "_state", 2)

    def __enter__(self) -> "Update":
        return self.begin() if self._state == 0 else self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if self._state == 1:
            if exc_type is None:
                status = lib.botsession_commit(self._end())
                if status or _pending_threads[0]:
                    check(status)
            else:
                lib.botsession_rollback(self._end())

    # -- asyncio: nothing here blocks the event loop ----------------------------------------
    #
    # `async with` waits for the update's keys on the loop (KeyGates: no thread is held while
    # a chat is busy), begins without waiting (botsession_begin_nowait, inline: no I/O), reads
    # the strict sessions and commits in the engine's I/O threads (inline when every store is
    # a memory store, which cannot block), and reads a lazy session in a thread at its first
    # `await aget()`.

    async def __aenter__(self) -> "Update":
        if self._state != 0:
            return self
        engine = self._engine
        loop = asyncio.get_running_loop()
        gates = _aio.gates_of(loop)
        deadline = loop.time() + engine._lock_timeout_s
        names = engine._lock_names(self._update)
        await gates.acquire(names, deadline, self._busy)
        set_field = object.__setattr__
        set_field(self, "_gates", gates)
        set_field(self, "_names", names)
        try:
            await self._begin_on_loop(loop, deadline)
        except BaseException:
            if self._state != 1:
                self._release_gates()
            raise
        set_field(self, "_unread", set(engine._lazy))
        return self

    def _busy(self, name: Tuple[str, str]) -> BaseException:
        return BusyError(BUSY, f"timed out after {self._engine._lock_timeout_s * 1000:.0f} ms waiting for key {name[1]!r} "
                               "of another update (in this event loop); commit or roll back that update, or raise lock_timeout_ms")

    async def _begin_on_loop(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        """begin_nowait on the loop (it never waits: another thread, loop or engine may hold a
        key this loop does not know of; then it is tried again, pausing on the loop, until the
        deadline), then the strict sessions' reads off it."""
        engine = self._engine
        pause = 0.001
        while True:
            with engine._handle as engine_pointer:
                status = lib.botsession_begin_nowait(engine_pointer, self._update, self._out_ref)
            if status != BUSY:
                break
            if loop.time() + pause > deadline:
                raise BusyError(BUSY, f"timed out after {engine._lock_timeout_s * 1000:.0f} ms waiting for a key of this "
                                      "update that an update of another thread, event loop or engine holds; commit or "
                                      "roll back that update, or raise lock_timeout_ms")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)
        if status or _pending_threads[0]:
            check(status)
        object.__setattr__(self, "_pointer", self._out.value)
        object.__setattr__(self, "_state", 1)
        if engine._blocking_io and engine._lock_waits_only:
            # Tried on the loop with waiting off: a read that would wait fails having read
            # nothing more (sessions read already stay read), then goes to a thread.
            before = lib.botsession_thread_nowait(1)
            try:
                self._read_sessions()
                return
            except BusyError:
                pass
            except BaseException:
                self.rollback()
                raise
            finally:
                lib.botsession_thread_nowait(before)
        await self._off_loop(self._read_sessions, engine._blocking_io)

    def _read_sessions(self) -> None:
        check(lib.botsession_read_sessions(self._pointer))

    async def _off_loop(self, call: Callable[[], Any], blocking: bool) -> Any:
        """``call()`` of `async with`'s begin or end, in the engine's I/O threads (inline when
        it cannot block). On a failure the update is rolled back. When the task is cancelled
        meanwhile, the call still ends in its thread; then the update is rolled back (if still
        open) and its keys are given back, since no ``async with`` body or exit will run for it."""
        if not blocking:
            try:
                return call()
            except BaseException:
                self.rollback()
                raise
        try:
            # An engine closed meanwhile still finishes its open updates (in a thread of their own).
            running = self._engine._io.submit(call, finishing=True)
            return await asyncio.wrap_future(running)
        except asyncio.CancelledError:
            loop = asyncio.get_running_loop()

            def abandon(_: Any) -> None:
                self.rollback()  # in the worker, now that the call is done: never on two threads at once
                try:
                    loop.call_soon_threadsafe(self._release_gates)
                except RuntimeError:  # the loop is gone, and its key gates with it
                    pass

            running.add_done_callback(abandon)
            raise
        except BaseException:
            self.rollback()
            raise

    async def _in_thread_to_the_end(self, call: Callable[[], Any]) -> Any:
        """``call()`` in the engine's I/O threads for the handler's body (a lazy read): when
        the task is cancelled meanwhile, waits for the call to end before the cancellation goes
        on, so the body (which may catch it) never finds its update used by a thread."""
        running = asyncio.wrap_future(self._engine._io.submit(call, finishing=True))
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            while not running.done():
                try:
                    await asyncio.shield(running)
                except asyncio.CancelledError:
                    continue
                except BaseException:
                    break
            raise

    def _release_gates(self) -> None:
        gates, names = self._gates, self._names
        if gates is not None:
            object.__setattr__(self, "_gates", None)
            gates.release(names)

    async def __aexit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if self._state != 1:
            self._release_gates()
            return
        try:
            if exc_type is None:
                await self._off_loop(self.commit, self._engine._blocking_io)
            else:
                self.rollback()
        except asyncio.CancelledError:
            raise  # the keys are given back when the commit's thread is done (_off_loop)
        except BaseException:
            self.rollback()
            self._release_gates()
            raise
        self._release_gates()

    async def aget(self, fragment: Optional[str] = None) -> Any:
        """``get`` for asyncio code: a lazy session's first read runs in the engine's I/O
        threads, not on the event loop. (Strict sessions were read by ``async with``.)"""
        unread = self._unread
        if unread is not None and fragment in unread and fragment in self._engine._blocking:
            return decode(await self._in_thread_to_the_end(lambda: self.get_json(fragment, _off_loop=True)))
        return self.get(fragment)

    def __del__(self) -> None:
        # An update dropped without commit or rollback: roll back, so its keys are released,
        # then say so (a ResourceWarning, like an unclosed file): until it was collected, it
        # held its keys and made the next update of its chats wait.
        gates = getattr(self, "_gates", None)  # absent when __init__ failed early
        if gates is not None:  # an async update: give its keys back on its loop too
            try:
                gates._loop.call_soon_threadsafe(gates.release, self._names)
            except RuntimeError:  # the loop is gone, and its gates with it
                pass
        if self._state == 1:
            try:
                key = self._describe_keys()
                self.rollback()
                warnings.warn(f"an update of {key} was dropped without commit or rollback and was rolled "
                              "back when collected; until then it held its keys, and updates of the same "
                              "chat waited for them (BusyError after lock_timeout_ms). Use `with "
                              "engine.update(...)`, or call commit() or rollback()",
                              ResourceWarning, source=self)
            except Exception:
                pass

    def _describe_keys(self) -> str:
        keys = []
        for name in sorted(self._engine._fragment_names) or [None]:
            try:
                key = self.key(name)
            except Exception:
                key = None
            if key is not None:
                keys.append(f"key {key!r}" if name is None else f"fragment {name!r} (key {key!r})")
        return ", ".join(keys) if keys else "no session key"

    # -- the handler's operations -----------------------------------------------------------

    def _open_pointer(self) -> int:
        if self._state == 1:
            return self._pointer  # type: ignore[return-value]
        if self._state == 0:
            raise misuse("this update has not begun; use it in a with block or call begin()")
        raise misuse("this update was already committed or rolled back; handle the next update with engine.update()")

    def get_json(self, fragment: Optional[str] = None, *, _off_loop: bool = False) -> Optional[str]:
        """The session's JSON text, or None when there is none."""
        unread = self._unread
        if unread is not None and fragment in unread:
            if not _off_loop and fragment in self._engine._blocking:
                raise misuse(f"the lazy session {'' if fragment is None else repr(fragment) + ' '}has not been read yet, and "
                             "reading it here would block the event loop: use `await session.aget(...)` for its first read")
        name = self._engine._c_fragment(fragment)
        status = lib.botsession_get(self._open_pointer(), name, self._out_ref)
        if status or _pending_threads[0]:
            check(status)
        if unread:
            unread.discard(fragment)
        return _native.take_string(self._out.value)

    def get(self, fragment: Optional[str] = None) -> Any:
        """The session's value (a fresh Python object each time), or None when there is none.
        Raises NoKeyError when the update has no key for it."""
        return decode(self.get_json(fragment))

    def set_json(self, json_text: Optional[str], fragment: Optional[str] = None) -> None:
        text = None if json_text is None else json_argument(json_text, "the value")
        name = self._engine._c_fragment(fragment)
        check(lib.botsession_set(self._open_pointer(), name, text))
        if self._unread:
            self._unread.discard(fragment)

    def set(self, value: Any, fragment: Optional[str] = None) -> None:
        """Replaces the session's value; None deletes the session at commit."""
        text = None if value is None else encode(value)
        name = self._engine._c_fragment(fragment)
        status = lib.botsession_set(self._open_pointer(), name, text)
        if status or _pending_threads[0]:
            check(status)
        if self._unread:
            self._unread.discard(fragment)  # a set without a get never reads

    def delete(self, fragment: Optional[str] = None) -> None:
        """Deletes the session at commit."""
        self.set(None, fragment)

    def clear(self) -> None:
        """Deletes every session of the update that has a key, at commit."""
        check(lib.botsession_clear(self._open_pointer()))
        if self._unread:
            self._unread.clear()

    def key(self, fragment: Optional[str] = None) -> Optional[str]:
        """The session's key (prefix included), or None when the update has none."""
        name = self._engine._c_fragment(fragment)
        check(lib.botsession_key(self._open_pointer(), name, self._out_ref))
        return _native.take_string(self._out.value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot set {name!r}: this engine has no fragments")


class FragmentUpdate(Update):
    """An update of an engine with fragments: fragments are also attributes."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name in object.__getattribute__(self, "_engine")._fragment_names:
            return self.get(name)
        raise AttributeError(f"{type(self).__name__} has no attribute or fragment {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._engine._fragment_names:
            self.set(value, name)
        else:
            raise AttributeError(f"cannot set {name!r}: it is not a fragment of this engine")
