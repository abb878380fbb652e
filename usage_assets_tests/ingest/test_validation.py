"""Validation of untrusted export rows: every rule has a reject reason, nothing is lost."""

from datetime import date, datetime, timezone

import pytest

from usage_assets.ingest.validation import (
    normalize_auth_share,
    rejects_by_reason,
    validate_events,
)
from usage_assets_tests.conftest import ID_A, event, export_rows

DAY = date(2026, 5, 20)
TS = "2026-05-20T14:03:11.123Z"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"event": "shutdown"}, "event: not startup or heartbeat"),
        ({"ts": None}, "ts: missing"),
        ({"ts": "yesterday at noon"}, "ts: not an ISO-8601 time"),
        ({"ts": "2026-05-21T00:00:00.000Z"}, "ts: outside the partition's UTC day"),
        ({"v": None}, "v: missing"),
        ({"v": "x" * 201}, "v: longer than 200 characters"),
        ({"registry_id": "a" * 37}, "registry_id: longer than 36 characters"),
        ({"py": "three"}, "py: not MAJOR.MINOR"),
        ({"os": "beos"}, "os: not one of the allowed values"),
        ({"cloud": "moon"}, "cloud: not one of the allowed values"),
        ({"compute": "mainframe"}, "compute: not one of the allowed values"),
        ({"mode": "both"}, "mode: not one of the allowed values"),
        ({"registry_mode": "half"}, "registry_mode: not one of the allowed values"),
        ({"storage": "floppy"}, "storage: not one of the allowed values"),
        ({"search_backend": "grep"}, "search_backend: not one of the allowed values"),
        ({"embeddings_backend_kind": "magic"}, "embeddings_backend_kind: not one of the allowed values"),
        ({"cloud_detection_method": "guess"}, "cloud_detection_method: not one of the allowed values"),
        ({"internal_deployment_type": "prod"}, "internal_deployment_type: not one of the allowed values"),
        ({"auth_path_volume_bucket_24h": "lots"}, "auth_path_volume_bucket_24h: not one of the allowed values"),
        ({"servers_count": "-1"}, "servers_count: not a non-negative integer"),
        ({"search_queries_total": "12.5"}, "search_queries_total: not a non-negative integer"),
        ({"auth_path_window_hours": "49"}, "auth_path_window_hours: more than 48"),
        ({"federation": "yes"}, "federation: not True or False"),
        ({"internal_only_deployment": "1"}, "internal_only_deployment: not True or False"),
        ({"auth_path_share_24h": "keycloak=50"}, "auth_path_share_24h: not a JSON object"),
        ({"auth_path_share_24h": '{"keycloak": 150}'}, "auth_path_share_24h: share is not an integer 0..100"),
        ({"cloud": "gcp", "cloud_detection_method": "ecs_meta"}, "cloud_detection_method: inconsistent with cloud"),
        ({"cloud": "aws", "cloud_detection_method": "unknown"}, "cloud_detection_method: inconsistent with cloud"),
        ({"cloud": "on_premises", "cloud_detection_method": "imds"}, "cloud_detection_method: inconsistent with cloud"),
    ],
)
def test_each_rule_rejects_with_its_reason(fields, reason):
    row = {**event("heartbeat", ID_A, TS), **fields}
    result = validate_events(export_rows([row, event("startup", ID_A, TS)]), DAY)
    assert result.rejects["reason"].to_list() == [reason]
    assert result.events.height == 1  # the good row survives
    assert result.rejects["event"][0] == row["event"]  # original strings kept


def test_several_broken_rules_are_all_named():
    result = validate_events(export_rows([event("bogus", ID_A, TS, cloud="moon", federation="maybe")]), DAY)
    assert result.rejects["reason"][0] == (
        "event: not startup or heartbeat; cloud: not one of the allowed values; federation: not True or False"
    )
    assert rejects_by_reason(result.rejects) == {
        "cloud: not one of the allowed values": 1,
        "event: not startup or heartbeat": 1,
        "federation: not True or False": 1,
    }


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
