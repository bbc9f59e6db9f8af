"""Loading libbotsession and declaring its C functions for ctypes.

Returned strings are declared ``c_void_p`` (a ``c_char_p`` restype would leak them): they are
copied with ``string_at`` and released with ``botsession_free``. Callbacks return an int status
and hand data back through the buffer sink, never as a returned pointer.
"""
from __future__ import annotations

import ctypes
import os
import subprocess
from ctypes import CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_int, c_int64, c_size_t, c_void_p
from typing import Optional

#: BOTSESSION_VERSION_NUMBER of the header this binding was written against (0.1.0).
EXPECTED_VERSION_NUMBER = 1000

# Callback types, as in botsession.h. Buffers and user data travel as plain pointers.
KEY_FN = CFUNCTYPE(c_int, c_void_p, c_char_p, c_void_p)
INITIAL_FN = CFUNCTYPE(c_int, c_void_p, c_void_p)
MIGRATE_FN = CFUNCTYPE(c_int, c_void_p, c_char_p, c_void_p)
CLOCK_FN = CFUNCTYPE(c_int64, c_void_p)
READ_FN = CFUNCTYPE(c_int, c_void_p, c_char_p, c_void_p)
WRITE_FN = CFUNCTYPE(c_int, c_void_p, c_char_p, c_char_p)
REMOVE_FN = CFUNCTYPE(c_int, c_void_p, c_char_p)
HAS_FN = CFUNCTYPE(c_int, c_void_p, c_char_p, POINTER(c_int))
KEYS_FN = CFUNCTYPE(c_int, c_void_p, c_char_p, c_void_p)
RELEASE_FN = CFUNCTYPE(None, c_void_p)


class StoreMethods(Structure):
    """``botsession_store_methods``."""

    _fields_ = [
        ("size", c_size_t),
        ("read", READ_FN),
        ("write", WRITE_FN),
        ("remove", REMOVE_FN),
        ("has", HAS_FN),
        ("keys", KEYS_FN),
        ("release", RELEASE_FN),
    ]


def _pkg_config_libdir() -> Optional[str]:
    try:
        out = subprocess.run(
            ["pkg-config", "--variable=libdir", "botsession"],
            capture_output=True, text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    libdir = out.stdout.strip()
    return libdir if out.returncode == 0 and libdir else None


def _load() -> ctypes.CDLL:
    """The library, looked for in this order: BOTSESSION_LIBRARY (a path; if set, nothing else
    is tried), the copy inside this package (a wheel built with `make wheel`), `pkg-config
    botsession`'s libdir (PKG_CONFIG_PATH), then the system loader (LD_LIBRARY_PATH, the ldconfig
    cache: `make install` into a system prefix)."""
    tried = []
    explicit = os.environ.get("BOTSESSION_LIBRARY")
    if explicit:
        try:
            return ctypes.CDLL(explicit)
        except OSError as error:
            raise ImportError(
                f"botsession: BOTSESSION_LIBRARY={explicit!r} could not be loaded: {error}. "
                "Point it at libbotsession.so (make install puts it in PREFIX/lib), or unset it."
            ) from error
    tried.append("BOTSESSION_LIBRARY (not set)")
    bundled = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_lib", "libbotsession.so.0")
    if os.path.exists(bundled):
        try:
            return ctypes.CDLL(bundled)
        except OSError as error:
            tried.append(f"the package's own copy: {bundled}: {error}")
    else:
        tried.append(f"the package's own copy ({bundled}: none, this is not a wheel with the library inside)")
    libdir = _pkg_config_libdir()
    if libdir:
        path = os.path.join(libdir, "libbotsession.so.0")
        try:
            return ctypes.CDLL(path)
        except OSError as error:
            tried.append(f"pkg-config botsession: {path}: {error}")
    else:
        tried.append("pkg-config botsession (not found)")
    for name in ("libbotsession.so.0", "libbotsession.so"):
        try:
            return ctypes.CDLL(name)
        except OSError as error:
            tried.append(f"the system loader: {name}: {error}")
    raise ImportError(
        "botsession: cannot find libbotsession. Tried:\n  - " + "\n  - ".join(tried)
        + "\nInstall the wheel that has the library inside (make wheel in the BotSession repository, then "
        "pip install dist/botsession-*.whl), install the library (make install), set PKG_CONFIG_PATH so "
        "that `pkg-config botsession` finds it, or set BOTSESSION_LIBRARY=/path/to/libbotsession.so.0."
    )


def _declare(lib: ctypes.CDLL) -> None:
    handle = c_void_p
    out_handle = POINTER(c_void_p)
    out_string = POINTER(c_void_p)
    signatures = {
        "botsession_version": (c_char_p, []),  # static storage: c_char_p copies and never frees
        "botsession_version_number": (c_int, []),
        "botsession_status_name": (c_char_p, [c_int]),
        "botsession_last_error": (c_char_p, []),
        "botsession_free": (None, [c_void_p]),
        "botsession_buffer_set": (c_int, [c_void_p, c_char_p, c_size_t]),
        "botsession_callback_error": (None, [c_char_p]),
        "botsession_store_open": (c_int, [c_char_p, c_char_p, out_handle]),
        "botsession_store_custom": (c_int, [POINTER(StoreMethods), c_void_p, out_handle]),
        "botsession_store_enhance": (c_int, [handle, c_char_p, out_handle]),
        "botsession_store_add_migration": (c_int, [handle, c_double, MIGRATE_FN, c_void_p]),
        "botsession_store_read": (c_int, [handle, c_char_p, out_string]),
        "botsession_store_write": (c_int, [handle, c_char_p, c_char_p]),
        "botsession_store_delete": (c_int, [handle, c_char_p]),
        "botsession_store_merge": (c_int, [handle, c_char_p, c_char_p, out_string]),
        "botsession_store_has": (c_int, [handle, c_char_p, POINTER(c_int)]),
        "botsession_store_move": (c_int, [handle, c_char_p, c_char_p, POINTER(c_int)]),
        "botsession_store_set_clock": (c_int, [handle, CLOCK_FN, c_void_p]),
        "botsession_store_iter": (c_int, [handle, c_char_p, out_handle]),
        "botsession_iter_next": (c_int, [handle, out_string, out_string]),
        "botsession_iter_free": (None, [handle]),
        "botsession_store_close": (None, [handle]),
        "botsession_engine_new": (c_int, [c_char_p, out_handle]),
        "botsession_engine_set_store": (c_int, [handle, c_char_p, handle]),
        "botsession_engine_set_key_fn": (c_int, [handle, c_char_p, KEY_FN, c_void_p]),
        "botsession_engine_set_initial_fn": (c_int, [handle, c_char_p, INITIAL_FN, c_void_p]),
        "botsession_engine_stats": (c_int, [handle, out_string]),
        "botsession_migrate_chat": (c_int, [handle, c_int64, c_int64]),
        "botsession_engine_free": (None, [handle]),
        "botsession_begin": (c_int, [handle, c_char_p, out_handle]),
        "botsession_begin_nowait": (c_int, [handle, c_char_p, out_handle]),
        "botsession_read_sessions": (c_int, [handle]),
        "botsession_lock_names": (c_int, [handle, c_char_p, out_string]),
        "botsession_thread_nowait": (c_int, [c_int]),
        "botsession_get": (c_int, [handle, c_char_p, out_string]),
        "botsession_set": (c_int, [handle, c_char_p, c_char_p]),
        "botsession_clear": (c_int, [handle]),
        "botsession_key": (c_int, [handle, c_char_p, out_string]),
        "botsession_commit": (c_int, [handle]),
        "botsession_rollback": (None, [handle]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes


lib = _load()
_declare(lib)

#: The file the library was loaded from (the dlopen name, for one the system loader found).
library_path: str = lib._name

_version_number = lib.botsession_version_number()
if _version_number // 1000 != EXPECTED_VERSION_NUMBER // 1000 or _version_number < EXPECTED_VERSION_NUMBER:
    raise ImportError(
        f"botsession: the loaded libbotsession is version {lib.botsession_version().decode()} "
        f"({_version_number}); this binding needs {EXPECTED_VERSION_NUMBER // 1000000}."
        f"{EXPECTED_VERSION_NUMBER // 1000 % 1000}.x with x >= {EXPECTED_VERSION_NUMBER % 1000}"
    )


def take_string(pointer: Optional[int]) -> Optional[str]:
    """Copies a string the library returned and frees it; None for NULL."""
    if not pointer:
        return None
    try:
        return ctypes.string_at(pointer).decode("utf-8")
    finally:
        lib.botsession_free(pointer)


def buffer_set(buffer: int, data: bytes) -> int:
    return lib.botsession_buffer_set(buffer, data, len(data))
