"""Identity data in the lakehouse: the identifier -> customer map, the edges seen, the ids issued,
the merge log and conflicts. Only identity's statements write these tables."""
from lakehouse.schema import AddIndexes, Column, Personal, Table, register_table

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
    personal=Personal(customers=("cdp_id",), identifiers=(("id_type", "id_value"),)),
))


EDGES = register_table(Table(
    name="identity_edges",
    comment="Two identifiers seen together (one call, an alias, the API or an import); a before b.",
    columns=(
        Column("tenant_id", "string", nullable=False),
        Column("a_type", "string", nullable=False),
        Column("a_value", "string", nullable=False),
        Column("b_type", "string", nullable=False),
        Column("b_value", "string", nullable=False),
        Column("first_seen_at", "timestamp", nullable=False, comment="Event time of the first call that carried both."),
        Column("message_id", "string", comment="That call's messageId."),
    ),
    key=("tenant_id", "a_type", "a_value", "b_type", "b_value"),
    cluster_by=("tenant_id", "a_value"),
    indexes=(("tenant_id", "b_value"),),
    personal=Personal(identifiers=(("a_type", "a_value"), ("b_type", "b_value"))),
))

CUSTOMER_IDS = register_table(Table(
    name="customer_ids",
    comment="Every cdp_id ever issued and the identifier it was derived from: retired ids resolve through it.",
    columns=(
        Column("tenant_id", "string", nullable=False),
        Column("cdp_id", "string", nullable=False),
        Column("id_type", "string", nullable=False),
        Column("id_value", "string", nullable=False),
        Column("issued_at", "timestamp", nullable=False),
    ),
    key=("tenant_id", "cdp_id"),
    cluster_by=("tenant_id", "cdp_id"),
    indexes=(("tenant_id", "id_type", "id_value"), ("tenant_id", "issued_at")),
    migrations=(AddIndexes(version=2, indexes=(("tenant_id", "issued_at"),)),),  # customers new since a watermark (segments)
    personal=Personal(customers=("cdp_id",), identifiers=(("id_type", "id_value"),)),
))

MERGES = register_table(Table(
    name="identity_merges",
    comment="The merge log: which customer was merged into which, by which edge and call, under which rule.",
    columns=(
        Column("tenant_id", "string", nullable=False),
        Column("merge_id", "string", nullable=False),
        Column("cdp_id", "string", nullable=False, comment="The surviving customer."),
        Column("merged_cdp_id", "string", nullable=False, comment="The customer merged into it (now an alias)."),
        Column("a_type", "string"), Column("a_value", "string"), Column("b_type", "string"), Column("b_value", "string"),
        Column("message_id", "string"),
        Column("rule", "string"),
        Column("run_id", "bigint"),
        Column("merged_at", "timestamp", nullable=False),
    ),
    key=("tenant_id", "merge_id"),
    cluster_by=("tenant_id", "cdp_id"),
    indexes=(("tenant_id", "cdp_id"), ("tenant_id", "merged_cdp_id"), ("tenant_id", "merged_at")),
    migrations=(AddIndexes(version=2, indexes=(("tenant_id", "merged_at"),)),),  # merges since a watermark (segments)
    personal=Personal(customers=("cdp_id", "merged_cdp_id"), identifiers=(("a_type", "a_value"), ("b_type", "b_value"))),
))

CONFLICTS = register_table(Table(
    name="identity_conflicts",
    comment="Edges not merged because a rule forbade it (a limit, two user ids), with the reason.",
    columns=(
        Column("tenant_id", "string", nullable=False),
        Column("a_type", "string", nullable=False), Column("a_value", "string", nullable=False),
        Column("b_type", "string", nullable=False), Column("b_value", "string", nullable=False),
        Column("reason", "string", nullable=False),
        Column("cdp_id", "string", comment="The customer on side a when detected."),
        Column("other_cdp_id", "string", comment="The customer on side b when detected."),
        Column("message_id", "string"),
        Column("detected_at", "timestamp", nullable=False),
    ),
    key=("tenant_id", "a_type", "a_value", "b_type", "b_value"),
    cluster_by=("tenant_id",),
    indexes=(("tenant_id", "cdp_id"), ("tenant_id", "other_cdp_id")),
    personal=Personal(customers=("cdp_id", "other_cdp_id"), identifiers=(("a_type", "a_value"), ("b_type", "b_value"))),
))
