"""Store I/O off the event loop: a thread pool per engine (or per adapter), whose size is an
option, so that a slow store (a PostgreSQL round trip, a connect timeout) never stalls the other
tasks of the loop and a waiting chat never takes a worker another chat needs."""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import weakref
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple, TypeVar

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
        return await asyncio.wrap_future(self.submit(function, *args))

    def submit(self, function: Callable[..., T], *args: Any) -> "concurrent.futures.Future[T]":
        try:
            return self._pool.submit(function, *args)
        except RuntimeError:  # the pool was shut down: its engine or adapter is closed
            from .errors import misuse
            raise misuse("this engine (or adapter) is closed: its I/O threads are gone") from None

    def shutdown(self) -> None:
        """Lets the workers end once the calls in flight are done (does not wait for them)."""
        self._pool.shutdown(wait=False)


LockName = Tuple[str, str]


class KeyGates:
    """The session keys that tasks of one event loop hold, and the tasks waiting for each, in
    the order they came: asyncio's side of BotSession's key locks (``botsession_lock_names``).

    A task waits for a key here, on the loop, holding no thread; only when it holds every key
    of its update does it begin (``botsession_begin_nowait``, which then finds them free), so
    updates of a busy chat never take the worker threads that other chats' updates need. Keys
    are taken in the library's order, so updates with several keys cannot deadlock, and a key
    nobody holds or waits for takes no memory."""

    __slots__ = ("_loop", "_held")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        # A held key -> the futures of the tasks waiting for it; the first is handed the key.
        self._held: Dict[LockName, Deque["asyncio.Future[None]"]] = {}

    async def acquire(self, names: List[LockName], deadline: float, busy: Callable[[LockName], BaseException]) -> None:
        """Takes every key of ``names``, waiting until the loop time ``deadline`` at most
        (``busy(name)`` is raised then). On any failure, none is held."""
        taken: List[LockName] = []
        try:
            for name in names:
                waiters = self._held.get(name)
                if waiters is None:
                    self._held[name] = collections.deque()
                    taken.append(name)
                    continue
                handed = self._loop.create_future()
                waiters.append(handed)
                try:
                    remaining = deadline - self._loop.time()
                    if remaining <= 0:
                        raise asyncio.TimeoutError
                    await asyncio.wait_for(handed, remaining)
                except BaseException as error:
                    if handed.done() and not handed.cancelled():
                        taken.append(name)  # handed over just as the wait ended: ours to release
                    else:
                        handed.cancel()
                        try:
                            waiters.remove(handed)
                        except ValueError:
                            pass
                    if isinstance(error, asyncio.TimeoutError):
                        raise busy(name) from None
                    raise
                taken.append(name)
        except BaseException:
            self.release(taken)
            raise

    def release(self, names: List[LockName]) -> None:
        """Hands each key to its next waiter, or frees it."""
        for name in names:
            waiters = self._held.get(name)
            if waiters is None:
                continue
            while waiters:
                handed = waiters.popleft()
                if not handed.done():
                    handed.set_result(None)
                    break
            else:
                del self._held[name]

    def __len__(self) -> int:
        return len(self._held)


_gates: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, KeyGates]" = weakref.WeakKeyDictionary()


def gates_of(loop: asyncio.AbstractEventLoop) -> KeyGates:
    """The key gates of ``loop`` (made on first use; gone with the loop)."""
    gates = _gates.get(loop)
    if gates is None:
        gates = _gates[loop] = KeyGates(loop)
    return gates
