"""A journey's results: per version and node, how many arrived, are there now, moved on, ended
there, and the median time to the next node; the goal's conversion of participants against
the holdout, with a 95% interval for the difference.

The interval is Newcombe's (kernel.stats.difference_interval).
"""
from __future__ import annotations

from collections import defaultdict
from statistics import median

from django.db.models import Count

from journeys.models import Instance, InstanceStep
from journeys.selectors import journey_row
from kernel.stats import difference_interval
from tenancy.types import TenantRef


def journey_report(*, tenant: TenantRef, journey_id: int) -> dict:
    row = journey_row(tenant, journey_id)
    return {"journey_id": row.id, "versions": _nodes(row), "goal": _goal(row)}


def _nodes(row) -> list[dict]:
    steps = InstanceStep.objects.filter(instance__journey=row).values_list("instance_id", "instance__version", "step", "node", "to_node",
                                                                            "at").order_by("instance_id", "step")
    arrived, left, ended, waits = defaultdict(int), defaultdict(int), defaultdict(int), defaultdict(list)
    previous = None
    for instance, version, _, node, to_node, at in steps.iterator(chunk_size=5000):
        if to_node:
            arrived[(version, to_node)] += 1
        if node:
            (left if to_node else ended)[(version, node)] += 1
            if previous and previous[0] == instance and previous[1] == node:
                waits[(version, node)].append((at - previous[2]).total_seconds())
        previous = (instance, to_node, at)
    here = defaultdict(int)
    for version, node, n in (Instance.objects.filter(journey=row, status__in=Instance.LIVE).values_list("version", "node")
                             .annotate(n=Count("id")).order_by()):
        here[(version, node)] = n
    versions = defaultdict(list)
    for version, node in sorted(set(arrived) | set(here) | set(left) | set(ended)):
        seconds = waits.get((version, node))
        versions[version].append({"node": node, "arrived": arrived[(version, node)], "here": here[(version, node)],
                                  "moved_on": left[(version, node)], "ended": ended[(version, node)],
                                  "median_seconds": median(seconds) if seconds else None})
    return [{"version": v, "nodes": nodes} for v, nodes in sorted(versions.items())]


def _goal(row) -> dict:
    counts = {"participants": [0, 0], "holdout": [0, 0]}  # group -> [converted, instances]
    for holdout, n, converted in (Instance.objects.filter(journey=row).values_list("holdout")
                                  .annotate(n=Count("id"), converted=Count("converted_at")).order_by()):
        counts["holdout" if holdout else "participants"] = [converted, n]
    return _comparison(counts)


def _comparison(counts: dict) -> dict:
    (x1, n1), (x2, n2) = counts["participants"], counts["holdout"]
    interval = difference_interval(x1, n1, x2, n2)
    return {"participants": {"instances": n1, "converted": x1, "rate": x1 / n1 if n1 else None},
            "holdout": {"instances": n2, "converted": x2, "rate": x2 / n2 if n2 else None},
            "lift": (x1 / n1 - x2 / n2) if n1 and n2 else None,
            "interval95": list(interval) if interval else None,
            "method": "difference of conversion rates, participants minus holdout; 95% interval: Newcombe's hybrid score "
                      "interval (Wilson score intervals of each group, Newcombe 1998, method 10)"}
