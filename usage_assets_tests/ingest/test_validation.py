"""Validation of untrusted export rows: rows that cannot be events are rejected with a reason,
broken fields of kept events are quarantined, nothing is lost."""

from datetime import date, datetime, timezone

import polars as pl
import pytest

from usage_assets.ingest.validation import (
    CLEARED,
    DROPPED,
    KEPT,
    MISSING,
    QUARANTINED_VALUE_CHARS,
    RECORD_ORIGIN,
    RECORD_PROBLEM,
    ingest_stats,
    normalize_auth_share,
    rejects_by_reason,
    validate_events,
)
from usage_assets_tests.conftest import ID_A, ID_B, event, export_rows

DAY = date(2026, 5, 20)
TS = "2026-05-20T14:03:11.123Z"


def with_record_columns(frame: pl.DataFrame, rows: list[dict]) -> pl.DataFrame:
    """``frame`` plus the source's record_problem and record_origin columns from ``rows``."""
    return frame.with_columns(
        pl.Series(name, [row.get(name) for row in rows], dtype=pl.String) for name in (RECORD_PROBLEM, RECORD_ORIGIN)
    )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"event": "shutdown"}, "event: not startup or heartbeat"),
        ({"event": None}, "event: not startup or heartbeat"),
        ({"ts": None}, "ts: missing"),
        ({"ts": "yesterday at noon"}, "ts: not an ISO-8601 time"),
        ({"ts": "2026-05-21T00:00:00.000Z"}, "ts: outside the partition's UTC day"),
        ({"registry_id": "a" * 37}, "registry_id: not a UUID"),
        ({"registry_id": "<script>alert(1)</script>"}, "registry_id: not a UUID"),
        ({"registry_id": "aaaaaaaa-0000-4000-8000-00000000000"}, "registry_id: not a UUID"),
        ({"record_problem": "record: more fields than the header"}, "record: more fields than the header"),
    ],
)
def test_each_row_rule_rejects_with_its_reason(fields, reason):
    row = {**event("heartbeat", ID_A, TS), **fields}
    result = validate_events(with_record_columns(export_rows([row, event("startup", ID_A, TS)]), [row, {}]), DAY)
    assert result.rejects["reason"].to_list() == [reason]
    assert result.events.height == 1  # the good row survives
    assert result.rejects["event"][0] == row["event"]  # original strings kept


# Rows that used to be rejected for these values are now kept (issue 10, item 2): a
# value outside a known list is kept as it is, a value breaking a type or range rule is
# cleared, and both are counted in the field quarantine.
@pytest.mark.parametrize(
    ("fields", "column", "rule", "action", "typed"),
    [
        ({"os": "beos"}, "os", "not a known value", KEPT, "beos"),
        ({"cloud": "moon"}, "cloud", "not a known value", KEPT, "moon"),
        ({"compute": "mainframe"}, "compute", "not a known value", KEPT, "mainframe"),
        ({"mode": "both"}, "mode", "not a known value", KEPT, "both"),
        ({"registry_mode": "half"}, "registry_mode", "not a known value", KEPT, "half"),
        ({"storage": "floppy"}, "storage", "not a known value", KEPT, "floppy"),
        ({"search_backend": "grep"}, "search_backend", "not a known value", KEPT, "grep"),
        ({"embeddings_backend_kind": "magic"}, "embeddings_backend_kind", "not a known value", KEPT, "magic"),
        ({"cloud_detection_method": "guess"}, "cloud_detection_method", "not a known value", KEPT, "guess"),
        ({"internal_deployment_type": "prod"}, "internal_deployment_type", "not a known value", KEPT, "prod"),
        ({"auth_path_volume_bucket_24h": "lots"}, "auth_path_volume_bucket_24h", "not a known value", KEPT, "lots"),
        ({"v": None}, "v", "missing (required)", MISSING, None),
        ({"v": "x" * 201}, "v", "longer than 200 characters", CLEARED, None),
        ({"arch": "x" * 65}, "arch", "longer than 64 characters", CLEARED, None),
        ({"embeddings_provider": "e" * 65}, "embeddings_provider", "longer than 64 characters", CLEARED, None),
        ({"compute": "c" * 65}, "compute", "longer than 64 characters", CLEARED, None),
        ({"source_ip_hash": "f" * 129}, "source_ip_hash", "longer than 128 characters", CLEARED, None),
        ({"py": "three"}, "py", "not MAJOR.MINOR", CLEARED, None),
        ({"servers_count": "-1"}, "servers_count", "not a non-negative integer", CLEARED, None),
        ({"search_queries_total": "12.5"}, "search_queries_total", "not a non-negative integer", CLEARED, None),
        ({"search_queries_total": "9223372036854775807"}, "search_queries_total", "more than 100,000,000,000",
         CLEARED, None),
        ({"search_queries_total": "99999999999999999999"}, "search_queries_total", "not a non-negative integer",
         CLEARED, None),
        ({"uptime_hours": "200001"}, "uptime_hours", "more than 200,000", CLEARED, None),
        ({"auth_path_window_hours": "49"}, "auth_path_window_hours", "more than 48", CLEARED, None),
        ({"federation": "yes"}, "federation", "not True or False", CLEARED, None),
        ({"internal_only_deployment": "1"}, "internal_only_deployment", "not True or False", CLEARED, None),
        ({"auth_path_share_24h": "keycloak=50"}, "auth_path_share_24h", "not a JSON object", CLEARED, None),
        ({"auth_path_share_24h": '{"keycloak": 150}'}, "auth_path_share_24h", "share is not a number 0..100",
         CLEARED, None),
        ({"auth_path_share_24h": '{"keycloak": 5, "mtls": 95}'}, "auth_path_share_24h", "not a known auth path",
         DROPPED, '{"keycloak":5}'),
        ({"cloud": "gcp", "cloud_detection_method": "ecs_meta"}, "cloud_detection_method", "inconsistent with cloud",
         CLEARED, None),
        ({"cloud": "aws", "cloud_detection_method": "unknown"}, "cloud_detection_method", "inconsistent with cloud",
         CLEARED, None),
        ({"cloud": "on_premises", "cloud_detection_method": "imds"}, "cloud_detection_method",
         "inconsistent with cloud", CLEARED, None),
    ],
)
def test_each_field_rule_keeps_the_event_and_quarantines_the_value(fields, column, rule, action, typed):
    row = {**event("heartbeat", ID_A, TS), **fields}
    result = validate_events(export_rows([row, event("startup", ID_A, TS)]), DAY)
    assert result.rejects.height == 0 and result.events.height == 2
    heartbeat = result.events.filter(pl.col("event") == "heartbeat").row(0, named=True)
    assert heartbeat[column] == typed
    value = "mtls" if action == DROPPED else fields[column]
    if value is not None and len(value) > QUARANTINED_VALUE_CHARS:
        value = value[: QUARANTINED_VALUE_CHARS - 1] + "…"
    assert result.quarantine.to_dicts() == [
        {"column": column, "rule": rule, "action": action, "value": value, "events": 1}
    ]


def test_quarantined_values_are_counted_per_value_and_cut_for_storage():
    rows = [event("heartbeat", ID_A, f"2026-05-20T14:0{n}:00.000Z", compute="nomad") for n in range(3)]
    rows.append(event("heartbeat", ID_B, TS, compute="nomad", arch="a" * 50_000_000))
    result = validate_events(export_rows(rows), DAY)
    assert result.events["compute"].to_list() == ["nomad"] * 4
    assert result.events["arch"].to_list() == [None] * 4
    findings = {(r["column"], r["action"]): r for r in result.quarantine.iter_rows(named=True)}
    assert findings[("compute", KEPT)]["events"] == 4
    assert len(findings[("arch", CLEARED)]["value"]) == QUARANTINED_VALUE_CHARS


def test_decimal_auth_shares_are_accepted():
    row = event("heartbeat", ID_A, TS, auth_path_share_24h='{"session_cookie": 62.5, "keycloak": 37.5}')
    result = validate_events(export_rows([row]), DAY)
    assert result.events["auth_path_share_24h"].to_list() == ['{"session_cookie":62.5,"keycloak":37.5}']
    assert result.quarantine.height == 0


def test_an_unidentified_event_is_kept():
    result = validate_events(export_rows([event("startup", None, TS)]), DAY)
    assert result.events.height == 1 and result.rejects.height == 0


def test_several_broken_row_rules_are_all_named_and_field_rules_do_not_add_to_them():
    row = event("bogus", "not-a-uuid", TS, cloud="moon", federation="maybe", record_problem="record: cut short")
    result = validate_events(with_record_columns(export_rows([row]), [row]), DAY)
    assert result.rejects["reason"][0] == "record: cut short; event: not startup or heartbeat; registry_id: not a UUID"
    assert rejects_by_reason(result.rejects) == {
        "event: not startup or heartbeat": 1,
        "record: cut short": 1,
        "registry_id: not a UUID": 1,
    }
    assert result.quarantine.height == 0  # a rejected row's fields are not looked at


def test_the_origin_of_a_rejected_row_is_kept():
    row = event("startup", ID_A, None, record_origin="2026-05-21/registry_metrics.csv line 7")
    rows = with_record_columns(export_rows([row]), [row])
    assert validate_events(rows, DAY).rejects["origin"].to_list() == ["2026-05-21/registry_metrics.csv line 7"]


def test_rows_read_add_up_and_stats_count_field_outcomes():
    rows = [event("startup", ID_A, TS, compute="nomad"), event("startup", ID_A, TS),
            event("heartbeat", ID_B, TS, servers_count="-4"), event("heartbeat", "x", TS)]
    frame = export_rows(rows)
    stats = ingest_stats(frame, validate_events(frame, DAY))
    assert (stats["fetched"], stats["valid"], stats["duplicates"], stats["rejected"]) == (4, 2, 1, 1)
    assert stats["field_issues"] == {"cleared": 1, "kept": 1}


def test_values_are_typed():
    row = event(
        "heartbeat", ID_A, "2026-05-20T16:03:11.123456+02:00",
        federation="True", internal_only_deployment="false", servers_count="7", schema_version="6",
        auth_path_share_24h='{"keycloak":50,"foo":3,"jwt":50}',
    )
    typed = validate_events(export_rows([row]), DAY).events.row(0, named=True)
    assert typed["ts"] == datetime(2026, 5, 20, 14, 3, 11, 123000, tzinfo=timezone.utc)
    assert typed["federation"] is True and typed["internal_only_deployment"] is False
    assert typed["servers_count"] == 7 and typed["schema_version"] == 6
    assert typed["auth_path_share_24h"] == '{"keycloak":50,"jwt":50}'  # unknown path dropped


def test_duplicate_deliveries_keep_one_row_and_are_counted():
    same = event("heartbeat", ID_A, TS, servers_count="3")
    other_spelling = event("heartbeat", ID_A, "2026-05-20T14:03:11.123000+00:00")
    result = validate_events(export_rows([same, same, other_spelling, event("startup", ID_A, TS)]), DAY)
    assert result.duplicates == 2
    assert result.events.height == 2
    # The most complete copy is the one kept.
    assert result.events.filter(result.events["event"] == "heartbeat")["servers_count"].to_list() == [3]


def test_empty_input_gives_empty_typed_frames():
    result = validate_events(export_rows([event("startup", ID_A, TS)]).clear(), DAY)
    assert result.events.height == 0 and result.rejects.height == 0 and result.duplicates == 0


def test_auth_share_with_only_unknown_paths_becomes_empty():
    assert normalize_auth_share('{"foo": 10}') is None
    with pytest.raises(ValueError):
        normalize_auth_share('{"jwt": true}')
