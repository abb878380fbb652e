"""The documentdb source end to end: a real OpenSSH bastion and a stand-in database, on loopback.

The bastion is a real ``sshd`` (Debian's openssh-server) started by the ``bastion``
fixture with its own host and user keys and its own sshd_config on a free 127.0.0.1 port
(:mod:`usage_assets_tests.loopback_sshd`). The database stands in for DocumentDB, which
cannot be installed on the test machines (no MongoDB server package is available): it
is :class:`usage_assets_tests.fake_docdb.FakeTelemetryDB`, a real MongoDB wire-protocol
server (``mockupdb``) with TLS from a test CA, SCRAM-SHA-1 authentication and
``mongomock`` evaluating every filter. pymongo speaks to it exactly as it speaks to
DocumentDB, through the real SSH tunnel, so the tunnel, TLS, credentials, the queries and
the failure handling are all exercised for real. Nothing leaves 127.0.0.1 and every wait
is bounded by a timeout.
"""

from __future__ import annotations

import csv
import logging
import os
import re
import socket
import subprocess
import traceback
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from click.testing import CliRunner
from dagster._serdes import serialize_value
from pydantic import SecretStr

from usage_assets.cli.main import main
from usage_assets.cli.runner import PipelineRunError, PipelineRunner
from usage_assets.definitions import build_telemetry_source
from usage_assets.defs.resources.telemetry import with_secrets_resolved
from usage_assets.settings import Settings, variable
from usage_assets.sources.errors import SourceError
from usage_assets.sources.export_format import EXPORT_COLUMNS
from usage_assets.storage.lake import Lake
from usage_assets_tests.conftest import ID_A, ID_B, ID_C
from usage_assets_tests.fake_docdb import DB_PASSWORD, DB_USER, FakeTelemetryDB, make_ca
from usage_assets_tests.loopback_sshd import (
    KEY_PASSPHRASE,
    LoopbackSshd,
    SilentServer,
    free_port,
    keygen,
    sshd_available,
)

DAY1, DAY2 = date(2026, 5, 1), date(2026, 5, 2)
#: The variables of the two secrets, as documented (read by dg.EnvVar when a run starts).
PASSWORD_ENV, KEY_PASSPHRASE_ENV = "USAGE_DOCDB_PASSWORD", "USAGE_BASTION_KEY_PASSPHRASE"


def _require_sshd() -> None:
    if not sshd_available():
        if os.environ.get("CI"):
            pytest.fail("sshd is missing: .ci/run installs openssh-server")
        pytest.skip("sshd is missing (apt-get install -y openssh-server)")


@pytest.fixture(scope="module")
def bastion(tmp_path_factory):
    """One loopback bastion for the tests that do not crash it."""
    _require_sshd()
    server = LoopbackSshd(tmp_path_factory.mktemp("bastion")).start()
    yield server
    server.kill()


@pytest.fixture
def own_bastion(tmp_path):
    """A bastion of this test's own, for tests that kill it."""
    _require_sshd()
    server = LoopbackSshd(tmp_path / "own-bastion").start()
    yield server
    server.kill()


def fleet_documents() -> dict[str, list[dict]]:
    """Two days of a small fleet, as the collector stores them (reference 2.3)."""
    shape = {"py": "3.12", "os": "linux", "arch": "x86_64", "mode": "with-gateway", "registry_mode": "full",
             "storage": "documentdb", "auth": "keycloak", "federation": False}
    startups = [
        {"registry_id": ID_A, "v": "1.31.0", "cloud": "aws", "compute": "ecs", **shape,
         "embeddings_provider": "litellm", "embeddings_backend_kind": "bedrock", "cloud_detection_method": "ecs_meta",
         "internal_only_deployment": False, "internal_deployment_type": "none", "search_queries_total": 5,
         "search_queries_24h": 1, "search_queries_1h": 0, "ts": datetime(2026, 5, 1, 8, 0, 0, 123456),
         "received_at": datetime(2026, 5, 1, 8, 0, 1), "an_extra_field": "ignored"},
        {"registry_id": ID_B, "v": "1.24.1-25-g5b4b2a30-main", "cloud": "unknown", "compute": "docker",
         "ts": datetime(2026, 5, 1, 9, 30)},  # an older registry: most optional fields absent
        {"registry_id": ID_C, "v": "1.31.0", "cloud": "gcp", "compute": "kubernetes", **shape,
         "cloud_detection_method": "k8s_heuristic", "ts": datetime(2026, 5, 2, 7, 15, 0, 5000)},
    ]
    heartbeats = []
    for day in (DAY1, DAY2):
        for hour, registry_id in ((10, ID_A), (11, ID_B)):
            heartbeats.append({
                "registry_id": registry_id, "v": "1.31.0", "cloud": "aws" if registry_id == ID_A else "unknown",
                "compute": "ecs" if registry_id == ID_A else "docker", "servers_count": 3, "agents_count": 1,
                "skills_count": 0, "peers_count": 0, "search_backend": "documentdb",
                "embeddings_provider": "litellm", "uptime_hours": 24, "search_queries_total": 40,
                "search_queries_24h": 12, "search_queries_1h": 2, "schema_version": 6,
                "auth_path_share_24h": {"keycloak": 50, "session_cookie": 50}, "auth_path_volume_bucket_24h": "10-99",
                "auth_path_window_hours": 24, "ts": datetime(day.year, day.month, day.day, hour, 0, 0, 250000),
                "received_at": datetime(day.year, day.month, day.day, hour, 0, 1),
            })
    # An old collector kept an unparsable-to-it ts as the registry's string (reference 3.4).
    heartbeats.append({"registry_id": ID_C, "v": "1.31.0", "cloud": "gcp", "compute": "kubernetes",
                       "ts": "2026-05-02T12:00:00.654321+00:00"})
    heartbeats.append(dict(heartbeats[0]))  # a duplicate delivery
    return {"startup_events": startups, "heartbeat_events": heartbeats}


@pytest.fixture
def database(tmp_path):
    with FakeTelemetryDB(tmp_path / "tls") as db:
        for collection, documents in fleet_documents().items():
            db.insert(collection, documents)
        yield db


@pytest.fixture
def secrets(monkeypatch):
    """The two secrets, given the way production gives them: environment variables."""
    monkeypatch.setenv(PASSWORD_ENV, DB_PASSWORD)
    monkeypatch.setenv(KEY_PASSPHRASE_ENV, KEY_PASSPHRASE)


def documentdb_settings(root: Path, bastion: LoopbackSshd, db: FakeTelemetryDB, **overrides) -> Settings:
    """Settings of the documentdb source for this bastion and database; ``overrides`` are
    named like the variables (``docdb_ca_file``, ``bastion_known_hosts``), as for the CLI."""
    values = dict(
        source="documentdb", data_dir=str(root / "data"), reports_dir=str(root / "reports"),
        docdb_host="127.0.0.1", docdb_port=db.port, docdb_user=DB_USER, docdb_ca_file=str(db.ca_file),
        docdb_server_selection_timeout_s=1.5, docdb_socket_timeout_s=5.0, docdb_query_timeout_s=5.0,
        docdb_batch_size=2, bastion_host="127.0.0.1", bastion_port=bastion.port, bastion_user=bastion.user,
        bastion_key_file=str(bastion.user_key), bastion_known_hosts=str(bastion.known_hosts), bastion_keepalive_s=5,
    )
    return Settings.from_env(**{**values, **overrides})


def source_for(settings: Settings):
    """The resource as a run sees it (dg.EnvVar secrets resolved)."""
    return with_secrets_resolved(build_telemetry_source(settings))


@pytest.fixture
def runner(tmp_path, pipeline_env, bastion, database, secrets):
    with dg.instance_for_test(temp_dir=str(pipeline_env / "dagster_home")) as instance:
        yield PipelineRunner(documentdb_settings(tmp_path, bastion, database), instance)


# -- the tunnel, TLS, credentials, queries ---------------------------------------------------

def test_a_day_arrives_through_the_tunnel_with_tls_and_credentials(tmp_path, bastion, database, secrets):
    source = source_for(documentdb_settings(tmp_path, bastion, database))
    frame = source.fetch_day(DAY2)
    assert frame.columns == list(EXPORT_COLUMNS)
    # Startup rows first, then heartbeats (reference 2.4); string ts kept as stored.
    assert frame["event"].to_list() == ["startup"] + ["heartbeat"] * 3
    assert sorted(frame["ts"].to_list()) == [
        "2026-05-02T07:15:00.005Z", "2026-05-02T10:00:00.250Z", "2026-05-02T11:00:00.250Z",
        "2026-05-02T12:00:00.654321+00:00",
    ]
    heartbeat = frame.filter(pl.col("registry_id") == ID_A).row(0, named=True)
    assert heartbeat["auth_path_share_24h"] == '{"keycloak":50,"session_cookie":50}'
    assert heartbeat["schema_version"] == "6"
    # What went over the wire: per-day $or on ts, a projection without _id, small batches.
    finds = [c for c in database.commands if "find" in c]
    assert {c["find"] for c in finds} == {"startup_events", "heartbeat_events"}
    assert all(c["projection"]["_id"] == 0 and "received_at" not in c["projection"] for c in finds)
    assert all(c["batchSize"] == 2 and "maxTimeMS" in c for c in finds)
    assert any(c.get("saslStart") for c in database.commands)  # SCRAM really happened
    assert source.count_day(DAY2) == {"startup": 1, "heartbeat": 3}
    assert source.count_day(DAY1) == {"startup": 2, "heartbeat": 3}  # the duplicate delivery counts
    assert source.coverage()[0] == DAY1
    # A heartbeat from an install whose clock says 1999 does not move the first day.
    database.insert("heartbeat_events", [{**fleet_documents()["heartbeat_events"][0], "ts": datetime(1999, 12, 31, 8)}])
    assert source.coverage()[0] == DAY1


def test_an_unknown_bastion_host_key_is_rejected_before_logging_in(tmp_path, bastion, database, secrets):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    logins_before = bastion.log.read_text().count("Accepted publickey")
    source = source_for(documentdb_settings(tmp_path, bastion, database, bastion_known_hosts=str(empty)))
    with pytest.raises(SourceError) as caught:
        source.fetch_day(DAY1)
    assert caught.value.stage == "tunnel" and not caught.value.transient
    assert f"presented host key ssh-ed25519 {bastion.host_key_fingerprint}" in str(caught.value)
    assert "not in" in str(caught.value) and "USAGE_BASTION_HOST_KEY_FINGERPRINT" in caught.value.next_step
    assert bastion.log.read_text().count("Accepted publickey") == logins_before
    assert not database.commands


def test_a_changed_bastion_host_key_is_rejected(tmp_path, bastion, database, secrets):
    impostor = keygen(tmp_path / "impostor_host_key").with_suffix(".pub").read_text().split()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{bastion.port} {impostor[0]} {impostor[1]}\n")
    source = source_for(documentdb_settings(tmp_path, bastion, database, bastion_known_hosts=str(known)))
    with pytest.raises(SourceError, match="known_hosts has SHA256:.*changed host key means") as caught:
        source.fetch_day(DAY1)
    assert not caught.value.transient


def test_a_pinned_fingerprint_replaces_known_hosts(tmp_path, bastion, database, secrets):
    missing = str(tmp_path / "no-known-hosts")
    pinned = documentdb_settings(tmp_path, bastion, database, bastion_known_hosts=missing,
                                 bastion_host_key_fingerprint=bastion.host_key_fingerprint)
    assert source_for(pinned).count_day(DAY1) == {"startup": 2, "heartbeat": 3}
    wrong = documentdb_settings(tmp_path, bastion, database, bastion_known_hosts=missing,
                                bastion_host_key_fingerprint="SHA256:" + "A" * 43)
    with pytest.raises(SourceError, match="not the pinned SHA256:AAAA"):
        source_for(wrong).count_day(DAY1)


def test_a_user_key_the_bastion_does_not_know_is_rejected(tmp_path, bastion, database, secrets):
    settings = documentdb_settings(tmp_path, bastion, database, bastion_key_file=str(bastion.other_key))
    with pytest.raises(SourceError, match=f"rejected the SSH key for user '{bastion.user}'") as caught:
        source_for(settings).fetch_day(DAY1)
    assert caught.value.stage == "tunnel" and not caught.value.transient
    assert "authorized_keys" in caught.value.next_step


def test_a_wrong_key_passphrase_is_explained(tmp_path, bastion, database, monkeypatch):
    # Issue 12, item 3: a wrong passphrase on an OpenSSH-format key (ssh-keygen's default
    # format, as the bastion's user key here) said "Valid PEM but no BEGIN/END delimiters".
    assert bastion.user_key.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    monkeypatch.setenv(PASSWORD_ENV, DB_PASSWORD)
    monkeypatch.setenv(KEY_PASSPHRASE_ENV, "not-the-passphrase-9")
    with pytest.raises(SourceError) as caught:
        source_for(documentdb_settings(tmp_path, bastion, database)).fetch_day(DAY1)
    assert caught.value.what == (
        f"the passphrase in USAGE_BASTION_KEY_PASSPHRASE did not decrypt the SSH key {bastion.user_key}")
    assert caught.value.stage == "config" and not caught.value.transient
    assert "PEM" not in str(caught.value) and "not-the-passphrase-9" not in str(caught.value)
    # The same for a key in the older PEM format.
    pem_key = tmp_path / "pem_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "1024", "-m", "PEM", "-N", KEY_PASSPHRASE,
                    "-f", str(pem_key)], check=True, timeout=30)
    with pytest.raises(SourceError, match=f"did not decrypt the SSH key {pem_key}"):
        source_for(documentdb_settings(tmp_path, bastion, database, bastion_key_file=str(pem_key))).fetch_day(DAY1)
    monkeypatch.delenv(KEY_PASSPHRASE_ENV)
    with pytest.raises(SourceError, match="protected by a passphrase and none was given"):
        source_for(documentdb_settings(tmp_path, bastion, database)).fetch_day(DAY1)


def test_a_wrong_database_password_is_an_auth_failure_that_is_not_retried(tmp_path, bastion, database, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "pw-not-the-right-one-4")
    monkeypatch.setenv(KEY_PASSPHRASE_ENV, KEY_PASSPHRASE)
    with pytest.raises(SourceError, match=f"rejected the credentials of user '{DB_USER}'") as caught:
        source_for(documentdb_settings(tmp_path, bastion, database)).fetch_day(DAY1)
    assert caught.value.stage == "auth" and not caught.value.transient
    assert not [c for c in database.commands if "find" in c]


def test_a_certificate_from_another_ca_fails_tls_with_a_hint(tmp_path, bastion, database, secrets):
    other_ca, _, _ = make_ca(tmp_path, "some other CA")
    settings = documentdb_settings(tmp_path, bastion, database, docdb_ca_file=str(other_ca),
                                   docdb_server_selection_timeout_s=2.0)
    with pytest.raises(SourceError, match="TLS handshake") as caught:
        source_for(settings).fetch_day(DAY1)
    assert caught.value.stage == "tls" and "USAGE_DOCDB_CA_FILE" in caught.value.next_step


@pytest.mark.parametrize("where", ["closed port", "unknown name"])
def test_a_database_the_bastion_cannot_reach_is_named_and_retryable(tmp_path, bastion, database, secrets, capfd, where):
    """Issue 12, item 1: with TLS on, a database port closed as seen from the bastion (or a
    host name the bastion cannot resolve) was blamed on the CA file and not retried."""
    address = {"docdb_port": free_port()} if where == "closed port" else {"docdb_host": "docdb.example.invalid"}
    settings = documentdb_settings(tmp_path, bastion, database, **address)
    assert settings.docdb.tls
    with pytest.raises(SourceError) as caught:
        source_for(settings).fetch_day(DAY1)
    where_db = f"{settings.docdb.host}:{settings.docdb.port}"
    assert caught.value.what.startswith(f"the bastion could not reach the database at {where_db} (")
    assert caught.value.transient and caught.value.stage == "connect"
    assert "USAGE_DOCDB_HOST/USAGE_DOCDB_PORT" in caught.value.next_step
    assert "TLS" not in str(caught.value) and "CA_FILE" not in str(caught.value)
    assert "open failed" in bastion.log.read_text() or "connect_to" in bastion.log.read_text()
    # paramiko's own "Secsh channel N open FAILED" lines do not reach the terminal.
    captured = capfd.readouterr()
    assert "Secsh channel" not in captured.err + captured.out


def test_a_database_behind_a_firewall_that_drops_packets_is_not_blamed_on_tls(tmp_path, bastion, database, secrets):
    """The bastion's connection to the database hangs (an AWS security group drops the
    packets) while pymongo's TLS handshake times out first. Stood in for by a port whose
    accept queue is full: Linux drops further SYNs, so a connect there hangs."""
    black_hole = socket.create_server(("127.0.0.1", 0), backlog=0)
    filler = socket.create_connection(black_hole.getsockname())
    try:
        settings = documentdb_settings(tmp_path, bastion, database, docdb_port=black_hole.getsockname()[1],
                                       docdb_server_selection_timeout_s=0.8, bastion_timeout_s=3.0)
        with pytest.raises(SourceError) as caught:
            source_for(settings).fetch_day(DAY1)
    finally:
        filler.close()
        black_hole.close()
    assert caught.value.what.startswith(
        f"the bastion could not reach the database at 127.0.0.1:{settings.docdb.port} (the bastion was still trying "
        "to connect after 0.8 s) while connecting to")
    assert caught.value.transient and "CA_FILE" not in str(caught.value)


def test_a_bastion_that_accepts_tcp_and_never_answers_times_out_with_our_message(tmp_path, bastion, database,
                                                                                 secrets, capfd):
    """Issue 12, item 2: a silent bastion gave "SSHException: No existing session"."""
    with SilentServer() as silent:
        settings = documentdb_settings(tmp_path, bastion, database, bastion_port=silent.port, bastion_timeout_s=0.5)
        with pytest.raises(SourceError) as caught:
            source_for(settings).fetch_day(DAY1)
        assert silent.connections  # the TCP connection was accepted
    assert caught.value.what == f"the bastion 127.0.0.1:{silent.port} did not answer within 0.5 s"
    assert caught.value.transient and caught.value.stage == "tunnel"
    assert "session" not in str(caught.value)
    captured = capfd.readouterr()
    assert "protocol banner" not in captured.err + captured.out


def test_both_ways_paramiko_reports_a_silent_bastion_are_recognised():
    """With one timeout for everything, paramiko says either "No existing session" (its
    handshake wait ended first) or "Error reading SSH protocol banner" (its banner read
    did); the second was seen only on a loaded machine, so it is provoked here."""
    import paramiko

    from usage_assets.sources.documentdb.ssh_tunnel import _handshake_never_finished

    with SilentServer() as silent:
        client = paramiko.SSHClient()
        with pytest.raises(paramiko.SSHException) as caught:
            client.connect("127.0.0.1", port=silent.port, username="nobody", password="-", timeout=5,
                           banner_timeout=0.2, auth_timeout=5, allow_agent=False, look_for_keys=False)
        client.close()
    assert "Error reading SSH protocol banner" in str(caught.value)
    assert _handshake_never_finished(caught.value)
    assert _handshake_never_finished(paramiko.SSHException("No existing session"))
    hung_up = paramiko.SSHException("Error reading SSH protocol banner")
    hung_up.__context__ = EOFError()
    assert not _handshake_never_finished(hung_up)  # a bastion that hangs up did answer


def test_a_query_over_its_budget_times_out_and_is_retryable(tmp_path, bastion, database, secrets):
    database.stall_find_s = 0.8
    settings = documentdb_settings(tmp_path, bastion, database, docdb_query_timeout_s=0.3)
    with pytest.raises(SourceError, match="timed out while reading telemetry.startup_events for 2026-05-01") as caught:
        source_for(settings).fetch_day(DAY1)
    assert caught.value.transient


# -- the pipeline: equality with csv, failures mid-stream, retries ------------------------------

def _as_csv_row(event: str, document: dict) -> dict[str, str]:
    """The reference export's spelling of a test document, written out by hand (reference 2.4)."""
    row = {}
    for name, value in document.items():
        if name in ("received_at", "an_extra_field"):
            continue
        if isinstance(value, bool):
            row[name] = "True" if value else "False"
        elif isinstance(value, datetime):
            row[name] = value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
        elif isinstance(value, dict):
            row[name] = "{" + ",".join(f'"{k}":{v}' for k, v in value.items()) + "}"
        else:
            row[name] = str(value)
    return {"event": event, **row}


def test_the_same_events_through_csv_and_documentdb_give_identical_raw_events(runner, tmp_path):
    documents = fleet_documents()
    # A snapshot folder dated the day after DAY2, so both days count as complete.
    export = tmp_path / "export" / (DAY2 + timedelta(days=1)).isoformat() / "registry_metrics.csv"
    export.parent.mkdir(parents=True)
    with export.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=EXPORT_COLUMNS, extrasaction="raise")
        writer.writeheader()
        writer.writerows(_as_csv_row("startup", doc) for doc in documents["startup_events"])
        writer.writerows(_as_csv_row("heartbeat", doc) for doc in documents["heartbeat_events"])
    csv_settings = Settings(source="csv", csv_path=str(export.parent.parent), data_dir=str(tmp_path / "csv-data"),
                            reports_dir=str(tmp_path / "csv-reports"))
    # Another source: its own Dagster instance (one instance never records two sources).
    (tmp_path / "csv-home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "csv-home")) as csv_instance:
        csv_runner = PipelineRunner(csv_settings, csv_instance)
        for day in (DAY1, DAY2):
            runner.ingest(day)
            csv_runner.ingest(day)
            from_db = Lake(tmp_path / "data").read_frame("raw_events", day)
            from_csv = Lake(tmp_path / "csv-data").read_frame("raw_events", day)
            assert from_db.height > 0
            assert from_db.equals(from_csv), (from_db, from_csv)
    assert Lake(tmp_path / "data").read_json("ingest_stats", DAY1)["duplicates"] == 1
    assert Lake(tmp_path / "csv-data").read_json("ingest_stats", DAY1)["duplicates"] == 1


def _run_messages(instance: dg.DagsterInstance, run_id: str) -> str:
    return "\n".join(serialize_value(entry) for entry in instance.all_logs(run_id))


def crash_once(crash):
    """A getMore hook that runs ``crash`` at the next getMore only, then hangs up."""
    done = []

    def hook(_count: int) -> bool:
        if done:
            return False
        done.append(True)
        crash()
        return True

    return hook


def test_a_bastion_crash_mid_stream_fails_cleanly_and_a_retry_writes_the_whole_day(
    tmp_path, pipeline_env, own_bastion, database, secrets
):
    settings = documentdb_settings(tmp_path, own_bastion, database)
    with dg.instance_for_test(temp_dir=str(pipeline_env / "dagster_home")) as instance:
        runner = PipelineRunner(settings, instance)
        runner.ingest(DAY1)
        lake = Lake(tmp_path / "data")
        good = lake.path("raw_events", DAY1).read_bytes()
        assert lake.read_frame("raw_events", DAY1).height == 4

        # Late events arrive, then the bastion dies while the day is being read, for good.
        database.insert("heartbeat_events", [
            {"registry_id": ID_C, "v": "1.31.0", "cloud": "gcp", "compute": "kubernetes",
             "ts": datetime(2026, 5, 1, 23, 0)}])
        database.on_get_more = crash_once(own_bastion.kill)
        with pytest.raises(PipelineRunError, match="refused the connection") as caught:
            runner.ingest(DAY1)
        assert "USAGE_BASTION_PORT" in str(caught.value)
        failed_run = instance.get_runs(limit=1)[0]
        messages = _run_messages(instance, failed_run.run_id)
        assert "SSH tunnel to the bastion 127.0.0.1 closed while reading telemetry." in messages
        assert messages.count('"STEP_UP_FOR_RETRY"') == 3
        # No partial output: the previous good partition, byte for byte, and no temp files.
        assert lake.path("raw_events", DAY1).read_bytes() == good
        assert not [p for p in (tmp_path / "data").rglob(".*") if p.is_file()]

        # The bastion crashes once more mid-stream and comes straight back: the retry succeeds.
        own_bastion.start()
        database.on_get_more = crash_once(own_bastion.restart)
        runner.ingest(DAY1)
        messages = _run_messages(instance, instance.get_runs(limit=1)[0].run_id)
        assert messages.count('"STEP_UP_FOR_RETRY"') == 1
        assert lake.read_frame("raw_events", DAY1).height == 5  # the whole day, late event included


def test_errors_a_retry_cannot_fix_fail_at_once(runner, tmp_path, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "pw-not-the-right-one-4")
    failing = PipelineRunner(runner.settings, runner.instance)
    with pytest.raises(PipelineRunError, match="rejected the credentials"):
        failing.ingest(DAY1)
    messages = _run_messages(runner.instance, runner.instance.get_runs(limit=1)[0].run_id)
    assert '"STEP_UP_FOR_RETRY"' not in messages


# -- late-arriving events -----------------------------------------------------------------------

def test_the_reconciliation_check_names_days_that_fell_behind_and_a_rematerialization_fixes_them(runner, database):
    report_job = runner.definitions.resolve_job_def("daily_usage_report")

    def check_after_report(day: date) -> dg.AssetCheckEvaluation:
        """The report job's ingest step and its checks only (the rest of the report is not needed)."""
        ingest = ("raw_events", "rejected_events", "field_quarantine", "ingest_stats")
        result = report_job.execute_in_process(partition_key=day.isoformat(), instance=runner.instance,
                                               asset_selection=[dg.AssetKey(name) for name in ingest],
                                               run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
        assert result.success
        return next(e for e in result.get_asset_check_evaluations() if e.check_name == "raw_events_match_source")

    runner.ingest(DAY1)
    assert check_after_report(DAY2).passed
    database.insert("startup_events", [{"registry_id": ID_C, "v": "1.31.0", "ts": datetime(2026, 5, 1, 22, 0)}])
    late = check_after_report(DAY2)
    assert not late.passed and late.severity == dg.AssetCheckSeverity.WARN
    assert "2026-05-01 (startup 2 -> 3)" in late.description
    assert "usage-report backfill --start 2026-05-01 --end 2026-05-02 --force" in late.description
    assert late.metadata["days_behind"].value == ["2026-05-01"]
    runner.ingest(DAY1)
    assert check_after_report(DAY2).passed


# -- the CLI ------------------------------------------------------------------------------------

def _cli_env(settings: Settings) -> dict[str, str]:
    """The documentdb settings as environment variables (the secrets are in the environment already)."""
    return {variable(group, name): str(value)
            for group in ("docdb", "bastion") for name, value in getattr(settings, group)
            if value is not None and not isinstance(value, SecretStr)}


def test_check_source_walks_through_every_step(tmp_path, pipeline_env, bastion, database, secrets):
    settings = documentdb_settings(tmp_path, bastion, database)
    result = CliRunner().invoke(main, ["check-source", "--source", "documentdb", "--date", "2026-05-02"],
                                env=_cli_env(settings))
    assert result.exit_code == 0, result.output
    for expected in (
        f"[ok] SSH tunnel: {bastion.user}@127.0.0.1:{bastion.port}: host key {bastion.host_key_fingerprint}",
        "[ok] database connection: 127.0.0.1:", "TLS verified against the CA file, authenticated as telemetry_reader",
        "[ok] collections: telemetry.startup_events, telemetry.heartbeat_events",
        # Issue 12, item 5: the documents stored, and what the report counts of them.
        ("[ok] events on 2026-05-02: stored: startup 1, heartbeat 3 (duplicates and rejects included); distinct valid "
         "events, as the report counts them: startup 1, heartbeat 3 (0 duplicate(s), 0 rejected left out)"),
        "The source works.",
    ):
        assert expected in result.output


def test_check_source_tells_stored_documents_from_distinct_valid_events(tmp_path, pipeline_env, bastion, database,
                                                                        secrets):
    """Issue 12, item 5: check-source counted raw documents (duplicates and rejects
    included) while the report shows distinct valid events; it prints both."""
    database.insert("heartbeat_events", [{"registry_id": "not-a-uuid", "ts": datetime(2026, 5, 1, 13, 0)}])
    settings = documentdb_settings(tmp_path, bastion, database)
    result = CliRunner().invoke(main, ["check-source", "--source", "documentdb", "--date", "2026-05-01"],
                                env=_cli_env(settings))
    assert result.exit_code == 0, result.output
    # DAY1 holds 2 startups and 4 heartbeat documents: one a duplicate delivery, one without a valid id.
    assert ("[ok] events on 2026-05-01: stored: startup 2, heartbeat 4 (duplicates and rejects included); distinct "
            "valid events, as the report counts them: startup 2, heartbeat 2 (1 duplicate(s), 1 rejected left out)"
            ) in result.output


def test_check_source_explains_the_failing_step(tmp_path, pipeline_env, bastion, database, secrets):
    settings = documentdb_settings(tmp_path, bastion, database, docdb_database="telemetry_typo")
    result = CliRunner().invoke(main, ["check-source", "--source", "documentdb"], env=_cli_env(settings))
    assert result.exit_code == 1
    assert "[FAILED] collections: startup_events, heartbeat_events not found in database 'telemetry_typo'" in (
        result.output)
    assert "Check USAGE_DOCDB_DATABASE" in result.output

    env = {**_cli_env(settings), "USAGE_BASTION_PORT": str(bastion.port), "USAGE_BASTION_USER": "nobody-here"}
    result = CliRunner().invoke(main, ["check-source", "--source", "documentdb"], env=env)
    assert result.exit_code == 1
    assert "[FAILED] SSH tunnel:" in result.output and "rejected the SSH key for user 'nobody-here'" in result.output

    # Issue 12, item 3: a wrong key passphrase printed "[ok] settings" and then "[FAILED] settings".
    env = {**_cli_env(settings), KEY_PASSPHRASE_ENV: "not-the-passphrase-9"}
    result = CliRunner().invoke(main, ["check-source", "--source", "documentdb"], env=env)
    assert result.exit_code == 1
    steps = [line.strip() for line in result.output.splitlines() if line.strip().startswith("[")]
    wrong_passphrase = (
        f"[FAILED] settings: the passphrase in USAGE_BASTION_KEY_PASSPHRASE did not decrypt the SSH key "
        f"{bastion.user_key}. Set USAGE_BASTION_KEY_PASSPHRASE to that key's passphrase (`ssh-keygen -y "
        f"-f {bastion.user_key}` asks for it and tests it), or USAGE_BASTION_KEY_FILE to the key it belongs to."
    )
    assert steps == [wrong_passphrase]


def test_run_builds_the_report_from_the_database(tmp_path, pipeline_env, bastion, database, secrets):
    settings = documentdb_settings(tmp_path, bastion, database)
    result = CliRunner().invoke(main, ["run", "--source", "documentdb", "--date", "2026-05-02"], env={
        **_cli_env(settings), "USAGE_DATA_DIR": settings.data_dir, "USAGE_REPORTS_DIR": settings.reports_dir})
    assert result.exit_code == 0, result.output
    report = Path(settings.reports_dir) / "2026-05-02" / "usage-report-2026-05-02.html"
    assert str(report) in result.output and report.is_file()
    assert "via bastion" in result.output


def _cli_run(settings: Settings, *arguments: str, **env: str):
    """``usage-report run --source documentdb --date 2026-05-02 ARGUMENTS`` on ``settings``;
    returns click's result (the output holds stdout and stderr, one log message a line)."""
    return CliRunner().invoke(main, ["run", "--source", "documentdb", "--date", "2026-05-02", *arguments], env={
        **_cli_env(settings), "USAGE_DATA_DIR": settings.data_dir, "USAGE_REPORTS_DIR": settings.reports_dir,
        "COLUMNS": "1000", **env})


def _error_block(output: str) -> list[str]:
    """The lines from ``Error:`` to the end, without their right-hand padding."""
    lines = [line.rstrip() for line in output.splitlines()]
    start = next(n for n, line in enumerate(lines) if line.startswith("Error:"))
    return [line for line in lines[start:] if line]


def _retry_lines(output: str) -> list[str]:
    """The retry lines, without rich's time stamp and source column."""
    return [re.search(r"retrying in [0-9.]+ s: .*?(?=\s{2,}\S+\.py:\d+|$)", line).group(0)
            for line in output.splitlines() if "retrying in" in line]


NOISE = ("Stack Trace", "Traceback", "Not executing", "usage_assets.", "dagster._core", "max_retries", ".Failure",
         "Secsh channel")


def test_a_step_that_fails_for_good_is_told_in_a_few_plain_lines(tmp_path, pipeline_env, bastion, database, secrets):
    """Issue 12, item 12: a failing step printed 65-90 lines of Dagster logs and stack traces."""
    database.find_error = (13, "not authorized on telemetry to execute command find")
    settings = documentdb_settings(tmp_path, bastion, database)
    result = _cli_run(settings)
    assert result.exit_code == 1
    block = _error_block(result.output)
    run_id = re.search(r"run ([0-9a-f-]{36}) ", block[-1]).group(1)
    assert block == [
        "Error: daily_ingest for 2026-05-01 failed.",
        "  Assets:  field_quarantine, ingest_stats, raw_events, rejected_events, partition 2026-05-01",
        ("  Reason:  user 'telemetry_reader' may not read telemetry (OperationFailure: not authorized on telemetry to "
         "execute command find, full error: {'ok': 0, 'code': 13, 'errmsg': 'not authorized on telemetry to execute "
         "command find'}) while reading telemetry.startup_events for 2026-05-01"),
        "  Next:    Grant the user the read role on that database, or check USAGE_DOCDB_DATABASE.",
        f"  Details: run {run_id} in the Dagster UI (`usage-report ui`), or run again with --verbose",
    ]
    assert not [word for word in NOISE if word in result.output]
    assert not _retry_lines(result.output)  # a permission is not retried

    # The full trace stays in the event log, and --verbose prints Dagster's lines with it.
    with dg.DagsterInstance.from_config(str(pipeline_env / "dagster_home")) as instance:
        assert "OperationFailure" in _run_messages(instance, run_id)
    verbose = _cli_run(settings, "--verbose")
    assert verbose.exit_code == 1
    assert "Stack Trace" in verbose.output and "Not executing" in verbose.output
    assert _error_block(verbose.output)[2] == block[2]


def test_a_step_failing_after_its_retries_tells_each_retry_and_the_reason(tmp_path, pipeline_env, bastion, database,
                                                                           secrets):
    """Issue 12, items 4 and 12: retries during ingest were silent, and the final line read
    "... (exceeded max_retries of 3)" after a Python class path."""
    database.stall_find_s = 0.6
    result = _cli_run(documentdb_settings(tmp_path, bastion, database, docdb_query_timeout_s=0.2))
    assert result.exit_code == 1
    reason = ("the query timed out while reading telemetry.startup_events for 2026-05-01 (budget 0.2 s per query, "
              "socket 5 s) through the bastion 127.0.0.1; nothing was written")
    retries = _retry_lines(result.output)
    assert [line.split(": ", 1)[1] for line in retries] == [reason] * 3
    # USAGE_INGEST_RETRY_DELAY_S=0.2 (conftest), exponential backoff: 0.2, 0.6, 1.4 s, give or take 0.2 s.
    waits = [float(line.split()[2]) for line in retries]
    assert all(low - 0.05 <= wait <= high + 0.05 for wait, (low, high) in zip(waits, [(0, 0.4), (0.4, 0.8), (1.2, 1.6)]))
    block = _error_block(result.output)
    assert block[:4] == [
        "Error: daily_ingest for 2026-05-01 failed.",
        "  Assets:  field_quarantine, ingest_stats, raw_events, rejected_events, partition 2026-05-01",
        f"  Reason:  {reason} (gave up after 3 retries)",
        ("  Next:    If it keeps timing out, raise USAGE_DOCDB_QUERY_TIMEOUT_S or check the database's load (an index "
         "on ts makes day queries cheap)."),
    ]
    assert block[4].startswith("  Details: run ") and len(block) == 5
    assert not [word for word in NOISE if word in result.output]


def test_run_retries_the_first_read_of_the_source_and_says_so(tmp_path, pipeline_env, bastion, database, secrets):
    """Issue 12, item 4: the coverage read at the start of `run` was not retried."""
    settings = documentdb_settings(tmp_path, bastion, database, docdb_port=free_port())
    result = _cli_run(settings)
    assert result.exit_code == 1
    reason = f"the bastion could not reach the database at 127.0.0.1:{settings.docdb.port} (the bastion answered: "
    retries = _retry_lines(result.output)
    assert len(retries) == 3 and all(line.split(": ", 1)[1].startswith(reason) for line in retries)
    assert _error_block(result.output)[0].startswith(f"Error: {reason}")
    assert not [word for word in NOISE if word in result.output]


# -- secrets -------------------------------------------------------------------------------------

def test_no_secret_reaches_logs_errors_the_event_log_or_any_file(
    tmp_path, pipeline_env, bastion, database, monkeypatch, caplog, capfd
):
    """Every failure path runs, then every text and every file is searched for the secrets."""
    wrong_password = "pw-Wr0ng-but-still-secret-8"
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(KEY_PASSPHRASE_ENV, KEY_PASSPHRASE)
    texts: list[str] = []

    def record(error: BaseException) -> None:
        texts.append("".join(traceback.format_exception(error)))

    # Settings are read with the secrets in place, as the CLI and the UI read them.
    monkeypatch.setenv(PASSWORD_ENV, DB_PASSWORD)
    settings = documentdb_settings(tmp_path, bastion, database)
    with dg.instance_for_test(temp_dir=str(pipeline_env / "dagster_home")) as instance:
        runner = PipelineRunner(settings, instance)
        runner.ingest(DAY1)  # the secrets work: a real login through the tunnel
        runner.report(DAY2)
        empty_known_hosts = tmp_path / "empty_known_hosts"
        empty_known_hosts.write_text("")
        other_ca, _, _ = make_ca(tmp_path, "another CA")
        failing = [
            ({}, {PASSWORD_ENV: wrong_password}),
            ({"bastion_known_hosts": str(empty_known_hosts)}, {}),
            ({"bastion_key_file": str(bastion.other_key)}, {}),
            ({"docdb_ca_file": str(other_ca), "docdb_server_selection_timeout_s": 2.0}, {}),
            ({}, {"hang_up": "1"}),
        ]
        for overrides, extra in failing:
            monkeypatch.setenv(PASSWORD_ENV, extra.get(PASSWORD_ENV, DB_PASSWORD))
            database.hang_up_on_get_more = "hang_up" in extra
            failing_runner = PipelineRunner(documentdb_settings(tmp_path, bastion, database, **overrides), instance)
            with pytest.raises(PipelineRunError) as caught:
                failing_runner.ingest(DAY2)
            record(caught.value)
            result = CliRunner().invoke(main, ["check-source", "--source", "documentdb", "--date", "2026-05-02"],
                                        env=_cli_env(documentdb_settings(tmp_path, bastion, database, **overrides)))
            assert result.output.startswith("Source: DocumentDB 127.0.0.1:")
            texts.append(result.output)
        database.hang_up_on_get_more = False
        for run in instance.get_runs():
            texts.append(_run_messages(instance, run.run_id))
            texts.append(serialize_value(run))
        assert sum('"STEP_UP_FOR_RETRY"' in text for text in texts) == 1  # the dropped connection was retried
    captured = capfd.readouterr()
    texts += [caplog.text, captured.out, captured.err]
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.suffix == ".html" for path in files) and any(path.name.endswith(".db") for path in files)
    for secret in (DB_PASSWORD, wrong_password, KEY_PASSPHRASE):
        assert not [text for text in texts if secret in text], secret
        assert not [path for path in files if secret.encode() in path.read_bytes()], secret
