from console.navigation import NAVIGATION


def console(request):
    return {
        "nav_items": NAVIGATION,
        "current_tenant": getattr(request, "tenant", None),
        "current_role": getattr(request, "role", None),
        "tenant_choices": getattr(request, "tenant_choices", []),
    }
