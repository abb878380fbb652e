"""``usage-report check-source`` on the demo and csv sources (documentdb: sources/documentdb/test_source.py)."""

from click.testing import CliRunner

from usage_assets.cli.main import main
from usage_assets_tests.conftest import ID_A
from usage_assets_tests.sources.test_csv_archive import header_variant, write_export


def test_check_source_explains_itself():
    result = CliRunner().invoke(main, ["check-source", "--help"])
    assert result.exit_code == 0
    assert "SSH tunnel" in result.output and "what to check next" in result.output


def test_check_source_on_csv_prints_the_coverage_and_a_days_counts(pipeline_env):
    rows = [
        {"event": "startup", "registry_id": ID_A, "v": "1.31.0", "ts": "2026-05-01T08:00:00.000Z"},
        {"event": "heartbeat", "registry_id": ID_A, "v": "1.31.0", "ts": "2026-05-01T09:00:00.000Z"},
        {"event": "heartbeat", "registry_id": ID_A, "v": "1.31.0", "ts": "2026-05-02T09:00:00.000Z"},
        {"event": "heartbeat", "registry_id": ID_A, "v": "1.31.0", "ts": "2026-05-03T09:00:00.000Z"},
    ]
    write_export(pipeline_env / "exports" / "registry_metrics.csv", header_variant(34), rows)
    result = CliRunner().invoke(main, ["check-source", "--source", "csv", "--csv-path",
                                       str(pipeline_env / "exports"), "--data-dir", str(pipeline_env / "data")])
    assert result.exit_code == 0, result.output
    assert "[ok] coverage: events from 2026-05-01 to 2026-05-02 (last complete day)" in result.output
    assert "[ok] events on 2026-05-02: stored: startup 0, heartbeat 1 (duplicates and rejects included); " \
        "distinct valid events, as the report counts them: startup 0, heartbeat 1" in result.output
    result = CliRunner().invoke(main, ["check-source", "--source", "csv", "--csv-path", str(pipeline_env / "exports"),
                                       "--data-dir", str(pipeline_env / "data"), "--date", "2026-05-01"])
    assert "[ok] events on 2026-05-01: stored: startup 1, heartbeat 1 (duplicates and rejects included); " \
        "distinct valid events, as the report counts them: startup 1, heartbeat 1" in result.output


def test_check_source_fails_with_a_reason_for_an_empty_archive(pipeline_env):
    (pipeline_env / "empty").mkdir()
    result = CliRunner().invoke(main, ["check-source", "--source", "csv", "--csv-path", str(pipeline_env / "empty"),
                                       "--data-dir", str(pipeline_env / "data")])
    assert result.exit_code == 1
    assert "[FAILED] coverage: no registry_metrics export found" in result.output


def test_check_source_for_documentdb_without_an_address_says_what_to_set(pipeline_env, monkeypatch):
    for name in ("USAGE_DOCDB_HOST", "USAGE_DOCDB_URI"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, ["check-source", "--source", "documentdb"])
    assert result.exit_code == 2
    assert "USAGE_DOCDB_HOST" in result.output
