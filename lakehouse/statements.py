"""Named statements: SQL text in the Databricks dialect with `:params`, owned by their domain.

Text may use two kinds of placeholder, rendered per engine:
  {events}                        a registered table, qualified for the engine (catalog.schema.events)
  {json_text(properties, '$.a')}  an engine fragment (see Engine.fragments)
  {null(double)}                  a NULL of an abstract type (for UNION branches)
Everything else is sent as written. Each statement carries example parameters, so the
cross-engine suite runs every statement without being told about it.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_PLACEHOLDER = re.compile(r"\{(\w+)(?:\(([^{}]*)\))?\}")


@dataclass(frozen=True)
class Statement:
    name: str
    sql: str
    example: dict[str, Any] = field(default_factory=dict)  # parameters the engine suite runs it with
    returns: dict[str, str] = field(default_factory=dict)  # column -> abstract type, to normalise results
    writes: bool = False
    # False for a statement that must not run twice (a plain INSERT): after an ambiguous failure
    # (a dropped connection, a 5xx) the warehouse engine does not re-run it.
    idempotent: bool = True

    def render(self, *, qualify: Callable[[str], str], fragments: dict[str, Callable[..., str]]) -> str:
        def replace(match: re.Match) -> str:
            name, args = match.group(1), match.group(2)
            if args is not None:
                if name not in fragments:
                    raise KeyError(f"statement {self.name}: unknown fragment {name}()")
                return fragments[name](*_split_args(args))
            return qualify(name)

        return _PLACEHOLDER.sub(replace, self.sql)


def _split_args(text: str) -> list[str]:
    """Split `col, '$.path'` on top-level commas; quoted strings keep their quotes."""
    parts, depth, current, quote = [], 0, [], None
    for char in text:
        if quote:
            current.append(char)
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
            current.append(char)
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            depth += char == "("
            depth -= char == ")"
            current.append(char)
    parts.append("".join(current).strip())
    return parts


# A named marker `:name` outside string literals (and not a `::` cast).
# A named marker `:name` outside string literals (and not the second colon of a `::` cast).
MARKERS = re.compile(r"('(?:[^']|'')*')|(?<!:):([A-Za-z_]\w*)")


def expand_list_params(sql: str, params: dict[str, Any], *, as_one: Callable[[str, list], str | None] | None = None,
                       ) -> tuple[str, dict[str, Any]]:
    """`IN :values` with a list becomes `IN (:values_0, :values_1, ...)`; an empty list matches nothing.

    `as_one(marker, values)` may instead render the whole list as one parameter: it returns SQL
    reading the list as JSON text from `:<marker>` (`values_json` for `:values`), for engines that
    allow few markers; returning None keeps one marker per value for that list. Lists must stay
    within `Features.max_list_values`."""
    lists = {name for name, value in params.items() if isinstance(value, (list, tuple, set, frozenset))}
    if not lists:
        return sql, params
    expanded = {name: value for name, value in params.items() if name not in lists}

    def replace(match: re.Match) -> str:
        literal, name = match.groups()
        if literal is not None or name not in lists:
            return match.group(0)
        values = list(params[name])
        if not values:
            return "(NULL)"
        whole = as_one(f"{name}_json", values) if as_one else None
        if whole is not None:
            expanded[f"{name}_json"] = json.dumps(values, ensure_ascii=False)  # UTF-8 is smaller than \u escapes
            return whole
        for i, value in enumerate(values):
            expanded[f"{name}_{i}"] = value
        return "(" + ", ".join(f":{name}_{i}" for i in range(len(values))) + ")"

    return MARKERS.sub(replace, sql), expanded


class StatementRegistry(dict):
    def register(self, statement: Statement) -> Statement:
        if ":tenant_id" not in statement.sql:
            raise ValueError(f"statement {statement.name} is not scoped by :tenant_id")
        existing = self.get(statement.name)
        if existing is not None and existing != statement:
            raise ValueError(f"statement {statement.name} is defined twice")
        self[statement.name] = statement
        return statement


STATEMENTS = StatementRegistry()


def statement(name: str, sql: str, **kwargs) -> Statement:
    """Define and register a named statement (use at module level in `<app>/sql.py`)."""
    return STATEMENTS.register(Statement(name=name, sql=sql, **kwargs))


@dataclass(frozen=True)
class Deletion:
    """A named delete: the rows of one table matching `where` (which names :tenant_id). Engines
    without row deletes (local Spark's parquet tables) carry it out by rewriting the table."""

    name: str
    table: str
    where: str
    example: dict[str, Any] = field(default_factory=dict)  # parameters the engine suite deletes with

    @property
    def sql(self) -> str:
        return f"DELETE FROM {{{self.table}}} WHERE {self.where}"


DELETIONS: dict[str, Deletion] = {}


def deletion(name: str, table: str, where: str, **kwargs) -> Deletion:
    """Define and register a named delete (at module level in the table owner's `<app>/sql.py`)."""
    if ":tenant_id" not in where:
        raise ValueError(f"deletion {name} is not scoped by :tenant_id")
    found = Deletion(name=name, table=table, where=where, **kwargs)
    if DELETIONS.get(name, found) != found:
        raise ValueError(f"deletion {name} is defined twice")
    DELETIONS[name] = found
    return found
