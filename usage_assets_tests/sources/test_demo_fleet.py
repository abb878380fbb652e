"""Tests of the demo fleet simulator: determinism, export format, schema-version rules,
collector value rules and the fleet's overall shape."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from usage_assets.sources import export_format as ef
from usage_assets.sources.demo_fleet import DEMO_INTERNAL_ALLOWLIST, DemoFleetParams, demo_events_for_day

PARAMS = DemoFleetParams()
REPO_ROOT = Path(__file__).resolve().parents[2]
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
# Release tags of the train and the schema they ship (reference 2.2); later minors are 6.
RELEASE_SCHEMAS = {
    "1.0.21": 1,
    "1.0.22": 2,
    "1.23.0": 3,
    "1.24.1": 4,
    "1.24.5": 5,
    "1.28.0": 5,
    "1.31.0": 6,
}
RELEASE_RE = re.compile(r"^v?(1\.(\d+)\.\d+)(-p1)?$")
SHAPE_COLUMNS = ("py", "os", "arch", "mode", "registry_mode", "storage", "auth", "federation")
HEARTBEAT_ONLY_COLUMNS = (
    "servers_count",
    "agents_count",
    "skills_count",
    "peers_count",
    "search_backend",
    "uptime_hours",
    "schema_version",
    "auth_path_share_24h",
    "auth_path_volume_bucket_24h",
    "auth_path_window_hours",
)
AUTH_TRIO = ("auth_path_share_24h", "auth_path_volume_bucket_24h", "auth_path_window_hours")


def internal_id(k: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"usage-assets-demo-internal-{k}"))


def day(offset: int) -> date:
    return PARAMS.start + timedelta(days=offset)


def release_schema(version: str) -> int | None:
    """The schema of a release-tag version string; None for dev builds."""
    match = RELEASE_RE.match(version)
    if match is None:
        return None
    if match.group(1) in RELEASE_SCHEMAS:
        return RELEASE_SCHEMAS[match.group(1)]
    return 6 if int(match.group(2)) >= 32 else None


@pytest.fixture(scope="module")
def days_90() -> list[pl.DataFrame]:
    return [demo_events_for_day(PARAMS, day(offset)) for offset in range(90)]


@pytest.fixture(scope="module")
def events_90(days_90: list[pl.DataFrame]) -> pl.DataFrame:
    """All 90 days with each row's schema derived from its version (null for dev builds)."""
    events = pl.concat(days_90)
    return events.with_columns(
        schema=pl.col("v").map_elements(release_schema, return_dtype=pl.Int64)
    )


# --- determinism ----------------------------------------------------------------------


def test_a_day_is_the_same_alone_in_a_fresh_process_after_other_days_and_in_reverse(
    tmp_path: Path,
) -> None:
    target = day(40)
    script = (
        "import datetime, sys\n"
        "from usage_assets.sources.demo_fleet import DemoFleetParams, demo_events_for_day\n"
        f"params = {PARAMS!r}\n"  # the repr spells the start as datetime.date(...)
        f"target = datetime.date.fromisoformat('{target}')\n"
        "demo_events_for_day(params, target).write_parquet(sys.argv[1])\n"
    )
    alone_path = tmp_path / "alone.parquet"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script, str(alone_path)], check=True, env=env)
    alone = pl.read_parquet(alone_path)

    for offset in reversed(range(30, 46)):
        demo_events_for_day(PARAMS, day(offset))
    after_reverse = demo_events_for_day(PARAMS, target)
    for offset in range(0, 40):
        demo_events_for_day(PARAMS, day(offset))
    after_forward = demo_events_for_day(PARAMS, target)

    assert alone.height > 0
    assert alone.equals(after_reverse)
    assert alone.equals(after_forward)


def test_two_equal_params_objects_give_equal_frames_and_another_seed_differs() -> None:
    explicit = DemoFleetParams(seed=7, start=date(2026, 8, 23), daily_new_installs=2.0)
    assert demo_events_for_day(DemoFleetParams(), day(12)).equals(
        demo_events_for_day(explicit, day(12))
    )
    assert not demo_events_for_day(DemoFleetParams(seed=8), day(12)).equals(
        demo_events_for_day(explicit, day(12))
    )


# --- export format --------------------------------------------------------------------


def test_days_before_start_are_empty_with_the_export_schema() -> None:
    frame = demo_events_for_day(PARAMS, day(-1))
    assert frame.height == 0
    assert frame.schema == ef.EXPORT_SCHEMA


def test_columns_and_dtypes_are_the_export_schema(days_90: list[pl.DataFrame]) -> None:
    for frame in days_90:
        assert frame.schema == ef.EXPORT_SCHEMA
        assert frame.height > 0


def test_every_ts_is_on_the_day_asked_in_export_format(days_90: list[pl.DataFrame]) -> None:
    for offset, frame in enumerate(days_90):
        stamps = frame["ts"].to_list()
        assert all(TS_RE.match(ts) for ts in stamps)
        assert {ts[:10] for ts in stamps} == {day(offset).isoformat()}


def test_startup_rows_precede_heartbeat_rows_each_in_ts_order(
    days_90: list[pl.DataFrame],
) -> None:
    for frame in days_90:
        events = frame["event"].to_list()
        startups = events.count("startup")
        assert events == ["startup"] * startups + ["heartbeat"] * (len(events) - startups)
        stamps = frame["ts"].to_list()
        assert stamps[:startups] == sorted(stamps[:startups])
        assert stamps[startups:] == sorted(stamps[startups:])


def test_empty_strings_are_never_used_for_empty_cells(events_90: pl.DataFrame) -> None:
    for column in ef.EXPORT_COLUMNS:
        assert (events_90[column] == "").sum() == 0, column


# --- schema versions (reference 2.2, 2.4) ----------------------------------------------


def test_every_schema_version_is_present(events_90: pl.DataFrame) -> None:
    assert set(events_90["schema"].drop_nulls().unique()) == {1, 2, 3, 4, 5, 6}


def test_schema_version_column_only_on_v6_heartbeats_after_the_v6_collector(
    events_90: pl.DataFrame,
) -> None:
    startups = events_90.filter(pl.col("event") == "startup")
    assert startups["schema_version"].null_count() == startups.height
    tagged = events_90.filter(pl.col("schema_version").is_not_null())
    assert tagged.height > 0
    assert set(tagged["schema_version"]) == {"6"}
    assert tagged["ts"].min() >= day(35).isoformat()


def test_fields_appear_by_schema_version(events_90: pl.DataFrame) -> None:
    def rows(event: str, schema_filter: pl.Expr) -> pl.DataFrame:
        return events_90.filter((pl.col("event") == event) & schema_filter)

    def all_null(frame: pl.DataFrame, columns: tuple[str, ...]) -> bool:
        return all(frame[c].null_count() == frame.height for c in columns)

    def none_null(frame: pl.DataFrame, columns: tuple[str, ...]) -> bool:
        return all(frame[c].null_count() == 0 for c in columns)

    schema = pl.col("schema")
    for event in ("startup", "heartbeat"):
        assert all_null(rows(event, schema == 1), ("embeddings_backend_kind",))
        assert none_null(rows(event, schema >= 2), ("embeddings_backend_kind",))
        assert all_null(rows(event, schema < 3), ("cloud_detection_method",))
        assert none_null(rows(event, schema >= 3), ("cloud_detection_method",))
        internal_columns = ("internal_only_deployment", "internal_deployment_type")
        assert all_null(rows(event, schema < 5), internal_columns)
        assert none_null(rows(event, schema >= 5), internal_columns)
    assert all_null(rows("startup", schema == 1), ("embeddings_provider",))
    assert none_null(rows("startup", schema >= 2), ("embeddings_provider",))
    assert none_null(rows("startup", schema.is_not_null()), SHAPE_COLUMNS)
    assert all_null(rows("heartbeat", schema < 4), SHAPE_COLUMNS)
    assert none_null(rows("heartbeat", schema >= 4), SHAPE_COLUMNS)
    assert all_null(rows("heartbeat", schema < 6), (*AUTH_TRIO, "schema_version"))
    assert none_null(rows("heartbeat", schema.is_not_null()), ("embeddings_provider",))


def test_heartbeat_only_columns_are_empty_on_startups(events_90: pl.DataFrame) -> None:
    startups = events_90.filter(pl.col("event") == "startup")
    for column in HEARTBEAT_ONLY_COLUMNS:
        assert startups[column].null_count() == startups.height, column
    for column in ("search_queries_total", "search_queries_24h", "search_queries_1h"):
        assert startups[column].null_count() == 0, column


def test_auth_path_fields_are_all_or_nothing_and_well_formed(events_90: pl.DataFrame) -> None:
    trio_nulls = events_90.select(
        pl.sum_horizontal(pl.col(c).is_null().cast(pl.Int8) for c in AUTH_TRIO)
    ).to_series()
    assert set(trio_nulls) <= {0, 3}
    present = events_90.filter(pl.col("auth_path_share_24h").is_not_null())
    assert present.height > 0
    for share_json, bucket, window in present.select(AUTH_TRIO).iter_rows():
        shares = json.loads(share_json)
        assert share_json == json.dumps(shares, separators=(",", ":"))
        assert set(shares) <= set(ef.AUTH_PATHS)
        assert sum(shares.values()) == 100
        assert all(isinstance(v, int) and 0 <= v <= 100 for v in shares.values())
        assert bucket in ef.AUTH_VOLUME_BUCKETS
        assert 0 <= int(window) <= 48


# --- collector value rules (reference 2.3) ---------------------------------------------


@pytest.mark.parametrize(
    ("column", "allowed"),
    [
        ("event", ef.EVENT_TYPES),
        ("cloud", ef.CLOUDS),
        ("compute", ef.COMPUTES),
        ("os", ef.OPERATING_SYSTEMS),
        ("mode", ef.MODES),
        ("registry_mode", ef.REGISTRY_MODES),
        ("storage", ef.STORAGES),
        ("search_backend", ef.SEARCH_BACKENDS),
        ("embeddings_backend_kind", ef.EMBEDDINGS_BACKEND_KINDS),
        ("cloud_detection_method", ef.CLOUD_DETECTION_METHODS),
        ("internal_deployment_type", ef.INTERNAL_DEPLOYMENT_TYPES),
        ("auth_path_volume_bucket_24h", ef.AUTH_VOLUME_BUCKETS),
        ("federation", ("True", "False")),
        ("internal_only_deployment", ("True", "False")),
        ("auth", ("keycloak", "cognito", "entra", "okta", "auth0", "pingfederate")),
        ("arch", ("x86_64", "aarch64", "arm64")),
        ("py", ("3.11", "3.12", "3.13")),
        ("embeddings_provider", ("sentence-transformers", "litellm")),
    ],
)
def test_values_are_in_the_allowlists(
    events_90: pl.DataFrame, column: str, allowed: tuple[str, ...]
) -> None:
    assert set(events_90[column].drop_nulls()) <= set(allowed)


def test_integers_are_non_negative_decimal_strings(events_90: pl.DataFrame) -> None:
    for column in ef.INT_COLUMNS:
        values = events_90[column].drop_nulls()
        assert all(value.isdigit() for value in values), column


def test_ids_and_versions_are_well_formed(events_90: pl.DataFrame) -> None:
    assert all(UUID_RE.match(rid) for rid in events_90["registry_id"].drop_nulls())
    assert events_90["v"].null_count() == 0
    assert all(1 <= len(v) <= 200 for v in events_90["v"])
    assert events_90.filter(pl.col("v").str.starts_with("v")).height > 0
    assert events_90.filter(pl.col("v").str.ends_with("-p1")).height > 0


def test_cloud_and_detection_method_are_consistent(events_90: pl.DataFrame) -> None:
    pairs = events_90.select("cloud", "cloud_detection_method").unique().iter_rows()
    for cloud, method in pairs:
        assert cloud is not None
        if cloud in ("on_premises", "other"):
            assert method in ("operator_declared", "explicit")
        if method is None:
            continue
        assert method != "ecs_meta" or cloud == "aws"
        assert method != "unknown" or cloud == "unknown"
        assert cloud != "unknown" or method in ("unknown", "operator_declined")
        assert method != "operator_declared" or cloud in ("on_premises", "other")
        assert method != "operator_declined" or cloud == "unknown"


def test_ecs_metadata_detection_only_on_ecs(events_90: pl.DataFrame) -> None:
    ecs_meta = events_90.filter(pl.col("cloud_detection_method") == "ecs_meta")
    assert ecs_meta.height > 0
    assert set(ecs_meta["compute"]) == {"ecs"}


def test_heartbeats_with_storage_the_collector_rejects_never_land(
    events_90: pl.DataFrame,
) -> None:
    heartbeats = events_90.filter(pl.col("event") == "heartbeat")
    assert heartbeats.filter(pl.col("storage").is_in(["mongodb", "mongodb-atlas"])).height == 0
    startups = events_90.filter(pl.col("event") == "startup")
    assert startups.filter(pl.col("storage").is_in(["mongodb", "mongodb-atlas"])).height > 0


# --- fleet shape -------------------------------------------------------------------------


def test_fleet_size_and_one_day_wonder_share_over_90_days(events_90: pl.DataFrame) -> None:
    installs = (
        events_90.filter(pl.col("registry_id").is_not_null())
        .group_by("registry_id")
        .agg(first=pl.col("ts").min().str.slice(0, 10), last=pl.col("ts").max().str.slice(0, 10))
    )
    assert 200 <= installs.height <= 600
    one_day_share = (installs["first"] == installs["last"]).mean()
    assert 0.45 <= one_day_share <= 0.70


def test_duplicate_deliveries_exist_in_30_days(days_90: list[pl.DataFrame]) -> None:
    assert pl.concat(days_90[:30]).is_duplicated().any()


def test_unidentified_startups_in_the_first_weeks(events_90: pl.DataFrame) -> None:
    first_weeks = events_90.filter(pl.col("ts") < day(28).isoformat())
    unidentified = first_weeks.filter(pl.col("registry_id").is_null())
    assert unidentified.height >= 5
    assert set(unidentified["event"]) == {"startup"}
    assert set(unidentified["schema"]) == {1}


def test_search_total_only_drops_at_rare_resets(events_90: pl.DataFrame) -> None:
    per_install = (
        events_90.filter(pl.col("registry_id").is_not_null())
        .sort("registry_id", "ts", maintain_order=True)
        .with_columns(total=pl.col("search_queries_total").cast(pl.Int64))
        .with_columns(previous=pl.col("total").shift(1).over("registry_id"))
    )
    drops = per_install.filter(pl.col("total") < pl.col("previous")).height
    install_days = per_install.select("registry_id", pl.col("ts").str.slice(0, 10)).n_unique()
    assert drops < install_days / 100


def test_the_default_fleet_has_an_hourly_heartbeat_operator(events_90: pl.DataFrame) -> None:
    # ~3% of long-lived installs: a property of this seed's fleet, not of every seed's.
    heartbeats_per_install_day = (
        events_90.filter(pl.col("event") == "heartbeat")
        .group_by("registry_id", pl.col("ts").str.slice(0, 10))
        .len()
    )
    assert heartbeats_per_install_day["len"].max() >= 20


# --- internal installs -----------------------------------------------------------------


def test_all_internal_installs_appear_in_the_first_30_days(days_90: list[pl.DataFrame]) -> None:
    ids = set(pl.concat(days_90[:30])["registry_id"].drop_nulls())
    assert {internal_id(k) for k in range(6)} <= ids


def test_only_internal_installs_3_and_4_flag_themselves_internal(
    events_90: pl.DataFrame,
) -> None:
    flagged = events_90.filter(pl.col("internal_only_deployment") == "True")
    assert set(flagged["registry_id"]) == {internal_id(3), internal_id(4)}
    assert set(flagged["internal_deployment_type"]) <= {"dev", "workshop"}


def test_internal_installs_run_dev_builds(events_90: pl.DataFrame) -> None:
    internal = events_90.filter(pl.col("registry_id").is_in([internal_id(k) for k in range(6)]))
    assert internal["schema"].null_count() == internal.height  # never a release tag
    versions = set(internal["v"])
    assert "dev" in versions
    assert any(re.fullmatch(r"1\.\d+\.\d+-\d+-g[0-9a-f]{8}-main", v) for v in versions)
    assert any(re.fullmatch(r"[0-9a-f]{7}", v) for v in versions)


def test_allowlist_file_names_the_internal_installs_with_its_quirks() -> None:
    lines = DEMO_INTERNAL_ALLOWLIST.read_text(encoding="utf-8").splitlines()

    def lines_with(token: str) -> list[str]:
        return [line for line in lines if f"`{token}`" in line]

    assert len(lines_with(internal_id(0))) == 1
    assert lines_with(internal_id(0)) == lines_with(internal_id(1))
    assert len(lines_with(internal_id(2))) == 1
    assert len(lines_with(internal_id(4))) == 1
    assert len({lines_with(internal_id(k))[0] for k in (0, 2, 4)}) == 3
    assert len(lines_with(internal_id(5)[:11] + "...")) == 1
    text = "\n".join(lines)
    assert internal_id(3) not in text
    assert internal_id(5) not in text


# --- recreated deployments and source IP hashes (issue 14) ------------------------------------


def test_recreated_deployments_with_and_without_a_persistent_volume_and_their_limits(events_90: pl.DataFrame) -> None:
    from usage_assets.sources.demo_fleet import demo_deployments

    truth = demo_deployments(PARAMS, day(89))
    installs = (
        events_90.filter(pl.col("registry_id").is_not_null())
        .group_by("registry_id")
        .agg(pl.col("source_ip_hash").unique(), first=pl.col("ts").min(), last=pl.col("ts").max(),
             first_v=pl.col("v").sort_by("ts").first(), last_v=pl.col("v").sort_by("ts").last())
    )
    # Every identified install is in the truth, and each sends from one address.
    assert set(installs["registry_id"]) <= set(truth)
    assert installs["source_ip_hash"].list.len().max() == 1
    by_deployment: dict[str, list[dict]] = {}
    for row in installs.sort("first").iter_rows(named=True):
        by_deployment.setdefault(truth[row["registry_id"]], []).append(row)
    recreated = {key: rows for key, rows in by_deployment.items() if key.startswith("deployment-")}
    without_volume = [rows for rows in recreated.values() if len(rows) > 1]
    with_volume = [rows for rows in recreated.values() if len(rows) == 1]
    assert len(without_volume) >= 10 and with_volume
    # Incarnations follow one another and share the deployment's address.
    for rows in without_volume:
        assert len({row["source_ip_hash"][0] for row in rows}) == 1
        assert all(before["last"] < after["first"] for before, after in zip(rows, rows[1:]))
    # Some recreations come back after more than 48 h, and some roll the version back.
    gaps = [(date.fromisoformat(after["first"][:10]) - date.fromisoformat(before["last"][:10])).days
            for rows in without_volume for before, after in zip(rows, rows[1:])]
    assert max(gaps) >= 3
    rollbacks = [(before, after) for rows in without_volume for before, after in zip(rows, rows[1:])
                 if release_key(after["first_v"]) < release_key(before["last_v"])]
    assert rollbacks
    # Some addresses are shared by installs of different deployments (NAT'd offices).
    deployments_by_address: dict[str, set[str]] = {}
    for registry_id, addresses in installs.select("registry_id", "source_ip_hash").iter_rows():
        deployments_by_address.setdefault(addresses[0], set()).add(truth[registry_id])
    assert max(len(owners) for owners in deployments_by_address.values()) >= 3


def release_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def test_a_fleet_of_a_given_size_brings_about_that_many_installs_over_its_days() -> None:
    from usage_assets.sources.demo_fleet import INTERNAL_INSTALL_COUNT, fleet_of_size

    last = date(2026, 6, 30)
    fleet = fleet_of_size(200, 20, last)
    assert fleet.start == date(2026, 6, 11)
    ids = set()
    for offset in range(20):
        events = demo_events_for_day(fleet, fleet.start + timedelta(days=offset))
        ids |= set(events["registry_id"].drop_nulls().to_list())
    community = len(ids) - INTERNAL_INSTALL_COUNT
    assert 170 <= community <= 230  # Poisson arrivals: about 200, within 15%
    with pytest.raises(ValueError, match="installs and days > 0"):
        fleet_of_size(0, 20, last)
