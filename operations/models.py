from django.db import models


class Lease(models.Model):
    """One holder at a time for a named job (the inbox loader, the orchestrator tick).

    A holder that dies simply lets the lease expire; the next run takes it over."""

    name = models.CharField(max_length=64, unique=True)
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField()


class Wakeup(models.Model):
    """Work that wants to run early when something happens (the journey orchestrator, when events
    load and an event-driven journey is live): who registered, for what, and when it was last
    woken. The app that registers names its task by dotted path, so the app that fires it needs
    no import of it (information flows up through the queue, not through imports)."""

    name = models.CharField(max_length=64, unique=True)
    topic = models.CharField(max_length=32, help_text="What wakes it: events (a load put calls in the lakehouse).")
    func = models.CharField(max_length=200, help_text="The task to queue (a dotted path to a tasks.py function).")
    wanted = models.BooleanField(default=False)
    woken_at = models.DateTimeField(null=True, blank=True)
