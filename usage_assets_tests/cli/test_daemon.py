"""``usage-report daemon`` (usage_assets/cli/daemon.py): Dagster's real backfill loop looks
at backfills at the interval set, the command refuses to start when the installed Dagster
no longer reads that interval where it is set, and nothing else in Dagster reads it."""

import logging
import threading
import time
from pathlib import Path

import dagster
import pytest
from click.testing import CliRunner
from dagster._core.instance_for_test import instance_for_test
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.workspace.load_target import EmptyWorkspaceTarget
from dagster._daemon import backfill, controller
from dagster._daemon.daemon import SpanMarker

from usage_assets.cli.daemon import INTERVAL_CONSTANT, set_backfill_interval
from usage_assets.cli.main import main


def backfill_iterations() -> int:
    """Iterations of Dagster's backfill loop on a test instance within 3 s (the loop's own
    ``until``); a shutdown after 3.5 s ends a sleep that is still going."""
    with instance_for_test() as instance, create_test_daemon_workspace_context(EmptyWorkspaceTarget(), instance) as context:
        shutdown = threading.Event()
        timer = threading.Timer(3.5, shutdown.set)
        timer.start()
        try:
            loop = backfill.execute_backfill_iteration_loop(
                context, logging.getLogger("test_daemon"), shutdown, until=time.time() + 3
            )
            return sum(1 for item in loop if item is SpanMarker.START_SPAN)
        finally:
            timer.cancel()


def test_the_backfill_loop_looks_again_at_the_interval_set(monkeypatch):
    monkeypatch.setattr(controller, INTERVAL_CONSTANT, controller.DEFAULT_DAEMON_INTERVAL_SECONDS)  # restored after
    assert backfill_iterations() == 1  # Dagster's 30 s: one look in 3 s
    set_backfill_interval(1)
    assert backfill_iterations() > 1


def test_the_settings_default_is_5_s_and_the_variable_sets_it(monkeypatch):
    from usage_assets.settings import Settings

    assert Settings.from_env(need_source=False).automation.backfill_interval_s == 5
    monkeypatch.setenv("USAGE_AUTOMATION_BACKFILL_INTERVAL_S", "2")
    assert Settings.from_env(need_source=False).automation.backfill_interval_s == 2


def test_an_invalid_interval_is_refused_naming_its_variable(monkeypatch):
    monkeypatch.setenv("USAGE_AUTOMATION_BACKFILL_INTERVAL_S", "0")
    result = CliRunner().invoke(main, ["daemon", "-w", "workspace.yaml"])
    assert result.exit_code == 2 and "USAGE_AUTOMATION_BACKFILL_INTERVAL_S" in result.output


def _loop_importing_at_module_level(*args, **kwargs):
    # A later Dagster whose loop reads a module-level binding: setting the constant would not reach it.
    return controller.DEFAULT_DAEMON_INTERVAL_SECONDS


@pytest.mark.parametrize("dagster_change", ["constant removed", "loop no longer reads it"])
def test_the_daemon_refuses_to_start_when_dagster_no_longer_reads_the_interval(monkeypatch, dagster_change):
    if dagster_change == "constant removed":
        monkeypatch.delattr(controller, INTERVAL_CONSTANT)
    else:
        monkeypatch.setattr(backfill, "execute_backfill_iteration_loop", _loop_importing_at_module_level)
    result = CliRunner().invoke(main, ["daemon", "-w", "workspace.yaml"])
    assert result.exit_code == 1
    assert f"dagster {dagster.__version__} no longer takes the backfill daemon's interval" in result.output
    assert "Run `dagster-daemon run` with the same options meanwhile" in result.output


def test_only_the_backfill_loop_and_the_asset_daemons_fallback_read_the_interval():
    """What else setting the constant changes (the module's docstring says why the second
    reader changes nothing here): a Dagster upgrade adding a reader fails this test."""
    package = Path(dagster.__file__).parent
    readers = sorted(str(path.relative_to(package)) for path in package.rglob("*.py")
                     if INTERVAL_CONSTANT in path.read_text(encoding="utf-8"))
    assert readers == ["_daemon/backfill.py", "_daemon/controller.py"]
    uses = [line.strip() for line in (package / "_daemon/controller.py").read_text().splitlines()
            if INTERVAL_CONSTANT in line]
    assert uses == [f"{INTERVAL_CONSTANT} = 30", f"else {INTERVAL_CONSTANT}"]  # the asset daemon's sensorless mode
