"""Named statements over customer data. Timestamps arrive as parameters (Python does the arithmetic)."""
from datetime import UTC, datetime

from lakehouse.statements import deletion, statement

SINCE = datetime(2026, 1, 1, tzinfo=UTC)

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
    example={"tenant_id": "acme", "cdp_id": "c1", "before": datetime(2026, 3, 1, tzinfo=UTC), "limit": 5},
    returns={"event_time": "timestamp"},
)

# A profile in one statement: identities, traits and consents as rows tagged by `part` (one round
# trip instead of three, which is most of a profile read on a SQL warehouse).
CUSTOMER_PROFILE = statement(
    "customers.profile",
    """
    SELECT 'identity' AS part, id_type AS name, id_value AS value, {null(double)} AS number_value,
           first_seen_at AS at, last_seen_at AS until, {null(string)} AS source, {null(boolean)} AS granted, {null(string)} AS kind
    FROM {identities}
    WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id
    UNION ALL
    SELECT 'trait', key, value, number_value, updated_at, {null(timestamp)}, source, {null(boolean)}, value_type
    FROM {traits}
    WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id
    UNION ALL
    SELECT 'consent', channel, purpose, {null(double)}, updated_at, {null(timestamp)}, source, granted, {null(string)}
    FROM {consents}
    WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id
    ORDER BY part, name, value
    """,
    example={"tenant_id": "acme", "cdp_id": "c1"},
    returns={"number_value": "double", "at": "timestamp", "until": "timestamp", "granted": "boolean"},
)

# CUSTOMER_PROFILE for many customers at once (the drain's claimed deliveries), each row led by its customer.
CUSTOMER_PROFILES = statement(
    "customers.profiles",
    """
    SELECT cdp_id, 'identity' AS part, id_type AS name, id_value AS value, {null(double)} AS number_value,
           first_seen_at AS at, last_seen_at AS until, {null(string)} AS source, {null(boolean)} AS granted, {null(string)} AS kind
    FROM {identities}
    WHERE tenant_id = :tenant_id AND cdp_id IN :cdp_ids
    UNION ALL
    SELECT cdp_id, 'trait', key, value, number_value, updated_at, {null(timestamp)}, source, {null(boolean)}, value_type
    FROM {traits}
    WHERE tenant_id = :tenant_id AND cdp_id IN :cdp_ids
    UNION ALL
    SELECT cdp_id, 'consent', channel, purpose, {null(double)}, updated_at, {null(timestamp)}, source, granted, {null(string)}
    FROM {consents}
    WHERE tenant_id = :tenant_id AND cdp_id IN :cdp_ids
    ORDER BY cdp_id, part, name, value
    """,
    example={"tenant_id": "acme", "cdp_ids": ["c1", "c2"]},
    returns={"number_value": "double", "at": "timestamp", "until": "timestamp", "granted": "boolean"},
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

# The customers list: all, or those matching a search (`:pattern`, any identifier or trait value
# contains it; '' for all) and a trait (`:key` = `:value`; '' for any), sorted by `:sort`:
# first_seen (newest first), last_seen (most recently active first) or name (A to Z, the nameless
# last). `!` escapes LIKE wildcards in the pattern; one escape character every engine reads alike.
_CUSTOMER_FILTER = """
    i.tenant_id = :tenant_id
    AND (:pattern = ''
         OR i.cdp_id IN (SELECT cdp_id FROM {identities} WHERE tenant_id = :tenant_id AND LOWER(id_value) LIKE :pattern ESCAPE '!')
         OR i.cdp_id IN (SELECT cdp_id FROM {traits} WHERE tenant_id = :tenant_id AND LOWER(value) LIKE :pattern ESCAPE '!'))
    AND (:key = '' OR i.cdp_id IN (SELECT cdp_id FROM {traits} WHERE tenant_id = :tenant_id AND key = :key AND value = :value))
"""
_FILTER_EXAMPLE = {"tenant_id": "acme", "pattern": "", "key": "", "value": ""}

CUSTOMER_PAGE = statement(
    "customers.page",
    """
    SELECT i.cdp_id, MIN(i.first_seen_at) AS first_seen_at, MAX(i.last_seen_at) AS last_seen_at,
           COUNT(*) AS identifiers, MAX(n.value) AS sort_name
    FROM {identities} AS i
    LEFT JOIN {traits} AS n ON n.tenant_id = :tenant_id AND n.cdp_id = i.cdp_id AND n.key = 'name'
    WHERE """ + _CUSTOMER_FILTER + """
    GROUP BY i.cdp_id
    ORDER BY CASE WHEN :sort = 'name' THEN LOWER(MAX(n.value)) END ASC NULLS LAST,
             CASE WHEN :sort = 'last_seen' THEN MAX(i.last_seen_at) END DESC,
             MIN(i.first_seen_at) DESC, i.cdp_id
    LIMIT :limit OFFSET :offset
    """,
    example={**_FILTER_EXAMPLE, "sort": "name", "limit": 3, "offset": 1},
    returns={"first_seen_at": "timestamp", "last_seen_at": "timestamp", "identifiers": "bigint"},
)

CUSTOMER_COUNT = statement(
    "customers.count",
    """
    SELECT i.tenant_id, COUNT(DISTINCT i.cdp_id) AS customers
    FROM {identities} AS i
    WHERE """ + _CUSTOMER_FILTER + """
    GROUP BY i.tenant_id
    """,
    example={**_FILTER_EXAMPLE, "key": "plan", "value": "pro"},
    returns={"customers": "bigint"},
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
             "before": datetime(2027, 1, 1, tzinfo=UTC), "limit": 5, "offset": 1},
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

# Events per UTC hour since a time, for the home dashboard (the caller folds hours into the
# tenant's days); `recent` counts those at or after :recent_since, so "the last 24 hours" is exact
# though its first hour is partly in the window.
EVENT_HOURS = statement(
    "customers.event_hours",
    """
    SELECT {utc_hour(event_time)} AS hour, COUNT(*) AS events,
           SUM(CASE WHEN event_time >= :recent_since THEN 1 ELSE 0 END) AS recent
    FROM {events}
    WHERE tenant_id = :tenant_id AND event_time >= :since AND event_time < :until
    GROUP BY {utc_hour(event_time)}
    ORDER BY hour
    """,
    example={"tenant_id": "acme", "since": SINCE, "recent_since": datetime(2026, 3, 1, tzinfo=UTC), "until": datetime(2027, 1, 1, tzinfo=UTC)},
    returns={"events": "bigint", "recent": "bigint"},
)

# A trait's values across customers (a computed trait's distribution): how many hold it, and the
# range of its numbers; then the numbers in equal-width buckets from :low, or the commonest values.
# An unset trait keeps its row with no value and no type (customers.traits.is_unset): not counted.
TRAIT_STATS = statement(
    "customers.trait_stats",
    """
    SELECT key, COUNT(*) AS customers, COUNT(number_value) AS numbers, MIN(number_value) AS low,
           MAX(number_value) AS high, AVG(number_value) AS mean, COUNT(time_value) AS times, MAX(time_value) AS latest
    FROM {traits}
    WHERE tenant_id = :tenant_id AND key = :key AND (value IS NOT NULL OR value_type IS NOT NULL)
    GROUP BY key
    """,
    example={"tenant_id": "acme", "key": "orders"},
    returns={"customers": "bigint", "numbers": "bigint", "low": "double", "high": "double", "mean": "double", "times": "bigint",
             "latest": "timestamp"},
)

TRAIT_BUCKETS = statement(
    "customers.trait_buckets",
    """
    SELECT bucket, COUNT(*) AS customers
    FROM (
        SELECT CASE WHEN number_value >= :high THEN :last_bucket
                    ELSE CAST(FLOOR((number_value - :low) / :width) AS BIGINT) END AS bucket
        FROM {traits}
        WHERE tenant_id = :tenant_id AND key = :key AND number_value IS NOT NULL AND number_value >= :low
    ) AS b
    GROUP BY bucket
    ORDER BY bucket
    """,
    example={"tenant_id": "acme", "key": "orders", "low": 1.0, "high": 4.5, "width": 1.0, "last_bucket": 3},
    returns={"bucket": "bigint", "customers": "bigint"},
)

TRAIT_TIME_HOURS = statement(
    "customers.trait_time_hours",
    """
    SELECT {utc_hour(time_value)} AS hour, COUNT(*) AS customers
    FROM {traits}
    WHERE tenant_id = :tenant_id AND key = :key AND time_value >= :since
    GROUP BY {utc_hour(time_value)}
    ORDER BY hour
    """,
    example={"tenant_id": "acme", "key": "renews_at", "since": SINCE},
    returns={"customers": "bigint"},
)

TRAIT_TOP_VALUES = statement(
    "customers.trait_top_values",
    """
    SELECT value, COUNT(*) AS customers
    FROM {traits}
    WHERE tenant_id = :tenant_id AND key = :key AND value IS NOT NULL
    GROUP BY value
    ORDER BY customers DESC, value
    LIMIT :limit
    """,
    example={"tenant_id": "acme", "key": "plan", "limit": 10},
    returns={"customers": "bigint"},
)

EVENT_EXISTS = statement(
    "customers.event_exists",
    """
    SELECT message_id FROM {events} WHERE tenant_id = :tenant_id AND message_id = :message_id
    """,
    example={"tenant_id": "acme", "message_id": "acme-c2-1"},
)

EVENTS_OF_CUSTOMERS = statement(
    "customers.events_of_customers",
    """
    SELECT tenant_id, message_id, type, event, cdp_id, user_id, anonymous_id, properties, traits, context,
           event_time, sent_at, received_at, loaded_at, group_id
    FROM {events}
    WHERE tenant_id = :tenant_id AND cdp_id IN :cdp_ids
    ORDER BY event_time, message_id
    """,
    example={"tenant_id": "acme", "cdp_ids": ["c1", "c2"]},
    returns={"event_time": "timestamp", "sent_at": "timestamp", "received_at": "timestamp", "loaded_at": "timestamp"},
)

CONSENTS_OF_CUSTOMERS = statement(
    "customers.consents_of_customers",
    """
    SELECT tenant_id, cdp_id, channel, purpose, granted, updated_at, source
    FROM {consents}
    WHERE tenant_id = :tenant_id AND cdp_id IN :cdp_ids
    ORDER BY cdp_id, channel, purpose
    """,
    example={"tenant_id": "acme", "cdp_ids": ["c1", "c2"]},
    returns={"granted": "boolean", "updated_at": "timestamp"},
)


OPERATOR_TRAITS_OF_CUSTOMERS = statement(
    "customers.operator_traits_of_customers",
    """
    SELECT tenant_id, cdp_id, key, value, number_value, updated_at, source, value_type, time_value
    FROM {traits}
    WHERE tenant_id = :tenant_id AND cdp_id IN :cdp_ids AND source IN ('api', 'console')
    ORDER BY cdp_id, key
    """,
    example={"tenant_id": "acme", "cdp_ids": ["c1", "c2"]},
    returns={"number_value": "double", "updated_at": "timestamp", "time_value": "timestamp"},
)

ORDINARY_TRAIT_KEYS = statement(
    "customers.ordinary_trait_keys",
    """
    SELECT key, COUNT(*) AS customers
    FROM {traits}
    WHERE tenant_id = :tenant_id AND key IN :keys AND (source IS NULL OR source <> 'computed')
    GROUP BY key
    ORDER BY key
    """,
    example={"tenant_id": "acme", "keys": ["tier", "email", "nothing"]},
    returns={"customers": "bigint"},
)

PROFILE_CHANGES_OF_CUSTOMER = statement(
    "customers.profile_changes_of_customer",
    """
    SELECT change_id, key, value, action, source, actor, event_time, changed_at
    FROM {profile_changes}
    WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id
    ORDER BY changed_at DESC, change_id
    LIMIT :limit OFFSET :offset
    """,
    example={"tenant_id": "acme", "cdp_id": "c1", "limit": 10, "offset": 0},
    returns={"event_time": "timestamp", "changed_at": "timestamp"},
)

# The profile change log as the apps above read it: from their own watermark (changed_at, change_id),
# in that order, a page at a time.
PROFILE_CHANGES_SINCE = statement(
    "customers.profile_changes_since",
    """
    SELECT change_id, cdp_id, key, value, action, source, actor, event_time, changed_at
    FROM {profile_changes}
    WHERE tenant_id = :tenant_id AND (changed_at > :after_at OR (changed_at = :after_at AND change_id > :after_id))
    ORDER BY changed_at, change_id
    LIMIT :limit
    """,
    example={"tenant_id": "acme", "after_at": datetime(2026, 2, 1, 13, 5, tzinfo=UTC), "after_id": "acme-ch1", "limit": 3},
    returns={"event_time": "timestamp", "changed_at": "timestamp"},
)

LOADED_MESSAGE_IDS = statement(
    "customers.loaded_message_ids",
    """
    SELECT message_id FROM {events} WHERE tenant_id = :tenant_id AND message_id IN :message_ids ORDER BY message_id
    """,
    example={"tenant_id": "acme", "message_ids": ["acme-c2-1", "acme-c3-0", "nothing"]},
)

# --- named deletes ------------------------------------------------------------------------------

DELETE_DERIVED_TRAITS = deletion(
    "customers.delete_derived_traits", "traits",
    # Traits rebuilt from events when customers merge or split: not operators' edits, not computed
    # ones (recomputed after), and unsets of operators' keys stay.
    "tenant_id = :tenant_id AND cdp_id IN :cdp_ids AND (source IS NULL OR source NOT IN ('api', 'console'))",
    example={"tenant_id": "acme", "cdp_ids": ["c1", "c2"]},
)

DELETE_TRAITS_OF_CUSTOMERS = deletion(
    "customers.delete_traits_of_customers", "traits",
    "tenant_id = :tenant_id AND cdp_id IN :cdp_ids",
    example={"tenant_id": "acme", "cdp_ids": ["c3"]},
)

DELETE_CONSENTS_OF_CUSTOMERS = deletion(
    "customers.delete_consents_of_customers", "consents",
    "tenant_id = :tenant_id AND cdp_id IN :cdp_ids",
    example={"tenant_id": "acme", "cdp_ids": ["c1", "c2"]},
)



# What a tenant has sent, offered by the segment builder: event names, trait keys, and the
# properties of recent calls.
EVENT_NAMES = statement(
    "customers.event_names",
    """
    SELECT event, COUNT(*) AS calls
    FROM {events}
    WHERE tenant_id = :tenant_id AND event IS NOT NULL
    GROUP BY event
    ORDER BY calls DESC, event
    LIMIT :limit
    """,
    example={"tenant_id": "acme", "limit": 50},
    returns={"calls": "bigint"},
)

TRAIT_KEYS = statement(
    "customers.trait_keys",
    """
    SELECT key, COUNT(*) AS customers
    FROM {traits}
    WHERE tenant_id = :tenant_id AND (value IS NOT NULL OR value_type IS NOT NULL)
    GROUP BY key
    ORDER BY customers DESC, key
    LIMIT :limit
    """,
    example={"tenant_id": "acme", "limit": 50},
    returns={"customers": "bigint"},
)

RECENT_PROPERTIES = statement(
    "customers.recent_properties",
    """
    SELECT event, properties
    FROM {events}
    WHERE tenant_id = :tenant_id AND event IS NOT NULL AND properties IS NOT NULL
    ORDER BY event_time DESC, message_id
    LIMIT :limit
    """,
    example={"tenant_id": "acme", "limit": 50},
)


# The computed-trait statements are built per definition; registering their shapes here puts
# them through the same cross-engine and Databricks checks as the statements above.
from customers import computed  # noqa: E402,F401

# Which of these event names the tenant has sent (journeys warn about waits on unseen events).
EVENT_NAMES_AMONG = statement(
    "customers.event_names_among",
    """
    SELECT event, COUNT(*) AS calls
    FROM {events}
    WHERE tenant_id = :tenant_id AND event IN :names
    GROUP BY event
    ORDER BY event
    """,
    example={"tenant_id": "acme", "names": ["Order Completed", "Nothing"]},
    returns={"calls": "bigint"},
)

# Some traits of many customers at once (journeys' time zones and date traits for a batch).
TRAITS_OF_CUSTOMERS = statement(
    "customers.traits_of_customers",
    """
    SELECT cdp_id, key, value, time_value
    FROM {traits}
    WHERE tenant_id = :tenant_id AND cdp_id IN :cdp_ids AND key IN :keys AND (value_type IS NULL OR value_type <> '')
    """,
    example={"tenant_id": "acme", "cdp_ids": ["c1", "c2"], "keys": ["plan", "renews_at", "timezone"]},
    returns={"time_value": "timestamp"},
)
