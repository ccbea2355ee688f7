"""The databricks engine's own code, without a network, using the connector's real types."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pytest
from databricks.sql import exc as dbexc
from databricks.sql.parameters.native import BigIntegerParameter, StringParameter, TimestampParameter, VoidParameter

from customers.tables import EVENTS, TRAITS
from lakehouse.backends.databricks import (
    MAX_PARAM_BYTES,
    MAX_ROWS_JSON_BYTES,
    DatabricksEngine,
    connect_arguments,
    databricks_parameters,
    map_databricks_error,
    results_from_arrow,
    rows_json_chunks,
)
from lakehouse.config import EngineConfig, parse_lakehouse_url
from lakehouse.errors import AuthenticationError, BadStatement, ConfigurationError, TableMissing, WarehouseUnavailable
from tests.lakehouse.databricks_sql import databricks_engine, sample_row

CONFIG = EngineConfig(kind="databricks", host="adb-1.azuredatabricks.net", http_path="/sql/1.0/warehouses/w1", catalog="main", schema="cdp")


class TestUrl:
    def test_full_url(self):
        config = parse_lakehouse_url("databricks://adb-1.azuredatabricks.net?http_path=/sql/1.0/warehouses/w1&catalog=prod&schema=crm", {})
        assert (config.kind, config.host, config.http_path, config.catalog, config.schema) == (
            "databricks", "adb-1.azuredatabricks.net", "/sql/1.0/warehouses/w1", "prod", "crm")

    def test_host_and_warehouse_from_the_app_environment(self):
        env = {"DATABRICKS_HOST": "https://ws.cloud.databricks.com/", "DATABRICKS_WAREHOUSE_ID": "abc123"}
        config = parse_lakehouse_url("databricks://?catalog=main&schema=cdp", env)
        assert (config.host, config.http_path) == ("ws.cloud.databricks.com", "/sql/1.0/warehouses/abc123")

    @pytest.mark.parametrize("url, words", [
        ("databricks://ws.example.com", "no SQL warehouse"),
        ("databricks://ws.example.com?warehouse_id=1&catalog=bad-name", "plain identifier"),
        ("databricks://ws.example.com?warehouse_id=1&colour=blue", "unknown option"),
        ("mysql://localhost", "unknown engine"),
        ("spark://", "which session"),
        ("spark://yarn", "neither local"),
    ])
    def test_bad_urls_name_the_setting(self, url, words):
        with pytest.raises(ConfigurationError) as caught:
            parse_lakehouse_url(url, {})
        assert "CDP_LAKEHOUSE" in str(caught.value) and words in str(caught.value)

    def test_other_engines(self):
        assert parse_lakehouse_url("", {}).kind == "default"
        assert parse_lakehouse_url("default://analytics", {}).alias == "analytics"
        local = parse_lakehouse_url("spark://local[2]", {})
        assert (local.master, local.catalog, local.table_format) == ("local[2]", "spark_catalog", "parquet")
        active = parse_lakehouse_url("spark://active?catalog=prod", {})
        assert (active.catalog, active.table_format) == ("prod", "delta")


@pytest.fixture
def workspace_host():
    """A real HTTP server on loopback standing where the workspace would be. databricks-sdk probes
    the host's metadata when it builds a config; this answers 404, as an old workspace does,
    so no test ever reaches outside this machine."""
    import http.server
    import threading

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class TestAuth:
    @pytest.fixture(autouse=True)
    def _clean_environment(self, monkeypatch, tmp_path, workspace_host):
        self.config = EngineConfig(**{**CONFIG.__dict__, "host": workspace_host})
        for name in ("DATABRICKS_TOKEN", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET", "DATABRICKS_CONFIG_PROFILE",
                     "DATABRICKS_HOST", "DATABRICKS_AUTH_TYPE", "DATABRICKS_CONFIG_FILE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / ".databrickscfg"))

    def test_personal_access_token_through_unified_auth(self, monkeypatch):
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-test-token")
        arguments, mode = connect_arguments(self.config)
        assert mode == "pat"
        headers = arguments["credentials_provider"]()()
        assert headers["Authorization"] == "Bearer dapi-test-token"
        assert arguments["server_hostname"] == self.config.host.split("://")[1]
        # No catalog or schema on the session: `lakehouse migrate` can create a schema that is not there yet.
        assert "catalog" not in arguments and "schema" not in arguments

    def test_a_databrickscfg_profile(self, tmp_path):
        (tmp_path / ".databrickscfg").write_text(f"[analytics]\nhost = {self.config.host}\ntoken = dapi-profile-token\n")
        arguments, mode = connect_arguments(EngineConfig(**{**self.config.__dict__, "profile": "analytics"}))
        assert mode == "pat" and arguments["credentials_provider"]()()["Authorization"] == "Bearer dapi-profile-token"

    def test_the_default_profile_supplies_host_and_token_when_the_url_names_no_host(self, tmp_path):
        (tmp_path / ".databrickscfg").write_text(f"[DEFAULT]\nhost = {self.config.host}\ntoken = dapi-default-token\n")
        config = parse_lakehouse_url("databricks://?warehouse_id=w1&catalog=main&schema=cdp", {})
        arguments, mode = connect_arguments(config)
        assert mode == "pat" and arguments["credentials_provider"]()()["Authorization"] == "Bearer dapi-default-token"
        assert arguments["server_hostname"] == self.config.host.split("://")[1]

    def test_no_host_anywhere_is_a_clear_error(self):
        with pytest.raises((ConfigurationError, AuthenticationError), match="host"):
            connect_arguments(parse_lakehouse_url("databricks://?warehouse_id=w1", {}))

    def test_no_credentials_is_a_clear_error(self):
        with pytest.raises(AuthenticationError, match="DATABRICKS_CLIENT_ID"):
            connect_arguments(self.config)


@pytest.fixture
def oidc_workspace():
    """A loopback workspace that speaks OAuth M2M as Databricks does: its OIDC discovery document
    and a token endpoint taking the client's id and secret (HTTP Basic), answering a bearer token."""
    import base64 as b64
    import http.server
    import json as js
    import threading

    seen = []

    class Workspace(http.server.BaseHTTPRequestHandler):
        def _json(self, body):
            data = js.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            host = f"http://127.0.0.1:{self.server.server_address[1]}"
            if self.path == "/.well-known/databricks-config":  # the SDK's host metadata probe
                return self._json({"oidc_endpoint": f"{host}/oidc", "workspace_id": "1234567890"})
            if self.path == "/oidc/.well-known/oauth-authorization-server":
                return self._json({"authorization_endpoint": f"{host}/oidc/v1/authorize", "token_endpoint": f"{host}/oidc/v1/token"})
            self.send_response(404)
            self.end_headers()

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/oidc/v1/token":
                seen.append(b64.b64decode(self.headers["Authorization"].split()[1]).decode())
                return self._json({"access_token": "sp-access-token", "token_type": "Bearer", "expires_in": 3600})
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Workspace)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_the_apps_service_principal_signs_in_by_oauth_m2m(oidc_workspace, monkeypatch, tmp_path):
    host, seen = oidc_workspace
    for name in ("DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE", "DATABRICKS_HOST", "DATABRICKS_AUTH_TYPE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / ".databrickscfg"))
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", "app-sp-id")  # what Databricks Apps sets
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", "app-sp-secret")
    arguments, mode = connect_arguments(EngineConfig(**{**CONFIG.__dict__, "host": host}))
    assert mode == "oauth-m2m"
    assert arguments["credentials_provider"]()()["Authorization"] == "Bearer sp-access-token"
    assert seen and seen[0] == "app-sp-id:app-sp-secret"


class TestParameters:
    def test_types(self):
        when = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
        converted = {p.name: p for p in databricks_parameters({"s": "x", "n": 2**40, "t": when, "none": None})}
        assert isinstance(converted["s"], StringParameter)
        assert isinstance(converted["n"], BigIntegerParameter)
        assert isinstance(converted["t"], TimestampParameter) and converted["t"].value == datetime(2026, 1, 1, 10, tzinfo=UTC)
        assert isinstance(converted["none"], VoidParameter)

    def test_thousands_of_rows_travel_as_one_json_parameter(self):
        engine = databricks_engine()
        rows = engine.row_tuples(EVENTS, [{**sample_row(EVENTS), "message_id": f"m{i}"} for i in range(3000)])
        statements = engine.insert_statements(EVENTS, rows, skip_existing=False)
        assert len(statements) == 1, "where one marker per value fitted 17 event rows a statement"
        sql, params = statements[0]
        assert list(params) == ["rows"] and sql.count(":rows") == 1 and "CAST(c10 AS TIMESTAMP)" in sql
        assert len(json.loads(params["rows"])) == 3000 and len(params["rows"].encode()) <= MAX_PARAM_BYTES

    def test_event_merges_join_on_the_clustered_event_time_and_bound_it_per_statement(self):
        """The key alone (tenant, messageId) is not clustered: a MERGE on it reads every file of the
        tenant. Joined on event_time too, and bounded by each statement's own rows, it reads those
        that can hold them."""
        engine = databricks_engine()
        start = datetime(2026, 3, 1, tzinfo=UTC)
        rows = engine.row_tuples(EVENTS, [{**sample_row(EVENTS), "message_id": f"m{i}", "properties": "x" * 2000,
                                           "event_time": start + timedelta(minutes=i)} for i in range(900)])
        for skip_existing in (True, None):
            statements = (engine.insert_statements(EVENTS, rows, skip_existing=True) if skip_existing
                          else engine.upsert_statements(EVENTS, rows, newer="received_at"))
            assert len(statements) > 1, "several statements, each bounded by its own rows"
            seen = 0
            for sql, params in statements:
                assert "t.`event_time` = s.`event_time`" in sql
                assert "t.`event_time` BETWEEN :merge_lo_event_time AND :merge_hi_event_time" in sql
                times = [datetime.fromisoformat(r["c10"]).replace(tzinfo=UTC) for r in json.loads(params["rows"])]
                assert params["merge_lo_event_time"] <= min(times) and max(times) <= params["merge_hi_event_time"]
                assert params["merge_hi_event_time"] - params["merge_lo_event_time"] <= max(times) - min(times) + timedelta(seconds=2)
                seen += len(times)
            assert seen == len(rows)

    def test_tables_without_merge_on_columns_merge_on_their_key_alone(self):
        [(sql, params)] = databricks_engine().upsert_statements(TRAITS, [databricks_engine().row_tuples(TRAITS, [sample_row(TRAITS)])[0]],
                                                               newer="updated_at")
        assert list(params) == ["rows"] and "BETWEEN" not in sql

    def test_chunks_stay_under_one_megabyte(self):
        big = "x" * 300_000
        chunks = rows_json_chunks([(big, 1)] * 7)
        assert [len(json.loads(c)) for c in chunks] == [2, 2, 2, 1]
        assert all(len(c.encode()) <= MAX_ROWS_JSON_BYTES for c in chunks)
        with pytest.raises(ValueError, match="byte"):
            rows_json_chunks([("y" * (MAX_PARAM_BYTES + 1),)])


class TestResults:
    def test_arrow_results_become_rows_with_utc_times(self):
        table = pa.table({"cdp_id": ["c1", "c2"], "seen": pa.array([datetime(2026, 1, 1), None], pa.timestamp("us")),
                          "revenue": pa.array([1.5, 2.0])})
        results = results_from_arrow(table, {"seen": "timestamp"})
        assert results.dicts() == [
            {"cdp_id": "c1", "seen": datetime(2026, 1, 1, tzinfo=UTC), "revenue": 1.5},
            {"cdp_id": "c2", "seen": None, "revenue": 2.0},
        ]
        assert results.arrow() is table and results.scalar() == "c1"


class TestErrors:
    @pytest.mark.parametrize("error, expected", [
        (dbexc.ServerOperationError("[TABLE_OR_VIEW_NOT_FOUND] The table `main`.`cdp`.`events` cannot be found."), TableMissing),
        (dbexc.ServerOperationError("[INSUFFICIENT_PERMISSIONS] User does not have USE SCHEMA on Schema 'main.cdp'."), AuthenticationError),
        (dbexc.RequestError("Error during request to server: connection timed out"), WarehouseUnavailable),
        (dbexc.OperationalError("TEMPORARILY_UNAVAILABLE: warehouse is starting"), WarehouseUnavailable),
        (dbexc.ServerOperationError("[PARSE_SYNTAX_ERROR] Syntax error at or near 'SELEC'."), BadStatement),
    ])
    def test_connector_errors_map_to_the_layers_types(self, error, expected):
        mapped = map_databricks_error(error, "customers.timeline")
        assert isinstance(mapped, expected)
        assert mapped.retryable == (expected is WarehouseUnavailable)

    def test_missing_table_says_what_to_run(self):
        mapped = map_databricks_error(dbexc.ServerOperationError("[TABLE_OR_VIEW_NOT_FOUND] x"), "s")
        assert "manage.py lakehouse migrate" in str(mapped)


class _Cursor:
    """Stands in for the connector's cursor at the network boundary; answers with real Arrow."""

    def __init__(self, outcomes, sent):
        self.outcomes, self.sent, self.description = outcomes, sent, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, parameters=None):
        self.sent.append((sql, parameters))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        self.description, self.result = [("n",)], outcome

    def fetchall_arrow(self):
        return self.result


class TestRetries:
    def _engine(self, outcomes, sent, sleeps):
        closed = self.closed = []

        class Connection:
            def cursor(self):
                return _Cursor(outcomes, sent)

            def close(self):
                closed.append(self)

        engine = DatabricksEngine(CONFIG, connect=lambda **kwargs: Connection(), arguments=lambda config: ({}, "test"),
                                  sleep=sleeps.append)
        return engine

    def test_a_dropped_connection_is_closed_and_a_read_retried_with_backoff(self):
        sent, sleeps = [], []
        outcomes = [dbexc.RequestError("connection reset by peer"), dbexc.OperationalError("502 Bad Gateway"), pa.table({"n": [1]})]
        engine = self._engine(outcomes, sent, sleeps)
        assert engine.execute("SELECT 1 AS n").scalar() == 1
        assert len(sent) == 3 and sleeps == [1.0, 3.0] and len(self.closed) == 2

    def test_busy_warehouses_are_left_to_the_connector_which_retried_already(self):
        sent, sleeps = [], []
        busy = dbexc.RequestError("Error during request to server", context={"http-code": 503})
        engine = self._engine([busy], sent, sleeps)
        with pytest.raises(WarehouseUnavailable):
            engine.execute("SELECT 1 AS n")
        assert len(sent) == 1 and sleeps == []
        engine = self._engine([dbexc.MaxRetryDurationError("retry budget of 900 s spent")], sent, sleeps)
        with pytest.raises(WarehouseUnavailable):
            engine.execute("SELECT 1 AS n")
        assert len(sent) == 2 and sleeps == []

    def test_a_request_the_server_refuses_is_not_retried(self):
        sent, sleeps = [], []
        too_many = dbexc.RequestError("too many parameters", context={"http-code": 400})
        engine = self._engine([too_many], sent, sleeps)
        with pytest.raises(BadStatement):
            engine.execute("SELECT 1 AS n")
        assert len(sent) == 1 and sleeps == []

    def test_a_plain_insert_is_not_rerun_after_an_ambiguous_failure(self):
        sent, sleeps = [], []
        engine = self._engine([dbexc.RequestError("connection reset by peer"), pa.table({"n": [0]})], sent, sleeps)
        with pytest.raises(WarehouseUnavailable):
            engine.insert_many(EVENTS, [sample_row(EVENTS)])
        assert len(sent) == 1, "the rows may have been written: running it again could write them twice"
        # A MERGE that inserts only missing keys may run again.
        engine = self._engine([dbexc.RequestError("connection reset by peer"), pa.table({"n": [0]})], sent, sleeps)
        engine.insert_many(EVENTS, [sample_row(EVENTS)], skip_existing=True)
        assert len(sent) == 3 and sent[-1][0].startswith("MERGE INTO")

    def test_a_delta_write_conflict_is_retried_even_for_an_insert(self):
        sent, sleeps = [], []
        conflict = dbexc.ServerOperationError("[DELTA_CONCURRENT_APPEND] Files were added to the root of the table by a "
                                              "concurrent update. Please retry the operation.")
        engine = self._engine([conflict, pa.table({"n": [0]})], sent, sleeps)
        engine.insert_many(EVENTS, [sample_row(EVENTS)])
        assert len(sent) == 2 and sleeps == [1.0]

    def test_an_expired_session_reconnects_once(self):
        sent, sleeps = [], []
        expired = dbexc.DatabaseError("Invalid SessionHandle: SessionHandle [2d5b]")
        engine = self._engine([expired, pa.table({"n": [7]})], sent, sleeps)
        with engine.not_idempotent():
            assert engine.execute("SELECT 7 AS n").scalar() == 7
        assert len(sent) == 2 and sleeps == [] and len(self.closed) == 1
        engine = self._engine([expired, expired], sent, sleeps)
        with pytest.raises(WarehouseUnavailable):
            engine.execute("SELECT 7 AS n")

    def test_bulk_reads_hand_over_the_fetched_arrow_table_and_retry_alike(self):
        from lakehouse.statements import Statement

        sent, sleeps, fetched = [], [], pa.table({"n": [1, 2]})
        engine = self._engine([dbexc.OperationalError("TEMPORARILY_UNAVAILABLE"), fetched], sent, sleeps)
        assert engine.arrow(Statement("test.bulk", "SELECT n FROM {events} WHERE tenant_id = :tenant_id"), {"tenant_id": "t"}) is fetched
        assert len(sent) == 2 and sleeps == [1.0]

    def test_a_bad_statement_is_not_retried_and_names_the_statement(self, caplog):
        sent, sleeps = [], []
        from lakehouse.statements import Statement

        engine = self._engine([dbexc.ServerOperationError("[PARSE_SYNTAX_ERROR] near 'x'")], sent, sleeps)
        with pytest.raises(BadStatement, match="customers.secret_lookup"):
            engine.execute(Statement("customers.secret_lookup", "SELECT x FROM {traits} WHERE tenant_id = :tenant_id AND value = :v"),
                           {"tenant_id": "t", "v": "jane@example.com"})
        assert sleeps == [] and len(sent) == 1
        assert "jane@example.com" not in caplog.text  # parameter values never reach the log

    def test_upsert_is_one_merge_per_chunk(self):
        sent, sleeps = [], []
        engine = self._engine([pa.table({"n": [0]})] * 10, sent, sleeps)
        rows = [{**sample_row(TRAITS), "key": f"k{i}"} for i in range(600)]
        engine.upsert(TRAITS, rows, newer="updated_at")
        assert len(sent) == 1 and sent[0][0].startswith("MERGE INTO `main`.`cdp`.`traits`")
        [rows_parameter] = sent[0][1]
        assert rows_parameter.name == "rows" and len(json.loads(rows_parameter.value)) == 600