"""Templates in Liquid (python-liquid), the language Braze, Customer.io and Dittofeed templates are
written in, so theirs carry over.

Sandboxed: no file system (includes find nothing), bounded loops, output and nesting. HTML parts
are autoescaped: a trait or property value never reaches a message's HTML unescaped (`| raw`
is the template author's explicit choice). An error names the part and the line. Beyond the
standard filters: `json` (a value as JSON, for webhook bodies and table payloads).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, lru_cache

from liquid import Environment
from liquid.exceptions import LiquidError


class _Sandboxed(Environment):
    loop_iteration_limit = 10_000
    output_stream_limit = 1_000_000
    context_depth_limit = 30
    local_namespace_limit = 100_000


def _json(value) -> str:
    """`{{ customer.email | json }}`: a value as JSON (quoted and escaped), as Shopify's Liquid
    has it, for webhook bodies and table payloads built from customer text."""
    return json.dumps(value, default=str, ensure_ascii=False)


@cache
def _environment(autoescape: bool) -> Environment:
    environment = _Sandboxed(autoescape=autoescape)
    environment.filters["json"] = _json
    return environment


@dataclass
class RenderError(Exception):
    part: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.part}, line {self.line}: {self.message}"


def _line(source: str, exc: LiquidError) -> int:
    token = getattr(exc, "token", None)
    index = getattr(token, "start_index", -1) if token is not None else -1
    return source.count("\n", 0, index) + 1 if index >= 0 else source.count("\n") + 1


@lru_cache(maxsize=1024)
def _parsed(source: str, html: bool):
    return _environment(html).from_string(source)


def render(part: str, source: str, context: dict, *, html: bool = False) -> str:
    """One part rendered with the context (customer, traits, event, variables); each source is
    parsed once (a drain renders one version thousands of times)."""
    try:
        return _parsed(source, html).render(**context)
    except LiquidError as exc:
        raise RenderError(part=part, line=_line(source, exc), message=getattr(exc, "message", None) or str(exc)) from None


def check(part: str, source: str, *, html: bool = False) -> None:
    """Parse a part (syntax errors with their line) and render it once with nothing, which finds
    unknown filters and the like."""
    render(part, source, {}, html=html)
