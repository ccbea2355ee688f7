"""The one rule for which identifiers a tracking call names, normalised how.

A call's identifiers are its userId and anonymousId, the email and phone in an identify's traits,
the device id in its context, the tenant's custom types, and for alias its previousId. Blocked
and malformed values are left out; every value is normalised by `identity.rules.normalize`
(emails lower-cased, phones in E.164). Resolution, ingestion suppression, the loader's second
suppression check, erasure and lookup all use this function, so they cannot disagree about which
identifiers a call carries (two copies once did, and an erased customer came back by phone).
"""
from __future__ import annotations

from collections.abc import Collection

from identity.rules import Rules, normalize
from kernel.segment.calls import call_traits

Node = tuple[str, str]  # (identifier type, value)


def _path(data, path: list[str]):
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def call_identifiers(call: dict, rules: Rules, known_user_ids: Collection[str] | None = None) -> list[Node]:
    """The call's identifiers, strongest first (by the rules' priority).

    An alias's previousId is a user id when the tenant knows that value as one, else an anonymous
    id. With `known_user_ids` None (not looked up: suppression checks at the door) it is named as
    both, so a check that must not miss an identifier sees it whichever it turns out to be."""
    traits = call_traits(call) or {}
    context = call.get("context") if isinstance(call.get("context"), dict) else {}
    raw = [("user_id", call.get("userId")), ("anonymous_id", call.get("anonymousId"))]
    if call.get("type") == "identify":
        raw += [("email", traits.get("email")), ("phone", traits.get("phone"))]
    raw.append(("device_id", _path(context, ["device", "id"])))
    previous = call.get("previousId") if call.get("type") == "alias" else None
    if previous is not None and not isinstance(previous, bool):
        previous = str(previous).strip()
        if known_user_ids is None:
            raw += [("user_id", previous), ("anonymous_id", previous)]
        else:
            raw.append(("user_id" if previous in known_user_ids else "anonymous_id", previous))
    for custom in rules.custom:
        source = traits if custom.source.startswith("trait:") else context
        raw.append((custom.name, _path(source, custom.path)))
    found, seen = [], set()
    for id_type, value in raw:
        value = normalize(id_type, value, rules)
        if value is not None and (id_type, value) not in seen:
            seen.add((id_type, value))
            found.append((id_type, value))
    return sorted(found, key=lambda node: rules.rank(node[0]))


def alias_previous_ids(calls: list[dict]) -> list[str]:
    """The previousIds of a batch's alias calls, as `call_identifiers` reads them."""
    return sorted({str(c["previousId"]).strip() for c in calls
                   if c.get("type") == "alias" and c.get("previousId") is not None and not isinstance(c["previousId"], bool)})
