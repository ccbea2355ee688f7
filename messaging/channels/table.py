"""Table export: a message becomes a row of the lakehouse table `message_exports` (the customer,
the rendered payload, the caller's variables) instead of leaving the product, for reverse-ETL
tools on Databricks (Census, Hightouch) to deliver. The row's key is the delivery id, written
with skip-existing, so a drain killed after the write and run again adds nothing.

Settings: none required; `description` says who reads the table."""
from __future__ import annotations

import json
from datetime import datetime

from messaging.channels.base import Channel, Features, Outcome


class TableFeatures(Features):
    parts = ("payload",)
    required_parts = ("payload",)


class TableChannel(Channel):
    features = TableFeatures()

    @classmethod
    def checked_config(cls, config: dict) -> dict:
        return {"description": str(config.get("description") or "")[:300]}

    def send(self, *, config: dict, secrets: list[str], delivery_id: str, parts: dict, address: str | None, at: datetime,
             unsubscribe_url: str | None, delivery: dict | None = None) -> Outcome:
        from lakehouse import get_engine
        from lakehouse.errors import WarehouseUnavailable
        from messaging.tables import MESSAGE_EXPORTS

        try:
            payload = json.loads(parts.get("payload") or "")
        except ValueError as exc:
            return Outcome("failed", reason=f"the payload is not JSON after rendering: {exc}")
        if not isinstance(payload, dict):
            return Outcome("failed", reason="the payload must be a JSON object")
        delivery = delivery or {}
        record = {"tenant_id": delivery["tenant"], "delivery_id": delivery_id, "channel_id": delivery["channel_id"],
                  "cdp_id": delivery["cdp_id"], "template_id": delivery["template_id"], "template_version": delivery["template_version"],
                  "category": delivery["category"], "topic": delivery["topic"], "source": delivery["source"], "payload": _text(payload),
                  "variables": _text(delivery["variables"]), "exported_at": at}
        try:
            written = get_engine().insert_many(MESSAGE_EXPORTS, [record], skip_existing=True)
        except WarehouseUnavailable as exc:
            return Outcome("retry", reason=f"the lakehouse is unavailable: {exc}"[:300])
        return Outcome("sent", response={"table": MESSAGE_EXPORTS.name, "written": written})


def _text(value) -> str:
    """JSON text, as every engine's json columns take it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
