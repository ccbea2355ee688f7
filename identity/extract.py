"""The edges between the identifiers a batch of calls names (`identity.identifiers`).

The edges form a star from each call's strongest identifier (by the rules' priority) to every
other, so one bad identifier cannot stop the others from joining.
"""
from __future__ import annotations

from identity.identifiers import Node, call_identifiers
from identity.resolution import Graph, micros
from identity.rules import Rules
from kernel.times import parse_time


def calls_graph(calls: list[dict], rules: Rules, known_user_ids: set[str]) -> tuple[Graph, list[list[Node]]]:
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
