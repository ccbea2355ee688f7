from customers.services.computed_traits import computed_trait_compute as _compute
from customers.services.computed_traits import computed_traits_refresh_all


def computed_traits_refresh() -> dict:
    return {"changed": computed_traits_refresh_all()}


def computed_trait_compute(trait_id: int) -> dict:
    """A new or changed definition, computed for every customer."""
    return {"trait": trait_id, "changed": _compute(trait_id)}
