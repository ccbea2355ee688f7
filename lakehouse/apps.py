from django.apps import AppConfig


class LakehouseConfig(AppConfig):
    name = "lakehouse"
