"""The Dagster UI as a maintainer opens it in the morning: the real ``dagster-webserver``
on 127.0.0.1 over the small demo instance (conftest.py), driven in Debian's headless
Chromium by Playwright.

The ``usage_report`` page shows the report's summary (its Markdown rendered, the headline
chart loaded inline), a chart asset shows its own preview, and ``raw_events``' Checks tab
lists the data-quality checks. One webserver, one browser; a screenshot of each page is
saved to ``$USAGE_UI_SCREENSHOTS`` (default: the test's temporary folder).

Chromium is skipped when missing, unless ``USAGE_REQUIRE_CHROMIUM=1`` (set by ``.ci/run``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from usage_assets.defs.ingest.quality_checks import (
    CLEARED_FIELDS_CHECK,
    EVENTS_PRESENT_CHECK,
    NEW_VALUES_CHECK,
    REJECTED_ROWS_CHECK,
)
from usage_assets.settings import PROJECT_ROOT
from usage_assets_tests.loopback_sshd import free_port
from usage_assets_tests.report.test_report_browser import CHROMIUM_ARGS, PNG_SIGNATURE, chromium_or_skip
from usage_assets_tests.ui.conftest import REPORT_DAY

#: The slow part is the code location's first load; a busy 2-core machine needs minutes.
STARTUP_TIMEOUT_S = 300
PAGE_TIMEOUT_MS = 180_000
# Dagster's "join the community" dialog, shown once per browser on localhost, would cover
# the page; this is what dismissing it stores.
DISMISS_COMMUNITY_DIALOG = "window.localStorage.setItem('communityNux', JSON.stringify('1'))"


@pytest.fixture
def webserver(demo_instance) -> Iterator[str]:
    """The base URL of a ``dagster-webserver`` serving the project's code location over the
    demo instance; stopped (with its code server) afterwards."""
    port = free_port()
    log = demo_instance.dagster_home / "webserver.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("dagster-webserver")),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-w",
                "workspace.yaml",
            ],
            cwd=PROJECT_ROOT,
            env={**os.environ, **demo_instance.env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so the code server it starts stops with it
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"dagster-webserver exited with {server.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/server_info", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"dagster-webserver did not answer within {STARTUP_TIMEOUT_S} s:\n{log.read_text()[-3000:]}"
                )
            time.sleep(1)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = Path(os.environ.get("USAGE_UI_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_markdown(page: Page, key: str) -> dict:
    """Open the Markdown metadata ``key`` of the asset page shown (Dagster puts long Markdown
    behind "[Show Markdown]") and return the dialog's text and images."""
    row = page.locator("tr", has=page.get_by_text(key, exact=True))
    row.get_by_text("[Show Markdown]").first.click(timeout=PAGE_TIMEOUT_MS)
    dialog = page.get_by_role("dialog")
    dialog.locator("img").first.wait_for(timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('[role=dialog] img')).every(i => i.complete)",
        timeout=PAGE_TIMEOUT_MS,
    )
    return {
        "text": dialog.inner_text(),
        "images": dialog.locator("img").evaluate_all(
            "images => images.map(i => ({src: i.src.slice(0, 22), width: i.naturalWidth}))"
        ),
    }


def test_the_ui_shows_the_summary_a_chart_preview_and_the_quality_checks(webserver, screenshots):
    chromium = chromium_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.add_init_script(DISMISS_COMMUNITY_DIALOG)
            # Only the webserver and inline images: nothing leaves the machine.
            page.route(
                "**/*",
                lambda route: (
                    route.continue_() if route.request.url.startswith((webserver, "data:")) else route.abort()
                ),
            )

            page.goto(f"{webserver}/assets/usage_report")
            summary = open_markdown(page, "summary")
            page.screenshot(path=screenshots / "usage_report-summary.png")
            assert f"Usage report — {REPORT_DAY} (UTC)" in summary["text"]
            assert "reported telemetry up to" in summary["text"]  # the executive summary's first sentence
            assert "Identified installs, to date" in summary["text"]  # a row of the D-1 / D-7 table
            assert [image["src"] for image in summary["images"]] == ["data:image/png;base64,"]
            assert summary["images"][0]["width"] == 360  # loaded, at the summary's width

            page.goto(f"{webserver}/assets/charts/registry_installs_timeseries")
            preview = open_markdown(page, "preview")
            page.screenshot(path=screenshots / "chart-preview.png")
            assert preview["images"] == [{"src": "data:image/png;base64,", "width": 240}]

            page.goto(f"{webserver}/assets/raw_events?view=checks")
            checks = (REJECTED_ROWS_CHECK, CLEARED_FIELDS_CHECK, NEW_VALUES_CHECK, EVENTS_PRESENT_CHECK)
            for name in checks:
                page.get_by_text(name, exact=True).first.wait_for(timeout=PAGE_TIMEOUT_MS)
            page.screenshot(path=screenshots / "raw_events-checks.png")
        finally:
            browser.close()
    for name in ("usage_report-summary.png", "chart-preview.png", "raw_events-checks.png"):
        assert (screenshots / name).read_bytes().startswith(PNG_SIGNATURE)
