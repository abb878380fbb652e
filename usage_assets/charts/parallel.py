"""Drawing the charts on two cores: this process takes charts from the front of the list, a
helper process from the back, until they meet.

Matplotlib is not thread-safe and polars' thread pool does not survive ``fork``, so the
helper is a fresh interpreter (``python -m usage_assets.charts.parallel``) that imports only
the chart modules (about a second of start-up, spent while this process is already
drawing) instead of the ``multiprocessing`` children, which would re-import the running
program (the CLI or a Dagster run worker, with Dagster). The helper takes a chart only
once it is ready, so a slow start never holds this process up; a chart it cannot draw
(it failed, died, or is still at it :data:`HELPER_GRACE_S` after this process ran out of
charts) is drawn here, where a real error is raised with its traceback. Every chart is a
pure function of the lake, so a PNG is the same byte for byte whichever process draws it.

Protocol, on the helper's stdin/stdout: the helper writes ``ready``; then, per chart
stem it reads (one per line), either ``<n>`` and the ``n`` PNG bytes or ``failed``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import IO

import usage_assets

#: Seconds to wait, once this process has drawn its share, for the helper's last chart
#: before drawing it here (a chart takes well under a second).
HELPER_GRACE_S = 30.0


def helper_useful() -> bool:
    """Whether a helper process would find a core to itself: more than one core is ours and
    the machine's load (1-minute average, this process included) leaves one idle. On a
    busy machine the helper's start-up (about a second of CPU) would only slow the rest."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores > 1 and os.getloadavg()[0] < cores


def draw_shared(
    stems: Sequence[str], draw_here: Callable[[str], bytes], lake_root: Path, day: date
) -> dict[str, bytes]:
    """PNG bytes per stem of ``stems``: drawn with ``draw_here(stem)`` in this process from
    the front of ``stems``, and by a helper process (which draws
    ``usage_assets.charts.catalog.CHARTS`` from the lake at ``lake_root`` for ``day``) from the
    back. Exceptions of ``draw_here`` propagate; the helper's failures are drawn here.
    """
    queue = deque(stems)
    lock = threading.Lock()
    results: dict[str, bytes] = {}
    helper = _Helper(queue, lock, results, lake_root, day)
    helper.start()
    try:
        while True:
            with lock:
                stem = queue.popleft() if queue else None
            if stem is None:
                break
            results[stem] = draw_here(stem)
        helper.finish(HELPER_GRACE_S)
    finally:
        helper.stop()
    # Whatever the helper took but did not deliver is drawn here.
    for stem in stems:
        if stem not in results:
            results[stem] = draw_here(stem)
    return {stem: results[stem] for stem in stems}


class _Helper:
    """The helper process and the thread that feeds it charts from the back of ``queue``."""

    def __init__(self, queue: deque[str], lock: threading.Lock, results: dict[str, bytes], lake_root: Path, day: date):
        self._queue, self._lock, self._results = queue, lock, results
        self._command = [sys.executable, "-m", __name__, str(lake_root), day.isoformat()]
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._feed, name="chart-helper", daemon=True)
        #: The stem the helper is drawing, if any (guarded by ``lock``).
        self._in_hands: str | None = None

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

    def finish(self, timeout: float) -> None:
        """Wait up to ``timeout`` s for the chart in the helper's hands, if any: a helper
        still starting up, or idle, is not waited for."""
        with self._lock:
            busy = self._in_hands is not None
        if busy:
            self._thread.join(timeout)

    def stop(self) -> None:
        """End the helper process and its thread."""
        if self._process is None:
            return
        self._process.kill()
        self._process.wait()
        self._thread.join()
        for pipe in (self._process.stdin, self._process.stdout):
            pipe.close()

    def _feed(self) -> None:
        process = self._process
        try:
            if process.stdout.readline() != b"ready\n":
                return
            while True:
                with self._lock:
                    self._in_hands = stem = self._queue.pop() if self._queue else None
                if stem is None:
                    return
                process.stdin.write(stem.encode() + b"\n")
                process.stdin.flush()
                png = _read_result(process.stdout)
                if png is None:
                    return  # failed: drawn again here, which raises the real error
                self._results[stem] = png
        except OSError:
            return  # the helper died: the rest is drawn here
        finally:
            with self._lock:
                self._in_hands = None


def _read_result(stream: IO[bytes]) -> bytes | None:
    header = stream.readline().strip()
    if not header.isdigit():
        return None
    size = int(header)
    png = stream.read(size)
    return png if len(png) == size else None


def _serve(lake_root: str, day: str) -> None:
    """The helper: draw each chart stem read from stdin, reply on the original stdout."""
    reply = os.fdopen(os.dup(1), "wb")
    # Anything a library prints goes to stderr, not into the replies.
    os.dup2(2, 1)
    from usage_assets.charts.catalog import CHARTS
    from usage_assets.storage.lake import Lake

    lake, report_day = Lake(lake_root), date.fromisoformat(day)
    specs = {spec.stem: spec for spec in CHARTS}
    reply.write(b"ready\n")
    reply.flush()
    for line in sys.stdin.buffer:
        try:
            png = specs[line.decode().strip()].draw(lake, report_day)
        except Exception:  # noqa: BLE001 - the parent draws it again and reports the error
            reply.write(b"failed\n")
        else:
            reply.write(b"%d\n" % len(png) + png)
        reply.flush()


if __name__ == "__main__":
    _serve(*sys.argv[1:3])
