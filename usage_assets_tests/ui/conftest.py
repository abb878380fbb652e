"""A small materialized Dagster instance of the demo fleet, shared by the UI tests.

Two days of the demo: day 1 ingested (and its fleet metrics built, for the D-1 column),
day 2's daily run - every asset and check, as the schedule would run it - into a Dagster
home of the project's own ``dagster.yaml``. Built once per session: the webserver test and
the event-log test read the same runs.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from usage_assets.cli.runner import PipelineRunner
from usage_assets.defs.jobs import REPORT_JOB
from usage_assets.settings import PROJECT_ROOT, Settings
from usage_assets_tests.test_pipeline import START, build_reports

REPORT_DAY = START + timedelta(days=1)


@dataclass(frozen=True)
class DemoInstance:
    """Where the demo was materialized, and the variables that point a process at it."""

    dagster_home: Path
    data_dir: Path
    reports_dir: Path
    #: USAGE_* settings and DAGSTER_HOME for a webserver reading this instance and lake.
    env: dict[str, str]
    #: The run of the daily report job for REPORT_DAY.
    report_run_id: str


@pytest.fixture(scope="session")
def demo_instance(tmp_path_factory, workspaces_dir) -> DemoInstance:
    root = tmp_path_factory.mktemp("ui-demo")
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home)
    settings = Settings(
        data_dir=str(root / "data"),
        reports_dir=str(root / "reports"),
        demo_start=START.isoformat(),
        demo_daily_new_installs=1.0,
    )
    env = {
        "DAGSTER_HOME": str(home),
        "USAGE_SOURCE": "demo",
        "USAGE_DATA_DIR": settings.data_dir,
        "USAGE_REPORTS_DIR": settings.reports_dir,
        "USAGE_DEMO_START": settings.demo_start,
        "USAGE_DEMO_DAILY_NEW_INSTALLS": str(settings.demo_daily_new_installs),
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(home))
        with dg.DagsterInstance.from_config(str(home)) as instance:
            build_reports(PipelineRunner(settings, instance), REPORT_DAY, REPORT_DAY)
            (run,) = instance.get_runs(filters=dg.RunsFilter(job_name=REPORT_JOB))
    return DemoInstance(home, Path(settings.data_dir), Path(settings.reports_dir), env, run.run_id)
