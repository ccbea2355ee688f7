"""Named statements over segment membership."""
from datetime import UTC, datetime

from lakehouse.statements import Statement, deletion, statement

SINCE = datetime(2026, 1, 1, tzinfo=UTC)

CURRENT_MEMBERS = statement(
    "segments.current_members",
    """
    SELECT cdp_id, entered_at
    FROM {segment_members}
    WHERE tenant_id = :tenant_id AND segment_id = :segment_id
    ORDER BY cdp_id
    """,
    example={"tenant_id": "acme", "segment_id": 1},
    returns={"entered_at": "timestamp"},
)

MEMBER_COUNT = statement(
    "segments.member_count",
    """
    SELECT COUNT(*) AS members
    FROM {segment_members}
    WHERE tenant_id = :tenant_id AND segment_id = :segment_id
    GROUP BY segment_id
    """,
    example={"tenant_id": "acme", "segment_id": 1},
    returns={"members": "bigint"},
)

MEMBERS_PAGE = statement(
    "segments.members_page",
    """
    SELECT cdp_id, entered_at
    FROM {segment_members}
    WHERE tenant_id = :tenant_id AND segment_id = :segment_id
    ORDER BY entered_at DESC, cdp_id
    LIMIT :limit OFFSET :offset
    """,
    example={"tenant_id": "acme", "segment_id": 1, "limit": 10, "offset": 0},
    returns={"entered_at": "timestamp"},
)

# Every member, a page at a time after the last one seen (exports: no OFFSET to rescan).
MEMBERS_AFTER = statement(
    "segments.members_after",
    """
    SELECT cdp_id, entered_at
    FROM {segment_members}
    WHERE tenant_id = :tenant_id AND segment_id = :segment_id AND cdp_id > :after
    ORDER BY cdp_id
    LIMIT :limit
    """,
    example={"tenant_id": "acme", "segment_id": 1, "after": "", "limit": 10},
    returns={"entered_at": "timestamp"},
)

# Members at a past time: each customer's last change at or before it, when that was an entry.
MEMBERS_AT = statement(
    "segments.members_at",
    """
    SELECT cdp_id, changed_at AS entered_at
    FROM (
        SELECT cdp_id, change, changed_at,
               ROW_NUMBER() OVER (PARTITION BY cdp_id ORDER BY changed_at DESC, change_id DESC) AS position
        FROM {segment_membership_log}
        WHERE tenant_id = :tenant_id AND segment_id = :segment_id AND changed_at <= :at
    ) AS latest
    WHERE position = 1 AND change = 'entered'
    ORDER BY entered_at DESC, cdp_id
    LIMIT :limit OFFSET :offset
    """,
    example={"tenant_id": "acme", "segment_id": 1, "at": datetime(2026, 3, 1, tzinfo=UTC), "limit": 10, "offset": 0},
    returns={"entered_at": "timestamp"},
)

HISTORY = statement(
    "segments.history",
    """
    SELECT {utc_hour(changed_at)} AS hour, change, COUNT(*) AS customers
    FROM {segment_membership_log}
    WHERE tenant_id = :tenant_id AND segment_id = :segment_id AND changed_at >= :since
    GROUP BY {utc_hour(changed_at)}, change
    ORDER BY hour, change
    """,
    example={"tenant_id": "acme", "segment_id": 1, "since": SINCE},
    returns={"customers": "bigint"},
)

CUSTOMER_SEGMENTS = statement(
    "segments.customer_segments",
    """
    SELECT segment_id, entered_at
    FROM {segment_members}
    WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id
    ORDER BY segment_id
    """,
    example={"tenant_id": "acme", "cdp_id": "c1"},
    returns={"segment_id": "bigint", "entered_at": "timestamp"},
)

# The log as journeys read it: from their own watermark (changed_at, change_id), in order.
CHANGES_SINCE = statement(
    "segments.changes_since",
    """
    SELECT change_id, segment_id, cdp_id, change, changed_at, run_id
    FROM {segment_membership_log}
    WHERE tenant_id = :tenant_id AND (changed_at > :after_at OR (changed_at = :after_at AND change_id > :after_id))
    ORDER BY changed_at, change_id
    LIMIT :limit
    """,
    example={"tenant_id": "acme", "after_at": datetime(2026, 1, 1, tzinfo=UTC), "after_id": "", "limit": 10},
    returns={"segment_id": "bigint", "changed_at": "timestamp", "run_id": "bigint"},
)

# The same, up to a time (a backtest reads the log as it stood at each of its ticks).
CHANGES_BETWEEN = statement(
    "segments.changes_between",
    """
    SELECT change_id, segment_id, cdp_id, change, changed_at, run_id
    FROM {segment_membership_log}
    WHERE tenant_id = :tenant_id AND (changed_at > :after_at OR (changed_at = :after_at AND change_id > :after_id))
      AND changed_at <= :until_at
    ORDER BY changed_at, change_id
    LIMIT :limit
    """,
    example={"tenant_id": "acme", "after_at": datetime(2026, 1, 1, tzinfo=UTC), "after_id": "",
             "until_at": datetime(2026, 2, 21, 12, 30, tzinfo=UTC), "limit": 10},
    returns={"segment_id": "bigint", "changed_at": "timestamp", "run_id": "bigint"},
)

# A refresh's changes as its run logged them (the log is written first, in SQL).
RUN_CHANGES = statement(
    "segments.run_changes",
    """
    SELECT cdp_id, change
    FROM {segment_membership_log}
    WHERE tenant_id = :tenant_id AND segment_id = :segment_id AND changed_at = :changed_at AND run_id = :run_id
    ORDER BY change, cdp_id
    """,
    example={"tenant_id": "acme", "segment_id": 1, "changed_at": datetime(2026, 2, 21, 12, 0, tzinfo=UTC), "run_id": 0},
)

# The members a refresh's logged entries add (not registered: a write, run by segments.services).
ENTER_FROM_LOG = Statement(
    "segments.enter_from_log",
    """
    INSERT INTO {segment_members} (tenant_id, segment_id, cdp_id, entered_at)
    SELECT tenant_id, segment_id, cdp_id, changed_at
    FROM {segment_membership_log}
    WHERE tenant_id = :tenant_id AND segment_id = :segment_id AND changed_at = :changed_at AND run_id = :run_id AND change = 'entered'
    """,
    writes=True, idempotent=False,
)

DELETE_MEMBERS = deletion(
    "segments.delete_members", "segment_members",
    "tenant_id = :tenant_id AND segment_id = :segment_id AND cdp_id IN :cdp_ids",
    example={"tenant_id": "acme", "segment_id": 1, "cdp_ids": ["c1", "c2"]},
)

DELETE_SEGMENT = deletion(
    "segments.delete_segment", "segment_members",
    "tenant_id = :tenant_id AND segment_id = :segment_id",
    example={"tenant_id": "acme", "segment_id": 1},
)

EXPORT_ROWS = statement(
    "segments.export_rows",
    """
    SELECT m.cdp_id, m.entered_at,
           MIN(CASE WHEN i.id_type = 'user_id' THEN i.id_value END) AS user_id,
           MIN(CASE WHEN i.id_type = 'email' THEN i.id_value END) AS email
    FROM {segment_members} AS m
    LEFT JOIN {identities} AS i
      ON i.tenant_id = m.tenant_id AND i.cdp_id = m.cdp_id AND i.id_type IN ('user_id', 'email')
    WHERE m.tenant_id = :tenant_id AND m.segment_id = :segment_id
    GROUP BY m.cdp_id, m.entered_at
    """,
    example={"tenant_id": "acme", "segment_id": 1},
    returns={"entered_at": "timestamp"},
)
