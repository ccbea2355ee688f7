"""Customers' writes, along their seams:

- `profiles`: identify/create, operators' trait edits, consent, suppression and erasure (audited);
- `calls`: applying tracking calls to profiles (the loader, the API, imports and demo data);
- `follow`: a customer's data following its identifiers after identity merges or splits;
- `computed_traits`: computed-trait definitions and their recomputation.

The names below are the package's surface for other apps and entry points.
"""
from customers.privacy import suppressed_calls
from customers.services.calls import calls_apply, customer_events_record, without_suppressed
from customers.services.computed_traits import (
    computed_trait_collisions,
    computed_trait_create,
    computed_trait_delete,
    computed_trait_get,
    computed_trait_list,
    computed_trait_refresh,
    computed_trait_update,
    computed_traits_refresh_all,
)
from customers.services.follow import profiles_follow
from customers.services.profiles import (
    customer_consent_set,
    customer_erase,
    customer_identify,
    customer_suppress,
    customer_unsuppress,
    customer_update_traits,
    customers_traits_write,
)

__all__ = [
    "calls_apply", "customer_events_record", "computed_trait_collisions", "computed_trait_create", "computed_trait_delete", "computed_trait_get",
    "computed_trait_list", "computed_trait_refresh", "computed_trait_update", "computed_traits_refresh_all", "customer_consent_set",
    "customer_erase", "customer_identify", "customer_suppress", "customer_unsuppress", "customer_update_traits", "customers_traits_write",
    "profiles_follow",
    "suppressed_calls", "without_suppressed",
]
