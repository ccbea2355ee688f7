"""Customer data tables: events, traits and the identifier-to-customer map."""
from lakehouse.schema import AddColumns, Column, Table, register_table

EVENTS = register_table(Table(
    name="events",
    comment="Every tracked call (identify, track, page, screen, group, alias), once per messageId.",
    columns=(
        Column("tenant_id", "string", nullable=False),
        Column("message_id", "string", nullable=False, comment="The sender's messageId: the deduplication key."),
        Column("type", "string", nullable=False, comment="identify, track, page, screen, group or alias."),
        Column("event", "string", comment="Track event name, or page/screen name."),
        Column("cdp_id", "string", comment="The customer, as resolved when the event was loaded."),
        Column("user_id", "string"),
        Column("anonymous_id", "string"),
        Column("properties", "json", comment="Event properties, JSON text."),
        Column("traits", "json", comment="Traits sent with identify/group, JSON text."),
        Column("context", "json", comment="The call's context object, JSON text."),
        Column("event_time", "timestamp", nullable=False, comment="When it happened, corrected for client clock skew."),
        Column("sent_at", "timestamp"),
        Column("received_at", "timestamp", nullable=False),
        Column("loaded_at", "timestamp"),
        Column("group_id", "string", comment="The group of a group call (its traits are the group's)."),
    ),
    migrations=(AddColumns(version=2, columns=(Column("group_id", "string", comment="The group of a group call (its traits are the group's)."),)),),
    key=("tenant_id", "message_id"),
    cluster_by=("tenant_id", "cdp_id", "event_time"),
    indexes=(("tenant_id", "cdp_id", "event_time"), ("tenant_id", "event", "event_time"), ("tenant_id", "event_time")),
))

TRAITS = register_table(Table(
    name="traits",
    comment="Profile traits as key/value rows; last write wins by updated_at.",
    columns=(
        Column("tenant_id", "string", nullable=False),
        Column("cdp_id", "string", nullable=False),
        Column("key", "string", nullable=False),
        Column("value", "string", comment="The value as text (JSON for lists and objects)."),
        Column("number_value", "double", comment="The value as a number when it is one, for numeric conditions."),
        Column("updated_at", "timestamp", nullable=False, comment="Event time of the write that set it."),
        Column("source", "string", comment="identify, group, api, import or computed."),
    ),
    key=("tenant_id", "cdp_id", "key"),
    cluster_by=("tenant_id", "cdp_id"),
    indexes=(("tenant_id", "key", "value"),),
))

IDENTITIES = register_table(Table(
    name="identities",
    comment="Which customer (cdp_id) each identifier belongs to.",
    columns=(
        Column("tenant_id", "string", nullable=False),
        Column("id_type", "string", nullable=False, comment="user_id, anonymous_id, email, phone, ..."),
        Column("id_value", "string", nullable=False),
        Column("cdp_id", "string", nullable=False),
        Column("first_seen_at", "timestamp", nullable=False),
        Column("last_seen_at", "timestamp", nullable=False),
    ),
    key=("tenant_id", "id_type", "id_value"),
    cluster_by=("tenant_id", "cdp_id"),
    # Covers the profile read (by customer, in identifier order) without a sort.
    indexes=(("tenant_id", "cdp_id", "id_type", "id_value"),),
))

CONSENTS = register_table(Table(
    name="consents",
    comment="Consent per channel and purpose: granted or denied, when, and from where.",
    columns=(
        Column("tenant_id", "string", nullable=False),
        Column("cdp_id", "string", nullable=False),
        Column("channel", "string", nullable=False, comment="email, sms, push, webhook, ... or * for every channel."),
        Column("purpose", "string", nullable=False, comment="marketing, analytics, transactional, ..."),
        Column("granted", "boolean", nullable=False),
        Column("updated_at", "timestamp", nullable=False),
        Column("source", "string", comment="api, console, import or an event."),
    ),
    key=("tenant_id", "cdp_id", "channel", "purpose"),
    cluster_by=("tenant_id", "cdp_id"),
))
