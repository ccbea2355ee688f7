"""The console's messaging forms: Django's fields refuse what the database would (NUL
characters, overlong names), with a message instead of an error page."""
from __future__ import annotations

import re

from django import forms

KINDS = [("email", "email"), ("webhook", "webhook"), ("sms", "sms"), ("table", "table export")]


class TopicForm(forms.Form):
    name = forms.CharField(max_length=200)
    key = forms.SlugField(max_length=100, help_text="How the consent is stored (its purpose): newsletter, offers, ...")
    channel_kind = forms.ChoiceField(choices=[("email", "email"), ("sms", "sms"), ("webhook", "webhook")], label="Channel")
    policy = forms.ChoiceField(choices=[("opt_in", "Opt-in: only to those who said yes"), ("opt_out", "Opt-out: to all but those who said no")])


class TemplateNewForm(forms.Form):
    name = forms.CharField(max_length=200)
    channel_kind = forms.ChoiceField(choices=KINDS)


class ChannelForm(forms.Form):
    """A channel of one kind, field by field (each kind's form below names its settings); the
    service checks them and answers with the field at fault."""
    kind = ""
    name = forms.CharField(max_length=200)
    secret = forms.CharField(required=False, max_length=4000, strip=False, widget=forms.PasswordInput,
                             help_text="The password, API key or auth token; made for a webhook when empty. Shown never again.")
    rate_per_second = forms.FloatField(required=False, min_value=0, max_value=10_000, label="At most per second",
                                       help_text="The provider's rate limit (empty: as fast as the drain sends).")
    endpoint_rate_per_second = forms.FloatField(required=False, min_value=0, max_value=10_000, label="At most per second to each endpoint",
                                                help_text="For a webhook, each host its templates call; empty: no limit.")
    settings: tuple[str, ...] = ()

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:  # secrets are never shown back: an empty box keeps the one stored
            self.fields["secret"].help_text = "Empty keeps the current one; a new value replaces it."

    @classmethod
    def for_channel(cls, channel, data=None) -> ChannelForm:
        """The edit form of a channel (ChannelInfo): its settings, never its secrets."""
        initial = {"name": channel.name, "rate_per_second": channel.rate_per_second or None,
                   "endpoint_rate_per_second": channel.endpoint_rate_per_second or None,
                   **{k: v for k, v in channel.config.items() if k in cls.base_fields or k == "header_names"}}
        return cls(data, initial=initial, editing=True)

    def config(self) -> dict:
        data = self.cleaned_data
        return {k: data[k] for k in self.settings if data.get(k) not in (None, "")}

    def changes(self) -> dict:
        """What channel_update takes from an edit: settings, name, rate, and a secret only when typed."""
        data = self.cleaned_data
        changes = {"name": data["name"], "config": self.config(), "rate_per_second": data["rate_per_second"] or 0,
                   "endpoint_rate_per_second": data["endpoint_rate_per_second"] or 0}
        return changes | ({"secret": data["secret"]} if data["secret"] else {})


class EmailChannelForm(ChannelForm):
    kind = "email"
    BACKENDS = [("smtp", "SMTP server"), ("file", "Files in the local mailbox (nothing leaves the machine)"),
                ("anymail.backends.postmark.EmailBackend", "Postmark"), ("anymail.backends.sendgrid.EmailBackend", "SendGrid"),
                ("anymail.backends.mailgun.EmailBackend", "Mailgun"), ("anymail.backends.amazon_ses.EmailBackend", "Amazon SES"),
                ("anymail.backends.sparkpost.EmailBackend", "SparkPost"), ("anymail.backends.brevo.EmailBackend", "Brevo"),
                ("anymail.backends.resend.EmailBackend", "Resend")]
    backend = forms.ChoiceField(choices=BACKENDS)
    from_email = forms.CharField(max_length=320)
    reply_to = forms.CharField(required=False, max_length=320)
    host = forms.CharField(required=False, max_length=255)
    port = forms.IntegerField(required=False, min_value=1, max_value=65535)
    username = forms.CharField(required=False, max_length=320)
    security = forms.ChoiceField(choices=[("starttls", "STARTTLS"), ("tls", "TLS"), ("none", "none")], required=False)
    api_url = forms.URLField(required=False, max_length=500, assume_scheme="https", label="API URL", help_text="A provider's other region (Mailgun's EU API).")
    track_opens = forms.BooleanField(required=False, initial=True)
    track_clicks = forms.BooleanField(required=False, initial=True)
    feedback_signing_key = forms.CharField(
        required=False, max_length=4000, strip=True, widget=forms.PasswordInput, label="Event signing key",
        help_text="Mailgun's webhook signing key, Mandrill's or Postal's webhook key: the provider signs its delivery "
                  "events with it, and events not signed with it are refused. Stored encrypted, never shown again.")
    settings = ("backend", "from_email", "reply_to", "host", "port", "username", "security", "api_url")

    @classmethod
    def for_channel(cls, channel, data=None) -> ChannelForm:
        form = super().for_channel(channel, data)
        stored = "One is stored" if channel.has_feedback_signing_key else "None is stored"
        form.fields["feedback_signing_key"].help_text = f"{stored}. Empty keeps it; a new value replaces it."
        return form

    def config(self) -> dict:
        return {**super().config(), "track_opens": self.cleaned_data["track_opens"], "track_clicks": self.cleaned_data["track_clicks"]}

    def changes(self) -> dict:
        key = self.cleaned_data["feedback_signing_key"]
        return super().changes() | ({"feedback_signing_key": key} if key else {})


class WebhookChannelForm(ChannelForm):
    kind = "webhook"
    url = forms.URLField(max_length=2000, assume_scheme="https", label="URL")
    timeout_seconds = forms.FloatField(required=False, min_value=0.5, max_value=60)
    headers = forms.CharField(required=False, max_length=8000, widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Authorization: Bearer ..."}),
                              help_text="Sent with every call, one per line as Name: value; stored encrypted, never shown again.")
    clear_headers = forms.BooleanField(required=False, label="Remove every header")
    settings = ("url", "timeout_seconds")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.editing:
            names = ", ".join(self.initial.get("header_names") or []) or "none"
            self.fields["headers"].help_text = f"Now sent: {names}. Empty keeps them; lines here replace them all (Name: value)."
        else:
            del self.fields["clear_headers"]

    def clean_headers(self) -> dict | None:
        text = self.cleaned_data.get("headers", "")
        if not text.strip():
            return None
        headers = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            name, colon, value = line.partition(":")
            if not colon or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name.strip()):
                raise forms.ValidationError(f"Line {number}: a header is Name: value.")
            headers[name.strip()] = value.strip()
        return headers

    def config(self) -> dict:
        config = super().config()
        if self.cleaned_data.get("clear_headers"):
            config["headers"] = {}
        elif self.cleaned_data.get("headers") is not None:
            config["headers"] = self.cleaned_data["headers"]
        return config


class SmsChannelForm(ChannelForm):
    kind = "sms"
    account_sid = forms.CharField(max_length=64, label="Account SID")
    from_number = forms.CharField(required=False, max_length=20)
    messaging_service_sid = forms.CharField(required=False, max_length=64, label="Messaging service SID")
    base_url = forms.URLField(required=False, max_length=500, assume_scheme="https", label="Base URL", help_text="https://api.twilio.com unless another provider.")
    settings = ("account_sid", "from_number", "messaging_service_sid", "base_url")


class TableChannelForm(ChannelForm):
    kind = "table"
    description = forms.CharField(required=False, max_length=300)
    settings = ("description",)


CHANNEL_FORMS = {form.kind: form for form in (EmailChannelForm, WebhookChannelForm, SmsChannelForm, TableChannelForm)}


class ChannelTestForm(forms.Form):
    template = forms.IntegerField(min_value=1)
    customer = forms.CharField(max_length=300)


WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]
CAP_KINDS = [("", "—"), ("*", "every channel"), ("email", "email"), ("sms", "sms"), ("webhook", "webhook"), ("table", "table export")]


class SendPolicyForm(forms.Form):
    """The tenant's sending rules for marketing messages: frequency caps (a row each; an empty row
    is no cap), quiet hours and the global control group. The service checks them together."""
    quiet_days = forms.TypedMultipleChoiceField(choices=WEEKDAYS, coerce=int, required=False, widget=forms.CheckboxSelectMultiple,
                                                label="Quiet hours on", help_text="No day ticked: no quiet hours.")
    quiet_start = forms.TimeField(required=False, label="From (customer's local time)", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    quiet_end = forms.TimeField(required=False, label="Until", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                                help_text="It may run past midnight: 21:00 to 08:00.")
    quiet_policy = forms.ChoiceField(choices=[("defer", "Defer to the end of quiet hours"), ("drop", "Drop the message")],
                                     label="A message due in quiet hours is")
    control_percent = forms.FloatField(min_value=0, max_value=50, label="Global control group (%)",
                                       help_text="A stable share of customers who get no marketing message from journeys or "
                                                 "campaigns, so their effect can be measured against everyone else.")
    cap_rows = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=20)

    def __init__(self, *args, rows: int = 3, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cap_rows"].initial = rows
        for n in range(rows):
            self.fields[f"cap_{n}_kind"] = forms.ChoiceField(choices=CAP_KINDS, required=False, label="Channel")
            self.fields[f"cap_{n}_max"] = forms.IntegerField(required=False, min_value=0, max_value=10_000, label="At most")
            self.fields[f"cap_{n}_days"] = forms.FloatField(required=False, min_value=0.01, max_value=366, label="messages in (days)")
        self.rows = rows

    @classmethod
    def of(cls, policy, data=None) -> SendPolicyForm:
        """The form for `policy` (initial values), or bound to `data` with the rows it was drawn with."""
        if data is not None:
            try:
                rows = min(max(int(data.get("cap_rows", 3)), 1), 20)
            except (TypeError, ValueError):
                rows = 3
            return cls(data, rows=rows)
        caps = policy.caps or []
        initial = {"quiet_days": policy.quiet_days, "quiet_start": policy.quiet_start, "quiet_end": policy.quiet_end,
                   "quiet_policy": policy.quiet_policy, "control_percent": policy.control_percent}
        for n, cap in enumerate(caps):
            initial |= {f"cap_{n}_kind": cap["channel_kind"], f"cap_{n}_max": cap["max"], f"cap_{n}_days": cap["days"]}
        return cls(initial=initial, rows=max(3, len(caps) + 1))

    def cap_rows_fields(self) -> list[tuple]:
        return [(self[f"cap_{n}_kind"], self[f"cap_{n}_max"], self[f"cap_{n}_days"]) for n in range(self.rows)]

    def clean(self):
        data = super().clean()
        for n in range(self.rows):
            kind, most, days = data.get(f"cap_{n}_kind"), data.get(f"cap_{n}_max"), data.get(f"cap_{n}_days")
            if kind and (most is None or days is None):
                self.add_error(f"cap_{n}_max", f"Cap {n + 1}: give how many messages in how many days.")
        return data

    def caps(self) -> list[dict]:
        data = self.cleaned_data
        return [{"channel_kind": data[f"cap_{n}_kind"], "max": data[f"cap_{n}_max"], "days": data[f"cap_{n}_days"]}
                for n in range(self.rows) if data.get(f"cap_{n}_kind")]
