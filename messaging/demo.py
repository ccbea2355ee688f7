"""The demo tenant's messaging: an email channel writing to the local mailbox (nothing leaves the
machine under `make run`), the newsletter topic, and two templates to preview and test-send."""
from __future__ import annotations

from messaging.models import Channel, Template, Topic
from messaging.services.channels import channel_create
from messaging.services.templates import template_create
from messaging.services.topics import topic_create
from tenancy.types import TenantRef

WELCOME = """<html><head><style>h1 { color: #2a5bd7 } .small { color: #666; font-size: 12px }</style></head><body>
<h1>Welcome, {{ customer.first_name | default: "friend" }}!</h1>
<p>Thanks for joining. Your plan: <strong>{{ customer.plan | default: "free" }}</strong>.</p>
{% if customer.lifetime_value > 300 %}<p>As one of our best customers, enjoy free delivery this month.</p>{% endif %}
<p class="small"><a href="{{ message.unsubscribe_url }}">Unsubscribe from the newsletter</a></p>
</body></html>"""


def demo_messaging_load(*, tenant: TenantRef, actor: str = "demo") -> int:
    """Create what the tenant lacks; returns how many things were created."""
    created = 0
    if not Channel.objects.filter(tenant_id=tenant.id, name="Demo mailbox").exists():
        channel_create(tenant=tenant, name="Demo mailbox", kind="email", actor=actor,
                       config={"backend": "file", "from_email": "Demo Shop <news@shop.example.com>"})
        created += 1
    if not Topic.objects.filter(tenant_id=tenant.id, channel_kind="email", key="newsletter").exists():
        topic_create(tenant=tenant, key="newsletter", name="Newsletter", channel_kind="email", policy="opt_in", actor=actor)
        created += 1
    templates = set(Template.objects.filter(tenant_id=tenant.id).values_list("name", flat=True))
    if "Welcome email" not in templates:
        template_create(tenant=tenant, name="Welcome email", channel_kind="email", actor=actor,
                        parts={"subject": "Welcome to Demo Shop, {{ customer.first_name | default: 'friend' }}", "html": WELCOME})
        created += 1
    if "Order webhook" not in templates:
        template_create(tenant=tenant, name="Order webhook", channel_kind="webhook", actor=actor,
                        parts={"body": '{"customer": "{{ customer.cdp_id }}", "email": "{{ customer.email }}", "order": "{{ event.order_id }}"}'})
        created += 1
    return created
