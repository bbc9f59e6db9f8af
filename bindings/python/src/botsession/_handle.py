"""A C handle shared by Python threads: calls may run at once, and closing waits for the calls
in flight, so a handle is never freed while a call uses it."""
from __future__ import annotations

import threading
from typing import Callable, Optional

from .errors import misuse


class Handle:
    __slots__ = ("_pointer", "_users", "_closing", "_lock", "_free", "_what")

    def __init__(self, pointer: int, free: Callable[[int], None], what: str) -> None:
        self._pointer: Optional[int] = pointer
        self._users = 0
        self._closing = False
        self._lock = threading.Lock()
        self._free = free
        self._what = what

    def acquire(self) -> int:
        with self._lock:
            if self._pointer is None or self._closing:
                raise misuse(f"this {self._what} is closed")
            self._users += 1
            return self._pointer

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            pointer = self._take_if_done()
        if pointer is not None:
            self._free(pointer)

    def close(self) -> None:
        """Frees the handle now, or when the last call in flight ends. Closing twice is fine."""
        with self._lock:
            self._closing = True
            pointer = self._take_if_done()
        if pointer is not None:
            self._free(pointer)

    @property
    def closed(self) -> bool:
        return self._closing

    def _take_if_done(self) -> Optional[int]:
        if self._closing and self._users == 0 and self._pointer is not None:
            pointer, self._pointer = self._pointer, None
            return pointer
        return None

    def __enter__(self) -> int:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class Closable:
    """Closing for objects that hold library handles: ``with`` blocks and garbage collection
    call ``close()``, which must be safe to call twice."""

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
