"""Email through a Django email backend: SMTP (with STARTTLS or TLS), a django-anymail provider
(SES, Mailgun, SendGrid, Postmark, ...) by its backend's dotted path, or the file backend `make
run` uses so nothing leaves the machine (the console's Mailbox reads it).

Every message carries `Message-ID: <delivery id@domain>` (the same on a retry), and marketing
messages `List-Unsubscribe` with a signed https link and `List-Unsubscribe-Post:
List-Unsubscribe=One-Click` (RFC 8058). CSS is inlined (css-inline); without a text part one is
made from the HTML. Opens and clicks are tracked by the product's own signed links
(messaging.engagement; `track_opens`, `track_clicks`, both on by default), the same whichever
backend sends; through an anymail provider the message also carries `cdp_delivery` metadata and
the provider's message id is kept, so the provider's delivery events find it (services.feedback)."""
from __future__ import annotations

import re
import smtplib
from datetime import datetime
from html.parser import HTMLParser

import css_inline
from anymail.exceptions import AnymailAPIError, AnymailConfigurationError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from messaging.channels.base import Channel, Features, Outcome, SettingsError, checked_target
from messaging.channels.netguard import TargetRefused, checked_address, split_target
from messaging.engagement import tracked_html

BACKENDS = {"smtp": "django.core.mail.backends.smtp.EmailBackend", "file": "django.core.mail.backends.filebased.EmailBackend"}


# The option a provider's anymail backend takes its credential as (api_key for the others).
CREDENTIAL_OPTION = {"postmark": "server_token", "mailersend": "api_token", "mailtrap": "api_token"}


def provider_name(backend: str) -> str:
    return backend.removeprefix("anymail.backends.").split(".")[0]


class EmailFeatures(Features):
    parts = ("subject", "html", "text")
    html_parts = ("html",)
    required_parts = ("subject",)
    address_type = "email"


class EmailChannel(Channel):
    features = EmailFeatures()

    @classmethod
    def checked_config(cls, config: dict) -> dict:
        backend = str(config.get("backend") or "smtp")
        if backend not in BACKENDS and not backend.startswith("anymail.backends."):
            raise SettingsError("backend", "smtp, file, or an anymail backend (anymail.backends.postmark.EmailBackend, ...)")
        sender = str(config.get("from_email") or "")
        if "@" not in sender:
            raise SettingsError("from_email", "the sender's address, e.g. News <news@example.com>")
        out = {"backend": backend, "from_email": sender, "reply_to": str(config.get("reply_to") or "")}
        for flag in ("track_opens", "track_clicks"):
            value = config.get(flag, True)
            if not isinstance(value, bool):
                raise SettingsError(flag, "true or false")
            out[flag] = value
        if backend == "smtp":
            if not config.get("host"):
                raise SettingsError("host", "the SMTP server's name")
            port = config.get("port", 587)
            if not isinstance(port, int) or not 0 < port < 65536:
                raise SettingsError("port", "a TCP port")
            security = config.get("security", "starttls")
            if security not in ("starttls", "tls", "none"):
                raise SettingsError("security", "starttls, tls or none")
            out.update(host=str(config["host"]), port=port, username=str(config.get("username") or ""), security=security,
                       timeout_seconds=float(config.get("timeout_seconds", 20)))
        if backend == "file":
            out["path"] = str(config.get("path") or "")
        if backend.startswith("anymail.") and config.get("api_url"):
            # A provider's other region (Mailgun's EU API, ...); checked as a webhook's target is.
            out["api_url"] = checked_target(str(config["api_url"]), "api_url")
        return out

    def __init__(self):
        self._connections: dict[tuple, object] = {}

    def _connection(self, config: dict, secrets: list[str]):
        key = tuple(sorted((k, str(v)) for k, v in config.items())) + (secrets[0] if secrets else "",)
        connection = self._connections.get(key)
        if connection is None:
            backend = BACKENDS.get(config["backend"], config["backend"])
            options: dict = {"fail_silently": False}
            if config["backend"] == "smtp":
                options.update(host=config["host"], port=config["port"], username=config["username"] or None,
                               password=(secrets[0] if secrets else None), use_tls=config["security"] == "starttls",
                               use_ssl=config["security"] == "tls", timeout=config["timeout_seconds"])
            elif config["backend"] == "file":
                options["file_path"] = config["path"] or settings.CDP_MAILBOX_DIR
            else:
                if secrets:
                    options[CREDENTIAL_OPTION.get(provider_name(config["backend"]), "api_key")] = secrets[0]
                if config.get("api_url"):
                    _, host, port, _ = split_target(config["api_url"])
                    checked_address(host, port)  # at connect time too: the name may have moved since it was set
                    options["api_url"] = config["api_url"]
            connection = self._connections[key] = get_connection(backend, **options)
            connection.open()
        return connection

    def close(self) -> None:
        for connection in self._connections.values():
            try:
                connection.close()
            except Exception:  # noqa: BLE001 (closing after a failure)
                pass
        self._connections.clear()

    def send(self, *, config: dict, secrets: list[str], delivery_id: str, parts: dict, address: str | None, at: datetime,
             unsubscribe_url: str | None, delivery: dict | None = None) -> Outcome:
        if not address:
            return Outcome("failed", reason="no email address")
        html = parts.get("html") or ""
        text = parts.get("text") or (html_to_text(html) if html else "")
        domain = config["from_email"].rsplit("@", 1)[-1].strip(" >") or "cdp"
        headers = {"Message-ID": f"<{delivery_id}@{domain}>"}
        if unsubscribe_url:
            headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message = EmailMultiAlternatives(subject=(parts.get("subject") or "").replace("\n", " ").strip(), body=text,
                                         from_email=config["from_email"], to=[address], headers=headers,
                                         reply_to=[config["reply_to"]] if config.get("reply_to") else None)
        if html:
            html = tracked_html(html, delivery_id, opens=config.get("track_opens", True), clicks=config.get("track_clicks", True),
                                untracked=(unsubscribe_url,) if unsubscribe_url else ())
            message.attach_alternative(css_inline.inline(html), "text/html")
        anymail = config["backend"].startswith("anymail.")
        if anymail:
            # Ours, not the provider's: its tracking would wrap our links a second time.
            message.metadata, message.track_opens, message.track_clicks = {"cdp_delivery": delivery_id}, False, False
        try:
            message.connection = self._connection(config, secrets)
            message.send()
        except TargetRefused as exc:
            return Outcome("failed", reason=str(exc))
        except smtplib.SMTPRecipientsRefused as exc:
            return Outcome("failed", reason=f"the server refused the address: {_first(exc.recipients)}")
        except smtplib.SMTPResponseException as exc:
            self.close()
            kind = "retry" if 400 <= exc.smtp_code < 500 else "failed"
            return Outcome(kind, reason=f"SMTP {exc.smtp_code}: {exc.smtp_error.decode('utf-8', 'replace')[:200]}", status_code=exc.smtp_code)
        except AnymailConfigurationError as exc:
            return Outcome("failed", reason=f"the provider's settings are not right: {str(exc).splitlines()[0][:200]}")
        except AnymailRecipientsRefused as exc:
            return Outcome("failed", reason=f"the provider refused the address: {str(exc)[:200]}")
        except AnymailAPIError as exc:
            # A provider's answer: 429 and 5xx (and no answer at all) are worth another try.
            code = getattr(exc, "status_code", None)
            kind = "retry" if code is None or code == 429 or code >= 500 else "failed"
            return Outcome(kind, reason=f"the provider answered {code or 'nothing'}: {str(exc).splitlines()[0][:200]}", status_code=code)
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            self.close()
            return Outcome("retry", reason=f"could not send: {type(exc).__name__}: {exc}"[:300])
        provider_id = ""
        if anymail:
            status = getattr(message, "anymail_status", None)
            provider_id = str(getattr(status, "message_id", "") or "")
        return Outcome("sent", response={"message_id": headers["Message-ID"], **({"provider_id": provider_id} if provider_id else {})},
                       provider_id=provider_id)


def _first(recipients: dict) -> str:
    for address, (code, text) in recipients.items():
        return f"{address} ({code} {text.decode('utf-8', 'replace')[:100]})"
    return ""


class _Text(HTMLParser):
    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "section"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.href, self.skip = [], None, 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script", "head", "title"):
            self.skip += 1
        if tag in self.BLOCKS:
            self.out.append("\n")
        if tag == "li":
            self.out.append("- ")
        if tag == "a":
            self.href = dict(attrs).get("href")

    def handle_endtag(self, tag):
        if tag in ("style", "script", "head", "title"):
            self.skip = max(0, self.skip - 1)
        if tag == "a" and self.href and not self.href.startswith("#"):
            self.out.append(f" ({self.href})")
            self.href = None
        if tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.out.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """A plain-text part from the HTML one: paragraphs as lines, links as `text (url)`."""
    parser = _Text()
    parser.feed(html)
    lines = [line.strip() for line in "".join(parser.out).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
