"""Store I/O off the event loop: a thread pool per engine (or per adapter), whose size is an
option, so that a slow store (a PostgreSQL round trip, a connect timeout) never stalls the other
tasks of the loop and a waiting chat never takes a worker another chat needs."""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import threading
import weakref
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple, TypeVar

from ._native import lib
from .errors import BusyError, invalid_option, misuse

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
            raise invalid_option(f"io_threads must be a whole number of threads, at least 1, not {threads!r}")
        self.threads = threads
        self._pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix=name)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a worker thread; the calling task waits, the loop does not."""
        return await asyncio.wrap_future(self.submit(function, *args))

    def submit(self, function: Callable[..., T], *args: Any, finishing: bool = False) -> "concurrent.futures.Future[T]":
        """``function(*args)`` in a worker. Once the pool is shut down (its engine or adapter
        closed), new work is MisuseError, but work that ``finishing`` an update already begun
        (its read, its commit) runs in a thread of its own, so closing never strands a key."""
        try:
            return self._pool.submit(function, *args)
        except RuntimeError:  # shut down
            if not finishing:
                raise misuse("this engine (or adapter) is closed: its I/O threads are gone") from None
        done: "concurrent.futures.Future[T]" = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(function(*args))
            except BaseException as error:
                done.set_exception(error)

        threading.Thread(target=run, name="botsession-io-closing", daemon=True).start()
        return done

    def shutdown(self) -> None:
        """Lets the workers end once the calls in flight are done (does not wait for them)."""
        self._pool.shutdown(wait=False)


LockName = Tuple[str, str]


class _KeyWaitTimedOut(Exception):
    pass


def _time_out(handed: "asyncio.Future[None]") -> None:
    if not handed.done():
        handed.set_exception(_KeyWaitTimedOut())


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
                # Not wait_for: before Python 3.12 it can return a result that arrived together
                # with a cancellation, and swallow the cancellation.
                timer = self._loop.call_at(deadline, _time_out, handed)
                try:
                    await handed
                except BaseException as error:
                    if handed.done() and not handed.cancelled() and handed.exception() is None:
                        taken.append(name)  # handed over just as the wait ended: ours to release
                    else:
                        handed.cancel()
                        try:
                            waiters.remove(handed)
                        except ValueError:
                            pass
                    if isinstance(error, _KeyWaitTimedOut):
                        raise busy(name) from None
                    raise
                finally:
                    timer.cancel()
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


async def call_store(io: IOThreads, lock_waits_only: bool, function: Callable[..., T], *args: Any) -> T:
    """A blocking store call from asyncio code. For a store that waits for nothing but locks
    (memory, SQLite, file), it is tried on the loop first with waiting turned off
    (``botsession_thread_nowait``): in WAL mode a read never waits, nor does a write that no one
    else is making, and a call that would wait fails at once having done nothing (BusyError),
    and then runs in a worker thread, where it may wait. A thread hop costs about 100 µs of CPU
    here; the try costs nothing. Other stores' calls always run in a worker thread."""
    if lock_waits_only:
        before = lib.botsession_thread_nowait(1)
        try:
            return function(*args)
        except BusyError:
            pass
        finally:
            lib.botsession_thread_nowait(before)
    return await io.run(function, *args)
