"""The identifiers a tracking call names, and the edges between them.

A call's identifiers are its userId and anonymousId, the email and phone in its traits, the
device id in its context, the tenant's custom types, and for alias its previousId (a user id when
the tenant knows that value as one, else an anonymous id). Blocked and malformed values are left
out. The edges form a star from the strongest identifier (by the rules' priority) to every other,
so one bad identifier cannot stop the others from joining.
"""
from __future__ import annotations

from identity.resolution import Graph, Node, micros
from identity.rules import Rules, normalize
from tracking.calls import parse_time


def _path(data, path: list[str]):
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def call_identifiers(call: dict, rules: Rules, known_user_ids: set[str] = frozenset()) -> list[Node]:
    """The call's identifiers, strongest first."""
    traits = call.get("traits") if isinstance(call.get("traits"), dict) else {}
    context = call.get("context") if isinstance(call.get("context"), dict) else {}
    raw = [("user_id", call.get("userId")), ("anonymous_id", call.get("anonymousId"))]
    if call.get("type") == "identify":
        raw += [("email", traits.get("email")), ("phone", traits.get("phone"))]
    raw.append(("device_id", _path(context, ["device", "id"])))
    if call.get("type") == "alias" and call.get("previousId"):
        previous = str(call["previousId"]).strip()
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


def calls_graph(calls: list[dict], rules: Rules, known_user_ids: set[str] = frozenset()) -> tuple[Graph, list[list[Node]]]:
    """The edges and identifiers of a batch of calls, and each call's identifiers (strongest first)."""
    graph, per_call = Graph(), []
    for call in calls:
        nodes = call_identifiers(call, rules, known_user_ids)
        per_call.append(nodes)
        at = micros(parse_time(call["timestamp"]))
        for node in nodes:
            graph.add_node(node, at)
        for other in nodes[1:]:
            graph.add_edge(nodes[0], other, at, call["messageId"])
    return graph, per_call
