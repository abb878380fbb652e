"""The one way an asset of day D writes a lake dataset and reports it to Dagster."""

from __future__ import annotations

from datetime import date
from typing import Any, Self

import dagster as dg
import polars as pl

from usage_assets.defs.metadata import frame_metadata
from usage_assets.storage.lake import Lake


def write_frame(lake: Lake, dataset: str, day: date, frame: pl.DataFrame, **metadata: Any) -> dict[str, Any]:
    """Write ``frame`` as day ``day`` of the Parquet ``dataset`` (atomically); returns the
    materialization metadata of that day: row count, column schema, ``metadata`` and path."""
    path = lake.write_frame(dataset, day, frame)
    return {**frame_metadata(frame), **metadata, "path": dg.MetadataValue.path(str(path))}


def write_json(lake: Lake, dataset: str, day: date, payload: Any, **metadata: Any) -> dict[str, Any]:
    """Write ``payload`` as day ``day`` of the JSON ``dataset`` (canonical, atomically);
    returns the materialization metadata of that day: ``metadata`` and path."""
    path = lake.write_json(dataset, day, payload)
    return {**metadata, "path": dg.MetadataValue.path(str(path))}


def frame_result(lake: Lake, dataset: str, day: date, frame: pl.DataFrame, **metadata: Any) -> dg.MaterializeResult:
    """Write ``frame`` as day ``day`` of the Parquet ``dataset`` (atomically) and return
    the ``MaterializeResult`` of the asset named ``dataset``: row count, column schema, path
    and ``metadata``."""
    return dg.MaterializeResult(asset_key=dataset, metadata=write_frame(lake, dataset, day, frame, **metadata))


def json_result(lake: Lake, dataset: str, day: date, payload: Any, **metadata: Any) -> dg.MaterializeResult:
    """Write ``payload`` as day ``day`` of the JSON ``dataset`` (canonical, atomically) and
    return the ``MaterializeResult`` of the asset named ``dataset``: path and ``metadata``."""
    return dg.MaterializeResult(asset_key=dataset, metadata=write_json(lake, dataset, day, payload, **metadata))


class DayByDay:
    """The materializations of a single-run asset that writes one partition per day of
    its run's partition range (``BackfillPolicy.single_run()``).

    Dagster records one materialization per partition of the range when the asset's
    output is returned, all with the output's metadata; each day's own metadata (rows,
    path, ...) is attached to its partition with :meth:`written` instead
    (``add_asset_metadata(partition_key=...)``), and :meth:`results` returns the outputs
    once every day is written. When the step stops before the end of its range (an
    error inside the ``with`` block, or :meth:`record_written`), a materialization is
    logged for each day written so far, so exactly those days count as materialized.
    """

    def __init__(self, context: dg.AssetExecutionContext):
        self.context = context
        self._written: list[tuple[str, date, dict[str, Any]]] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, error_type, _error, _traceback) -> None:
        if error_type is not None:
            self.record_written()

    def written(self, dataset: str, day: date, metadata: dict[str, Any]) -> None:
        """Day ``day`` of ``dataset`` (an asset key of this step) was written with ``metadata``."""
        self.context.add_asset_metadata(metadata, asset_key=dataset, partition_key=day.isoformat())
        self._written.append((dataset, day, metadata))

    def results(self, *datasets: str) -> list[dg.MaterializeResult]:
        """The step's outputs: one ``MaterializeResult`` per dataset, covering every day."""
        return [dg.MaterializeResult(asset_key=dataset) for dataset in datasets]

    def record_written(self) -> None:
        """Log the materialization of every day written so far (the step returns no output)."""
        for dataset, day, metadata in self._written:
            self.context.log_event(
                dg.AssetMaterialization(asset_key=dataset, partition=day.isoformat(), metadata=metadata)
            )
        self._written.clear()
