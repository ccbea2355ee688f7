"""The one mapping from identifiers to customers (`cdp_id`) used while loading events.

The rule until identity resolution replaces it: one customer per userId, else per anonymousId;
a call carrying both joins them (an unknown identifier joins the customer the other names);
alias joins previousId to userId. Ids are derived from the first identifier seen, so a re-run
after a crash gives the same ids. Emails are recorded for lookup, not used to join.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from customers.sql import IDENTITIES_FOR_VALUES
from customers.tables import IDENTITIES

LOOKUP_CHUNK = 200  # identifiers per lookup statement: inside every engine's marker limit

ID_FIELDS = (("userId", "user_id"), ("anonymousId", "anonymous_id"))


def new_cdp_id(tenant_id: str, id_type: str, id_value: str) -> str:
    return "cdp_" + hashlib.sha256(f"{tenant_id}|{id_type}|{id_value}".encode()).hexdigest()[:24]


@dataclass
class IdentityMap:
    tenant_id: str
    known: dict[tuple[str, str], str] = field(default_factory=dict)
    new_rows: list[dict] = field(default_factory=list)

    def resolve(self, call: dict, seen_at: datetime) -> str:
        """The customer a call belongs to, recording identifiers not seen before."""
        pairs = [(id_type, call[key]) for key, id_type in ID_FIELDS if call.get(key)]
        if call.get("type") == "alias" and call.get("previousId"):
            pairs.append(("user_id" if ("user_id", call["previousId"]) in self.known else "anonymous_id", call["previousId"]))
        cdp_id = next((self.known[p] for p in pairs if p in self.known), None) or new_cdp_id(self.tenant_id, *pairs[0])
        email = (call.get("traits") or {}).get("email") if isinstance(call.get("traits"), dict) else None
        if isinstance(email, str) and "@" in email:
            pairs.append(("email", email.strip().lower()))
        for pair in pairs:
            if pair not in self.known:
                self.known[pair] = cdp_id
                self.new_rows.append({"tenant_id": self.tenant_id, "id_type": pair[0], "id_value": pair[1], "cdp_id": cdp_id,
                                      "first_seen_at": seen_at, "last_seen_at": seen_at})
        return cdp_id


def identity_map_for(engine, tenant_id: str, calls: list[dict]) -> IdentityMap:
    """An IdentityMap preloaded with what the lakehouse knows of these calls' identifiers."""
    values = sorted({call[key] for call in calls for key in ("userId", "anonymousId", "previousId") if call.get(key)})
    mapping = IdentityMap(tenant_id=tenant_id)
    for start in range(0, len(values), LOOKUP_CHUNK):
        rows = engine.execute(IDENTITIES_FOR_VALUES, {"tenant_id": tenant_id, "values": values[start:start + LOOKUP_CHUNK]})
        for row in rows:
            mapping.known[(row["id_type"], row["id_value"])] = row["cdp_id"]
    return mapping


def identities_save(engine, mapping: IdentityMap) -> None:
    engine.insert_many(IDENTITIES, mapping.new_rows, skip_existing=True)
