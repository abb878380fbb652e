"""Escaping of untrusted telemetry strings in both report formats."""

import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from usage_assets.report.render import Chart, clean_text, escape_markdown, markdown_to_html, write_report_folder

HOSTILE = "<script>alert('x')</script>|1.0.0\n# heading"


def test_markdown_escape_neutralizes_html_pipes_and_line_breaks():
    escaped = escape_markdown(HOSTILE, None)
    assert "<script>" not in escaped and "&lt;script&gt;" in escaped
    assert re.search(r"(?<!\\)\|", escaped) is None  # every pipe is escaped
    assert "\n" not in escaped


def test_long_strings_are_cut_and_control_characters_removed():
    assert clean_text("a\x00b\x1bc\u202ed\nе") == "abcd е"
    cut = clean_text("x" * 200)
    assert len(cut) == 60 and cut.endswith("…")


def test_report_folder_is_replaced_whole(tmp_path):
    chart = Chart("instance-lifetime", "caption", b"\x89PNG fake")
    first = write_report_folder(tmp_path, date(2026, 5, 1), "# one", "<p>one</p>", [chart], {"metrics-2026-05-01.json": b'{"a": 2}\n'})
    assert sorted(p.name for p in first.iterdir()) == [
        "instance-lifetime-2026-05-01.png", "metrics-2026-05-01.json",
        "usage-report-2026-05-01.html", "usage-report-2026-05-01.md",
    ]
    assert (first / "metrics-2026-05-01.json").read_text() == '{"a": 2}\n'
    write_report_folder(tmp_path, date(2026, 5, 1), "# two", "<p>two</p>", [], {})
    assert (first / "usage-report-2026-05-01.md").read_text() == "# two"
    assert not (first / "instance-lifetime-2026-05-01.png").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["2026-05-01"]  # no staging leftovers


def test_a_failed_swap_keeps_the_previous_report(tmp_path, monkeypatch):
    day = date(2026, 5, 1)
    folder = write_report_folder(tmp_path, day, "# old", "<p>old</p>", [], {})
    real_rename = Path.rename

    def failing_rename(self, target):
        if self.name.startswith(f".{day}.") and ".old." not in self.name and Path(target) == folder:
            raise OSError("disk full")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", failing_rename)
    with pytest.raises(OSError, match="disk full"):
        write_report_folder(tmp_path, day, "# new", "<p>new</p>", [], {})
    assert (folder / f"usage-report-{day}.md").read_text() == "# old"
    assert [p.name for p in tmp_path.iterdir()] == [day.isoformat()]


def write_many(reports_dir: str, label: str, times: int) -> None:
    """Write the report of 2026-05-01 ``times`` times, every file saying ``label``."""
    for n in range(times):
        write_report_folder(Path(reports_dir), date(2026, 5, 1), f"# {label}", f"<p>{label}</p>",
                            [Chart("instance-lifetime", "caption", label.encode())], {"metrics-2026-05-01.json": label.encode()})


def test_two_processes_replacing_the_same_report_folder_take_turns(tmp_path):
    (tmp_path / ".2026-05-01.old.killed" / "report").mkdir(parents=True)  # a swap killed half-way
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        writers = [pool.submit(write_many, str(tmp_path), label, 60) for label in ("first", "second")]
        for writer in writers:
            writer.result()  # re-raises a writer's error ("Directory not empty", FileNotFoundError)
    assert [p.name for p in tmp_path.iterdir()] == ["2026-05-01"]  # no .old.* or staging leftovers
    folder = tmp_path / "2026-05-01"
    # One writer's folder, whole: every file says the same.
    contents = {p.read_bytes().strip(b"#<p/> ") for p in folder.iterdir()}
    assert len(contents) == 1 and len(list(folder.iterdir())) == 4


def test_html_is_the_markdown_rendered_with_embedded_images_and_inert_html():
    markdown = "## Liveness\n\n| a | b |\n|---|--:|\n| " + escape_markdown(HOSTILE) + " | 1 |\n\n![cap](c.png)\n\n<b>x</b>\n"
    page = markdown_to_html(markdown, {"c.png": "data:image/png;base64,AAAA"})
    assert '<h2 id="liveness">Liveness</h2>' in page
    assert '<img src="data:image/png;base64,AAAA" alt="cap" />' in page
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert '<td style="text-align:right">1</td>' in page
    with pytest.raises(KeyError, match="other.png"):
        markdown_to_html("![x](other.png)", {})
