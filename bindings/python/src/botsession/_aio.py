"""Store I/O off the event loop: a thread pool per engine (or per adapter), whose size is an
option, so that a slow store (a PostgreSQL round trip, a connect timeout) never stalls the other
tasks of the loop and a waiting chat never takes a worker another chat needs."""
from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from typing import Any, Callable, Optional, TypeVar

T = TypeVar("T")

#: How many worker threads an engine or adapter runs store I/O in, unless told otherwise.
DEFAULT_IO_THREADS = 8


class IOThreads:
    """A pool of ``threads`` worker threads (started when first needed) for blocking store
    calls of asyncio code: ``await io.run(store.read, key)``."""

    __slots__ = ("_pool", "threads")

    def __init__(self, threads: Optional[int] = None, name: str = "botsession-io") -> None:
        threads = DEFAULT_IO_THREADS if threads is None else threads
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            from .errors import invalid_option
            raise invalid_option(f"io_threads must be a whole number of threads, at least 1, not {threads!r}")
        self.threads = threads
        self._pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix=name)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a worker thread; the calling task waits, the loop does not."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(function, *args) if args else function)

    def submit(self, function: Callable[..., T], *args: Any) -> "concurrent.futures.Future[T]":
        return self._pool.submit(function, *args)

    def shutdown(self) -> None:
        """Lets the workers end once the calls in flight are done (does not wait for them)."""
        self._pool.shutdown(wait=False)
