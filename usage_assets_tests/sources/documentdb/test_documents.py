"""Database documents to export rows, and the per-day filters (reference 2.4, 3.4; T1, T3).

The filters are evaluated with mongomock (a MongoDB query engine in Python) so the
test checks what the server would select, not just the shape of the query.
"""

import uuid
from datetime import date, datetime, timezone

import mongomock
import polars as pl
import pytest

from usage_assets.ingest.validation import validate_events
from usage_assets.sources import export_format as fmt
from usage_assets.sources.documentdb import documents as docs

DAY = date(2026, 5, 20)


def test_t1_a_heartbeat_document_becomes_the_reference_export_row():
    document = {
        "registry_id": "aaaaaaaa-0000-4000-8000-00000000000a", "v": "1.31.0",
        "ts": datetime(2026, 5, 20, 14, 3, 11, 123456), "federation": True, "internal_only_deployment": False,
        "servers_count": 12, "uptime_hours": 24.0, "auth": None,
        "auth_path_share_24h": {"session_cookie": 62, "keycloak": 31, "unknown": 7},
        "schema_version": 6,
    }
    row = docs.document_to_row(document, "heartbeat")
    assert list(row) == list(fmt.EXPORT_COLUMNS)
    assert row["event"] == "heartbeat"
    assert row["ts"] == "2026-05-20T14:03:11.123Z"
    assert (row["federation"], row["internal_only_deployment"]) == ("True", "False")
    assert (row["servers_count"], row["uptime_hours"], row["schema_version"]) == ("12", "24", "6")
    assert row["auth"] is None and row["py"] is None  # null and absent alike: empty
    assert row["auth_path_share_24h"] == '{"session_cookie":62,"keycloak":31,"unknown":7}'  # stored order


def test_t3_id_received_at_and_unknown_fields_are_not_exported():
    document = {"_id": "65f0c0ffee", "received_at": datetime(2026, 5, 21), "brand_new_field": "x",
                "registry_id": "r", "v": "1", "ts": datetime(2026, 5, 20, 1)}
    frame = docs.rows_to_frame([docs.document_to_row(document, "startup")])
    assert frame.columns == list(fmt.EXPORT_COLUMNS) and frame.schema == fmt.EXPORT_SCHEMA
    assert "65f0c0ffee" not in str(frame.row(0)) and "x" not in frame.row(0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"$date": "2026-05-20T14:03:11.123Z"}, "2026-05-20T14:03:11.123Z"),
        ({"$date": {"$numberLong": "1779285791123"}}, "2026-05-20T14:03:11.123Z"),
        (datetime(2026, 5, 20, 16, 3, 11, 999999, tzinfo=timezone.utc), "2026-05-20T16:03:11.999Z"),
        (2.5, "2.5"),
        (["a", "é"], '["a","é"]'),
        ("  padded  ", "  padded  "),
    ],
)
def test_export_values_follow_the_exporter(value, expected):
    assert docs.export_value(value) == expected


def _select(filter_: dict, documents: list[dict]) -> list[str]:
    collection = mongomock.MongoClient().telemetry.heartbeat_events
    collection.insert_many([dict(doc) for doc in documents])
    return sorted(doc["registry_id"] for doc in collection.find(filter_, {"_id": 0}))


STORED = [
    {"registry_id": "date-in", "ts": datetime(2026, 5, 20, 0, 0)},
    {"registry_id": "date-last-ms", "ts": datetime(2026, 5, 20, 23, 59, 59, 999000)},
    {"registry_id": "date-next-day", "ts": datetime(2026, 5, 21, 0, 0)},
    {"registry_id": "date-day-before", "ts": datetime(2026, 5, 19, 23, 59, 59)},
    {"registry_id": "string-utc", "ts": "2026-05-20T10:00:00.123456+00:00"},
    {"registry_id": "string-offset-into-day", "ts": "2026-05-19T23:30:00-02:00"},  # 05-20 01:30Z
    {"registry_id": "string-offset-out-of-day", "ts": "2026-05-20T23:30:00-02:00"},  # 05-21 01:30Z
    {"registry_id": "string-garbage-of-day", "ts": "2026-05-20 sometime"},
    {"registry_id": "string-far", "ts": "2026-05-25T10:00:00Z"},
    {"registry_id": "string-no-date", "ts": "garbage"},
    {"registry_id": "missing-ts"},
]


def test_the_day_query_selects_dates_of_the_day_and_nearby_strings():
    assert _select(docs.date_ts_filter(DAY), STORED) == ["date-in", "date-last-ms"]
    assert _select(docs.string_ts_filter(DAY), STORED) == [
        "string-garbage-of-day", "string-offset-into-day", "string-offset-out-of-day", "string-utc",
    ]
    assert len(_select(docs.day_filter(DAY), STORED)) == 6


def test_string_ts_documents_land_on_their_utc_day_or_are_rejected_there_with_a_reason():
    collection = mongomock.MongoClient().telemetry.heartbeat_events
    collection.insert_many([{**doc, "v": "1.31.0"} for doc in STORED])
    fetched = list(collection.find(docs.day_filter(DAY), docs.PROJECTION))
    frame = docs.split_day_documents(fetched, "heartbeat", DAY)
    assert sorted(frame["registry_id"]) == [
        "date-in", "date-last-ms", "string-garbage-of-day", "string-offset-into-day", "string-utc",
    ]
    # The next day's query claims the string that is on 05-21 in UTC.
    next_day = docs.split_day_documents(list(collection.find(docs.day_filter(date(2026, 5, 21)), docs.PROJECTION)),
                                        "heartbeat", date(2026, 5, 21))
    assert "string-offset-out-of-day" in next_day["registry_id"].to_list()
    # The documents are named by their registry_id; validation wants UUIDs.
    names = {name: str(uuid.uuid5(uuid.NAMESPACE_URL, name)) for name in frame["registry_id"]}
    validated = validate_events(frame.with_columns(pl.col("registry_id").replace(names)), DAY)
    assert validated.rejects["registry_id"].to_list() == [names["string-garbage-of-day"]]
    assert validated.rejects["reason"].to_list() == ["ts: not an ISO-8601 time"]
    assert validated.rejects["ts"].to_list() == ["2026-05-20 sometime"]  # the original string is kept
    utc_string = validated.events.filter(pl.col("registry_id") == names["string-utc"])["ts"][0]
    assert utc_string == datetime(2026, 5, 20, 10, 0, 0, 123000, tzinfo=timezone.utc)


def test_count_events_always_names_both_event_types():
    assert fmt.count_events(fmt.empty_export_frame()) == {"startup": 0, "heartbeat": 0}
    rows = docs.rows_to_frame([docs.document_to_row({"ts": datetime(2026, 5, 20)}, "heartbeat")] * 3)
    assert fmt.count_events(rows) == {"startup": 0, "heartbeat": 3}


def test_documents_get_the_field_level_quarantine_of_csv_rows():
    # Issue 10, item 2: a newer registry's document (a new platform, a fractional count, a
    # counter at the int64 maximum, decimal shares, a field the export does not have) is kept.
    document = {
        "registry_id": "aaaaaaaa-0000-4000-8000-00000000000a", "v": "1.40.0", "compute": "nomad",
        "ts": datetime(2026, 5, 20, 10, 0, tzinfo=timezone.utc), "servers_count": 2.5,
        "search_queries_total": 2**63 - 1, "auth_path_share_24h": {"keycloak": 62.5, "jwt": 37.5}, "gpu": "a100",
    }
    validated = validate_events(docs.rows_to_frame([docs.document_to_row(document, "heartbeat")]), DAY)
    event = validated.events.row(0, named=True)
    assert (event["compute"], event["servers_count"], event["search_queries_total"]) == ("nomad", None, None)
    assert event["auth_path_share_24h"] == '{"keycloak":62.5,"jwt":37.5}'
    assert validated.quarantine.select("column", "action", "value").rows() == [
        ("compute", "kept", "nomad"),
        ("search_queries_total", "cleared", "9223372036854775807"),
        ("servers_count", "cleared", "2.5"),
    ]
