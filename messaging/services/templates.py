"""Templates: Liquid parts per channel kind, checked on save (the part and line of an error), a
new immutable version on every change."""
from __future__ import annotations

from django.db import IntegrityError, transaction

from kernel.errors import InvalidInput
from messaging import liquid
from messaging.channels import backend_for
from messaging.models import Channel, Template, TemplateVersion
from messaging.selectors import template_info, template_row
from messaging.types import TemplateInfo
from tenancy.services import audit_record
from tenancy.types import TenantRef

MAX_PART = 200_000


def checked_parts(kind: str, parts: dict) -> dict:
    features = backend_for(kind).features
    unknown = sorted(set(parts) - set(features.parts))
    errors = [{"field": f"parts.{p}", "message": f"a {kind} template has {', '.join(features.parts)}"} for p in unknown]
    errors += [{"field": f"parts.{p}", "message": "required"} for p in features.required_parts if not str(parts.get(p) or "").strip()]
    out = {}
    for name in features.parts:
        value = parts.get(name)
        if value is None:
            continue
        if isinstance(value, dict) and name == "headers":
            value = {str(k): str(v) for k, v in value.items()}
            sources = list(value.values())
        elif isinstance(value, str):
            sources = [value]
        else:
            errors.append({"field": f"parts.{name}", "message": "Liquid text"})
            continue
        if sum(len(s) for s in sources) > MAX_PART:
            errors.append({"field": f"parts.{name}", "message": f"at most {MAX_PART:,} characters"})
            continue
        for source in sources:
            try:
                liquid.check(name, source, html=name in features.html_parts)
            except liquid.RenderError as exc:
                errors.append({"field": f"parts.{name}", "message": f"line {exc.line}: {exc.message}"})
        out[name] = value
    if errors:
        raise InvalidInput("The template has errors: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors[:3]), errors=errors)
    return out


def template_create(*, tenant: TenantRef, name: str, channel_kind: str, parts: dict, actor: str) -> TemplateInfo:
    if channel_kind not in dict(Channel.KINDS):
        raise InvalidInput(f"No channel kind {channel_kind!r}.", errors=[{"field": "channel_kind", "message": "email or webhook"}])
    checked = checked_parts(channel_kind, parts)
    try:
        with transaction.atomic():
            row = Template.objects.create(tenant_id=tenant.id, name=name, channel_kind=channel_kind, created_by=actor)
            version = TemplateVersion.objects.create(template=row, version=1, parts=checked, created_by=actor)
    except IntegrityError:
        from kernel.errors import Conflict

        raise Conflict(f"A template named {name!r} exists already.") from None
    audit_record(tenant=tenant, actor=actor, action="template.create", target=name, details={"kind": channel_kind})
    return template_info(row, version)


def template_update(*, tenant: TenantRef, template_id: int, actor: str, name: str | None = None, parts: dict | None = None) -> TemplateInfo:
    row = template_row(tenant, template_id)
    with transaction.atomic():
        if name is not None:
            row.name = name
        if parts is not None:
            checked = checked_parts(row.channel_kind, parts)
            row.version += 1
            TemplateVersion.objects.create(template=row, version=row.version, parts=checked, created_by=actor)
        row.save()
    audit_record(tenant=tenant, actor=actor, action="template.update", target=row.name, details={"version": row.version})
    return template_info(row)
