"""The single internal-install rule: allowlist parsing and classification reasons."""

import polars as pl
import pytest

from usage_assets.daily.internal import InternalAllowlist, classify_internal

FULL_1 = "11111111-2222-4333-8444-555555555555"
FULL_2 = "66666666-7777-4888-8999-aaaaaaaaaaaa"
TRUNCATED_TARGET = "abcdef01-2345-4678-9abc-def012345678"


def test_every_backticked_uuid_on_a_line_counts_and_truncated_ids_match_by_prefix():
    text = (
        "# Internal installs\n"
        f"| `{FULL_1}` and `{FULL_2}` | two on one line |\n"
        "| `abcdef01-23...` | truncated |\n"
        "| `not-an-id` | `kubectl` | ignored tokens |\n"
    )
    allowlist = InternalAllowlist.from_text(text)
    assert allowlist.full_ids == {FULL_1, FULL_2}
    assert allowlist.prefixes == ("abcdef01-23",)
    ids = [FULL_1, FULL_2, TRUNCATED_TARGET, "abcdef02-0000-4000-8000-000000000000", None]
    matched = pl.DataFrame({"registry_id": ids}).select(allowlist.matches())["registry_id"].to_list()
    assert matched == [True, True, True, False, False]


def test_uppercase_ids_in_the_file_match():
    allowlist = InternalAllowlist.from_text(f"`{FULL_1.upper()}`")
    assert allowlist.full_ids == {FULL_1}


def test_reasons_name_allowlist_flag_or_both():
    frame = pl.DataFrame({
        "registry_id": [FULL_1, FULL_2, TRUNCATED_TARGET],
        "internal_only_deployment": [True, None, False],
    })
    classified = classify_internal(frame, InternalAllowlist.from_text(f"`{FULL_1}` `{FULL_2}`"))
    assert classified["internal_reason"].to_list() == [
        "allowlist; internal_only_deployment flag",
        "allowlist",
        None,
    ]
    assert classified["is_internal"].to_list() == [True, True, False]


def test_missing_allowlist_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.md"):
        InternalAllowlist.from_file(tmp_path / "nope.md")
    assert len(InternalAllowlist.from_file(None)) == 0
