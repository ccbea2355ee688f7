"""Journeys' operational records: journeys and their versions, the instances advancing through
them with every step taken, the orchestrator's ticks and the watermarks it reads the change logs
from.

Instances live in the operational database, beside messaging's outbox, on purpose: a tick's
round moves instances, records their steps and queues their sends in one transaction, so a tick
killed at any point leaves either all of a round or none of it (Delta has no transaction across
tables). They are working state read and written by key every few minutes (the OLTP side:
SQLite, PostgreSQL, Lakebase); what the tick reads of customers (segment changes, events,
traits) it reads from the lakehouse in set-based statements.
"""
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class Journey(models.Model):
    STATUSES = [("draft", "Draft"), ("active", "Active"), ("paused", "Paused"), ("archived", "Archived")]

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default="draft")
    version = models.IntegerField(default=1, help_text="The newest version (the draft being edited, or the live one).")
    live_version = models.IntegerField(null=True, blank=True, help_text="The published version new entrants follow.")
    live_since = models.DateTimeField(null=True, blank=True, help_text="When it was first published: entries before do not count.")
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="journey_unique_name")]
        ordering = ["name"]


class JourneyVersion(models.Model):
    """A definition (journeys.graph); immutable once `published_at` is set."""
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="versions")
    version = models.IntegerField()
    definition = models.JSONField()
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.CharField(max_length=200, blank=True)
    migration = models.JSONField(default=dict, blank=True, help_text="What publishing did to instances in flight: policy and counts.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["journey", "version"], name="journey_version_unique")]
        ordering = ["journey", "version"]


class Instance(models.Model):
    """One customer's (and key's) way through a journey."""
    STATUSES = [("active", "Active"), ("holdout", "Holdout"), ("completed", "Completed"), ("exited", "Exited"),
                ("converted", "Converted"), ("failed", "Failed")]
    LIVE = ("active", "holdout")

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="instances")
    version = models.IntegerField()
    instance_id = models.CharField(max_length=40, unique=True)
    cdp_id = models.CharField(max_length=64)
    key = models.CharField(max_length=200, blank=True, help_text="The entry's key value (a cart id) for keyed journeys.")
    entry_ref = models.CharField(max_length=200, help_text="What enrolled it (a message id, a segment change, an enrolment): once per journey.")
    node = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=STATUSES, default="active")
    step = models.IntegerField(default=0, help_text="Steps taken: the occurrence in each send's idempotency key.")
    entered_at = models.DateTimeField()
    arrived_at = models.DateTimeField(help_text="When it reached its node (waits count from here).")
    due_at = models.DateTimeField(null=True, blank=True, help_text="When the orchestrator next looks at it.")
    wait_set = models.BooleanField(default=False, help_text="A wait-until's time is decided (due_at holds it).")
    retries = models.IntegerField(default=0)
    context = models.JSONField(default=dict, help_text="entry: the entry event's properties; vars: journey variables.")
    bucket = models.IntegerField(help_text="0-9999 from a hash of the instance: random splits, stable on replays.")
    holdout = models.BooleanField(default=False, help_text="Set aside at entry: receives nothing, measured on the goal.")
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["journey", "entry_ref"], name="instance_entry_once")]
        indexes = [models.Index(fields=["tenant", "status", "due_at"], name="instance_due"),
                   models.Index(fields=["journey", "cdp_id", "key"], name="instance_customer"),
                   models.Index(fields=["tenant", "cdp_id"], name="instance_tenant_customer")]


class InstanceStep(models.Model):
    """One transition of an instance: from which node, which way, to which, when and why."""
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="steps")
    step = models.IntegerField()
    node = models.CharField(max_length=40, help_text="Where it was ('' for the entry).")
    way = models.CharField(max_length=40, help_text="next, event:0, timeout, way:1, else, skipped, failure, goal, exit, ...")
    to_node = models.CharField(max_length=40, blank=True, help_text="Where it went ('' when it ended).")
    at = models.DateTimeField()
    detail = models.JSONField(default=dict, help_text="Why: the event that resumed it, the delivery queued, the error.")
    tick = models.IntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instance", "step"], name="instance_step_once")]
        ordering = ["instance", "step"]


class Tick(models.Model):
    STATES = [("running", "Running"), ("succeeded", "Succeeded"), ("failed", "Failed")]

    trigger = models.CharField(max_length=40, default="schedule")
    clock = models.DateTimeField(help_text="The time the tick decided at.")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=STATES, default="running")
    counts = models.JSONField(default=dict, help_text="enrolled, resumed, moved, queued, ended; per node under nodes.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]


class Cursor(models.Model):
    """How far the orchestrator has read a change log for a tenant (segments' membership log,
    the events table by load time, identity's merge log; erasures, for every tenant at once)."""
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+", null=True, blank=True)
    source = models.CharField(max_length=20)
    at = models.DateTimeField()
    after_id = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "source"], name="journey_cursor_unique")]


class Simulation(models.Model):
    """A backtest or an audience simulation asked for (journeys.services.backtest): queued, run by
    a worker (it can take a minute), its answer kept so the console and the API can show it later."""
    STATES = [("queued", "Queued"), ("running", "Running"), ("succeeded", "Succeeded"), ("failed", "Failed")]
    MODES = [("backtest", "Backtest"), ("audience", "Audience")]

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="simulations")
    tenant_id = models.BigIntegerField()
    mode = models.CharField(max_length=10, choices=MODES)
    version = models.IntegerField(help_text="The version run.")
    params = models.JSONField(default=dict, encoder=DjangoJSONEncoder,
                              help_text="start and end (backtest); segment_id, sample and days (audience).")
    state = models.CharField(max_length=10, choices=STATES, default="queued")
    result = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    error = models.TextField(blank=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["journey", "-id"], name="journey_simulations")]
