"""``usage-report daemon``: Dagster's daemon (``dagster-daemon run``, unchanged) with its
backfill daemon looking at asset backfills every ``USAGE_AUTOMATION_BACKFILL_INTERVAL_S``
seconds (default 5) instead of Dagster's fixed 30.

Why: the backfill daemon of Dagster 1.13 sleeps ``DEFAULT_DAEMON_INTERVAL_SECONDS`` (30,
``dagster/_daemon/controller.py``) between its iterations, and no ``dagster.yaml`` setting
changes it (``backfills:`` has only ``use_threads``, ``num_workers`` and
``num_submit_workers``). A backfill launched in the UI therefore waited up to 30 s before its
run was submitted and up to 30 s after the run ended before it showed Completed: 60 s for a
3-day backfill that ``usage-report backfill`` builds in 21 s (issue #11). Dagster itself
proposed 2 s iterations while backfills are active (dagster-io/dagster PR #11860, not merged).

What changes: :func:`set_backfill_interval` sets that constant in this process, then
Dagster's own daemon command runs with the options given. The pinned Dagster reads the
constant in two places, both when called, after it is set:

- ``execute_backfill_iteration_loop`` (``dagster/_daemon/backfill.py``): the backfill
  daemon's sleep between iterations, the change wanted. An iteration with no backfill in
  progress only asks the instance for requested and canceling backfills.
- ``create_daemon_of_type`` (``controller.py``): the interval of the asset daemon's
  sensorless mode (``auto_materialize: use_sensors: false`` in ``dagster.yaml`` without
  ``minimum_interval_seconds``). This project keeps Dagster's default, automation sensors
  with their own intervals, so nothing else changes.

The scheduler, sensor, run-queue and run-monitoring daemons have their own intervals.
"""

from __future__ import annotations

import click

from usage_assets.settings import Settings, SettingsError, variable

#: Dagster's fixed daemon interval (seconds), a module attribute of ``dagster._daemon.controller``.
INTERVAL_CONSTANT = "DEFAULT_DAEMON_INTERVAL_SECONDS"


class DaemonIntervalError(RuntimeError):
    """The installed Dagster no longer reads the backfill daemon's interval where
    :func:`set_backfill_interval` sets it."""


def set_backfill_interval(seconds: int) -> None:
    """Make the backfill daemon started later in this process sleep ``seconds`` between its
    iterations (and the asset daemon's sensorless mode, see the module's docstring).

    Raises :class:`DaemonIntervalError` when the installed Dagster has no
    ``dagster._daemon.controller.DEFAULT_DAEMON_INTERVAL_SECONDS``, or when its backfill loop no
    longer imports that constant when it runs (setting it would then change nothing).
    """
    import dagster
    from dagster._daemon import backfill, controller

    # The loop imports the constant inside its body (a local name), so it sees the value set
    # here; imported at module level instead, it would keep 30 whatever is set.
    loop_reads_it = INTERVAL_CONSTANT in backfill.execute_backfill_iteration_loop.__code__.co_varnames
    if not isinstance(getattr(controller, INTERVAL_CONSTANT, None), (int, float)) or not loop_reads_it:
        raise DaemonIntervalError(
            f"dagster {dagster.__version__} no longer takes the backfill daemon's interval from "
            f"dagster._daemon.controller.{INTERVAL_CONSTANT}, so `usage-report daemon` cannot shorten it. "
            "Run `dagster-daemon run` with the same options meanwhile (asset backfills then wait up to 30 s "
            "before and after their runs), and adapt usage_assets/cli/daemon.py to this Dagster "
            "(see dagster/_daemon/backfill.py)."
        )
    setattr(controller, INTERVAL_CONSTANT, seconds)


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("daemon_options", nargs=-1, type=click.UNPROCESSED)
def daemon(daemon_options: tuple[str, ...]):
    """Run Dagster's daemon, looking at asset backfills every few seconds.

    \b
    The same as `dagster-daemon run` with the same options (see its --help), e.g.
      usage-report daemon -w workspace.yaml
    except that the backfill daemon looks at asset backfills every
    USAGE_AUTOMATION_BACKFILL_INTERVAL_S seconds (default 5) instead of
    Dagster's fixed 30 s, which no dagster.yaml setting changes: a backfill
    launched in the UI then starts a few seconds after it is launched and
    shows Completed a few seconds after its runs end, instead of up to 30 s
    each. Schedules, sensors, the run queue and run monitoring are unchanged.
    The services (deploy/) and `usage-report ui` run the daemon this way.
    """
    try:
        # Lenient as the code location is: a typo in an optional enrichment's settings must
        # not stop the daemon, and with it every schedule, sensor and queued run.
        seconds = Settings.from_env(need_source=False, lenient=True).automation.backfill_interval_s
    except SettingsError as error:
        raise click.UsageError(str(error)) from error
    try:
        set_backfill_interval(seconds)
    except DaemonIntervalError as error:
        raise click.ClickException(str(error)) from error
    from dagster._daemon.cli import run_command

    click.echo(f"usage-report daemon: asset backfills looked at every {seconds} s "
               f"({variable('automation', 'backfill_interval_s')})", err=True)
    run_command.main(list(daemon_options), prog_name="usage-report daemon")
