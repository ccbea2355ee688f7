"""What a template sees: the customer (traits and computed traits, their cdp_id and identifiers),
the triggering event's properties, the caller's variables, and the message itself."""
from __future__ import annotations

from datetime import UTC, datetime

from customers.types import CustomerProfile, Trait
from messaging import liquid
from messaging.channels import backend_for


def customer_context(profile) -> dict:
    traits = {t.key: t.value for t in profile.traits}
    computed = {t.key: t.value for t in profile.computed_traits}
    ids: dict[str, str] = {}
    for identity in profile.identities:
        ids.setdefault(identity.type, identity.value)
    customer = {**traits, **computed, "cdp_id": profile.cdp_id, "identifiers": ids}
    customer.setdefault("email", ids.get("email", ""))
    customer.setdefault("user_id", ids.get("user_id", ""))
    return {"customer": customer, "traits": traits, "computed": computed}


def message_context(profile, variables: dict, *, delivery_id: str = "preview", unsubscribe_url: str = "",
                    preferences_url: str = "") -> dict:
    variables = variables or {}
    return {**customer_context(profile), "event": variables.get("event") or {}, "vars": variables,
            "message": {"id": delivery_id, "unsubscribe_url": unsubscribe_url, "preferences_url": preferences_url}}


def render_parts(kind: str, parts: dict, context: dict) -> dict:
    """Every part rendered; liquid.RenderError names the part and line of the first failure."""
    features = backend_for(kind).features
    out = {}
    for name, source in parts.items():
        if isinstance(source, dict):
            out[name] = {k: liquid.render(f"{name}.{k}", v, context) for k, v in source.items()}
        else:
            out[name] = liquid.render(name, source, context, html=name in features.html_parts)
    return out


def recipient(kind: str, profile) -> str | None:
    """The address a channel kind sends to: an email identifier, else the email trait."""
    address_type = backend_for(kind).features.address_type
    if address_type is None:
        return None
    for identity in profile.identities:
        if identity.type == address_type:
            return identity.value
    for trait in profile.traits:
        if trait.key == address_type and isinstance(trait.value, str):
            return trait.value
    return ""


def seed_profile(address: str) -> CustomerProfile:
    """The profile a seed's message renders with: no traits, only its address (as `email`, the
    template's usual `customer.email`)."""
    return CustomerProfile(cdp_id="", traits=[Trait(key="email", value=address, type="string", number_value=None,
                                                         updated_at=datetime(1970, 1, 1, tzinfo=UTC), source=None)], identities=[], consents=[], suppressed=False)
