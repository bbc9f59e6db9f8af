"""The pizza counter as an aiogram 3 bot whose FSM storage is a BotSession SQLite store.

    python examples/aiogram_bot.py [DB]            # replays examples/updates.jsonl offline
    BOT_TOKEN=123:ABC python examples/aiogram_bot.py   # runs for real, with long polling

The switch to BotSession is one line: Dispatcher(storage=BotSessionStorage(store)).
"""
import asyncio
import json
import os
import sys
from pathlib import Path

from aiogram import Bot, Dispatcher, F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, Update

from botsession import Store
from botsession.contrib.aiogram import BotSessionStorage
from botsession.contrib.offline import AiogramOfflineSession

UPDATES = Path(__file__).with_name("updates.jsonl")


def make_dispatcher(store: Store) -> Dispatcher:
    dp = Dispatcher(storage=BotSessionStorage(store, close_store=False))

    @dp.message(F.text.contains("🍕"))
    async def pizza(message: Message, state: FSMContext) -> None:
        data = await state.get_data()
        await state.update_data(pizzaCount=data.get("pizzaCount", 0) + 1)

    @dp.message(Command("hunger"))
    async def hunger(message: Message, state: FSMContext) -> None:
        data = await state.get_data()
        await message.answer(f"Your hunger level is {data.get('pizzaCount', 0)}!")

    return dp


async def main() -> None:
    store = Store.open(f"sqlite:{sys.argv[1] if len(sys.argv) > 1 else 'aiogram_sessions.db'}")
    dp = make_dispatcher(store)
    token = os.environ.get("BOT_TOKEN")
    if token:
        await dp.start_polling(Bot(token))
        return
    session = AiogramOfflineSession()
    bot = Bot("42:TEST", session=session)
    for line in UPDATES.read_text(encoding="utf-8").splitlines():
        await dp.feed_update(bot, Update.model_validate(json.loads(line), context={"bot": bot}))
    for reply in session.sent:
        print("->", reply)
    total = sum(value.get("pizzaCount", 0) for key, value in store.items("fsm:") if key.endswith(":data"))
    print(f"replies: {len(session.sent)}; pizzas counted in the store: {total}")
    await dp.storage.close()
    store.close()


if __name__ == "__main__":
    asyncio.run(main())
