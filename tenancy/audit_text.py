"""Audit entries as a person reads them: "made ada@example.com editor", not `member.set role=editor`.

One sentence per action (the actor is shown beside it); an action without one here still reads as
its name and its details in plain `key: value` form, never Python's spelling of them.
"""
from __future__ import annotations

from collections.abc import Callable


def _plain(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple, set)):
        return ", ".join(_plain(v) for v in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return "—" if value is None or value == "" else str(value)


def _count(n, noun: str) -> str:
    n = int(n or 0)
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _traits(t: str, d: dict) -> str:
    parts = [f"set {_plain(d['set'])}" if d.get("set") else "", f"removed {_plain(d['unset'])}" if d.get("unset") else ""]
    return f"changed the traits of {t}: " + " and ".join(p for p in parts if p) if any(parts) else f"changed nothing on {t}"


def _key(kind: str, verb: str) -> Callable[[str, dict], str]:
    def sentence(t: str, d: dict) -> str:
        extra = f" ({d['role']})" if d.get("role") else ""
        if d.get("allowed_origins"):
            extra += f", for {_plain(d['allowed_origins'])}"
        return f"{verb} {kind} “{t}”{extra}" if verb == "created" else f"{verb} {kind} “{t}”"
    return sentence


SENTENCES: dict[str, Callable[[str, dict], str]] = {
    "auth.sign_in": lambda t, d: f"signed in ({_plain(d.get('via'))}, from {_plain(d.get('address'))})",
    "auth.sign_in_failed": lambda t, d: f"failed to sign in ({_plain(d.get('via'))}, from {_plain(d.get('address'))})",
    "auth.sign_in_throttled": lambda t, d: f"was refused sign-in after too many attempts (from {_plain(d.get('address'))})",
    "auth.password_set": lambda t, d: "set their password with a sign-in link",
    "apikey.create": _key("API key", "created"),
    "apikey.revoke": _key("API key", "revoked"),
    "writekey.create": _key("write key", "created"),
    "writekey.revoke": _key("write key", "revoked"),
    "computed_trait.create": lambda t, d: f"created computed trait {t} ({_plain(d.get('aggregation'))})",
    "computed_trait.update": lambda t, d: f"changed computed trait {t} ({_plain(d.get('aggregation'))})",
    "computed_trait.delete": lambda t, d: f"deleted computed trait {t} and its values",
    "customer.consent": lambda t, d: (f"recorded that {t} {'granted' if d.get('granted') else 'denied'} "
                                      f"{_plain(d.get('purpose'))} consent on {_plain(d.get('channel'))}"),
    "customer.erase": lambda t, d: f"erased customer {t} ({_count(d.get('identifiers'), 'identifier')} kept suppressed)",
    "customer.identify": lambda t, d: f"created or identified customer {t}" + (f" with {_plain(d['traits'])}" if d.get("traits") else ""),
    "customer.suppress": lambda t, d: f"suppressed customer {t}: new events are dropped",
    "customer.unsuppress": lambda t, d: f"lifted the suppression of customer {t}",
    "customer.traits": _traits,
    "identity.rules": lambda t, d: "changed the identity rules (a rebuild follows)",
    "identity.unmerge": lambda t, d: (f"blocked {_plain(d.get('blocked'))} on {t}, which became "
                                      f"{_count(d.get('customers_after'), 'customer')}"),
    "identity.unblock": lambda t, d: f"unblocked {_plain(d.get('blocked'))}: “{_plain(d.get('reason'))}”",
    "inbox.retry": lambda t, d: f"put {_count(d.get('batches'), 'set-aside request')} back in line to load",
    "member.set": lambda t, d: f"made {t} {_plain(d.get('role'))}",
    "member.invite": lambda t, d: f"invited {t}" + (" (the sign-in link was mailed)" if d.get("emailed") else " (sign-in link shown once)"),
    "member.password_link": lambda t, d: f"made a new sign-in link for {t}" + (" (mailed)" if d.get("emailed") else ""),
    "member.provision": lambda t, d: f"joined as {_plain(d.get('role'))} on first sign-in through Databricks",
    "member.remove": lambda t, d: f"removed {t} from the tenant",
    "journey.create": lambda t, d: f"created journey “{t}”",
    "journey.update": lambda t, d: f"changed journey “{t}” (version {_plain(d.get('version'))})",
    "journey.publish": lambda t, d: (f"published version {_plain(d.get('version'))} of journey “{t}” (instances in flight: "
                                     f"{_plain(d.get('policy'))}, {_plain(d.get('moved'))} moved, {_plain(d.get('ended'))} ended)"),
    "journey.pause": lambda t, d: f"paused journey “{t}”",
    "journey.test_send": lambda t, d: f"sent {_plain(d.get('messages'))} test messages of journey “{t}”, as rendered for {_plain(d.get('cdp_id'))}",
    "journey.resume": lambda t, d: f"resumed journey “{t}”",
    "journey.archive": lambda t, d: f"archived journey “{t}”",
    "journey.enroll": lambda t, d: (f"enrolled customers in journey “{t}”: {_plain(d.get('enrolled'))} entered, "
                                    f"{_plain(d.get('held_out'))} held out, {_plain(d.get('unknown'))} unknown"),
    "segment.create": lambda t, d: f"created segment “{t}”",
    "segment.update": lambda t, d: f"changed segment “{t}” (now version {_plain(d.get('version'))})",
    "segment.delete": lambda t, d: f"deleted segment “{t}” and its members",
    "segment.members": lambda t, d: (f"{'replaced' if d.get('replace') else 'edited'} the list “{t}”: {_plain(d.get('added'))} added, "
                                     f"{_plain(d.get('removed'))} removed"
                                     + (f", {_plain(d.get('unknown'))} not found" if d.get("unknown") else "")),
    "segment.export": lambda t, d: f"exported the members of “{t}” to the table {_plain(d.get('table'))}",
    "channel.create": lambda t, d: f"added the {_plain(d.get('kind'))} channel “{t}”",
    "channel.update": lambda t, d: f"changed the channel “{t}” ({_plain(', '.join(d.get('changed') or []))})",
    "channel.rotate": lambda t, d: (f"made new feedback credentials for “{t}”" if d.get("feedback_credentials") else
                                    f"rotated the signing secret of “{t}” (the previous one valid {_plain(d.get('overlap_hours'))} more hours)"),
    "suppression.add": lambda t, d: f"suppressed an address for {t}",
    "suppression.remove": lambda t, d: f"lifted the suppression of an address ({t})",
    "channel.delete": lambda t, d: f"deleted the channel “{t}”",
    "template.create": lambda t, d: f"added the {_plain(d.get('kind'))} template “{t}”",
    "template.update": lambda t, d: f"changed the template “{t}” (now version {_plain(d.get('version'))})",
    "messaging.policy": lambda t, d: (f"set the send policy: {_plain(d.get('caps'))} caps, quiet hours "
                                      f"{'on ' + _plain(d.get('quiet_days')) if d.get('quiet_days') else 'off'} ({_plain(d.get('quiet_policy'))})"),
    "campaign.create": lambda t, d: f"created the campaign “{t}”",
    "campaign.update": lambda t, d: f"changed the campaign “{t}”",
    "campaign.approval_requested": lambda t, d: f"asked for approval of the campaign “{t}” ({_plain(d.get('why'))})",
    "campaign.approve": lambda t, d: f"approved the campaign “{t}” (reaching {_plain(d.get('reachable'))})",
    "campaign.schedule": lambda t, d: f"scheduled the campaign “{t}” for {_plain(d.get('at'))}",
    "campaign.send": lambda t, d: f"started send {_plain(d.get('run'))} of the campaign “{t}” to {_plain(d.get('reachable'))} reachable",
    "campaign.winner": lambda t, d: f"picked variant {_plain(d.get('winner'))} as the winner of the campaign “{t}”",
    "campaign.pause": lambda t, d: (f"paused the campaign “{t}” ({_plain(d.get('why'))})" if d.get("why") else f"paused the campaign “{t}”"),
    "campaign.test_send": lambda t, d: f"sent {_plain(d.get('messages'))} test messages of the campaign “{t}”",
    "campaign.resume": lambda t, d: f"resumed the campaign “{t}”",
    "campaign.cancel": lambda t, d: f"cancelled the campaign “{t}”",
    "campaign.policy": lambda t, d: f"set campaigns' approval threshold to {_plain(d.get('approval_threshold'))} customers",
    "topic.create": lambda t, d: f"added the {_plain(d.get('channel'))} topic “{t}” ({_plain(d.get('policy'))})",
    "topic.delete": lambda t, d: f"deleted the topic “{t}”",
    "tenant.create": lambda t, d: f"created the tenant {t}",
    "tenant.update": lambda t, d: "changed the tenant's " + ", ".join(f"{k.replace('_', ' ')} to “{_plain(v)}”" for k, v in d.items()),
    "user.superuser": lambda t, d: f"made {t} a platform operator",
}


def audit_sentence(action: str, target: str, details: dict | None) -> str:
    details = details if isinstance(details, dict) else {}
    sentence = SENTENCES.get(action)
    if sentence is not None:
        try:
            return sentence(target, details)
        except (KeyError, TypeError, ValueError):  # an older entry's details in another shape
            pass
    return " ".join(p for p in (action, target, _plain(details) if details else "") if p)
