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

# A profile in one statement: identities, traits and consents as rows tagged by `part` (one round
# trip instead of three, which is most of a profile read on a SQL warehouse).
CUSTOMER_PROFILE = statement(
    "customers.profile",
    """
    SELECT 'identity' AS part, id_type AS name, id_value AS value, {null(double)} AS number_value,
           first_seen_at AS at, last_seen_at AS until, {null(string)} AS source, {null(boolean)} AS granted
    FROM {identities}
    WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id
    UNION ALL
    SELECT 'trait', key, value, number_value, updated_at, {null(timestamp)}, source, {null(boolean)}
    FROM {traits}
    WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id
    UNION ALL
    SELECT 'consent', channel, purpose, {null(double)}, updated_at, {null(timestamp)}, source, granted
    FROM {consents}
    WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id
    ORDER BY part, name, value
    """,
    example={"tenant_id": "acme", "cdp_id": "c1"},
    returns={"number_value": "double", "at": "timestamp", "until": "timestamp", "granted": "boolean"},
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

CUSTOMER_PAGE = statement(
    "customers.page",
    """
    SELECT cdp_id, MIN(first_seen_at) AS first_seen_at, MAX(last_seen_at) AS last_seen_at, COUNT(*) AS identifiers
    FROM {identities}
    WHERE tenant_id = :tenant_id
    GROUP BY cdp_id
    ORDER BY first_seen_at DESC, cdp_id
    LIMIT :limit OFFSET :offset
    """,
    example={"tenant_id": "acme", "limit": 3, "offset": 1},
    returns={"first_seen_at": "timestamp", "last_seen_at": "timestamp", "identifiers": "bigint"},
)

# `!` escapes LIKE wildcards in the pattern; one escape character every engine reads the same way.
CUSTOMER_SEARCH = statement(
    "customers.search",
    """
    SELECT m.cdp_id, MIN(i.first_seen_at) AS first_seen_at, MAX(i.last_seen_at) AS last_seen_at, COUNT(DISTINCT i.id_value) AS identifiers
    FROM (
        SELECT cdp_id FROM {identities} WHERE tenant_id = :tenant_id AND LOWER(id_value) LIKE :pattern ESCAPE '!'
        UNION
        SELECT cdp_id FROM {traits} WHERE tenant_id = :tenant_id AND LOWER(value) LIKE :pattern ESCAPE '!'
    ) AS m
    JOIN {identities} AS i ON i.tenant_id = :tenant_id AND i.cdp_id = m.cdp_id
    GROUP BY m.cdp_id
    ORDER BY first_seen_at DESC, m.cdp_id
    LIMIT :limit OFFSET :offset
    """,
    example={"tenant_id": "acme", "pattern": "%c2%", "limit": 10, "offset": 0},
    returns={"first_seen_at": "timestamp", "last_seen_at": "timestamp", "identifiers": "bigint"},
)

CUSTOMERS_WITH_TRAIT_PAGE = statement(
    "customers.with_trait_page",
    """
    SELECT t.cdp_id, MIN(i.first_seen_at) AS first_seen_at, MAX(i.last_seen_at) AS last_seen_at, COUNT(*) AS identifiers
    FROM {traits} AS t
    JOIN {identities} AS i ON i.tenant_id = :tenant_id AND i.cdp_id = t.cdp_id
    WHERE t.tenant_id = :tenant_id AND t.key = :key AND t.value = :value
    GROUP BY t.cdp_id
    ORDER BY first_seen_at DESC, t.cdp_id
    LIMIT :limit OFFSET :offset
    """,
    example={"tenant_id": "acme", "key": "plan", "value": "pro", "limit": 10, "offset": 0},
    returns={"first_seen_at": "timestamp", "last_seen_at": "timestamp", "identifiers": "bigint"},
)

SUMMARY_TRAITS = statement(
    "customers.summary_traits",
    """
    SELECT cdp_id, key, value
    FROM {traits}
    WHERE tenant_id = :tenant_id AND cdp_id IN :cdp_ids AND key IN ('email', 'name', 'first_name', 'last_name', 'plan')
    ORDER BY cdp_id, key
    """,
    example={"tenant_id": "acme", "cdp_ids": ["c1", "c2"]},
)

# '' means "any" for type and event: an untyped NULL parameter is not portable (PostgreSQL).
CUSTOMER_EVENTS = statement(
    "customers.events",
    """
    SELECT message_id, type, event, event_time, received_at, properties, context
    FROM {events}
    WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id
      AND (:type = '' OR type = :type) AND (:event = '' OR event = :event)
      AND event_time >= :since AND event_time < :before
    ORDER BY event_time DESC, message_id DESC
    LIMIT :limit OFFSET :offset
    """,
    example={"tenant_id": "acme", "cdp_id": "c3", "type": "track", "event": "", "since": SINCE,
             "before": datetime(2027, 1, 1, tzinfo=timezone.utc), "limit": 5, "offset": 1},
    returns={"event_time": "timestamp", "received_at": "timestamp"},
)

CUSTOMER_ACTIVITY = statement(
    "customers.activity",
    """
    SELECT event_time, type
    FROM {events}
    WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id AND event_time >= :since
    ORDER BY event_time
    LIMIT :limit
    """,
    example={"tenant_id": "acme", "cdp_id": "c4", "since": SINCE, "limit": 100},
    returns={"event_time": "timestamp"},
)

EVENT_EXISTS = statement(
    "customers.event_exists",
    """
    SELECT message_id FROM {events} WHERE tenant_id = :tenant_id AND message_id = :message_id
    """,
    example={"tenant_id": "acme", "message_id": "acme-c2-1"},
)

# The computed-trait statements are built per definition; registering their shapes here puts
# them through the same cross-engine and Databricks checks as the statements above.
from customers import computed  # noqa: E402,F401
