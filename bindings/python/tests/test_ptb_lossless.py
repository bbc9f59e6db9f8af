"""No silent change of data in BotSessionPersistence: int dict keys, tuples, datetimes, sets and
bytes read back as they were written (TaggedJSON, the default encoding), and a value the encoding
cannot hold is refused with an error naming the chat, user or bot_data and the type, leaving
the stored data as it was."""
from __future__ import annotations

import asyncio
import datetime as dt
import enum
import json
import math
from decimal import Decimal
from typing import Any, Dict, List
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip("telegram")
from telegram import Update  # noqa: E402
from telegram.ext import Application, ContextTypes, MessageHandler, filters  # noqa: E402

from botsession import InvalidJSONError, NotJSONError, Store  # noqa: E402
from botsession.contrib.offline import PTBOfflineRequest  # noqa: E402
from botsession.contrib.ptb import BotSessionPersistence, TaggedJSON  # noqa: E402
from conftest import message  # noqa: E402


class Size(enum.IntEnum):
    SMALL = 1
    LARGE = 2


EVERYTHING: Dict[Any, Any] = {
    3: "int key", "3": "str key", -5: {4: {"4": [{5: 6}, {"5": 6}]}},
    (1, "a"): "tuple key", None: "None key", True: "bool key", 1.5: "float key",
    "tuple": (1, (2, 3), []), "list": [1, [2, (3,)]], "set": {3, 1, 2}, "frozenset": frozenset({"a", "b"}),
    "mixed set": {1, "a", (2, 3)}, "bytes": b"\x00\xffhi", "bytearray": bytearray(b"xy"),
    "naive": dt.datetime(2024, 5, 1, 12, 30, 1, 123456), "utc": dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc),
    "offset": dt.datetime(2024, 5, 1, tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30))),
    "zone": dt.datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Berlin")),
    "date": dt.date(1999, 12, 31), "time": dt.time(23, 59, 59, 999999), "utc time": dt.time(1, 2, tzinfo=dt.timezone.utc),
    "timedelta": dt.timedelta(days=-2, seconds=5, microseconds=7), "big": 2 ** 80, "float": 0.1, "one": 1.0,
    "inf": math.inf, "-inf": -math.inf, "$ref": "a key that starts with $", "only": {"$ref": 1},
    "empty": {}, "unicode": "é🍕", "none": None, "bool": False,
}


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (1 == 1.0 == True would hide changes)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(map(repr, a)) == list(map(repr, b)) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dt.datetime):
        return a == b and a.tzinfo == b.tzinfo and a.fold == b.fold and a.utcoffset() == b.utcoffset()
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_int_and_str_keys_are_told_apart_at_every_level() -> None:
    store = Store.open("memory:")

    async def main() -> None:
        persistence = BotSessionPersistence(store)
        await persistence.update_chat_data(1, {3: "x"})
        await persistence.update_chat_data(2, {"3": "x"})
        await persistence.update_user_data(7, {"a": {3: {"3": {4: "deep"}}}})
        await persistence.update_bot_data({10: [{"10": {11: "x"}}]})
        fresh = BotSessionPersistence(store)
        chats = await fresh.get_chat_data()
        assert same(chats, {1: {3: "x"}, 2: {"3": "x"}})
        assert same(await fresh.get_user_data(), {7: {"a": {3: {"3": {4: "deep"}}}}})
        assert same(await fresh.get_bot_data(), {10: [{"10": {11: "x"}}]})

    run(main())
    # What a person reads in the store: plain JSON where JSON says it all, tagged pairs otherwise.
    assert store.read("ptb:chat_data:2") == {"3": "x"}
    assert store.read("ptb:chat_data:1") == {"$dict": [[3, "x"]]}
    assert store.read("ptb:user_data:7") == {"a": {"$dict": [[3, {"3": {"$dict": [[4, "deep"]]}}]]}}


@pytest.mark.parametrize("kind", ["chat_data", "user_data", "bot_data"])
def test_every_default_type_round_trips(kind: str) -> None:
    store = Store.open("memory:")

    async def main() -> Any:
        persistence = BotSessionPersistence(store)
        if kind == "bot_data":
            await persistence.update_bot_data(EVERYTHING)
            return await BotSessionPersistence(store).get_bot_data()
        await getattr(persistence, f"update_{kind}")(42, EVERYTHING)
        return (await getattr(BotSessionPersistence(store), f"get_{kind}")())[42]

    back = run(main())
    assert same(back, EVERYTHING)
    assert back["zone"].tzinfo is ZoneInfo("Europe/Berlin")
    assert json.loads(store.read_json(f"ptb:{kind}" + ("" if kind == "bot_data" else ":42")))  # plain JSON text


def test_conversation_states_and_callback_data_round_trip() -> None:
    store = Store.open("memory:")
    when = dt.datetime(2024, 1, 2, 3, 4, 5)

    async def main() -> None:
        persistence = BotSessionPersistence(store)
        await persistence.update_conversation("order", (-100, 7), ("ASK", 2))
        await persistence.update_conversation("order", ("-100", "7"), 3)
        await persistence.update_callback_data(([("kb", 1.5, {"b": (1, when), "c": {3: "x"}})], {"b": "kb"}))
        fresh = BotSessionPersistence(store)
        assert same(await fresh.get_conversations("order"), {(-100, 7): ("ASK", 2), ("-100", "7"): 3})
        assert same(await fresh.get_callback_data(), ([("kb", 1.5, {"b": (1, when), "c": {3: "x"}})], {"b": "kb"}))

    run(main())


def test_data_written_by_earlier_versions_reads_the_same() -> None:
    store = Store.open("memory:")
    store.write("ptb:chat_data:-100", {"pizzas": 3, "names": ["a", "b"]})
    store.write("ptb:conversation:order", {"[-100, 7]": 0})
    store.write("ptb:callback_data", [[["kb", 1.5, {"x": "y"}]], {"k": "v"}])

    async def main() -> None:
        persistence = BotSessionPersistence(store)
        assert await persistence.get_chat_data() == {-100: {"pizzas": 3, "names": ["a", "b"]}}
        assert await persistence.get_conversations("order") == {(-100, 7): 0}
        assert await persistence.get_callback_data() == ([("kb", 1.5, {"x": "y"})], {"k": "v"})
        await persistence.update_conversation("order", (-100, 7), 1)  # the same entry, not a second one
        assert store.read("ptb:conversation:order") == {"[-100, 7]": 1}

    run(main())


@pytest.mark.parametrize("kind, ident, named", [("chat_data", -100, "chat_data of chat -100"),
                                                ("user_data", 7, "user_data of user 7"),
                                                ("bot_data", None, "bot_data")])
def test_an_unencodable_value_is_refused_naming_the_owner_and_type(kind: str, ident: Any, named: str) -> None:
    class Pizza:
        pass

    store = Store.open("memory:")
    record = f"ptb:{kind}" + ("" if ident is None else f":{ident}")

    async def update(persistence: BotSessionPersistence, data: Dict[Any, Any]) -> None:
        if ident is None:
            await persistence.update_bot_data(data)
        else:
            await getattr(persistence, f"update_{kind}")(ident, data)

    async def main() -> None:
        persistence = BotSessionPersistence(store)
        await update(persistence, {"count": 1, 3: "x"})
        with pytest.raises(NotJSONError) as caught:
            await update(persistence, {"count": 2, 3: "y", "order": [Pizza()]})
        assert named in str(caught.value)
        assert "Pizza" in str(caught.value) and "['order'][0]" in str(caught.value)
        assert isinstance(caught.value, TypeError)
        with pytest.raises(NotJSONError, match="Size"):  # an IntEnum is not silently an int
            await update(persistence, {"size": Size.LARGE})

    run(main())
    assert store.read(record) == {"$dict": [["count", 1], [3, "x"]]}  # nothing of it changed


def test_a_record_the_encoding_cannot_read_is_an_error_naming_it() -> None:
    store = Store.open("memory:")
    store.write("ptb:chat_data:5", {"when": {"$sometag": 1}})
    with pytest.raises(InvalidJSONError, match=r"chat_data of chat 5 .*ptb:chat_data:5.*\$sometag"):
        run(BotSessionPersistence(store).get_chat_data())
    store.write("ptb:chat_data:5", [1, 2])
    with pytest.raises(InvalidJSONError, match="not a dict"):
        run(BotSessionPersistence(store).get_chat_data())


def test_more_types_through_the_codec_hooks() -> None:
    codec = TaggedJSON(encoders={Decimal: ("decimal", str), Size: ("size", int)},
                       decoders={"decimal": Decimal, "size": Size})
    store = Store.open("memory:")
    data = {"price": Decimal("9.90"), "size": Size.LARGE, "prices": (Decimal("1"), Decimal("2.5"))}

    async def main() -> Any:
        await BotSessionPersistence(store, codec=codec).update_chat_data(1, data)
        return (await BotSessionPersistence(store, codec=codec).get_chat_data())[1]

    back = run(main())
    assert same(back, data) and back["size"] is Size.LARGE
    assert store.read("ptb:chat_data:1")["price"] == {"$decimal": "9.90"}


def test_a_whole_codec_of_ones_own() -> None:
    class Reversed:
        """Stores every str reversed (an encoding nobody needs, but one the persistence must use)."""

        def encode(self, value: Any, where: str = "") -> Any:
            return {key[::-1]: item[::-1] for key, item in value.items()}

        def decode(self, data: Any, where: str = "") -> Any:
            return {key[::-1]: item[::-1] for key, item in data.items()}

    store = Store.open("memory:")

    async def main() -> Any:
        await BotSessionPersistence(store, codec=Reversed()).update_chat_data(1, {"ab": "cd"})
        return await BotSessionPersistence(store, codec=Reversed()).get_chat_data()

    assert run(main()) == {1: {"ab": "cd"}}
    assert store.read("ptb:chat_data:1") == {"ba": "dc"}


# -- through python-telegram-bot's Application ------------------------------------------------

class Thing:
    """Something the encoding has no form for."""


def make_app(store: Store, sent: List[str], errors: List[BaseException]) -> Application:
    app = (Application.builder().token("42:TEST").request(PTBOfflineRequest(sent)).get_updates_request(PTBOfflineRequest(sent))
           .persistence(BotSessionPersistence(store)).updater(None).build())

    async def remember(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        text = update.effective_message.text
        if text == "save":
            context.chat_data["when"] = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc)
            context.chat_data[3] = ("three", 3)
            context.user_data[7] = {"7": {1, 2}}
            context.bot_data[1] = b"one"
        elif text == "thing":
            context.chat_data["thing"] = Thing()
            context.chat_data["when"] = None
        await update.effective_message.reply_text(
            f"{context.chat_data.get('when')!r} {context.chat_data.get(3)!r} {context.user_data.get(7)!r} "
            f"{context.bot_data.get(1)!r}")

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        errors.append(context.error)  # type: ignore[arg-type]

    app.add_handler(MessageHandler(filters.TEXT, remember))
    app.add_error_handler(on_error)
    return app


async def run_app(app: Application, updates: List[dict]) -> None:
    await app.initialize()
    for update in updates:
        await app.process_update(Update.de_json(update, app.bot))
    await app.shutdown()  # hands the data to the persistence


def test_datetimes_and_int_keys_survive_a_restart_of_an_application(sqlite_uri: str) -> None:
    sent: List[str] = []
    errors: List[BaseException] = []
    store = Store.open(sqlite_uri)
    run(run_app(make_app(store, sent, errors), [message(100, "save", update_id=1)]))
    store.close()
    assert errors == []

    store = Store.open(sqlite_uri)  # a new process would do the same
    run(run_app(make_app(store, sent, errors), [message(100, "show", update_id=2)]))
    assert errors == []
    expected = "datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.timezone.utc) ('three', 3) {'7': {1, 2}} b'one'"
    assert sent == [expected, expected]


def test_an_unencodable_value_in_an_application_reaches_its_error_handler_and_loses_nothing(sqlite_uri: str) -> None:
    sent: List[str] = []
    errors: List[BaseException] = []
    store = Store.open(sqlite_uri)
    run(run_app(make_app(store, sent, errors), [message(100, "save", update_id=1)]))
    stored = store.read("ptb:chat_data:100")

    run(run_app(make_app(store, sent, errors), [message(100, "thing", update_id=2)]))
    assert len(errors) == 1 and isinstance(errors[0], NotJSONError)
    assert "chat_data of chat 100" in str(errors[0]) and "test_ptb_lossless.Thing" in str(errors[0])
    assert store.read("ptb:chat_data:100") == stored  # the chat's data as it was, nothing dropped

    errors.clear()
    run(run_app(make_app(store, sent, errors), [message(100, "show", update_id=3)]))
    assert sent[-1].startswith("datetime.datetime(2024, 5, 1, 12, 30")
