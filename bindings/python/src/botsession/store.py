"""Stores: built-in ones opened by URI, custom ones written in Python, and grammY's enhancer."""
from __future__ import annotations

import ctypes
import re
import threading
from ctypes import byref, c_int, c_void_p
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Protocol, Tuple, Union

from . import _native
from ._handle import Closable, Handle
from ._native import lib
from ._text import c_text, decode, encode, json_argument, optional_text
from .errors import check, filling_callback, guarded, invalid_json


class CustomStoreProtocol(Protocol):
    """What ``Store.custom`` needs: values are JSON texts (str). ``has`` and ``keys`` are
    optional: without ``has``, ``read`` answers; without ``keys``, the store cannot be
    iterated."""

    def read(self, key: str) -> Optional[str]: ...
    def write(self, key: str, value: str) -> None: ...
    def delete(self, key: str) -> None: ...


def describe_uri(uri: str) -> str:
    """``uri`` as repr and messages may show it: without the user information of a URL
    (everything between ``://`` and the last ``@``) and without any ``password=`` value."""
    scheme, sep, rest = uri.partition("://")
    if sep and "@" in rest:
        rest = "***@" + rest[rest.rindex("@") + 1:]
    shown = scheme + sep + rest
    return re.sub(r"(password\s*=\s*)('[^']*'|[^&\s]*)", r"\1***", shown, flags=re.IGNORECASE)


class Store(Closable):
    """A place where sessions live. Open one with ``Store.open("sqlite:bot.db")``,
    ``Store.open("memory:", ttl_ms=60000)``, ``Store.open("file:sessions")``, or make one from
    Python methods with ``Store.custom(obj)``.

    A store may be shared by threads. Close it with ``close()``, a ``with`` block, or by letting
    it be collected; an engine that uses it keeps it alive until the engine is done.
    """

    def __init__(self, pointer: int, *, keep: Tuple[Any, ...] = (), description: str = "a store",
                 blocking: bool = True, lock_waits_only: bool = False) -> None:
        self._handle = Handle(pointer, lib.botsession_store_close, "store")
        # Python objects the C store may call into, or that it keeps alive (callbacks, an
        # inner store): they live as long as this object does.
        self._keep: List[Any] = list(keep)
        # What repr shows (the URI without user information), and whether a call may wait for
        # I/O (the asyncio API runs such calls in worker threads; a memory store's it runs inline).
        self._description = description
        self._blocking = blocking
        # Whether the store's calls wait for nothing but locks (memory, SQLite, file: no network,
        # no Python callbacks), so an event loop may try them with waiting off (`_aio.call_store`).
        self._lock_waits_only = lock_waits_only

    def __repr__(self) -> str:
        return f"<botsession.{type(self).__name__} {self._description}{' (closed)' if self._handle.closed else ''}>"

    # -- making stores ----------------------------------------------------------------------

    @classmethod
    def open(cls, uri: str, **options: Any) -> "Store":
        """Opens a built-in store: ``memory:``, ``sqlite:PATH``, ``sqlite::memory:``,
        ``file:DIR``. Keyword arguments are the store's options (``ttl_ms=``, ``table=``,
        ``synchronous=``, ``busy_timeout_ms=``); unknown ones raise InvalidOptionError."""
        out = c_void_p()
        check(lib.botsession_store_open(c_text(uri, "uri"), encode(options, "the store options") if options else None, byref(out)))
        return cls(out.value, description=describe_uri(uri), blocking=not uri.startswith("memory:"),
                   lock_waits_only=uri.startswith(("memory:", "sqlite:", "file:")))

    @classmethod
    def custom(cls, implementation: CustomStoreProtocol) -> "Store":
        """A store made of ``implementation``'s ``read``, ``write``, ``delete`` and, if it has
        them, ``has`` and ``keys(prefix)`` methods. Values are JSON texts. An exception in a
        method becomes a CallbackError whose cause is that exception."""
        return _make_custom_store(cls, implementation)

    def enhance(self, *, ttl_ms: Optional[int] = None, max_value_bytes: Optional[int] = None) -> "EnhancedStore":
        """Wraps this store in grammY's enhancer (expiry, migrations); use the result from now on.
        Register migrations with ``@enhanced.migration(version)`` before the first use.
        ``max_value_bytes`` (1 MiB by default) bounds what a migration may produce (TooBigError
        above, nothing written)."""
        options: Dict[str, int] = {}
        if ttl_ms is not None:
            options["ttl_ms"] = ttl_ms
        if max_value_bytes is not None:
            options["max_value_bytes"] = max_value_bytes
        out = c_void_p()
        with self._handle as pointer:
            check(lib.botsession_store_enhance(pointer, encode(options, "the store options") if options else None, byref(out)))
        return EnhancedStore(out.value, keep=(self,), description=f"enhanced {self._description}", blocking=self._blocking,
                             lock_waits_only=self._lock_waits_only)

    # -- direct operations ------------------------------------------------------------------

    def read_json(self, key: str) -> Optional[str]:
        """The JSON text stored under ``key``, or None."""
        out = c_void_p()
        with self._handle as pointer:
            check(lib.botsession_store_read(pointer, c_text(key, "key"), byref(out)))
        return _native.take_string(out.value)

    def read(self, key: str) -> Any:
        """The value stored under ``key`` as a Python object, or None when absent."""
        return decode(self.read_json(key))

    def write_json(self, key: str, json_text: str) -> None:
        with self._handle as pointer:
            check(lib.botsession_store_write(pointer, c_text(key, "key"), json_argument(json_text, "the value")))

    def write(self, key: str, value: Any) -> None:
        """Stores ``value`` (anything ``json.dumps`` takes) under ``key``."""
        with self._handle as pointer:
            check(lib.botsession_store_write(pointer, c_text(key, "key"), encode(value)))

    def merge_json(self, key: str, patch_json: Union[str, bytes]) -> str:
        """Sets the members of the JSON object ``patch_json`` on the object stored under
        ``key`` in one atomic step (``dict.update``'s rules; an absent or non-object value
        counts as ``{}``) and returns the result's JSON text. Concurrent merges and updates of
        the key lose nothing (botsession_store_merge)."""
        out = c_void_p()
        with self._handle as pointer:
            check(lib.botsession_store_merge(pointer, c_text(key, "key"), json_argument(patch_json, "the patch"),
                                             byref(out)))
        return _native.take_string(out.value)  # type: ignore[return-value]

    def merge(self, key: str, patch: Mapping[str, Any]) -> Dict[str, Any]:
        """``merge_json`` with Python values: ``store.merge("chat:1", {"step": 2})`` returns
        the stored dict after the merge."""
        if not isinstance(patch, Mapping):
            raise invalid_json(f"the patch is a {type(patch).__name__}, not a mapping: a merge sets the members of a "
                               "dict such as {'step': 2}")
        return decode(self.merge_json(key, encode(dict(patch), "the patch")))

    def move(self, old_key: str, new_key: str) -> bool:
        """Moves the value under ``old_key`` to ``new_key`` unless ``new_key`` has one (a value
        is never overwritten), atomically (botsession_store_move); the stored text moves as it
        is, an enhancer's wrapper included. True when it moved; False when ``old_key`` had
        nothing or ``new_key`` had a value."""
        moved = c_int(0)
        with self._handle as pointer:
            check(lib.botsession_store_move(pointer, c_text(old_key, "from_key"), c_text(new_key, "to_key"),
                                            byref(moved)))
        return bool(moved.value)

    def delete(self, key: str) -> None:
        with self._handle as pointer:
            check(lib.botsession_store_delete(pointer, c_text(key, "key")))

    def has(self, key: str) -> bool:
        exists = c_int(0)
        with self._handle as pointer:
            check(lib.botsession_store_has(pointer, c_text(key, "key"), byref(exists)))
        return bool(exists.value)

    __contains__ = has

    def items_json(self, prefix: str = "") -> Iterator[Tuple[str, str]]:
        """(key, JSON text) of every entry whose key starts with ``prefix``."""
        out = c_void_p()
        with self._handle as pointer:
            check(lib.botsession_store_iter(pointer, optional_text(prefix, "prefix"), byref(out)))
        iterator = out.value
        try:
            while True:
                key, value = c_void_p(), c_void_p()
                check(lib.botsession_iter_next(iterator, byref(key), byref(value)))
                if not key.value:
                    return
                yield _native.take_string(key.value) or "", _native.take_string(value.value) or "null"
        finally:
            lib.botsession_iter_free(iterator)

    def items(self, prefix: str = "") -> Iterator[Tuple[str, Any]]:
        for key, text in self.items_json(prefix):
            yield key, decode(text)

    def keys(self, prefix: str = "") -> Iterator[str]:
        for key, _ in self.items_json(prefix):
            yield key

    def set_clock(self, clock: Optional[Callable[[], int]]) -> None:
        """Replaces the clock that expiry reads (milliseconds since the epoch); None returns to
        the system clock. For tests that make expiry deterministic."""
        if clock is None:
            with self._handle as pointer:
                check(lib.botsession_store_set_clock(pointer, _native.CLOCK_FN(), None))
            return

        def call_clock(_user_data: Optional[int]) -> int:
            try:
                return int(clock())
            except BaseException:  # a clock cannot fail in C: fall back to "now"
                import time
                return int(time.time() * 1000)

        callback = _native.CLOCK_FN(call_clock)
        self._keep.append(callback)
        with self._handle as pointer:
            check(lib.botsession_store_set_clock(pointer, callback, None))

    # -- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        self._handle.close()

    @property
    def closed(self) -> bool:
        return self._handle.closed


class EnhancedStore(Store):
    """A store wrapped in grammY's enhancer: values stored as ``{"v", "__d", "e"}``."""

    def add_migration(self, version: float, migrate: Callable[[Any], Any]) -> None:
        """Registers the migration to ``version``: ``migrate(old_value)`` returns the new value,
        or None to make the data read as absent. Must be called before the store is used."""

        def call(_user_data: Optional[int], old_json: bytes, out: int) -> int:
            return filling_callback(lambda: migrate(decode(old_json.decode("utf-8"))), out)

        callback = _native.MIGRATE_FN(call)
        with self._handle as pointer:
            check(lib.botsession_store_add_migration(pointer, float(version), callback, None))
        self._keep.append(callback)

    def migration(self, version: float) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
        """Decorator form of ``add_migration``::

            @enhanced.migration(1.5)
            def add_language(old):
                return {**old, "language": "en"}
        """

        def register(migrate: Callable[[Any], Any]) -> Callable[[Any], Any]:
            self.add_migration(version, migrate)
            return migrate

        return register


# -- custom stores ------------------------------------------------------------------------------

# Python implementations the library may still call, by the user data number handed to C. An
# entry goes when the library calls `release`, after which it never calls the store again.
_live_custom: Dict[int, Tuple[Any, ...]] = {}
_live_lock = threading.Lock()
_next_id = [0]


def _key(raw: bytes) -> str:
    return raw.decode("utf-8")


def _make_custom_store(cls: type, impl: Any) -> Store:
    for method in ("read", "write", "delete"):
        if not callable(getattr(impl, method, None)):
            raise TypeError(f"a custom store needs a {method}() method; {type(impl).__name__} has none")

    # Each method's exceptions become the C call's CallbackError (with the exception as its
    # cause), by way of `guarded`.
    def read(_ud: Optional[int], key: bytes, out: int) -> int:
        def body() -> None:
            value = impl.read(_key(key))
            if value is not None:
                _native.buffer_set(out, value.encode("utf-8") if isinstance(value, str) else bytes(value))
        return guarded(body)

    def write(_ud: Optional[int], key: bytes, value: bytes) -> int:
        return guarded(lambda: impl.write(_key(key), value.decode("utf-8")))

    def remove(_ud: Optional[int], key: bytes) -> int:
        return guarded(lambda: impl.delete(_key(key)))

    def has(_ud: Optional[int], key: bytes, exists: Any) -> int:
        def body() -> None:
            exists[0] = 1 if impl.has(_key(key)) else 0
        return guarded(body)

    def keys(_ud: Optional[int], prefix: bytes, out: int) -> int:
        def body() -> None:
            listed: Iterable[str] = impl.keys(prefix.decode("utf-8"))
            _native.buffer_set(out, encode(list(listed)))
        return guarded(body)

    with _live_lock:
        _next_id[0] += 1
        ident = _next_id[0]

    def release(_ud: Optional[int]) -> None:
        with _live_lock:
            _live_custom.pop(ident, None)

    callbacks = (
        _native.READ_FN(read), _native.WRITE_FN(write), _native.REMOVE_FN(remove),
        _native.HAS_FN(has) if callable(getattr(impl, "has", None)) else _native.HAS_FN(),
        _native.KEYS_FN(keys) if callable(getattr(impl, "keys", None)) else _native.KEYS_FN(),
        _native.RELEASE_FN(release),
    )
    methods = _native.StoreMethods(ctypes.sizeof(_native.StoreMethods), *callbacks)
    with _live_lock:
        _live_custom[ident] = (impl, callbacks, methods)
    out = c_void_p()
    status = lib.botsession_store_custom(byref(methods), ident, byref(out))
    if status != 0:
        with _live_lock:
            _live_custom.pop(ident, None)
    check(status)
    # `_live_custom` keeps the implementation and the callbacks until the library releases them.
    return cls(out.value, description=f"custom store {type(impl).__qualname__}")
