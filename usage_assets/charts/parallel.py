"""Drawing the charts on two cores: this process takes each day's charts from the front of the
list, a helper process from the back, until they meet.

Matplotlib is not thread-safe and polars' thread pool does not survive ``fork``, so the
helper is a fresh interpreter (``python -m usage_assets.charts.parallel``) that imports only
the chart modules (about a second of start-up, spent while this process is already
drawing) instead of the ``multiprocessing`` children, which would re-import the running
program (the CLI or a Dagster run worker, with Dagster). One helper serves every lake
and day a :class:`SharedDrawing` is asked for, so it can be started before the lake is
known (when a run that draws charts starts, ready by its charts step), and a run over a
range of days pays its start-up once and draws with warm font caches from the second day
on. The helper takes a chart only
once it is ready, so a slow start never holds this process up; a chart it cannot draw
(it failed, died, or is still at it :data:`HELPER_GRACE_S` after this process ran out of
charts) is drawn here, where a real error is raised with its traceback. Every chart is a
pure function of the lake, so a PNG is the same byte for byte whichever process draws it.

Protocol, on the helper's stdin/stdout: the helper writes ``ready``; then, per request line
it reads (JSON: ``{"lake": <lake root>, "day": <YYYY-MM-DD>, "stem": <chart stem>}``),
either ``<n>`` and the ``n`` PNG bytes or ``failed``.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Self

import usage_assets

#: Seconds to wait, once this process has drawn its share, for the helper's last chart
#: before drawing it here (a chart takes well under a second).
HELPER_GRACE_S = 30.0


#: Seconds the machine is watched to tell whether a core is idle (a run's start waits this long).
IDLE_SAMPLE_S = 0.1


def helper_useful() -> bool:
    """Whether a helper process would find a core to itself: more than one core is ours and
    the rest of the machine keeps less than one busy right now (:func:`others_busy_cores`).
    On a machine busy with other work the helper's start-up (about a second of CPU) would
    only slow the rest; the 1-minute load average would also count the work of a command
    that has just ended (the run before this one), so the machine is watched instead."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if cores < 2:
        return False
    others = others_busy_cores()
    if others is None:  # no /proc/stat: the load average less this process's share
        others = os.getloadavg()[0] - own_load()
    return others < cores - 1


def others_busy_cores(window_s: float = IDLE_SAMPLE_S) -> float | None:
    """The cores the rest of the machine keeps busy, watched for ``window_s``: the machine's
    busy CPU time (``/proc/stat``) less this process's own, per second; None where the
    machine does not say (no ``/proc/stat``)."""
    try:
        before, started = _cpu_seconds(), time.monotonic()
        time.sleep(window_s)
        after, elapsed = _cpu_seconds(), time.monotonic() - started
    except (OSError, ValueError, IndexError):
        return None
    machine, own = after[0] - before[0], after[1] - before[1]
    return max(0.0, machine - own) / elapsed


def _cpu_seconds() -> tuple[float, float]:
    """(CPU seconds all cores were busy since boot, CPU seconds this process has used)."""
    with open("/proc/stat") as stat:
        # cpu  user nice system idle iowait irq softirq steal ... (clock ticks; guest time is
        # already inside user).
        ticks = [int(value) for value in stat.readline().split()[1:9]]
    idle = ticks[3] + ticks[4]
    mine = os.times()
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK"), mine.user + mine.system


def own_load() -> float:
    """The cores this process (all its threads) kept busy on average since it started: its
    CPU time over its age, read from ``/proc`` (0 where there is none). It stands in for
    the process's share of the load average, which weighs the last minute most."""
    try:
        with open("/proc/self/stat", "rb") as stat, open("/proc/uptime") as uptime:
            # Fields after the command name, which may hold spaces: state is field 3, starttime 22.
            started = int(stat.read().rsplit(b")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
            age = float(uptime.read().split()[0]) - started
    except (OSError, ValueError, IndexError):
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) / age if age > 0 else 0.0


@contextmanager
def young_garbage_only() -> Iterator[None]:
    """While the block runs, the cyclic garbage collector looks only at objects made inside
    it. A figure is a web of cycles, so drawing triggers collections, and each full one
    would walk every object of the process (hundreds of thousands in a Dagster run
    worker): a tenth of the drawing's CPU. Older objects are frozen, not leaked: they are
    collected as usual after the block. A heap someone else froze is left as it is
    (unfreezing would undo theirs too)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass
class _Day:
    """One day's drawing: the stems nobody has taken yet, the PNGs drawn so far, and the
    stem in the helper's hands (all guarded by the shared condition)."""

    lake_root: Path
    day: date
    queue: deque[str]
    results: dict[str, bytes] = field(default_factory=dict)
    in_hands: str | None = None
    #: How many of the PNGs the helper drew.
    helped: int = 0
    #: Set once this process stops waiting for the helper; a late PNG is then dropped.
    closed: bool = False


class SharedDrawing:
    """This process and a helper process drawing charts together.

    Use it as a context manager, or :meth:`start` and :meth:`close`: starting launches the
    helper, closing ends it. Without a helper (it could not start, or died) :meth:`draw`
    draws everything here.
    """

    def __init__(self) -> None:
        self._command = [sys.executable, "-m", __name__]
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._feed, name="chart-helper", daemon=True)
        self._cond = threading.Condition()
        #: The day being drawn, if any, and whether the helper is to stop (both guarded by _cond).
        self._current: _Day | None = None
        self._closing = False
        #: How many charts of the last :meth:`draw` the helper drew.
        self.helped = 0

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        # The helper imports this very package, wherever this process found it.
        package_root = str(Path(usage_assets.__file__).resolve().parents[1])
        path = os.pathsep.join(filter(None, (package_root, os.environ.get("PYTHONPATH"))))
        try:
            self._process = subprocess.Popen(
                self._command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": path},
            )
        except OSError:
            return  # no helper: everything is drawn here
        self._thread.start()

    def draw(
        self, stems: Sequence[str], draw_here: Callable[[str], bytes], lake_root: Path, day: date
    ) -> dict[str, bytes]:
        """PNG bytes per stem of ``stems``, in that order: drawn with ``draw_here(stem)`` in
        this process from the front, and by the helper (which draws
        ``usage_assets.charts.catalog.CHARTS`` of ``day`` from the lake at ``lake_root``)
        from the back. Exceptions of ``draw_here`` propagate; what the helper does not
        deliver is drawn here."""
        job = _Day(lake_root, day, deque(stems))
        with self._cond:
            self._current = job
            self._cond.notify_all()
        try:
            while True:
                with self._cond:
                    stem = job.queue.popleft() if job.queue else None
                if stem is None:
                    break
                job.results[stem] = draw_here(stem)
            with self._cond:
                # A helper still starting up, or idle, is not waited for.
                self._cond.wait_for(lambda: job.in_hands is None, timeout=HELPER_GRACE_S)
        finally:
            with self._cond:
                job.closed = True
                self._current = None
                self.helped = job.helped
        for stem in stems:
            if stem not in job.results:
                job.results[stem] = draw_here(stem)
        return {stem: job.results[stem] for stem in stems}

    def close(self) -> None:
        """End the helper process and its thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._process is None:
            return
        self._process.kill()
        self._process.wait()
        self._thread.join()
        for pipe in (self._process.stdin, self._process.stdout):
            pipe.close()

    def _feed(self) -> None:
        """The helper's side of the queue: from the back of the current day's, until the
        helper fails to answer or :meth:`close`."""
        process = self._process
        job: _Day | None = None
        try:
            if process.stdout.readline() != b"ready\n":
                return
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._closing or (self._current is not None and self._current.queue))
                    if self._closing:
                        return
                    job = self._current
                    job.in_hands = stem = job.queue.pop()
                request = {"lake": str(job.lake_root), "day": job.day.isoformat(), "stem": stem}
                process.stdin.write(json.dumps(request).encode() + b"\n")
                process.stdin.flush()
                png = _read_result(process.stdout)
                with self._cond:
                    if png is not None and not job.closed:
                        job.results[stem] = png
                        job.helped += 1
                    job.in_hands = None
                    self._cond.notify_all()
        except (OSError, EOFError):
            return  # the helper died: the rest is drawn here
        finally:
            with self._cond:
                if job is not None:
                    job.in_hands = None
                self._cond.notify_all()


def _read_result(stream: IO[bytes]) -> bytes | None:
    """The PNG of one reply, or None for ``failed``; EOFError when the helper is gone or its
    reply is cut short."""
    header = stream.readline()
    if header == b"failed\n":
        return None
    if not header.strip().isdigit():
        raise EOFError(f"no reply from the chart helper (got {header[:40]!r})")
    size = int(header)
    png = stream.read(size)
    if len(png) != size:
        raise EOFError("the chart helper's reply was cut short")
    return png


def _serve() -> None:
    """The helper: draw each chart asked for on stdin, reply on the original stdout."""
    reply = os.fdopen(os.dup(1), "wb")
    # Anything a library prints goes to stderr, not into the replies.
    os.dup2(2, 1)
    from usage_assets.charts.catalog import CHARTS
    from usage_assets.storage.lake import Lake

    lakes: dict[str, Lake] = {}
    specs = {spec.stem: spec for spec in CHARTS}
    # The modules just imported are never garbage: collections look at the drawing alone.
    gc.freeze()
    reply.write(b"ready\n")
    reply.flush()
    for line in sys.stdin.buffer:
        try:
            request = json.loads(line)
            lake = lakes.get(request["lake"]) or lakes.setdefault(request["lake"], Lake(request["lake"]))
            png = specs[request["stem"]].draw(lake, date.fromisoformat(request["day"]))
        except Exception:  # noqa: BLE001 - the parent draws it again and reports the error
            reply.write(b"failed\n")
        else:
            reply.write(b"%d\n" % len(png) + png)
        reply.flush()


if __name__ == "__main__":
    _serve()
