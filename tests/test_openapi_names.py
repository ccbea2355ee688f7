"""Every response and request schema has a name of its own: the OpenAPI document keys components
by class name, so two apps' `RunOut` would document one app's operations with the other's shape
(found when segments added a RunOut beside identity's)."""
from __future__ import annotations

from collections import defaultdict

from ninja import Schema


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_schema_class_names_are_unique_across_apps():
    from cdp_site.api import api

    api.get_openapi_schema()  # imports every router and its schemas
    owners = defaultdict(set)
    for cls in _subclasses(Schema):
        module = cls.__module__
        if module.split(".")[0] in {"customers", "identity", "tenancy", "tracking", "operations", "segments", "messaging", "journeys", "campaigns", "kernel", "cdp_site"}:
            owners[cls.__name__].add(module)
    clashes = {name: sorted(mods) for name, mods in owners.items() if len(mods) > 1}
    assert clashes == {}
