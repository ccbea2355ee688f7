"""Validate and normalise one tracking call, the way Segment's HTTP API reads it.

Pure functions, no I/O: the hot path of ingestion. A call is either Accepted (ready for the
inbox) or Rejected with one error per offending field.
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kernel.jsontext import too_deep_path, unstorable_path
from kernel.segment.limits import CALL_TYPES, MAX_EVENT_BYTES, MAX_MESSAGE_ID, MAX_TRAIT_KEY
from kernel.times import parse_time

_ID_FIELDS = ("userId", "anonymousId", "groupId", "previousId")
_OBJECT_FIELDS = ("properties", "traits", "context", "integrations")
_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


@dataclass(slots=True)
class Accepted:
    message_id: str
    type: str
    payload: dict  # the normalised call
    event_time: datetime


@dataclass(slots=True)
class Rejected:
    index: int | None
    message_id: str | None
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"index": self.index, "messageId": self.message_id, "errors": self.errors}


def _identifier(value: Any) -> str | None:
    if value.__class__ is str:
        return value.strip() or None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


_TIME_MESSAGE = "must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z"


def event_time(call: dict, received_at: datetime, batch_sent_at: datetime | None, errors: list) -> datetime:
    """Segment's clock-skew correction: receivedAt - (sentAt - originalTimestamp).

    The client's own time is `originalTimestamp`, or `timestamp` when that is all it sent; without
    `sentAt` to measure its clock against, the client's time is taken as it is. Unreadable times
    are added to `errors` as (field, message)."""
    get = call.get
    timestamp, original, sent_at = get("timestamp"), get("originalTimestamp"), get("sentAt")
    if timestamp is not None and (timestamp := parse_time(timestamp)) is None:
        errors.append(("timestamp", _TIME_MESSAGE))
    if original is not None and (original := parse_time(original)) is None:
        errors.append(("originalTimestamp", _TIME_MESSAGE))
    if sent_at is not None and (sent_at := parse_time(sent_at)) is None:
        errors.append(("sentAt", _TIME_MESSAGE))
    original = original or timestamp
    sent_at = sent_at or batch_sent_at
    if original is None:
        return received_at
    if sent_at is None:
        return original
    try:
        return received_at - (sent_at - original)
    except OverflowError:
        errors.append(("sentAt", "is so far from the call's timestamp that the clock-skew-corrected time is past the calendar; "
                                 "send the client's real clock time"))
        return received_at


@dataclass(slots=True)
class Checked:
    """A call that passed validation: what ingestion needs to store and deduplicate it."""

    raw: dict
    type: str
    message_id: str
    ids: dict
    name: str | None
    event_time: datetime

    @property
    def call(self) -> dict:
        """The call as sent, with its type (a route such as /v1/identify implies it)."""
        return self.raw if self.raw.get("type") == self.type else {**self.raw, "type": self.type}


_TYPE_MESSAGE = f"must be one of {', '.join(CALL_TYPES)}"


def check_call(raw: Any, *, received_at: datetime, batch_sent_at: datetime | None = None,
               index: int | None = None, implied_type: str | None = None, check_size: bool = True,
               message_id: str | None = None, unstorable_possible: bool = False, deep_possible: bool = False) -> Checked | Rejected:
    """Validate one call (the ingestion hot path). `check_size` may be off when the whole body is
    under the per-call limit (then no call can be over it); `message_id` gives back an id the
    server made for a call that came without one; `unstorable_possible` says the body holds a NUL or
    surrogate escape, so the call's text must be checked for what cannot be stored.

    Errors are gathered as (field, message), field "" meaning the call itself, and named with the
    call's place in the batch only when there are any."""
    if not isinstance(raw, dict):
        return _rejected(index, None, [("", "must be a JSON object")])
    get = raw.get
    errors: list[tuple[str, str]] = []
    call_type = implied_type or get("type")
    if call_type not in CALL_TYPES:
        errors.append(("type", _TYPE_MESSAGE))

    sent_id = get("messageId")
    message_id = message_id or _identifier(sent_id)
    if sent_id is not None and message_id is None:
        errors.append(("messageId", "must be a non-empty string"))
    elif message_id and len(message_id) > MAX_MESSAGE_ID:
        errors.append(("messageId", f"must be at most {MAX_MESSAGE_ID} characters"))

    ids = {}
    for field_name in _ID_FIELDS:
        value = get(field_name)
        if value is None:
            ids[field_name] = None
            continue
        ids[field_name] = identifier = _identifier(value)
        if identifier is None:
            if not isinstance(value, str):  # a blank string is as good as none
                errors.append((field_name, "must be a string or a number"))
        elif len(identifier) > 255:
            errors.append((field_name, "must be at most 255 characters"))
    if call_type == "alias":
        for field_name in ("previousId", "userId"):
            if not ids[field_name]:
                errors.append((field_name, "alias needs previousId and userId"))
    elif not ids["userId"] and not ids["anonymousId"]:
        errors.append(("userId", "send userId or anonymousId"))
    if call_type == "group" and not ids["groupId"]:
        errors.append(("groupId", "group needs a groupId"))

    if call_type == "track":
        name = get("event")
        if name is not None and not isinstance(name, str):  # say the type: the name is there, in the wrong shape
            errors.append(("event", f"must be a string (the event's name), not {_json_type(name)}"))
            name = None
        elif name is None or not name.strip():
            errors.append(("event", "track needs an event name"))
            name = None
    else:
        name = get("name")
        if name is not None and not isinstance(name, str):
            errors.append(("name", f"must be a string, not {_json_type(name)}"))
            name = None
    if name is not None and len(name) > 255:
        errors.append(("event" if call_type == "track" else "name", "must be at most 255 characters"))

    for key in _OBJECT_FIELDS:
        value = get(key)
        if value is not None and not isinstance(value, dict):
            errors.append((key, "must be a JSON object"))

    if call_type in ("identify", "group"):
        traits = call_traits({**raw, "type": call_type})
        for key in traits or ():
            if trait_key_problem(key) is not None:
                errors.append((f"traits.{str(key)[:40]}" if str(key).strip() else "traits", TRAIT_KEY_MESSAGE))
                break
    when = event_time(raw, received_at, batch_sent_at, errors)
    if deep_possible:  # deeper than any writer that recurses can store (found at C speed per body: depth_bound)
        found = too_deep_path(raw)
        if found is not None:
            errors.append(found)
    if unstorable_possible:  # a NUL (PostgreSQL cannot store one) or a lone surrogate (no UTF-8 for it)
        found = unstorable_path(raw)
        if found is not None:
            errors.append(found)
    if errors:
        return _rejected(index, message_id, errors)
    if check_size:
        try:
            size = len(_DUMPS(raw).encode())
        except (ValueError, RecursionError):
            return _rejected(index, message_id, [("", "contains values JSON cannot carry (NaN, Infinity) or nests too deeply")])
        if size > MAX_EVENT_BYTES:
            return _rejected(index, message_id, [("", f"is larger than {MAX_EVENT_BYTES // 1024} KB")])
    message_id = message_id or f"srv-{uuid.uuid4().hex}"
    return Checked(raw=raw, type=call_type, message_id=message_id, ids=ids, name=name, event_time=when)


def _json_type(value: object) -> str:
    """What a JSON value is, in JSON's words: for messages that say what was sent instead."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else "a string"


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
TRAIT_KEY_MESSAGE = f"trait names are 1 to {MAX_TRAIT_KEY} characters, without control characters"


def trait_key_problem(key: object) -> str | None:
    """Why a trait name cannot be a profile key, or None when it can."""
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_TRAIT_KEY or _CONTROL.search(key):
        return TRAIT_KEY_MESSAGE
    return None


def call_traits(call: dict) -> dict | None:
    """A call's traits: its own, or for an identify without any, those in `context.traits`
    (RudderStack's JavaScript SDK v3 sends an identify's traits only there)."""
    traits = call.get("traits")
    if call.get("type") == "identify" and not traits:
        context = call.get("context")
        if isinstance(context, dict) and isinstance(context.get("traits"), dict):
            return context["traits"]
    return traits if isinstance(traits, dict) else None


def _rejected(index: int | None, message_id: str | None, errors: list[tuple[str, str]]) -> Rejected:
    """Fields named as a client finds them: `batch[3].userId`, or `body` for a lone call itself."""
    prefix = "" if index is None else f"batch[{index}]"
    return Rejected(index, message_id, [{"field": f"{prefix}.{name}" if prefix and name else (name or prefix or "body"), "message": message}
                                        for name, message in errors])


def normalize_call(raw: Any, *, received_at: datetime, **options) -> Accepted | Rejected:
    """Validate one call and build its normalised form (what the loader writes)."""
    checked = check_call(raw, received_at=received_at, **options)
    if isinstance(checked, Rejected):
        return checked
    get, ids, call_type, name = raw.get, checked.ids, checked.type, checked.name
    traits = call_traits({**raw, "type": call_type})
    payload = {
        "type": call_type, "messageId": checked.message_id,
        "userId": ids["userId"], "anonymousId": ids["anonymousId"],
        "event": name.strip() if call_type == "track" else None, "name": name if call_type != "track" else None,
        "groupId": ids["groupId"], "previousId": ids["previousId"],
        "properties": get("properties") or {}, "traits": traits or ({} if call_type in ("identify", "group") else None),
        "context": get("context") or {}, "integrations": get("integrations") or {},
        "timestamp": checked.event_time.isoformat(), "originalTimestamp": get("originalTimestamp") or get("timestamp"),
        "sentAt": get("sentAt"), "receivedAt": received_at.isoformat(),
    }
    return Accepted(message_id=checked.message_id, type=call_type, payload=payload, event_time=checked.event_time)
