"""Every row read is accounted for (issue 10, item 5), over randomly corrupted exports.

A clean export of a few installs is corrupted line by line (an unbalanced quote, a field
too many or too few, a garbled, missing or far-future ts, an id that is not a UUID, values
a newer registry sends, a duplicate delivery, a cut last line). Whatever the damage, the
rows read add up, for each day and in total:

    records in the file = sum over days (kept + duplicates + rejected) + rows set aside

where a record is a non-blank line after the header.
"""

import tempfile
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from usage_assets.ingest.validation import ingest_stats, validate_events
from usage_assets.sources.csv_archive import CsvArchive
from usage_assets_tests.sources.test_csv_archive import header_variant

HEADER = header_variant(34)
FIRST = date(2026, 5, 1)
TODAY = date(2026, 5, 8)
IDS = [f"{n:08x}-0000-4000-8000-{n:012x}" for n in range(1, 6)]


def clean_rows(days: int) -> list[dict[str, str]]:
    rows = []
    for offset in range(days):
        day = FIRST + timedelta(days=offset)
        for n, registry_id in enumerate(IDS):
            common = {"registry_id": registry_id, "v": "1.31.0", "cloud": "aws", "compute": "docker", "os": "linux"}
            rows.append({"event": "startup", "ts": f"{day}T01:0{n}:00.000Z", **common})
            rows.append({"event": "heartbeat", "ts": f"{day}T12:0{n}:00.000Z", "servers_count": "3",
                         "schema_version": "6", "auth_path_share_24h": '{"keycloak":60,"jwt":40}', **common})
    return rows


def line(row: dict[str, str]) -> str:
    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"') else value

    return ",".join(cell(row.get(name) or "") for name in HEADER)


CORRUPTIONS = {
    "unbalanced quote": lambda text, row, n: text.replace(",", ',"', 1 + n % 3),
    "extra field": lambda text, row, n: text + ",surplus",
    "missing fields": lambda text, row, n: ",".join(text.split(",")[: 5 + n % 20]),
    "garbled ts": lambda text, row, n: line({**row, "ts": "last tuesday" if n % 2 else row["ts"][:10] + " noon"}),
    "no ts": lambda text, row, n: line({**row, "ts": ""}),
    "future ts": lambda text, row, n: line({**row, "ts": "2099-01-01T00:00:00.000Z"}),
    "fake id": lambda text, row, n: line({**row, "registry_id": "<script>alert(1)</script>"}),
    "no id": lambda text, row, n: line({**row, "registry_id": ""}),
    "bad event": lambda text, row, n: line({**row, "event": "shutdown"}),
    "new values": lambda text, row, n: line({**row, "compute": "nomad", "os": "plan9"}),
    "huge counter": lambda text, row, n: line({**row, "servers_count": "9223372036854775807"}),
    "decimal share": lambda text, row, n: line({**row, "auth_path_share_24h": '{"keycloak":62.5,"jwt":37.5}'}),
    "duplicate": lambda text, row, n: text + "\n" + text,
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    days=st.integers(min_value=1, max_value=4),
    damage=st.lists(st.tuples(st.integers(min_value=0, max_value=39), st.sampled_from(sorted(CORRUPTIONS)),
                              st.integers(min_value=0, max_value=99)), max_size=25),
    cut=st.one_of(st.none(), st.integers(min_value=1, max_value=60)),
)
def test_rows_read_add_up_per_day_and_in_total(days, damage, cut):
    rows = clean_rows(days)
    lines = [line(row) for row in rows]
    for index, kind, n in damage:
        index %= len(rows)
        lines[index] = CORRUPTIONS[kind](lines[index], rows[index], n)
    text = "\n".join([",".join(HEADER), *lines]) + "\n"
    if cut is not None:
        text = text[: len(text) - cut]  # a truncated export
    records = sum(1 for each in text.split("\n")[1:] if each.strip())

    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "registry_metrics.csv"
        export.write_text(text)
        archive = CsvArchive(export, Path(folder) / "cache", today=TODAY)
        summary = archive.refresh()
        assert summary.rows_read == records
        accounted = summary.set_aside_rows
        cached_days = [date.fromisoformat(p.parent.name[5:]) for p in (Path(folder) / "cache" / "days").glob("date=*/*")]
        for day in cached_days:
            fetched = archive.day(day)
            stats = ingest_stats(fetched, validate_events(fetched, day))
            assert stats["fetched"] == stats["valid"] + stats["duplicates"] + stats["rejected"]
            accounted += stats["fetched"]
        assert accounted == records
