"""Commentary file: both accepted shapes, clear errors, and escaped output."""

import json
from pathlib import Path

import pytest

from usage_assets.report.commentary import COMMENTARY_SECTIONS, CommentaryError, commentary_markdown, load_commentary


def write(tmp_path: Path, content: str | dict | list) -> Path:
    path = tmp_path / "commentary.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def test_the_23_sections_in_template_order():
    assert len(COMMENTARY_SECTIONS) == len(set(COMMENTARY_SECTIONS)) == 23
    assert COMMENTARY_SECTIONS[0] == "executive_summary" and COMMENTARY_SECTIONS[-1] == "recommendations"
    assert COMMENTARY_SECTIONS.index("liveness") < COMMENTARY_SECTIONS.index("engagement")


def test_t23_only_sections_with_text_get_a_line(tmp_path):
    commentary = load_commentary(write(tmp_path, {"liveness": "text", "engagement": ""}))
    assert commentary == {"liveness": "text"}
    lines = {section: commentary_markdown(commentary, section) for section in COMMENTARY_SECTIONS}
    assert lines["liveness"] == "_Commentary: text_"
    assert all(line == "" for section, line in lines.items() if section != "liveness")


def test_wrapped_form_whitespace_and_section_order(tmp_path):
    path = write(tmp_path, {"commentary": {"github": "  Stars grew.\n", "executive_summary": "Quiet day.", "ltv_arr": " \t"}})
    commentary = load_commentary(path)
    assert commentary == {"executive_summary": "Quiet day.", "github": "Stars grew."}
    assert list(commentary) == ["executive_summary", "github"]  # template order, not file order


def test_a_missing_file_means_no_commentary(tmp_path):
    assert load_commentary(tmp_path / "absent.json") == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"liveness": "text",}', r"not valid JSON \(Expecting property name enclosed in double quotes at line 1, column 21\)"),
        ('["liveness"]', "expected a JSON object"),
        ({"commentary": "text"}, "expected a JSON object"),
        ({"commentary": {}, "report_date": "2026-05-20"}, "keys next to 'commentary' are not allowed: report_date"),
        ({"livenes": "typo", "liveness": "ok"}, r"unknown section id\(s\) 'livenes'; valid ids: executive_summary, "),
        ({"liveness": 3, "github": None}, "the commentary of liveness, github is not a string"),
    ],
)
def test_errors_name_the_file_and_the_problem(tmp_path, content, message):
    path = write(tmp_path, content)
    with pytest.raises(CommentaryError, match=message) as raised:
        load_commentary(path)
    assert str(raised.value).startswith(f"{path}: ")


def test_unknown_ids_list_every_valid_id(tmp_path):
    with pytest.raises(CommentaryError) as raised:
        load_commentary(write(tmp_path, {"summary": "x"}))
    assert all(section in str(raised.value) for section in COMMENTARY_SECTIONS)


def test_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "commentary.json"
    path.write_bytes(b'{"liveness": "caf\xe9"}')
    with pytest.raises(CommentaryError, match="cannot be read as UTF-8 text"):
        load_commentary(path)


def test_text_is_escaped_for_markdown():
    line = commentary_markdown({"liveness": "<script>alert(1)</script> 10 | 20 *up* [x](http://e.example)\nnext"}, "liveness")
    # HTML becomes entities, pipes/emphasis/brackets are backslash-escaped, the line break a space.
    assert line == (
        "_Commentary: &lt;script&gt;alert(1)&lt;/script&gt; 10 \\| 20 \\*up\\* \\[x\\](http://e.example) next_"
    )


def test_long_text_is_not_cut_and_an_unknown_section_is_a_template_error():
    text = "word " * 100
    assert commentary_markdown({"github": text}, "github") == f"_Commentary: {text.strip()}_"
    with pytest.raises(ValueError, match="'livenes' is not a commentary section"):
        commentary_markdown({}, "livenes")
