"""Segment membership in the lakehouse: who is in each segment now, and every entry and exit."""
from lakehouse.schema import AddIndexes, Column, Personal, Table, register_table

MEMBERS = register_table(Table(
    name="segment_members",
    comment="The current members of each segment, as its last refresh decided.",
    columns=(
        Column("tenant_id", "string", nullable=False),
        Column("segment_id", "bigint", nullable=False),
        Column("cdp_id", "string", nullable=False),
        Column("entered_at", "timestamp", nullable=False, comment="When this membership began (the refresh's clock)."),
    ),
    key=("tenant_id", "segment_id", "cdp_id"),
    cluster_by=("tenant_id", "segment_id"),
    indexes=(("tenant_id", "cdp_id"),),
    personal=Personal(customers=("cdp_id",)),
))

MEMBERSHIP_LOG = register_table(Table(
    name="segment_membership_log",
    comment="Append-only: each customer entering or leaving a segment, with the refresh that decided it. "
            "Members at a past time, sizes over time, and the journeys' segment entries read it.",
    columns=(
        Column("tenant_id", "string", nullable=False),
        Column("change_id", "string", nullable=False),
        Column("segment_id", "bigint", nullable=False),
        Column("cdp_id", "string", nullable=False),
        Column("change", "string", nullable=False, comment="entered or exited."),
        Column("changed_at", "timestamp", nullable=False, comment="The refresh's clock: when it holds from."),
        Column("run_id", "bigint", comment="The refresh (segments.SegmentRun) that decided it."),
    ),
    key=("tenant_id", "change_id"),
    cluster_by=("tenant_id", "segment_id", "changed_at"),
    indexes=(("tenant_id", "segment_id", "changed_at"), ("tenant_id", "cdp_id"), ("tenant_id", "run_id")),
    # The changes of given runs: an incremental refresh of a segment that names another.
    migrations=(AddIndexes(version=2, indexes=(("tenant_id", "run_id"),)),),
    personal=Personal(customers=("cdp_id",)),
))
