"""Open and click tracking in email: an HTML message's links are rewritten to a signed redirect
(`/m/c/<token>/`) and a 1x1 image (`/m/o/<token>.gif`) is appended, each token naming the
delivery (and the link's target), signed with SECRET_KEY.

The tokens do not expire: a link in a message read a year later must still work. A forged or
changed token is refused (404), so the redirect is never open to other targets. The product's
own links (unsubscribe, preferences), `mailto:`/`tel:` links, anchors and links marked
`data-cdp-untracked` are left alone."""
from __future__ import annotations

import html
import re

from django.conf import settings
from django.core import signing

SALT = "cdp.messaging.engagement"
_ANCHOR = re.compile(r"<a\b[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"""(\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)

# A transparent 1x1 GIF.
PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def _base() -> str:
    return settings.CDP_PUBLIC_URL.rstrip("/")


def open_url(delivery_id: str) -> str:
    return f"{_base()}/m/o/{signing.dumps({'d': delivery_id}, salt=SALT)}.gif"


def click_url(delivery_id: str, target: str) -> str:
    return f"{_base()}/m/c/{signing.dumps({'d': delivery_id, 'u': target}, salt=SALT, compress=True)}/"


def token_read(token: str) -> dict | None:
    """{"d": delivery id[, "u": target]}, or None when forged or changed."""
    try:
        keys = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    return keys if isinstance(keys, dict) and isinstance(keys.get("d"), str) else None


def tracked_html(source: str, delivery_id: str, *, opens: bool, clicks: bool, untracked: tuple[str, ...] = ()) -> str:
    """The HTML with its web links through the click redirect and the open pixel at the end."""
    own = f"{_base()}/m/"  # the product's own links in messages (unsubscribe, preferences) are not clicks to count
    if clicks:
        def href(match: re.Match) -> str:
            target = html.unescape(match.group(3)).strip()
            if not target.lower().startswith(("http://", "https://")) or target in untracked or target.startswith(own):
                return match.group(0)
            return f"{match.group(1)}{match.group(2)}{html.escape(click_url(delivery_id, target))}{match.group(2)}"

        def anchor(match: re.Match) -> str:
            tag = match.group(0)
            return tag if "data-cdp-untracked" in tag.lower() else _HREF.sub(href, tag, count=1)
        source = _ANCHOR.sub(anchor, source)
    if opens:
        pixel = f'<img src="{html.escape(open_url(delivery_id))}" width="1" height="1" alt="" style="display:none">'
        ends = list(_BODY_END.finditer(source))
        source = source[:ends[-1].start()] + pixel + source[ends[-1].start():] if ends else source + pixel
    return source
