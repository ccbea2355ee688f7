"""The outbox: a send is queued once per (tenant, idempotency key), whoever asks and however often
(a journey tick replayed after a crash asks again with the same key and gets the same delivery).
What happens at send time (consent, suppression, rendering) is the drain's (messaging.services.drain)."""
from __future__ import annotations

import uuid
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models.functions import Length
from django.utils import timezone

from kernel.bulk import rows_insert
from kernel.errors import InvalidInput, NotFound
from messaging.models import Channel, Delivery, Template, TemplateVersion, Topic
from messaging.selectors import delivery_info
from messaging.types import DeliveryInfo, SendRequest, SendShape
from tenancy.types import TenantRef

MAX_KEY = 300
NOTHING: dict = {}  # one object for every row's empty JSON, encoded once (kernel.bulk); never changed
DELIVERY_COLUMNS = ("tenant", "idempotency_key", "delivery_id", "channel", "template_version", "cdp_id", "address", "category", "topic", "source",
                    "variables", "status", "reason", "attempts", "next_attempt_at", "expires_at", "claim", "response", "provider_id", "created_at",
                    "updated_at")


def delivery_enqueue(*, tenant: TenantRef, request: SendRequest, now: datetime | None = None) -> tuple[DeliveryInfo, bool]:
    """The delivery for `request.key` (and whether this call made it). The template's current
    version is fixed now: a send renders the version it was queued with."""
    if not request.key or len(request.key) > MAX_KEY:
        raise InvalidInput("An idempotency key of 1 to 300 characters names the send.", errors=[{"field": "key", "message": "1-300 characters"}])
    existing = Delivery.objects.filter(tenant_id=tenant.id, idempotency_key=request.key).select_related("template_version").first()
    if existing is not None:
        return delivery_info(existing), False
    version = _checked_version(tenant, request)
    try:
        with transaction.atomic():
            row = Delivery.objects.create(
                tenant_id=tenant.id, idempotency_key=request.key, delivery_id=f"msg_{uuid.uuid4().hex}", channel_id=request.channel_id,
                template_version=version, cdp_id=request.cdp_id, address=request.address[:320], category=request.category,
                topic=request.topic if request.category == "marketing" else "", source=request.source[:200],
                variables=request.variables or {}, next_attempt_at=now or timezone.now(), expires_at=request.expires_at)
    except IntegrityError:  # the same key queued at the same moment by another process
        row = Delivery.objects.select_related("template_version").get(tenant_id=tenant.id, idempotency_key=request.key)
        return delivery_info(row), False
    return delivery_info(row), True


def request_problem(*, tenant: TenantRef, request: SendRequest) -> str:
    """Why a send of this shape (channel, template, category, topic) could not be queued, or ""
    (a journey's send node checks once a batch, then applies its failure policy)."""
    try:
        _checked_version(tenant, request)
    except (InvalidInput, NotFound) as exc:
        return exc.detail
    return ""


def _checked_version(tenant: TenantRef, request: SendRequest) -> TemplateVersion:
    """The template version a request queues, once its channel, template, category and topic
    are checked."""
    channel = Channel.objects.filter(tenant_id=tenant.id, id=request.channel_id).first()
    template = Template.objects.filter(tenant_id=tenant.id, id=request.template_id).first()
    if channel is None:
        raise NotFound(f"No channel {request.channel_id} in this tenant.")
    if template is None:
        raise NotFound(f"No template {request.template_id} in this tenant.")
    if template.channel_kind != channel.kind:
        raise InvalidInput(f"{template.name} is a {template.channel_kind} template; {channel.name} sends {channel.kind}.",
                           errors=[{"field": "template_id", "message": f"a {channel.kind} template"}])
    if request.category not in dict(Delivery.CATEGORIES):
        raise InvalidInput("The category is marketing or transactional.", errors=[{"field": "category", "message": "marketing or transactional"}])
    if request.category == "marketing":
        if not Topic.objects.filter(tenant_id=tenant.id, channel_kind=channel.kind, key=request.topic).exists():
            raise InvalidInput(f"A marketing {channel.kind} names its subscription topic; {request.topic or 'none'} is not one here.",
                               errors=[{"field": "topic", "message": f"a {channel.kind} topic of this tenant"}])
    return TemplateVersion.objects.get(template=template, version=template.version)


def deliveries_enqueue(*, tenant: TenantRef, requests: list[SendRequest], now: datetime | None = None) -> tuple[int, int]:
    """Many sends at once (a campaign's audience, a journey tick's batch): each queued once per
    key as `delivery_enqueue` does, checked alike (an error names the request by its position),
    written in a few statements instead of one per send. Returns (queued now, queued before)."""
    now = now or timezone.now()
    checked: dict[tuple, TemplateVersion] = {}
    for index, request in enumerate(requests):
        if not request.key or len(request.key) > MAX_KEY:
            raise InvalidInput(f"Request {index}: an idempotency key of 1 to 300 characters names the send.",
                               errors=[{"field": f"requests.{index}.key", "message": "1-300 characters"}])
        shape = (request.channel_id, request.template_id, request.category, request.topic if request.category == "marketing" else "")
        if shape not in checked:
            try:
                checked[shape] = _checked_version(tenant, request)
            except InvalidInput as exc:
                raise InvalidInput(f"Request {index}: {exc.detail}",
                                   errors=[{**e, "field": f"requests.{index}.{e['field']}"} for e in exc.errors]) from None
    rows, seen, written = [], set(), timezone.now()
    for request in requests:
        if request.key in seen:
            continue
        seen.add(request.key)
        shape = (request.channel_id, request.template_id, request.category, request.topic if request.category == "marketing" else "")
        rows.append((tenant.id, request.key, f"msg_{uuid.uuid4().hex}", request.channel_id, checked[shape].id, request.cdp_id,
                     request.address[:320], request.category, shape[3], request.source[:200], request.variables or NOTHING, "queued", "", 0, now,
                     request.expires_at, "", NOTHING, "",
                     written, written))
    with transaction.atomic():
        # A key queued before (or meanwhile, by another process) keeps its delivery: the unique
        # (tenant, key) skips it, and the rows written say how many are new.
        made = rows_insert(Delivery, DELIVERY_COLUMNS, rows, ignore_conflicts=True)
    return made, len(requests) - made


SEND_COLUMNS = ("send_key", "send_cdp_id", "send_address", "send_shape", "send_expires_at")
NEW_DELIVERY_ID = {  # msg_ and 32 random hex digits, as `uuid.uuid4().hex` gives in Python
    "sqlite": "'msg_' || lower(hex(randomblob(16)))",
    "postgresql": "'msg_' || replace(gen_random_uuid()::text, '-', '')",
}
EXPIRES = {  # a NULL in a subquery's select list is text to PostgreSQL: typed here
    "sqlite": "q.send_expires_at",
    "postgresql": "CAST(q.send_expires_at AS timestamp with time zone)",
}


def deliveries_enqueue_query(*, tenant: TenantRef, rows, shapes: dict[str, SendShape], now: datetime | None = None) -> int:
    """Many sends named by a query of the caller's own table instead of a list, written by one
    INSERT ... SELECT so that no row passes through Python (a campaign's due recipients: measured
    most of a 200,000-recipient send's time when each became a SendRequest). `rows` is a queryset
    annotated with SEND_COLUMNS: the idempotency key (1-300 characters), the customer, the address,
    the name of its shape in `shapes` and when it expires (or NULL); annotated with `send_variables`
    too (a JSON object per row: a journey's context), a row's variables are that instead of its
    shape's. Each shape is checked once as
    `deliveries_enqueue` checks a request; a key queued before keeps its delivery. Runs in the
    caller's transaction; returns how many were queued now."""
    now = now or timezone.now()
    missing = [c for c in SEND_COLUMNS if c not in rows.query.annotations]
    if missing or rows.query.is_sliced:  # (a slice: filter by a sliced subquery instead, which the key check below can filter)
        raise ValueError(f"the rows' query lacks {', '.join(missing)}" if missing else "the rows' query is sliced")
    versions = {}
    for name, shape in shapes.items():
        request = SendRequest(key=name, channel_id=shape.channel_id, template_id=shape.template_id, cdp_id="", category=shape.category,
                              topic=shape.topic)
        try:
            versions[name] = _checked_version(tenant, request).id
        except InvalidInput as exc:
            raise InvalidInput(f"Shape {name}: {exc.detail}",
                               errors=[{**e, "field": f"shapes.{name}.{e['field']}"} for e in exc.errors]) from None
    if not shapes:
        return 0
    if rows.annotate(send_key_length=Length("send_key")).filter(Q(send_key_length__lt=1) | Q(send_key_length__gt=MAX_KEY)).exists():
        raise InvalidInput("An idempotency key of 1 to 300 characters names each send.", errors=[{"field": "send_key", "message": "1-300 characters"}])
    own_variables = "send_variables" in rows.query.annotations
    rows = rows.values(*SEND_COLUMNS, *(("send_variables",) if own_variables else ()))
    ops, written = connection.ops, timezone.now()
    params: list = [tenant.id]

    def by_shape(value) -> str:  # a column whose value each row's shape decides; params in the order of the placeholders
        for name, shape in shapes.items():
            params.extend((name, value(name, shape)))
        return "CASE q.send_shape " + " ".join(["WHEN %s THEN %s"] * len(shapes)) + " END"

    columns = [
        "%s", "q.send_key", NEW_DELIVERY_ID[connection.vendor], by_shape(lambda n, s: s.channel_id), by_shape(lambda n, s: versions[n]),
        "q.send_cdp_id", "SUBSTR(q.send_address, 1, 320)", by_shape(lambda n, s: s.category),
        by_shape(lambda n, s: s.topic if s.category == "marketing" else ""), by_shape(lambda n, s: s.source[:200]),
        "q.send_variables" if own_variables else by_shape(lambda n, s: ops.adapt_json_value(s.variables or NOTHING, None)), "'queued'", "''", "0", "%s", EXPIRES[connection.vendor], "''",
        "%s", "''", "%s", "%s"]
    params += [ops.adapt_datetimefield_value(now), ops.adapt_json_value(NOTHING, None), ops.adapt_datetimefield_value(written),
               ops.adapt_datetimefield_value(written)]
    select, select_params = rows.query.sql_with_params()
    quote = ops.quote_name
    fields = [Delivery._meta.get_field(name).column for name in DELIVERY_COLUMNS]
    # `WHERE true`: SQLite's grammar needs a WHERE before ON CONFLICT in an INSERT ... SELECT.
    sql = (f"INSERT INTO {quote(Delivery._meta.db_table)} ({', '.join(quote(f) for f in fields)}) "
           f"SELECT {', '.join(columns)} FROM ({select}) q WHERE true ON CONFLICT DO NOTHING")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *select_params])
        return cursor.rowcount


HOLDABLE = ("queued", "retrying", "deferred")


def deliveries_hold(*, tenant: TenantRef, source: str) -> int:
    """Hold what `source` queued that no drain has taken (a paused campaign): the drain skips a
    held delivery until it is released. One already being sent finishes. Returns how many."""
    return Delivery.objects.filter(tenant_id=tenant.id, source=source, status__in=HOLDABLE).update(
        status="held", reason="held by its sender", updated_at=timezone.now())


def deliveries_release(*, tenant: TenantRef, source: str) -> int:
    """Held deliveries back to the outbox, each due when it was (a retry keeps its backoff)."""
    held = Delivery.objects.filter(tenant_id=tenant.id, source=source, status="held")
    written = timezone.now()
    return (held.filter(attempts=0).update(status="queued", reason="", updated_at=written)
            + held.filter(attempts__gt=0).update(status="retrying", reason="released by its sender", updated_at=written))


def deliveries_cancel(*, tenant: TenantRef, source: str, reason: str) -> int:
    """What `source` queued or held and no drain has taken, cancelled for good (a cancelled campaign)."""
    return Delivery.objects.filter(tenant_id=tenant.id, source=source, status__in=(*HOLDABLE, "held")).update(
        status="cancelled", reason=reason[:500], updated_at=timezone.now())
