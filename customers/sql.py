"""Named statements over customer data. Timestamps arrive as parameters (Python does the arithmetic)."""
from datetime import datetime, timezone

from lakehouse.statements import statement

SINCE = datetime(2026, 1, 1, tzinfo=timezone.utc)

EVENT_COUNTS = statement(
    "customers.event_counts",
    """
    SELECT type, event, COUNT(*) AS events, COUNT(DISTINCT cdp_id) AS customers
    FROM {events}
    WHERE tenant_id = :tenant_id AND event_time >= :since
    GROUP BY type, event
    ORDER BY events DESC, type, event
    """,
    example={"tenant_id": "acme", "since": SINCE},
    returns={"events": "bigint", "customers": "bigint"},
)

CUSTOMER_TIMELINE = statement(
    "customers.timeline",
    """
    SELECT message_id, type, event, event_time, properties
    FROM {events}
    WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id AND event_time < :before
    ORDER BY event_time DESC, message_id DESC
    LIMIT :limit
    """,
    example={"tenant_id": "acme", "cdp_id": "c1", "before": datetime(2026, 3, 1, tzinfo=timezone.utc), "limit": 5},
    returns={"event_time": "timestamp"},
)

PROFILE_TRAITS = statement(
    "customers.profile_traits",
    """
    SELECT key, value, number_value, updated_at, source
    FROM {traits}
    WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id
    ORDER BY key
    """,
    example={"tenant_id": "acme", "cdp_id": "c1"},
    returns={"updated_at": "timestamp", "number_value": "double"},
)

IDENTITY_LOOKUP = statement(
    "customers.identity_lookup",
    """
    SELECT cdp_id, first_seen_at, last_seen_at
    FROM {identities}
    WHERE tenant_id = :tenant_id AND id_type = :id_type AND id_value = :id_value
    """,
    example={"tenant_id": "acme", "id_type": "email", "id_value": "c1@example.com"},
    returns={"first_seen_at": "timestamp", "last_seen_at": "timestamp"},
)

REVENUE_BY_CUSTOMER = statement(
    "customers.revenue_by_customer",
    """
    SELECT cdp_id, SUM({json_double(properties, '$.revenue')}) AS revenue, COUNT(*) AS orders
    FROM {events}
    WHERE tenant_id = :tenant_id AND type = 'track' AND event = :event AND event_time >= :since
    GROUP BY cdp_id
    ORDER BY revenue DESC, cdp_id
    LIMIT :limit
    """,
    example={"tenant_id": "acme", "event": "Order Completed", "since": SINCE, "limit": 10},
    returns={"revenue": "double", "orders": "bigint"},
)

CUSTOMERS_BY_TRAIT = statement(
    "customers.by_trait",
    """
    SELECT cdp_id, value, number_value
    FROM {traits}
    WHERE tenant_id = :tenant_id AND key = :key AND value = :value
    ORDER BY cdp_id
    """,
    example={"tenant_id": "acme", "key": "plan", "value": "pro"},
    returns={"number_value": "double"},
)

LAST_SEEN = statement(
    "customers.last_seen",
    """
    SELECT cdp_id, MAX(event_time) AS last_seen_at, COUNT(*) AS events,
           MAX({json_text(context, '$.page.path')}) AS last_path
    FROM {events}
    WHERE tenant_id = :tenant_id AND cdp_id IS NOT NULL
    GROUP BY cdp_id
    ORDER BY cdp_id
    """,
    example={"tenant_id": "acme"},
    returns={"last_seen_at": "timestamp", "events": "bigint"},
)

IDENTITIES_FOR_VALUES = statement(
    "customers.identities_for_values",
    """
    SELECT id_type, id_value, cdp_id
    FROM {identities}
    WHERE tenant_id = :tenant_id AND id_value IN :values
    ORDER BY id_type, id_value
    """,
    example={"tenant_id": "acme", "values": ["u1", "a2", "c3@example.com", "nobody"]},
)
