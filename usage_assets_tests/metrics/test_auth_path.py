"""Auth-path mix: collection funnel, volume-weighted fleet share and not-collected states."""

from datetime import date

import polars as pl

from usage_assets.daily.activity import instance_days_from_events, instances_as_of
from usage_assets.daily.internal import InternalAllowlist
from usage_assets.ingest.validation import validate_events
from usage_assets.metrics.auth_path import auth_path_summary
from usage_assets_tests.conftest import ID_A, ID_B, ID_C, event, export_rows

DAY = date(2026, 5, 2)


def days_of(rows_by_day: dict[date, list[dict]]) -> pl.LazyFrame:
    frames = [
        instance_days_from_events(validate_events(export_rows(rows), day).events, day)
        for day, rows in rows_by_day.items()
    ]
    return pl.concat(frames).lazy()


def v6(registry_id: str, ts: str, share: str | None, bucket: str | None, window: str | None = None) -> dict:
    return event(
        "heartbeat", registry_id, ts, schema_version="6",
        auth_path_share_24h=share, auth_path_volume_bucket_24h=bucket, auth_path_window_hours=window,
    )


def installs(rows: list[tuple[int | None, str | None, str | None, int | None]]) -> pl.DataFrame:
    """(schema_version, share, bucket, window hours) per install."""
    return pl.DataFrame(
        rows,
        schema={
            "schema_version": pl.Int64,
            "auth_path_share_24h": pl.String,
            "auth_path_volume_bucket_24h": pl.String,
            "auth_path_window_hours": pl.Int64,
        },
        orient="row",
    )


NO_HISTORY = pl.DataFrame(
    schema={"date": pl.Date, "registry_id": pl.String, "auth_path_share_24h": pl.String}
).lazy()


def test_a_busy_install_outweighs_an_idle_one():
    # Reference T24. A: keycloak 50 / session_cookie 50 at 10k+ (weight 10000), on D.
    # B: keycloak 100 at 1-9 (weight 3), on D-1 only. C: schema v5, no share.
    # keycloak = (10000*50 + 3*100) / (10000*100 + 3*100) = 500300/1000300 = 50.01 -> 50.0
    # session_cookie = 500000/1000300 = 49.99 -> 50.0; equal shares sort by path.
    history = days_of({
        date(2026, 5, 1): [
            v6(ID_B, "2026-05-01T08:00:00.000Z", '{"keycloak":100}', "1-9", "12"),
            event("heartbeat", ID_C, "2026-05-01T08:00:00.000Z", schema_version="5"),
        ],
        DAY: [v6(ID_A, "2026-05-02T08:00:00.000Z", '{"keycloak":50,"session_cookie":50}', "10k+", "24")],
    })
    summary = auth_path_summary(instances_as_of(history, InternalAllowlist()), history, DAY)
    assert summary == {
        "total_instances": 3,
        "schema_v6_instances": 2,
        "reporting_instances": 2,
        "reporting_instances_yesterday": 1,
        "per_path_instances": {"keycloak": 2, "session_cookie": 1},
        "volume_bucket_counts": {"1-9": 1, "10k+": 1},
        "window_hours": {"min": 12, "median": 18.0, "max": 24},
        "fleet_share_pct": {"keycloak": 50.0, "session_cookie": 50.0},
        "coverage_pct": 66.7,
        "collected": True,
        "capture_since_release": "1.31.0",
        "state": "collected",
    }
    assert list(summary["fleet_share_pct"]) == ["keycloak", "session_cookie"]


def test_unknown_paths_are_dropped_and_the_rest_renormalised():
    # Validation drops "foo"; B's remaining jwt 50 is the whole of B's traffic share.
    # Both weight 3: keycloak = 300 / (300 + 150) = 66.7, jwt = 150 / 450 = 33.3.
    history = days_of({DAY: [
        v6(ID_A, "2026-05-02T08:00:00.000Z", '{"keycloak":100}', "1-9"),
        v6(ID_B, "2026-05-02T09:00:00.000Z", '{"jwt":50,"foo":50}', "1-9"),
    ]})
    summary = auth_path_summary(instances_as_of(history, InternalAllowlist()), history, DAY)
    assert summary["fleet_share_pct"] == {"keycloak": 66.7, "jwt": 33.3}
    assert summary["window_hours"] == {}


def test_zero_and_missing_buckets_weigh_like_the_smallest_bucket():
    # jwt at "0" -> 3, keycloak with no bucket -> 3, okta at 10-99 -> 30; each 100 %.
    # Total 300 + 300 + 3000 = 3600: okta 83.3, jwt 8.3, keycloak 8.3 (ties by path).
    # cognito 0 carries no traffic: not a path of A.
    fleet = installs([
        (6, '{"jwt":100,"cognito":0}', "0", 24),
        (6, '{"keycloak":100}', None, 24),
        (6, '{"okta":100}', "10-99", 48),
    ])
    summary = auth_path_summary(fleet, NO_HISTORY, DAY)
    assert list(summary["fleet_share_pct"].items()) == [("okta", 83.3), ("jwt", 8.3), ("keycloak", 8.3)]
    assert summary["per_path_instances"] == {"jwt": 1, "keycloak": 1, "okta": 1}
    assert list(summary["volume_bucket_counts"].items()) == [("0", 1), ("10-99", 1)]
    assert summary["window_hours"] == {"min": 24, "median": 24.0, "max": 48}
    assert summary["reporting_instances_yesterday"] == 0


def test_not_collected_states():
    # v6 installs exist but none sends a share (e.g. an old collector drops the fields).
    silent = auth_path_summary(installs([(6, None, None, None), (5, None, None, None)]), NO_HISTORY, DAY)
    assert silent["state"] == "schema_v6_not_reporting"
    assert (silent["schema_v6_instances"], silent["reporting_instances"], silent["collected"]) == (1, 0, False)
    assert silent["fleet_share_pct"] == {} and silent["coverage_pct"] == 0.0

    # An all-zero share names no path, so it does not count as reporting.
    all_zero = auth_path_summary(installs([(6, '{"jwt":0}', "0", 24)]), NO_HISTORY, DAY)
    assert all_zero["state"] == "schema_v6_not_reporting"

    old = auth_path_summary(installs([(5, None, None, None), (None, None, None, None)]), NO_HISTORY, DAY)
    assert old["state"] == "no_schema_v6" and old["total_instances"] == 2

    empty = auth_path_summary(installs([]), NO_HISTORY, DAY)
    assert (empty["state"], empty["total_instances"], empty["coverage_pct"]) == ("no_schema_v6", 0, 0.0)
    assert empty["volume_bucket_counts"] == {} and empty["window_hours"] == {}


def test_decimal_shares_and_a_new_volume_bucket_count():
    table = installs([(6, '{"keycloak":62.5,"jwt":37.5}', "100k+", 24), (6, '{"jwt":100}', "1-9", 24)])
    summary = auth_path_summary(table, NO_HISTORY, DAY)
    assert summary["reporting_instances"] == 2
    assert summary["volume_bucket_counts"] == {"1-9": 1, "100k+": 1}  # known buckets first
    assert summary["per_path_instances"] == {"jwt": 2, "keycloak": 1}
