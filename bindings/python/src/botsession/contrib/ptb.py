"""A python-telegram-bot (v22) persistence on BotSession stores::

    from telegram.ext import Application
    from botsession import Store
    from botsession.contrib.ptb import BotSessionPersistence

    app = Application.builder().token(TOKEN).persistence(
        BotSessionPersistence(Store.open("sqlite:bot.db"))).build()

``user_data``, ``chat_data``, ``bot_data``, ``callback_data`` and conversations are JSON in the
store under ``<prefix>user_data:<id>``, ``<prefix>chat_data:<id>``, ``<prefix>bot_data``,
``<prefix>callback_data`` and ``<prefix>conversation:<name>``; so they must hold what
``json.dumps`` takes. Whatever python-telegram-bot hands over (every ``update_interval`` seconds
and at shutdown) is written at once, so ``flush`` has nothing left to do. python-telegram-bot
keeps the newest data in memory between those writes, so ``refresh_*`` reads nothing: a store
serves one running instance of a bot (for several, handle sessions with ``botsession.Engine``,
whose commits are compare-and-set).
"""
from __future__ import annotations

import json
from typing import Any, Dict, Optional, cast

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from ..store import Store


class BotSessionPersistence(BasePersistence[Dict[Any, Any], Dict[Any, Any], Dict[Any, Any]]):
    def __init__(self, store: Store, *, prefix: str = "ptb:", store_data: Optional[PersistenceInput] = None,
                 update_interval: float = 60, close_store: bool = False) -> None:
        super().__init__(store_data=store_data, update_interval=update_interval)
        self.store = store
        self.prefix = prefix
        self._close_store = close_store

    def _name(self, kind: str, ident: Any = None) -> str:
        return f"{self.prefix}{kind}" if ident is None else f"{self.prefix}{kind}:{ident}"

    def _all(self, kind: str) -> Dict[int, Dict[Any, Any]]:
        start = self._name(kind, "")
        return {int(key[len(start):]): value for key, value in self.store.items(start) if isinstance(value, dict)}

    async def get_user_data(self) -> Dict[int, Dict[Any, Any]]:
        return self._all("user_data")

    async def get_chat_data(self) -> Dict[int, Dict[Any, Any]]:
        return self._all("chat_data")

    async def get_bot_data(self) -> Dict[Any, Any]:
        value = self.store.read(self._name("bot_data"))
        return value if isinstance(value, dict) else {}

    async def get_callback_data(self) -> Optional[CDCData]:
        value = self.store.read(self._name("callback_data"))
        if value is None:
            return None
        buttons, mapping = value
        return [(entry[0], entry[1], entry[2]) for entry in buttons], mapping

    async def get_conversations(self, name: str) -> ConversationDict:
        value = self.store.read(self._name("conversation", name)) or {}
        return {cast(ConversationKey, tuple(json.loads(key))): state for key, state in value.items()}

    async def update_conversation(self, name: str, key: ConversationKey, new_state: Optional[object]) -> None:
        record = self._name("conversation", name)
        conversations = self.store.read(record) or {}
        text_key = json.dumps(list(key))
        if new_state is None:
            conversations.pop(text_key, None)
        else:
            conversations[text_key] = new_state
        self.store.write(record, conversations)

    async def update_user_data(self, user_id: int, data: Dict[Any, Any]) -> None:
        self.store.write(self._name("user_data", user_id), data)

    async def update_chat_data(self, chat_id: int, data: Dict[Any, Any]) -> None:
        self.store.write(self._name("chat_data", chat_id), data)

    async def update_bot_data(self, data: Dict[Any, Any]) -> None:
        self.store.write(self._name("bot_data"), data)

    async def update_callback_data(self, data: CDCData) -> None:
        buttons, mapping = data
        self.store.write(self._name("callback_data"), [[list(button) for button in buttons], mapping])

    async def drop_chat_data(self, chat_id: int) -> None:
        self.store.delete(self._name("chat_data", chat_id))

    async def drop_user_data(self, user_id: int) -> None:
        self.store.delete(self._name("user_data", user_id))

    # The data in python-telegram-bot's memory is always at least as new as the store's (it
    # writes it here), so there is nothing to refresh.

    async def refresh_user_data(self, user_id: int, user_data: Dict[Any, Any]) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: Dict[Any, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: Dict[Any, Any]) -> None:
        return None

    async def flush(self) -> None:
        if self._close_store:
            self.store.close()
