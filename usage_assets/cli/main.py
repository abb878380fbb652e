"""``usage-report``: build the daily usage report from the command line.

Every option has an environment variable (see ``.env.example``); a ``.env`` file in the
project root is read first, so the CLI, the Dagster UI and the schedule agree on the
source. Each source has its own workspace (:mod:`usage_assets.workspace`): its data lake,
its reports and the Dagster instance its runs are recorded in (``DAGSTER_HOME``, default:
the workspace's ``dagster_home/``), where the UI shows them.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import click
from dotenv import load_dotenv
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from usage_assets.cli.daemon import daemon
from usage_assets.cli.summary import DATE, _day, prometheus_options, summary
from usage_assets.common.days import consecutive_stretches
from usage_assets.settings import PROJECT_ROOT, SOURCES, Settings, SettingsError
from usage_assets.workspace import Workspace

console = Console(stderr=True)


def _prepare_environment() -> None:
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    # Registered before the pipeline is imported, so it runs after the exit handlers Dagster
    # and the libraries register: the objects left are frozen, and the interpreter's final
    # garbage collection skips them (a run leaves millions of objects:
    # collecting them cost 0.8 s of every command; the operating system frees the memory).
    atexit.register(gc.freeze)
    if os.environ.get("DAGSTER_HOME"):
        os.environ["DAGSTER_HOME"] = os.path.abspath(os.environ["DAGSTER_HOME"])


def _open_workspace(**options) -> tuple[Settings, Workspace]:
    """The settings with this command's options, and their source's workspace, opened.

    Points this process at the workspace before the pipeline is imported: ``DAGSTER_HOME``
    (for this command's runs, and the UI's) and ``USAGE_PARTITIONS_START`` (read at import,
    when the options may name another source than the environment) unless they are set.
    Finding the source's first day the first time prepares the source, with progress.
    """
    from usage_assets.definitions import source_first_day  # imports dagster: keep --help fast

    options = _demo_fleet_size(**options)
    try:
        settings = Settings.from_env(**options)
        workspace = Workspace.of(settings).open()
    except SettingsError as error:
        raise click.UsageError(str(error)) from error
    from usage_assets.cli.retries import with_source_retries

    with console.status("Preparing the source…"):
        # The first read of a database source: a bastion restarting is retried, as in a run.
        first_day = with_source_retries(lambda: source_first_day(settings, console.log), console.log)
    if not os.environ.get("DAGSTER_HOME"):
        os.environ["DAGSTER_HOME"] = str(workspace.dagster_home)
    os.environ.setdefault("USAGE_PARTITIONS_START", first_day.isoformat())
    return settings, workspace


def _demo_fleet_size(demo_installs: int | None = None, demo_days: int | None = None, **options) -> dict:
    """``options`` with ``--demo-installs``/``--demo-days`` turned into the demo fleet's
    first day and arrival rate (:func:`usage_assets.sources.demo_fleet.fleet_of_size`): about
    that many installs over that many days ending at the last complete UTC day."""
    if demo_installs is None and demo_days is None:
        return options
    if demo_installs is None or demo_days is None:
        raise click.UsageError("--demo-installs and --demo-days go together")
    from usage_assets.common.days import last_complete_utc_day
    from usage_assets.sources.demo_fleet import fleet_of_size

    fleet = fleet_of_size(demo_installs, demo_days, last_complete_utc_day())
    return {**options, "demo_start": fleet.start.isoformat(), "demo_daily_new_installs": fleet.daily_new_installs}


def source_options(command):
    """The options that choose the source and output folders (shared by run and backfill)."""
    options = [
        click.option("--source", type=click.Choice(SOURCES), help="Where events come from [env USAGE_SOURCE; default demo]."),
        click.option("--csv-path", type=click.Path(exists=True), help="registry_metrics.csv or a folder of dated exports [env USAGE_CSV_PATH]."),
        click.option("--internal-instances", type=click.Path(exists=True, dir_okay=False), help="Allowlist of internal installs, known-internal-instances.md [env USAGE_INTERNAL_INSTANCES]."),
        click.option("--reports-dir", type=click.Path(file_okay=False), help="Reports go to DIR/<date>/ [env USAGE_REPORTS_DIR; default: the source's workspace, workspaces/<source>/reports]."),
        click.option("--data-dir", type=click.Path(file_okay=False), help="The day-partitioned data lake [env USAGE_DATA_DIR; default: the source's workspace, workspaces/<source>/data]."),
        click.option("--demo-installs", type=click.IntRange(min=1), help="Demo fleet of about N installs (with --demo-days; sets its start and arrival rate) [default: env USAGE_DEMO_START and USAGE_DEMO_DAILY_NEW_INSTALLS]."),
        click.option("--demo-days", type=click.IntRange(min=1), help="Demo fleet over the last N complete days (with --demo-installs)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def verbose_option(command):
    """``--verbose``: Dagster's own warnings and errors, stack traces included."""
    return click.option("--verbose", "-v", is_flag=True,
                        help="Also print Dagster's warnings and errors, with their stack traces "
                             "(they are always in the run's event log).")(command)


def _runner(verbose: bool = False, **options):
    """A runner for the options, in their source's workspace, after recovering runs a
    stopped process left behind."""
    # Loading the pipeline (libraries, definitions, the instance) makes some 300k objects
    # that live as long as the command: the garbage collector's full passes over them while
    # they are made find nothing (0.4 s), and once frozen the passes during the runs skip them.
    gc.disable()
    try:
        settings, _ = _open_workspace(**options)
        from usage_assets.cli.runner import PipelineRunner  # imports the pipeline: after _open_workspace

        runner = PipelineRunner(settings, notify=console.log, verbose=verbose)
    finally:
        gc.freeze()
        gc.enable()
    # A killed or crashed earlier command may have left a run STARTED with a pool slot
    # claimed, which would make this command wait forever.
    recovered = runner.recover_dead_runs()
    if recovered:
        console.log(recovered)
    return runner


def _exit_on_sigterm(signum, _frame):
    # SystemExit unwinds like Ctrl-C does, so the runner marks the current run canceled
    # and frees its pool slot before the process exits (128 + 15, as a shell reports it).
    raise SystemExit(128 + signum)


def _fails_cleanly(command):
    """Turn the pipeline's expected errors into a one-paragraph message and exit code 1,
    and SIGTERM into an orderly exit (exit code 143) that cancels the run in progress."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from usage_assets.cli.errors import PipelineRunError
        from usage_assets.sources.csv_archive import CsvArchiveError
        from usage_assets.sources.errors import SourceError
        from usage_assets.storage.disk import LocalDiskError
        from usage_assets.storage.store import ObjectStoreError

        previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            return command(*args, **kwargs)
        except SettingsError as error:
            # Also raised by importing the pipeline, which reads the settings Dagster needs then.
            raise click.UsageError(str(error)) from error
        except PipelineRunError as error:
            # A few plain lines; the stack traces are in the run's event log (and --verbose).
            raise click.ClickException(error.explain()) from error
        except (CsvArchiveError, SourceError, LocalDiskError, ObjectStoreError, FileNotFoundError) as error:
            raise click.ClickException(str(error)) from error
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    return wrapper


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _fill_ingest(runner, first: date, last: date, built: set[date], horizon: date) -> None:
    """Ingest every day in first..last that has not been ingested yet, and re-ingest every
    day up to ``horizon`` that the source changed since its ingest (a newer export), oldest
    first, except the days in ``built``, whose report this command builds (its run ingests
    the day again). Existing reports from the first changed day on that this command does
    not rebuild are named, with the command that rebuilds them."""
    missing = runner.missing_ingest_days(first, last) if first <= last else []
    changed = runner.stale_ingested_days(horizon)
    stale = [day for day in changed if day not in built]
    if changed:
        console.log(f"The source changed {len(changed)} ingested day(s) since their ingest "
                    f"({changed[0]} to {changed[-1]}): re-ingesting them.")
        outdated = [day for day in runner.existing_reports(changed[0]) if day not in built]
        if outdated:
            console.log(f"WARNING: {len(outdated)} existing report(s) from {outdated[0]} to {outdated[-1]} were built "
                        f"on the older data; rebuild them with `usage-report backfill --start {outdated[0]} "
                        f"--end {outdated[-1]} --force`.")
    todo = sorted({*missing, *stale})
    if not todo:
        return
    with _progress() as progress:
        task = progress.add_task(f"Ingesting {len(todo)} earlier day(s)", total=len(todo))

        def day_done(day: date) -> None:
            progress.update(task, description=f"Ingested {day}")
            progress.advance(task)

        # One run per stretch of consecutive days (usually one run for all of them): the
        # ingest assets take a range of days in one run, each day its own partition.
        for stretch_first, stretch_last in consecutive_stretches(todo):
            runner.ingest(stretch_first, stretch_last, progress=day_done)
        progress.update(task, description=f"Ingested {len(todo)} day(s)", completed=len(todo))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """Daily usage report from product telemetry, as partitioned Dagster assets.

    \b
    Quick start (built-in demo fleet, no credentials needed):
      usage-report run              report for yesterday (UTC)
      usage-report ui               open the Dagster UI (assets, runs, backfills)
    Real data: usage-report run --source csv --csv-path EXPORTS_DIR
    Production: usage-report check-source --source documentdb, then run --source documentdb
    """
    _prepare_environment()


@main.command()
@click.option("--date", "report_date", type=DATE, callback=_day, help="Report day YYYY-MM-DD (UTC) [default: last complete day of the source].")
@source_options
@prometheus_options
@verbose_option
@_fails_cleanly
def run(report_date: date | None, verbose: bool, **options):
    """Build the report for one day.

    Fills every earlier day that was never ingested (oldest first, with progress), then
    materializes all assets of the report day and prints the report's paths.
    """
    runner = _runner(verbose, **options)
    with console.status("Preparing the source…"):
        runner.prepare_source(lambda message: console.log(message))
    day = report_date or runner.default_report_day()
    runner.check_report_day(day)
    _fill_ingest(runner, runner.first_day_to_ingest(day), day_before(day), {day}, day)
    with console.status(f"Building the report for {day}…"):
        html_path = runner.report(day)
    click.echo(f"Report for {day} ({runner.telemetry.describe()}):")
    folder = str(html_path).rpartition("/")[0]  # a path, or an s3:// URL
    click.echo(f"  HTML      {html_path}")
    click.echo(f"  Markdown  {folder}/usage-report-{day}.md")
    click.echo(f"  Folder    {folder}")


@main.command()
@click.option("--start", type=DATE, callback=_day, required=True, help="First report day YYYY-MM-DD (UTC).")
@click.option("--end", type=DATE, callback=_day, required=True, help="Last report day YYYY-MM-DD (UTC), inclusive.")
@click.option("--force", is_flag=True, help="Rebuild reports that already exist.")
@source_options
@prometheus_options
@verbose_option
@_fails_cleanly
def backfill(start: date, end: date, force: bool, verbose: bool, **options):
    """Build the reports of every day from START to END, oldest first.

    Resumable: days whose report already exists are skipped (use --force to rebuild), so
    an interrupted backfill continues where it stopped when run again.
    """
    if start > end:
        raise click.UsageError(f"--start {start} is after --end {end}")
    runner = _runner(verbose, **options)
    with console.status("Preparing the source…"):
        runner.prepare_source(lambda message: console.log(message))
    runner.check_report_day(start)
    runner.check_report_day(end)
    days = [date.fromordinal(n) for n in range(start.toordinal(), end.toordinal() + 1)]
    todo = [day for day in days if force or not runner.has_report(day)]
    _fill_ingest(runner, runner.first_day_to_ingest(start), day_before(start), set(todo), end)
    if len(todo) < len(days):
        console.log(f"{len(days) - len(todo)} report(s) already exist; skipping them (--force rebuilds)")
    with _progress() as progress:
        task = progress.add_task("Building reports", total=len(todo))

        def report_done(day: date) -> None:
            progress.update(task, description=f"Built the report of {day}")
            progress.advance(task)

        # One run per stretch of consecutive days: every asset takes a range of days.
        for stretch_first, stretch_last in consecutive_stretches(todo):
            progress.update(task, description=f"Reports {stretch_first} to {stretch_last}")
            runner.reports_of(stretch_first, stretch_last, progress=report_done)
        progress.update(task, description=f"Built {len(todo)} report(s)", completed=len(todo))
    click.echo(f"Reports for {start} to {end} are in {runner.workspace.reports_dir}")


@main.command("check-source")
@click.option("--date", "day", type=DATE, callback=_day, help="Day whose events are counted, YYYY-MM-DD (UTC) [default: yesterday for documentdb, else the source's last complete day].")
@source_options
def check_source(day: date | None, **options):
    """Test the telemetry source step by step and explain what fails.

    \b
    documentdb: the settings, the SSH tunnel (bastion host key, key login),
    the database connection (TLS, credentials), both collections, and the
    number of startup and heartbeat events on one day.
    demo and csv: the days the source covers and one day's counts.
    Each failed step says what failed and what to check next. Exit code 1
    when a step fails. No secret is ever printed.
    """
    from usage_assets.definitions import build_telemetry_source  # imports dagster: keep --help fast
    from usage_assets.defs.resources.telemetry import with_secrets_resolved

    options = _demo_fleet_size(**options)
    try:
        settings = Settings.from_env(**options)
        Workspace.of(settings).open()  # the CSV source imports its archive into the workspace's lake
    except SettingsError as error:
        raise click.UsageError(str(error)) from error
    source = with_secrets_resolved(build_telemetry_source(settings))
    click.echo(f"Source: {source.describe()}")
    with console.status("Checking the source…"):
        steps = source.check(day)
    for step in steps:
        click.echo(f"  [{'ok' if step.ok else 'FAILED'}] {step.name}: {step.detail}")
    if not steps or not all(step.ok for step in steps):
        raise click.ClickException("the source check failed (see the first FAILED step above)")
    click.echo("The source works.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the web UI listens on.")
@click.option("--port", default=3000, show_default=True, help="Port of the web UI.")
@_fails_cleanly
def ui(host: str, port: int):
    """Start the Dagster web UI and daemon on this project (schedule, backfills, lineage).

    Uses the same settings as the CLI (environment and .env), so the same source and its
    workspace: its lake, reports and Dagster instance. For local use: it runs the two
    commands a production deployment runs as services (README, "Deploying"),
    `dagster-webserver` and `usage-report daemon` (Dagster's daemon, looking at asset
    backfills every USAGE_AUTOMATION_BACKFILL_INTERVAL_S seconds), on workspace.yaml;
    each starts its code server. Stop with Ctrl-C or SIGTERM: both stop every process it
    started.
    """
    _, workspace = _open_workspace()
    bin_dir = Path(sys.executable).parent
    location = ["-w", str(PROJECT_ROOT / "workspace.yaml")]
    # Not `dg dev`: it starts Dagster's daemon module itself, which would keep the backfill
    # daemon's fixed 30 s (usage_assets/cli/daemon.py).
    commands = {
        "the webserver": [str(bin_dir / "dagster-webserver"), *location, "-h", host, "-p", str(port)],
        "the daemon": [str(bin_dir / "usage-report"), "daemon", *location],
    }
    console.log(f"Dagster UI on http://{host}:{port} for {workspace.source.describe()} "
                f"(DAGSTER_HOME={os.environ['DAGSTER_HOME']})")
    raise SystemExit(run_until_signalled(commands, cwd=PROJECT_ROOT))


@main.command("instance-config")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write it to this file (folders created, replaced as a whole) instead of printing it.")
@_fails_cleanly
def instance_config_command(output: Path | None):
    """Print the Dagster instance's dagster.yaml for these settings.

    The project's dagster_home/dagster.yaml, with PostgreSQL run, event-log and schedule
    storage when USAGE_POSTGRES_HOST is set (the password stays in USAGE_POSTGRES_PASSWORD,
    read by Dagster when it starts). The systemd units write it to $DAGSTER_HOME/dagster.yaml
    before starting; the source's default Dagster home gets it by itself.
    """
    from usage_assets.instance_config import instance_config
    from usage_assets.storage.store import atomic_write_bytes

    try:
        settings = Settings.from_env(need_source=False)
    except SettingsError as error:
        raise click.UsageError(str(error)) from error
    text = instance_config(settings.postgres)
    if output is None:
        click.echo(text, nl=False)
    else:
        atomic_write_bytes(output.expanduser().resolve(), text.encode())


def run_until_signalled(commands: dict[str, list[str]], cwd: Path, grace_s: float = 20.0) -> int:
    """Run every command of ``commands`` (name -> argv), each in its own process group,
    until one of them exits or this process receives SIGINT or SIGTERM; then stop every
    group (SIGTERM, then SIGKILL after ``grace_s`` seconds), so no webserver, daemon, code
    server or run worker they started outlives the command. Returns the exit code of the
    first command that exited (128 + signal number when it, or this process, was stopped
    by a signal)."""
    children = {name: subprocess.Popen(command, cwd=cwd, start_new_session=True) for name, command in commands.items()}
    received: list[int] = []

    def stop_all() -> None:
        for child in children.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)

    def forward(signum, _frame):
        received.append(signum)
        stop_all()

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not (exited := [name for name, child in children.items() if child.poll() is not None]):
            time.sleep(0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stop_all()
        deadline = time.monotonic() + grace_s
        for child in children.values():
            # Reaped first: until then the stopped child is a zombie, still in its group.
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(max(0.0, deadline - time.monotonic()))
            _wait_for_group(child.pid, deadline - time.monotonic())
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
    if received:
        return 128 + received[0]
    code = children[exited[0]].returncode
    code = code if code >= 0 else 128 - code
    console.log(f"{exited[0]} exited with code {code}: stopped the other processes")
    return code


def _wait_for_group(pgid: int, timeout_s: float) -> None:
    """Wait until no process of group ``pgid`` is left (or ``timeout_s`` passes)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)


# The report's headline numbers in the terminal (usage_assets/cli/summary.py: reads the lake, no Dagster).
main.add_command(summary)
# Dagster's daemon with asset backfills looked at every few seconds (usage_assets/cli/daemon.py).
main.add_command(daemon)


def day_before(day: date) -> date:
    """The UTC day before ``day``."""
    return date.fromordinal(day.toordinal() - 1)
