"""Late-arriving events: which stored days are behind the source."""

from datetime import date

from usage_assets.ingest.reconciliation import find_gap, gaps_message, stored_counts

DAY = date(2026, 5, 20)


def test_a_day_is_behind_when_any_event_type_has_more_rows_in_the_source():
    stored = {"startup": 3, "heartbeat": 10}
    assert find_gap(DAY, stored, {"startup": 3, "heartbeat": 10}) is None
    gap = find_gap(DAY, stored, {"startup": 3, "heartbeat": 12})
    assert gap is not None and gap.describe() == "2026-05-20 (heartbeat 10 -> 12)"


def test_fewer_rows_in_the_source_is_not_a_gap():
    """Expired by the 365-day TTL or purged: the stored partition keeps what it fetched."""
    assert find_gap(DAY, {"startup": 3, "heartbeat": 10}, {"startup": 0, "heartbeat": 0}) is None


def test_records_without_per_type_counts_compare_totals():
    stored = stored_counts({"fetched": 13})
    assert stored == {"all": 13}
    assert find_gap(DAY, stored, {"startup": 3, "heartbeat": 10}) is None
    assert find_gap(DAY, stored, {"startup": 4, "heartbeat": 10}).describe() == "2026-05-20 (all 13 -> 14)"
    assert stored_counts({"fetched": 5, "fetched_by_event": {"startup": 2, "heartbeat": 3}}) == {
        "startup": 2, "heartbeat": 3}


def test_the_message_names_every_day_and_the_command_that_fixes_them():
    gaps = [find_gap(date(2026, 5, 18), {"startup": 1}, {"startup": 2}),
            find_gap(date(2026, 5, 19), {"heartbeat": 1}, {"heartbeat": 4})]
    message = gaps_message(gaps, DAY)
    assert "2026-05-18 (startup 1 -> 2)" in message and "2026-05-19 (heartbeat 1 -> 4)" in message
    assert "usage-report backfill --start 2026-05-18 --end 2026-05-20 --force" in message
