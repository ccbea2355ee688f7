"""Fast JSON for the hottest read endpoints.

pydantic-core serialises a selector's frozen dataclass straight to JSON bytes, skipping ninja's
field-by-field schema validation, which is most of the cost of a profile read. The operation
still declares its `response=` schema for the OpenAPI document; a test holds the two to the same
fields.
"""
from __future__ import annotations

from functools import lru_cache

from django.http import HttpResponse
from pydantic import TypeAdapter


@lru_cache(maxsize=None)
def _adapter(kind: type) -> TypeAdapter:
    return TypeAdapter(kind)


def typed_json_response(value, *, status: int = 200) -> HttpResponse:
    """A JSON response of a dataclass (or any type pydantic can serialise), typed by its class."""
    return HttpResponse(_adapter(type(value)).dump_json(value), status=status, content_type="application/json")
