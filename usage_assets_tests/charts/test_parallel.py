"""Charts drawn on two cores: the helper process draws the very bytes drawn here, and a
chart it cannot draw is drawn here (a real helper process, started as in production)."""

import gc
import json
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from usage_assets.charts import parallel
from usage_assets.charts.catalog import CHARTS, ChartDrawer, draw_charts
from usage_assets.charts.parallel import SharedDrawing, _read_result
from usage_assets.defs.resources import charts as chart_resources
from usage_assets.storage.datasets import CHARTS as CHARTS_DATASET
from usage_assets.storage.datasets import DAILY_REPORTERS, ENGAGEMENT, LIFETIME_BUCKETS, LTV_SPEND_BY_DAY
from usage_assets.storage.lake import Lake, MissingPartitionsError
from usage_assets_tests.charts import PNG
from usage_assets_tests.charts.test_growth import DAY, engagement, reporters, retention, spend
from usage_assets_tests.test_pipeline import START, build_reports, demo_runner  # noqa: F401

SPECS = {spec.stem: spec for spec in CHARTS}
#: Charts whose single input the ``lake`` fixture holds.
DRAWABLE = {
    "active-instances": (ENGAGEMENT, engagement(10)),
    "daily-reporters": (DAILY_REPORTERS, reporters(10)),
    "ltv-spend": (LTV_SPEND_BY_DAY, spend()),
    "lifetime-buckets": (LIFETIME_BUCKETS, retention(10)),
}


@pytest.fixture
def lake(tmp_path) -> Lake:
    lake = Lake(tmp_path / "data")
    for dataset, frame in DRAWABLE.values():
        lake.write_frame(dataset, DAY, frame)
    return lake


@pytest.fixture
def started(monkeypatch) -> list[subprocess.Popen]:
    """The helper processes SharedDrawing starts, as it starts them."""
    processes: list[subprocess.Popen] = []
    popen = subprocess.Popen

    def spy(command, *args, **kwargs):
        process = popen(command, *args, **kwargs)
        if parallel.__name__ in command:
            processes.append(process)
        return process

    monkeypatch.setattr(parallel.subprocess, "Popen", spy)
    return processes


def drawn_here(lake: Lake, stem: str) -> bytes:
    return SPECS[stem].draw(lake, DAY)


def test_the_helper_draws_the_bytes_drawn_here_and_says_which_it_cannot(lake, tmp_path):
    command = [sys.executable, "-m", "usage_assets.charts.parallel"]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as helper:

        def ask(stem: str, day: str = DAY.isoformat(), root: Path = lake.root) -> bytes | None:
            return send(json.dumps({"lake": str(root), "day": day, "stem": stem}))

        def send(line: str) -> bytes | None:
            helper.stdin.write(line.encode() + b"\n")
            helper.stdin.flush()
            return _read_result(helper.stdout)

        assert helper.stdout.readline() == b"ready\n"
        for stem in DRAWABLE:
            png = ask(stem)
            assert png.startswith(PNG) and png == drawn_here(lake, stem), stem
        # An input missing from the lake, a stem that is no chart, a day that is none,
        # another lake without the input, a request that is no JSON: "failed", and it goes on.
        assert ask("adoption-funnel") is None
        assert ask("no-such-chart") is None
        assert ask("daily-reporters", day="2026-13-45") is None
        assert ask("daily-reporters", root=tmp_path / "other") is None
        assert send("daily-reporters") is None
        assert ask("daily-reporters") == drawn_here(lake, "daily-reporters")
        helper.stdin.close()
        assert helper.wait(timeout=60) == 0


def test_the_helper_takes_charts_from_the_back_and_each_chart_is_drawn_once(lake, monkeypatch):
    stems = list(DRAWABLE)
    delivered: list[bytes] = []
    all_delivered = threading.Event()

    def spy(stream):
        png = _read_result(stream)
        delivered.append(png)
        if len(delivered) == len(stems) - 1:
            all_delivered.set()
        return png

    monkeypatch.setattr(parallel, "_read_result", spy)
    here: list[str] = []

    def draw(stem: str) -> bytes:
        here.append(stem)
        # This process holds on to its first chart until the helper has drawn all the others.
        assert all_delivered.wait(timeout=120), "the helper drew nothing"
        return drawn_here(lake, stem)

    with SharedDrawing() as shared:
        pngs = shared.draw(stems, draw, lake.root, DAY)
    assert shared.helped == len(stems) - 1
    assert list(pngs) == stems
    assert pngs == {stem: drawn_here(lake, stem) for stem in stems}
    assert here == stems[:1]
    assert delivered == [drawn_here(lake, stem) for stem in reversed(stems[1:])]


def test_one_helper_draws_for_every_day_asked(lake, started):
    earlier = DAY - timedelta(days=1)
    for dataset, frame in DRAWABLE.values():
        lake.write_frame(dataset, earlier, frame.with_columns(frame["date"] - timedelta(days=1)))
    stems = list(DRAWABLE)
    drawn = {}
    with SharedDrawing() as shared:
        for day in (earlier, DAY, earlier):
            drawn[day] = shared.draw(stems, lambda stem, day=day: SPECS[stem].draw(lake, day), lake.root, day)
            assert drawn[day] == {stem: SPECS[stem].draw(lake, day) for stem in stems}
    assert drawn[earlier] != drawn[DAY]  # each day's own charts
    assert len(started) == 1 and started[0].poll() is not None


def test_what_the_helper_cannot_draw_is_drawn_here(tmp_path):
    # An empty lake: every chart fails in the helper, so each one comes from here.
    stems = list(SPECS)
    with SharedDrawing() as shared:
        pngs = shared.draw(stems, lambda stem: b"here " + stem.encode(), tmp_path / "empty", DAY)
    assert pngs == {stem: b"here " + stem.encode() for stem in stems}


def test_a_helper_killed_midway_leaves_every_chart_drawn_here(lake, started):

    def kill_then_draw(stem: str) -> bytes:
        started[0].kill()
        return drawn_here(lake, stem)

    stems = list(DRAWABLE)
    with SharedDrawing() as shared:
        assert shared.draw(stems, kill_then_draw, lake.root, DAY) == {stem: drawn_here(lake, stem) for stem in stems}
        # The next day is drawn here too, without waiting for the dead helper.
        assert shared.draw(stems, kill_then_draw, lake.root, DAY) == {stem: drawn_here(lake, stem) for stem in stems}


@pytest.mark.parametrize(
    "answer",
    [
        "time.sleep(600)",
        "sys.stdout.write('12\\nshort'); sys.stdout.flush(); time.sleep(600)",
        "sys.stdout.write('garbage\\n'); sys.stdout.flush(); time.sleep(600)",
    ],
    ids=["never", "cut-short", "garbage"],
)
def test_a_chart_the_helper_took_and_never_delivered_is_drawn_here(lake, monkeypatch, tmp_path, answer):
    monkeypatch.setattr(parallel, "HELPER_GRACE_S", 0.5)
    taken = tmp_path / "taken"
    # A stand-in helper: ready, takes one chart (and says so in a file), then answers so.
    script = f"import sys, time; print('ready', flush=True); sys.stdin.readline(); open({str(taken)!r}, 'w'); {answer}"
    stems = list(DRAWABLE)
    here: list[str] = []

    def draw(stem: str) -> bytes:
        deadline = time.monotonic() + 120
        while not taken.exists():
            assert time.monotonic() < deadline, "the helper took no chart"
            time.sleep(0.01)
        here.append(stem)
        return drawn_here(lake, stem)

    shared = SharedDrawing()
    shared._command = [sys.executable, "-c", script]
    with shared:
        pngs = shared.draw(stems, draw, lake.root, DAY)
    assert pngs == {stem: drawn_here(lake, stem) for stem in stems}
    assert shared.helped == 0
    assert here == stems  # the helper's one last, after the grace period, and each once


def test_without_a_helper_everything_is_drawn_here(lake, monkeypatch, tmp_path):
    monkeypatch.setattr(parallel.sys, "executable", str(tmp_path / "no-such-python"))
    with SharedDrawing() as shared:
        pngs = shared.draw(list(DRAWABLE), lambda stem: stem.encode(), lake.root, DAY)
    assert pngs == {stem: stem.encode() for stem in DRAWABLE}


def test_an_error_drawing_here_propagates_and_ends_the_helper(lake, started):

    def broken(stem: str) -> bytes:
        raise RuntimeError(f"cannot draw {stem}")

    with pytest.raises(RuntimeError, match="cannot draw active-instances"), SharedDrawing() as shared:
        shared.draw(list(DRAWABLE), broken, lake.root, DAY)
    assert len(started) == 1 and started[0].poll() is not None


def test_drawing_leaves_the_garbage_collector_as_it_found_it():
    assert gc.get_freeze_count() == 0
    with pytest.raises(ValueError), parallel.young_garbage_only():
        assert gc.get_freeze_count() > 0
        raise ValueError
    assert gc.get_freeze_count() == 0


def test_a_heap_frozen_by_someone_else_stays_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with parallel.young_garbage_only():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("helper", [False, True])
def test_a_missing_input_fails_the_drawing_with_or_without_the_helper(lake, helper):
    # draw_charts draws all 15; this lake lacks most inputs, so the first chart fails here.
    with pytest.raises(MissingPartitionsError, match="install_timeseries"):
        draw_charts(lake, DAY, helper=helper)


def test_the_charts_asset_with_the_helper_writes_the_pngs_drawn_alone(demo_runner, monkeypatch, started):  # noqa: F811
    day = START + timedelta(days=9)
    monkeypatch.setattr(chart_resources, "helper_useful", lambda: True)
    build_reports(demo_runner, day, day)  # the report job, charts asset included, in this process
    # One helper, started with the run (the chart helper resource), and ended with it.
    assert len(started) == 1 and started[0].poll() is not None
    lake = demo_runner.lake
    written = {spec: lake.path(CHARTS_DATASET, day, spec.filename).read_bytes() for spec in CHARTS}
    assert written == draw_charts(lake, day, helper=False)


def test_a_drawer_given_a_running_helper_draws_with_it_and_leaves_it_running(lake, started):
    with SharedDrawing() as shared:
        with ChartDrawer(lake, shared=shared) as drawer, pytest.raises(MissingPartitionsError):
            drawer.draw(DAY)  # this lake lacks most inputs
        assert len(started) == 1 and started[0].poll() is None  # no second helper; this one still up
        pngs = shared.draw(list(DRAWABLE), lambda stem: drawn_here(lake, stem), lake.root, DAY)
        assert pngs == {stem: drawn_here(lake, stem) for stem in DRAWABLE}
    assert started[0].poll() is not None


@pytest.mark.parametrize(
    ("others", "cores", "useful"),
    [
        (0.1, 2, True),  # the rest of the machine leaves a core idle
        (1.4, 2, False),  # others keep more than a core busy
        (1.4, 4, True),
        (0.0, 1, False),  # no second core
    ],
)
def test_the_helper_starts_when_the_rest_of_the_machine_leaves_a_core_idle(monkeypatch, others, cores, useful):
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _pid: set(range(cores)))
    monkeypatch.setattr(parallel, "others_busy_cores", lambda: others)
    assert parallel.helper_useful() is useful


def test_without_proc_stat_the_load_average_less_this_process_share_decides(monkeypatch):
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _pid: {0, 1})
    monkeypatch.setattr(parallel, "others_busy_cores", lambda: None)
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (2.5, 2.5, 2.5))
    monkeypatch.setattr(parallel, "own_load", lambda: 2.0)  # this very run keeps both cores busy
    assert parallel.helper_useful() is True
    monkeypatch.setattr(parallel, "own_load", lambda: 0.2)  # others do
    assert parallel.helper_useful() is False


def test_others_busy_cores_is_the_machines_busy_time_less_this_process_per_second(monkeypatch):
    # The machine was busy 0.35 s during the window, 0.3 s of it this process.
    samples = iter([(100.0, 5.0), (100.35, 5.3)])
    monkeypatch.setattr(parallel, "_cpu_seconds", lambda: next(samples))
    others = parallel.others_busy_cores(0.1)
    assert 0.2 < others <= 0.5  # 0.05 s over a window of at least 0.1 s
    burnt = iter([(100.0, 5.0), (100.1, 5.2)])  # own time counted late: never below zero
    monkeypatch.setattr(parallel, "_cpu_seconds", lambda: next(burnt))
    assert parallel.others_busy_cores(0.1) == 0.0


def test_cpu_seconds_read_this_machine():
    machine, own = parallel._cpu_seconds()
    burnt = time.process_time()
    while time.process_time() - burnt < 0.2:
        pass
    later_machine, later_own = parallel._cpu_seconds()
    assert later_own - own >= 0.15 and later_machine - machine >= 0.1


def test_own_load_is_this_process_share_of_the_cores():
    burnt = time.process_time()
    while time.process_time() - burnt < 0.2:
        pass
    assert 0 < parallel.own_load() <= len(parallel.os.sched_getaffinity(0)) + 0.1


def test_a_helper_ends_when_the_process_it_serves_is_killed():
    script = (
        "import time; from usage_assets.charts.parallel import SharedDrawing; shared = SharedDrawing(); shared.start(); "
        "print(shared._process.pid, flush=True); time.sleep(600)"
    )
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE) as parent:
        helper = int(parent.stdout.readline())
        parent.kill()
    deadline = time.monotonic() + 120
    while running(helper):  # its pipes close with the parent: it exits at its next read or reply
        assert time.monotonic() < deadline, "the helper outlived the process it served"
        time.sleep(0.05)


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (a container's init may never reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False
