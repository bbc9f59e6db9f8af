"""Exceptions: one class per BotSession status, each carrying the status and the library's
message (what was wrong and what to do)."""
from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Optional, Type

from . import _native


class BotSessionError(Exception):
    """A failed BotSession call. ``status`` is the C status number, ``status_name`` its name
    (``"BOTSESSION_NO_KEY"``), ``message`` the library's explanation."""

    status: int = 1

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.status_name = _native.lib.botsession_status_name(status).decode()
        self.message = message
        super().__init__(f"{self.status_name}: {message}")


class MisuseError(BotSessionError):
    """A caller's mistake: a closed object, an unknown fragment, an update already ended."""
    status = 2


class InvalidJSONError(BotSessionError):
    """Text that is not JSON, a value that cannot be JSON (a string with a lone surrogate such as
    ``"\\ud800"``, ``float("nan")``, a circular structure), or an update that is not a JSON
    object."""
    status = 3


class InvalidOptionError(BotSessionError):
    status = 4


class NoKeyError(BotSessionError):
    """Session data touched for an update that has no session key (grammY's message)."""
    status = 5


class StorageError(BotSessionError):
    """I/O or database failure, store unreachable."""
    status = 6


class ConflictError(BotSessionError):
    """A concurrent writer won; run the handler again (see ``Engine.run``)."""
    status = 7


class TooBigError(BotSessionError):
    status = 8


class CallbackError(BotSessionError):
    """A callback failed. When it was a Python callback, the exception it raised is this
    exception's ``__cause__``."""
    status = 9


class MigrationError(BotSessionError):
    status = 10


class BusyError(BotSessionError):
    """Timed out waiting for a lock."""
    status = 11


class PartialCommitError(BotSessionError):
    """A commit failed while writing, after some of its stores were written; the message names
    which were and which were not. ``Engine.run``/``arun`` never re-run the handler for it: its
    change would apply twice."""
    status = 12


class NotJSONError(InvalidJSONError, TypeError):
    """A value of a type JSON does not have (a set, bytes, an arbitrary object, a dict with tuple
    keys): sessions hold JSON (dict, list, str, int, float, bool, None). Both an
    InvalidJSONError (status 3) and a TypeError, so ``except TypeError`` still catches it."""


# Statuses to classes: only the direct subclasses (NotJSONError is raised by the binding itself).
_BY_STATUS: Dict[int, Type[BotSessionError]] = {cls.status: cls for cls in BotSessionError.__subclasses__()}

# The exception a Python callback raised during the C call now running on this thread, and how
# many threads have one waiting (so that `check` skips the thread-local when none has).
_pending = threading.local()
_pending_threads = [0]


def remember_callback_exception(error: BaseException) -> None:
    """Called by a failing Python callback: the exception is re-raised (as the cause of the
    CALLBACK error, or itself for KeyboardInterrupt and SystemExit) when the C call returns."""
    if getattr(_pending, "error", None) is None:
        _pending_threads[0] += 1
    _pending.error = error
    try:
        _native.lib.botsession_callback_error(f"{type(error).__name__}: {error}".encode("utf-8", "replace"))
    except Exception:  # pragma: no cover - never let reporting fail a callback
        pass


def _take_pending() -> Optional[BaseException]:
    error = getattr(_pending, "error", None)
    if error is not None:
        _pending.error = None
        _pending_threads[0] -= 1
    return error


def check(status: int) -> None:
    """Raises the exception for a failed call (reading this thread's last error)."""
    if status == 0 and not _pending_threads[0]:
        return
    pending = _take_pending()
    if status == 0:
        return
    if isinstance(pending, (KeyboardInterrupt, SystemExit)):
        raise pending
    message = _native.lib.botsession_last_error().decode("utf-8", "replace")
    error = _BY_STATUS.get(status, BotSessionError)(status, message)
    if pending is not None:
        raise error from pending
    raise error


def misuse(message: str) -> MisuseError:
    return MisuseError(MisuseError.status, message)


def invalid_json(message: str) -> InvalidJSONError:
    return InvalidJSONError(InvalidJSONError.status, message)


def not_json(message: str) -> NotJSONError:
    return NotJSONError(NotJSONError.status, message)


def invalid_option(message: str) -> InvalidOptionError:
    return InvalidOptionError(InvalidOptionError.status, message)


def guarded(body: Callable[[], Any]) -> int:
    """What a C callback returns: 0 once ``body()`` ran, or 1 when it raised, with the exception
    kept for the C call's caller (see ``check``)."""
    try:
        body()
        return 0
    except BaseException as error:
        remember_callback_exception(error)
        return 1


def filling_callback(produce: Callable[[], Any], out: int) -> int:
    """A C callback that hands a value back through its buffer: the Python value ``produce()``
    returns, as JSON (None leaves the buffer unset: "absent")."""
    from ._text import encode

    def fill() -> None:
        value = produce()
        if value is not None:
            _native.buffer_set(out, encode(value, "the callback's value"))

    return guarded(fill)
