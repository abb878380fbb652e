"""The HTML report as a browser shows it: Debian's headless Chromium, driven by Playwright.

A real demo report (built by the pipeline, as in test_pipeline.py) is opened from its
file: URL. Every image must load, no request may go anywhere but the page's own file and
data: URIs, and the console must stay free of errors; a full-page screenshot is saved next
to the report. A hand-written page with a remote image proves that the request check fails
when it should. Nothing here depends on what the report's sections say.

Chromium is skipped when missing, unless ``USAGE_REQUIRE_CHROMIUM=1`` (set by ``.ci/run``).
Playwright's own browser download is never used: it launches ``/usr/bin/chromium``.
"""

import os
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import sync_playwright

from usage_assets_tests.test_pipeline import START, build_reports, demo_runner  # noqa: F401

# Without these, Chromium phones home at start (updates, sync, field trials): requests that
# are not the page's, and that a closed network refuses many at a time.
CHROMIUM_ARGS = [
    "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# 1x1 PNG, so the hand-written page has one image that does load.
DOT_PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
           "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


def chromium_or_skip() -> str:
    """Path of Debian's ``chromium``; skips the test when it is missing, unless
    ``USAGE_REQUIRE_CHROMIUM=1`` makes its absence a failure."""
    chromium = shutil.which("chromium")
    if chromium:
        return chromium
    message = "Debian's chromium is needed to render the report in a browser (apt-get install chromium)"
    if os.environ.get("USAGE_REQUIRE_CHROMIUM") == "1":
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class Rendering:
    """What the browser did with one page."""

    url: str
    #: Every request URL in the order the browser sent them, data: URIs and the page included.
    requests: list[str]
    console_errors: list[str]
    #: One ``{"src", "complete", "naturalWidth"}`` per <img>, in document order.
    images: list[dict]


def render(chromium: str, page_file: Path, screenshot: Path) -> Rendering:
    """Open ``page_file`` from its file: URL in a fresh headless ``chromium``, wait for its load
    event (images included), record what happened and save a full-page screenshot.

    Chromium is started here, after the pipeline ran, rather than in a fixture: Playwright's
    event loop, left current while Dagster executes, makes Dagster warn about it.
    """
    url = page_file.resolve().as_uri()
    requests: list[str] = []
    console_errors: list[str] = []

    def on_console(message) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    with sync_playwright() as playwright:
        # Playwright runs it headless, without sandbox and with a fresh profile of its own.
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            # The DevTools Network domain sees data: URIs too, which Playwright's request event leaves out.
            devtools = page.context.new_cdp_session(page)
            devtools.on("Network.requestWillBeSent", lambda sent: requests.append(sent["request"]["url"]))
            devtools.send("Network.enable")
            # A page that asks for more still never reaches the network: the request is
            # recorded above, then aborted here.
            page.route("**/*", lambda route: route.continue_() if route.request.url == url else route.abort())
            page.on("console", on_console)
            page.on("pageerror", lambda error: console_errors.append(f"uncaught {error}"))
            page.goto(url, wait_until="load")
            images = page.evaluate(
                "Array.from(document.images, i => ({src: i.src, complete: i.complete, naturalWidth: i.naturalWidth}))"
            )
            page.screenshot(path=screenshot, full_page=True)
        finally:
            browser.close()
    return Rendering(url=url, requests=requests, console_errors=console_errors, images=images)


def assert_self_contained(rendering: Rendering) -> None:
    """Fails listing every problem: no <img>, an image that did not load, a request to
    anything but the page itself or a data: URI, a console error."""
    problems = [] if rendering.images else ["no <img> on the page"]
    problems += [f"image did not load: {image['src'][:80]}" for image in rendering.images
                 if not (image["complete"] and image["naturalWidth"] > 0)]
    problems += [f"request left the page: {url[:200]}" for url in rendering.requests
                 if url != rendering.url and not url.startswith("data:")]
    problems += [f"console error: {text}" for text in rendering.console_errors]
    assert not problems, "\n".join(problems)


def test_the_demo_report_renders_self_contained_in_chromium(demo_runner):
    chromium = chromium_or_skip()  # before the pipeline's few seconds
    day = START + timedelta(days=4)
    build_reports(demo_runner, day, day)
    report = demo_runner.report_path(day)
    screenshot = report.parent / "report-screenshot.png"

    rendering = render(chromium, report, screenshot)

    assert_self_contained(rendering)
    # The recorder is not blind: it saw the page itself and the embedded charts.
    assert rendering.requests[0] == rendering.url
    assert any(url.startswith("data:image/") for url in rendering.requests)
    assert screenshot.read_bytes().startswith(PNG_SIGNATURE)
    with Image.open(screenshot) as image:
        width, height = image.size
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    # A full page at the default 1280 px viewport, taller than one screen, and not blank
    # (charts and text give thousands of colours; a blank page gives one).
    assert width == 1280 and height > 720
    assert len(colours) > 100


def test_a_remote_image_fails_the_request_check(tmp_path):
    page_file = tmp_path / "page.html"
    page_file.write_text(f'<!doctype html><html><body><img src="{DOT_PNG}">'
                         '<img src="https://example.com/x.png"></body></html>')

    rendering = render(chromium_or_skip(), page_file, tmp_path / "page-screenshot.png")

    assert "https://example.com/x.png" in rendering.requests
    with pytest.raises(AssertionError) as failure:
        assert_self_contained(rendering)
    assert "request left the page: https://example.com/x.png" in str(failure.value)
