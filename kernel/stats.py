"""Intervals for the lift of a journey or campaign over its holdout.

`difference_interval` is Newcombe's hybrid score interval for a difference of two proportions
(method 10 of Newcombe, Statistics in Medicine 1998), built from each group's Wilson score
interval: it stays inside [-1, 1] and behaves with small groups and rates near 0 or 1, where the
textbook normal (Wald) interval does not.
"""
from __future__ import annotations

import math

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion; (0, 1) when there is no one."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_interval(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float] | None:
    """Newcombe's interval for p1 - p2 (participants minus holdout); None when a group is empty."""
    if n1 == 0 or n2 == 0:
        return None
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1)
    l2, u2 = wilson(x2, n2)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
