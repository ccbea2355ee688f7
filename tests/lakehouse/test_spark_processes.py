"""Local Spark across processes and threads, as a platform engineer uses it: tables made by one
process are there for the next, a second process at the same time is refused with one clear
message, and parallel writes in one process lose nothing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from customers.tables import TRAITS
from lakehouse.statements import Statement
from tests.lakehouse.databricks_sql import sample_row

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.spark


def _env(tmp_path) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CDP_", "DJANGO_"))}
    return {**env, "DJANGO_SETTINGS_MODULE": "cdp_site.settings.local", "CDP_DATA_DIR": str(tmp_path / "data"),
            "CDP_LAKEHOUSE": f"spark://local[1]?warehouse_dir={tmp_path / 'warehouse'}"}


def _manage(tmp_path, *args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=_env(tmp_path), capture_output=True,
                          text=True, timeout=300, **kwargs)


AFTERWARDS = """
from django.core.management import call_command
call_command("lakehouse", "status")
call_command("cdp_import", {events!r}, "--tenant", "acme", "--kind", "events", verbosity=0)
call_command("lakehouse", "migrate")
"""


def test_tables_made_by_one_process_are_there_for_the_next(tmp_path):
    assert _manage(tmp_path, "migrate", "--noinput").returncode == 0
    assert _manage(tmp_path, "cdp_tenant", "create", "acme").returncode == 0
    made = _manage(tmp_path, "lakehouse", "migrate")  # the first process: creates the tables, then ends
    assert made.returncode == 0, made.stderr[-1500:]
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps({"type": "track", "userId": f"u{i}", "event": "Viewed", "messageId": f"m{i}"})
                                for i in range(3)) + "\n")
    # The next process: status sees every table, a load writes into them, a second migrate takes them over.
    after = _manage(tmp_path, "shell", "-c", AFTERWARDS.format(events=str(events)))
    assert after.returncode == 0, after.stderr[-1500:]
    assert "missing" not in after.stdout and "events" in after.stdout
    assert "Loaded 3 call(s)" in after.stdout and "0 change(s)" in after.stdout


def test_a_second_process_at_the_same_time_gets_one_clear_message(tmp_path):
    log = (tmp_path / "holder.log").open("w")  # Spark's chatter: a pipe nobody reads would fill and block it
    holder = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c",
         "from lakehouse import get_engine; get_engine(); print('holding', flush=True); input()"],
        cwd=ROOT, env=_env(tmp_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        lines = iter(holder.stdout.readline, "")
        assert "holding" in (line.strip() for line in lines), (tmp_path / "holder.log").read_text()[-1500:]
        second = _manage(tmp_path, "lakehouse", "status")
        assert second.returncode == 1
        assert "Local Spark serves one process at a time" in second.stderr and f"process {holder.pid}" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        holder.communicate("\n", timeout=60)
        log.close()


COUNT = Statement("test.spark.traits", "SELECT key FROM {traits} WHERE tenant_id = :tenant_id AND cdp_id = :cdp_id")


def test_parallel_trait_edits_in_one_process_lose_nothing(spark_engine, tenant_id):
    spark_engine.upsert(TRAITS, [{**sample_row(TRAITS), "tenant_id": tenant_id, "cdp_id": "c1", "key": "seed"}])
    errors = []

    def edit(n: int) -> None:
        try:
            spark_engine.upsert(TRAITS, [{**sample_row(TRAITS), "tenant_id": tenant_id, "cdp_id": "c1", "key": f"k{n}"}])
            spark_engine.execute(COUNT, {"tenant_id": tenant_id, "cdp_id": "c1"})
        except Exception as exc:  # what the test reports: any failure at all
            errors.append(exc)

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    keys = {row["key"] for row in spark_engine.execute(COUNT, {"tenant_id": tenant_id, "cdp_id": "c1"})}
    assert keys == {"seed", *(f"k{n}" for n in range(8))}
