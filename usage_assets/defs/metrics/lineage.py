"""Estimated deployments of report day D: installs stitched into the deployments they are.

A container recreated without a persistent volume reports a new registry_id each time,
so one deployment looks like many installs, most of them one-day wonders. These assets
link the installs that continue one another (``install_lineage``) and group them into
deployments (``deployments``), beside the install counts, which they never change.
"""

import dagster as dg
from pydantic import Field

from usage_assets.defs.materialize import daily_asset, frame_result
from usage_assets.defs.partitions import partition_day
from usage_assets.defs.resources.storage import DataLake
from usage_assets.metrics.deployments import deployment_summary, deployments_from_lineage
from usage_assets.metrics.lineage import DEFAULT_GAP_HOURS, LineageRule
from usage_assets.metrics.lineage import install_lineage as link_installs
from usage_assets.storage.datasets import DEPLOYMENTS, INSTALL_LINEAGE, INSTANCES


class LineageConfig(dg.Config):
    """The stitching's parameter (docs/deployments.md)."""

    gap_hours: float = Field(
        default=DEFAULT_GAP_HOURS,
        gt=0,
        description="Longest time, in hours, from an install's last event to the next install's first event "
        "for the next one to continue it.",
    )


@daily_asset(
    name=INSTALL_LINEAGE,
    deps=[INSTANCES],
    group_name="metrics",
    kinds={"polars", "parquet"},
)
def install_lineage(
    context: dg.AssetExecutionContext, config: LineageConfig, data_lake: DataLake
) -> dg.MaterializeResult:
    """Which install continues which, as of the end of day D: a link "B continues A" when
    B's first event follows A's last event within the gap (48 h) from the same source IP
    hash with the same cloud, compute, storage, auth, mode and registry mode and an equal
    or newer version. Each link keeps its evidence and a confidence; installs with two
    possible predecessors or successors are marked ambiguous, not linked."""
    day = partition_day(context)
    lake = data_lake.lake()
    lineage = link_installs(lake.read_frame(INSTANCES, day), LineageRule(gap_hours=config.gap_hours))
    linked = int((lineage["status"] == "linked").sum())
    return frame_result(
        lake, INSTALL_LINEAGE, day, lineage, links=linked, ambiguous=lineage.height - linked, gap_hours=config.gap_hours
    )


@daily_asset(
    name=DEPLOYMENTS,
    deps=[INSTANCES, INSTALL_LINEAGE],
    group_name="metrics",
    kinds={"polars", "parquet"},
)
def deployments(context: dg.AssetExecutionContext, data_lake: DataLake) -> dg.MaterializeResult:
    """Estimated deployments as of the end of day D: the chains of linked installs (an
    unlinked install is a deployment of one), each with its registry ids in order, its
    first and last day, its lifetime over the whole chain, and internal when any member is.
    The report's "Estimated deployments" section."""
    day = partition_day(context)
    lake = data_lake.lake()
    lineage = lake.read_frame(INSTALL_LINEAGE, day)
    table = deployments_from_lineage(lake.read_frame(INSTANCES, day), lineage)
    summary = deployment_summary(table, lineage)
    return frame_result(
        lake,
        DEPLOYMENTS,
        day,
        table,
        customer_deployments=summary["deployments"],
        installs_per_deployment=summary["installs_per_deployment"],
        one_day_wonder_pct=summary["one_day_wonder_pct"],
    )
