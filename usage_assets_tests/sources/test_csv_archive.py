"""Importing reference CSV exports: header variants, snapshot de-duplication, incremental pickup."""

import json
from datetime import date

import polars as pl
import pytest

from usage_assets.sources import csv_archive
from usage_assets.sources.csv_archive import CsvArchive, CsvArchiveError
from usage_assets.sources.export_format import EXPORT_COLUMNS
from usage_assets_tests.conftest import ID_A, ID_B, ID_C

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
    # The export's columns, then where each row was read and what was wrong with its record.
    assert day.columns == [*EXPORT_COLUMNS, "record_problem", "record_origin"]
    assert day["record_origin"].to_list() == ["registry_metrics.csv line 2"]
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
    assert archive.refresh().set_aside_rows == 1
    # A garbled ts that still names its day goes to that day, for validation to reject.
    assert archive.day(date(2026, 5, 1))["ts"].to_list() == ["2026-05-01 at noon", "2026-05-01T10:00:00.000Z"]
    kept = pl.read_parquet(tmp_path / "cache" / "set-aside.parquet")
    assert kept["ts"].to_list() == ["last tuesday"]
    assert kept.select("reason", "origin").rows() == [("ts: no date in it", "registry_metrics.csv line 3")]


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


# -- issue 10: nothing lost, every row accounted for ---------------------------------------

def lines_of(header: list[str], rows: list[dict[str, str]]) -> list[str]:
    return [",".join(header)] + [",".join(row.get(name) or "" for name in header) for row in rows]


def test_an_unbalanced_quote_spoils_its_own_line_only(tmp_path):
    # Item 3: polars failed on the whole file with a ComputeError naming no file.
    header = header_variant(34)
    lines = lines_of(header, [startup(ID_A, f"2026-05-01T1{n}:00:00.000Z") for n in range(4)])
    lines[2] = lines[2].replace("1.24.1", '"1.24.1')
    (tmp_path / "registry_metrics.csv").write_text("\n".join(lines) + "\n")
    archive = CsvArchive(tmp_path / "registry_metrics.csv", tmp_path / "cache")
    summary = archive.refresh()
    assert summary.rows_read == 4 and summary.set_aside_rows == 1
    assert archive.day(date(2026, 5, 1)).height == 3
    kept = pl.read_parquet(tmp_path / "cache" / "set-aside.parquet").row(0, named=True)
    assert (kept["reason"], kept["origin"]) == ("record: unbalanced quote", "registry_metrics.csv line 3")
    assert kept["raw_record"] == lines[2]


def test_a_row_with_more_fields_than_the_header_is_rejected_with_a_reason(tmp_path):
    from usage_assets.ingest.validation import validate_events

    header = header_variant(34)
    lines = lines_of(header, [startup(ID_A, "2026-05-01T10:00:00.000Z"), startup(ID_B, "2026-05-01T11:00:00.000Z")])
    lines[2] += ",surplus"
    (tmp_path / "registry_metrics.csv").write_text("\n".join(lines) + "\n")
    archive = CsvArchive(tmp_path / "registry_metrics.csv", tmp_path / "cache")
    archive.refresh()
    validated = validate_events(archive.day(date(2026, 5, 1)), date(2026, 5, 1))
    assert validated.events["registry_id"].to_list() == [ID_A]
    assert validated.rejects.select("registry_id", "reason", "origin").rows() == [
        (ID_B, "record: more fields than the header", "registry_metrics.csv line 3")
    ]


def test_unknown_columns_are_ignored_and_named(tmp_path):
    header = [*header_variant(34), "accelerator"]
    write_export(tmp_path / "registry_metrics.csv", header, [startup(ID_A, "2026-05-01T10:00:00.000Z", accelerator="gpu")])
    archive = CsvArchive(tmp_path / "registry_metrics.csv", tmp_path / "cache")
    assert archive.refresh().ignored_columns == {"accelerator": "registry_metrics.csv"}
    assert archive.quality_notes()["ignored_columns"] == {"accelerator": "registry_metrics.csv"}
    assert archive.day(date(2026, 5, 1))["registry_id"].to_list() == [ID_A]


def test_a_file_that_is_not_an_export_is_named_with_the_columns_it_lacks(tmp_path):
    # Item 15: "/etc/passwd" named registry_metrics.csv.
    (tmp_path / "registry_metrics.csv").write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/bin/sh\n")
    with pytest.raises(CsvArchiveError) as failure:
        CsvArchive(tmp_path / "registry_metrics.csv", tmp_path / "cache").refresh()
    assert str(failure.value).endswith(
        "registry_metrics.csv exists but is not an export: its header lacks event, registry_id, v, ts")


def test_gzipped_exports_are_read_and_skipped_files_are_named_on_every_refresh(tmp_path):
    import gzip

    exports = tmp_path / "exports"
    (exports / "2026-05-02").mkdir(parents=True)
    text = "\n".join(lines_of(header_variant(34), [startup(ID_A, "2026-05-01T10:00:00.000Z")])) + "\n"
    (exports / "2026-05-02" / "registry_metrics.csv.gz").write_bytes(gzip.compress(text.encode()))
    (exports / "2026-05-02" / "notes.csv").write_text("date,note\n")
    archive = CsvArchive(exports, tmp_path / "cache")
    first = archive.refresh()
    assert first.imported_files == ["2026-05-02/registry_metrics.csv.gz"]
    assert archive.day(date(2026, 5, 1))["registry_id"].to_list() == [ID_A]
    second = archive.refresh()
    assert second.imported_files == []
    assert second.skipped_files == {"2026-05-02/notes.csv": "not an export: its header lacks event, registry_id, v, ts"}


def test_rows_of_no_day_are_counted_once_across_snapshots(tmp_path):
    # Item 5: 270 rows logged, 242 stored (identical rows merged), 540 in the manifest
    # after a second snapshot repeating them. Now one number: the distinct rows, with the
    # copies one export holds.
    exports = tmp_path / "exports"
    garbage = [startup(ID_B, "last tuesday")] * 3 + [startup(ID_C, None), startup(ID_A, "2099-01-01T00:00:00.000Z")]
    good = [startup(ID_A, "2026-05-01T10:00:00.000Z")]
    write_export(exports / "2026-05-02" / "registry_metrics.csv", header_variant(34), good + garbage)
    write_export(exports / "2026-05-03" / "registry_metrics.csv", header_variant(34), good + garbage)
    archive = CsvArchive(exports, tmp_path / "cache", today=date(2026, 5, 3))
    assert archive.refresh().set_aside_rows == 5
    notes = archive.quality_notes()["set_aside"]
    assert notes["rows"] == 5
    assert notes["by_reason"] == {"ts: no date in it": 3, "ts: after the day the export was read": 1, "ts: missing": 1}
    assert json.loads((tmp_path / "cache" / "manifest.json").read_text())["set_aside_rows"] == 5
    assert archive.day(date(2099, 1, 1)).height == 0  # a far-future row is not a day of the cache


def test_a_truncated_newest_snapshot_does_not_make_its_days_complete(tmp_path):
    # Item 4: the newest export cut mid-row (at 70 %) gave a report on a half day.
    exports = tmp_path / "exports"
    rows = [startup(ID_A, "2026-05-01T08:00:00.000Z")] + [
        {**startup(ID_A, f"2026-05-0{d}T{h:02d}:00:00.000Z"), "event": "heartbeat"} for d in (1, 2, 3) for h in (6, 18)
    ]
    write_export(exports / "2026-05-03" / "registry_metrics.csv", header_variant(34), rows[:5])
    archive = CsvArchive(exports, tmp_path / "cache")
    archive.refresh()
    assert archive.coverage() == (date(2026, 5, 1), date(2026, 5, 2))
    text = "\n".join(lines_of(header_variant(34), rows))
    cut = exports / "2026-05-04" / "registry_metrics.csv"
    cut.parent.mkdir()
    cut.write_text(text[: int(len(text) * 0.9)])  # the newest export, cut inside a 05-03 heartbeat
    summary = archive.refresh()
    assert summary.incomplete_files == {"2026-05-04/registry_metrics.csv": "its last row is cut short (a truncated export)"}
    assert archive.coverage() == (date(2026, 5, 1), date(2026, 5, 2))  # 05-03 is not complete
    version = archive.day_version(date(2026, 5, 3))
    write_export(exports / "2026-05-04" / "registry_metrics.csv", header_variant(34), rows)  # the complete export
    assert archive.refresh().incomplete_files == {}
    assert archive.coverage() == (date(2026, 5, 1), date(2026, 5, 3))
    assert archive.day(date(2026, 5, 3)).height == 2 and archive.day_version(date(2026, 5, 3)) != version


def test_a_snapshot_with_fewer_events_of_a_day_than_the_one_before_is_incomplete(tmp_path):
    exports = tmp_path / "exports"
    rows = [startup(ID_A, f"2026-05-01T{h:02d}:00:00.000Z") for h in range(6)] + [startup(ID_B, "2026-05-02T08:00:00.000Z")]
    write_export(exports / "2026-05-02" / "registry_metrics.csv", header_variant(34), rows[:6])
    write_export(exports / "2026-05-03" / "registry_metrics.csv", header_variant(34), rows[2:])  # lost 2 rows of 05-01
    archive = CsvArchive(exports, tmp_path / "cache")
    summary = archive.refresh()
    assert summary.incomplete_files == {
        "2026-05-03/registry_metrics.csv": "fewer events than the 2026-05-02 export (2026-05-01: 4 events where 6 were)"}
    assert archive.coverage() == (date(2026, 5, 1), date(2026, 5, 1))
    assert archive.day(date(2026, 5, 1)).height == 6  # merging lost nothing


def test_a_truncated_single_export_is_complete_up_to_its_last_heartbeat_day(tmp_path):
    rows = [startup(ID_A, "2026-05-01T08:00:00.000Z"), startup(ID_B, "2026-05-04T08:00:00.000Z")] + [
        {**startup(ID_A, f"2026-05-0{d}T12:00:00.000Z"), "event": "heartbeat"} for d in (1, 2, 3, 4)
    ]
    text = "\n".join(lines_of(header_variant(34), rows))
    (tmp_path / "registry_metrics.csv").write_text(text[:-10])  # cut inside the 05-04 heartbeat
    archive = CsvArchive(tmp_path / "registry_metrics.csv", tmp_path / "cache")
    archive.refresh()
    assert archive.coverage() == (date(2026, 5, 1), date(2026, 5, 2))  # 05-03's heartbeat was the last whole row


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


def test_rows_with_a_wrong_clock_are_counted_once_across_snapshots(tmp_path):
    # Like the set-aside rows: the distinct rows the cache holds before the first day, on
    # every refresh, whatever the number of snapshots repeating them.
    exports = tmp_path / "exports"
    rows = [startup(ID_B, "1999-12-31T10:00:00.000Z"), startup(ID_A, "2026-05-01T10:00:00.000Z")]
    write_export(exports / "2026-05-02" / "registry_metrics.csv", header_variant(34), rows)
    write_export(exports / "2026-05-03" / "registry_metrics.csv", header_variant(34), rows)
    archive = CsvArchive(exports, tmp_path / "cache")
    assert archive.refresh().rows_too_old == 1
    assert archive.refresh().rows_too_old == 1  # nothing new imported: still named
    assert archive.coverage() == (date(2026, 5, 1), date(2026, 5, 1))


def test_a_cache_written_before_first_days_were_recorded_is_imported_again(tmp_path):
    # A cache of the previous layout (format 2: truncation and set-aside, no first day).
    write_export(tmp_path / "registry_metrics.csv", header_variant(34), [startup(ID_A, "2026-05-01T10:00:00.000Z")])
    archive = CsvArchive(tmp_path / "registry_metrics.csv", tmp_path / "cache")
    archive.refresh()
    manifest = json.loads(archive.manifest_path.read_text())
    manifest["format"] = 2
    del manifest["files"]["registry_metrics.csv"]["first_day"]
    archive.manifest_path.write_text(json.dumps(manifest))
    assert archive.refresh().imported_files == ["registry_metrics.csv"]
    assert json.loads(archive.manifest_path.read_text())["files"]["registry_metrics.csv"]["first_day"] == "2026-05-01"


def test_a_refresh_that_finds_nothing_new_leaves_the_manifest_untouched(tmp_path):
    """Every day's fetch refreshes the archive: the manifest is rewritten only when it changes."""
    exports = tmp_path / "exports"
    write_export(exports / "2026-05-02" / "registry_metrics.csv", header_variant(26),
                 [startup(ID_A, "2026-05-01T10:00:00.000Z")])
    archive = CsvArchive(exports, tmp_path / "cache")
    archive.refresh()
    written = archive.manifest_path.stat().st_ino
    archive.refresh()
    assert archive.manifest_path.stat().st_ino == written  # not replaced by an equal copy

    write_export(exports / "2026-05-03" / "registry_metrics.csv", header_variant(26),
                 [startup(ID_A, "2026-05-01T10:00:00.000Z"), startup(ID_B, "2026-05-02T09:00:00.000Z")])
    archive.refresh()
    assert archive.manifest_path.stat().st_ino != written
    assert "2026-05-03/registry_metrics.csv" in json.loads(archive.manifest_path.read_text())["files"]
    assert archive.coverage() == (date(2026, 5, 1), date(2026, 5, 2))


def test_a_day_that_fails_to_merge_stops_the_import_and_the_next_refresh_imports_the_file_whole(tmp_path, monkeypatch):
    """Days are merged two at a time: a failure in one names the file, records nothing of
    it in the manifest, and leaves no half-written day; the next refresh starts over."""
    exports = tmp_path / "exports"
    rows = [startup(ID_A, f"2026-05-{day:02d}T10:00:00.000Z") for day in range(1, 21)]
    write_export(exports / "2026-05-21" / "registry_metrics.csv", header_variant(34), rows)
    archive = CsvArchive(exports, tmp_path / "cache")
    merge = csv_archive.merge_snapshot_rows

    def failing_on_day_7(cached, incoming):
        if incoming["ts"][0].startswith("2026-05-07"):
            raise pl.exceptions.ComputeError("disk hiccup")
        return merge(cached, incoming)

    monkeypatch.setattr(csv_archive, "merge_snapshot_rows", failing_on_day_7)
    with pytest.raises(CsvArchiveError, match="2026-05-21/registry_metrics.csv .* disk hiccup"):
        archive.refresh()
    assert not archive.manifest_path.exists()
    for written in (tmp_path / "cache" / "days").glob("date=*/part-0.parquet"):
        assert pl.read_parquet(written).height == 1  # each day written whole, or not at all

    monkeypatch.setattr(csv_archive, "merge_snapshot_rows", merge)
    assert archive.refresh().imported_files == ["2026-05-21/registry_metrics.csv"]
    assert archive.coverage() == (date(2026, 5, 1), date(2026, 5, 20))
    assert [archive.day(date(2026, 5, day)).height for day in range(1, 21)] == [1] * 20
