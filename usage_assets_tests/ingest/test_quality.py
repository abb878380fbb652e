"""The numbers behind the data-quality checks, from hand-made ingest records and quarantines."""

import polars as pl

from usage_assets.ingest.quality import LISTED_NEW_VALUES, cleared_fields, listed, new_values, rejected_rows, share_pct
from usage_assets.ingest.validation import CLEARED, KEPT, MISSING, QUARANTINE_SCHEMA


def findings(*rows: tuple[str, str, str | None, int]) -> pl.DataFrame:
    """field_quarantine rows (column, action, value, events); the rule does not matter here."""
    return pl.DataFrame(
        [{"column": c, "rule": "r", "action": a, "value": v, "events": n} for c, a, v, n in rows],
        schema=QUARANTINE_SCHEMA,
    )


def test_shares_are_percentages_of_what_was_fetched_and_kept():
    stats = {"fetched": 400, "valid": 390, "duplicates": 7, "rejected": 3, "field_issues": {CLEARED: 13, MISSING: 2}}
    assert rejected_rows(stats) == {"rows_fetched": 400, "rows_rejected": 3, "rejected_rows_pct": 0.75}
    # Missing required values are not cleared values.
    assert cleared_fields(stats) == {"events_kept": 390, "fields_cleared": 13, "cleared_fields_pct": 3.33}


def test_a_day_with_nothing_has_zero_shares_not_a_division_error():
    stats = {"fetched": 0, "valid": 0, "duplicates": 0, "rejected": 0, "field_issues": {}}
    assert rejected_rows(stats)["rejected_rows_pct"] == 0.0 and cleared_fields(stats)["cleared_fields_pct"] == 0.0
    assert share_pct(1, 3) == 33.33


def test_new_values_are_kept_values_no_earlier_day_held_for_that_column():
    today = findings(
        ("cloud", KEPT, "moon", 2),
        ("compute", KEPT, "nomad", 5),
        ("os", KEPT, "moon", 1),
        ("arch", CLEARED, None, 4),  # cleared values are no category
    )
    earlier = [findings(("cloud", KEPT, "moon", 9)), findings(("compute", CLEARED, "nomad", 1))]
    # "moon" was seen for cloud but not for os; "nomad" was cleared, never kept, before.
    assert new_values(today, earlier) == [
        {"column": "compute", "value": "nomad", "events": 5},
        {"column": "os", "value": "moon", "events": 1},
    ]
    assert [v["value"] for v in new_values(today, [])] == ["nomad", "moon", "moon"]


def test_listed_values_are_printable_cut_and_capped():
    values = [{"column": "os", "value": f"\x1b[31m{'x' * 100}{n}", "events": 1} for n in range(LISTED_NEW_VALUES + 5)]
    shown = listed(values)
    assert len(shown) == LISTED_NEW_VALUES
    assert "\x1b" not in shown[0]["value"] and len(shown[0]["value"]) == 60 and shown[0]["value"].endswith("…")
