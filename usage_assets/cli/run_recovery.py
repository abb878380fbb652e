"""Runs whose process is gone, and the concurrency-pool slots they hold.

A step in a pool (the ingest's ``telemetry_source``, limit 1) claims a slot in the
instance and frees it when the step ends. A ``usage-report`` process that is SIGKILLed,
OOM-killed or lost in a reboot never ends its run: the run stays STARTED and keeps its
slot, and every later run would wait for that slot forever. Runs executed in-process by
the CLI have no run launcher and no daemon watching them, so the CLI does the cleanup:

- every run it executes carries its process in tags (:func:`process_tags`);
- :func:`recover_dead_runs` (at the start of each command, and while a run waits for a
  slot) marks unfinished runs whose process is gone as failed and frees the slots and
  queue places of runs that are over;
- :func:`slot_wait` and :func:`describe_wait` tell what a waiting run waits for and what
  to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from usage_assets.common.processes import ProcessId, ProcessState, process_state, this_process

#: Tags on every run the CLI executes: the host, process id and process start of its process.
RUN_HOST_TAG = "usage/host"
RUN_PID_TAG = "usage/pid"
RUN_PROCESS_START_TAG = "usage/process_start"

#: Statuses of a run whose process may still be working on it (a QUEUED run has no process yet).
UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def process_tags(process: ProcessId | None = None) -> dict[str, str]:
    """Run tags recording ``process`` (default: the calling process)."""
    process = process or this_process()
    tags = {RUN_HOST_TAG: process.host, RUN_PID_TAG: str(process.pid)}
    if process.started:
        tags[RUN_PROCESS_START_TAG] = process.started
    return tags


def run_process(run: dg.DagsterRun) -> ProcessId | None:
    """The process recorded in ``run``'s tags; None for a run not executed by the CLI
    (launched from the Dagster UI or daemon, or by an older version of the CLI)."""
    host, pid = run.tags.get(RUN_HOST_TAG), run.tags.get(RUN_PID_TAG)
    if not host or not pid or not pid.isdigit():
        return None
    return ProcessId(host=host, pid=int(pid), started=run.tags.get(RUN_PROCESS_START_TAG))


def describe_run(run: dg.DagsterRun | None, run_id: str) -> str:
    """``"run 1a2b3c4d (daily_ingest, 2026-03-01)"`` (``2026-03-01 to 2026-03-02`` for a run
    over a partition range); the bare short id for an unknown run."""
    if run is None:
        return f"run {run_id[:8]}"
    partition = run.tags.get("dagster/partition")
    first, last = run.tags.get("dagster/asset_partition_range_start"), run.tags.get("dagster/asset_partition_range_end")
    if partition is None and first and last:
        partition = first if first == last else f"{first} to {last}"
    return f"run {run_id[:8]} ({run.job_name}{', ' + partition if partition else ''})"


@dataclass(frozen=True)
class RecoveredRun:
    """A run :func:`recover_dead_runs` cleaned up.

    ``marked_failed``: its process was gone while the run was unfinished, so it was
    marked failed now; ``pools``: the pools it held a slot or a queue place in, now freed.
    """

    run_id: str
    label: str
    process: ProcessId | None
    marked_failed: bool
    pools: tuple[str, ...]


def _pools(instance: dg.DagsterInstance) -> dict:
    """Pool name -> its ``ConcurrencyKeyInfo`` (limit, claimed slots, queued steps)."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return {}
    return dict(storage.get_concurrency_infos(sorted(storage.get_concurrency_keys())))


def _pool_users(instance: dg.DagsterInstance) -> dict[str, set[str]]:
    """Run id -> the pools the run holds a slot in or waits in (pending step)."""
    users: dict[str, set[str]] = {}
    for pool, info in _pools(instance).items():
        for run_id in [slot.run_id for slot in info.claimed_slots] + [step.run_id for step in info.pending_steps]:
            users.setdefault(run_id, set()).add(pool)
    return users


def recover_dead_runs(instance: dg.DagsterInstance) -> list[RecoveredRun]:
    """Clean up after runs whose process is gone; returns what was cleaned up.

    1. An unfinished run (NOT_STARTED, STARTING, STARTED, CANCELING) executed by the CLI
       whose process is gone on this host is reported failed, with a message naming the
       process.
    2. Every finished run (failed, canceled, succeeded) that still holds a pool slot or
       waits in a pool's queue gets them freed, unless the CLI process that executed it
       is still alive or on another host. Runs of the UI's run launcher are freed this
       way once they have ended, as Dagster's run monitoring would with a daemon.

    Runs on other hosts and live processes are never touched.
    """
    marked: dict[str, dg.DagsterRun] = {}
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED)):
        process = run_process(run)
        if process is None or process_state(process) is not ProcessState.GONE:
            continue
        instance.report_run_failed(
            run,
            message=f"The process that executed this run (usage-report, pid {process.pid} on {process.host}) "
            "is gone (killed, crashed or rebooted); marked failed by the next usage-report command.",
        )
        marked[run.run_id] = run
    recovered = []
    for run_id, pools in sorted(_pool_users(instance).items()):
        run = instance.get_run_by_id(run_id)
        process = run_process(run) if run else None
        if run is not None and not run.is_finished:
            continue
        if process is not None and process_state(process) is not ProcessState.GONE:
            continue
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        recovered.append(RecoveredRun(run_id, describe_run(run, run_id), process, run_id in marked, tuple(sorted(pools))))
    recovered += [
        RecoveredRun(run_id, describe_run(run, run_id), run_process(run), True, ())
        for run_id, run in marked.items()
        if run_id not in {done.run_id for done in recovered}
    ]
    return recovered


def summarize_recovery(recovered: list[RecoveredRun]) -> str | None:
    """One line saying what :func:`recover_dead_runs` did; None when it did nothing."""
    if not recovered:
        return None
    parts = []
    for done in recovered:
        what = []
        if done.marked_failed:
            pid = f"pid {done.process.pid}" if done.process else "its process"
            what.append(f"{pid} is gone, marked failed")
        if done.pools:
            what.append(f"freed its slot in pool {', '.join(done.pools)}")
        parts.append(f"{done.label}: {'; '.join(what)}")
    return f"Recovered {len(recovered)} run(s) left behind by a stopped process: " + " | ".join(parts)


@dataclass(frozen=True)
class SlotHolder:
    """A run holding a slot a waiting run needs: its id, label, process (None when not
    executed by the CLI) and that process's :class:`ProcessState`."""

    run_id: str
    label: str
    process: ProcessId | None
    state: ProcessState | None


@dataclass(frozen=True)
class SlotWait:
    """What a run waits for: ``pool``, its ``limit`` (slots) and the runs holding them."""

    pool: str
    limit: int | None
    holders: tuple[SlotHolder, ...]


def slot_wait(instance: dg.DagsterInstance, run_id: str) -> SlotWait | None:
    """The pool run ``run_id`` waits for a slot in (its step is queued and no slot has been
    assigned to it yet), with the runs holding that pool's slots; None when it waits for none."""
    for pool, info in _pools(instance).items():
        if any(step.run_id == run_id and step.assigned_timestamp is None for step in info.pending_steps):
            holders = []
            for holder_id in dict.fromkeys(slot.run_id for slot in info.claimed_slots if slot.run_id != run_id):
                run = instance.get_run_by_id(holder_id)
                process = run_process(run) if run else None
                holders.append(SlotHolder(holder_id, describe_run(run, holder_id), process,
                                          process_state(process) if process else None))
            return SlotWait(pool, info.limit, tuple(holders))
    return None


def describe_wait(wait: SlotWait) -> str:
    """One line: which pool a run waits for, who holds its slots, and what to do."""
    limit = f" (limit {wait.limit})" if wait.limit is not None else ""
    if not wait.holders:
        return f"Waiting for a slot in pool {wait.pool}{limit}; Ctrl-C stops this run."
    held = []
    for holder in wait.holders:
        if holder.process is None:
            held.append(f"{holder.label}, launched from the Dagster UI or daemon: see it under Runs in "
                        "`usage-report ui` and terminate it there if it is stuck")
        elif holder.state is ProcessState.UNKNOWN:
            held.append(f"{holder.label}, usage-report pid {holder.process.pid} on host {holder.process.host}, "
                        "which this machine cannot check: stop it there if it is stuck")
        else:
            held.append(f"{holder.label}, usage-report pid {holder.process.pid}, still running: let it finish, "
                        f"or stop it (kill {holder.process.pid}) and this run goes on")
    return f"Waiting for a slot in pool {wait.pool}{limit}, held by {'; '.join(held)}. Ctrl-C stops this run."
