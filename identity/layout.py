"""Where to draw a customer's identity graph: its identifiers on a ring, the identifiers of other
customers it touches (conflicts, blocked edges) on an outer ring. Geometry only; the template
draws it as SVG, so the page needs no chart library and works without JavaScript."""
from __future__ import annotations

import math

WIDTH, HEIGHT = 640, 420
TYPE_COLOURS = {"user_id": "#2563eb", "email": "#059669", "phone": "#7c3aed", "device_id": "#d97706", "anonymous_id": "#64748b"}
EDGE_STYLES = {"merged": ("#94a3b8", ""), "external": ("#94a3b8", "4 3"), "conflict": ("#dc2626", "6 4"), "blocked": ("#cbd5e1", "2 4")}


def graph_layout(graph: dict) -> dict:
    """SVG positions for nodes and edges of `identity.selectors.customer_graph`."""
    mine = [(n["type"], n["value"]) for n in graph["nodes"]]
    blocked = {(n["type"], n["value"]) for n in graph["nodes"] if n["blocked"]}
    outside = sorted({end for e in graph["edges"] for end in ((e["a_type"], e["a_value"]), (e["b_type"], e["b_value"])) if end not in mine})
    cx, cy = WIDTH / 2, HEIGHT / 2
    position = {}
    for ring, members, radius in ((0, mine, 120 if len(mine) > 1 else 0), (1, outside, 185)):
        for i, node in enumerate(members):
            angle = 2 * math.pi * i / max(len(members), 1) - math.pi / 2 + ring * 0.3
            position[node] = (round(cx + radius * math.cos(angle), 1), round(cy + radius * 0.85 * math.sin(angle), 1))
    nodes = [{"x": x, "y": y, "type": node[0], "label": _short(node[1]), "value": node[1], "colour": TYPE_COLOURS.get(node[0], "#0f766e"),
              "outside": node not in mine, "blocked": node in blocked} for node, (x, y) in position.items()]
    edges = []
    for e in graph["edges"]:
        a, b = position.get((e["a_type"], e["a_value"])), position.get((e["b_type"], e["b_value"]))
        if a and b:
            colour, dash = EDGE_STYLES.get(e["state"], EDGE_STYLES["merged"])
            edges.append({"x1": a[0], "y1": a[1], "x2": b[0], "y2": b[1], "colour": colour, "dash": dash, "state": e["state"],
                          "title": f"{e['a_type']} {e['a_value']} — {e['b_type']} {e['b_value']}: {e['state']}, first seen {e['first_seen_at']:%Y-%m-%d %H:%M}"})
    return {"width": WIDTH, "height": HEIGHT, "nodes": nodes, "edges": edges, "legend": TYPE_COLOURS}


def _short(value: str, size: int = 22) -> str:
    return value if len(value) <= size else value[: size - 1] + "…"
