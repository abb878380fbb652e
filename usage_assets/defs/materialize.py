"""The one way an asset of day D is declared, writes a lake dataset and reports it to Dagster."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, Self

import dagster as dg
import polars as pl

from usage_assets.defs.metadata import frame_metadata
from usage_assets.defs.partitions import ONE_RUN_PER_RANGE, daily_partitions, partition_days
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


class DayContext:
    """An asset's execution context narrowed to one day of its run's partition range: what
    the body of a :func:`daily_asset` sees (``partition_day(context)`` is that day); every
    other attribute is the run's context's."""

    def __init__(self, context: dg.AssetExecutionContext, day: date):
        self._context, self._day = context, day

    @property
    def partition_key(self) -> str:
        return self._day.isoformat()

    @property
    def partition_keys(self) -> list[str]:
        return [self._day.isoformat()]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def _results(output: Any) -> list[dg.MaterializeResult]:
    """A body's output (one ``MaterializeResult``, or a generator of them) as a list."""
    return [output] if isinstance(output, dg.MaterializeResult) else list(output)


def one_day_at_a_time(compute: Callable[..., Any]) -> Callable[..., Iterator[dg.MaterializeResult]]:
    """The body of an asset that computes one day, made to take a partition range in one run.

    ``compute(context, **resources)`` computes the day ``partition_day(context)`` and
    returns or yields its ``MaterializeResult``(s). Over a range (a single-run backfill, a
    CLI backfill), it is called once per day, oldest first, with the context narrowed to
    that day (:class:`DayContext`), so day D+1 reads what day D wrote; each day's metadata
    goes to its own partition (:class:`DayByDay`), and a day that raises leaves the days
    before it materialized.
    """

    @functools.wraps(compute)
    def each_day(context: dg.AssetExecutionContext, **resources: Any) -> Iterator[dg.MaterializeResult]:
        days = partition_days(context)
        if len(days) == 1:
            yield from _results(compute(context, **resources))
            return
        keys: list[dg.AssetKey] = []
        with DayByDay(context) as recorder:
            for day in days:
                for result in _results(compute(DayContext(context, day), **resources)):
                    key = dg.AssetKey.from_coercible(result.asset_key or context.asset_key)
                    recorder.written(key, day, dict(result.metadata or {}))
                    keys += [key] if key not in keys else []
        yield from recorder.results(*keys)

    return each_day


def _range_capable(decorator: Callable[..., Any], **asset_args: Any) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    def decorate(compute: Callable[..., Any]) -> dg.AssetsDefinition:
        with warnings.catch_warnings():
            # Beta in dagster 1.13; Dagster's own asset backfills rely on it.
            warnings.filterwarnings("ignore", message="Parameter `backfill_policy`")
            return decorator(partitions_def=daily_partitions, backfill_policy=ONE_RUN_PER_RANGE, **asset_args)(
                one_day_at_a_time(compute)
            )

    return decorate


def daily_asset(**asset_args: Any) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """``dg.asset(**asset_args)`` for an asset of report day D whose body computes one day:
    daily partitions, and a range of days in one run (``BackfillPolicy.single_run()``,
    :func:`one_day_at_a_time`), so a backfill from the CLI or the UI costs one run, not one
    per day and step."""
    return _range_capable(dg.asset, **asset_args)


def daily_multi_asset(**asset_args: Any) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """:func:`daily_asset` for a body that materializes several assets (``dg.multi_asset``)."""
    return _range_capable(dg.multi_asset, **asset_args)
