from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class LakehouseConfig(AppConfig):
    name = "lakehouse"
    verbose_name = "Lakehouse (customer data)"

    def ready(self):
        # Each domain app declares its tables in <app>/tables.py and statements in <app>/sql.py.
        autodiscover_modules("tables", "sql")
        from lakehouse import checks  # noqa: F401  (registers the start-up check)
