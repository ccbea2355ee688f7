"""The console's segment builder: a definition changed one step at a time (add a condition to a
group, remove a node, negate it), each node named by its JSON path as validation names it."""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from segments.describe import describe

_TOKEN = re.compile(r"\.(all|any)\[(\d+)\]|\.(not)")


def templates(events: list[str], traits: list[str]) -> dict[str, dict]:
    """A condition of each type, filled from what the tenant has sent, to adjust."""
    event, trait = (events or ["Order Completed"])[0], (traits or ["plan"])[0]
    second = events[1] if len(events) > 1 else event
    return {
        "trait": {"type": "trait", "key": trait, "op": "exists"},
        "event": {"type": "event", "event": event, "within_days": 30, "count": {"op": "gte", "value": 1}},
        "not_performed": {"type": "event", "event": event, "within_days": 30, "count": {"op": "eq", "value": 0}},
        "sequence": {"type": "sequence", "first": {"event": event}, "then": {"event": second}, "within_hours": 24, "then_missing": True,
                     "within_days": 3},
        "regular": {"type": "regular", "event": event, "at_least": 3, "of_last": 4, "unit": "week"},
        "lapsed": {"type": "lapsed", "event": event, "days": 30},
        "trait_held": {"type": "trait_held", "key": trait, "value": "", "days": 30},
        "identifier": {"type": "identifier", "id_type": "email"},
        "consent": {"type": "consent", "channel": "email", "purpose": "marketing", "granted": True},
        "bucket": {"type": "bucket", "salt": "sample", "from_percent": 0, "to_percent": 10},
        "any": {"any": [{"type": "trait", "key": trait, "op": "exists"}]},
    }


def _steps(path: str) -> list[tuple[str, int | None]]:
    if not path.startswith("$"):
        raise ValueError(path)
    rest, steps = path[1:], []
    while rest:
        match = _TOKEN.match(rest)
        if not match:
            raise ValueError(path)
        steps.append((match.group(1), int(match.group(2))) if match.group(1) else ("not", None))
        rest = rest[match.end():]
    return steps


def _parent(tree: dict, path: str):
    """(container, key) holding the node at `path`: (None, None) for the root."""
    steps = _steps(path)
    if not steps:
        return None, None
    node = tree
    for key, index in steps[:-1]:
        node = node[key] if index is None else node[key][index]
    key, index = steps[-1]
    return (node, key) if index is None else (node[key], index)


def node_at(tree: dict, path: str) -> dict:
    container, key = _parent(tree, path)
    return tree if container is None else container[key]


def add(tree: dict, path: str, condition: dict) -> dict:
    """Add a condition to the group at `path` (to the top when the tree is one condition: both
    must then hold)."""
    tree = copy.deepcopy(tree or {})
    if not tree:
        return condition
    target = node_at(tree, path)
    group = "all" if "all" in target else "any" if "any" in target else None
    if group:
        target[group].append(condition)
        return tree
    return {"all": [tree, condition]} if path == "$" else _replace(tree, path, {"all": [target, condition]})


def remove(tree: dict, path: str) -> dict:
    """Remove the node at `path`; a group left empty goes too."""
    tree = copy.deepcopy(tree)
    if path == "$":
        return {}
    container, key = _parent(tree, path)
    if isinstance(container, list):
        del container[key]
        if not container:
            parent_path = path.rsplit(".", 1)[0]
            return remove(tree, parent_path)
        return tree
    parent_path = path.removesuffix(".not")
    return remove(tree, parent_path)  # a NOT without its node: the NOT goes


def negate(tree: dict, path: str) -> dict:
    """NOT the node at `path`, or undo a NOT."""
    tree = copy.deepcopy(tree)
    node = node_at(tree, path)
    return _replace(tree, path, node["not"] if "not" in node else {"not": node})


def _replace(tree: dict, path: str, node: dict) -> dict:
    container, key = _parent(tree, path)
    if container is None:
        return node
    container[key] = node
    return tree


@dataclass(frozen=True)
class Line:
    path: str
    depth: int
    text: str
    group: str = ""  # all, any or not for groups


def lines(tree: dict, names: dict[int, str] | None = None, path: str = "$", depth: int = 0) -> list[Line]:
    """The tree as indented lines, for the builder and explanations."""
    if not tree or not isinstance(tree, dict):
        return [] if not tree else [Line(path, depth, f"(incomplete) {tree!r}"[:200])]
    if ("all" in tree or "any" in tree) and isinstance(tree.get("all", tree.get("any")), list):
        key = "all" if "all" in tree else "any"
        out = [Line(path, depth, "All of these" if key == "all" else "Any of these", key)]
        for i, member in enumerate(tree[key]):
            out += lines(member, names, f"{path}.{key}[{i}]", depth + 1)
        return out
    if "not" in tree and isinstance(tree["not"], dict):
        return [Line(path, depth, "Not", "not"), *lines(tree["not"], names, f"{path}.not", depth + 1)]
    return [Line(path, depth, describe(tree, names))]
