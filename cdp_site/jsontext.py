"""Strict JSON text, as the API, the tracking endpoints and imports accept it.

Strict means: no NaN or Infinity (not JSON), and no lone UTF-16 surrogate escapes such as
`"\\ud800"`. Python's json module accepts both; a lone surrogate is not a character, cannot be
stored as UTF-8, and once accepted made every later write of that value fail (a tracking batch
holding one stopped the loader for every tenant). msgspec reads strict JSON about a third faster
than the standard library, so it reads first; the standard library reads only what msgspec
refused, to say precisely what is wrong.
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
    # msgspec refused what the standard library read: a lone surrogate escape is what remains.
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise JsonRejected("The body contains a lone UTF-16 surrogate escape (such as \\ud800 without its pair), which is "
                           "not a character; send valid Unicode text.") from None
    return value


def _no_constants(name: str):
    raise JsonRejected(f"The body contains {name}, which JSON does not allow; send null or a number.")
