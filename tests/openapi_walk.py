"""Every operation the API has, read from its OpenAPI schema, with a valid minimal body.

Matrices built on this include endpoints added later without anyone listing them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from cdp_site.api import api
from tracking.cors import is_tracking_path

SAFE = ("get", "head", "options")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # with {placeholders}
    params: tuple[str, ...]
    body: dict | None
    tags: tuple[str, ...]
    required_query: tuple[str, ...] = ()

    @property
    def writes(self) -> bool:
        return self.method not in SAFE

    @property
    def is_ingestion(self) -> bool:
        return is_tracking_path(self.path)

    def url(self, values: dict[str, object]) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), self.path)

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def _resolve(schema: dict, spec: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def example_for(schema: dict, spec: dict):
    """A minimal value that passes validation: required fields only, first enum member."""
    schema = _resolve(schema, spec)
    if "anyOf" in schema or "oneOf" in schema:
        options = [s for s in schema.get("anyOf", schema.get("oneOf")) if s.get("type") != "null"]
        return example_for(options[0], spec) if options else None
    if "allOf" in schema:
        return example_for(schema["allOf"][0], spec)
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type", "object")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: example_for(props[name], spec) for name in schema.get("required", []) if name in props}
    if kind == "array":
        return []
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "email" or "email" in schema.get("title", "").lower():
            return "someone@example.com"
        if fmt == "date-time":
            return "2026-01-01T00:00:00Z"
        return "x" * max(schema.get("minLength", 1), 3)
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    return None


def operations() -> list[Operation]:
    spec = api.get_openapi_schema()
    found = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            body = None
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = example_for(content["application/json"]["schema"], spec)
            params = tuple(p["name"] for p in op.get("parameters", []) if p["in"] == "path")
            required = tuple(p["name"] for p in op.get("parameters", []) if p["in"] == "query" and p.get("required"))
            found.append(Operation(method=method, path=path, params=params, body=body, tags=tuple(op.get("tags", [])), required_query=required))
    return found
