from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "tenancy"
    verbose_name = "Tenants, members and keys"

    def ready(self):
        from django.db.models.signals import post_save

        from tenancy.keycache import _forget_on_revoke
        from tenancy.models import ApiKey, WriteKey

        # A revoked key must stop working here at once, not when its cache entry expires.
        post_save.connect(_forget_on_revoke, sender=WriteKey, dispatch_uid="writekey-revoke-cache")
        post_save.connect(_forget_on_revoke, sender=ApiKey, dispatch_uid="apikey-revoke-cache")
