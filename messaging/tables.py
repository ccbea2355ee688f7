"""Messaging in the lakehouse: the rows table-export channels write, for reverse-ETL tools."""
from lakehouse.schema import Column, Personal, Table, register_table

MESSAGE_EXPORTS = register_table(Table(
    name="message_exports",
    comment="One row per message sent through a table-export channel: the customer, the rendered payload and the "
            "caller's variables. Reverse-ETL tools read it (a view per channel_id); erasure removes a customer's rows.",
    columns=(
        Column("tenant_id", "string", nullable=False),
        Column("delivery_id", "string", nullable=False, comment="The delivery's stable id: a replay after a crash writes nothing twice."),
        Column("channel_id", "bigint", nullable=False),
        Column("cdp_id", "string", nullable=False),
        Column("template_id", "bigint", nullable=False),
        Column("template_version", "bigint", nullable=False),
        Column("category", "string", nullable=False),
        Column("topic", "string"),
        Column("source", "string", comment="Who asked: journey:<id>, campaign:<id>, api, test-send."),
        Column("payload", "json", comment="The template's payload part, rendered (a JSON object)."),
        Column("variables", "json", comment="The caller's variables (journey or campaign, the triggering event)."),
        Column("exported_at", "timestamp", nullable=False),
    ),
    key=("tenant_id", "delivery_id"),
    cluster_by=("tenant_id", "channel_id", "exported_at"),
    merge_on=("channel_id",),  # a delivery's channel never changes: a replay's MERGE reads that channel's files
    indexes=(("tenant_id", "channel_id", "exported_at"), ("tenant_id", "cdp_id")),
    personal=Personal(customers=("cdp_id",)),
))
