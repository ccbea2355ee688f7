"""Strict JSON text, as the API, the tracking endpoints and imports accept it.

Strict means: no NaN or Infinity (not JSON) nor numbers past a double's range, no lone UTF-16 surrogate escapes such as
`"\\ud800"`, and (checked by the caller, which knows where a value goes) no NUL character
`"\\u0000"`. Python's json module accepts the first two; a lone surrogate is not a character and
cannot be stored as UTF-8, PostgreSQL text cannot hold a NUL, and once accepted either made every
later write of that value fail (a tracking batch holding one stopped the loader for every
tenant). msgspec reads strict JSON about a third faster than the standard library, so it reads
first; the standard library reads only what msgspec refused, to say precisely what is wrong.
"""
from __future__ import annotations

import json

import msgspec

_decode = msgspec.json.Decoder().decode


class JsonRejected(ValueError):
    """The text is not strict JSON; the message says what to send instead."""


def loads(text: str | bytes) -> object:
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
        raise JsonRejected("The body contains a lone UTF-16 surrogate escape (such as \\ud800 without its pair), which is "
                           "not a character; send valid Unicode text.") from None
    except ValueError:
        raise JsonRejected("The body contains a number too large for a double (such as 1e400); send it as a string.") from None
    return value


NUL_ESCAPE = "\\u0000"  # how a NUL appears in JSON text (a raw one is not valid JSON)
NUL_MESSAGE = "contains a NUL character (\\u0000), which cannot be stored; remove it"


def nul_path(value: object, path: str = "") -> str | None:
    """Where the first NUL character is in a parsed JSON value, as a dotted path ("" for the value
    itself), or None. Callers look only when the text holds a NUL escape, which is rare."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return inner
            found = nul_path(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list):
        for position, item in enumerate(value):
            found = nul_path(item, f"{path}[{position}]")
            if found is not None:
                return found
    return None


def without_nul(value: object) -> object:
    """The value with every NUL character replaced by U+FFFD (for data accepted before NULs were refused)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    return value


def loads_storable(text: str | bytes) -> object:
    """`loads`, also refusing a NUL character anywhere: for a body stored as it is."""
    value = loads(text)
    if (NUL_ESCAPE in text if isinstance(text, str) else NUL_ESCAPE.encode() in text):
        path = nul_path(value)
        if path is not None:
            raise JsonRejected(f"The body {'at ' + path + ' ' if path else ''}{NUL_MESSAGE}.")
    return value


def _no_constants(name: str):
    raise JsonRejected(f"The body contains {name}, which JSON does not allow; send null or a number.")
