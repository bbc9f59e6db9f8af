"""The writer processes of test_aiogram_merge.py, in a module of their own so that a spawned
process imports aiogram and botsession only (not pytest and the test module)."""
from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from aiogram.fsm.storage.base import StorageKey

from botsession.contrib.aiogram import BotSessionStorage

KEY = StorageKey(bot_id=1, chat_id=2, user_id=3)
ROUNDS = 25


def tagged_dumps(value: Any) -> str:
    return json.dumps({"tagged": value})


def tagged_loads(text: str) -> Any:
    return json.loads(text)["tagged"]


def hooks(kind: str) -> dict:
    return {} if kind == "default" else {"json_dumps": tagged_dumps, "json_loads": tagged_loads}


def writer(uri: str, kind: str, name: str) -> None:
    """ROUNDS update_data calls of members of its own, from two tasks and a thread."""
    storage = BotSessionStorage.from_url(uri, **hooks(kind))

    async def task(member: str) -> None:
        for r in range(1, ROUNDS + 1):
            await storage.update_data(KEY, {member: r})

    async def main() -> None:
        await asyncio.gather(task(f"{name}-task-a"), task(f"{name}-task-b"))

    thread = threading.Thread(target=lambda: asyncio.run(task(f"{name}-thread")))
    thread.start()
    asyncio.run(main())
    thread.join()
    asyncio.run(storage.close())
