"""Tagged JSON: Python values that plain JSON would change or cannot hold, stored as JSON a
person can still read, and read back as they were.

A JSON object with exactly one key that starts with ``$`` is a *tag*; every other JSON value
means what it says. ``TaggedJSON().encode`` turns

- a dict with a key that is not a str, such as ``{3: "x", "3": "y"}``, into its (key, value)
  pairs: ``{"$dict": [[3, "x"], ["3", "y"]]}``; so is a dict of one key that starts with ``$``
  (``{"$ref": 1}`` is ``{"$dict": [["$ref", 1]]}``), so that it cannot pass for a tag;
- ``(1, "a")`` into ``{"$tuple": [1, "a"]}``; ``{1, 2}`` into ``{"$set": [1, 2]}``;
  ``frozenset({1, 2})`` into ``{"$frozenset": [1, 2]}``;
- ``b"\\x00hi"`` into ``{"$bytes": "AGhp"}`` (base64); a ``bytearray`` into ``{"$bytearray": ...}``;
- ``datetime(2024, 5, 1, 12, 30)`` into ``{"$datetime": "2024-05-01T12:30:00"}`` (ISO 8601, with
  its UTC offset if it has one; one in a ``zoneinfo`` zone is ``["<ISO 8601>", "Europe/Berlin"]``);
  ``date(2024, 5, 1)`` into ``{"$date": "2024-05-01"}``; ``time(12, 30)`` into
  ``{"$time": "12:30:00"}``; ``timedelta(days=1, seconds=5)`` into
  ``{"$timedelta": {"days": 1, "seconds": 5, "microseconds": 0}}``;
- ``float("nan")``, ``inf`` and ``-inf`` into ``{"$float": "nan"}``, ``{"$float": "inf"}``, ...

and leaves ``dict`` with str keys, ``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``
as they are (so data that is plain JSON is stored as plain JSON). Containers are encoded to any
depth, dict keys included (``{(1, 2): "x"}`` is ``{"$dict": [[{"$tuple": [1, 2]}, "x"]]}``).

Types are matched exactly: a subclass of ``int``, ``str`` or ``dict`` (an ``IntEnum``, a
``defaultdict``) is not silently stored as its base type. A value the encoding has no form for
is refused with ``NotJSONError`` (a ``TypeError``) naming where it is and its type. More types:
``TaggedJSON(encoders={Decimal: ("decimal", str)}, decoders={"decimal": Decimal})`` stores a
``Decimal`` as ``{"$decimal": "1.10"}``: an encoder gives the tag (without ``$``) and a function
whose result is encoded in turn; the decoder of that tag gets that result decoded.
"""
from __future__ import annotations

import base64
import datetime as _dt
import math
from typing import Any, Callable, Dict, List, Mapping, Optional, Protocol, Tuple, Union

from ..errors import invalid_json, not_json

try:  # Python 3.9+
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover
    ZoneInfo = None  # type: ignore[assignment,misc]

Path = List[Union[str, int, Any]]


class Codec(Protocol):
    """What ``BotSessionPersistence(codec=...)`` takes: ``encode`` turns a value into what
    ``json.dumps`` takes (str keys, no NaN), or raises; ``decode`` turns that back. ``where``
    names the data (``"chat_data of chat -100"``) for error messages."""

    def encode(self, value: Any, where: str = "the value") -> Any: ...
    def decode(self, data: Any, where: str = "the value") -> Any: ...


class _Refused(Exception):
    def __init__(self, value: Any, path: Path, why: str = "") -> None:
        self.value, self.path, self.why = value, path, why


class _Bad(Exception):
    def __init__(self, path: Path, why: str) -> None:
        self.path, self.why = path, why


def type_name(value: Any) -> str:
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _where(where: str, path: Path) -> str:
    if not path:
        return where
    return where + " at " + "".join(f"[{step!r}]" for step in path)


_JSON_SCALARS = (str, int, bool, type(None))


class TaggedJSON:
    """The default encoding of ``BotSessionPersistence`` (see the module's documentation)."""

    BUILTIN_TAGS = ("dict", "tuple", "set", "frozenset", "bytes", "bytearray", "datetime", "date",
                    "time", "timedelta", "float")

    def __init__(self, *, encoders: Optional[Mapping[type, Tuple[str, Callable[[Any], Any]]]] = None,
                 decoders: Optional[Mapping[str, Callable[[Any], Any]]] = None) -> None:
        self._encoders: Dict[type, Tuple[str, Callable[[Any], Any]]] = {}
        for kind, entry in (encoders or {}).items():
            if not isinstance(kind, type) or not isinstance(entry, tuple) or len(entry) != 2 \
                    or not isinstance(entry[0], str) or not entry[0] or not callable(entry[1]):
                raise TypeError(f"encoders maps a type to (tag, function), not {kind!r}: {entry!r}")
            self._encoders[kind] = (entry[0].lstrip("$"), entry[1])
        self._decoders: Dict[str, Callable[[Any], Any]] = {}
        for tag, function in (decoders or {}).items():
            if not isinstance(tag, str) or not tag or not callable(function):
                raise TypeError(f"decoders maps a tag to a function, not {tag!r}: {function!r}")
            self._decoders[tag.lstrip("$")] = function

    # -- encoding --------------------------------------------------------------------------

    def encode(self, value: Any, where: str = "the value") -> Any:
        try:
            return self._encode(value, [])
        except _Refused as refused:
            why = f" ({refused.why})" if refused.why else ""
            raise not_json(
                f"{_where(where, refused.path)} holds a value of type {type_name(refused.value)}{why}, which "
                "the encoding cannot store; nothing was stored (give the persistence a codec that "
                "knows the type, e.g. TaggedJSON(encoders=..., decoders=...), or store another "
                "type)") from None
        except RecursionError:
            raise invalid_json(f"{where} is nested too deeply or circular; nothing was stored") from None

    def _encode(self, value: Any, path: Path) -> Any:
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            return value
        if kind is dict:
            if all(type(key) is str for key in value) and not (len(value) == 1 and next(iter(value)).startswith("$")):
                return {key: self._encode(item, path + [key]) for key, item in value.items()}
            return {"$dict": [[self._encode(key, path + [key, "(the key)"]), self._encode(item, path + [key])]
                              for key, item in value.items()]}
        if kind is list:
            return [self._encode(item, path + [index]) for index, item in enumerate(value)]
        if kind is float:
            if math.isfinite(value):
                return value
            return {"$float": repr(value)}
        custom = self._encoders.get(kind)
        if custom is not None:
            tag, function = custom
            return {"$" + tag: self._encode(function(value), path)}
        if kind is tuple:
            return {"$tuple": [self._encode(item, path + [index]) for index, item in enumerate(value)]}
        if kind is set or kind is frozenset:
            items = list(value)
            try:
                items.sort()
            except TypeError:
                pass  # mixed types: any order will do, a set has none
            return {"$" + kind.__name__: [self._encode(item, path + ["(an element)"]) for item in items]}
        if kind is bytes or kind is bytearray:
            return {"$" + kind.__name__: base64.b64encode(value).decode("ascii")}
        if kind is _dt.datetime:
            return {"$datetime": self._with_zone(value, value.isoformat(), path)}
        if kind is _dt.date:
            return {"$date": value.isoformat()}
        if kind is _dt.time:
            if value.tzinfo is not None and type(value.tzinfo) is not _dt.timezone:
                raise _Refused(value, path, f"its tzinfo is a {type_name(value.tzinfo)}")
            return {"$time": value.isoformat()}
        if kind is _dt.timedelta:
            return {"$timedelta": {"days": value.days, "seconds": value.seconds, "microseconds": value.microseconds}}
        for base, (tag, function) in self._encoders.items():  # subclasses of a type given in encoders
            if isinstance(value, base):
                return {"$" + tag: self._encode(function(value), path)}
        raise _Refused(value, path)

    @staticmethod
    def _with_zone(value: _dt.datetime, text: str, path: Path) -> Any:
        zone = value.tzinfo
        if zone is None or type(zone) is _dt.timezone:
            return text
        if ZoneInfo is not None and type(zone) is ZoneInfo and zone.key:
            return [text, zone.key]
        raise _Refused(value, path, f"its tzinfo is a {type_name(zone)}, which has no name zoneinfo knows")

    # -- decoding --------------------------------------------------------------------------

    def decode(self, data: Any, where: str = "the value") -> Any:
        try:
            return self._decode(data, [])
        except _Bad as bad:
            raise invalid_json(f"{_where(where, bad.path)} cannot be read: {bad.why}") from None
        except RecursionError:
            raise invalid_json(f"{where} is nested too deeply to read") from None

    def _decode(self, data: Any, path: Path) -> Any:
        kind = type(data)
        if kind is list:
            return [self._decode(item, path + [index]) for index, item in enumerate(data)]
        if kind is dict:
            if len(data) == 1:
                (key, payload), = data.items()
                if key.startswith("$"):
                    return self._tag(key[1:], payload, path)
            return {key: self._decode(item, path + [key]) for key, item in data.items()}
        return data

    def _tag(self, tag: str, payload: Any, path: Path) -> Any:
        custom = self._decoders.get(tag)
        if custom is not None:
            try:
                return custom(self._decode(payload, path))
            except (_Bad, RecursionError):
                raise
            except Exception as error:
                raise _Bad(path, f"the decoder of ${tag} failed: {type(error).__name__}: {error}") from None
        try:
            if tag == "dict":
                self._expect(isinstance(payload, list) and all(isinstance(p, list) and len(p) == 2 for p in payload),
                             path, "$dict holds a list of [key, value] pairs")
                result = {}
                for index, (key, item) in enumerate(payload):
                    decoded_key = self._decode(key, path + [index, "(the key)"])
                    try:
                        hash(decoded_key)
                    except TypeError:
                        raise _Bad(path + [index], f"a key of type {type_name(decoded_key)} cannot be a dict key") from None
                    result[decoded_key] = self._decode(item, path + [decoded_key])
                return result
            if tag in ("tuple", "set", "frozenset"):
                self._expect(isinstance(payload, list), path, f"${tag} holds a list")
                items = [self._decode(item, path + [index]) for index, item in enumerate(payload)]
                return tuple(items) if tag == "tuple" else set(items) if tag == "set" else frozenset(items)
            if tag in ("bytes", "bytearray"):
                self._expect(isinstance(payload, str), path, f"${tag} holds base64 text")
                raw = base64.b64decode(payload.encode("ascii"), validate=True)
                return raw if tag == "bytes" else bytearray(raw)
            if tag == "datetime":
                if isinstance(payload, list) and len(payload) == 2 and all(isinstance(p, str) for p in payload):
                    if ZoneInfo is None:  # pragma: no cover
                        raise _Bad(path, "this Python has no zoneinfo")
                    return _dt.datetime.fromisoformat(payload[0]).astimezone(ZoneInfo(payload[1]))
                self._expect(isinstance(payload, str), path, "$datetime holds ISO 8601 text or [text, zone]")
                return _dt.datetime.fromisoformat(payload)
            if tag == "date":
                self._expect(isinstance(payload, str), path, "$date holds ISO 8601 text")
                return _dt.date.fromisoformat(payload)
            if tag == "time":
                self._expect(isinstance(payload, str), path, "$time holds ISO 8601 text")
                return _dt.time.fromisoformat(payload)
            if tag == "timedelta":
                self._expect(isinstance(payload, dict) and set(payload) <= {"days", "seconds", "microseconds"}
                             and all(type(v) is int for v in payload.values()),
                             path, "$timedelta holds whole days, seconds and microseconds")
                return _dt.timedelta(**payload)
            if tag == "float":
                self._expect(payload in ("nan", "inf", "-inf"), path, '$float holds "nan", "inf" or "-inf"')
                return float(payload)
        except (_Bad, RecursionError):
            raise
        except Exception as error:  # malformed text in a payload
            raise _Bad(path, f"${tag}: {type(error).__name__}: {error}") from None
        raise _Bad(path, f"${tag} is no tag this encoding knows (an object with one key that starts "
                         "with $ is a tag; give the codec a decoder for it)")

    @staticmethod
    def _expect(condition: bool, path: Path, why: str) -> None:
        if not condition:
            raise _Bad(path, why)
