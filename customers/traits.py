"""Traits as key/value rows: last write wins by event time, with the source of each value."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from customers.tables import TRAITS


def trait_row(tenant_id: str, cdp_id: str, key: str, value: Any, at: datetime, source: str) -> dict:
    """One trait row; `value` None records an unset (the key stays, empty, so older writes lose)."""
    if isinstance(value, bool):
        text, number = ("true" if value else "false"), None
    elif isinstance(value, (int, float)):
        text, number = json.dumps(value), float(value)
    elif isinstance(value, str) or value is None:
        text, number = value, None
    else:
        text, number = json.dumps(value, ensure_ascii=False, separators=(",", ":")), None
    return {"tenant_id": tenant_id, "cdp_id": cdp_id, "key": key, "value": text, "number_value": number,
            "updated_at": at, "source": source}


def trait_rows_from_call(tenant_id: str, cdp_id: str, call: dict, at: datetime) -> list[dict]:
    traits = call.get("traits")
    if not isinstance(traits, dict) or call.get("type") not in ("identify", "group"):
        return []
    if call["type"] == "group":
        rows = [trait_row(tenant_id, cdp_id, "group_id", call.get("groupId"), at, "group")]
        return rows + [trait_row(tenant_id, cdp_id, f"group.{key}", value, at, "group") for key, value in traits.items()]
    source = (call.get("context") or {}).get("cdp_source") or "identify"
    return [trait_row(tenant_id, cdp_id, key, value, at, source) for key, value in traits.items()]


def traits_save(engine, rows: list[dict]) -> None:
    engine.upsert(TRAITS, rows, newer="updated_at")
