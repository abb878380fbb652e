"""Hypothetical spend and daily AWS reporters against hand-computed instance-days and USD."""

import json
from datetime import date, timedelta

import polars as pl
import pytest

from usage_assets.daily.activity import instance_days_from_events, instances_as_of
from usage_assets.daily.internal import InternalAllowlist
from usage_assets.ingest.validation import validate_events
from usage_assets.metrics.spend import (
    BY_DAY_COLUMNS,
    REPORTERS_SCHEMA,
    CostModel,
    CostModelError,
    daily_reporters,
    load_cost_model,
    priced_install_days,
    spend_by_day,
    spend_summary,
)
from usage_assets_tests.conftest import event, export_rows

X = "aaaaaaaa-0000-4000-8000-00000000000a"
Y = "bbbbbbbb-0000-4000-8000-00000000000b"
Z = "cccccccc-0000-4000-8000-00000000000c"
Q = "eeeeeeee-0000-4000-8000-00000000000e"
INTERNAL = "dddddddd-0000-4000-8000-00000000000d"
D1 = date(2026, 5, 1)
MODEL = load_cost_model()  # docker/other 3.9936, ecs 19.03, kubernetes 11.17, 2e-6 USD/query


def d(n: int) -> date:
    """Day n of the fixtures (d(1) = 2026-05-01)."""
    return D1 + timedelta(days=n - 1)


def on(n: int, registry_id: str | None, hour: int = 8, **fields: str) -> tuple[date, dict]:
    """One heartbeat on day n (cloud aws unless given)."""
    fields = {"cloud": "aws", **fields}
    return d(n), event("heartbeat", registry_id, f"{d(n)}T{hour:02d}:00:00.000Z", **fields)


def fleet(*rows: tuple[date, dict], internal: tuple[str, ...] = ()) -> tuple[pl.LazyFrame, pl.DataFrame]:
    """``history`` and ``instances`` of the events, through validation and the daily layer."""
    rows_by_day: dict[date, list[dict]] = {}
    for day, row in rows:
        rows_by_day.setdefault(day, []).append(row)
    layers = []
    for day, day_rows in sorted(rows_by_day.items()):
        validated = validate_events(export_rows(day_rows), day)
        assert validated.rejects.is_empty(), validated.rejects  # a fixture row must not vanish
        layers.append(instance_days_from_events(validated.events, day))
    history = pl.concat(layers).lazy()
    allowlist = InternalAllowlist.from_text(" ".join(f"`{registry_id}`" for registry_id in internal))
    return history, instances_as_of(history, allowlist)


def t14_fleet(*extra: tuple[date, dict]) -> tuple[pl.LazyFrame, pl.DataFrame]:
    # Reference T14: docker X on d1,d2; ecs Y on d2 only; kubernetes Z on d1..d3.
    return fleet(
        on(1, X, compute="docker"), on(2, X, compute="docker"),
        on(2, Y, compute="ecs"),
        on(1, Z, compute="kubernetes"), on(2, Z, compute="kubernetes"), on(3, Z, compute="kubernetes"),
        *extra,
    )


def column(frame: pl.DataFrame, name: str) -> list:
    return frame[name].to_list()


def test_t14_instance_day_identities_and_usd():
    history, instances = t14_fleet()
    by_day = spend_by_day(priced_install_days(history, instances, MODEL, d(3)), MODEL, d(3))
    assert by_day.columns == BY_DAY_COLUMNS and column(by_day, "date") == [d(1), d(2), d(3)]
    # all_days: d1 X,Z; d2 X,Y,Z; d3 Z.  proven drops X's d1 and Z's d1 (and Y's only day).
    # persisted drops Y (one AWS day).
    assert column(by_day, "aws_instances") == [2, 3, 1]
    assert column(by_day, "aws_instances_persistent") == [0, 2, 1]
    assert column(by_day, "aws_instances_persisted") == [2, 2, 1]
    all_days, proven, persisted = (by_day[f"aws_instances{s}"].sum() for s in ("", "_persistent", "_persisted"))
    assert (all_days, persisted, proven) == (6, 5, 3)
    assert all_days - persisted == 1  # the single-day install Y
    assert persisted - proven == 2  # one first day each for X and Z
    assert column(by_day, "docker_instances") == [1, 1, 0]
    assert column(by_day, "ecs_instances") == [0, 1, 0]
    assert column(by_day, "ecs_instances_persisted") == [0, 0, 0]
    assert column(by_day, "kubernetes_instances_persistent") == [0, 1, 1]
    assert column(by_day, "other_platform_instances") == [0, 0, 0]
    # all_days: d1 3.9936 + 11.17 = 15.1636; d2 3.9936 + 19.03 + 11.17 = 34.1936; d3 11.17.
    assert column(by_day, "compute_usd") == [15.1636, 34.1936, 11.17]
    assert column(by_day, "total_usd") == [15.1636, 34.1936, 11.17]
    assert column(by_day, "cum_total_usd") == [15.1636, 49.3572, 60.5272]
    # proven: d1 nothing; d2 X + Z = 15.1636; d3 Z = 11.17 -> 26.3336 in all.
    assert column(by_day, "cum_total_usd_persistent") == [0.0, 15.1636, 26.3336]
    # persisted: d1 and d2 X + Z = 15.1636 each; d3 Z -> 41.4972 in all.
    assert column(by_day, "cum_total_usd_persisted") == [15.1636, 30.3272, 41.4972]
    assert column(by_day, "bedrock_usd") == [0.0, 0.0, 0.0]


def test_daily_reporters_persisted_2days_is_the_persisted_instance_count():
    # T14 plus Q: two events on d2 only, so it persists by events but not by days.
    history, instances = t14_fleet(on(2, Q, compute="docker"), on(2, Q, hour=9, compute="docker"))
    reporters = daily_reporters(history, instances, d(3))
    assert reporters.schema == pl.Schema(REPORTERS_SCHEMA)
    assert column(reporters, "all_reporters") == [2, 4, 1]  # d2: X, Y, Z, Q
    assert column(reporters, "persisted_2events") == [2, 3, 1]  # X (2 events), Z (3), Q (2); not Y (1)
    assert column(reporters, "persisted_2days") == [2, 2, 1]  # X and Z
    by_day = spend_by_day(priced_install_days(history, instances, MODEL, d(3)), MODEL, d(3))
    assert column(reporters, "persisted_2days") == column(by_day, "aws_instances_persisted")


def test_t16_platform_change_bills_the_latest_platform_every_day():
    # docker on d1, kubernetes on d2: billed as kubernetes (11.17) on both days.
    history, instances = fleet(on(1, X, compute="docker"), on(2, X, compute="kubernetes"))
    by_day = spend_by_day(priced_install_days(history, instances, MODEL, d(2)), MODEL, d(2))
    assert column(by_day, "docker_instances") == [0, 0]
    assert column(by_day, "kubernetes_instances") == [1, 1]
    assert column(by_day, "compute_usd") == [11.17, 11.17]


def test_t6_adapted_bedrock_counter_with_a_reset():
    # search_queries_total 10, 50, 5 (reset), 20 on d1..d4, no 24h counts. The reference
    # charges d1 the whole counter (10), i.e. every query since the install started
    # (quirk 17); we charge a first observation only its own day's 24h count, here absent,
    # so 0. Then 50 - 10 = 40; 5 < 50 is a reset: 0, re-based to 5; 20 - 5 = 15.
    history, instances = fleet(*[
        on(n, X, compute="docker", embeddings_backend_kind="bedrock", search_queries_total=str(total))
        for n, total in zip(range(1, 5), (10, 50, 5, 20))
    ])
    by_day = spend_by_day(priced_install_days(history, instances, MODEL, d(4)), MODEL, d(4))
    assert column(by_day, "bedrock_queries") == [0, 40, 0, 15]
    # proven skips X's first day, which was charged 0 anyway; persisted keeps every day.
    assert column(by_day, "bedrock_queries_persistent") == [0, 40, 0, 15]
    # 40 * 2e-6 = 0.00008 USD; 15 * 2e-6 = 0.00003 USD.
    assert column(by_day, "bedrock_usd") == [0.0, 0.00008, 0.0, 0.00003]
    # d2: 3.9936 + 0.00008 = 3.99368 -> 3.9937 at 4 dp.
    assert column(by_day, "total_usd") == [3.9936, 3.9937, 3.9936, 3.9936]
    # 4 * 3.9936 + 0.00011 = 15.97451 -> 15.9745.
    assert by_day["cum_total_usd"][-1] == 15.9745


def test_first_bedrock_observation_is_charged_its_24h_count_capped_by_the_counter():
    # X: first counter 500 with 7 queries in the last 24 h -> 7, then 510 -> 10.
    # Y: first counter 3 but a 24h count of 9 (different events of the day) -> capped at 3.
    # Z: not a Bedrock install -> no queries whatever its counter.
    history, instances = fleet(
        on(1, X, embeddings_backend_kind="bedrock", search_queries_total="500", search_queries_24h="7"),
        on(2, X, embeddings_backend_kind="bedrock", search_queries_total="510"),
        on(2, Y, embeddings_backend_kind="bedrock", search_queries_total="3", search_queries_24h="9"),
        on(1, Z, embeddings_backend_kind="openai", search_queries_total="900", search_queries_24h="900"),
    )
    by_day = spend_by_day(priced_install_days(history, instances, MODEL, d(2)), MODEL, d(2))
    assert column(by_day, "bedrock_queries") == [7, 13]  # d2: X 10 + Y 3
    assert column(by_day, "bedrock_queries_persistent") == [0, 10]  # first AWS days not billed
    assert column(by_day, "bedrock_queries_persisted") == [7, 10]  # Y and Z have one day each


def test_internal_installs_unidentified_rows_and_non_aws_days_are_not_billed():
    history, instances = fleet(
        on(1, X, compute="docker"),
        on(2, X, compute="docker", cloud="gcp"),
        on(3, X, compute="docker"),
        on(1, INTERNAL, compute="ecs"), on(2, INTERNAL, compute="ecs"),
        on(2, None, compute="ecs"),
        on(2, Y, compute="docker", cloud="azure"),
        internal=(INTERNAL,),
    )
    by_day = spend_by_day(priced_install_days(history, instances, MODEL, d(3)), MODEL, d(3))
    # Only X's AWS days d1 and d3; d2 is a zero row.
    assert column(by_day, "aws_instances") == [1, 0, 1]
    assert column(by_day, "aws_instances_persisted") == [1, 0, 1]
    assert column(by_day, "compute_usd") == [3.9936, 0.0, 3.9936]
    assert column(daily_reporters(history, instances, d(3)), "all_reporters") == [1, 0, 1]


def test_summary_of_the_t14_fleet_on_its_last_day():
    history, instances = t14_fleet()
    by_day = spend_by_day(priced_install_days(history, instances, MODEL, d(3)), MODEL, d(3))
    summary = spend_summary(by_day, priced_install_days(history, instances, MODEL, d(3)), MODEL, d(3))
    assert summary["yesterday"]["date"] == "2026-05-03"
    assert summary["yesterday"]["all_days"] == {
        "docker": 0, "ecs": 0, "kubernetes": 1, "other": 0, "instances": 1,
        "bedrock_queries": 0, "compute_usd": 11.17, "bedrock_usd": 0.0, "total_usd": 11.17,
    }
    assert summary["per_platform_unique_instance_totals"] == {"docker": 1, "ecs": 1, "kubernetes": 1, "other": 0}
    # docker 2 x 3.9936 = 7.9872; ecs 19.03; kubernetes 3 x 11.17 = 33.51.
    assert summary["per_platform_ltv_breakdown_all_days"] == {
        "docker": {"instance_days": 2, "compute_usd": 7.99},
        "ecs": {"instance_days": 1, "compute_usd": 19.03},
        "kubernetes": {"instance_days": 3, "compute_usd": 33.51},
        "other": {"instance_days": 0, "compute_usd": 0.0},
    }
    assert summary["per_platform_ltv_breakdown_proven"]["kubernetes"] == {"instance_days": 2, "compute_usd": 22.34}
    assert summary["per_platform_ltv_breakdown_persisted"]["ecs"] == {"instance_days": 0, "compute_usd": 0.0}
    assert summary["ltv"] == {
        "all_days": {"compute_usd": 60.53, "bedrock_usd": 0.0, "total_usd": 60.5272, "total_instance_days": 6},
        "proven": {"compute_usd": 26.33, "bedrock_usd": 0.0, "total_usd": 26.3336, "total_instance_days": 3},
        "persisted": {"compute_usd": 41.5, "bedrock_usd": 0.0, "total_usd": 41.4972, "total_instance_days": 5},
    }
    assert summary["last_7_days"] == {
        "all_days_total_usd": 60.53, "proven_total_usd": 26.33, "persisted_total_usd": 41.5, "days": 3,
    }
    # A 3-day series is annualized over its 3 days: 60.5272 / 3 x 365 = 7,364 USD.
    assert summary["arr"]["all_days_musd"] == 0.007364
    assert (summary["first_day"], summary["last_day"]) == ("2026-05-01", "2026-05-03")
    assert summary["cost_model"]["bedrock"]["usd_per_query"] == pytest.approx(2e-6)
    assert set(summary["counting_rule"]) == {"all_days", "proven", "persisted"}
    json.dumps(summary)  # JSON-ready as it is


def test_last_seven_days_and_arr_with_a_priced_up_model():
    # docker at 10,000 USD/day; X on d1 and d2, report day d8: the week d2..d8 holds d2 only.
    model = CostModel.model_validate({
        **MODEL.model_dump(),
        "platforms": {"docker": {"usd_per_day": 10_000, "grounding": ["test figure"]}},
    })
    history, instances = fleet(on(1, X, compute="docker"), on(2, X, compute="docker"))
    by_day = spend_by_day(priced_install_days(history, instances, model, d(8)), model, d(8))
    assert column(by_day, "aws_instances") == [1, 1, 0, 0, 0, 0, 0, 0]
    summary = spend_summary(by_day, priced_install_days(history, instances, model, d(8)), model, d(8))
    assert summary["last_7_days"]["all_days_total_usd"] == 10_000.0
    assert summary["last_7_days"]["proven_total_usd"] == 10_000.0
    # 10,000 / 7 * 365 / 1e6 = 0.5214... million USD a year.
    assert summary["arr"]["all_days_musd"] == 0.521429
    assert summary["ltv"]["all_days"]["total_usd"] == 20_000.0
    # No install reported on d8.
    assert summary["yesterday"]["all_days"]["instances"] == 0 and summary["yesterday"]["date"] == "2026-05-08"


def test_no_aws_customer_days_gives_empty_frames_and_a_zero_summary():
    history, instances = fleet(on(1, X, compute="docker", cloud="azure"))
    by_day = spend_by_day(priced_install_days(history, instances, MODEL, d(1)), MODEL, d(1))
    assert by_day.is_empty() and by_day.columns == BY_DAY_COLUMNS
    reporters = daily_reporters(history, instances, d(1))
    assert reporters.is_empty() and reporters.schema == pl.Schema(REPORTERS_SCHEMA)
    summary = spend_summary(by_day, priced_install_days(history, instances, MODEL, d(1)), MODEL, d(1))
    assert summary["first_day"] is None and summary["last_day"] is None
    assert summary["ltv"]["persisted"] == {"compute_usd": 0.0, "bedrock_usd": 0.0, "total_usd": 0.0, "total_instance_days": 0}
    assert summary["yesterday"]["proven"]["total_usd"] == 0.0
    assert summary["arr"] == {"all_days_musd": 0.0, "proven_musd": 0.0, "persisted_musd": 0.0}
    assert summary["per_platform_unique_instance_totals"] == {"docker": 0, "ecs": 0, "kubernetes": 0, "other": 0}


def test_default_cost_model_figures():
    assert MODEL.currency == "USD"
    assert MODEL.rate("docker") == pytest.approx(24 * 0.1664)
    assert (MODEL.rate("ECS"), MODEL.rate("kubernetes")) == (19.03, 11.17)
    assert MODEL.rate("podman") == MODEL.other_platforms.usd_per_day == 3.9936
    assert MODEL.bedrock.usd_per_query == pytest.approx(100 * 0.00002 / 1000)
    assert all(rate.grounding for rate in MODEL.platforms.values())


def write(tmp_path, payload) -> str:
    path = tmp_path / "cost_model.json"
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return str(path)


def test_load_cost_model_names_the_file_and_the_field(tmp_path):
    valid = MODEL.model_dump()
    negative = {**valid, "platforms": {**valid["platforms"], "ecs": {"usd_per_day": -1, "grounding": ["x"]}}}
    with pytest.raises(CostModelError, match=r"cost_model\.json(.|\n)*platforms\.ecs\.usd_per_day"):
        load_cost_model(write(tmp_path, negative))
    without_bedrock = {key: value for key, value in valid.items() if key != "bedrock"}
    with pytest.raises(CostModelError, match=r"bedrock: Field required"):
        load_cost_model(write(tmp_path, without_bedrock))
    with pytest.raises(CostModelError, match=r"currency"):
        load_cost_model(write(tmp_path, {**valid, "currency": "EUR"}))
    with pytest.raises(CostModelError, match=r"other_platforms\.grounding"):
        load_cost_model(write(tmp_path, {**valid, "other_platforms": {"usd_per_day": 1.0, "grounding": []}}))
    with pytest.raises(CostModelError, match=r"cost_model\.json(.|\n)*Invalid JSON"):
        load_cost_model(write(tmp_path, "{not json"))
    with pytest.raises(FileNotFoundError, match="missing.json"):
        load_cost_model(tmp_path / "missing.json")
    assert load_cost_model(write(tmp_path, valid)) == MODEL
