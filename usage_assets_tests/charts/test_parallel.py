"""Charts drawn on two cores: the helper process draws the very bytes drawn here, and a
chart it cannot draw is drawn here (a real helper process, started as in production)."""

import subprocess
import sys
from datetime import timedelta

import pytest

from usage_assets.charts import catalog, parallel
from usage_assets.charts.catalog import CHARTS, draw_charts
from usage_assets.charts.parallel import _read_result, draw_shared
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
    """The helper processes draw_shared starts, as it starts them."""
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


def test_the_helper_draws_the_bytes_drawn_here_and_says_which_it_cannot(lake):
    command = [sys.executable, "-m", "usage_assets.charts.parallel", str(lake.root), DAY.isoformat()]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as helper:

        def ask(stem: str) -> bytes | None:
            helper.stdin.write(stem.encode() + b"\n")
            helper.stdin.flush()
            return _read_result(helper.stdout)

        assert helper.stdout.readline() == b"ready\n"
        for stem in DRAWABLE:
            png = ask(stem)
            assert png.startswith(PNG) and png == drawn_here(lake, stem), stem
        # An input missing from the lake, a stem that is no chart: "failed", and it goes on.
        assert ask("adoption-funnel") is None
        assert ask("no-such-chart") is None
        assert ask("daily-reporters") == drawn_here(lake, "daily-reporters")
        helper.stdin.close()
        assert helper.wait(timeout=60) == 0


def test_shared_drawing_gives_every_chart_in_order_with_the_bytes_drawn_alone(lake):
    stems = list(DRAWABLE)
    pngs = draw_shared(stems, lambda stem: drawn_here(lake, stem), lake.root, DAY)
    assert list(pngs) == stems
    assert pngs == {stem: drawn_here(lake, stem) for stem in stems}


def test_what_the_helper_cannot_draw_is_drawn_here(tmp_path):
    # An empty lake: every chart fails in the helper, so each one comes from here.
    stems = list(SPECS)
    pngs = draw_shared(stems, lambda stem: b"here " + stem.encode(), tmp_path / "empty", DAY)
    assert pngs == {stem: b"here " + stem.encode() for stem in stems}


def test_a_helper_killed_midway_leaves_every_chart_drawn_here(lake, started):

    def kill_then_draw(stem: str) -> bytes:
        started[0].kill()
        return drawn_here(lake, stem)

    stems = list(DRAWABLE)
    assert draw_shared(stems, kill_then_draw, lake.root, DAY) == {stem: drawn_here(lake, stem) for stem in stems}


def test_without_a_helper_everything_is_drawn_here(lake, monkeypatch, tmp_path):
    monkeypatch.setattr(parallel.sys, "executable", str(tmp_path / "no-such-python"))
    assert draw_shared(list(DRAWABLE), lambda stem: stem.encode(), lake.root, DAY) == {s: s.encode() for s in DRAWABLE}


def test_an_error_drawing_here_propagates_and_ends_the_helper(lake, started):

    def broken(stem: str) -> bytes:
        raise RuntimeError(f"cannot draw {stem}")

    with pytest.raises(RuntimeError, match="cannot draw active-instances"):
        draw_shared(list(DRAWABLE), broken, lake.root, DAY)
    assert len(started) == 1 and started[0].poll() is not None


@pytest.mark.parametrize("helper", [False, True])
def test_a_missing_input_fails_the_drawing_with_or_without_the_helper(lake, helper):
    # draw_charts draws all 15; this lake lacks most inputs, so the first chart fails here.
    with pytest.raises(MissingPartitionsError, match="install_timeseries"):
        draw_charts(lake, DAY, helper=helper)


def test_the_charts_asset_with_the_helper_writes_the_pngs_drawn_alone(demo_runner, monkeypatch, started):  # noqa: F811
    day = START + timedelta(days=9)
    monkeypatch.setattr(catalog, "helper_useful", lambda: True)
    build_reports(demo_runner, day, day)  # the report job, charts asset included, in this process
    assert len(started) == 1
    lake = demo_runner.lake
    written = {spec: lake.path(CHARTS_DATASET, day, spec.filename).read_bytes() for spec in CHARTS}
    assert written == draw_charts(lake, day, helper=False)
