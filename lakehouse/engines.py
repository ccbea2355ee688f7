from django.conf import settings


def engine_readiness_problem() -> str | None:
    if settings.CDP_LAKEHOUSE in ("", "default"):
        return None
    return f"CDP_LAKEHOUSE={settings.CDP_LAKEHOUSE!r} is not a supported engine yet"
