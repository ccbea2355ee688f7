from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "journeys"

    def ready(self):
        from journeys import checks  # noqa: F401  (registers the start-up check)
