from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Operations"

    def ready(self):
        from operations.schedules import schedules_ensure_after_migrate

        # post_migrate is only sent for apps with models; django_q owns the Schedule table.
        post_migrate.connect(schedules_ensure_after_migrate, dispatch_uid="cdp-schedules-ensure")
