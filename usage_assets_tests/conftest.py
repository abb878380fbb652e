"""Shared fixtures: small hand-made event rows and an isolated pipeline environment."""

from __future__ import annotations

import os

# Charts are drawn without a display; set before anything imports matplotlib.
os.environ.setdefault("MPLBACKEND", "Agg")
# The ingest's retry policy waits USAGE_INGEST_RETRY_DELAY_S (default 30 s) before retrying a
# flaky source; the tests that drop connections on purpose should not wait that long.
os.environ.setdefault("USAGE_INGEST_RETRY_DELAY_S", "0.2")
# The partitions are built once per process, when the pipeline is imported, from the source
# the environment names (the demo fleet, from 2026-08-23); the tests' fleets and archives
# start earlier, so the tests fix the first partition before any import.
os.environ.setdefault("USAGE_PARTITIONS_START", "2026-01-01")

from collections.abc import Iterable  # noqa: E402

import polars as pl  # noqa: E402
import pytest  # noqa: E402

from usage_assets.sources.export_format import conform_to_export  # noqa: E402

ID_A = "aaaaaaaa-0000-4000-8000-00000000000a"
ID_B = "bbbbbbbb-0000-4000-8000-00000000000b"
ID_C = "cccccccc-0000-4000-8000-00000000000c"


def export_rows(rows: Iterable[dict[str, str | None]]) -> pl.DataFrame:
    """Export-format frame from dicts; unspecified columns are empty, ``v`` defaults to 1.31.0."""
    rows = [{"v": "1.31.0", **row} for row in rows]
    columns = sorted({name for row in rows for name in row})
    frame = pl.DataFrame({name: [row.get(name) for row in rows] for name in columns}, schema={n: pl.String for n in columns})
    return conform_to_export(frame)


def event(kind: str, registry_id: str | None, ts: str, **fields: str | None) -> dict[str, str | None]:
    """One export row as a dict."""
    return {"event": kind, "registry_id": registry_id, "ts": ts, **fields}


@pytest.fixture(scope="session", autouse=True)
def workspaces_dir(tmp_path_factory):
    """Default workspaces go to a temporary folder, never into the project."""
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("workspaces")
        patch.setenv("USAGE_WORKSPACES_DIR", str(folder))
        yield folder


@pytest.fixture
def pipeline_env(tmp_path, monkeypatch):
    """Data lake, reports and DAGSTER_HOME inside ``tmp_path``; returns the tmp folder."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    return tmp_path


# A real Prometheus server for the trends tests, started once per session (prometheus_server.py).
from usage_assets_tests.prometheus_server import prometheus_server  # noqa: E402,F401

# moto's S3 server on loopback for the object-storage tests (s3_server.py).
from usage_assets_tests.s3_server import moto_endpoint, s3_bucket, s3_credentials, s3_options  # noqa: E402,F401
