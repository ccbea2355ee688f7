"""Start-up check: a malformed CDP_LAKEHOUSE is reported before anything runs."""
from django.conf import settings
from django.core.checks import Error, register

from lakehouse.config import parse_lakehouse_url
from lakehouse.errors import ConfigurationError


@register()
def lakehouse_setting(app_configs, **kwargs):
    try:
        parse_lakehouse_url(settings.CDP_LAKEHOUSE)
    except ConfigurationError as exc:
        return [Error(str(exc), id="lakehouse.E001", hint="Set CDP_LAKEHOUSE to default, spark://local[2] or databricks://...")]
    return []
