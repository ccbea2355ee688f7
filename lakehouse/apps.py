from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.module_loading import autodiscover_modules


def _sqlite_functions(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        from lakehouse.functions import register_sqlite

        register_sqlite(connection.connection)


class LakehouseConfig(AppConfig):
    name = "lakehouse"
    verbose_name = "Lakehouse (customer data)"

    def ready(self):
        # Each domain app declares its tables in <app>/tables.py and statements in <app>/sql.py.
        autodiscover_modules("tables", "sql")
        from lakehouse import checks  # noqa: F401  (registers the start-up check)

        # SQLite lacks a function the statements use ({bucket(...)}): defined on each connection.
        connection_created.connect(_sqlite_functions, dispatch_uid="lakehouse-sqlite-functions")
