"""Importing reference CSV exports: header variants, snapshot de-duplication, incremental pickup."""

import json
from datetime import date

import polars as pl
import pytest

from usage_assets.sources.csv_archive import CsvArchive, CsvArchiveError
from usage_assets.sources.export_format import EXPORT_COLUMNS
from usage_assets_tests.conftest import ID_A, ID_B

V6_ONLY = ("schema_version", "auth_path_share_24h", "auth_path_volume_bucket_24h", "auth_path_window_hours")
INTERNAL = ("internal_only_deployment", "internal_deployment_type")


def header_variant(width: int) -> list[str]:
    """The reference's historical combined headers (reference 2.4) by column count."""
    drop = {
        34: (),
        30: V6_ONLY,
        28: V6_ONLY + INTERNAL,
        27: V6_ONLY + INTERNAL + ("cloud_detection_method",),
        26: V6_ONLY + INTERNAL + ("cloud_detection_method", "embeddings_backend_kind"),
    }[width]
    return [c for c in EXPORT_COLUMNS if c not in drop]


STARTUP_ONLY_HEADER = [
    "event", "registry_id", "v", "py", "os", "arch", "cloud", "compute", "mode", "registry_mode", "storage",
    "auth", "federation", "embeddings_provider", "embeddings_backend_kind", "cloud_detection_method",
    "internal_only_deployment", "internal_deployment_type", "search_queries_total", "search_queries_24h",
    "search_queries_1h", "ts", "stored_at", "source_ip_hash",
]


def write_export(path, header: list[str], rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(header)] + [",".join(row.get(name) or "" for name in header) for row in rows]
    path.write_text("\n".join(lines) + "\n")


def startup(registry_id, ts, **fields):
    return {"event": "startup", "registry_id": registry_id, "v": "1.24.1", "ts": ts, "cloud": "aws", **fields}


@pytest.mark.parametrize("width", [26, 27, 28, 30, 34])
def test_every_combined_header_variant_reads_with_missing_columns_empty(tmp_path, width):
    header = header_variant(width)
    assert len(header) == width
    write_export(tmp_path / "registry_metrics.csv", header,
                 [startup(ID_A, "2026-05-01T10:00:00.000Z", embeddings_backend_kind="bedrock", schema_version="6")])
    archive = CsvArchive(tmp_path / "registry_metrics.csv", tmp_path / "cache")
    archive.refresh()
    day = archive.day(date(2026, 5, 1))
    assert day.columns == list(EXPORT_COLUMNS)
    assert day["registry_id"].to_list() == [ID_A]
    assert day["embeddings_backend_kind"][0] == ("bedrock" if width >= 27 else None)
    assert day["schema_version"][0] == ("6" if width == 34 else None)


def test_startup_only_export_reads(tmp_path):
    write_export(tmp_path / "startups.csv", STARTUP_ONLY_HEADER, [startup(ID_A, "2026-05-01T10:00:00.000Z")])
    archive = CsvArchive(tmp_path / "startups.csv", tmp_path / "cache")
    archive.refresh()
    assert archive.day(date(2026, 5, 1))["event"].to_list() == ["startup"]


def test_rows_repeated_across_snapshots_are_kept_once_and_new_folders_are_picked_up(tmp_path):
    exports = tmp_path / "exports"
    old = [startup(ID_A, "2026-05-01T10:00:00.000Z"), startup(ID_B, "2026-05-02T09:00:00.000Z")]
    write_export(exports / "2026-05-02" / "registry_metrics.csv", header_variant(26), old)
    # A sidecar CSV of the reference in the same folder is not an export and is skipped.
    (exports / "2026-05-02" / "active-instances-2026-05-02.csv").write_text("date,daily_active\n2026-05-01,1\n")
    archive = CsvArchive(exports, tmp_path / "cache")
    first = archive.refresh()
    assert first.imported_files == ["2026-05-02/registry_metrics.csv"]
    assert list(first.skipped_files) == ["2026-05-02/active-instances-2026-05-02.csv"]
    assert archive.coverage() == (date(2026, 5, 1), date(2026, 5, 1))

    # The next cumulative snapshot repeats both rows (now with a 34-column header and one
    # more filled cell) and adds a day.
    newer = [startup(ID_A, "2026-05-01T10:00:00.000Z", cloud_detection_method="env"), old[1],
             startup(ID_B, "2026-05-03T09:00:00.000Z")]
    write_export(exports / "2026-05-04" / "registry_metrics.csv", header_variant(34), newer)
    second = archive.refresh()
    assert second.imported_files == ["2026-05-04/registry_metrics.csv"]
    day_one = archive.day(date(2026, 5, 1))
    assert day_one.height == 1
    assert day_one["cloud_detection_method"].to_list() == ["env"]  # the more complete copy
    assert archive.day(date(2026, 5, 2)).height == 1
    assert archive.coverage() == (date(2026, 5, 1), date(2026, 5, 3))
    assert archive.refresh().imported_files == []  # nothing new: nothing re-parsed


def test_rows_without_a_parseable_ts_are_kept_aside_and_counted(tmp_path):
    write_export(tmp_path / "registry_metrics.csv", header_variant(34),
                 [startup(ID_A, "2026-05-01T10:00:00.000Z"), startup(ID_B, "last tuesday"),
                  startup(ID_B, "2026-05-01 at noon")])
    archive = CsvArchive(tmp_path / "registry_metrics.csv", tmp_path / "cache")
    assert archive.refresh().unparsable_ts_rows == 1
    # A garbled ts that still names its day goes to that day, for validation to reject.
    assert archive.day(date(2026, 5, 1))["ts"].to_list() == ["2026-05-01 at noon", "2026-05-01T10:00:00.000Z"]
    kept = pl.read_parquet(tmp_path / "cache" / "unparsable-ts.parquet")
    assert kept["ts"].to_list() == ["last tuesday"]


def test_a_missing_or_empty_archive_is_a_clear_error(tmp_path):
    with pytest.raises(CsvArchiveError, match="not found"):
        CsvArchive(tmp_path / "nowhere", tmp_path / "cache").refresh()
    (tmp_path / "empty").mkdir()
    with pytest.raises(CsvArchiveError, match="no registry_metrics export"):
        CsvArchive(tmp_path / "empty", tmp_path / "cache").refresh()


def test_a_duplicate_delivery_inside_one_export_stays_visible_to_validation(tmp_path):
    from usage_assets.ingest.validation import validate_events

    exports = tmp_path / "exports"
    delivered_twice = [startup(ID_A, "2026-05-01T10:00:00.000Z")] * 2 + [startup(ID_B, "2026-05-01T11:00:00.000Z")]
    write_export(exports / "2026-05-02" / "registry_metrics.csv", header_variant(34), delivered_twice)
    write_export(exports / "2026-05-03" / "registry_metrics.csv", header_variant(34), delivered_twice)
    archive = CsvArchive(exports, tmp_path / "cache")
    archive.refresh()
    day = archive.day(date(2026, 5, 1))
    assert day["registry_id"].to_list() == [ID_A, ID_A, ID_B]  # not 4 + 2: snapshots overlap
    assert validate_events(day, date(2026, 5, 1)).duplicates == 1


def test_a_row_dated_long_before_its_export_does_not_move_the_archives_first_day(tmp_path):
    exports = tmp_path / "exports"
    write_export(exports / "2026-05-03" / "registry_metrics.csv", header_variant(34),
                 [startup(ID_A, "1999-12-31T10:00:00.000Z"), startup(ID_A, "2026-05-01T10:00:00.000Z")])
    archive = CsvArchive(exports, tmp_path / "cache")
    assert archive.refresh().rows_too_old == 1
    assert archive.coverage() == (date(2026, 5, 1), date(2026, 5, 1))
    assert archive.day(date(1999, 12, 31)).height == 1  # kept on its day, before the first day
    # Without a dated folder the export was taken on its newest day: a year before it is plausible.
    write_export(tmp_path / "registry_metrics.csv", header_variant(34),
                 [startup(ID_A, "2025-05-02T10:00:00.000Z"), startup(ID_B, "2026-05-01T10:00:00.000Z")])
    single = CsvArchive(tmp_path / "registry_metrics.csv", tmp_path / "single-cache")
    assert single.refresh().rows_too_old == 0 and single.coverage()[0] == date(2025, 5, 2)


def test_a_cache_of_an_older_layout_is_imported_again(tmp_path):
    write_export(tmp_path / "registry_metrics.csv", header_variant(34), [startup(ID_A, "2026-05-01T10:00:00.000Z")])
    archive = CsvArchive(tmp_path / "registry_metrics.csv", tmp_path / "cache")
    archive.refresh()
    manifest = json.loads(archive.manifest_path.read_text())
    del manifest["format"], manifest["files"]["registry_metrics.csv"]["first_day"]  # written before first days
    archive.manifest_path.write_text(json.dumps(manifest))
    assert archive.refresh().imported_files == ["registry_metrics.csv"]
    assert archive.coverage() == (date(2026, 5, 1), date(2026, 5, 1)) and archive.day(date(2026, 5, 1)).height == 1
