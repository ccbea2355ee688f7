"""Where to draw a customer's identity graph: its identifiers on a ring, the identifiers of other
customers it touches (conflicts, blocked edges) on an outer ring. Geometry only; the template
draws it as SVG, so the page needs no chart library and works without JavaScript."""
from __future__ import annotations

import math

WIDTH, HEIGHT = 640, 420
TYPE_COLOURS = {"user_id": "#2563eb", "email": "#059669", "phone": "#7c3aed", "device_id": "#d97706", "anonymous_id": "#64748b"}
EDGE_STYLES = {"merged": ("#94a3b8", ""), "external": ("#94a3b8", "4 3"), "conflict": ("#dc2626", "6 4"), "blocked": ("#cbd5e1", "2 4")}


RING_LIMIT = 16  # identifiers drawn on a ring before the rest are folded into "N more" by type


def graph_layout(graph: dict, *, expanded: bool = False, ring_limit: int = RING_LIMIT) -> dict:
    """SVG positions for nodes and edges of `identity.selectors.customer_graph`. Past `ring_limit`
    identifiers on a ring (a kiosk many people signed in at touches hundreds), each type keeps a
    few and the rest become one "N more" node with the links it stands for, unless `expanded`."""
    mine = [(n["type"], n["value"]) for n in graph["nodes"]]
    blocked = {(n["type"], n["value"]) for n in graph["nodes"] if n["blocked"]}
    outside = sorted({end for e in graph["edges"] for end in ((e["a_type"], e["a_value"]), (e["b_type"], e["b_value"])) if end not in mine})
    cx, cy = WIDTH / 2, HEIGHT / 2
    position, folded_into, nodes = {}, {}, []
    for ring, members, radius in ((0, mine, 120 if len(mine) > 1 else 0), (1, outside, 185)):
        shown, groups = (members, {}) if expanded else _fold(members, ring_limit)
        slots = shown + [("group", kind) for kind in groups]
        for i, node in enumerate(slots):
            angle = 2 * math.pi * i / max(len(slots), 1) - math.pi / 2 + ring * 0.3
            position[node] = (round(cx + radius * math.cos(angle), 1), round(cy + radius * 0.85 * math.sin(angle), 1))
        for kind, hidden in groups.items():
            for node in hidden:
                folded_into[node] = ("group", kind)
        for node in shown:
            x, y = position[node]
            nodes.append({"x": x, "y": y, "type": node[0], "label": _short(node[1]), "value": node[1], "colour": TYPE_COLOURS.get(node[0], "#0f766e"),
                          "outside": ring == 1, "blocked": node in blocked, "group": 0})
        for kind, hidden in groups.items():
            x, y = position[("group", kind)]
            nodes.append({"x": x, "y": y, "type": kind, "label": f"{len(hidden):,} more", "value": f"{len(hidden):,} more {kind} identifiers",
                          "colour": TYPE_COLOURS.get(kind, "#0f766e"), "outside": ring == 1, "blocked": False, "group": len(hidden)})
    drawn: dict[tuple, dict] = {}
    for e in graph["edges"]:
        a_node, b_node = (e["a_type"], e["a_value"]), (e["b_type"], e["b_value"])
        a, b = position.get(folded_into.get(a_node, a_node)), position.get(folded_into.get(b_node, b_node))
        if not (a and b) or a == b:
            continue
        key = (a, b, e["state"])
        if key in drawn:  # links folded into one: counted, drawn once
            drawn[key]["count"] += 1
            drawn[key]["title"] = f"{drawn[key]['count']} links: {e['state']}"
            continue
        colour, dash = EDGE_STYLES.get(e["state"], EDGE_STYLES["merged"])
        drawn[key] = {"x1": a[0], "y1": a[1], "x2": b[0], "y2": b[1], "colour": colour, "dash": dash, "state": e["state"], "count": 1,
                      "title": f"{e['a_type']} {e['a_value']} — {e['b_type']} {e['b_value']}: {e['state']}, first seen {e['first_seen_at']:%Y-%m-%d %H:%M}"}
    return {"width": WIDTH, "height": HEIGHT, "nodes": nodes, "edges": list(drawn.values()), "legend": TYPE_COLOURS,
            "folded": len(folded_into), "total": len(mine) + len(outside)}


def _fold(members: list[tuple[str, str]], limit: int) -> tuple[list, dict[str, list]]:
    """The identifiers to draw, and those folded into a node per type. Every type keeps some
    (an even share of the limit, at least two), in the order given."""
    if len(members) <= limit:
        return members, {}
    by_type: dict[str, list] = {}
    for node in members:
        by_type.setdefault(node[0], []).append(node)
    share = max(limit // len(by_type), 2)
    shown, groups = [], {}
    for kind, nodes in by_type.items():
        if len(nodes) <= share:
            shown += nodes
        else:
            shown += nodes[: share - 1]
            groups[kind] = nodes[share - 1:]
    return shown, groups


def _short(value: str, size: int = 22) -> str:
    return value if len(value) <= size else value[: size - 1] + "…"
