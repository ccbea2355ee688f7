"""Segment members exported to a lakehouse table: on local Spark for real (written, replaced,
tenant-scoped), and the Delta statements Databricks would receive, parsed as Databricks SQL."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlglot
from sqlglot import exp

from identity.tables import IDENTITIES
from kernel.errors import InvalidInput
from segments import exports, services, sql
from segments.tables import MEMBERS
from tenancy.types import TenantRef
from tests.lakehouse.databricks_sql import databricks_engine

T = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.mark.spark
@pytest.mark.django_db
def test_members_are_written_to_a_table_and_replaced_on_local_spark(spark_engine, tenant_a, monkeypatch):
    monkeypatch.setattr(exports, "get_engine", lambda: spark_engine)
    tenant = tenant_a.ref
    sid = services.segment_create(tenant=tenant, name="VIP", kind="manual", definition=None, actor="t").id
    members = [{"tenant_id": tenant.slug, "segment_id": sid, "cdp_id": c, "entered_at": T} for c in ("x1", "x2")]
    # Another tenant's members of a segment with the same id are not its to export.
    members.append({"tenant_id": "someone-else", "segment_id": sid, "cdp_id": "x9", "entered_at": T})
    spark_engine.insert_many(MEMBERS, members)
    spark_engine.insert_many(IDENTITIES, [
        {"tenant_id": tenant.slug, "id_type": t, "id_value": v, "cdp_id": "x1", "first_seen_at": T, "last_seen_at": T}
        for t, v in (("user_id", "u1"), ("email", "b@example.com"), ("email", "a@example.com"), ("anonymous_id", "anon"))])

    first = exports.segment_export(tenant=tenant, segment_id=sid, name="vip_customers", actor="t")
    assert first.state == "succeeded" and first.rows == 2, first.error
    assert first.table == f"spark_catalog.cdp_test_exports.alpha_{tenant.id}__vip_customers"
    quoted = ".".join(f"`{p}`" for p in first.table.split("."))
    rows = {r["cdp_id"]: r.asDict() for r in spark_engine.session.sql(f"SELECT * FROM {quoted}").collect()}
    assert set(rows) == {"x1", "x2"}
    assert rows["x1"]["user_id"] == "u1" and rows["x1"]["email"] == "a@example.com" and rows["x2"]["email"] is None

    spark_engine.delete(sql.DELETE_MEMBERS, {"tenant_id": tenant.slug, "segment_id": sid, "cdp_ids": ["x2"]})
    second = exports.segment_export(tenant=tenant, segment_id=sid, name="vip_customers", actor="t")
    assert second.state == "succeeded" and second.rows == 1
    assert [r["cdp_id"] for r in spark_engine.session.sql(f"SELECT cdp_id FROM {quoted}").collect()] == ["x1"]
    from tenancy.models import AuditEntry

    assert AuditEntry.objects.filter(action="segment.export", tenant_id=tenant.id).count() == 2

    # An erasure after the export: the schedule writes the table again, without the customer.
    assert exports.exports_follow_erasures() == 0  # nothing erased since
    from customers.models import SuppressedIdentifier
    from lakehouse.erasure import personal_data_erase

    personal_data_erase(spark_engine, tenant=tenant.slug, cdp_ids={"x1"}, identifiers=[("user_id", "u1")])
    SuppressedIdentifier.objects.create(tenant_id=tenant.id, id_type="user_id", id_value="digest", reason="erase", cdp_id="x1")
    assert exports.exports_follow_erasures() == 1
    assert spark_engine.session.sql(f"SELECT cdp_id FROM {quoted}").collect() == []
    assert exports.exports_follow_erasures() == 0  # once
    spark_engine.session.sql(f"DROP TABLE {quoted}")


def test_delta_exports_are_one_create_or_replace_in_databricks_sql():
    engine = databricks_engine()
    select = engine.render(sql.EXPORT_ROWS)
    statements = engine.export_sql(("main", "cdp_exports"), "acme_3__vip", select, "Members of “VIP” (it's theirs)")
    assert len(statements) == 2
    schema, create = (sqlglot.parse_one(s, read="databricks") for s in statements)
    assert isinstance(schema, exp.Create) and schema.args["kind"] == "SCHEMA"
    assert isinstance(create, exp.Create) and create.args.get("replace") and create.args["kind"] == "TABLE"
    assert create.this.sql(dialect="databricks") == "`main`.`cdp_exports`.`acme_3__vip`"
    sources = {t.sql(dialect="databricks") for t in create.expression.find_all(exp.Table)}
    assert sources == {"`main`.`cdp`.`segment_members` AS m", "`main`.`cdp`.`identities` AS i"}


def test_export_names_cannot_reach_another_tenant_or_the_products_tables(settings):
    assert exports.export_table_name(TenantRef(id=7, slug="a-b", name=""), "x") != exports.export_table_name(TenantRef(id=8, slug="a_b", name=""), "x")
    assert exports.export_table_name(TenantRef(id=7, slug="Acme Inc.", name=""), "vip") == "acme_inc_7__vip"
    for bad in ("Vip", "a__b", "1st", "vip_", "vip-list", "x" * 101, "events; DROP"):
        with pytest.raises(InvalidInput):
            exports._checked_name(bad)
    engine = databricks_engine()
    assert exports.export_location(engine) == ("main", "cdp_exports")
    settings.CDP_SEGMENT_EXPORT_SCHEMA = "main.cdp"
    with pytest.raises(InvalidInput, match="own schema"):
        exports.export_location(engine)
    settings.CDP_SEGMENT_EXPORT_SCHEMA = "main.`x`"
    with pytest.raises(InvalidInput, match="catalog.schema"):
        exports.export_location(engine)
    settings.CDP_SEGMENT_EXPORT_SCHEMA = "analytics.audiences"
    assert exports.export_location(engine) == ("analytics", "audiences")


@pytest.mark.spark
@pytest.mark.django_db
@pytest.mark.usefixtures("lakehouse")
def test_the_segment_page_exports_to_a_table_and_shows_how_it_went(spark_engine, tenant_a, console_as, monkeypatch):
    from tenancy.roles import Role

    monkeypatch.setattr(exports, "get_engine", lambda: spark_engine)
    sid = services.segment_create(tenant=tenant_a.ref, name="Beta <b>", kind="manual", definition=None, actor="t").id
    client = console_as(Role.EDITOR)
    page = client.get(f"/segments/{sid}/").content.decode()
    assert "Export to a table" in page and "Not exported yet." in page
    refused = client.post(f"/segments/{sid}/table/", {"name": "Not A Name"}, follow=True).content.decode()
    assert "lower-case letters" in refused
    done = client.post(f"/segments/{sid}/table/", {"name": "beta"}, follow=True).content.decode()
    table = f"spark_catalog.cdp_test_exports.alpha_{tenant_a.ref.id}__beta"
    assert f"Writing {table}" in done and f"<code>{table}</code>" in done and "done" in done
    viewer = console_as(Role.VIEWER).get(f"/segments/{sid}/").content.decode()
    assert f"<code>{table}</code>" in viewer and f"/segments/{sid}/table/" not in viewer  # a viewer sees exports, makes none
    spark_engine.session.sql(f"DROP TABLE IF EXISTS `spark_catalog`.`cdp_test_exports`.`alpha_{tenant_a.ref.id}__beta`")
