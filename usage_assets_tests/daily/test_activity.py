"""The daily activity layer and the cumulative install table, on hand-made events."""

from datetime import date

import polars as pl

from usage_assets.daily.activity import instance_days_from_events, instances_as_of
from usage_assets.daily.internal import InternalAllowlist
from usage_assets.ingest.validation import validate_events
from usage_assets_tests.conftest import ID_A, ID_B, event, export_rows


def days_of(rows_by_day: dict[date, list[dict]]) -> pl.LazyFrame:
    """instance_days rows for each day, as the cumulative assets scan them."""
    frames = [
        instance_days_from_events(validate_events(export_rows(rows), day).events, day)
        for day, rows in rows_by_day.items()
    ]
    return pl.concat(frames).lazy()


def install(rows_by_day, registry_id=ID_A, allowlist=InternalAllowlist()) -> dict:
    table = instances_as_of(days_of(rows_by_day), allowlist)
    return table.filter(pl.col("registry_id") == registry_id).row(0, named=True)


def test_lifetime_counts_utc_day_boundaries_not_hours():
    # Two minutes apart across midnight: lifetime 1 day (reference T4).
    across = install({
        date(2026, 5, 1): [event("startup", ID_A, "2026-05-01T23:59:00.000Z")],
        date(2026, 5, 2): [event("heartbeat", ID_A, "2026-05-02T00:01:00.000Z")],
    })
    assert across["age_days"] == 1 and across["active_days"] == 2
    # Almost 24 hours apart on one day: lifetime 0, a one-day wonder.
    same_day = install({date(2026, 5, 1): [
        event("startup", ID_A, "2026-05-01T00:00:00.000Z"),
        event("heartbeat", ID_A, "2026-05-01T23:59:00.000Z"),
    ]})
    assert same_day["age_days"] == 0 and same_day["first_seen"] == same_day["last_seen"] == date(2026, 5, 1)


def test_attributes_are_latest_non_empty_across_a_pre_v4_heartbeat():
    # The latest row is a pre-v4 heartbeat with empty shape columns (reference T5): the
    # reference would report storage "unknown"; we keep the startup's values.
    row = install({
        date(2026, 5, 1): [event("startup", ID_A, "2026-05-01T08:00:00.000Z", auth="keycloak", storage="documentdb", cloud="aws", compute="ecs")],
        date(2026, 5, 3): [event("heartbeat", ID_A, "2026-05-03T08:00:00.000Z", cloud="aws", compute="ecs")],
    })
    assert (row["auth"], row["storage"], row["compute"]) == ("keycloak", "documentdb", "ecs")


def test_version_trajectory_lists_distinct_versions_in_first_seen_order():
    # A(05-01), B(05-03), A(05-05): trajectory [A, B], one change (reference T10).
    row = install({
        date(2026, 5, 1): [event("startup", ID_A, "2026-05-01T08:00:00.000Z", v="1.30.0")],
        date(2026, 5, 3): [event("startup", ID_A, "2026-05-03T08:00:00.000Z", v="1.31.0")],
        date(2026, 5, 5): [event("startup", ID_A, "2026-05-05T08:00:00.000Z", v="1.30.0")],
    })
    assert row["version_trajectory"] == ["1.30.0", "1.31.0"] and row["version_changes"] == 1
    assert row["v"] == "1.30.0"


def test_a_v_prefix_is_no_version_change():
    row = install({
        date(2026, 5, 1): [event("startup", ID_A, "2026-05-01T08:00:00.000Z", v="v1.35.0")],
        date(2026, 5, 2): [event("heartbeat", ID_A, "2026-05-02T08:00:00.000Z", v="1.35.0")],
        date(2026, 5, 3): [event("heartbeat", ID_A, "2026-05-03T08:00:00.000Z", v="V1.36.0")],
    })
    assert row["version_trajectory"] == ["1.35.0", "1.36.0"] and row["version_changes"] == 1
    assert row["v"] == "V1.36.0"  # the install's latest version as reported


def test_daily_layer_counts_events_and_keeps_unidentified_rows_apart():
    day = date(2026, 5, 1)
    rows = [
        event("startup", ID_A, "2026-05-01T08:00:00.000Z", search_queries_total="10"),
        event("heartbeat", ID_A, "2026-05-01T09:00:00.000Z", search_queries_total="50", servers_count="4"),
        event("heartbeat", ID_A, "2026-05-01T10:00:00.000Z", search_queries_total="5"),
        event("startup", None, "2026-05-01T11:00:00.000Z", v="1.0.21"),
        event("startup", None, "2026-05-01T12:00:00.000Z", v="1.0.21"),
    ]
    layer = instance_days_from_events(validate_events(export_rows(rows), day).events, day)
    assert layer["registry_id"].to_list() == [None, ID_A]
    unidentified, a = layer.row(0, named=True), layer.row(1, named=True)
    assert (unidentified["events"], unidentified["startup_events"]) == (2, 2)
    assert (a["events"], a["startup_events"], a["heartbeat_events"]) == (3, 1, 2)
    assert a["max_search_queries_total"] == 50 and a["max_servers"] == 4
    assert [v["version"] for v in a["versions"]] == ["1.31.0"]


def test_internal_classification_by_flag_and_allowlist():
    rows = {date(2026, 5, 1): [
        event("startup", ID_A, "2026-05-01T08:00:00.000Z", internal_only_deployment="True"),
        event("startup", ID_B, "2026-05-01T09:00:00.000Z"),
    ]}
    allowlist = InternalAllowlist.from_text(f"| `{ID_B}` | laptop |")
    table = instances_as_of(days_of(rows), allowlist)
    assert table.select("registry_id", "is_internal", "internal_reason").rows() == [
        (ID_A, True, "internal_only_deployment flag"),
        (ID_B, True, "allowlist"),
    ]


def test_source_ip_hash_is_the_latest_non_empty_and_days_written_before_it_existed_still_read(tmp_path):
    from usage_assets.storage.datasets import INSTANCE_DAYS
    from usage_assets.storage.lake import Lake

    first, second = date(2026, 5, 1), date(2026, 5, 2)
    lake = Lake(tmp_path)
    old_events = validate_events(export_rows([event("startup", ID_A, "2026-05-01T08:00:00.000Z")]), first).events
    # A day ingested before the field was kept: neither raw_events nor instance_days have it.
    old_day = instance_days_from_events(old_events.drop("source_ip_hash"), first)
    assert old_day["source_ip_hash"].to_list() == [None]
    lake.write_frame(INSTANCE_DAYS, first, old_day.drop("source_ip_hash"))
    lake.write_frame(INSTANCE_DAYS, second, instance_days_from_events(validate_events(export_rows([
        event("heartbeat", ID_A, "2026-05-02T08:00:00.000Z", source_ip_hash="abc123"),
        event("heartbeat", ID_A, "2026-05-02T09:00:00.000Z"),
        event("heartbeat", ID_B, "2026-05-02T09:00:00.000Z"),
    ]), second).events, second))
    table = instances_as_of(lake.scan_days(INSTANCE_DAYS, first, second), InternalAllowlist())
    assert dict(table.select("registry_id", "source_ip_hash").iter_rows()) == {ID_A: "abc123", ID_B: None}
    assert table.filter(pl.col("registry_id") == ID_A)["age_days"].to_list() == [1]
    # Only old days in range: the column is there, empty.
    only_old = instances_as_of(lake.scan_days(INSTANCE_DAYS, first, first), InternalAllowlist())
    assert only_old["source_ip_hash"].to_list() == [None]


def generated_days(days: int, seed: int = 3) -> dict[date, pl.DataFrame]:
    """instance_days of a small demo fleet (restarts, upgrades, missed heartbeats, internal
    installs), with random install-days dropped (gaps of any length: returns after silence)
    and some versions respelled with a ``v`` (a spelling change is no upgrade)."""
    import random
    from datetime import timedelta

    from usage_assets.sources.demo_fleet import DemoFleetParams, demo_events_for_day

    params, rng = DemoFleetParams(seed=seed, start=date(2026, 3, 1), daily_new_installs=6.0), random.Random(seed)
    layer = {}
    for offset in range(days):
        day = params.start + timedelta(days=offset)
        events = validate_events(demo_events_for_day(params, day), day).events
        ids = sorted(set(events["registry_id"].drop_nulls().to_list()))
        dropped = [registry_id for registry_id in ids if rng.random() < 0.3]
        events = events.filter(~pl.col("registry_id").is_in(dropped)).with_columns(
            pl.when(pl.col("v").is_not_null() & (pl.int_range(pl.len()) % 5 == 0))
            .then(pl.concat_str(pl.lit("v"), pl.col("v"))).otherwise(pl.col("v")).alias("v")
        )
        layer[day] = instance_days_from_events(events, day)
    return layer


def test_the_install_table_carried_forward_a_day_at_a_time_equals_the_full_fold():
    from usage_assets.daily.activity import instances_extended
    from usage_assets.sources.demo_fleet import DEMO_INTERNAL_ALLOWLIST

    allowlist = InternalAllowlist.from_file(DEMO_INTERNAL_ALLOWLIST)
    layer = generated_days(40)
    days = sorted(layer)
    carried = instances_as_of(layer[days[0]].lazy(), allowlist)
    for index, day in enumerate(days[1:], start=1):
        carried = instances_extended(carried, layer[day], allowlist)
        full = instances_as_of(pl.concat([layer[each] for each in days[: index + 1]]).lazy(), allowlist)
        assert carried.equals(full), day
    assert carried["is_internal"].any() and (carried["version_changes"] > 0).any()
    assert (carried["active_days"] < carried["age_days"] + 1).any()  # some installs came back after a gap


def test_a_table_is_carried_forward_only_while_its_history_is_unchanged(tmp_path):
    import os

    from usage_assets.daily.history import carried_forward
    from usage_assets.storage.lake import Lake

    lake, layer = Lake(tmp_path), generated_days(3)
    first, second, third = sorted(layer)
    for day, frame in layer.items():
        lake.write_frame("instance_days", day, frame)
    assert carried_forward(lake, "instances", third) is None  # day 2's table was never built
    lake.write_frame("instances", second, instances_as_of(pl.concat([layer[first], layer[second]]).lazy(),
                                                          InternalAllowlist()))
    assert carried_forward(lake, "instances", third) is not None
    # Day 1 ingested again after day 2's table was built: the table is stale.
    built = lake.path("instances", second).stat().st_mtime_ns
    os.utime(lake.path("instance_days", first), ns=(built + 1_000_000, built + 1_000_000))
    assert carried_forward(lake, "instances", third) is None


def test_a_customer_series_is_carried_forward_only_with_the_same_customers(tmp_path):
    import os

    from usage_assets.daily.history import carried_customer_series
    from usage_assets.storage.lake import Lake

    lake, layer = Lake(tmp_path), generated_days(3)
    first, second, third = sorted(layer)
    for day, frame in layer.items():
        lake.write_frame("instance_days", day, frame)
    before = instances_as_of(pl.concat([layer[first], layer[second]]).lazy(), InternalAllowlist())
    lake.write_frame("instances", second, before)
    series = pl.DataFrame({"date": [first, second], "value": [1, 2]})
    lake.write_frame("engagement", second, series)
    today = instances_as_of(pl.concat(layer.values()).lazy(), InternalAllowlist())
    assert carried_customer_series(lake, "engagement", third, today).equals(series)
    # One install seen before D became internal (say, added to the allowlist): every day changes.
    moved = today["registry_id"][0]
    reclassified = today.with_columns((pl.col("registry_id") == moved).alias("is_internal"))
    assert carried_customer_series(lake, "engagement", third, reclassified) is None
    # D-1's install table rebuilt after its series: the series may hold other customers.
    built = lake.path("engagement", second).stat().st_mtime_ns
    os.utime(lake.path("instances", second), ns=(built + 1_000_000, built + 1_000_000))
    assert carried_customer_series(lake, "engagement", third, today) is None
