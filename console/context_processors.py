"""What every console page knows: the navigation the role may open, the tenant, and what the role
may read or change in each area of the role table (`can.identity_rules.change`)."""
from __future__ import annotations

from types import SimpleNamespace

from console.navigation import NAVIGATION
from tenancy.roles import ROLE_TABLE, area_role, role_allows


def console(request):
    role = getattr(request, "role", None)
    can = {
        area.replace("-", "_"): SimpleNamespace(read=bool(role) and role_allows(role, area_role(area, write=False)),
                                                change=bool(role) and role_allows(role, area_role(area, write=True)))
        for area in ROLE_TABLE
    }
    return {
        "nav_items": [item for item in NAVIGATION if can[item.area.replace("-", "_")].read],
        "can": can,
        "current_tenant": getattr(request, "tenant", None),
        "current_role": role,
        "tenant_choices": getattr(request, "tenant_choices", []),
    }
