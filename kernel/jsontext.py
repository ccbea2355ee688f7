"""Strict JSON text, as the API, the tracking endpoints and imports accept it.

Strict means: no NaN or Infinity (not JSON) nor numbers past a double's range, and no text that
cannot be stored: a lone UTF-16 surrogate escape such as `"\\ud800"` (not a character, no UTF-8
for it) or a NUL `"\\u0000"` (PostgreSQL text cannot hold one). Python's json module accepts all of
these, and once accepted each made every later write of the value fail (a tracking batch holding
one stopped the loader for every tenant).

The API refuses a whole body holding unstorable text (`loads_storable`); tracking refuses only
the calls that hold it (`loads(..., unstorable_ok=True)`, then `unstorable_path` per call), so one
bad call does not cost a batch its good ones.

msgspec reads strict JSON about a third faster than the standard library, so it reads first; the
standard library reads only what msgspec refused, to say precisely what is wrong.
"""
from __future__ import annotations

import json

import msgspec

_decode = msgspec.json.Decoder().decode

NUL_ESCAPE = "\\u0000"  # how a NUL appears in JSON text (a raw one is not valid JSON)
NUL_MESSAGE = "contains a NUL character (\\u0000), which cannot be stored; remove it"
SURROGATE_MESSAGE = ("contains a lone UTF-16 surrogate escape (such as \\ud800 without its pair), which is not a character; "
                     "send valid Unicode text")


class JsonRejected(ValueError):
    """The text is not strict JSON; the message says what to send instead."""


def loads(text: str | bytes, *, unstorable_ok: bool = False) -> object:
    """Parse strict JSON. `unstorable_ok` lets lone surrogates through, for a caller that refuses
    them part by part (NULs always come through: msgspec reads them, callers check)."""
    try:
        return _decode(text)
    except (msgspec.DecodeError, RecursionError):
        pass  # rare: read it again with the standard library, whose errors say line and column
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise JsonRejected(f"The body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.") from None
    except RecursionError:
        raise JsonRejected("The body nests too deeply to read.") from None
    # msgspec refused what the standard library read: a lone surrogate escape, or a number past a
    # double's range (1e400, which Python reads as infinity and JSON cannot write back).
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        if not unstorable_ok:
            raise JsonRejected(f"The body {SURROGATE_MESSAGE}.") from None
    except ValueError:
        raise JsonRejected("The body contains a number too large for a double (such as 1e400); send it as a string.") from None
    return value


def might_be_unstorable(text: str) -> bool:
    """Whether parsed values could hold a NUL or a lone surrogate: their escapes are in the text.
    (A surrogate escape is usually half of a valid pair, an emoji from an ASCII-only encoder.)
    Most bodies hold no backslash at all, which one memchr finds out (this runs on every request)."""
    return "\\" in text and (NUL_ESCAPE in text or "\\ud" in text or "\\uD" in text)


def unstorable_path(value: object, path: str = "") -> tuple[str, str] | None:
    """The first NUL or lone surrogate in a parsed JSON value: (dotted path, "" for the value
    itself; what is wrong), or None."""
    if isinstance(value, str):
        return _unstorable_text(value, path)
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            found = _unstorable_text(key, inner) or unstorable_path(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list):
        for position, item in enumerate(value):
            found = unstorable_path(item, f"{path}[{position}]")
            if found is not None:
                return found
    return None


def _unstorable_text(text: str, path: str) -> tuple[str, str] | None:
    if "\x00" in text:
        return path, NUL_MESSAGE
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return path, SURROGATE_MESSAGE
    return None


def storable(value: object) -> object:
    """The value with every NUL and lone surrogate replaced by U+FFFD (for data accepted before
    they were refused)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd").encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


def loads_storable(text: str) -> object:
    """`loads`, refusing the whole body if anything in it cannot be stored."""
    value = loads(text)
    if might_be_unstorable(text):
        found = unstorable_path(value)
        if found is not None:
            path, message = found
            raise JsonRejected(f"The body {'at ' + path + ' ' if path else ''}{message}.")
    return value


def _no_constants(name: str):
    raise JsonRejected(f"The body contains {name}, which JSON does not allow; send null or a number.")
