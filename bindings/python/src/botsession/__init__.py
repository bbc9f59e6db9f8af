"""BotSession for Python: sessions for chat bots, grammY's session model, on libbotsession.

    from botsession import Engine, Store

    engine = Engine(Store.open("sqlite:bot.db"), initial={"count": 0})
    with engine.update(update) as session:          # commits, or rolls back on an exception
        session.set({"count": session.get()["count"] + 1})

See ``Engine``, ``Fragment``, ``Store`` and ``EnhancedStore``; ``botsession.contrib.aiogram``
and ``botsession.contrib.ptb`` adapt it to aiogram and python-telegram-bot.
"""
from ._native import lib as _lib
from ._native import library_path
from .engine import Engine, Fragment, KeyFunction, Update
from .errors import (
    BotSessionError,
    BusyError,
    CallbackError,
    ConflictError,
    InvalidJSONError,
    InvalidOptionError,
    MigrationError,
    MisuseError,
    NoKeyError,
    NotJSONError,
    PartialCommitError,
    StorageError,
    TooBigError,
)
from .store import CustomStoreProtocol, EnhancedStore, Store

__version__ = "0.1.0"

#: The version of the loaded libbotsession, such as "0.1.0"; `library_path` is the file it was
#: loaded from (BOTSESSION_LIBRARY, else the package's own copy, pkg-config, the system loader).
library_version: str = _lib.botsession_version().decode()

__all__ = [
    "BotSessionError", "BusyError", "CallbackError", "ConflictError", "CustomStoreProtocol",
    "EnhancedStore", "Engine", "Fragment", "InvalidJSONError", "InvalidOptionError", "KeyFunction",
    "MigrationError", "MisuseError", "NoKeyError", "NotJSONError", "PartialCommitError", "StorageError", "Store", "TooBigError", "Update",
    "library_path", "library_version",
]
