"""Engines and updates from Python: the commit table, fragments, lazy sessions, callbacks,
errors, the retry helper."""
from __future__ import annotations

import pytest

from botsession import (CallbackError, ConflictError, Engine, Fragment, InvalidJSONError, InvalidOptionError,
                        MisuseError, NoKeyError, Store, TooBigError)
from conftest import INLINE_QUERY, message

CHAT = -1001234567890


def test_counter_and_commit_table(counting) -> None:
    engine = Engine(Store.custom(counting), initial={"count": 0})
    for _ in range(3):
        with engine.update(message(CHAT)) as session:
            session.set({"count": session.get()["count"] + 1})
    assert counting.data[str(CHAT)] == '{"count":3}'
    counting.log.clear()
    with engine.update(message(CHAT)) as session:   # only read: no write
        assert session.get() == {"count": 3}
    assert counting.log == [f"R {CHAT}"]


def test_exception_in_handler_rolls_back(counting) -> None:
    engine = Engine(Store.custom(counting))
    with pytest.raises(RuntimeError):
        with engine.update(message(CHAT)) as session:
            session.set({"lost": True})
            raise RuntimeError("handler failed")
    assert counting.data == {}
    assert counting.log == [f"R {CHAT}"]


def test_exact_text_delete_and_clear(counting) -> None:
    store = Store.custom(counting)
    engine = Engine(fragments={"chat": Fragment(store=store), "user": Fragment(store=store, key="user")})
    with engine.update(message(CHAT)) as session:
        session.set_json('{"price": 0.10, "big": 123456789012345678901234567890}', "chat")
        session.set_json("[1]", "user")
    with engine.update(message(CHAT)) as session:
        # The exact text, not a re-serialised float or a rounded integer.
        assert session.get_json("chat") == '{"price": 0.10, "big": 123456789012345678901234567890}'
        session.delete("user")
    assert counting.data == {str(CHAT): '{"price": 0.10, "big": 123456789012345678901234567890}'}
    with engine.update(message(CHAT)) as session:
        session.set(1, "user")
    with engine.update(message(CHAT)) as session:
        session.clear()
        assert session.get("chat") is None and session.get("user") is None
    assert counting.data == {}


def test_values_are_copies() -> None:
    engine = Engine(initial={"items": []})
    with engine.update(message(1)) as session:
        value = session.get()
        value["items"].append("changed only locally")
        assert session.get() == {"items": []}


def test_no_key_messages_are_grammys() -> None:
    engine = Engine()
    with engine.update(INLINE_QUERY) as session:
        assert session.key() is None
        with pytest.raises(NoKeyError) as caught:
            session.get()
        assert caught.value.message == ("Cannot access session data because this update does not belong "
                                        "to a chat, so the session key is undefined!")
        with pytest.raises(NoKeyError, match="Cannot assign session data"):
            session.set(1)


def test_update_forms_and_bad_updates() -> None:
    engine = Engine(key="user")
    for form in (message(1), '{"message": {"chat": {"id": 1}, "from": {"id": 7}}}',
                 b'{"message": {"chat": {"id": 1}, "from": {"id": 7}}}'):
        with engine.update(form) as session:
            assert session.key() == "7"
    with pytest.raises(InvalidJSONError, match="the update is not valid JSON"):
        with engine.update("{broken"):
            pass


def test_use_after_end_is_misuse() -> None:
    engine = Engine()
    with engine.update(message(1)) as session:
        pass
    with pytest.raises(MisuseError, match="already committed or rolled back"):
        session.get()
    with pytest.raises(MisuseError, match="has not begun"):
        engine.update(message(1)).get()


def test_fragments_attribute_access_and_lazy(counting) -> None:
    chats, users = Store.open("memory:"), Store.custom(counting)
    engine = Engine(fragments={
        "chat": Fragment(store=chats, initial={"pizzas": 0}),
        "user": Fragment(store=users, key="user", prefix="u:", lazy=True, initial=dict),
    })
    assert engine.fragments == {"chat", "user"}
    with engine.update(message(CHAT)) as session:
        session.chat = {"pizzas": session.chat["pizzas"] + 1}
        assert counting.log == []  # lazy: nothing read yet
    assert chats.read(str(CHAT)) == {"pizzas": 1}
    assert counting.log == []      # untouched lazy fragment: no I/O at all
    with engine.update(message(CHAT)) as session:
        session.user = {"name": "Ann"}  # set without get: no read
    assert counting.log == ['W u:7={"name":"Ann"}']
    with engine.update(INLINE_QUERY) as session:
        assert session.user == {"name": "Ann"}
        with pytest.raises(NoKeyError):
            session.chat
    with pytest.raises(InvalidOptionError, match="not both"):
        Engine(Store.open("memory:"), fragments={"a": Fragment()})


def test_key_and_initial_functions() -> None:
    seen = []
    engine = Engine(key=lambda update: seen.append(update["update_id"]) or update["message"]["from"]["id"] * 10,
                    prefix="k:", initial=lambda: {"fresh": True})
    with engine.update(message(1, user=4, update_id=77)) as session:
        assert session.key() == "k:40"
        assert session.get() == {"fresh": True}
    assert seen == [77]
    for bad in (lambda u: True, lambda u: 1.5, lambda u: {"no": 1}):
        with pytest.raises(CallbackError) as caught:
            with Engine(key=bad).update(message(1)):
                pass
        assert isinstance(caught.value.__cause__, TypeError)
    with Engine(key=lambda u: None).update(message(1)) as session:
        assert session.key() is None
    failing = Engine(initial=lambda: 1 / 0)
    with pytest.raises(CallbackError, match="ZeroDivisionError"):
        with failing.update(message(1)):
            pass


def test_options_are_checked() -> None:
    with pytest.raises(InvalidOptionError, match='unknown key strategy "channel"'):
        Engine(key="channel")
    engine = Engine(max_value_bytes=10)
    with engine.update(message(1)) as session:
        with pytest.raises(TooBigError):
            session.set("x" * 20)


def test_keyboard_interrupt_in_a_callback_stays_a_keyboard_interrupt() -> None:
    def interrupted(update):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        with Engine(key=interrupted).update(message(1)):
            pass


def test_run_retries_on_conflict() -> None:
    store = Store.open("memory:")
    engine = Engine(store, initial=0)
    attempts = []

    def handler(session):
        attempts.append(1)
        session.set(session.get() + 1)
        if len(attempts) == 1:
            raise ConflictError(7, "simulated: another writer won")
        return "done"

    assert engine.run(message(1), handler) == "done"
    assert len(attempts) == 2
    assert store.read("1") == 1  # the first attempt wrote nothing
    with pytest.raises(ConflictError):
        engine.run(message(1), lambda s: (_ for _ in ()).throw(ConflictError(7, "always")), attempts=2)
