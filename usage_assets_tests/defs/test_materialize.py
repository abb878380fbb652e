"""daily_asset over a partition range: one run, the body called once per day, oldest first,
each day's metadata on its own partition, and a day that raises leaves the days before it
materialized (and no later day)."""

from datetime import date, timedelta

import dagster as dg
import pytest

from usage_assets.defs.materialize import daily_asset, daily_multi_asset
from usage_assets.defs.partitions import PARTITIONS_START, partition_day

FIRST = PARTITIONS_START + timedelta(days=10)
DAYS = [FIRST + timedelta(days=n) for n in range(4)]
RANGE_TAGS = {"dagster/asset_partition_range_start": DAYS[0].isoformat(),
              "dagster/asset_partition_range_end": DAYS[-1].isoformat()}


def test_a_range_calls_the_body_per_day_and_puts_each_days_metadata_on_its_partition():
    seen: list[date] = []

    @daily_asset(name="counted")
    def counted(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        day = partition_day(context)
        seen.append(day)
        return dg.MaterializeResult(metadata={"day_number": day.day})

    with dg.instance_for_test() as instance:
        assert dg.materialize([counted], instance=instance, tags=RANGE_TAGS).success
        assert len(instance.get_runs()) == 1
        records = instance.fetch_materializations(dg.AssetKey("counted"), limit=10).records
        by_partition = {r.asset_materialization.partition: r.asset_materialization.metadata for r in records}
    assert seen == DAYS  # once per day, oldest first
    assert {key: meta["day_number"].value for key, meta in by_partition.items()} == {d.isoformat(): d.day for d in DAYS}


def test_a_day_that_raises_leaves_the_days_before_it_materialized_and_no_later_day():
    failing = DAYS[2]

    @daily_multi_asset(specs=[dg.AssetSpec("left"), dg.AssetSpec("right")])
    def pair(context: dg.AssetExecutionContext):
        day = partition_day(context)
        if day == failing:
            raise ValueError(f"broken input on {day}")
        yield dg.MaterializeResult(asset_key="left", metadata={"day": day.isoformat()})
        yield dg.MaterializeResult(asset_key="right", metadata={"day": day.isoformat()})

    with dg.instance_for_test() as instance:
        with pytest.raises(ValueError, match=f"broken input on {failing}"):
            dg.materialize([pair], instance=instance, tags=RANGE_TAGS)
        for key in ("left", "right"):
            assert instance.get_materialized_partitions(dg.AssetKey(key)) == {d.isoformat() for d in DAYS[:2]}
