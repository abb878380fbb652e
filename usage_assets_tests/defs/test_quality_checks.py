"""The data-quality checks on raw_events, run by the real ingest job over a small CSV archive.

Day 1 holds a row that is no event (its registry_id is not a UUID), a value kept as a new
cloud and a value cleared for breaking its range; day 2 repeats the new cloud and is clean;
day 3 has no event at all. Each check warns (never fails the run) on exactly its day.
"""

from datetime import date

import dagster as dg

from usage_assets.defs.ingest.quality_checks import (
    CLEARED_FIELDS_CHECK,
    EVENTS_PRESENT_CHECK,
    NEW_VALUES_CHECK,
    REJECTED_ROWS_CHECK,
)
from usage_assets_tests.conftest import ID_A, ID_B
from usage_assets_tests.sources.test_csv_archive import header_variant, write_export
from usage_assets_tests.test_pipeline import csv_runner, row

QUALITY_CHECKS = (REJECTED_ROWS_CHECK, CLEARED_FIELDS_CHECK, NEW_VALUES_CHECK, EVENTS_PRESENT_CHECK)
DAY1, DAY2, DAY3 = date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 3)


def evaluations(instance: dg.DagsterInstance) -> dict[str, dg.AssetCheckEvaluation]:
    """The quality checks' evaluations of the latest run, by check name."""
    run = instance.get_runs(limit=1)[0]
    found = {}
    for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        if evaluation.check_name in QUALITY_CHECKS:
            found[evaluation.check_name] = evaluation
    return found


def values(evaluation: dg.AssetCheckEvaluation) -> dict:
    return {key: value.value for key, value in evaluation.metadata.items()}


def test_each_quality_check_warns_on_its_day_and_the_run_goes_on(pipeline_env):
    rows = [
        row("startup", ID_A, "2026-05-01T08:00:00.000Z"),
        row("heartbeat", ID_A, "2026-05-01T09:00:00.000Z", uptime_hours="200001"),  # cleared: > 200,000
        row("heartbeat", ID_B, "2026-05-01T10:00:00.000Z", cloud="moon"),  # kept as a new cloud
        row("heartbeat", "not-a-uuid", "2026-05-01T11:00:00.000Z"),  # rejected
        row("heartbeat", ID_A, "2026-05-02T09:00:00.000Z"),
        row("heartbeat", ID_B, "2026-05-02T10:00:00.000Z", cloud="moon"),
    ]
    # A later export with an event on 05-04 makes the archive complete through 05-04,
    # with nothing on 05-03.
    later = [*rows, row("heartbeat", ID_A, "2026-05-04T09:00:00.000Z")]
    write_export(pipeline_env / "exports" / "2026-05-05" / "registry_metrics.csv", header_variant(34), later)
    with dg.instance_for_test(temp_dir=str(pipeline_env / "dagster_home")) as instance:
        runner = csv_runner(pipeline_env, instance, rows)

        runner.ingest(DAY1)  # warnings do not fail the run
        day1 = evaluations(instance)
        assert set(day1) == set(QUALITY_CHECKS)
        assert all(e.severity == dg.AssetCheckSeverity.WARN and e.partition == DAY1.isoformat() for e in day1.values())
        assert not day1[REJECTED_ROWS_CHECK].passed
        assert values(day1[REJECTED_ROWS_CHECK]) == {
            "rows_fetched": 4,
            "rows_rejected": 1,
            "rejected_rows_pct": 25.0,
            "threshold_pct": 1.0,
        }
        assert not day1[CLEARED_FIELDS_CHECK].passed
        assert values(day1[CLEARED_FIELDS_CHECK]) == {
            "events_kept": 3,
            "fields_cleared": 1,
            "cleared_fields_pct": 33.33,
            "threshold_pct": 5.0,
        }
        assert not day1[NEW_VALUES_CHECK].passed
        assert values(day1[NEW_VALUES_CHECK]) == {
            "new_values": 1,
            "events_with_new_values": 1,
            "values": [{"column": "cloud", "value": "moon", "events": 1}],
        }
        assert day1[EVENTS_PRESENT_CHECK].passed

        runner.ingest(DAY2)
        day2 = evaluations(instance)
        # "moon" is no longer new: day 1 held it.
        assert all(evaluation.passed for evaluation in day2.values())
        assert values(day2[NEW_VALUES_CHECK])["new_values"] == 0

        runner.ingest(DAY3)
        day3 = evaluations(instance)
        assert not day3[EVENTS_PRESENT_CHECK].passed
        assert values(day3[EVENTS_PRESENT_CHECK]) == {
            "events_kept": 0,
            "rows_fetched": 0,
            "startup_rows": 0,
            "heartbeat_rows": 0,
        }
        assert "No event kept on 2026-05-03" in day3[EVENTS_PRESENT_CHECK].description
