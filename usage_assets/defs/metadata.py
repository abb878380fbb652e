"""What the Dagster UI shows of each asset, in one place so the assets stay thin.

- **Headline numbers** as numeric metadata under stable keys whose name carries the unit
  (``installs``, ``one_day_wonder_share_pct``, ``spend_yesterday_usd``,
  ``forecast_eta_days``...): Dagster plots every numeric metadata key across partitions in
  an asset's Plots tab, so the fleet's trend shows there for free. A number that does not
  exist on a day (no forecast yet) is left out, never a fake 0.
- **Table schemas and row counts** (``dagster/column_schema``, ``dagster/row_count``) of
  every Parquet dataset, from its polars schema.
- **Previews**: a chart's thumbnail as a ``data:`` image in Markdown, the only way to show
  an image in metadata; thumbnails keep the event log small (see the README's "The Dagster UI").
- **The catalog**: owner, ``stage`` and ``source`` tags and a code reference to each asset's
  source file (:func:`catalogued`), so the asset catalog can be searched and browsed.
"""

from __future__ import annotations

import base64
import inspect
import re
import subprocess
import warnings
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
from dagster_shared.record import replace

from usage_assets.charts.style import thumbnail_png
from usage_assets.ingest.quality import cleared_fields, rejected_rows
from usage_assets.report.dashboard import summary_markdown
from usage_assets.report.render import escape_markdown
from usage_assets.report.sections import ReportInputs

#: Who answers for every asset (Dagster owner syntax: ``team:<name>`` or an e-mail address).
OWNER = "team:usage-report"
#: The metadata key Dagster's UI reads an asset's code references from.
CODE_REFERENCES_KEY = "dagster/code_references"
#: Width of a chart asset's preview; the report's summary shows the headline chart wider.
CHART_PREVIEW_WIDTH = 240
SUMMARY_CHART_WIDTH = 360


def table_schema(frame: pl.DataFrame) -> dg.TableSchema:
    """The columns of ``frame`` with their polars types (``String``, ``Int64``, ``Date``...)."""
    return dg.TableSchema(columns=[dg.TableColumn(name, str(dtype)) for name, dtype in frame.schema.items()])


def frame_metadata(frame: pl.DataFrame) -> dict[str, Any]:
    """Row count and column schema of a Parquet dataset's day, under Dagster's own keys."""
    return {"dagster/row_count": dg.MetadataValue.int(frame.height), "dagster/column_schema": table_schema(frame)}


def png_preview(caption: str, png: bytes, width: int = CHART_PREVIEW_WIDTH) -> dg.MetadataValue:
    """``png`` scaled down to ``width`` pixels (a few kilobytes, deterministic) as Markdown
    showing it inline, ``caption`` as its alt text (escaped)."""
    encoded = base64.b64encode(thumbnail_png(png, width)).decode("ascii")
    return dg.MetadataValue.md(f"![{escape_markdown(caption, None)}](data:image/png;base64,{encoded})")


def numbers(**values: float | None) -> dict[str, dg.MetadataValue]:
    """Numeric metadata: keys ending ``_pct`` or ``_usd`` as floats, others as ints (one type
    per key, so its plot never switches); None values are left out."""
    return {
        key: dg.MetadataValue.float(float(value))
        if key.endswith(("_pct", "_usd"))
        else dg.MetadataValue.int(int(value))
        for key, value in values.items()
        if value is not None
    }


def fleet_numbers(fleet: Mapping[str, Any]) -> dict[str, dg.MetadataValue]:
    """``installs`` (identified, internal included, to date), ``customer_installs`` (to
    date), ``new_installs`` (first seen on D) and ``one_day_wonder_share_pct`` (of
    customers) from a ``fleet_metrics`` document."""
    return numbers(
        installs=fleet["key_metrics"]["identified_instances"],
        customer_installs=fleet["stickiness"]["total_non_internal"],
        new_installs=fleet["active_on_report_date"]["new_installs"],
        one_day_wonder_share_pct=fleet["stickiness"]["one_day_wonder_pct"],
    )


def liveness_numbers(liveness: Mapping[str, Any]) -> dict[str, dg.MetadataValue]:
    """``confirmed_alive_installs`` and ``likely_alive_installs`` (customers) from ``liveness``."""
    counts = liveness["counts"]
    return numbers(confirmed_alive_installs=counts["confirmed"], likely_alive_installs=counts["likely"])


def engagement_numbers(engagement: pl.DataFrame, day: date) -> dict[str, dg.MetadataValue]:
    """``dai``: customer installs active on ``day`` (daily active installs), from ``engagement``."""
    row = engagement.filter(pl.col("date") == day)
    return numbers(dai=row["daily_active"][0] if row.height else None)


def spend_numbers(spend: Mapping[str, Any]) -> dict[str, dg.MetadataValue]:
    """``spend_yesterday_usd``: the hypothetical AWS spend of day D (all-days rule), from ``ltv_spend``."""
    return numbers(spend_yesterday_usd=spend["yesterday"]["all_days"]["total_usd"])


def forecast_numbers(forecast: Mapping[str, Any], day: date) -> dict[str, dg.MetadataValue]:
    """``forecast_eta_days``: days from ``day`` until the linear forecast reaches the target
    (left out while the forecast is not available)."""
    eta = forecast["linear"]["eta"] if forecast["available"] else None
    return numbers(forecast_eta_days=(date.fromisoformat(eta[:10]) - day).days if eta else None)


def ingest_numbers(stats: Mapping[str, Any]) -> dict[str, dg.MetadataValue]:
    """``rows_rejected`` (rows that could not be an event) and ``fields_cleared`` (field
    values set to null in kept events) from an ``ingest_stats`` record."""
    return numbers(
        rows_rejected=rejected_rows(stats)["rows_rejected"], fields_cleared=cleared_fields(stats)["fields_cleared"]
    )


def report_metadata(
    inputs: ReportInputs, context: Mapping[str, Any], headline_png: bytes, caption: str
) -> dict[str, Any]:
    """The ``usage_report`` asset's dashboard: ``summary`` (Markdown: executive summary,
    headline chart ``headline_png`` as a thumbnail, D-1 / D-7 table) and every headline number."""
    return {
        "summary": dg.MetadataValue.md(
            summary_markdown(context, thumbnail_png(headline_png, SUMMARY_CHART_WIDTH), caption)
        ),
        **fleet_numbers(inputs.today.fleet),
        **liveness_numbers(inputs.today.liveness),
        **engagement_numbers(inputs.engagement, inputs.day),
        **spend_numbers(inputs.spend),
        **forecast_numbers(inputs.forecast, inputs.day),
        **ingest_numbers(inputs.ingest_stats),
    }


def _source_tag(spec: dg.AssetSpec) -> str:
    """Where an asset's data comes from: the telemetry source (ingest), Prometheus, GitHub,
    or the lake (every asset computed from earlier datasets)."""
    if spec.group_name == "ingest":
        return "telemetry"
    return next((kind for kind in ("prometheus", "github") if kind in spec.kinds), "lake")


def _catalog_spec(spec: dg.AssetSpec) -> dg.AssetSpec:
    tags = {"stage": spec.group_name or "default", "source": _source_tag(spec)}
    return spec.merge_attributes(owners=[OWNER], tags=tags)


def git_origin(root: Path) -> tuple[str, str] | None:
    """(https URL of ``root``'s ``origin`` remote on GitHub or GitLab, current branch), or
    None when ``root`` is no git checkout, has no such remote or git is missing."""

    def git(*args: str) -> str:
        run = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=False)
        return run.stdout.strip()

    try:
        url, branch = git("config", "--get", "remote.origin.url"), git("rev-parse", "--abbrev-ref", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return None
    # git@github.com:owner/name.git -> https://github.com/owner/name
    url = re.sub(r"^git@([^:]+):", r"https://\1/", url).removesuffix(".git")
    if not re.match(r"^https://(github\.com|gitlab\.com)/[^/\s]+/[^/\s]+$", url) or branch in ("", "HEAD"):
        return None
    return url, branch


def code_reference(asset: dg.AssetsDefinition | dg.AssetSpec) -> dg.LocalFileCodeReference | None:
    """Where an asset's body is written (its file and first line), looking through the
    decorators that wrap it (``defs/materialize.py``'s ``one_day_at_a_time``); None for an
    asset without a body. Dagster's ``with_source_code_references`` would take the file of
    the outermost wrapper and the line of the body."""
    if not isinstance(asset, dg.AssetsDefinition) or not asset.is_executable:
        return None
    compute = getattr(asset.node_def, "compute_fn", None)
    body = inspect.unwrap(getattr(compute, "decorated_fn", compute)) if compute is not None else None
    if not inspect.isfunction(body):
        return None
    return dg.LocalFileCodeReference(file_path=inspect.getsourcefile(body), line_number=inspect.getsourcelines(body)[1])


def _with_code_reference(asset: dg.AssetsDefinition | dg.AssetSpec) -> dg.AssetsDefinition | dg.AssetSpec:
    reference = code_reference(asset)
    if reference is None:
        return asset
    references = dg.CodeReferencesMetadataValue(code_references=[reference])
    return asset.map_asset_specs(lambda spec: spec.merge_attributes(metadata={CODE_REFERENCES_KEY: references}))


def catalogued(defs: dg.Definitions, project_root: Path) -> dg.Definitions:
    """``defs`` with every asset owned by :data:`OWNER`, tagged ``stage`` (its group: ingest,
    daily, metrics, enrichment, insights, report) and ``source`` (telemetry, prometheus,
    github or lake), and referring to the file of its code: a link to the repository when
    ``project_root`` is a checkout of a GitHub or GitLab repository, its local path otherwise.
    """
    # A module that imports another's asset (to put a check on it) lists it twice; the
    # copies map_asset_specs makes would then be two assets of one key.
    unique = list({id(asset): asset for asset in defs.assets or ()}.values())
    assets = dg.map_asset_specs(_catalog_spec, unique)
    with warnings.catch_warnings():
        # Code references are marked beta in dagster 1.13; they only add metadata.
        warnings.filterwarnings("ignore", category=dg.BetaWarning)
        assets = [_with_code_reference(asset) for asset in assets]
        origin = git_origin(project_root)
        if origin is not None:
            assets = dg.link_code_references_to_git(
                assets,
                git_url=origin[0],
                git_branch=origin[1],
                file_path_mapping=dg.AnchorBasedFilePathMapping(
                    local_file_anchor=project_root, file_anchor_path_in_repository=""
                ),
            )
    return replace(defs, assets=assets)
