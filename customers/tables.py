"""Customer data tables: events, traits and consents (the identifier-to-customer map is identity's)."""
from lakehouse.schema import AddColumns, AddIndexes, Column, Personal, Table, register_table

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
    migrations=(AddColumns(version=2, columns=(Column("group_id", "string", comment="The group of a group call (its traits are the group's)."),)),
                # Segments' incremental refresh reads the calls loaded since its watermark.
                AddIndexes(version=3, indexes=(("tenant_id", "loaded_at"),)),
                # ... and then the candidates' calls of one name: found per customer and name,
                # where the index by customer and time read every call of theirs.
                AddIndexes(version=4, indexes=(("tenant_id", "cdp_id", "event", "event_time"),))),
    key=("tenant_id", "message_id"),
    cluster_by=("tenant_id", "cdp_id", "event_time"),
    # A messageId's event time is fixed when it is accepted (the inbox keeps the call as received),
    # so a reloaded batch or a moved event repeats it: MERGE prunes files by it.
    merge_on=("event_time",),
    indexes=(("tenant_id", "cdp_id", "event_time"), ("tenant_id", "event", "event_time"), ("tenant_id", "event_time"),
             ("tenant_id", "loaded_at"), ("tenant_id", "cdp_id", "event", "event_time")),
    personal=Personal(customers=("cdp_id",), typed=(("user_id", "user_id"), ("anonymous_id", "anonymous_id"))),
))

TRAITS = register_table(Table(
    name="traits",
    comment="Profile traits as key/value rows; last write wins by updated_at.",
    columns=(
        Column("tenant_id", "string", nullable=False),
        Column("cdp_id", "string", nullable=False),
        Column("key", "string", nullable=False),
        Column("value", "string", comment="A string as it is; any other value as JSON text (see value_type)."),
        Column("number_value", "double", comment="The value as a number when it is one, for numeric conditions."),
        Column("updated_at", "timestamp", nullable=False, comment="Event time of the write that set it."),
        Column("source", "string", comment="identify, group, api, console, import or computed."),
        Column("value_type", "string", comment="The value's JSON type: string, number, boolean, array, object or null; empty when unset."),
        Column("time_value", "timestamp", comment="The value as a UTC time when it is an ISO 8601 date or time, for date conditions."),
    ),
    migrations=(AddColumns(version=2, columns=(
        Column("value_type", "string", comment="The value's JSON type: string, number, boolean, array, object or null; empty when unset."),
        Column("time_value", "timestamp", comment="The value as a UTC time when it is an ISO 8601 date or time, for date conditions."),
    )),
                # Computed traits recomputed since a watermark (segments' incremental refresh).
                AddIndexes(version=3, indexes=(("tenant_id", "updated_at"),)),
                # Date conditions' boundaries crossed as the clock moves (segments' candidates).
                AddIndexes(version=4, indexes=(("tenant_id", "key", "time_value"),))),
    key=("tenant_id", "cdp_id", "key"),
    cluster_by=("tenant_id", "cdp_id"),
    indexes=(("tenant_id", "key", "value"), ("tenant_id", "updated_at"), ("tenant_id", "key", "time_value")),
    personal=Personal(customers=("cdp_id",)),
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
    indexes=(("tenant_id", "updated_at"),),
    migrations=(AddIndexes(version=2, indexes=(("tenant_id", "updated_at"),)),),  # decisions since a watermark (segments)
    personal=Personal(customers=("cdp_id",)),
))

PROFILE_CHANGES = register_table(Table(
    name="profile_changes",
    comment="The profile change log: every trait write made to a profile, by whom and from where; apps above read it from a watermark.",
    columns=(
        Column("tenant_id", "string", nullable=False),
        Column("change_id", "string", nullable=False),
        Column("cdp_id", "string", nullable=False),
        Column("key", "string", nullable=False),
        Column("value", "json", comment="The new value as JSON text; empty for an unset."),
        Column("action", "string", nullable=False, comment="set or unset."),
        Column("source", "string", nullable=False, comment="identify, group, import, api, console or computed."),
        Column("actor", "string", comment="The operator who made it (api and console edits)."),
        Column("event_time", "timestamp", nullable=False, comment="When it holds from: the call's event time, or the edit's time."),
        Column("changed_at", "timestamp", nullable=False, comment="When it was written: the watermark readers follow."),
    ),
    # A trait held for N days: the writes whose N-day mark the clock passed (segments' candidates).
    migrations=(AddIndexes(version=2, indexes=(("tenant_id", "key", "event_time"),)),),
    key=("tenant_id", "change_id"),
    cluster_by=("tenant_id", "changed_at"),
    indexes=(("tenant_id", "cdp_id", "changed_at"), ("tenant_id", "changed_at"), ("tenant_id", "key", "event_time")),
    personal=Personal(customers=("cdp_id",)),
))
