"""The report's charts for day D: one asset per chart, drawn in one step."""

from concurrent.futures import ThreadPoolExecutor

import dagster as dg

from usage_assets.charts.catalog import CHARTS, ChartSpec
from usage_assets.defs.materialize import daily_multi_asset
from usage_assets.defs.metadata import png_preview
from usage_assets.defs.partitions import partition_day
from usage_assets.defs.resources.charts import ChartHelper
from usage_assets.defs.resources.storage import DataLake
from usage_assets.storage.datasets import CHARTS as CHARTS_DATASET


def chart_key(spec: ChartSpec) -> dg.AssetKey:
    """The asset key of a chart: ``charts/<name>``."""
    return dg.AssetKey([CHARTS_DATASET, spec.name])


@daily_multi_asset(
    specs=[
        # Each chart declares only the datasets it is drawn from, so lineage shows each
        # chart with its own inputs.
        dg.AssetSpec(chart_key(spec), description=spec.caption, deps=list(spec.inputs), group_name="report", kinds={"matplotlib", "png"})
        for spec in CHARTS
    ],
)
def charts(context: dg.AssetExecutionContext, data_lake: DataLake, chart_helper: ChartHelper):
    """Draw every chart of day D from the metric assets into the lake (PNG per chart)."""
    # One step draws every chart: matplotlib's import and figure setup are paid once
    # here (and once in the helper process drawing beside it, started with the run), not
    # once per chart.
    day = partition_day(context)
    lake = data_lake.lake()
    with chart_helper.drawer(lake) as drawer:
        pngs = drawer.draw(day)
        context.log.info(f"{len(pngs)} charts drawn, {drawer.helped} of them by the helper process")
    # A preview is Pillow work, which releases the GIL: two threads make them on both
    # cores while the PNGs are written.
    with ThreadPoolExecutor(max_workers=2) as pool:
        previews = pool.map(lambda drawn: png_preview(drawn[0].caption, drawn[1]), pngs.items())
        for (spec, png), preview in zip(pngs.items(), previews):
            path = lake.write_bytes(CHARTS_DATASET, day, spec.filename, png)
            metadata = {"path": dg.MetadataValue.path(str(path)), "preview": preview}
            yield dg.MaterializeResult(asset_key=chart_key(spec), metadata=metadata)
