"""Which process is this, and is a given process still running?

A run started by ``usage-report`` records its process (:func:`this_process`) so that a
later command can tell whether the run's process is gone (:func:`process_state`): killed
by SIGKILL or the OOM killer, lost in a reboot. A process id alone is not proof, as ids
are reused; on Linux the process's start time (and the boot it belongs to) is recorded
too, so a new process that got the same id does not pass for the old one.
"""

from __future__ import annotations

import enum
import os
import socket
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessId:
    """A process on a host.

    ``host``: ``socket.gethostname()`` of the machine it runs on; ``pid``: its process
    id there; ``started``: ``"<boot id>/<start time in clock ticks since boot>"`` where
    the system tells (Linux), else None (then only ``pid`` is compared).
    """

    host: str
    pid: int
    started: str | None = None


class ProcessState(enum.Enum):
    """What :func:`process_state` can tell about a process."""

    ALIVE = "alive"
    GONE = "gone"
    #: It runs on another host: this machine cannot check it.
    UNKNOWN = "unknown"


def _boot_id() -> str | None:
    try:
        return (_PROC / "sys" / "kernel" / "random" / "boot_id").read_text().strip()
    except OSError:
        return None


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3.. of ``/proc/<pid>/stat`` (state first), or None when unreadable."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # Field 2 is the command name in parentheses and may itself hold spaces or ")".
    return text[text.rindex(")") + 2 :].split()


def _started(pid: int) -> str | None:
    boot, fields = _boot_id(), _stat_fields(pid)
    if boot is None or fields is None or len(fields) < 20:
        return None
    return f"{boot}/{fields[19]}"  # field 22: start time, clock ticks after boot


def this_process() -> ProcessId:
    """The :class:`ProcessId` of the calling process."""
    pid = os.getpid()
    return ProcessId(host=socket.gethostname(), pid=pid, started=_started(pid))


def process_state(process: ProcessId) -> ProcessState:
    """Whether ``process`` still runs.

    ``UNKNOWN`` for a process on another host; ``GONE`` when no process has its id, when
    that process is a zombie (it exited, its parent has not collected it), or when the
    process with that id started at another time (the id was reused); else ``ALIVE``
    (including a live process of another user, which may not be signalled).
    """
    if process.host != socket.gethostname():
        return ProcessState.UNKNOWN
    try:
        os.kill(process.pid, 0)
    except ProcessLookupError:
        return ProcessState.GONE
    except PermissionError:
        pass
    fields = _stat_fields(process.pid)
    if fields is not None and fields[0] in ("Z", "X"):
        return ProcessState.GONE
    if process.started is not None:
        now = _started(process.pid)
        if now is not None and now != process.started:
            return ProcessState.GONE
    return ProcessState.ALIVE
