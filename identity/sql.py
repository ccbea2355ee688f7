"""Named statements over identity data. Callers keep lists (`IN :values`) within the engine's `max_list_values`."""
from datetime import UTC, datetime

from lakehouse.statements import deletion, statement

SINCE = datetime(2026, 1, 1, tzinfo=UTC)

EDGES_FOR_VALUES = statement(
    "identity.edges_for_values",
    """
    SELECT a_type, a_value, b_type, b_value, first_seen_at, message_id
    FROM {identity_edges}
    WHERE tenant_id = :tenant_id AND (a_value IN :values OR b_value IN :values)
    ORDER BY a_type, a_value, b_type, b_value
    """,
    example={"tenant_id": "acme", "values": ["u1", "c2@example.com"]},
    returns={"first_seen_at": "timestamp"},
)

ALL_EDGES = statement(
    "identity.all_edges",
    """
    SELECT a_type, a_value, b_type, b_value, first_seen_at, message_id
    FROM {identity_edges}
    WHERE tenant_id = :tenant_id
    ORDER BY a_type, a_value, b_type, b_value
    """,
    example={"tenant_id": "acme"},
    returns={"first_seen_at": "timestamp"},
)

IDENTITIES_BY_VALUES = statement(
    "identity.identities_by_values",
    """
    SELECT id_type, id_value, cdp_id, first_seen_at, last_seen_at
    FROM {identities}
    WHERE tenant_id = :tenant_id AND id_value IN :values
    ORDER BY id_type, id_value
    """,
    example={"tenant_id": "acme", "values": ["u1", "a2"]},
    returns={"first_seen_at": "timestamp", "last_seen_at": "timestamp"},
)

IDENTITIES_BY_CUSTOMERS = statement(
    "identity.identities_by_customers",
    """
    SELECT id_type, id_value, cdp_id, first_seen_at, last_seen_at
    FROM {identities}
    WHERE tenant_id = :tenant_id AND cdp_id IN :cdp_ids
    ORDER BY id_type, id_value
    """,
    example={"tenant_id": "acme", "cdp_ids": ["c2", "c3"]},
    returns={"first_seen_at": "timestamp", "last_seen_at": "timestamp"},
)

IDENTIFIERS_OF_TYPE_BY_CUSTOMERS = statement(
    "identity.identifiers_of_type_by_customers",
    """
    SELECT cdp_id, id_value
    FROM {identities}
    WHERE tenant_id = :tenant_id AND id_type = :id_type AND cdp_id IN :cdp_ids
    ORDER BY cdp_id, id_value
    """,
    example={"tenant_id": "acme", "id_type": "email", "cdp_ids": ["c1", "c2", "c3"]},
)

ALL_IDENTITIES = statement(
    "identity.all_identities",
    """
    SELECT id_type, id_value, cdp_id, first_seen_at, last_seen_at
    FROM {identities}
    WHERE tenant_id = :tenant_id
    ORDER BY id_type, id_value
    """,
    example={"tenant_id": "acme"},
    returns={"first_seen_at": "timestamp", "last_seen_at": "timestamp"},
)

IDENTITY_LOOKUP = statement(
    "identity.lookup",
    """
    SELECT cdp_id, first_seen_at, last_seen_at
    FROM {identities}
    WHERE tenant_id = :tenant_id AND id_type = :id_type AND id_value = :id_value
    """,
    example={"tenant_id": "acme", "id_type": "email", "id_value": "c1@example.com"},
    returns={"first_seen_at": "timestamp", "last_seen_at": "timestamp"},
)

ALIAS_TARGET = statement(
    "identity.alias_target",
    """
    SELECT i.cdp_id
    FROM {customer_ids} AS c
    JOIN {identities} AS i ON i.tenant_id = c.tenant_id AND i.id_type = c.id_type AND i.id_value = c.id_value
    WHERE c.tenant_id = :tenant_id AND c.cdp_id = :cdp_id
    """,
    example={"tenant_id": "acme", "cdp_id": "old-1"},
)

MERGES_OF_CUSTOMER = statement(
    "identity.merges_of_customer",
    """
    SELECT merge_id, cdp_id, merged_cdp_id, a_type, a_value, b_type, b_value, message_id, rule, run_id, merged_at
    FROM {identity_merges}
    WHERE tenant_id = :tenant_id AND (cdp_id = :cdp_id OR merged_cdp_id = :cdp_id)
    ORDER BY merged_at DESC, merge_id
    """,
    example={"tenant_id": "acme", "cdp_id": "c1"},
    returns={"merged_at": "timestamp", "run_id": "bigint"},
)

RECENT_MERGES = statement(
    "identity.recent_merges",
    """
    SELECT merge_id, cdp_id, merged_cdp_id, a_type, a_value, b_type, b_value, message_id, rule, run_id, merged_at
    FROM {identity_merges}
    WHERE tenant_id = :tenant_id
    ORDER BY merged_at DESC, merge_id
    LIMIT :limit OFFSET :offset
    """,
    example={"tenant_id": "acme", "limit": 10, "offset": 0},
    returns={"merged_at": "timestamp", "run_id": "bigint"},
)

SHARED_IDENTIFIERS = statement(
    "identity.shared_identifiers",
    """
    SELECT s.id_type, s.id_value, s.conflicts, i.cdp_id
    FROM (
        SELECT id_type, id_value, COUNT(*) AS conflicts
        FROM (
            SELECT a_type AS id_type, a_value AS id_value FROM {identity_conflicts} WHERE tenant_id = :tenant_id
            UNION ALL
            SELECT b_type AS id_type, b_value AS id_value FROM {identity_conflicts} WHERE tenant_id = :tenant_id
        ) AS sides
        GROUP BY id_type, id_value
        HAVING COUNT(*) >= :at_least
    ) AS s
    LEFT JOIN {identities} AS i ON i.tenant_id = :tenant_id AND i.id_type = s.id_type AND i.id_value = s.id_value
    ORDER BY s.conflicts DESC, s.id_type, s.id_value
    LIMIT :limit OFFSET :offset
    """,
    example={"tenant_id": "acme", "at_least": 2, "limit": 10, "offset": 0},
    returns={"conflicts": "bigint"},
)

CONFLICTS_PAGE = statement(
    "identity.conflicts_page",
    """
    SELECT a_type, a_value, b_type, b_value, reason, cdp_id, other_cdp_id, message_id, detected_at
    FROM {identity_conflicts}
    WHERE tenant_id = :tenant_id AND (:cdp_id = '' OR cdp_id = :cdp_id OR other_cdp_id = :cdp_id)
    ORDER BY detected_at DESC, a_type, a_value, b_type, b_value
    LIMIT :limit OFFSET :offset
    """,
    example={"tenant_id": "acme", "cdp_id": "", "limit": 10, "offset": 0},
    returns={"detected_at": "timestamp"},
)

# The merge log as the apps above read it: from their own watermark (merged_at, merge_id), in order.
MERGES_SINCE = statement(
    "identity.merges_since",
    """
    SELECT merge_id, cdp_id, merged_cdp_id, message_id, rule, run_id, merged_at
    FROM {identity_merges}
    WHERE tenant_id = :tenant_id AND (merged_at > :after_at OR (merged_at = :after_at AND merge_id > :after_id))
    ORDER BY merged_at, merge_id
    LIMIT :limit
    """,
    example={"tenant_id": "acme", "after_at": datetime(2026, 1, 1, tzinfo=UTC), "after_id": "", "limit": 10},
    returns={"merged_at": "timestamp", "run_id": "bigint"},
)

# The stored conflicts a resolution may settle: those naming any of its identifiers' values (the
# caller keeps those whose type matches too), or every one of a tenant's for a whole rebuild.
CONFLICTS_OF_VALUES = statement(
    "identity.conflicts_of_values",
    """
    SELECT a_type, a_value, b_type, b_value, detected_at
    FROM {identity_conflicts}
    WHERE tenant_id = :tenant_id AND (a_value IN :values OR b_value IN :values)
    ORDER BY a_type, a_value, b_type, b_value
    """,
    example={"tenant_id": "acme", "values": ["u1", "c2@example.com", "a3"]},
    returns={"detected_at": "timestamp"},
)

ALL_CONFLICTS = statement(
    "identity.all_conflicts",
    """
    SELECT a_type, a_value, b_type, b_value, detected_at
    FROM {identity_conflicts}
    WHERE tenant_id = :tenant_id
    ORDER BY a_type, a_value, b_type, b_value
    """,
    example={"tenant_id": "acme"},
    returns={"detected_at": "timestamp"},
)

# How many conflicts and merges a tenant has, for the Identity page's pagers.
LOG_COUNTS = statement(
    "identity.log_counts",
    """
    SELECT 'conflicts' AS kind, COUNT(*) AS n FROM {identity_conflicts} WHERE tenant_id = :tenant_id GROUP BY tenant_id
    UNION ALL
    SELECT 'merges', COUNT(*) FROM {identity_merges} WHERE tenant_id = :tenant_id GROUP BY tenant_id
    ORDER BY kind
    """,
    example={"tenant_id": "acme"},
    returns={"n": "bigint"},
)

# The home dashboard's figures: one row per tenant (none for a tenant without data).
CUSTOMER_TOTALS = statement(
    "identity.customer_totals",
    """
    SELECT tenant_id, COUNT(DISTINCT cdp_id) AS customers,
           COUNT(DISTINCT CASE WHEN id_type <> 'anonymous_id' THEN cdp_id END) AS identified
    FROM {identities}
    WHERE tenant_id = :tenant_id
    GROUP BY tenant_id
    """,
    example={"tenant_id": "acme"},
    returns={"customers": "bigint", "identified": "bigint"},
)

RESOLUTION_SINCE = statement(
    "identity.resolution_since",
    """
    SELECT 'merges' AS kind, COUNT(*) AS n FROM {identity_merges} WHERE tenant_id = :tenant_id AND merged_at >= :since GROUP BY tenant_id
    UNION ALL
    SELECT 'conflicts', COUNT(*) FROM {identity_conflicts} WHERE tenant_id = :tenant_id AND detected_at >= :since GROUP BY tenant_id
    ORDER BY kind
    """,
    example={"tenant_id": "acme", "since": SINCE},
    returns={"n": "bigint"},
)

# --- named deletes ------------------------------------------------------------------------------

# Conflicts that no longer hold (an identifier blocked since, a rule raised), by the identifier on
# one side and the values on the other: one statement for every conflict a blocked kiosk had.
DELETE_CONFLICTS_FROM_A = deletion(
    "identity.delete_conflicts_from_a", "identity_conflicts",
    "tenant_id = :tenant_id AND a_type = :id_type AND a_value = :id_value AND b_value IN :values",
    example={"tenant_id": "acme", "id_type": "device_id", "id_value": "kiosk", "values": ["u1", "u2"]},
)

DELETE_CONFLICTS_TO_B = deletion(
    "identity.delete_conflicts_to_b", "identity_conflicts",
    "tenant_id = :tenant_id AND b_type = :id_type AND b_value = :id_value AND a_value IN :values",
    example={"tenant_id": "acme", "id_type": "user_id", "id_value": "u1", "values": ["d1", "kiosk"]},
)

DELETE_IDENTITIES_OF_TYPE = deletion(
    "identity.delete_identities_of_type", "identities",
    "tenant_id = :tenant_id AND id_type = :id_type AND id_value IN :values",
    example={"tenant_id": "acme", "id_type": "anonymous_id", "values": ["a1", "a2"]},
)
