"""Changing customers: identify/create, trait edits, consent, suppression and erasure. Each is audited."""
from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from customers.models import SuppressedIdentifier
from customers.privacy import identifier_digest, suppressed_calls, suppression_changed, suppression_index
from customers.selectors import computed_trait_names, customer_get
from customers.services.calls import calls_apply, change_row, changes_record
from customers.tables import CONSENTS
from customers.traits import trait_row, traits_save
from customers.types import CustomerProfile
from identity import selectors as identity_selectors
from kernel.errors import Conflict, InvalidInput
from kernel.segment.calls import TRAIT_KEY_MESSAGE, Rejected, normalize_call, trait_key_problem
from lakehouse import get_engine
from lakehouse.erasure import personal_data_erase
from tenancy.services import audit_record
from tenancy.types import TenantRef


def _identify_call(*, user_id: str | None, anonymous_id: str | None, traits: dict, source: str, context: dict | None = None) -> dict:
    return {"type": "identify", "messageId": f"{source}-{uuid.uuid4().hex}", "userId": user_id, "anonymousId": anonymous_id,
            "traits": traits, "context": {**(context or {}), "cdp_source": source}}


def customer_identify(*, tenant: TenantRef, user_id: str | None, anonymous_id: str | None, email: str | None,
                      traits: dict, actor: str, source: str = "api", phone: str | None = None,
                      identifiers: dict[str, str] | None = None) -> CustomerProfile:
    """Create a customer, or add traits to the one these identifiers name: an identify call made by
    the product itself, validated and suppression-checked like SDK traffic and applied at once.
    `identifiers` names any other type the tenant's rules know (`device_id`, a custom `crm_id`),
    placed where the rules read it (a trait, the context).

    A customer known by none of user_id and anonymous_id (a CRM import, a sign-up form) gets an
    anonymous id derived from its first identifier, so creating it again finds the same customer,
    and the identity graph joins it to the SDK's calls that carry the same email, phone or id."""
    traits = {**traits, **({"email": email} if email else {}), **({"phone": phone} if phone else {})}
    context = _place_identifiers(tenant, identifiers or {}, traits)
    if not user_id and not anonymous_id:
        anonymous_id = _anonymous_id_from_contact(traits) or _anonymous_id_from(identifiers or {})
        if anonymous_id is None:
            raise InvalidInput("Name the customer by an identifier: user_id, anonymous_id, email, phone, or one in identifiers.",
                               errors=[{"field": "user_id", "message": "send user_id, anonymous_id, email, phone or identifiers"}])
    call = normalize_call(_identify_call(user_id=user_id, anonymous_id=anonymous_id, traits=traits, source=source, context=context),
                          received_at=timezone.now())
    if isinstance(call, Rejected):
        raise InvalidInput("The customer is not valid.", errors=call.errors)
    if suppressed_calls(tenant=tenant, calls=[(call.message_id, call.payload)], fresh=True):
        raise Conflict("This customer's identifiers are suppressed or erased; unsuppress them first.")
    engine = get_engine()
    with engine.transaction():
        cdp_id = calls_apply(engine, tenant, [call.payload])[call.message_id]
    if cdp_id is None:
        raise InvalidInput("Every identifier given is blocked by the identity rules (values like 'null', 'undefined', '0').",
                           errors=[{"field": "user_id", "message": "blocked value; send a real user or anonymous id"}])
    audit_record(tenant=tenant, actor=actor, action="customer.identify", target=cdp_id, details={"traits": sorted(traits)})
    return customer_get(tenant=tenant, cdp_id=cdp_id)


def _place_identifiers(tenant: TenantRef, identifiers: dict[str, str], traits: dict) -> dict:
    """Put each identifier where the tenant's rules read it: traits for email, phone and custom
    trait types, the context for device_id and custom context types. Returns the context; unknown
    types are refused, naming the ones that exist."""
    rules = identity_selectors.rules_for(tenant.id)
    custom = {c.name: c for c in rules.custom}
    context: dict = {}
    for id_type, value in identifiers.items():
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"identifiers.{id_type} needs a value.", errors=[{"field": f"identifiers.{id_type}", "message": "empty"}])
        if id_type in ("email", "phone"):
            traits[id_type] = value
        elif id_type == "device_id":
            context.setdefault("device", {})["id"] = value
        elif id_type in custom:
            where, path = (traits, custom[id_type].path) if custom[id_type].source.startswith("trait:") else (context, custom[id_type].path)
            for part in path[:-1]:
                where = where.setdefault(part, {})
            where[path[-1]] = value
        else:
            known = ", ".join(["email", "phone", "device_id", *sorted(custom)])
            raise InvalidInput(f"'{id_type}' is not an identifier type of this tenant's rules (user_id and anonymous_id have fields of their own).",
                               errors=[{"field": f"identifiers.{id_type}", "message": f"one of: {known}"}])
    return context


def _anonymous_id_from(identifiers: dict[str, str]) -> str | None:
    for id_type, value in sorted(identifiers.items()):
        if id_type not in ("email", "phone"):
            return f"cdp-{id_type}-" + hashlib.sha256(value.strip().encode()).hexdigest()[:24]
    return None


def _anonymous_id_from_contact(traits: dict) -> str | None:
    for kind in ("email", "phone"):
        value = traits.get(kind)
        if isinstance(value, str) and value.strip():
            canonical = value.strip().lower() if kind == "email" else re.sub(r"[^\d+]", "", value)
            return f"cdp-{kind}-" + hashlib.sha256(canonical.encode()).hexdigest()[:24]
    return None


def customer_update_traits(*, tenant: TenantRef, cdp_id: str, set_traits: dict, unset: list[str], actor: str,
                           source: str = "api") -> CustomerProfile:
    """Set and unset traits as an operator's edit (source `api` or `console`): written to the
    profile and its change log with the actor, and audited. It is not customer activity, so event
    counts, last-seen times and the timeline do not move."""
    profile = customer_get(tenant=tenant, cdp_id=cdp_id)
    cdp_id = profile.cdp_id  # a merged id acts on the customer it was merged into
    # New names are checked; any existing one may be unset (names saved before they were checked).
    bad = [key for key in set_traits if trait_key_problem(key) is not None]
    if bad:
        raise InvalidInput("A trait name is not valid.", errors=[{"field": f"set.{key[:40]}", "message": TRAIT_KEY_MESSAGE} for key in bad[:20]])
    overlap = set(set_traits) & set(unset)
    if overlap:
        raise InvalidInput("A trait cannot be set and unset at once.", errors=[{"field": "unset", "message": f"also set: {sorted(overlap)}"}])
    if profile.suppressed:
        raise Conflict("This customer is suppressed; unsuppress it first.")
    computed = sorted(computed_trait_names(tenant=tenant) & (set(set_traits) | set(unset)))
    if computed:
        raise Conflict(f"{', '.join(computed)} {'is a computed trait' if len(computed) == 1 else 'are computed traits'}: "
                       "their values come from events; change the definition instead.")
    now = timezone.now()
    rows = [trait_row(tenant.slug, cdp_id, key, value, now, source) for key, value in set_traits.items()]
    rows += [trait_row(tenant.slug, cdp_id, key, None, now, source, unset=True) for key in unset]
    changes = [change_row(row, change_id=uuid.uuid4().hex, at=now, actor=actor, unset=row["key"] in unset) for row in rows]
    engine = get_engine()
    with engine.transaction():
        traits_save(engine, rows)
        changes_record(engine, changes)
    audit_record(tenant=tenant, actor=actor, action="customer.traits", target=cdp_id, details={"set": sorted(set_traits), "unset": sorted(unset)})
    return customer_get(tenant=tenant, cdp_id=cdp_id)


def customers_traits_write(*, tenant: TenantRef, updates: dict[str, dict], actor: str, source: str, change_keys: dict[str, str],
                           unset: list[str] | None = None, at: datetime | None = None) -> dict[str, str]:
    """Set traits on many customers at once ({cdp_id: {key: value}}, and `unset` on each of
    them), as one trait write and one change-log write: a journey's action over a batch. Change
    ids derive from each customer's key in `change_keys` (what asked for the write: a journey
    instance's step) and the trait, so a replay records each change once (and sets the same
    values again). Suppressed customers are left alone. Returns {cdp_id: why} for the customers
    not written (the rest were)."""
    unset = unset or []
    names = {key for values in updates.values() for key in values} | set(unset)
    bad = sorted(key for key in names if trait_key_problem(key) is not None)
    computed = sorted(computed_trait_names(tenant=tenant) & names)
    if bad or computed:
        why = f"{', '.join(bad)}: {TRAIT_KEY_MESSAGE}" if bad else f"{', '.join(computed)}: computed from events, not set"
        return dict.fromkeys(updates, why)
    suppressed = suppression_index(tenant.id).suppressed_customers
    skipped = {cdp_id: "suppressed" for cdp_id in updates if cdp_id in suppressed}
    now = timezone.now()
    held = at or now
    rows = []
    for cdp_id, values in updates.items():
        if cdp_id not in skipped:
            rows += [trait_row(tenant.slug, cdp_id, key, value, held, source) for key, value in values.items()]
            rows += [trait_row(tenant.slug, cdp_id, key, None, held, source, unset=True) for key in unset]
    changes = [change_row(row, change_id=hashlib.sha256(f"{change_keys[row['cdp_id']]}:{row['key']}".encode()).hexdigest()[:32],
                          at=now, actor=actor, unset=row["value_type"] is None) for row in rows]
    if rows:
        engine = get_engine()
        with engine.transaction():
            traits_save(engine, rows)
            changes_record(engine, changes)
    return skipped


def customer_consent_set(*, tenant: TenantRef, cdp_id: str, channel: str, purpose: str, granted: bool, actor: str,
                         source: str = "api") -> CustomerProfile:
    cdp_id = customer_get(tenant=tenant, cdp_id=cdp_id).cdp_id
    row = {"tenant_id": tenant.slug, "cdp_id": cdp_id, "channel": channel.strip().lower(), "purpose": purpose.strip().lower(),
           "granted": granted, "updated_at": timezone.now(), "source": source}
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
    """Delete everything held about a customer from every table declaring personal data
    (`lakehouse.erasure`), by its ids and by its identifiers as (type, value), and keep those
    identifiers suppressed as digests, so replayed batches bring nothing back."""
    profile = customer_get(tenant=tenant, cdp_id=cdp_id)
    cdp_id = profile.cdp_id  # a merged id erases the customer it was merged into, not nothing
    identifiers = [(identity.type, identity.value) for identity in profile.identities]
    with transaction.atomic():
        for id_type, value in identifiers:
            SuppressedIdentifier.objects.filter(tenant_id=tenant.id, id_type=id_type, id_value=value).delete()
            SuppressedIdentifier.objects.update_or_create(tenant_id=tenant.id, id_type=id_type, id_value=identifier_digest(id_type, value),
                                                          defaults={"reason": "erase", "cdp_id": cdp_id})
    suppression_changed(tenant.id)
    engine = get_engine()
    retired = identity_selectors.merged_ids(engine, tenant=tenant, cdp_id=cdp_id)
    tables = personal_data_erase(engine, tenant=tenant.slug, cdp_ids={cdp_id, *retired}, identifiers=identifiers)
    summary = {"identifiers": len(identifiers), "tables": tables}
    audit_record(tenant=tenant, actor=actor, action="customer.erase", target=cdp_id, details=summary)
    return {"cdp_id": cdp_id, "erased": True, **summary}
