"""Shared fixtures: temporary SQLite paths, a counting store, Telegram updates."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

import pytest

from botsession import Store


class CountingStore:
    """A custom store in Python that logs every operation (grammY's tests observe stores so)."""

    def __init__(self) -> None:
        self.data: Dict[str, str] = {}
        self.log: List[str] = []

    def read(self, key: str) -> Optional[str]:
        self.log.append(f"R {key}")
        return self.data.get(key)

    def write(self, key: str, value: str) -> None:
        self.log.append(f"W {key}={value}")
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.log.append(f"D {key}")
        self.data.pop(key, None)

    def keys(self, prefix: str) -> List[str]:
        return [k for k in self.data if k.startswith(prefix)]


@pytest.fixture
def counting() -> CountingStore:
    return CountingStore()


@pytest.fixture
def sqlite_uri(tmp_path: Any) -> str:
    return f"sqlite:{tmp_path}/sessions.db"


def message(chat: int, text: str = "hi", user: int = 7, update_id: int = 1) -> Dict[str, Any]:
    """A Telegram message update, with a bot_command entity when the text is a command."""
    body: Dict[str, Any] = {
        "message_id": update_id, "date": 1700000000, "text": text,
        "chat": {"id": chat, "type": "private" if chat > 0 else "group", "first_name": "Ann"},
        "from": {"id": user, "is_bot": False, "first_name": "Ann"},
    }
    if text.startswith("/"):
        body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": body}


INLINE_QUERY = {"update_id": 9, "inline_query": {"id": "q", "from": {"id": 7, "is_bot": False, "first_name": "Ann"}, "query": "", "offset": ""}}
