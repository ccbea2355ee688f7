"""Campaigns, their sends (runs) and each run's audience snapshot (recipients), in the operational
database beside messaging's outbox: a pump moves recipients into the outbox and marks them in
one transaction, which is what lets a killed send resume without sending anyone twice."""
from django.db import models


class Campaign(models.Model):
    STATUSES = [(s, s.replace("_", " ")) for s in ("draft", "awaiting_approval", "scheduled", "running", "paused", "completed",
                                                   "cancelled")]
    EDITABLE = ("draft", "awaiting_approval")

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=STATUSES, default="draft")
    status_reason = models.CharField(max_length=500, blank=True, help_text="Why it is paused, awaiting approval or cancelled.")
    definition = models.JSONField(help_text="campaigns.definition.Definition")
    next_run_at = models.DateTimeField(null=True, blank=True, help_text="When the next send starts (scheduled campaigns).")
    approval_requested_by = models.CharField(max_length=200, blank=True)
    approved_by = models.CharField(max_length=200, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    reachable_at_approval = models.IntegerField(null=True, blank=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="campaign_unique_name")]
        indexes = [models.Index(fields=["status", "next_run_at"], name="campaign_due")]
        ordering = ["-id"]


class Run(models.Model):
    """One send of a campaign (a recurring campaign has one per occurrence): the moment its
    audience was taken, its phase and, with winner selection, the decision."""
    PHASES = [(p, p) for p in ("sending", "testing", "completed", "cancelled")]

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="runs")
    number = models.IntegerField()
    phase = models.CharField(max_length=16, choices=PHASES, default="sending")
    scheduled_for = models.DateTimeField(help_text="The occurrence it sends (the schedule's moment).")
    started_at = models.DateTimeField()
    test_ends_at = models.DateTimeField(null=True, blank=True, help_text="When the winner is picked (winner selection).")
    winner = models.CharField(max_length=20, blank=True)
    decision = models.JSONField(default=dict, blank=True, help_text="The winner's rule, figures and time.")
    completed_at = models.DateTimeField(null=True, blank=True)
    definition = models.JSONField(help_text="The definition it was sent with (a later edit of a recurring campaign does not change it).")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "number"], name="campaign_run_unique")]
        ordering = ["-number"]


class Recipient(models.Model):
    """A customer (or seed address) of a run's snapshot: their group (a variant, the holdout, the
    control group, a duplicate of another's address) and when and whether their message went."""
    STATUSES = [(s, s) for s in ("pending", "waiting", "queued", "late", "cancelled", "none")]

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="recipients")
    tenant_id = models.BigIntegerField()
    cdp_id = models.CharField(max_length=64, help_text="Empty for a seed.")
    address = models.CharField(max_length=320, blank=True)
    group = models.CharField(max_length=20, help_text="A variant's key, holdout, control or duplicate; '' while a winner is awaited.")
    seed = models.BooleanField(default=False)
    test = models.BooleanField(default=False, help_text="In the winner test share.")
    send_at = models.DateTimeField()
    zone = models.CharField(max_length=64, blank=True, default="",
                            help_text="The customer's time zone when the snapshot needed it (local-time sends, quiet hours); '' otherwise.")
    status = models.CharField(max_length=16, choices=STATUSES, default="pending",
                              help_text="pending (to queue), waiting (for the winner), queued (in the outbox), late (dropped past "
                                        "the maximum lateness), cancelled, none (holdout, control, duplicate: nothing to send).")
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["run", "status", "send_at"], name="campaign_recipient_due"),
                   models.Index(fields=["tenant_id", "cdp_id"], name="campaign_recipient_customer")]


class CampaignPolicy(models.Model):
    """A tenant's approval rule: campaigns reaching more than `approval_threshold` customers, or
    every customer, need a second admin's approval before they are scheduled."""
    tenant = models.OneToOneField("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    approval_threshold = models.IntegerField(default=10_000)
    updated_by = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class Watermark(models.Model):
    """How far a sweep of campaigns has read another app's log (erasures)."""
    name = models.CharField(max_length=100, unique=True)
    at = models.DateTimeField()
