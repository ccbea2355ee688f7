"""The identity graph stays readable at any size: past a ring's limit, identifiers fold into one
"N more" node per type with their links counted; the customer's own stay highlighted; expanded
draws everything."""
from __future__ import annotations

from datetime import UTC, datetime

from identity.layout import RING_LIMIT, graph_layout

AT = datetime(2026, 3, 1, tzinfo=UTC)


def kiosk_graph(shoppers: int) -> dict:
    """A customer holding a kiosk device id that conflicted with `shoppers` other user ids."""
    own = [("user_id", "owner"), ("device_id", "kiosk"), ("email", "owner@example.com")]
    edges = [{"a_type": "device_id", "a_value": "kiosk", "b_type": "user_id", "b_value": "owner", "first_seen_at": AT, "message_id": "m",
              "state": "merged"}]
    edges += [{"a_type": "device_id", "a_value": "kiosk", "b_type": "user_id", "b_value": f"shopper-{n:03d}", "first_seen_at": AT,
               "message_id": f"m{n}", "state": "conflict"} for n in range(shoppers)]
    return {"nodes": [{"type": t, "value": v, "blocked": False} for t, v in own], "edges": edges}


def test_a_kiosk_with_144_conflicts_draws_a_readable_graph():
    layout = graph_layout(kiosk_graph(144))
    outside = [n for n in layout["nodes"] if n["outside"]]
    [group] = [n for n in outside if n["group"]]
    assert len(outside) <= RING_LIMIT and group["label"] == f"{144 - len(outside) + 1:,} more" and group["type"] == "user_id"
    assert layout["folded"] == group["group"] and layout["total"] == 147
    folded_link = [e for e in layout["edges"] if e["count"] > 1]
    assert len(folded_link) == 1 and folded_link[0]["count"] == group["group"] and folded_link[0]["state"] == "conflict"
    assert sum(e["count"] for e in layout["edges"]) == 145, "every link is drawn or counted"
    own = [n for n in layout["nodes"] if not n["outside"]]
    assert len(own) == 3 and all(not n["group"] for n in own), "the customer's own identifiers are all drawn"
    positions = [(n["x"], n["y"]) for n in layout["nodes"]]
    assert len(set(positions)) == len(positions), "no two nodes on one spot"


def test_expanded_draws_every_identifier_and_small_graphs_are_never_folded():
    assert len(graph_layout(kiosk_graph(144), expanded=True)["nodes"]) == 147
    small = graph_layout(kiosk_graph(5))
    assert small["folded"] == 0 and len(small["nodes"]) == 8 and all(e["count"] == 1 for e in small["edges"])


def test_each_type_keeps_some_when_many_types_share_a_ring():
    graph = kiosk_graph(0)
    graph["nodes"] += [{"type": kind, "value": f"{kind}-{n}", "blocked": False} for kind in ("anonymous_id", "phone") for n in range(20)]
    layout = graph_layout(graph)
    drawn = {}
    for node in layout["nodes"]:
        drawn.setdefault(node["type"], []).append(node)
    assert {"user_id", "device_id", "email", "anonymous_id", "phone"} <= set(drawn)
    assert [n["label"] for n in drawn["phone"] if n["group"]] and len(layout["nodes"]) <= RING_LIMIT + 2
