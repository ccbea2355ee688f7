"""Messaging's operational records: channels, templates and their versions, subscription topics,
and the outbox of deliveries with each attempt."""
from django.db import models


class Channel(models.Model):
    KINDS = [("email", "Email"), ("webhook", "Webhook"), ("sms", "SMS"), ("table", "Table export")]

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=KINDS)
    config = models.JSONField(default=dict, help_text="Settings that are not secret (messaging.channels.<kind> documents them).")
    secret = models.TextField(blank=True, help_text="The secret (SMTP password, signing secret), encrypted (messaging.crypto).")
    previous_secret = models.TextField(blank=True, help_text="The secret before the last rotation, encrypted; still valid until then.")
    secret_headers = models.TextField(blank=True, help_text="A webhook's extra headers (they often carry credentials), encrypted JSON; "
                                                           "config lists their names only.")
    previous_valid_until = models.DateTimeField(null=True, blank=True)
    feedback_signing_key = models.TextField(blank=True, help_text="The key a provider signs its delivery events with (Mailgun's "
                                                                  "webhook signing key, Mandrill's and Postal's webhook key), encrypted.")
    feedback_secret = models.TextField(blank=True, help_text="The basic-auth credential (user:password) a provider's delivery-event "
                                                             "webhook calls with, encrypted; made with the channel.")
    rate_per_second = models.FloatField(default=0, help_text="At most this many sends a second through it (0: no limit).")
    endpoint_rate_per_second = models.FloatField(default=0, help_text="At most this many sends a second to each endpoint it calls "
                                                                      "(a webhook's host; 0: no limit).")
    disabled_reason = models.CharField(max_length=300, blank=True, help_text="Set when the endpoint said it is gone (410).")
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="channel_unique_name")]
        ordering = ["name"]


class Topic(models.Model):
    """A subscription topic (group): marketing messages of it need the customer's consent for
    (channel kind, topic key): granted when opt-in, not denied when opt-out."""
    POLICIES = [("opt_in", "Opt-in"), ("opt_out", "Opt-out")]

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    key = models.SlugField(max_length=100, help_text="The consent purpose it is stored as (newsletter, offers, ...).")
    name = models.CharField(max_length=200)
    channel_kind = models.CharField(max_length=16, choices=Channel.KINDS)
    policy = models.CharField(max_length=8, choices=POLICIES, default="opt_in")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "channel_kind", "key"], name="topic_unique_key")]
        ordering = ["channel_kind", "key"]


class Template(models.Model):
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    channel_kind = models.CharField(max_length=16, choices=Channel.KINDS)
    version = models.IntegerField(default=1)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="template_unique_name")]
        ordering = ["name"]


class TemplateVersion(models.Model):
    """Immutable once written: a send records the version it rendered."""
    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="versions")
    version = models.IntegerField()
    parts = models.JSONField(help_text="Liquid source per part: subject, html, text (email); method, url, headers, body (webhook).")
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["template", "version"], name="template_version_unique")]


class Delivery(models.Model):
    """One message in the outbox, unique per tenant on the caller's idempotency key. `delivery_id`
    is the stable id every attempt carries (Message-ID, webhook-id) for receivers to deduplicate."""
    STATUSES = [(s, s) for s in ("queued", "sending", "retrying", "deferred", "sent", "delivered", "opened", "clicked",
                                 "bounced", "complained", "failed", "skipped", "held", "cancelled")]
    CATEGORIES = [("marketing", "Marketing"), ("transactional", "Transactional")]

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    idempotency_key = models.CharField(max_length=300)
    delivery_id = models.CharField(max_length=40, unique=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="deliveries")
    template_version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="+")
    cdp_id = models.CharField(max_length=64, help_text="The customer; empty for a seed (an internal address outside consent and caps).")
    address = models.CharField(max_length=320, blank=True, help_text="The address to send to, fixed by the caller (a campaign's "
                                                                      "deduplicated snapshot, a seed); empty: the customer's at send time.")
    category = models.CharField(max_length=16, choices=CATEGORIES, default="marketing")
    topic = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=200, help_text="Who asked: test-send, journey:<id>, campaign:<id>, api.")
    variables = models.JSONField(default=dict, help_text="The caller's variables (journey or campaign, the triggering event).")
    status = models.CharField(max_length=16, choices=STATUSES, default="queued")
    reason = models.CharField(max_length=500, blank=True, help_text="Why it was skipped, deferred, retried or failed.")
    attempts = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField(help_text="When the drain may take it (now, a retry's time, the end of quiet hours).")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Not sent after this (a campaign's maximum lateness): "
                                                                        "skipped as too late instead.")
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=64, blank=True)
    response = models.JSONField(default=dict, blank=True, help_text="The last answer: status, headers kept, body up to a limit.")
    provider_id = models.CharField(max_length=200, blank=True, help_text="The provider's id for the message (an ESP's message id, "
                                                                         "Twilio's SID): how its delivery events find the delivery.")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "idempotency_key"], name="delivery_unique_key")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
                   models.Index(fields=["tenant", "cdp_id", "created_at"], name="delivery_customer"),
                   models.Index(fields=["channel", "provider_id"], name="delivery_provider_id")]
        ordering = ["-id"]


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.IntegerField()
    started_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, help_text="sent, retry, failed")
    status_code = models.IntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.IntegerField(default=0)

    class Meta:
        ordering = ["number"]


class SendPolicy(models.Model):
    """A tenant's marketing limits, decided at send time: frequency caps and quiet hours.
    Transactional messages are exempt from both."""
    DEFER_OR_DROP = [("defer", "Defer to the end of quiet hours"), ("drop", "Drop")]

    tenant = models.OneToOneField("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    caps = models.JSONField(default=list, help_text='[{"channel_kind": "email", "max": 3, "days": 7}]: marketing messages a customer '
                                                    "receives per channel kind in a rolling window.")
    quiet_days = models.JSONField(default=list, help_text="Days of the week quiet hours apply (0 Monday .. 6 Sunday); empty: none.")
    quiet_start = models.TimeField(null=True, blank=True, help_text="Local time quiet hours start (they may run past midnight).")
    quiet_end = models.TimeField(null=True, blank=True)
    quiet_policy = models.CharField(max_length=8, choices=DEFER_OR_DROP, default="defer")
    control_percent = models.FloatField(default=0, help_text="The global control group: this share of customers (a stable hash of "
                                                             "tenant and customer) receives no marketing message from journeys or "
                                                             "campaigns, so their effect can be measured against everyone else.")
    updated_by = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class DeliveryEvent(models.Model):
    """A delivery's status change, written in the same commit as the change and then exported to
    the customer's events in the lakehouse (`Message Sent`, ...): an outbox, so a crash between the
    two loses no event and exports none twice (the event's message id is this row's)."""
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="+")
    tenant_id = models.BigIntegerField()
    cdp_id = models.CharField(max_length=64)
    name = models.CharField(max_length=64)
    at = models.DateTimeField()
    properties = models.JSONField(default=dict)
    exported = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["exported", "id"], name="delivery_event_pending")]


class Watermark(models.Model):
    """How far a sweep of messaging has read another app's log (erasures)."""
    name = models.CharField(max_length=100, unique=True)
    at = models.DateTimeField()


class SuppressedAddress(models.Model):
    """An address no message of a channel kind goes to: an email that hard-bounced or whose owner
    complained (a provider's feedback), or one an operator added. Keeps the customer's id so
    erasure removes it with the rest of what messaging holds about them."""
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    channel_kind = models.CharField(max_length=16, choices=Channel.KINDS)
    address = models.CharField(max_length=320)
    reason = models.CharField(max_length=300)
    cdp_id = models.CharField(max_length=64, blank=True)
    delivery_id = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "channel_kind", "address"], name="suppressed_address_unique")]
        ordering = ["-created_at"]
