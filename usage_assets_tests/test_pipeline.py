"""End to end: materialize consecutive partitions into a temp dir and check the report.

Uses the real pipeline (Dagster jobs run in-process against an on-disk instance) on a
small demo fleet and on a small CSV archive; nothing is mocked.
"""

import json
import os
from datetime import date, timedelta

import dagster as dg
import polars as pl
import pytest

from usage_assets.cli.runner import PipelineRunError, PipelineRunner
from usage_assets.common.days import day_range
from usage_assets.settings import Settings
from usage_assets_tests.conftest import ID_A, ID_B
from usage_assets_tests.enrichment.test_github_stats import REPO, REPO_DOCUMENT, TOKEN, github, serve_repository  # noqa: F401
from usage_assets_tests.sources.test_csv_archive import header_variant, write_export

START = date(2026, 3, 1)
#: The reference's 15 chart names (reference 7.3).
REFERENCE_CHARTS = (
    "registry-installs-timeseries", "instance-distribution", "instance-distribution-active", "instance-lifetime",
    "instance-lifetime-box-by-compute", "lifetime-buckets", "active-instances", "compute-installs-timeseries",
    "install-forecast", "daily-reporters", "ltv-spend", "adoption-funnel", "detection-by-version",
    "prod-internal-timeseries", "auth-path-mix",
)


@pytest.fixture
def demo_runner(pipeline_env):
    settings = Settings(
        data_dir=str(pipeline_env / "data"),
        reports_dir=str(pipeline_env / "reports"),
        demo_start=START.isoformat(),
        demo_daily_new_installs=1.0,
    )
    with dg.instance_for_test(temp_dir=str(pipeline_env / "dagster_home")) as instance:
        yield PipelineRunner(settings, instance)


def build_reports(runner: PipelineRunner, first_report: date, last_report: date) -> None:
    for day in day_range(START, first_report - timedelta(days=1)):
        runner.ingest(day)
    for day in day_range(first_report, last_report):
        runner.report(day)


def test_consecutive_reports_have_every_file_and_the_reference_keys(demo_runner):
    first, last = START + timedelta(days=9), START + timedelta(days=10)
    build_reports(demo_runner, first, last)
    for day in (first, last):
        folder = demo_runner.report_path(day).parent
        assert sorted(p.name for p in folder.iterdir()) == sorted([
            f"usage-report-{day}.md", f"usage-report-{day}.html",
            *[f"{name}-{day}.json" for name in ("metrics", "liveness", "ltv-spend", "install-forecast", "prod-internal")],
            *[f"{name}-{day}.csv" for name in ("ltv-spend", "active-instances", "lifetime-buckets", "daily-reporters",
                                               "detection-by-version")],
            *[f"{chart}-{day}.png" for chart in REFERENCE_CHARTS], "github_stats.json",
        ])
    metrics = json.loads((demo_runner.report_path(last).parent / f"metrics-{last}.json").read_text())
    assert metrics["report_date"] == last.isoformat()
    assert set(metrics["key_metrics"]) == {
        "total_events", "startup_events", "heartbeat_events", "identified_instances",
        "null_registry_id_count", "earliest_ts", "latest_ts",
    }
    assert set(metrics["stickiness"]) >= {
        "total_non_internal", "sticky_3plus_days", "one_day_wonders", "one_day_wonder_pct",
        "lifetime_bucket_counts", "lifetime_bucket_pct", "longest_non_internal_id", "longest_non_internal_days",
    }
    assert list(metrics["stickiness"]["lifetime_bucket_counts"]) == ["14", "3", "30", "7"]  # sorted keys
    assert {"version", "events", "instances"} <= set(metrics["version_adoption"][0])
    assert metrics["key_metrics"]["latest_ts"].startswith(last.isoformat())
    liveness = json.loads((demo_runner.report_path(last).parent / f"liveness-{last}.json").read_text())
    assert set(liveness["counts"]) == {"customer_total", "confirmed", "stronger", "likely", "silent_but_recent", "dormant"}
    assert liveness["counts"]["customer_total"] == metrics["stickiness"]["total_non_internal"]
    # The report grows with its day: the later report sees at least as many installs.
    earlier = json.loads((demo_runner.report_path(first).parent / f"metrics-{first}.json").read_text())
    assert earlier["key_metrics"]["identified_instances"] <= metrics["key_metrics"]["identified_instances"]
    page = demo_runner.report_path(last).read_text()
    assert page.count('src="data:image/png;base64,') == 15 and "http://" not in page and "https://" not in page
    assert {"upgrade_trajectories", "search_stats", "feature_adoption", "embeddings_backend_breakdown",
            "auth_path"} <= set(metrics)
    folder = demo_runner.report_path(last).parent
    spend = json.loads((folder / f"ltv-spend-{last}.json").read_text())
    assert {"yesterday", "last_7_days", "ltv"} <= set(spend)
    for rule in ("all_days", "proven", "persisted"):
        assert {"compute_usd", "bedrock_usd", "total_usd", "total_instance_days"} <= set(spend["ltv"][rule])
        assert set(spend[f"per_platform_ltv_breakdown_{rule}"]) == {"docker", "ecs", "kubernetes", "other"}
    forecast = json.loads((folder / f"install-forecast-{last}.json").read_text())
    assert forecast["target"] == 1000 and forecast["today"]["installs"] == metrics["key_metrics"]["identified_instances"]
    assert {"slope_per_day", "intercept", "residual_std", "eta", "eta_lower_95", "eta_upper_95"} <= set(forecast["linear"])
    assert {"daily_add_rate", "eta"} <= set(forecast["recent_pace"])
    assert (folder / f"active-instances-{last}.csv").read_text().splitlines()[0] == (
        "date,daily_active,ma7,streak7,cumulative_installs,dai_pct_of_total,likely_alive_7d,dai_pct_of_likely_alive"
    )
    headings = [line for line in demo_runner.report_path(last).with_suffix(".md").read_text().splitlines()
                if line.startswith("## ")]
    # The reference's section order (its 7.3), then this project's additions.
    assert headings == [
        "## Executive summary", "## Unique installs by cloud provider", "## Deployment distribution", "## Key metrics",
        "## Internal installs", "## Registry instance lifetime", "## Estimated deployments", "## Liveness",
        "## Engagement over time",
        "## Compute platform growth", "## Version adoption", "## Community vs internal deployments",
        "## Version upgrade trajectories", "## Feature adoption", "## Search usage", "## Auth path mix",
        "## Sticky instance breakdown", "## Most active instances", "## Largest catalogs", "## Most engaged operators",
        "## Install forecast", "## Customer infra spend (AWS)", "## Adoption funnel",
        "## Cloud detection outcomes by version", "## GitHub repository", "## Architecture patterns observed",
        "## Trends (Prometheus)", "## Insights", "## Recommendations", f"## Data quality for {last}",
    ]
    # Runs are recorded in the instance, so the UI shows them.
    assert demo_runner.instance.get_latest_materialization_event(dg.AssetKey("usage_report")) is not None


def test_rematerializing_a_partition_gives_identical_json(demo_runner):
    day = START + timedelta(days=4)
    build_reports(demo_runner, day, day)
    folder = demo_runner.report_path(day).parent
    before = {name: (folder / name).read_bytes() for name in (f"metrics-{day}.json", f"liveness-{day}.json")}
    demo_runner.report(day)
    assert {name: (folder / name).read_bytes() for name in before} == before


def test_a_missing_earlier_day_fails_naming_it_and_the_fix(demo_runner):
    day = START + timedelta(days=3)
    build_reports(demo_runner, day, day)
    hole = START + timedelta(days=1)
    demo_runner.lake.path("instance_days", hole).unlink()
    with pytest.raises(PipelineRunError) as failure:
        demo_runner.report(day)
    message = str(failure.value)
    assert hole.isoformat() in message and f"usage-report backfill --start {hole} --end {hole}" in message
    # The previous good report is left in place.
    assert demo_runner.report_path(day).is_file()


def full_disk(monkeypatch) -> None:
    """Simulate a full disk: polars writes Parquet to /dev/full (which refuses every write
    with ENOSPC, so polars raises its own errors), and the file system reports no space."""
    write_parquet, statvfs = pl.DataFrame.write_parquet, os.statvfs
    monkeypatch.setattr(pl.DataFrame, "write_parquet",
                        lambda self, file, *args, **kwargs: write_parquet(self, "/dev/full", *args, **kwargs))
    monkeypatch.setattr(os, "statvfs", lambda path: os.statvfs_result((*statvfs(path)[:3], 0, 0, *statvfs(path)[5:])))


def test_a_full_disk_fails_the_ingest_at_once_naming_the_file(demo_runner, monkeypatch):
    full_disk(monkeypatch)
    with pytest.raises(PipelineRunError) as failure:
        demo_runner.ingest(START)
    path = demo_runner.lake.path("raw_events", START)
    assert str(failure.value) == (
        f"daily_ingest for {START} failed: daily_events: cannot write {path}: the disk is full "
        "(No space left on device); free space on that file system (`df -h` shows it), then run again"
    )
    # Failed at once: no retry (they waited 54, 118 and 198 s as if the network had failed).
    (run,) = demo_runner.instance.get_runs()
    events = [record.dagster_event.event_type_value for record in demo_runner.instance.all_logs(run.run_id)
              if record.dagster_event]
    assert events.count("STEP_FAILURE") == 1 and "STEP_UP_FOR_RETRY" not in events
    assert not path.exists() and not [p for p in demo_runner.lake.root.rglob(".*") if p.is_file()]


def csv_runner(pipeline_env, instance, rows) -> PipelineRunner:
    write_export(pipeline_env / "exports" / "2026-05-04" / "registry_metrics.csv", header_variant(34), rows)
    settings = Settings(source="csv", csv_path=str(pipeline_env / "exports"),
                        data_dir=str(pipeline_env / "data"), reports_dir=str(pipeline_env / "reports"))
    runner = PipelineRunner(settings, instance)
    runner.prepare_source()
    return runner


def row(kind, registry_id, ts, **fields):
    return {"event": kind, "registry_id": registry_id, "ts": ts, "v": "1.31.0", "cloud": "aws", **fields}


def test_heartbeat_drop_blocks_the_day(pipeline_env):
    rows = [
        row("startup", ID_A, "2026-05-01T08:00:00.000Z"),
        row("heartbeat", ID_A, "2026-05-01T08:00:05.000Z"),
        row("startup", ID_B, "2026-05-02T08:00:00.000Z"),  # day 2: startups only
        row("startup", ID_B, "2026-05-03T08:00:00.000Z"),
    ]
    with dg.instance_for_test(temp_dir=str(pipeline_env / "dagster_home")) as instance:
        runner = csv_runner(pipeline_env, instance, rows)
        runner.ingest(date(2026, 5, 1))
        with pytest.raises(PipelineRunError, match="heartbeats_present failed: 1 startup event"):
            runner.ingest(date(2026, 5, 2))
        # Nothing of the day is written, and everything downstream is blocked.
        assert not runner.lake.has_day("raw_events", date(2026, 5, 2))
        assert not runner.lake.has_day("instance_days", date(2026, 5, 2))


def test_a_range_of_days_is_ingested_in_one_run_one_partition_per_day(demo_runner, tmp_path):
    last = START + timedelta(days=3)
    told = []
    demo_runner.ingest(START, last, progress=told.append)
    days = day_range(START, last)
    assert told == days  # the progress callback hears of every day, in order
    runs = demo_runner.instance.get_runs()
    assert len(runs) == 1
    for asset in ("raw_events", "ingest_stats", "instance_days"):
        assert demo_runner.instance.get_materialized_partitions(dg.AssetKey(asset)) == {d.isoformat() for d in days}
    # Each partition carries its own day's metadata, and the files equal one-day runs'.
    rows = {}
    for record in demo_runner.instance.fetch_materializations(dg.AssetKey("raw_events"), limit=10).records:
        materialization = record.asset_materialization
        rows[materialization.partition] = materialization.metadata["dagster/row_count"].value
        assert materialization.metadata["path"].path.endswith(f"date={materialization.partition}/part-0.parquet")
    assert rows == {d.isoformat(): demo_runner.lake.read_frame("raw_events", d).height for d in days}
    assert len(set(rows.values())) > 1
    (tmp_path / "one_by_one").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "one_by_one")) as instance:
        settings = demo_runner.settings.model_copy(update={"data_dir": str(tmp_path / "one_by_one_data")})
        one_by_one = PipelineRunner(settings, instance)
        for day in days:
            one_by_one.ingest(day)
        for day in days:
            for dataset in ("raw_events", "instance_days"):
                assert one_by_one.lake.read_frame(dataset, day).equals(demo_runner.lake.read_frame(dataset, day))
            assert one_by_one.lake.read_json("ingest_stats", day) == demo_runner.lake.read_json("ingest_stats", day)


def test_a_heartbeat_drop_inside_a_range_keeps_the_days_before_it(pipeline_env):
    rows = [
        row("startup", ID_A, "2026-05-01T08:00:00.000Z"),
        row("heartbeat", ID_A, "2026-05-01T08:00:05.000Z"),
        row("startup", ID_B, "2026-05-02T08:00:00.000Z"),  # day 2: startups only
        row("startup", ID_B, "2026-05-03T08:00:00.000Z"),
    ]
    with dg.instance_for_test(temp_dir=str(pipeline_env / "dagster_home")) as instance:
        runner = csv_runner(pipeline_env, instance, rows)
        with pytest.raises(PipelineRunError, match="2026-05-01 to 2026-05-03 failed: check heartbeats_present failed"):
            runner.ingest(date(2026, 5, 1), date(2026, 5, 3))
        # Day 1 is written and materialized; day 2 and everything after it is not.
        for asset in ("raw_events", "ingest_stats"):
            assert instance.get_materialized_partitions(dg.AssetKey(asset)) == {"2026-05-01"}
        assert runner.lake.has_day("raw_events", date(2026, 5, 1))
        assert not runner.lake.has_day("raw_events", date(2026, 5, 2))
        assert not runner.lake.has_day("raw_events", date(2026, 5, 3))
        assert not runner.lake.has_day("instance_days", date(2026, 5, 1))  # blocked downstream


def test_csv_report_counts_match_the_hand_computed_fleet(pipeline_env):
    # A lives 05-01..05-03 (2 days), B is a one-day wonder, an unidentified startup on 05-02.
    rows = [
        row("startup", ID_A, "2026-05-01T08:00:00.000Z"),
        row("heartbeat", ID_A, "2026-05-01T08:00:05.000Z"),
        row("heartbeat", ID_A, "2026-05-02T08:00:05.000Z"),
        row("heartbeat", ID_A, "2026-05-03T08:00:05.000Z"),
        row("startup", ID_B, "2026-05-02T09:00:00.000Z"),
        row("heartbeat", ID_B, "2026-05-02T09:00:05.000Z"),
        row("startup", None, "2026-05-02T10:00:00.000Z", v="1.0.21"),
        row("heartbeat", ID_B, "2026-05-04T09:00:05.000Z"),  # the export's own (incomplete) day
    ]
    with dg.instance_for_test(temp_dir=str(pipeline_env / "dagster_home")) as instance:
        runner = csv_runner(pipeline_env, instance, rows)
        assert runner.default_report_day() == date(2026, 5, 3)
        for day in day_range(date(2026, 5, 1), date(2026, 5, 2)):
            runner.ingest(day)
        report = runner.report(date(2026, 5, 3))
    metrics = json.loads((report.parent / "metrics-2026-05-03.json").read_text())
    assert metrics["key_metrics"]["identified_instances"] == 2
    assert metrics["key_metrics"]["total_events"] == 7
    assert metrics["key_metrics"]["null_registry_id_count"] == 1
    assert metrics["stickiness"]["one_day_wonders"] == 1
    assert metrics["stickiness"]["lifetime_bucket_counts"] == {"3": 0, "7": 0, "14": 0, "30": 0}
    assert metrics["stickiness"]["longest_non_internal_days"] == 2
    markdown = report.with_suffix(".md").read_text()
    # Engagement on 05-03: A active (DAI 1) of 2 customers seen, both active in the last
    # 7 days; the 7-day measures need 7 days of series.
    assert "| 2026-05-03 | 1 | — | — | 2 | 50.0% | 2 | 50.0% |" in markdown
    # Spend: both installs are AWS with no compute reported (priced as "unknown", $3.9936/day).
    # Instance-days: all days 4 (A x3, B x1), persisted 3 (A), proven 2 (A's days 2 and 3).
    # All days: $3.99 on 05-03, 4 x 3.9936 = $15.97 over the 3 days of spend (average
    # $5.32/day), ARR 15.9744 / 3 x 365 = $1,944 (JSON: 0.001944 million).
    assert "| All days | $3.99 | $15.97 | $5.32 | $16 | 4 | $1,944 |" in markdown
    assert "| Persisted | $3.99 | $11.98 | $3.99 | $12 | 3 | $1,458 |" in markdown
    assert "| Proven | $3.99 | $7.99 | $2.66 | $8 | 2 | $972 |" in markdown
    assert "| other | 2 | 4 / 3 / 2 | $16 | $12 | $8 |" in markdown
    assert "All days − persisted = 1 instance-days" in markdown and "persisted − proven = 1 first days" in markdown
    assert "No forecast yet: needs at least 5 days of data, has 3." in markdown


def test_versions_funnel_and_totals_read_as_what_they_are(pipeline_env):
    # A runs v1.35.0 (startup), then reports the same release as 1.35.0: 6 heartbeats over
    # 3 days make it Confirmed Alive, though it has lived 2 days only. B runs 1.34.0.
    rows = [row("startup", ID_A, "2026-05-01T08:00:00.000Z", v="v1.35.0")]
    rows += [row("heartbeat", ID_A, f"2026-05-0{day}T{hour}:00:05.000Z", v="1.35.0") for day in (1, 2, 3) for hour in (9, 21)]
    rows += [row("startup", ID_B, "2026-05-02T08:00:00.000Z", v="1.34.0"),
             row("heartbeat", ID_B, "2026-05-02T08:00:05.000Z", v="1.34.0")]
    with dg.instance_for_test(temp_dir=str(pipeline_env / "dagster_home")) as instance:
        runner = csv_runner(pipeline_env, instance, rows)
        for day in day_range(date(2026, 5, 1), date(2026, 5, 2)):
            runner.ingest(day)
        markdown = runner.report(date(2026, 5, 3)).with_suffix(".md").read_text()
    # One version, counted once (7 events of 9), its other spelling shown.
    assert "| 1.35.0 (also reported as v1.35.0) | community | 7 | 77.8% | 1 | 50.0% |" in markdown
    assert "v1.35.0 |" not in markdown.replace("reported as v1.35.0 |", "")
    assert "No customer install has reported more than one version." in markdown
    # All-time totals say so, in the comparison table and the key metrics.
    assert "| Events (startup + heartbeat), to date | 9 | 7 | +2 (+28.6%) | — | — |" in markdown
    assert "| Events (startup + heartbeat), to date | 9 |\n" in markdown
    # Every funnel stage is a subset of the one before; Confirmed Alive (1, more than the 0
    # installs over 30+ days) is shown apart.
    funnel = markdown[markdown.index("## Adoption funnel"):markdown.index("## Cloud detection")]
    stages = [int(line.split(" | ")[1]) for line in funnel.splitlines() if line.startswith("| ") and line[2:3] != "-"
              and not line.startswith("| Stage")]
    assert stages == [2, 1, 0, 0, 0, 0]
    assert ("Apart from the funnel, since it counts installs alive now whatever their lifetime: Confirmed Alive "
            "(>=5 heartbeats in the last 7 days), 1 customer install (50.0% of all customers).") in funnel


def test_hostile_telemetry_strings_render_harmlessly(pipeline_env):
    hostile = "<script>alert(1)</script>|1.0"
    rows = [
        row("startup", ID_A, "2026-05-01T08:00:00.000Z", v=hostile),
        row("heartbeat", ID_A, "2026-05-01T08:00:05.000Z", v=hostile),
        row("heartbeat", ID_A, "2026-05-02T08:00:05.000Z"),
    ]
    with dg.instance_for_test(temp_dir=str(pipeline_env / "dagster_home")) as instance:
        runner = csv_runner(pipeline_env, instance, rows)
        runner.ingest(date(2026, 5, 1))
        report = runner.report(date(2026, 5, 2))
    page = report.read_text()
    markdown = report.with_suffix(".md").read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;|1.0" in page
    assert "<script>" not in markdown and r"&lt;script&gt;alert(1)&lt;/script&gt;\|1.0" in markdown
    # Version adoption, the upgrade trajectory and the most-engaged ranking quote the version.
    rows = [line for line in markdown.splitlines() if "alert(1)" in line]
    assert len(rows) == 3
    assert rows[0].startswith(r"| &lt;script&gt;alert(1)&lt;/script&gt;\|1.0 |") and rows[0].count(" | ") == 5
    assert all(r"alert(1)&lt;/script&gt;\|1.0 → 1.31.0 |" in row for row in rows[1:])


def test_a_report_builds_the_metrics_it_compares_with_and_those_of_the_next_week(demo_runner):
    day = START + timedelta(days=9)
    build_reports(demo_runner, day, day)
    # D-7 and D-1 for this report; D-6 to D-2 for the next six daily reports' D-7.
    for earlier in day_range(day - timedelta(days=7), day - timedelta(days=1)):
        assert demo_runner.lake.has_day("fleet_metrics", earlier, "data.json")
        assert not demo_runner.report_path(earlier).exists()  # metrics only, no report
    assert not demo_runner.lake.has_day("fleet_metrics", day - timedelta(days=8), "data.json")
    insights = demo_runner.lake.read_json("usage_insights", day)
    assert insights["comparison"]["available"] is True
    # So the next daily report runs its report job alone, no metrics run before it.
    instance = demo_runner.instance
    runs_before = instance.get_runs_count()
    demo_runner.report(day + timedelta(days=1))
    assert [run.job_name for run in instance.get_runs(limit=instance.get_runs_count() - runs_before)] == [
        "daily_usage_report"]


def test_commentary_next_to_the_report_is_merged_at_its_sections_and_kept(demo_runner):
    day = START + timedelta(days=5)
    build_reports(demo_runner, day, day)
    report = demo_runner.report_path(day)
    before = report.with_suffix(".md").read_text()
    assert "Commentary" not in before and "COMMENTARY" not in before  # no empty markers
    commentary = report.parent / "commentary.json"
    commentary.write_text(json.dumps({"liveness": "Fewer <b>installs</b> | went quiet.", "engagement": ""}))
    demo_runner.report(day)
    after = report.with_suffix(".md").read_text()
    liveness = after[after.index("## Liveness"):after.index("## Engagement over time")]
    assert r"_Commentary: Fewer &lt;b&gt;installs&lt;/b&gt; \| went quiet._" in liveness
    assert after.count("_Commentary:") == 1  # the empty engagement text adds nothing
    # Nothing else changed: the same lines once the commentary line is taken out.
    assert [line for line in after.splitlines() if line and "_Commentary:" not in line] == [
        line for line in before.splitlines() if line
    ]
    assert "<b>" not in report.read_text() and "Fewer &lt;b&gt;installs&lt;/b&gt; | went quiet." in report.read_text()
    assert json.loads(commentary.read_text())["liveness"].startswith("Fewer")  # kept for the next rebuild

    commentary.write_text(json.dumps({"no_such_section": "text"}))
    with pytest.raises(PipelineRunError, match="no_such_section"):
        demo_runner.report(day)
    assert report.with_suffix(".md").read_text() == after  # the previous report stays


def test_github_figures_and_their_change_since_the_day_before(pipeline_env, github, monkeypatch):
    """GitHub's API cannot run here: ``FakeGitHub`` (an http.server on 127.0.0.1 serving
    GitHub-shaped JSON) stands in for it, so the resource, asset and report are real."""
    serve_repository(github, [3])
    monkeypatch.setenv("USAGE_GITHUB_TOKEN", TOKEN)
    settings = Settings.from_env(
        data_dir=str(pipeline_env / "data"), reports_dir=str(pipeline_env / "reports"), demo_start=START.isoformat(),
        demo_daily_new_installs=1.0, github_repo=REPO, github_api_url=github.url,
    )
    day = START + timedelta(days=3)
    with dg.instance_for_test(temp_dir=str(pipeline_env / "dagster_home")) as instance:
        runner = PipelineRunner(settings, instance)
        for earlier in day_range(START, day - timedelta(days=2)):
            runner.ingest(earlier)
        # Built on two days in a row, as the schedule does: D-1's report on 05-20, D's on 05-21.
        monkeypatch.setattr("usage_assets.defs.enrichment.github.utc_today", lambda: date(2026, 5, 20))
        runner.report(day - timedelta(days=1))
        github.routes[f"/repos/{REPO}"] = [(200, {}, {**REPO_DOCUMENT, "stargazers_count": 415})]
        monkeypatch.setattr("usage_assets.defs.enrichment.github.utc_today", lambda: date(2026, 5, 21))
        markdown = runner.report(day).with_suffix(".md").read_text()
        # A backfill fetches both days at once: their figures are not compared.
        runner.report(day - timedelta(days=1))
        backfilled = runner.report(day).with_suffix(".md").read_text()
    section = markdown[markdown.index("## GitHub repository"):markdown.index("## Architecture patterns")]
    assert "| Stars | 415 | +3 (+0.7%) |" in section and "| Contributors | 3 | 0 |" in section
    assert "| GitHub stars | 415 | 412 | +3 (+0.7%) |" in markdown
    assert {auth for _path, auth in github.requests} == {f"Bearer {TOKEN}"}
    assert TOKEN not in markdown
    assert "| Stars | 415 | — |" in backfilled and "no figures fetched a day earlier" in backfilled
    assert "| GitHub stars | 415 | — | — |" in backfilled


def test_fake_ids_huge_counters_and_huge_strings_do_not_reach_the_report(pipeline_env):
    # Issue 10, items 6 and 7: twelve installs with ids that are not UUIDs, a counter at the
    # int64 maximum and a 5 MB arch.
    fakes = ["<script>alert(1)</script>", "x", "1", "' OR 1=1 --", *[f"install-{n}" for n in range(8)]]
    rows = [row("heartbeat", fake, "2026-05-01T08:00:00.000Z") for fake in fakes]
    rows += [
        row("startup", ID_A, "2026-05-01T08:00:00.000Z", arch="x" * 5_000_000),
        row("heartbeat", ID_A, "2026-05-01T08:00:05.000Z", search_queries_total="9223372036854775807"),
        row("heartbeat", ID_B, "2026-05-01T09:00:05.000Z", search_queries_total="40"),
        row("heartbeat", ID_A, "2026-05-02T08:00:05.000Z", search_queries_total="2"),
    ]
    with dg.instance_for_test(temp_dir=str(pipeline_env / "dagster_home")) as instance:
        runner = csv_runner(pipeline_env, instance, rows)
        runner.ingest(date(2026, 5, 1))
        report = runner.report(date(2026, 5, 2))
    metrics_file = report.parent / "metrics-2026-05-02.json"
    metrics = json.loads(metrics_file.read_text())
    assert metrics["key_metrics"]["identified_instances"] == 2
    assert metrics["search_stats"]["lifetime_sum"] == 42 and metrics["search_stats"]["lifetime_max"] == 40
    assert metrics_file.stat().st_size < 100_000
    assert "x" * 100 not in report.with_suffix(".md").read_text()
    assert runner.lake.read_json("ingest_stats", date(2026, 5, 1))["rejects_by_reason"] == {
        "registry_id: not a UUID": 12}


def test_a_report_on_a_day_the_source_changed_after_its_ingest_is_refused(pipeline_env):
    # Issue 10, item 4: a newer export changing an ingested day must never be reported on
    # silently (the schedule and the UI do not re-ingest earlier days by themselves).
    rows = [row("startup", ID_A, "2026-05-01T08:00:00.000Z")] + [
        row("heartbeat", ID_A, f"2026-05-0{d}T08:00:05.000Z") for d in (1, 2, 3)]
    with dg.instance_for_test(temp_dir=str(pipeline_env / "dagster_home")) as instance:
        runner = csv_runner(pipeline_env, instance, rows)
        for day in (date(2026, 5, 1), date(2026, 5, 2)):
            runner.ingest(day)
        late = row("heartbeat", ID_B, "2026-05-01T22:00:00.000Z")
        write_export(pipeline_env / "exports" / "2026-05-05" / "registry_metrics.csv", header_variant(34),
                     [*rows, late, row("heartbeat", ID_A, "2026-05-04T08:00:05.000Z")])
        runner.prepare_source()
        with pytest.raises(PipelineRunError, match="the source changed 1 day\\(s\\) after they were ingested: 2026-05-01") \
                as refused:
            runner.report(date(2026, 5, 3))
        assert "usage-report backfill --start 2026-05-01 --end 2026-05-03 --force" in str(refused.value)
        assert not runner.report_path(date(2026, 5, 3)).exists()
        assert runner.stale_ingested_days(date(2026, 5, 3)) == [date(2026, 5, 1)]
        runner.ingest(date(2026, 5, 1))
        report = runner.report(date(2026, 5, 3))
    metrics = json.loads((report.parent / "metrics-2026-05-03.json").read_text())
    assert metrics["key_metrics"]["identified_instances"] == 2


def test_rows_of_no_day_are_accounted_for_in_the_report(pipeline_env):
    # Issue 10, item 5: rows without a usable ts, or dated far in the future, sat in files
    # no report mentioned.
    rows = [
        row("startup", ID_A, "2026-05-01T08:00:00.000Z"),
        row("heartbeat", ID_A, "2026-05-01T08:00:05.000Z"),
        row("heartbeat", ID_A, "2026-05-01T08:00:05.000Z"),  # delivered twice
        row("heartbeat", "not-a-uuid", "2026-05-01T09:00:05.000Z"),
        row("heartbeat", ID_A, "2026-05-02T08:00:05.000Z"),
        row("heartbeat", ID_B, ""),
        row("heartbeat", ID_B, "at some point"),
        row("heartbeat", ID_B, "2099-12-31T23:59:59.000Z"),
    ]
    with dg.instance_for_test(temp_dir=str(pipeline_env / "dagster_home")) as instance:
        runner = csv_runner(pipeline_env, instance, rows)
        markdown = runner.report(date(2026, 5, 1)).with_suffix(".md").read_text()
    quality = " ".join(markdown[markdown.index("## Data quality"):].split())
    assert ("Rows read from the source for 2026-05-01: 4 = kept as events 2 + duplicate deliveries dropped 1 "
            "+ rejected 1.") in quality
    assert "Rows in the source that belong to no day (whole source, as read for 2026-05-01's ingest): 3" in quality
    for reason in ("ts: missing", "ts: no date in it", "ts: after the day the export was read"):
        assert f"“{reason}”: 1" in quality


def test_a_day_before_the_demo_fleets_first_day_is_refused_not_reported_empty(demo_runner):
    with pytest.raises(PipelineRunError, match=f"{START - timedelta(days=1)} is before the source's first day {START}"):
        demo_runner.check_report_day(START - timedelta(days=1))
    demo_runner.check_report_day(START)
    assert demo_runner.first_day_to_ingest(START + timedelta(days=5)) == START


def test_a_range_of_reports_is_one_run_and_equals_one_run_per_day(demo_runner, tmp_path):
    """A backfill's reports come from one run over the range (every asset takes a range:
    defs/materialize.py daily_asset), each day its own partition, with the files of
    one-day runs byte for byte (the HTML and Markdown name no run, so they are compared too)."""
    first, last = START + timedelta(days=8), START + timedelta(days=10)
    for day in day_range(START, first - timedelta(days=1)):
        demo_runner.ingest(day)
    (tmp_path / "one_by_one").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "one_by_one")) as instance:
        settings = demo_runner.settings.model_copy(
            update={"data_dir": str(tmp_path / "one_data"), "reports_dir": str(tmp_path / "one_reports")}
        )
        one_by_one = PipelineRunner(settings, instance)
        for day in day_range(START, first - timedelta(days=1)):
            one_by_one.ingest(day)
        for day in day_range(first, last):
            one_by_one.report(day)
    runs_before = len(demo_runner.instance.get_runs())
    told = []
    demo_runner.reports_of(first, last, progress=told.append)
    assert told == day_range(first, last)
    new_runs = demo_runner.instance.get_runs(limit=len(demo_runner.instance.get_runs()) - runs_before)
    assert [run.job_name for run in new_runs].count("daily_usage_report") == 1
    for asset in ("usage_report", "fleet_metrics", "ltv_spend", "charts/install_forecast"):
        materialized = demo_runner.instance.get_materialized_partitions(dg.AssetKey.from_user_string(asset))
        assert {d.isoformat() for d in day_range(first, last)} <= materialized
    # Each day's own metadata on its partition (the report's path names its day).
    records = demo_runner.instance.fetch_materializations(dg.AssetKey("usage_report"), limit=3).records
    for record in records:
        day = record.asset_materialization.partition
        assert record.asset_materialization.metadata["report_html"].path.endswith(f"usage-report-{day}.html")
    for day in day_range(first, last):
        ours = sorted(p.name for p in demo_runner.report_path(day).parent.iterdir())
        theirs_folder = one_by_one.report_path(day).parent
        assert ours == sorted(p.name for p in theirs_folder.iterdir())
        for name in ours:
            if name.endswith((".json", ".csv", ".md")):
                ours_bytes = (demo_runner.report_path(day).parent / name).read_bytes()
                assert ours_bytes == (theirs_folder / name).read_bytes(), f"{day} {name}"
