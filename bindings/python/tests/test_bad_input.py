"""Bad input from Python (SPEC §9): updates that are not JSON objects, values that are not JSON,
and updates dropped without commit or rollback."""
from __future__ import annotations

import gc
import warnings

import pytest

from botsession import (BotSessionError, BusyError, Engine, InvalidJSONError, NotJSONError, Store)
from conftest import message

CHAT = -1001234567890


@pytest.mark.parametrize("update", [[1, 2], 42, None, True, 1.5])
def test_update_must_be_an_object(update) -> None:
    engine = Engine()
    with pytest.raises(InvalidJSONError, match="an update is a JSON object"):
        with engine.update(update):
            pass


@pytest.mark.parametrize("text", ["[1,2]", "42", "null", '"text"', "true", b" [ ]"])
def test_update_text_must_be_an_object(text) -> None:
    engine = Engine()
    with pytest.raises(InvalidJSONError, match="an update is a JSON object"):
        with engine.update(text):
            pass
    with engine.update(message(CHAT)) as session:   # the engine still works
        assert session.key() == str(CHAT)


def test_lone_surrogate_in_a_value(counting) -> None:
    engine = Engine(Store.custom(counting))
    with engine.update(message(CHAT)) as session:
        session.set({"a": 1})
    with engine.update(message(CHAT)) as session:
        with pytest.raises(InvalidJSONError, match=r"lone surrogate \(U\+D800\)") as caught:
            session.set({"a": "\ud800"})
        assert not isinstance(caught.value, UnicodeError)
        assert session.get() == {"a": 1}
    assert counting.data[str(CHAT)] == '{"a":1}'   # the stored data stays as it was
    with pytest.raises(InvalidJSONError, match="lone surrogate"):
        Store.open("memory:").write("k", ["\udfff"])
    with pytest.raises(InvalidJSONError, match="the update has a string with a lone surrogate"):
        engine.update({"update_id": 1, "message": {"text": "\ud83d"}})


@pytest.mark.parametrize("value, name", [
    (object(), "object"), ({1, 2}, "set"), (b"bytes", "bytes"), (Exception("x"), "Exception"),
])
def test_value_that_is_not_json(value, name, counting) -> None:
    engine = Engine(Store.custom(counting))
    with engine.update(message(CHAT)) as session:
        session.set({"kept": True})
    counting.log.clear()
    with engine.update(message(CHAT)) as session:
        with pytest.raises(NotJSONError) as caught:
            session.set({"a": value})
        assert f"contains a value of type {name}, which is not JSON" in caught.value.message
        assert "sessions hold JSON" in caught.value.message
        # Both a BotSession error (status 3) and a TypeError.
        assert isinstance(caught.value, InvalidJSONError) and isinstance(caught.value, TypeError)
        assert caught.value.status == 3 and caught.value.status_name == "BOTSESSION_INVALID_JSON"
    assert counting.log == [f"R {CHAT}"]   # nothing written
    assert counting.data[str(CHAT)] == '{"kept":true}'


def test_other_values_that_are_not_json() -> None:
    engine = Engine()
    with engine.update(message(CHAT)) as session:
        with pytest.raises(NotJSONError, match="dict keys are str"):
            session.set({(1, 2): "tuple key"})
        with pytest.raises(InvalidJSONError, match="not JSON: Out of range float"):
            session.set({"a": float("nan")})
        loop: list = []
        loop.append(loop)
        with pytest.raises(InvalidJSONError, match="Circular reference"):
            session.set(loop)
        with pytest.raises(NotJSONError, match="the update contains a value of type set"):
            engine.update({"update_id": {1}})
    with pytest.raises(NotJSONError, match="the engine options contains a value of type set"):
        Engine(initial={"a": {1}})


def test_dropped_update_warns_and_rolls_back(counting) -> None:
    engine = Engine(Store.custom(counting), lock_timeout_ms=0)
    session = engine.update(message(CHAT)).begin()
    session.set({"lost": True})
    with pytest.warns(ResourceWarning, match=r"dropped without commit or rollback.*Use `with"):
        del session
        gc.collect()
    assert counting.data == {}
    with engine.update(message(CHAT)) as session:   # its key was released
        assert session.get() is None


def test_ended_or_unbegun_updates_do_not_warn() -> None:
    engine = Engine()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        with engine.update(message(CHAT)) as session:
            session.set(1)
        del session
        unbegun = engine.update(message(CHAT))
        del unbegun
        ended = engine.update(message(CHAT)).begin()
        ended.rollback()
        del ended
        gc.collect()


def test_update_held_by_a_traceback_keeps_its_key() -> None:
    """Why `with` matters: an update held by a traceback keeps its key until it is collected."""
    engine = Engine(lock_timeout_ms=0)

    def handler() -> None:
        session = engine.update(message(CHAT)).begin()
        session.set(1)
        raise RuntimeError("the handler failed")

    try:
        handler()
    except RuntimeError as error:
        held = error   # the traceback holds the handler's frame, and the update with it
    with pytest.raises(BusyError):
        with engine.update(message(CHAT)):
            pass
    with pytest.warns(ResourceWarning):
        del held
        gc.collect()
    with engine.update(message(CHAT)) as session:
        assert session.get() is None
    assert issubclass(BusyError, BotSessionError)
