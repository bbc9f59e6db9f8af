"""Network stubs for running aiogram and python-telegram-bot bots without Telegram: in tests, or
to replay recorded updates. Each records the texts the bot sends and answers API calls the way
Telegram would (a message for sendMessage, the bot for getMe, ``True`` otherwise)::

    bot = aiogram.Bot("42:TEST", session=AiogramOfflineSession())
    app = Application.builder().token("42:TEST").request(PTBOfflineRequest()).updater(None).build()

Only what the classes' libraries are installed for can be used: each import is lazy.
"""
from __future__ import annotations

import datetime
import json
from typing import Any, List, Optional, Tuple

#: The bot the stubs answer getMe with.
BOT_USER = {"id": 42, "is_bot": True, "first_name": "Pizza Bot", "username": "PizzaCounterBot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}


def AiogramOfflineSession() -> Any:  # noqa: N802 - a factory that reads like a class
    """An aiogram ``BaseSession`` that sends nothing; ``.sent`` lists the texts sent."""
    from aiogram.client.session.base import BaseSession
    from aiogram.methods import GetMe, SendMessage
    from aiogram.types import Chat, Message, User

    class _Session(BaseSession):
        def __init__(self) -> None:
            super().__init__()
            self.sent: List[str] = []

        async def make_request(self, bot: Any, method: Any, timeout: Any = None) -> Any:
            if isinstance(method, SendMessage):
                self.sent.append(method.text)
                return Message(message_id=len(self.sent), date=datetime.datetime.now(datetime.timezone.utc),
                               chat=Chat(id=method.chat_id, type="private"), text=method.text)
            if isinstance(method, GetMe):
                return User(**BOT_USER)
            return True

        async def stream_content(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError("the offline session has no files")

        async def close(self) -> None:
            pass

    return _Session()


def PTBOfflineRequest(sent: Optional[List[str]] = None) -> Any:  # noqa: N802
    """A python-telegram-bot ``BaseRequest`` that sends nothing; ``.sent`` lists the texts sent
    (``sent`` may be a list to share between the two requests PTB makes)."""
    from telegram.request import BaseRequest, RequestData

    class _Request(BaseRequest):
        def __init__(self) -> None:
            self.sent: List[str] = [] if sent is None else sent

        async def initialize(self) -> None:
            pass

        async def shutdown(self) -> None:
            pass

        @property
        def read_timeout(self) -> Optional[float]:
            return 1.0

        async def do_request(self, url: str, method: str, request_data: Optional[RequestData] = None,
                             *args: Any, **kwargs: Any) -> Tuple[int, bytes]:
            endpoint = url.rsplit("/", 1)[-1]
            parameters = request_data.parameters if request_data else {}
            result: Any = True
            if endpoint == "getMe":
                result = BOT_USER
            elif endpoint == "sendMessage":
                self.sent.append(parameters["text"])
                result = {"message_id": len(self.sent), "date": 1700000000, "text": parameters["text"],
                          "chat": {"id": int(parameters["chat_id"]), "type": "private"}}
            return 200, json.dumps({"ok": True, "result": result}).encode()

    return _Request()
