"""Version order, upgrade trajectories and the community/internal build summary."""

from datetime import date

import polars as pl

from usage_assets.daily.activity import instance_days_from_events, instances_as_of
from usage_assets.daily.internal import InternalAllowlist
from usage_assets.ingest.validation import validate_events
from usage_assets.metrics.versions import build_kind, build_summary, semver_key, upgrade_trajectories
from usage_assets_tests.conftest import ID_A, ID_B, ID_C, event, export_rows

ID_D = "dddddddd-0000-4000-8000-00000000000d"


def days_of(rows_by_day: dict[date, list[dict]]) -> pl.LazyFrame:
    frames = [
        instance_days_from_events(validate_events(export_rows(rows), day).events, day)
        for day, rows in rows_by_day.items()
    ]
    return pl.concat(frames).lazy()


def test_build_kind_of_release_tags_builds_and_empty_versions():
    # Reference T9.
    versions = ["1.24.4", "v1.0.22-p1", "1.24.1-25-g5b4b2a30-main", "f3d77e3", "", None]
    assert [build_kind(v) for v in versions] == [
        "community", "community", "internal", "internal", "unknown", "unknown",
    ]


def test_semver_key_orders_numerically_and_ignores_build_suffixes():
    assert semver_key("v1.24.1") == semver_key("1.24.1-25-g5b4b2a30-main") == (1, 24, 1, 0)
    assert semver_key("f3d77e3") == semver_key(None) == (0, 0, 0, 0)
    assert semver_key("1.31.0rc1") == (1, 31, 0, 0)
    # A -pN patch release is newer than its release and older than the next one.
    assert semver_key("1.28.0") < semver_key("1.28.0-p1") < semver_key("1.28.0-p2") < semver_key("1.28.1")
    versions = ["1.9.0", "v1.24.1", "f3d77e3", "1.24.1-25-g5b4b2a30-main", "1.10.2"]
    newest_first = sorted(versions, key=semver_key, reverse=True)
    # 1.10 is newer than 1.9 (a string sort would say otherwise); equal keys keep input order.
    assert newest_first == ["v1.24.1", "1.24.1-25-g5b4b2a30-main", "1.10.2", "1.9.0", "f3d77e3"]


def test_upgrade_trajectories_list_customers_with_two_or_more_versions():
    history = days_of({
        date(2026, 5, 1): [
            event("startup", ID_A, "2026-05-01T08:00:00.000Z", v="1.30.0"),
            event("startup", ID_B, "2026-05-01T08:00:00.000Z", v="1.29.0"),
            event("startup", ID_C, "2026-05-01T08:00:00.000Z", v="1.30.0"),
            event("startup", ID_D, "2026-05-01T08:00:00.000Z", v="1.31.0"),
        ],
        date(2026, 5, 3): [
            event("startup", ID_A, "2026-05-03T08:00:00.000Z", v="1.31.0"),
            event("startup", ID_B, "2026-05-03T08:00:00.000Z", v="1.30.0"),
            event("startup", ID_C, "2026-05-03T08:00:00.000Z", v="1.31.0"),
        ],
        date(2026, 5, 5): [
            event("startup", ID_A, "2026-05-05T08:00:00.000Z", v="1.30.0"),
            event("startup", ID_B, "2026-05-05T08:00:00.000Z", v="1.31.0"),
        ],
    })
    # C is internal (allowlisted) and D never changed version: neither is listed.
    instances = instances_as_of(history, InternalAllowlist(full_ids=frozenset({ID_C})))
    assert upgrade_trajectories(instances) == [
        # B: 1.29.0 -> 1.30.0 -> 1.31.0, two changes, first.
        {
            "registry_id": "bbbbbbbb-000...", "registry_id_full": ID_B,
            "version_changes": 2, "trajectory": ["1.29.0", "1.30.0", "1.31.0"],
        },
        # A: 1.30.0 (05-01), 1.31.0 (05-03), back to 1.30.0 (05-05) -> [A, B], one change (T10).
        {
            "registry_id": "aaaaaaaa-000...", "registry_id_full": ID_A,
            "version_changes": 1, "trajectory": ["1.30.0", "1.31.0"],
        },
    ]


def fleet() -> tuple[pl.DataFrame, pl.LazyFrame]:
    history = days_of({
        date(2026, 5, 1): [
            event("startup", ID_A, "2026-05-01T08:00:00.000Z", v="1.31.0"),
            event("startup", ID_C, "2026-05-01T08:00:00.000Z", v="1.30.0"),
            event("startup", ID_D, "2026-05-01T08:00:00.000Z", v="abc1234"),
        ],
        date(2026, 5, 2): [
            event("startup", ID_B, "2026-05-02T08:00:00.000Z", v="1.31.0-3-gabc1234-main"),
            event("heartbeat", ID_D, "2026-05-02T08:00:00.000Z", v="1.31.0"),
        ],
        date(2026, 5, 3): [
            event("heartbeat", ID_A, "2026-05-03T08:00:00.000Z", v="1.31.0"),
            event("heartbeat", ID_B, "2026-05-03T08:00:00.000Z", v="1.31.0-3-gabc1234-main"),
        ],
    })
    # C is on the allowlist but runs a release tag: the build class ignores the allowlist.
    return instances_as_of(history, InternalAllowlist(full_ids=frozenset({ID_C}))), history


def test_build_summary_counts_installs_by_the_class_of_their_latest_version():
    instances, history = fleet()
    summary = build_summary(instances, history, date(2026, 5, 1), date(2026, 5, 3))
    # Classes: A community, B internal (git-describe), C community, D community (its latest
    # version 1.31.0 decides, although it started on a bare hash).
    assert summary["yesterday_date"] == "2026-05-03"
    assert summary["yesterday"] == {"community": 1, "internal": 1, "unknown": 0, "total": 2}
    assert summary["cumulative"] == {"community": 3, "internal": 1, "unknown": 0, "total": 4}
    assert summary["per_version"] == {
        "community": [{"version": "1.31.0", "instances": 2}, {"version": "1.30.0", "instances": 1}],
        "internal": [{"version": "1.31.0-3-gabc1234-main", "instances": 1}],
    }
    # 05-01: A, C, D active; 05-02: B, D; 05-03: A, B. First seen: A, C, D 05-01; B 05-02.
    assert summary["timeseries"] == [
        {"date": "2026-05-01", "community": 3, "internal": 0, "unknown": 0,
         "cumulative_community": 3, "cumulative_internal": 0, "cumulative_unknown": 0},
        {"date": "2026-05-02", "community": 1, "internal": 1, "unknown": 0,
         "cumulative_community": 3, "cumulative_internal": 1, "cumulative_unknown": 0},
        {"date": "2026-05-03", "community": 1, "internal": 1, "unknown": 0,
         "cumulative_community": 3, "cumulative_internal": 1, "cumulative_unknown": 0},
    ]


def test_build_summary_series_starting_late_still_counts_earlier_installs():
    instances, history = fleet()
    series = build_summary(instances, history, date(2026, 5, 2), date(2026, 5, 3))["timeseries"]
    # A, C and D were first seen on 05-01, before the series starts: cumulative 3 on 05-02.
    assert [(row["date"], row["cumulative_community"], row["cumulative_internal"]) for row in series] == [
        ("2026-05-02", 3, 1),
        ("2026-05-03", 3, 1),
    ]


def test_build_summary_without_a_version_is_unknown_and_empty_fleet_is_zero():
    # Valid events always carry v; a hand-made table checks the "unknown" class.
    day = date(2026, 5, 1)
    instances = pl.DataFrame(
        {"registry_id": [ID_A], "first_seen": [day], "v": [None]},
        schema={"registry_id": pl.String, "first_seen": pl.Date, "v": pl.String},
    )
    history = pl.DataFrame({"date": [day], "registry_id": [ID_A]}).lazy()
    summary = build_summary(instances, history, day, day)
    assert summary["yesterday"] == {"community": 0, "internal": 0, "unknown": 1, "total": 1}
    assert summary["per_version"] == {"community": [], "internal": []}
    assert summary["timeseries"][0]["cumulative_unknown"] == 1

    empty = build_summary(instances.clear(), history.clear(), day, day)
    assert empty["cumulative"] == {"community": 0, "internal": 0, "unknown": 0, "total": 0}
    assert empty["timeseries"] == [
        {"date": "2026-05-01", "community": 0, "internal": 0, "unknown": 0,
         "cumulative_community": 0, "cumulative_internal": 0, "cumulative_unknown": 0},
    ]
