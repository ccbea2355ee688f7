"""Changing customers: identify/create, trait edits, consent, suppression and erasure. Each is audited."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from django.db import transaction

from cdp_site.errors import Conflict, InvalidInput
from customers.models import SuppressedIdentifier
from customers.privacy import identifier_digest, suppression_changed
from customers.selectors import customer_get
from customers.tables import CONSENTS, EVENTS, IDENTITIES, TRAITS
from customers.types import CustomerProfile
from lakehouse import get_engine
from tenancy.services import audit_record
from tenancy.types import TenantRef
from tracking.services import record_call


def _identify_call(*, user_id: str | None, anonymous_id: str | None, traits: dict, source: str) -> dict:
    return {"type": "identify", "messageId": f"{source}-{uuid.uuid4().hex}", "userId": user_id, "anonymousId": anonymous_id,
            "traits": traits, "context": {"cdp_source": source}}


def customer_identify(*, tenant: TenantRef, user_id: str | None, anonymous_id: str | None, email: str | None,
                      traits: dict, actor: str, source: str = "api") -> CustomerProfile:
    """Create a customer, or add traits to the one these identifiers name (an identify call)."""
    if not user_id and not anonymous_id:
        raise InvalidInput("Name the customer by user_id or anonymous_id.", errors=[{"field": "user_id", "message": "send user_id or anonymous_id"}])
    traits = {**traits, **({"email": email} if email else {})}
    cdp_id = record_call(tenant=tenant, call=_identify_call(user_id=user_id, anonymous_id=anonymous_id, traits=traits, source=source))
    if cdp_id is None:
        raise InvalidInput("Every identifier given is blocked by the identity rules (values like 'null', 'undefined', '0').",
                           errors=[{"field": "user_id", "message": "blocked value; send a real user or anonymous id"}])
    audit_record(tenant=tenant, actor=actor, action="customer.identify", target=cdp_id, details={"traits": sorted(traits)})
    return customer_get(tenant=tenant, cdp_id=cdp_id)


def customer_update_traits(*, tenant: TenantRef, cdp_id: str, set_traits: dict, unset: list[str], actor: str,
                           source: str = "api") -> CustomerProfile:
    """Set and unset traits, recorded as an identify call (source `api` or `console`) on the customer."""
    profile = customer_get(tenant=tenant, cdp_id=cdp_id)
    cdp_id = profile.cdp_id  # a merged id acts on the customer it was merged into
    overlap = set(set_traits) & set(unset)
    if overlap:
        raise InvalidInput("A trait cannot be set and unset at once.", errors=[{"field": "unset", "message": f"also set: {sorted(overlap)}"}])
    ids = {i.type: i.value for i in profile.identities}
    if not ids.get("user_id") and not ids.get("anonymous_id"):
        raise Conflict("This customer has no user or anonymous id to attach the change to.")
    traits = {**set_traits, **{key: None for key in unset}}
    landed = record_call(tenant=tenant, call=_identify_call(user_id=ids.get("user_id"), anonymous_id=None if ids.get("user_id") else ids.get("anonymous_id"),
                                                            traits=traits, source=source))
    if landed != cdp_id:
        raise Conflict(f"The change landed on customer {landed}, not {cdp_id}; the identity graph changed meanwhile.")
    audit_record(tenant=tenant, actor=actor, action="customer.traits", target=cdp_id, details={"set": sorted(set_traits), "unset": sorted(unset)})
    return customer_get(tenant=tenant, cdp_id=cdp_id)


def customer_consent_set(*, tenant: TenantRef, cdp_id: str, channel: str, purpose: str, granted: bool, actor: str,
                         source: str = "api") -> CustomerProfile:
    cdp_id = customer_get(tenant=tenant, cdp_id=cdp_id).cdp_id
    row = {"tenant_id": tenant.slug, "cdp_id": cdp_id, "channel": channel.strip().lower(), "purpose": purpose.strip().lower(),
           "granted": granted, "updated_at": datetime.now(timezone.utc), "source": source}
    get_engine().upsert(CONSENTS, [row], newer="updated_at")
    audit_record(tenant=tenant, actor=actor, action="customer.consent", target=cdp_id,
                 details={"channel": row["channel"], "purpose": row["purpose"], "granted": granted})
    return customer_get(tenant=tenant, cdp_id=cdp_id)


@transaction.atomic
def customer_suppress(*, tenant: TenantRef, cdp_id: str, actor: str) -> CustomerProfile:
    """From now on, events naming any of this customer's identifiers are dropped (and counted)."""
    profile = customer_get(tenant=tenant, cdp_id=cdp_id)
    cdp_id = profile.cdp_id
    for identity in profile.identities:
        SuppressedIdentifier.objects.get_or_create(tenant_id=tenant.id, id_type=identity.type, id_value=identity.value,
                                                   defaults={"reason": "suppress", "cdp_id": cdp_id})
    suppression_changed(tenant.id)
    audit_record(tenant=tenant, actor=actor, action="customer.suppress", target=cdp_id, details={"identifiers": len(profile.identities)})
    return customer_get(tenant=tenant, cdp_id=cdp_id)


@transaction.atomic
def customer_unsuppress(*, tenant: TenantRef, cdp_id: str, actor: str) -> CustomerProfile:
    cdp_id = customer_get(tenant=tenant, cdp_id=cdp_id).cdp_id
    removed, _ = SuppressedIdentifier.objects.filter(tenant_id=tenant.id, cdp_id=cdp_id, reason="suppress").delete()
    suppression_changed(tenant.id)
    audit_record(tenant=tenant, actor=actor, action="customer.unsuppress", target=cdp_id, details={"identifiers": removed})
    return customer_get(tenant=tenant, cdp_id=cdp_id)


def customer_erase(*, tenant: TenantRef, cdp_id: str, actor: str) -> dict:
    """Delete everything held about a customer and keep its identifiers (as digests) suppressed,
    so replayed batches bring nothing back. Later apps add their own tables to ERASABLE."""
    profile = customer_get(tenant=tenant, cdp_id=cdp_id)
    cdp_id = profile.cdp_id  # a merged id erases the customer it was merged into, not nothing
    with transaction.atomic():
        for identity in profile.identities:
            digest = identifier_digest(identity.type, identity.value)
            SuppressedIdentifier.objects.filter(tenant_id=tenant.id, id_type=identity.type, id_value=identity.value).delete()
            SuppressedIdentifier.objects.update_or_create(tenant_id=tenant.id, id_type=identity.type, id_value=digest,
                                                          defaults={"reason": "erase", "cdp_id": cdp_id})
    suppression_changed(tenant.id)
    engine = get_engine()
    from identity.services import identity_erase
    from identity.tables import CONFLICTS, CUSTOMER_IDS, EDGES, MERGES

    with engine.transaction():
        for table in ERASABLE:
            engine.delete_where(table, "tenant_id = :tenant_id AND cdp_id = :cdp_id", {"tenant_id": tenant.slug, "cdp_id": cdp_id})
        identity_erase(engine, tenant.slug, cdp_id, [(i.type, i.value) for i in profile.identities])
    summary = {"identifiers": len(profile.identities), "tables": [t.name for t in ERASABLE + [EDGES, CUSTOMER_IDS, MERGES, CONFLICTS]]}
    audit_record(tenant=tenant, actor=actor, action="customer.erase", target=cdp_id, details=summary)
    return {"cdp_id": cdp_id, "erased": True, **summary}


# Every lakehouse table holding per-customer rows; apps that add one register it here.
ERASABLE = [EVENTS, TRAITS, IDENTITIES, CONSENTS]
