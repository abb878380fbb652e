"""The usage_report asset's summary Markdown, from a hand-made report context."""

import base64

from usage_assets.report.comparisons import comparison_rows
from usage_assets.report.dashboard import summary_markdown

PNG = b"\x89PNG\r\n\x1a\nnot really"


def context(has_week_before: bool = False) -> dict:
    current = {"installs": 12, "one_day_wonder_pct": 25.0}
    before = {"installs": 10, "one_day_wonder_pct": 30.0}
    return {
        "report_date": "2026-05-20",
        "source": "csv archive /data/a|b_*c*",
        "summary_sentences": ["12 installs reported telemetry up to 2026-05-20.", "Second sentence."],
        "comparison": {
            "day_before": "2026-05-19",
            "week_before": "2026-05-13",
            "has_day_before": True,
            "has_week_before": has_week_before,
            "rows": comparison_rows(current, before, before if has_week_before else {}),
        },
    }


def test_summary_holds_the_sentences_the_chart_and_the_comparison_table():
    text = summary_markdown(context(), PNG, "Installs | by cloud")
    lines = text.splitlines()
    assert lines[0] == "### Usage report — 2026-05-20 (UTC)"
    assert "12 installs reported telemetry up to 2026-05-20." in lines and "Second sentence." in lines
    # The image is the PNG given, inline; its caption cannot break out of the alt text.
    assert f"![Installs \\| by cloud](data:image/png;base64,{base64.b64encode(PNG).decode()})" in lines
    table = [line for line in lines if line.startswith("|")]
    assert table[0] == "| Metric | 2026-05-20 | 2026-05-19 (D-1) | Change | 2026-05-13 (D-7) | Change |"
    assert table[2:] == [
        "| Identified installs, to date | 12 | 10 | +2 (+20.0%) | — | — |",
        "| One-day-wonder share of customers, to date | 25.0% | 30.0% | -5.0 pp | — | — |",
    ]
    assert "No metrics exist for 2026-05-13, so there is no week-over-week change." in lines


def test_the_source_is_escaped_and_nothing_is_said_of_a_comparison_that_exists():
    text = summary_markdown(context(has_week_before=True), None, "chart")
    assert "Source: csv archive /data/a\\|b\\_\\*c\\*" in text
    assert "No metrics exist" not in text and "data:image" not in text
