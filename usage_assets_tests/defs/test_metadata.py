"""What the Dagster UI shows of each asset: numeric headline metadata, table schemas,
previews and the catalog (owners, tags, code references) - built without a run."""

import base64
import io
import subprocess
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from PIL import Image

from usage_assets.definitions import build_definitions
from usage_assets.defs.metadata import (
    OWNER,
    engagement_numbers,
    forecast_numbers,
    frame_metadata,
    git_origin,
    ingest_numbers,
    numbers,
    png_preview,
)
from usage_assets.settings import PROJECT_ROOT, Settings

DAY = date(2026, 5, 20)


def test_a_frame_reports_its_rows_and_polars_columns():
    frame = pl.DataFrame({"registry_id": ["a", None], "events": [3, 1], "date": [DAY, DAY]})
    metadata = frame_metadata(frame)
    assert metadata["dagster/row_count"] == dg.MetadataValue.int(2)
    assert [(c.name, c.type) for c in metadata["dagster/column_schema"].columns] == [
        ("registry_id", "String"),
        ("events", "Int64"),
        ("date", "Date"),
    ]


def test_numbers_keep_one_type_per_key_and_leave_out_what_does_not_exist():
    assert numbers(installs=12, share_pct=50, spend_usd=3, eta_days=None) == {
        "installs": dg.MetadataValue.int(12),
        "share_pct": dg.MetadataValue.float(50.0),
        "spend_usd": dg.MetadataValue.float(3.0),
    }


def test_headline_numbers_read_the_day_asked_for():
    engagement = pl.DataFrame({"date": [DAY.replace(day=19), DAY], "daily_active": [4, 7]})
    assert engagement_numbers(engagement, DAY) == {"dai": dg.MetadataValue.int(7)}
    assert engagement_numbers(engagement, DAY.replace(day=21)) == {}
    forecast = {"available": True, "linear": {"eta": "2026-06-19"}}
    assert forecast_numbers(forecast, DAY) == {"forecast_eta_days": dg.MetadataValue.int(30)}
    assert forecast_numbers({"available": False, "linear": {"eta": None}}, DAY) == {}
    stats = {"fetched": 10, "valid": 8, "rejected": 2, "field_issues": {"cleared": 3, "kept": 1}}
    assert ingest_numbers(stats) == {
        "rows_rejected": dg.MetadataValue.int(2),
        "fields_cleared": dg.MetadataValue.int(3),
    }


def test_a_preview_is_a_small_deterministic_inline_image():
    image = Image.new("RGB", (900, 700), "white")
    image.paste((200, 40, 40), (100, 100, 800, 600))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    preview = png_preview("Installs | [by] cloud", buffer.getvalue(), width=240)
    assert preview == png_preview("Installs | [by] cloud", buffer.getvalue(), width=240)
    alt, uri = preview.value.removeprefix("![").split("](data:image/png;base64,")
    assert alt == "Installs \\| \\[by\\] cloud"
    with Image.open(io.BytesIO(base64.b64decode(uri.removesuffix(")")))) as thumbnail:
        assert thumbnail.size == (240, 187)


def test_every_asset_has_the_owner_its_stage_and_source_tags_and_a_code_reference():
    graph = build_definitions(Settings()).resolve_asset_graph()
    sources = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.owners == [OWNER]
        assert node.tags["stage"] == node.group_name
        sources[key.to_user_string()] = node.tags["source"]
        (reference,) = node.metadata["dagster/code_references"].code_references
        path = Path(reference.file_path)
        assert path.is_relative_to(PROJECT_ROOT / "usage_assets" / "defs") and path.is_file()
    assert {sources["raw_events"], sources["prometheus_trends"], sources["github_stats"], sources["usage_report"]} == {
        "telemetry",
        "prometheus",
        "github",
        "lake",
    }
    assert set(sources.values()) == {"telemetry", "prometheus", "github", "lake"}


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("https://github.com/acme/usage-assets.git", "https://github.com/acme/usage-assets"),
        ("git@github.com:acme/usage-assets.git", "https://github.com/acme/usage-assets"),
        ("https://gitlab.com/acme/usage-assets", "https://gitlab.com/acme/usage-assets"),
        ("/srv/git/usage-assets.git", None),  # a local clone: no page to link to
        (None, None),
    ],
)
def test_code_references_link_to_a_github_or_gitlab_origin_only(tmp_path, remote, expected):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "trunk")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "--allow-empty", "-m", "start")
    if remote:
        git("remote", "add", "origin", remote)
    assert git_origin(tmp_path) == ((expected, "trunk") if expected else None)
    assert git_origin(tmp_path / "not-a-checkout") is None
