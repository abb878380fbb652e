"""Cloud detection method of customer installs, overall and by version (reference 6.10).

Each customer install counts once, with its latest non-empty version and latest non-empty
``cloud_detection_method``; an install that never reported a method is
``"(field absent)"`` (pre-v4 registries do not send the field).

Differences from the reference: internal installs are left out (the reference's chart
says "customer" but counts them); every method the collector accepts is a column and
counted in ``total``, including ``explicit``, ``operator_declared`` and
``operator_declined`` (the reference drops those three, so its totals undercount,
quirk 18); the versions beyond the top 12 always fold into one ``other (K versions)`` row,
whatever its size, so the column totals equal the customer count.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from usage_assets.common.formatting import pct
from usage_assets.common.versions import normalized_version
from usage_assets.metrics.versions import semver_key
from usage_assets.sources.export_format import CLOUD_DETECTION_METHODS

FIELD_ABSENT = "(field absent)"
#: Versions shown as their own row; the rest share one "other" row.
TOP_VERSIONS = 12
#: Method columns of :func:`detection_by_version`, in order.
METHOD_COLUMNS: tuple[str, ...] = (*CLOUD_DETECTION_METHODS, FIELD_ABSENT)


def _customer_methods(instances: pl.DataFrame) -> pl.DataFrame:
    return instances.filter(~pl.col("is_internal")).select(
        normalized_version("v").fill_null("unknown").alias("version"),
        pl.col("cloud_detection_method").fill_null(FIELD_ABSENT).alias("method"),
    )


def detection_by_version(instances: pl.DataFrame) -> pl.DataFrame:
    """Customer installs per (version, detection method), newest version first.

    ``instances``: the install table (``is_internal``, ``v``, ``cloud_detection_method``).
    Out columns: ``version`` (String, without a leading ``v``: :func:`~usage_assets.common.versions.normalized_version`;
    a null version is ``"unknown"``), one Int64 column per
    name in :func:`method_columns`, ``total`` (Int64). The 12 versions with the most installs
    (ties: newer version first) each get a row, ordered by :func:`~usage_assets.metrics.versions.semver_key`
    descending (equal keys by version string); the remaining K versions add one last row
    ``"other (K versions)"``. No customers gives an empty frame with these columns.
    """
    methods = _customer_methods(instances)
    columns = method_columns(methods["method"])
    per_version = methods.group_by("version").len("installs").rows()
    # Python's sort is stable, so each pass keeps the order of the previous one for ties.
    by_size = sorted(sorted(per_version), key=lambda row: semver_key(row[0]), reverse=True)
    by_size.sort(key=lambda row: row[1], reverse=True)
    shown = sorted(sorted(version for version, _ in by_size[:TOP_VERSIONS]), key=semver_key, reverse=True)
    rest = len(by_size) - len(shown)
    label = pl.when(pl.col("version").is_in(shown)).then(pl.col("version")).otherwise(
        pl.lit(f"other ({rest} versions)")
    )
    order = {version: position for position, version in enumerate(shown)}
    counts = methods.with_columns(label.alias("version")).group_by("version").agg(
        (pl.col("method") == method).sum().cast(pl.Int64).alias(method) for method in columns
    )
    return (
        counts.with_columns(
            pl.sum_horizontal(columns).cast(pl.Int64).alias("total"),
            pl.col("version").replace_strict(order, default=len(shown), return_dtype=pl.Int64).alias("_order"),
        )
        .sort("_order")
        .drop("_order")
        .select("version", *columns, "total")
    )


def method_columns(methods: Iterable[str]) -> list[str]:
    """:data:`METHOD_COLUMNS`, with any other method a newer registry sent (a kept new
    value, see ``ingest/validation.py``) after the known ones, by name, before ``(field absent)``."""
    known = [*CLOUD_DETECTION_METHODS, *sorted(set(methods) - set(METHOD_COLUMNS))]
    return [*known, FIELD_ABSENT]


def detection_breakdown(instances: pl.DataFrame) -> list[dict]:
    """Customer installs per latest detection method.

    Rows ``{method, instances, percentage}`` (percentage of customers, 1 dp), never-reported
    as ``"(field absent)"``; sorted (-instances, method). No customers gives ``[]``.
    """
    methods = _customer_methods(instances)
    counted = methods.group_by("method").len("instances").sort(["instances", "method"], descending=[True, False])
    return [
        {"method": method, "instances": int(n), "percentage": pct(n, methods.height)}
        for method, n in counted.iter_rows()
    ]
