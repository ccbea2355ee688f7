"""The local mailbox: what an email channel with the `file` backend wrote (`make run` sends mail
there, so nothing leaves the machine), read back for the console's Mailbox page."""
from __future__ import annotations

from dataclasses import dataclass
from email import message_from_string, policy
from pathlib import Path

from django.conf import settings

SEPARATOR = "\n" + "-" * 79 + "\n"


@dataclass(frozen=True)
class MailboxMessage:
    to: str
    sender: str
    subject: str
    date: str
    message_id: str
    text: str
    html: str
    file: str


def mailbox_dir() -> Path:
    return Path(settings.CDP_MAILBOX_DIR)


def mailbox_messages(*, limit: int = 50, to: str = "") -> list[MailboxMessage]:
    """The newest messages first (each file is one drain session's messages)."""
    folder = mailbox_dir()
    if not folder.is_dir():
        return []
    out: list[MailboxMessage] = []
    for path in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True):
        for raw in reversed([m for m in path.read_text(encoding="utf-8", errors="replace").split(SEPARATOR) if m.strip()]):
            message = message_from_string(raw.lstrip("\n"), policy=policy.default)
            if to and to.lower() not in str(message.get("To", "")).lower():
                continue
            text = message.get_body(("plain",))
            html = message.get_body(("html",))
            out.append(MailboxMessage(to=str(message.get("To", "")), sender=str(message.get("From", "")),
                                      subject=str(message.get("Subject", "")), date=str(message.get("Date", "")),
                                      message_id=str(message.get("Message-ID", "")), text=text.get_content() if text else "",
                                      html=html.get_content() if html else "", file=path.name))
            if len(out) >= limit:
                return out
    return out
