from django.db import models


class Lease(models.Model):
    """One holder at a time for a named job (the inbox loader, the orchestrator tick).

    A holder that dies simply lets the lease expire; the next run takes it over."""

    name = models.CharField(max_length=64, unique=True)
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField()
