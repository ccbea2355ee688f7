"""The lakehouse layer: the only code that speaks SQL to customer data.

    from lakehouse import get_engine
    rows = get_engine().execute(customers.sql.CUSTOMER_PROFILE, {"tenant_id": ..., "cdp_id": ...}).dicts()
"""


def get_engine():
    from lakehouse.engines import get_engine as _get_engine

    return _get_engine()


def readiness_problem() -> str | None:
    """None when the configured engine answers, else a message naming the setting to fix."""
    from lakehouse.engines import engine_readiness_problem

    return engine_readiness_problem()
