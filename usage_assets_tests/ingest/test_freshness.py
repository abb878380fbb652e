"""Days the source changed after their ingest are found, and only those."""

from datetime import date

from usage_assets.ingest.freshness import stale_days, stale_message

DAYS = [date(2026, 5, d) for d in (1, 2, 3, 4)]


def test_a_day_is_stale_when_its_recorded_version_differs_from_the_source():
    records = {
        DAYS[0]: {"source_version": "a"},  # unchanged
        DAYS[1]: {"source_version": "b"},  # changed since
        DAYS[2]: {"fetched": 3},  # ingested before versions were recorded: never stale
        # DAYS[3] was never ingested
    }
    current = {DAYS[0]: "a", DAYS[1]: "b2", DAYS[2]: "c", DAYS[3]: "d"}
    assert stale_days(reversed(DAYS), records.get, current.get) == [DAYS[1]]


def test_the_message_names_the_days_and_the_command():
    message = stale_message([DAYS[1], DAYS[3]], date(2026, 5, 9))
    assert "2 day(s) after they were ingested: 2026-05-02, 2026-05-04" in message
    assert "`usage-report backfill --start 2026-05-02 --end 2026-05-09 --force`" in message
