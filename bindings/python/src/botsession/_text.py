"""Python values and strings on their way into and out of the C library."""
from __future__ import annotations

import json
from typing import Any, Optional, Union

from .errors import misuse


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


# Made once: json.dumps with options builds a new encoder on every call, which costs more than
# the encoding itself.
_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_decode = json.JSONDecoder().decode


def encode(value: Any) -> bytes:
    """A Python value (dict, list, str, int, float, bool, None) as compact JSON."""
    return _encoder.encode(value).encode("utf-8")


def decode(text: Optional[str]) -> Any:
    return None if text is None else _decode(text)


def json_argument(value: Union[str, bytes], what: str) -> bytes:
    """JSON text given by the caller as str or bytes."""
    if isinstance(value, bytes):
        if b"\0" in value:
            raise misuse(f"{what} contains a NUL byte")
        return value
    return c_text(value, what)
