"""CDP_LAKEHOUSE, the one setting that picks the engine, parsed into an EngineConfig.

    default                       the Django `default` connection (SQLite or PostgreSQL)
    default://<alias>             another Django connection
    spark://local[2]              a local PySpark session (plain parquet tables)
    spark://active                the running session on a Databricks cluster (Delta tables)
    databricks://<host>?http_path=/sql/1.0/warehouses/<id>&catalog=main&schema=cdp
                                  a SQL warehouse; host defaults to DATABRICKS_HOST, then to the
                                  ~/.databrickscfg profile (DEFAULT or profile=), http_path to
                                  warehouse_id= or DATABRICKS_WAREHOUSE_ID; profile=<name> picks a
                                  ~/.databrickscfg profile
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from lakehouse.errors import ConfigurationError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KNOWN = {
    "default": set(),
    "spark": {"catalog", "schema", "format", "warehouse_dir"},
    "databricks": {"http_path", "warehouse_id", "catalog", "schema", "profile"},
}


@dataclass(frozen=True)
class EngineConfig:
    kind: str
    alias: str = "default"
    master: str = ""
    catalog: str = ""
    schema: str = "cdp"
    table_format: str = "parquet"
    warehouse_dir: str = ""
    host: str = ""
    http_path: str = ""
    profile: str = ""

    @property
    def one_process(self) -> bool:
        """A local Spark session's warehouse serves one process at a time (lakehouse/backends/spark.py)."""
        return self.kind == "spark" and self.master != "active"


def _problem(url: str, why: str) -> ConfigurationError:
    return ConfigurationError(f"CDP_LAKEHOUSE={url!r} is not usable: {why}. See docs/lakehouse.md for the accepted forms.")


def parse_lakehouse_url(url: str, environ: Mapping[str, str] | None = None) -> EngineConfig:
    environ = os.environ if environ is None else environ
    url = (url or "default").strip()
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = url, ""
    if scheme not in _KNOWN:
        return _raise(_problem(url, f"unknown engine '{scheme}' (use default, spark or databricks)"))
    location, _, query = rest.partition("?")
    options = {key: values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}
    unknown = set(options) - _KNOWN[scheme]
    if unknown:
        return _raise(_problem(url, f"unknown option(s) {sorted(unknown)}"))
    for name in ("catalog", "schema"):
        if name in options and not _IDENTIFIER.match(options[name]):
            return _raise(_problem(url, f"{name} must be a plain identifier"))
    if scheme == "default":
        return EngineConfig(kind="default", alias=location or "default")
    if scheme == "spark":
        return _spark(url, location, options)
    return _databricks(url, location, options, environ)


def _raise(error: ConfigurationError):
    raise error


def _spark(url: str, master: str, options: dict) -> EngineConfig:
    if not master:
        raise _problem(url, "say which session: spark://local[2] or spark://active")
    active = master == "active"
    if not active and not re.match(r"^local(\[(\d+|\*)\])?$", master):
        raise _problem(url, f"'{master}' is neither local[N] nor active")
    table_format = options.get("format", "delta" if active else "parquet")
    if table_format not in ("delta", "parquet"):
        raise _problem(url, "format must be delta or parquet")
    return EngineConfig(
        kind="spark", master=master, table_format=table_format, schema=options.get("schema", "cdp"),
        catalog=options.get("catalog", "main" if active else "spark_catalog"), warehouse_dir=options.get("warehouse_dir", ""),
    )


def _databricks(url: str, host: str, options: dict, environ: Mapping[str, str]) -> EngineConfig:
    host = host or environ.get("DATABRICKS_HOST", "")
    http_path = options.get("http_path", "")
    warehouse_id = options.get("warehouse_id") or environ.get("DATABRICKS_WAREHOUSE_ID", "")
    if not http_path and warehouse_id:
        http_path = f"/sql/1.0/warehouses/{warehouse_id}"
    # No host: databricks-sdk takes it from ~/.databrickscfg (DEFAULT or the named profile).
    if not http_path:
        raise _problem(url, "no SQL warehouse (add http_path= or warehouse_id=, or set DATABRICKS_WAREHOUSE_ID)")
    return EngineConfig(
        kind="databricks", host=host.removeprefix("https://").rstrip("/"), http_path=http_path,
        catalog=options.get("catalog", "main"), schema=options.get("schema", "cdp"), profile=options.get("profile", ""),
        table_format="delta",
    )
