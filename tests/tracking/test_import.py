"""cdp_import: CSV, JSON lines and Parquet, with a per-row error report and the same dedupe rules."""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from customers.sql import EVENT_COUNTS
from lakehouse.statements import Statement
from tenancy.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lakehouse")]

COUNT_IDENTITIES = Statement("test.import.identities", "SELECT COUNT(DISTINCT cdp_id) AS n FROM {identities} WHERE tenant_id = :tenant_id")


def _import(path, tenant, *args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("cdp_import", str(path), "--tenant", tenant.slug, *args, stdout=out, stderr=err, verbosity=0)
    return out.getvalue(), err.getvalue()


def test_csv_customers_land_with_traits_and_bad_rows_are_reported(tmp_path, tenant_a, api_as, lakehouse):
    path = tmp_path / "customers.csv"
    path.write_text("user_id,email,plan,age\nu1,Ada@Example.com,pro,36\n,nobody@example.com,free,1\nu2,bob@example.com,free,40\n")
    out, err = _import(path, tenant_a)
    assert "3 row(s): 2 accepted" in out and "1 rejected" in out
    assert "row 2: userId send userId or anonymousId" in err
    report = (tmp_path / "customers.csv.errors.csv").read_text().splitlines()
    assert report == ["row,field,error", "2,userId,send userId or anonymousId"]
    profile = api_as(tenant_a, Role.VIEWER).get("/api/customers/lookup?type=email&value=ada@example.com").json()
    traits = {t["key"]: t for t in profile["traits"]}
    assert traits["plan"]["value"] == "pro" and traits["plan"]["source"] == "import" and traits["age"]["value"] == "36"
    again, _ = _import(path, tenant_a)
    assert "0 accepted, 2 already known" in again, "importing the same file twice adds nothing"
    assert lakehouse.execute(COUNT_IDENTITIES, {"tenant_id": tenant_a.slug}).scalar() == 2


def test_jsonl_events_with_broken_lines(tmp_path, tenant_a, lakehouse):
    lines = [
        json.dumps({"userId": "u1", "event": "Order Completed", "revenue": 12.5, "timestamp": "2026-03-01T10:00:00Z"}),
        "{not json",
        json.dumps({"type": "page", "anonymousId": "a1", "name": "Home", "messageId": "m-page-1"}),
        json.dumps({"userId": "u1"}),
        '{"userId": "u2", "event": "Big", "revenue": 1e400}',
        "[1, 2]",
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out, err = _import(path, tenant_a, "--kind", "events")
    assert "6 row(s): 2 accepted" in out and "4 rejected" in out
    assert "row 2: row is not valid JSON" in err and "row 4: event track needs an event name" in err
    assert "row 5: row contains a number too large for a double" in err and "row 6: row is not a JSON object" in err
    counts = {(r["type"], r["event"]): r["events"] for r in lakehouse.execute(EVENT_COUNTS, {"tenant_id": tenant_a.slug, "since": EVENT_COUNTS.example["since"]})}
    assert counts == {("track", "Order Completed"): 1, ("page", "Home"): 1}


def test_parquet_events(tmp_path, tenant_a, lakehouse):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"user_id": ["u1", "u2", "u3"], "event": ["Signed Up"] * 3,
                      "timestamp": ["2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z", "2026-03-03T10:00:00Z"], "plan": ["pro", "free", None]})
    path = tmp_path / "events.parquet"
    pq.write_table(table, path)
    out, _ = _import(path, tenant_a, "--kind", "events")
    assert "3 row(s): 3 accepted" in out
    props = lakehouse.execute(Statement("test.import.props", "SELECT properties FROM {events} WHERE tenant_id = :tenant_id AND user_id = 'u1'"),
                              {"tenant_id": tenant_a.slug}).scalar()
    assert json.loads(props) == {"plan": "pro"}


def test_unknown_files_and_tenants_are_clear_errors(tmp_path, tenant_a):
    path = tmp_path / "data.xlsx"
    path.write_text("x")
    with pytest.raises(CommandError, match="name it .csv, .jsonl or .parquet"):
        _import(path, tenant_a)
    with pytest.raises(CommandError, match="No tenant"):
        call_command("cdp_import", str(path), "--tenant", "nope", "--format", "csv", verbosity=0)
    with pytest.raises(CommandError, match="No file"):
        _import(tmp_path / "missing.csv", tenant_a)


def test_the_error_report_never_holds_a_spreadsheet_formula(tmp_path, tenant_a):
    key = "=HYPERLINK(1)" + "x" * 200  # too long a trait name, and a formula
    path = tmp_path / "customers.csv"
    path.write_text(f"user_id,{key}\nu1,1\n-2+3,@SUM(1)\n")
    out, err = _import(path, tenant_a)
    assert "0 rejected" not in out, (out, err)
    cells = [cell for line in (tmp_path / "customers.csv.errors.csv").read_text().splitlines()[1:] for cell in line.split(",")]
    assert cells and not any(cell.lstrip('"').startswith(("=", "+", "-", "@")) for cell in cells), cells


def test_a_cell_that_a_spreadsheet_would_run_is_written_as_text():
    from kernel.csvcells import csv_cell

    for formula in ("=1+1", "+1", "-2+3", "@SUM(1)", "\t=1", "\r=1"):
        assert csv_cell(formula) == "'" + formula
    assert [csv_cell(v) for v in ("traits.plan", "a=b", 7, None)] == ["traits.plan", "a=b", 7, None]
