"""A journey's message sends: the idempotency key and the template variables of each, computed in
Python for one instance (a journey test, a webhook's call) and as SQL over many (a tick).

A send step reached by thousands of instances in one round is queued by one INSERT ... SELECT
from the instances (messaging's `deliveries_enqueue_query`), its history rows likewise
(journeys.services.moves): the key and the variables are then SQL expressions over the instance
row, which must give exactly what `send_key` and `send_variables` give (tests/journeys/
test_sends_sql.py compares them on SQLite and PostgreSQL).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from django.db.models import CharField, F, Func, JSONField, Value
from django.db.models.functions import Cast, Concat

from messaging.types import SendRequest, SendShape


def send_key(row, node_id: str) -> str:
    """The send's idempotency key: (journey version, instance, node, occurrence), the same on
    every replay of the step that queues it."""
    return f"journey:{row.journey_id}.{row.version}:{row.instance_id}:{node_id}:{row.step}"


def send_variables(row, journey: dict) -> dict:
    """What a journey's message (or webhook call) template sees: the entry event as `event`, the
    journey's variables as `vars.<name>` beside `vars.key` (the instance's key) and `vars.journey`
    (`journey`: its id, name, version and the node)."""
    return {**row.context.get("vars", {}), "event": row.context.get("entry", {}), "key": row.key, "journey": journey}


def journey_facts(journey_id: int, name: str, version: int, node: str) -> dict:
    """`vars.journey`: which journey, version and node sent it."""
    return {"id": journey_id, "name": name, "version": version, "node": node}


@dataclass(frozen=True, eq=False)
class QueuedSend:
    """What a send node queues for every instance it moves on (one per node and version, shared
    by its moves: compared by identity, which a tick's grouping of 100,000 moves does cheaply)."""
    journey_id: int
    version: int
    name: str
    node: str
    channel_id: int
    template_id: int
    category: str
    topic: str
    enqueue: bool = True  # False in a backtest: the step is recorded, nothing is queued

    @property
    def source(self) -> str:
        return f"journey:{self.journey_id}"

    @property
    def journey(self) -> dict:
        return journey_facts(self.journey_id, self.name, self.version, self.node)

    def variables(self, row) -> dict:
        return send_variables(row, self.journey)

    def request(self, row) -> SendRequest:
        return SendRequest(key=send_key(row, self.node), channel_id=self.channel_id, template_id=self.template_id, cdp_id=row.cdp_id,
                           category=self.category, topic=self.topic, source=self.source, variables=self.variables(row))

    def shape(self) -> SendShape:
        return SendShape(channel_id=self.channel_id, template_id=self.template_id, category=self.category, topic=self.topic,
                         source=self.source)

    # --- the same over instance rows, in SQL ----------------------------------------------------
    def key_sql(self):
        return Concat(Value(f"journey:{self.journey_id}.{self.version}:"), F("instance_id"), Value(f":{self.node}:"),
                      Cast("step", CharField()), output_field=CharField())

    def variables_sql(self):
        return _Variables(F("context"), F("key"), Value(json.dumps(self.journey)))


class _Variables(Func):
    """`QueuedSend.variables` over an instance's columns (context, key) and the journey's JSON:
    the context's `vars` with `event`, `key` and `journey` set over them (each replacing a
    variable of that name whole, as the dict does)."""
    output_field = JSONField()

    def as_sqlite(self, compiler, connection, **extra):
        # `->` keeps a JSON value JSON (json_extract would give a string's text unquoted).
        context, key, journey = (compiler.compile(e) for e in self.source_expressions)
        sql = (f"json_set(COALESCE({context[0]} -> '$.vars', '{{}}'), '$.event', json(COALESCE({context[0]} -> '$.entry', '{{}}')), "
               f"'$.key', {key[0]}, '$.journey', json({journey[0]}))")
        return sql, [*context[1], *context[1], *key[1], *journey[1]]

    def as_postgresql(self, compiler, connection, **extra):
        context, key, journey = (compiler.compile(e) for e in self.source_expressions)
        sql = (f"(COALESCE({context[0]} -> 'vars', '{{}}'::jsonb) || jsonb_build_object('event', COALESCE({context[0]} -> 'entry', "
               f"'{{}}'::jsonb), 'key', {key[0]}, 'journey', CAST({journey[0]} AS jsonb)))")
        return sql, [*context[1], *context[1], *key[1], *journey[1]]
