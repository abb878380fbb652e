"""Fleet summary numbers against hand-computed expectations."""

from datetime import date, datetime, timezone

import polars as pl

from usage_assets.metrics.fleet import fleet_metrics, stickiness, version_adoption


def customers(ages: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "registry_id": [f"{n:08d}-0000-4000-8000-000000000000" for n in range(len(ages))],
            "age_days": ages,
            "events": [1] * len(ages),
        },
        schema={"registry_id": pl.String, "age_days": pl.Int64, "events": pl.Int64},
    )


def test_stickiness_of_a_ten_install_fleet():
    # Ages 0,0,0,0,0,1,3,7,14,30 (reference T7).
    result = stickiness(customers([0, 0, 0, 0, 0, 1, 3, 7, 14, 30]))
    assert result["total_non_internal"] == 10
    assert result["one_day_wonders"] == 5 and result["one_day_wonder_pct"] == 50.0
    assert result["sticky_3plus_days"] == 4
    assert result["lifetime_bucket_counts"] == {"3": 4, "7": 3, "14": 2, "30": 1}
    assert result["lifetime_bucket_pct"] == {"3": 40.0, "7": 30.0, "14": 20.0, "30": 10.0}
    assert result["longest_non_internal_days"] == 30
    assert result["longest_non_internal_id"] == "00000009-000..."


def test_stickiness_without_customers_is_zero_not_an_error():
    result = stickiness(customers([]))
    assert result["total_non_internal"] == 0 and result["one_day_wonder_pct"] == 0.0
    assert result["longest_non_internal_id"] is None


def history_rows() -> pl.LazyFrame:
    ts = datetime(2026, 5, 1, 8, tzinfo=timezone.utc)
    versions = pl.List(pl.Struct({"version": pl.String, "events": pl.Int64, "first_ts": pl.Datetime("ms", "UTC")}))
    return pl.DataFrame(
        {
            "date": [date(2026, 5, 1)] * 3 + [date(2026, 5, 2)],
            "registry_id": [None, "a", "b", "a"],
            "events": [2, 3, 1, 4],
            "startup_events": [2, 1, 1, 0],
            "heartbeat_events": [0, 2, 0, 4],
            "first_ts": [ts] * 4,
            "last_ts": [ts] * 3 + [datetime(2026, 5, 2, 9, tzinfo=timezone.utc)],
            "versions": [
                [{"version": "1.0.21", "events": 2, "first_ts": ts}],
                [{"version": "1.30.0", "events": 3, "first_ts": ts}],
                [{"version": "1.30.0", "events": 1, "first_ts": ts}],
                [{"version": "1.31.0-3-gabc1234-main", "events": 4, "first_ts": ts}],
            ],
        },
        schema_overrides={"versions": versions},
    ).lazy()


def test_version_adoption_counts_events_and_distinct_installs():
    rows = version_adoption(history_rows(), total_events=10, identified=2)
    assert [(r["version"], r["build"], r["events"], r["instances"]) for r in rows] == [
        ("1.30.0", "community", 4, 2),
        ("1.31.0-3-gabc1234-main", "internal", 4, 1),
        ("1.0.21", "community", 2, 0),
    ]
    assert rows[0]["percentage"] == 40.0 and rows[0]["instance_percentage"] == 100.0


def test_version_adoption_counts_a_version_once_whatever_its_spelling():
    # b reports the release as v1.30.0: one version, 2 installs, both spellings kept.
    history = history_rows().with_columns(
        pl.when(pl.col("registry_id") == "b")
        .then(pl.col("versions").list.eval(pl.element().struct.with_fields(version=pl.lit("v1.30.0"))))
        .otherwise(pl.col("versions"))
    )
    rows = version_adoption(history, total_events=10, identified=2)
    assert [(r["version"], r["spellings"], r["events"], r["instances"]) for r in rows] == [
        ("1.30.0", ["1.30.0", "v1.30.0"], 4, 2),
        ("1.31.0-3-gabc1234-main", ["1.31.0-3-gabc1234-main"], 4, 1),
        ("1.0.21", ["1.0.21"], 2, 0),
    ]


def test_fleet_summary_key_metrics_and_internal_list():
    instances = pl.DataFrame({
        "registry_id": ["a", "b"],
        "age_days": [1, 0],
        "events": [7, 1],
        "first_seen": [date(2026, 5, 1)] * 2,
        "last_seen": [date(2026, 5, 2), date(2026, 5, 1)],
        "is_internal": [False, True],
        "internal_reason": [None, "allowlist"],
        "v": ["1.31.0-3-gabc1234-main", "1.30.0"],
        **{facet: ["aws", None] for facet in ("cloud", "compute", "storage", "auth", "arch", "mode")},
    })
    summary = fleet_metrics(instances, history_rows(), date(2026, 5, 2))
    assert summary["key_metrics"] == {
        "total_events": 10, "startup_events": 4, "heartbeat_events": 6, "identified_instances": 2,
        "null_registry_id_count": 2, "earliest_ts": "2026-05-01T08:00:00.000Z", "latest_ts": "2026-05-02T09:00:00.000Z",
    }
    assert summary["per_cloud_unique_installs"] == {"aws": 1, "unknown": 1}
    assert summary["internal_instance_ids"] == ["b"]
    assert summary["stickiness"]["total_non_internal"] == 1
    assert summary["active_on_report_date"] == {"installs": 1, "customers": 1, "new_installs": 0}
    assert summary["install_distributions"]["active_on_report_date"]["cloud"] == {"aws": 1}


def test_short_id_cannot_carry_markup():
    from usage_assets.common.formatting import short_id

    assert short_id("aaaaaaaa-0000-4000-8000-00000000000a") == "aaaaaaaa-000..."
    assert short_id("[a](//x.io) <img src=x>") == "?a??????????..."
