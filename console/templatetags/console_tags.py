from django import template

register = template.Library()


@register.filter
def pairs(mapping) -> list:
    """A dict's (key, value) pairs. `mapping.items` in a template would first look up a key named
    'items', which event properties often have."""
    return list(mapping.items()) if isinstance(mapping, dict) else []
