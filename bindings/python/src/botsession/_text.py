"""Python values and strings on their way into and out of the C library."""
from __future__ import annotations

import json
from typing import Any, Optional, Union

from .errors import invalid_json, misuse, not_json


def c_text(text: str, what: str) -> bytes:
    """`text` as the NUL-terminated UTF-8 the C API takes."""
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, not {type(text).__name__}")
    if "\0" in text:
        raise misuse(f"{what} contains a NUL character, which the C API cannot take")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise misuse(f"{what} is not valid Unicode (it has a lone surrogate): {error}") from None


def optional_text(text: Optional[str], what: str) -> Optional[bytes]:
    return None if text is None else c_text(text, what)


class _NotJSON(Exception):
    """Raised by the encoder's ``default`` hook: the object JSON has no form for."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _refuse(value: Any) -> Any:
    raise _NotJSON(value)


# Made once: json.dumps with options builds a new encoder on every call, which costs more than
# the encoding itself.
_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_refuse)
_decode = json.JSONDecoder().decode

_HOLD_JSON = "sessions hold JSON: dict, list, str, int, float, bool and None"


def encode(value: Any, what: str = "the session value") -> bytes:
    """A Python value (dict, list, str, int, float, bool, None) as compact JSON. A value of
    another type is NotJSONError (an InvalidJSONError and a TypeError); a string with a lone
    surrogate, NaN or infinity and a circular structure are InvalidJSONError."""
    try:
        return _encoder.encode(value).encode("utf-8")
    except _NotJSON as error:
        kind = type(error.value)
        name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
        hint = {"set": "a list", "frozenset": "a list", "tuple": "a list", "bytes": "a str",
                "bytearray": "a str"}.get(name)
        raise not_json(f"{what} contains a value of type {name}, which is not JSON ({_HOLD_JSON}); "
                       + (f"convert it to {hint}" if hint else "convert it to one of these first")) from None
    except UnicodeEncodeError as error:
        bad = error.object[error.start:error.end]
        codes = ", ".join(f"U+{ord(c):04X}" for c in bad)
        raise invalid_json(f"{what} has a string with a lone surrogate ({codes}), which is not Unicode "
                           "and cannot be stored as UTF-8 JSON; pair it or remove it") from None
    except TypeError as error:  # a dict key of a type JSON has no form for
        raise not_json(f"{what} is not JSON ({_HOLD_JSON}; dict keys are str, int, float, bool or "
                       f"None): {error}") from None
    except ValueError as error:  # NaN or infinity, a circular structure
        raise invalid_json(f"{what} is not JSON: {error}") from None


def decode(text: Optional[str]) -> Any:
    return None if text is None else _decode(text)


def json_argument(value: Union[str, bytes], what: str) -> bytes:
    """JSON text given by the caller as str or bytes."""
    if isinstance(value, bytes):
        if b"\0" in value:
            raise misuse(f"{what} contains a NUL byte")
        return value
    return c_text(value, what)
