"""The one way an asset of day D writes a lake dataset and reports it to Dagster."""

from __future__ import annotations

from datetime import date
from typing import Any

import dagster as dg
import polars as pl

from usage_assets.defs.metadata import frame_metadata
from usage_assets.storage.lake import Lake


def frame_result(lake: Lake, dataset: str, day: date, frame: pl.DataFrame, **metadata: Any) -> dg.MaterializeResult:
    """Write ``frame`` as day ``day`` of the Parquet ``dataset`` (atomically) and return
    the ``MaterializeResult`` of the asset named ``dataset``: row count, column schema, path
    and ``metadata``."""
    path = lake.write_frame(dataset, day, frame)
    return dg.MaterializeResult(
        asset_key=dataset,
        metadata={**frame_metadata(frame), **metadata, "path": dg.MetadataValue.path(str(path))},
    )


def json_result(lake: Lake, dataset: str, day: date, payload: Any, **metadata: Any) -> dg.MaterializeResult:
    """Write ``payload`` as day ``day`` of the JSON ``dataset`` (canonical, atomically) and
    return the ``MaterializeResult`` of the asset named ``dataset``: path and ``metadata``."""
    path = lake.write_json(dataset, day, payload)
    return dg.MaterializeResult(asset_key=dataset, metadata={**metadata, "path": dg.MetadataValue.path(str(path))})
