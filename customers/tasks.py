from customers.services.computed_traits import computed_traits_refresh_all


def computed_traits_refresh() -> dict:
    return {"changed": computed_traits_refresh_all()}
