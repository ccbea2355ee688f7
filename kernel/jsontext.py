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
import sys

import msgspec
import numpy as np

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
    except msgspec.ValidationError as exc:
        if "Integer value out of range" in str(exc):
            raise JsonRejected(f"The body holds an integer of more than {sys.get_int_max_str_digits()} digits; send it as a string.") from None
        # anything else msgspec refuses: the standard library below says what
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise JsonRejected(f"The body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.") from None
    except RecursionError:
        raise JsonRejected("The body nests too deeply to read.") from None
    except JsonRejected:
        raise
    except ValueError:  # an integer past Python's digit limit for reading one
        raise JsonRejected(f"The body holds an integer of more than {sys.get_int_max_str_digits()} digits; send it as a string.") from None
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


MAX_DEPTH = 100  # nesting a call may have: deeper values would fail writers that recurse (JSON encoders)
DEPTH_MESSAGE = f"nests more than {MAX_DEPTH} levels deep, which cannot be stored; flatten it"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def depth_bound(raw: bytes) -> int:
    """An upper bound of how deep the JSON text nests, at C speed: brackets inside strings count
    too, which can only overstate it. Runs on every tracking request; only bodies over MAX_DEPTH
    have their calls walked (`too_deep_path`)."""
    brackets = np.frombuffer(raw.translate(None, _NOT_BRACKETS), dtype=np.uint8)
    if len(brackets) <= MAX_DEPTH:
        return len(brackets)
    return int(np.cumsum(np.where((brackets == 0x5B) | (brackets == 0x7B), 1, -1)).max())


def too_deep_path(value: object, limit: int = MAX_DEPTH) -> tuple[str, str] | None:
    """Where a parsed value nests deeper than `limit`, named by the field and key it starts from
    (`properties.x`, not the hundred keys down), or None. Iterative, so no depth can exhaust the
    interpreter's stack."""
    stack = [(value, "", 0, "")]
    while stack:
        item, path, depth, start = stack.pop()
        if isinstance(item, dict):
            children = ((f"{path}.{key}" if path else str(key), child) for key, child in item.items())
        elif isinstance(item, list):
            children = ((f"{path}[{i}]", child) for i, child in enumerate(item))
        else:
            continue
        if depth >= limit:
            return start, DEPTH_MESSAGE
        stack.extend((child, child_path, depth + 1, child_path if depth < 2 else start) for child_path, child in children)
    return None


def unstorable_path(value: object, path: str = "") -> tuple[str, str] | None:
    """The first NUL or lone surrogate in a parsed JSON value: (dotted path, "" for the value
    itself; what is wrong), or None. Iterative: a deeply nested value cannot exhaust the stack."""
    stack = [(value, path)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, str):
            found = _unstorable_text(item, at)
            if found is not None:
                return found
        elif isinstance(item, dict):
            entries = list(item.items())
            for key, child in reversed(entries):  # reversed: the first entry is looked at first
                inner = f"{at}.{key}" if at else str(key)
                stack.append((child, inner))
                stack.append((key, inner))
        elif isinstance(item, list):
            stack.extend((child, f"{at}[{position}]") for position, child in reversed(list(enumerate(item))))
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
    they were refused). Iterative, like the checks."""
    def clean(text):
        return text.replace("\x00", "\ufffd").encode("utf-8", "surrogatepass").decode("utf-8", "replace")

    if not isinstance(value, (dict, list)):
        return clean(value) if isinstance(value, str) else value
    root: list = [None]
    stack = [(value, root, 0)]
    while stack:
        item, parent, slot = stack.pop()
        if isinstance(item, dict):
            copy = {}
            parent[slot] = copy
            for key, child in item.items():
                copy[clean(key) if isinstance(key, str) else key] = None
                stack.append((child, copy, clean(key) if isinstance(key, str) else key))
        elif isinstance(item, list):
            copy = [None] * len(item)
            parent[slot] = copy
            stack.extend((child, copy, i) for i, child in enumerate(item))
        else:
            parent[slot] = clean(item) if isinstance(item, str) else item
    return root[0]


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
