import json

from django import template

register = template.Library()


@register.filter
def pairs(mapping) -> list:
    """A dict's (key, value) pairs. `mapping.items` in a template would first look up a key named
    'items', which event properties often have."""
    return list(mapping.items()) if isinstance(mapping, dict) else []


@register.filter
def json_value(value) -> str:
    """A trait's value as a person reads it: text as it is, anything else as JSON (`true`, `42`,
    `["a","b"]`), never Python's spelling of it. The template engine escapes the result."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
