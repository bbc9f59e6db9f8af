"""Stores from Python: built-in ones, custom ones, the enhancer, errors."""
from __future__ import annotations

import pytest

import botsession
from botsession import CallbackError, InvalidJSONError, InvalidOptionError, MigrationError, MisuseError, Store, TooBigError


@pytest.mark.parametrize("uri", ["memory:", "sqlite::memory:", "sqlite-file", "file-dir"])
def test_read_write_delete_has_items(uri: str, tmp_path) -> None:
    uri = {"sqlite-file": f"sqlite:{tmp_path}/s.db", "file-dir": f"file:{tmp_path}/files"}.get(uri, uri)
    with Store.open(uri) as store:
        assert store.read("k") is None
        assert "k" not in store
        store.write("k", {"n": 1, "name": "пицца 🍕", "big": 12345678901234567890123, "f": 0.1})
        assert store.read("k") == {"n": 1, "name": "пицца 🍕", "big": 12345678901234567890123, "f": 0.1}
        assert store.has("k") and "k" in store
        store.write_json("raw", '{"exact":  1.50}')
        assert store.read_json("raw") == '{"exact":  1.50}'
        store.write("chat:1", 1)
        store.write("chat:2", [2])
        assert dict(store.items("chat:")) == {"chat:1": 1, "chat:2": [2]}
        assert sorted(store.keys()) == ["chat:1", "chat:2", "k", "raw"]
        store.delete("k")
        assert store.read("k") is None
        store.delete("k")  # deleting an absent key is fine


def test_bad_input_is_refused_and_changes_nothing() -> None:
    store = Store.open("memory:")
    store.write("k", 1)
    with pytest.raises(InvalidJSONError) as caught:
        store.write_json("k", "{not json")
    assert caught.value.status_name == "BOTSESSION_INVALID_JSON"
    assert "not valid JSON" in caught.value.message
    with pytest.raises(TooBigError):
        store.write("x" * 1025, 1)
    with pytest.raises(MisuseError, match="NUL"):
        store.write("a\0b", 1)
    with pytest.raises(MisuseError, match="surrogate"):
        store.write("a\ud800", 1)
    with pytest.raises(InvalidJSONError, match="Out of range float"):
        store.write("k", float("nan"))
    with pytest.raises(TypeError, match="contains a value of type object, which is not JSON"):
        store.write("k", object())   # NotJSONError: an InvalidJSONError and a TypeError
    assert store.read("k") == 1


def test_options_are_checked() -> None:
    with pytest.raises(InvalidOptionError, match='unknown option "ttl"'):
        Store.open("memory:", ttl=5)
    with pytest.raises(InvalidOptionError, match="unknown store URI scheme 'redis'"):
        Store.open("redis://localhost")
    with pytest.raises(botsession.StorageError):
        Store.open("sqlite:/no/such/dir/s.db")


def test_closed_store_is_misuse_and_close_twice_is_fine() -> None:
    store = Store.open("memory:")
    store.close()
    store.close()
    assert store.closed
    with pytest.raises(MisuseError, match="closed"):
        store.read("k")


def test_memory_expiry_with_a_test_clock() -> None:
    now = [1_000_000]
    store = Store.open("memory:", ttl_ms=100)
    store.set_clock(lambda: now[0])
    store.write("k", "v")
    now[0] += 100
    assert store.read("k") == "v"
    now[0] += 1
    assert store.read("k") is None
    assert list(store.keys()) == []


def test_custom_store_in_python(counting) -> None:
    store = Store.custom(counting)
    store.write("a", {"x": 1})
    assert counting.data == {"a": '{"x":1}'}
    assert store.read("a") == {"x": 1}
    assert store.has("a")  # no has(): read answers
    assert dict(store.items()) == {"a": {"x": 1}}
    store.delete("a")
    assert counting.log == ['W a={"x":1}', "R a", "R a", "R a", "D a"]


def test_custom_store_has_answers_has(counting) -> None:
    class WithHas(type(counting)):
        def has(self, key):
            self.log.append(f"H {key}")
            return key in self.data

    impl = WithHas()
    store = Store.custom(impl)
    store.write("a", 1)
    assert store.has("a") and "a" in store
    assert not store.has("b")
    assert impl.log == ["W a=1", "H a", "H a", "H b"]  # has() answered; read was not called


def test_custom_store_exceptions_become_callback_errors() -> None:
    class Broken:
        def read(self, key):
            raise ConnectionError("redis is down")

        def write(self, key, value):
            pass

        def delete(self, key):
            pass

    store = Store.custom(Broken())
    with pytest.raises(CallbackError) as caught:
        store.read("k")
    assert "ConnectionError: redis is down" in caught.value.message
    assert isinstance(caught.value.__cause__, ConnectionError)
    with pytest.raises(botsession.BotSessionError, match="cannot be iterated"):
        list(store.items())
    with pytest.raises(TypeError, match="needs a read"):
        Store.custom(object())


def test_custom_store_implementation_is_released_with_the_store() -> None:
    import gc
    import weakref

    from botsession import store as store_module

    class Impl:
        def read(self, key):
            return None

        def write(self, key, value):
            pass

        def delete(self, key):
            pass

    impl = Impl()
    ref = weakref.ref(impl)
    store = Store.custom(impl)
    assert any(entry[0] is impl for entry in store_module._live_custom.values())
    del impl
    store.close()
    del store
    gc.collect()
    # The library called release(): the registry let go of the implementation.
    assert ref() is None


def test_enhancer_migrations_and_wrapper(counting) -> None:
    enhanced = Store.custom(counting).enhance(ttl_ms=60_000)
    enhanced.set_clock(lambda: 1_000)

    @enhanced.migration(3)
    def times_two(old):
        return old * 2

    @enhanced.migration(1.5)
    def plus_ten(old):
        return old + 10

    counting.data["k"] = "0"  # legacy data, written before the enhancer
    assert enhanced.read("k") == 20  # (0 + 10) * 2, in numeric order
    # read stamped it with an expiry, migrated and at the latest version
    assert counting.data["k"] == '{"v":3,"__d":20,"e":61000}'
    enhanced.write("w", {"a": 1})
    assert counting.data["w"] == '{"v":3,"__d":{"a":1},"e":61000}'
    counting.data["new"] = '{"v":4,"__d":1}'
    with pytest.raises(MigrationError, match="newer than the latest migration"):
        enhanced.read("new")
    with pytest.raises(MisuseError, match="before the enhanced store is first used"):
        enhanced.add_migration(5, plus_ten)


def test_failing_migration_keeps_the_data(counting) -> None:
    enhanced = Store.custom(counting).enhance()

    @enhanced.migration(1)
    def broken(old):
        raise KeyError("pizzaCount")

    counting.data["k"] = '{"old": true}'
    with pytest.raises(CallbackError) as caught:
        enhanced.read("k")
    assert isinstance(caught.value.__cause__, KeyError)
    assert counting.data["k"] == '{"old": true}'


@pytest.mark.parametrize("uri", ["memory:", "sqlite-file", "file-dir"])
def test_merge_sets_members_as_dict_update(uri: str, tmp_path) -> None:
    uri = {"sqlite-file": f"sqlite:{tmp_path}/s.db", "file-dir": f"file:{tmp_path}/files"}.get(uri, uri)
    with Store.open(uri) as store:
        assert store.merge("k", {"a": 1}) == {"a": 1}                # absent counts as {}
        assert store.merge("k", {"b": [1], "a": 2}) == {"a": 2, "b": [1]}
        assert list(store.merge("k", {"c": None})) == ["a", "b", "c"]  # replaced in place, added after
        assert store.merge_json("k", '{"d": 1.50}') == '{"a":2,"b":[1],"c":null,"d":1.50}'  # values as written
        store.write("list", [1, 2])
        assert store.merge("list", {"x": 1}) == {"x": 1}             # not an object: {}
        assert store.merge("none", {}) == {} and not store.has("none")  # {} writes nothing
        for bad in ([("a", 1)], "text", None):
            with pytest.raises(InvalidJSONError, match="not a mapping"):
                store.merge("k", bad)  # type: ignore[arg-type]
        for bad_text in ("[1]", "1", "{"):
            with pytest.raises(InvalidJSONError, match="the patch"):
                store.merge_json("k", bad_text)
        assert store.read("k") == {"a": 2, "b": [1], "c": None, "d": 1.5}  # refused merges changed nothing
