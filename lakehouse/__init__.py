"""The lakehouse layer: the only code that speaks SQL to customer data."""


def readiness_problem() -> str | None:
    """None when the configured engine answers, else a message naming the setting to fix."""
    from lakehouse.engines import engine_readiness_problem

    return engine_readiness_problem()
