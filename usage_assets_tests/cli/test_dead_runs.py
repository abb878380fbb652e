"""A killed or waiting ``usage-report`` never wedges the pipeline (issue 10, item 1).

The end-to-end tests run the real CLI in subprocesses against an on-disk instance with
the project's ``dagster.yaml`` (pool ``telemetry_source``, limit 1). A "stalling" CLI is
the real CLI whose demo source sleeps inside ``fetch_day``, i.e. inside the ingest step
while it holds the pool's only slot; it writes a marker file once it got there.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.test_utils import create_run_for_test

from usage_assets.cli.run_recovery import process_tags, recover_dead_runs, slot_wait
from usage_assets.common.processes import ProcessId, ProcessState, process_state, this_process
from usage_assets.settings import PROJECT_ROOT

POOL = "telemetry_source"
START = date(2026, 3, 1)
DAY = date(2026, 3, 3)
USAGE_REPORT = [sys.executable, "-c", "from usage_assets.cli.main import main; main()"]
STALLING = [sys.executable, "-c", """
import os, pathlib, sys, time
from usage_assets.defs.resources import telemetry

def stalled(self, day):
    pathlib.Path(os.environ["STALL_MARK"]).write_text(str(os.getpid()))
    time.sleep(600)

telemetry.DemoTelemetrySource.fetch_day = stalled
from usage_assets.cli.main import main
main()
"""]


def dead_pid() -> int:
    """The id of a process that has exited and been collected."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_process_state_tells_alive_gone_reused_and_elsewhere():
    me = this_process()
    assert process_state(me) is ProcessState.ALIVE
    assert process_state(ProcessId(me.host, dead_pid())) is ProcessState.GONE
    if me.started is not None:  # Linux: an id now used by another process is not the old process
        assert process_state(ProcessId(me.host, me.pid, "other-boot/1")) is ProcessState.GONE
    assert process_state(ProcessId("another-host.example", me.pid)) is ProcessState.UNKNOWN


@pytest.fixture
def pooled_instance(tmp_path):
    with dg.instance_for_test(
        temp_dir=str(tmp_path), overrides={"concurrency": {"pools": {"default_limit": 1}}}
    ) as instance:
        instance.event_log_storage.set_concurrency_slots(POOL, 1)
        yield instance


def claim(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    return instance.event_log_storage.claim_concurrency_slot(POOL, run.run_id, "daily_events", 0).is_claimed


def test_recovery_fails_dead_cli_runs_frees_their_slots_and_leaves_live_runs_alone(pooled_instance):
    me = this_process()
    dead = create_run_for_test(pooled_instance, status=dg.DagsterRunStatus.STARTED,
                               tags=process_tags(ProcessId(me.host, dead_pid())))
    live = create_run_for_test(pooled_instance, status=dg.DagsterRunStatus.STARTED, tags=process_tags())
    from_ui = create_run_for_test(pooled_instance, status=dg.DagsterRunStatus.STARTED)
    assert claim(pooled_instance, dead) and not claim(pooled_instance, live)
    wait = slot_wait(pooled_instance, live.run_id)
    assert wait is not None and wait.pool == POOL and [h.run_id for h in wait.holders] == [dead.run_id]

    (recovered,) = recover_dead_runs(pooled_instance)
    assert (recovered.run_id, recovered.marked_failed, recovered.pools) == (dead.run_id, True, (POOL,))
    assert pooled_instance.get_run_by_id(dead.run_id).status is dg.DagsterRunStatus.FAILURE
    assert pooled_instance.get_run_by_id(live.run_id).status is dg.DagsterRunStatus.STARTED
    assert pooled_instance.get_run_by_id(from_ui.run_id).status is dg.DagsterRunStatus.STARTED
    # The freed slot goes to the run that waited for it.
    assert claim(pooled_instance, live)
    assert recover_dead_runs(pooled_instance) == []


def test_recovery_frees_a_slot_a_finished_run_still_holds(pooled_instance):
    ended = create_run_for_test(pooled_instance, status=dg.DagsterRunStatus.STARTED)
    assert claim(pooled_instance, ended)
    pooled_instance.report_run_canceled(ended)
    (recovered,) = recover_dead_runs(pooled_instance)
    assert (recovered.run_id, recovered.marked_failed, recovered.pools) == (ended.run_id, False, (POOL,))
    assert pooled_instance.event_log_storage.get_concurrency_info(POOL).claimed_slots == []


# -- end to end: the real CLI in subprocesses ------------------------------------------------


@pytest.fixture
def cli_env(tmp_path):
    """Environment for CLI subprocesses: lake, reports and DAGSTER_HOME (with the project's
    pool limits) under ``tmp_path``, a small demo fleet."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "USAGE_DATA_DIR": str(tmp_path / "data"),
        "USAGE_REPORTS_DIR": str(tmp_path / "reports"),
        "USAGE_DEMO_START": START.isoformat(),
        "USAGE_DEMO_DAILY_NEW_INSTALLS": "1",
        "STALL_MARK": str(tmp_path / "stalled"),
        # Wide enough that rich does not wrap a message around its log-location column.
        "COLUMNS": "400",
    }


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("w") as stream:
        return subprocess.Popen([*command, "run", "--date", DAY.isoformat()], env=env, cwd=PROJECT_ROOT,
                                stdout=stream, stderr=subprocess.STDOUT)


def wait_until(condition, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def start_stalled(env: dict, tmp_path: Path) -> subprocess.Popen:
    """A CLI run stalled inside the ingest step, holding the pool's only slot."""
    stalled = start(STALLING, env, tmp_path / "stalled.log")
    wait_until(lambda: Path(env["STALL_MARK"]).exists(), "the stalled run to enter the ingest step")
    return stalled


def instance_of(env: dict) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(env["DAGSTER_HOME"])


def output(log: Path) -> str:
    return " ".join(log.read_text().split())


def runs_by_status(instance: dg.DagsterInstance) -> dict[str, dg.DagsterRunStatus]:
    return {run.run_id: run.status for run in instance.get_runs()}


def test_a_run_killed_inside_the_ingest_step_does_not_block_the_next_run(cli_env, tmp_path):
    stalled = start_stalled(cli_env, tmp_path)
    instance = instance_of(cli_env)
    (slot,) = instance.event_log_storage.get_concurrency_info(POOL).claimed_slots
    stalled.send_signal(signal.SIGKILL)
    stalled.wait()

    rerun = subprocess.run([*USAGE_REPORT, "run", "--date", DAY.isoformat()], env=cli_env, cwd=PROJECT_ROOT,
                           capture_output=True, text=True, timeout=180)
    assert rerun.returncode == 0, rerun.stderr
    said = " ".join(rerun.stderr.split())
    # The stalled run ingests the days before DAY in one run over their range.
    days = f"{START} to {DAY - timedelta(days=1)}"
    assert f"Recovered 1 run(s) left behind by a stopped process: run {slot.run_id[:8]} (daily_ingest, {days})" in said
    assert f"pid {stalled.pid} is gone, marked failed; freed its slot in pool {POOL}" in said
    assert (tmp_path / "reports" / DAY.isoformat() / f"usage-report-{DAY}.html").is_file()
    assert instance.get_run_by_id(slot.run_id).status is dg.DagsterRunStatus.FAILURE
    info = instance.event_log_storage.get_concurrency_info(POOL)
    assert info.claimed_slots == [] and info.pending_steps == []
    assert set(runs_by_status(instance).values()) == {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS}


def test_a_waiting_run_says_what_it_waits_for_and_goes_on_when_the_holder_dies(cli_env, tmp_path):
    stalled = start_stalled(cli_env, tmp_path)
    waiting = start(USAGE_REPORT, cli_env, tmp_path / "waiting.log")
    wait_until(lambda: "Waiting for a slot" in output(tmp_path / "waiting.log"), "the waiting message")
    said = output(tmp_path / "waiting.log")
    assert f"Waiting for a slot in pool {POOL} (limit 1), held by run" in said
    assert f"usage-report pid {stalled.pid}, still running: let it finish, or stop it (kill {stalled.pid})" in said
    stalled.send_signal(signal.SIGKILL)
    stalled.wait()
    assert waiting.wait(timeout=180) == 0, output(tmp_path / "waiting.log")
    assert f"pid {stalled.pid} is gone, marked failed" in output(tmp_path / "waiting.log")
    assert (tmp_path / "reports" / DAY.isoformat() / f"usage-report-{DAY}.html").is_file()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_waiting_run_stops_on_sigterm_and_sigint_and_cancels_its_run(cli_env, tmp_path, stop):
    stalled = start_stalled(cli_env, tmp_path)
    try:
        waiting = start(USAGE_REPORT, cli_env, tmp_path / "waiting.log")
        wait_until(lambda: "Waiting for a slot" in output(tmp_path / "waiting.log"), "the waiting message")
        instance = instance_of(cli_env)
        held = instance.event_log_storage.get_concurrency_info(POOL)
        waiting.send_signal(stop)
        assert waiting.wait(timeout=20) != 0
        canceled = [run for run in instance.get_runs() if run.status is dg.DagsterRunStatus.CANCELED]
        assert len(canceled) == 1 and canceled[0].tags["usage/pid"] == str(waiting.pid)
        # It left the pool's queue; the slot stays with the stalled run.
        info = instance.event_log_storage.get_concurrency_info(POOL)
        assert canceled[0].run_id not in {step.run_id for step in info.pending_steps}
        assert [slot.run_id for slot in info.claimed_slots] == [slot.run_id for slot in held.claimed_slots]
    finally:
        stalled.send_signal(signal.SIGKILL)
        stalled.wait()


def test_a_stopped_run_that_logs_its_failure_after_the_command_gave_up_on_it_stays_canceled(
    pipeline_env, monkeypatch
):
    """The run's thread sleeps (in C) inside the ingest step when the command is stopped, so it
    sees the stop only after the command's grace period: Dagster then logs the run's failure,
    after the command recorded it canceled. (Happened on a loaded machine: the waiting-run
    test above found the run failed.) The command is stopped by a KeyboardInterrupt raised
    where it watches the run, as Ctrl-C raises it there."""
    from usage_assets.cli import runner as runner_module
    from usage_assets.cli.runner import PipelineRunner
    from usage_assets.defs.resources import telemetry
    from usage_assets.settings import Settings

    in_step = threading.Event()

    def slow_fetch(self, day):
        in_step.set()
        time.sleep(1.0)  # a C call: the stop is raised in this thread only after it
        raise AssertionError("the stop did not reach the run's thread")

    def interrupted_watch(self, worker, run_id, progress, logged):
        assert in_step.wait(60)
        raise KeyboardInterrupt

    monkeypatch.setattr(telemetry.DemoTelemetrySource, "fetch_day", slow_fetch)
    monkeypatch.setattr(PipelineRunner, "_watch", interrupted_watch)
    monkeypatch.setattr(runner_module, "STOP_GRACE_S", 0.1)
    settings = Settings(data_dir=str(pipeline_env / "data"), reports_dir=str(pipeline_env / "reports"),
                        demo_start=START.isoformat(), demo_daily_new_installs=1.0)
    with dg.instance_for_test(temp_dir=str(pipeline_env / "dagster_home")) as instance:
        runner = PipelineRunner(settings, instance)
        with pytest.raises(KeyboardInterrupt):
            runner.ingest(START)
        for thread in threading.enumerate():
            if thread.name == f"daily_ingest {START}":
                thread.join(30)
        (run,) = instance.get_runs()
        events = [event.dagster_event_type for event in instance.all_logs(run.run_id)]
        # Dagster's failure came after the command's cancel, and the run is canceled all the same.
        assert events.index(dg.DagsterEventType.RUN_FAILURE) > events.index(dg.DagsterEventType.RUN_CANCELED)
        assert events[-1] == dg.DagsterEventType.RUN_CANCELED
        assert instance.get_run_by_id(run.run_id).status is dg.DagsterRunStatus.CANCELED
