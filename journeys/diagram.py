"""A journey's graph laid out for the console's diagram (server-side SVG): nodes in columns by
their distance from the start, edges between them with the way's name, each node with how many
instances are there now and how many arrived. Plain geometry; the template draws it, escaping
every label."""
from __future__ import annotations

from dataclasses import dataclass, field

from journeys.graph import successors

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 170, 64, 70, 26, 16
TYPE_LABELS = {"wait": "Wait", "wait_until": "Wait until", "wait_event": "Wait for event", "branch": "Branch", "split": "Split",
               "send": "Send", "webhook": "Webhook", "exit": "Exit"}


@dataclass
class Box:
    id: str
    type: str
    title: str
    detail: str
    x: int
    y: int
    here: int = 0
    arrived: int = 0
    w: int = BOX_W
    h: int = BOX_H

    @property
    def cx(self) -> int:
        return self.x + self.w // 2


@dataclass
class Edge:
    way: str
    path: str
    label_x: int
    label_y: int


@dataclass
class Diagram:
    width: int
    height: int
    boxes: list[Box] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def _detail(node) -> str:
    if node.type == "wait":
        d = node.duration
        return " ".join(f"{n}{u}" for n, u in ((d.days, "d"), (d.hours, "h"), (d.minutes, "m")) if n) or "0m"
    if node.type == "wait_until":
        return f"{node.trait} {node.offset_days:+d}d" if node.trait else f"{node.at} local"
    if node.type == "wait_event":
        return ", ".join(e.event for e in node.events)[:40]
    if node.type in ("send", "webhook"):
        return f"template {node.template_id} via channel {node.channel_id}"
    if node.type == "enroll":
        return f"into journey {node.journey_id}"
    if node.type == "update_trait":
        return ", ".join([*node.set, *node.from_context, *(f"−{k}" for k in node.unset)])[:40]
    if node.type in ("branch", "split"):
        return f"{len(node.ways)} ways" + (" + else" if node.type == "branch" else "")
    return ""


def _way_label(node, way: str) -> str:
    kind, _, index = way.partition(":")
    if node.type == "wait_event" and kind == "event":
        return node.events[int(index)].event[:24]
    if node.type == "split" and kind == "way":
        return f"{node.ways[int(index)].percent:g}%"
    if kind == "way":
        return f"way {int(index) + 1}"
    return "" if way == "next" else way


def diagram(spec, *, here: dict[str, int] | None = None, arrived: dict[str, int] | None = None) -> Diagram:
    """The layout of a parsed definition (journeys.graph.Definition)."""
    nodes = {n.id: n for n in spec.nodes}
    depth, order = {spec.start: 0}, [spec.start] if spec.start in nodes else []
    for current in order:  # breadth first: a node's column is its shortest distance from the start
        for _, target in successors(nodes[current]):
            if target in nodes and target not in depth:
                depth[target] = depth[current] + 1
                order.append(target)
    for node_id in nodes:  # unreachable nodes (a draft) in a last column
        if node_id not in depth:
            depth[node_id] = max(depth.values(), default=-1) + 1
            order.append(node_id)
    rows: dict[int, int] = {}
    boxes = {}
    for node_id in order:
        column = depth[node_id]
        row = rows.get(column, 0)
        rows[column] = row + 1
        node = nodes[node_id]
        boxes[node_id] = Box(id=node_id, type=node.type, title=node.label or node_id, detail=_detail(node),
                             x=MARGIN + column * (BOX_W + GAP_X), y=MARGIN + row * (BOX_H + GAP_Y),
                             here=(here or {}).get(node_id, 0), arrived=(arrived or {}).get(node_id, 0))
    edges = []
    for node_id in order:
        source = boxes[node_id]
        for way, target in successors(nodes[node_id]):
            if target not in boxes:
                continue
            end = boxes[target]
            x1, y1 = source.x + source.w, source.y + source.h // 2
            x2, y2 = end.x, end.y + end.h // 2
            if x2 <= x1:  # back to an earlier column (a loop through a wait): around underneath
                low = max(source.y + source.h, end.y + end.h) + GAP_Y // 2
                path = f"M{x1},{y1} C{x1 + 40},{y1} {x1 + 40},{low} {x1},{low} L{x2},{low} C{x2 - 40},{low} {x2 - 40},{y2} {x2},{y2}"
                label = ((x1 + x2) // 2, low - 4)
            else:
                mid = (x1 + x2) // 2
                path = f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"
                label = (mid, (y1 + y2) // 2 - 4)
            edges.append(Edge(way=_way_label(nodes[node_id], way), path=path, label_x=label[0], label_y=label[1]))
    width = MARGIN * 2 + (max(depth.values(), default=0) + 1) * (BOX_W + GAP_X) - GAP_X
    height = MARGIN * 2 + max(rows.values(), default=1) * (BOX_H + GAP_Y) + GAP_Y
    return Diagram(width=width, height=height, boxes=list(boxes.values()), edges=edges)
