"""``usage-report ui``: the real webserver and daemon (``usage-report daemon``) and their code
servers start, and a signal to the ``usage-report`` process alone stops every one of them;
when one of the two exits, the other is stopped."""

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from usage_assets.cli.main import run_until_signalled
from usage_assets.settings import PROJECT_ROOT
from usage_assets_tests.loopback_sshd import free_port


def descendants(pid: int) -> set[int]:
    """Every living (not zombie) process below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def command_line(pid: int) -> list[bytes]:
    """The arguments ``pid`` was started with (none once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_usage_report_ui_stops_the_webserver_daemon_and_code_server(tmp_path, stop_signal):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home/dagster.yaml", home)
    port = free_port()
    ui = subprocess.Popen(
        [str(Path(sys.executable).with_name("usage-report")), "ui", "--port", str(port)],
        env={**os.environ, "DAGSTER_HOME": str(home), "USAGE_DATA_DIR": str(tmp_path / "data")},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail("the web UI did not answer within 180 s")
        started = descendants(ui.pid)
        assert len(started) >= 4  # webserver, daemon, the code server each starts
        assert [b"daemon", b"-w"] in [command_line(pid)[2:4] for pid in started]  # usage-report daemon
        ui.send_signal(stop_signal)
        output, _ = ui.communicate(timeout=60)
        assert ui.returncode == 128 + stop_signal
        deadline = time.monotonic() + 30
        while any(alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not [pid for pid in started if alive(pid)]
        assert "superseded" not in output.lower()
        assert "asset backfills looked at every 5 s (USAGE_AUTOMATION_BACKFILL_INTERVAL_S)" in output
    finally:
        for pid in descendants(ui.pid) | {ui.pid}:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_when_one_process_exits_the_others_are_stopped_and_its_code_returned(tmp_path):
    started = time.monotonic()
    code = run_until_signalled(
        {"the sleeper": ["sleep", "60"], "the failing one": ["sh", "-c", "sleep 1; exit 3"]},
        cwd=tmp_path,
    )
    assert code == 3
    assert time.monotonic() - started < 15  # the sleeper was stopped at once, not after the grace time
    assert not [pid for pid in descendants(os.getpid()) if b"sleep" in command_line(pid)]
