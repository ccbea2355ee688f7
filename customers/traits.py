"""Traits as key/value rows: last write wins by event time, with the source and JSON type of each value.

A value keeps its JSON type on every engine: `value` holds a string as it is and anything else as
compact JSON text, `value_type` says which (string, number, boolean, array, object, null), so it
comes back as it went in. For conditions in SQL a number is also in `number_value` and a string
that is an ISO 8601 date or time in `time_value` (UTC), so segments compare them without parsing.
An unset keeps the row with no value and no type, so an older write cannot bring it back.

`slug` is the tenant as the lakehouse keys it (its `tenant_id` column); `tenant_id` in Python is
always the operational database's integer key, and `tenant` a `TenantRef`.
"""
from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from customers.tables import TRAITS
from kernel.times import parse_time

TRAIT_TYPES = ("string", "number", "boolean", "array", "object", "null")
# Trait writes made by people (the console, the API) rather than by the customer's own calls:
# a merge or split keeps them when it rebuilds traits from the customers' events.
OPERATOR_SOURCES = ("api", "console")
_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def trait_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, (list, tuple)) else "object"


def _number(value: int | float) -> float | None:
    try:
        number = float(value)
    except OverflowError:  # an integer past a double: kept exactly as text, not comparable as a number
        return None
    return number if math.isfinite(number) else None


def trait_row(slug: str, cdp_id: str, key: str, value: Any, at: datetime, source: str, *, unset: bool = False) -> dict:
    """One trait row. `unset` records a removal (the key stays, empty, so older writes lose)."""
    kind = None if unset else trait_type(value)
    number = time = None
    if kind is None or kind == "null":
        text = None
    elif kind == "string":
        text, time = value, parse_time(value) if 10 <= len(value) <= 40 and value[:4].isdigit() else None
    else:
        text = _DUMPS(value)
        number = _number(value) if kind == "number" else None
    return {"tenant_id": slug, "cdp_id": cdp_id, "key": key, "value": text, "number_value": number,
            "updated_at": at, "source": source, "value_type": kind, "time_value": time}


def trait_value(text: str | None, kind: str | None, number: float | None) -> Any:
    """A stored value as it was written. Rows from before types were kept (`kind` None) are
    strings, or numbers where a number was recorded."""
    if kind == "string":
        return text
    if kind in ("number", "boolean", "array", "object"):
        return json.loads(text)
    if kind is None and number is not None and text is not None:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return None if kind == "null" else text


def is_unset(text: str | None, kind: str | None) -> bool:
    return kind is None and text is None


def trait_rows_from_call(slug: str, cdp_id: str, call: dict, at: datetime) -> list[dict]:
    traits = call.get("traits")
    if not isinstance(traits, dict) or call.get("type") not in ("identify", "group"):
        return []
    if call["type"] == "group":
        rows = [trait_row(slug, cdp_id, "group_id", call.get("groupId"), at, "group")]
        return rows + [trait_row(slug, cdp_id, f"group.{key}", value, at, "group") for key, value in traits.items()]
    source = (call.get("context") or {}).get("cdp_source") or "identify"
    return [trait_row(slug, cdp_id, key, value, at, source) for key, value in traits.items()]


def traits_save(engine, rows: list[dict]) -> None:
    engine.upsert(TRAITS, rows, newer="updated_at")
