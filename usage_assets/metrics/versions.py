"""Version strings: release tags versus internal builds, version order, upgrades and builds.

- :func:`build_kind` classifies one version string (release tag, internal build, empty);
- :func:`semver_key` orders version strings newest first (reference 7.2, version adoption);
- :func:`upgrade_trajectories` lists customers that ran more than one version (reference 6.1);
- :func:`build_summary` is the ``prod-internal-D.json`` payload: installs by build class
  (reference 6.11).

Differences from the reference: the build class is the version rule alone, so an
allowlisted install running a release tag counts as community (the reference moves every
allowlist token to "internal"). Customer versus internal install is a separate notion
(``is_internal``) reported elsewhere; mixing the two here would count the same install
differently in two sections. Trajectories match customers by ``is_internal``, not by an
exact id comparison against the allowlist.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import polars as pl

from usage_assets.common.days import day_range
from usage_assets.common.formatting import short_id
from usage_assets.common.versions import normalized_version

# A release tag as published (optionally "v"-prefixed, optionally a "-pN" patch suffix);
# git-describe output, bare hashes and "dev" are internal builds (reference 6.11).
_RELEASE_TAG = re.compile(r"^v?\d+\.\d+\.\d+(-p\d+)?$")

#: Build classes in display order.
BUILD_KINDS = ("community", "internal", "unknown")


def build_kind(version: str | None) -> str:
    """``"community"`` for a release tag, ``"internal"`` for any other build, ``"unknown"`` if empty."""
    if not version:
        return "unknown"
    return "community" if _RELEASE_TAG.match(version) else "internal"


def semver_key(version: str | None) -> tuple[int, ...]:
    """Sort key of a version string; sort with ``reverse=True`` for newest first.

    A leading ``v`` is stripped; the release's dot-separated parts (padded to three) come
    first, then the ``N`` of a ``-pN`` patch suffix, so ``1.28.0-p1`` is newer than
    ``1.28.0``. Any other suffix is dropped, so a git-describe build sorts with the release
    it was cut from (``1.24.1-25-g5b4b2a30-main`` -> ``(1, 24, 1, 0)``). Parts that are not
    all digits count as 0 (a bare hash is ``(0, 0, 0, 0)``, as are ``None`` and ``""``).
    """
    release, _, suffix = (version or "").removeprefix("v").partition("-")
    parts = [int(part) if part.isdigit() else 0 for part in release.split(".")]
    parts += [0] * (3 - len(parts))
    patch = re.fullmatch(r"p(\d+)", suffix)
    return (*parts, int(patch.group(1)) if patch else 0)


def upgrade_trajectories(instances: pl.DataFrame) -> list[dict]:
    """Customers that reported at least two distinct versions, most upgrades first.

    ``instances``: the install table (``registry_id``, ``is_internal``,
    ``version_trajectory`` List(String) of normalized versions, ``version_changes`` Int64). Rows
    ``{registry_id (short id), registry_id_full, version_changes, trajectory}`` where the
    trajectory lists distinct versions in first-seen order (a downgrade back to an earlier
    version does not add an entry). Sorted by (-version_changes, registry_id_full).
    """
    upgraded = instances.filter(~pl.col("is_internal"), pl.col("version_changes") >= 1).sort(
        ["version_changes", "registry_id"], descending=[True, False]
    )
    return [
        {
            "registry_id": short_id(row["registry_id"]),
            "registry_id_full": row["registry_id"],
            "version_changes": int(row["version_changes"]),
            "trajectory": list(row["version_trajectory"]),
        }
        for row in upgraded.iter_rows(named=True)
    ]


def _count_by_kind(frame: pl.DataFrame) -> dict[str, int]:
    counts = {kind: int((frame["build"] == kind).sum()) for kind in BUILD_KINDS}
    return {**counts, "total": frame.height}


def build_summary(instances: pl.DataFrame, history: pl.LazyFrame, first: date, day: date) -> dict:
    """Installs by build class as of the end of UTC ``day`` (``prod-internal-D.json``).

    ``instances``: the install table as of ``day`` (``registry_id``, ``first_seen`` Date,
    ``v`` = latest non-empty version); ``history``: ``instance_days`` covering
    ``first..day`` (``date``, ``registry_id``), same report day as ``instances``. The class
    of an install is :func:`build_kind` of its latest version and holds for every day of
    the series (one class per install, as in the reference).

    Keys: ``yesterday_date`` (ISO ``day``); ``yesterday`` and ``cumulative``
    ``{community, internal, unknown, total}`` = installs active on ``day`` / first seen on
    or before ``day``; ``per_version`` ``{community, internal: [{version, instances}]}``
    over every install, sorted (-instances, version), versions counted once whatever their
    spelling (:func:`usage_assets.common.versions.normalized_version`; the report's
    version adoption shows the spellings); ``timeseries``: one dict per UTC day
    ``first..day`` with ``date`` (ISO), the daily active installs per class and
    ``cumulative_<class>`` = installs of that class first seen on or before the date
    (installs first seen before ``first`` count from ``first`` on). Empty input gives zeros.
    """
    classes = _build_classes(instances)
    active = (
        history.filter(pl.col("registry_id").is_not_null(), pl.col("date").is_between(first, day))
        .select("date", "registry_id")
        .unique()
        .collect()
        .join(classes.select("registry_id", "build"), on="registry_id")
    )
    per_kind = [(pl.col("build") == kind).sum().cast(pl.Int64).alias(kind) for kind in BUILD_KINDS]
    daily = active.group_by("date").agg(per_kind)
    # An install first seen before the series starts is already counted on its first day.
    new = (
        classes.filter(pl.col("first_seen") <= day)
        .group_by(pl.max_horizontal("first_seen", pl.lit(first)).alias("date"))
        .agg(per_kind)
        .rename({kind: f"new_{kind}" for kind in BUILD_KINDS})
    )
    series = (
        pl.DataFrame({"date": day_range(first, day)}, schema={"date": pl.Date})
        .join(daily, on="date", how="left")
        .join(new, on="date", how="left")
        .fill_null(0)
        .with_columns(pl.col(f"new_{kind}").cum_sum().alias(f"cumulative_{kind}") for kind in BUILD_KINDS)
        .select(
            pl.col("date").dt.to_string("%Y-%m-%d"),
            *BUILD_KINDS,
            *(f"cumulative_{kind}" for kind in BUILD_KINDS),
        )
    )
    return _summary(classes, active.filter(pl.col("date") == day), series.to_dicts(), day)


def same_build_classes(before: pl.DataFrame, instances: pl.DataFrame) -> bool:
    """Whether every install of the table ``before`` (the install table of D-1) has the
    build class (:func:`build_kind` of its latest version) it has in ``instances`` (the
    table of D): then :func:`build_summary_extended` applies. An install whose latest
    version moved between a release tag and an internal build (or from none) on D moves
    every earlier day it was active from one class to the other."""
    then = _build_classes(before).select("registry_id", "build")
    now = _build_classes(instances).select("registry_id", pl.col("build").alias("build_now"))
    return then.join(now, on="registry_id", how="left").filter(pl.col("build") != pl.col("build_now")).is_empty()


def build_summary_extended(previous: dict, instances: pl.DataFrame, day_layer: pl.DataFrame, day: date) -> dict:
    """:func:`build_summary` of ``day`` from the summary of ``day - 1`` and day D alone:
    equal to the summary over all history when ``previous`` is that summary and no install
    seen before D changed class on D (:func:`same_build_classes`): earlier days keep their
    counts, and D's row counts D's active installs and adds the installs first seen on D.

    ``previous``: the ``prod-internal`` payload of D-1 (its ``timeseries`` must end on D-1
    with a cumulative count per class, else ``ValueError``: the caller computes the whole
    series); ``instances``: the install
    table of D; ``day_layer``: ``instance_days`` of D.
    """
    rows = previous.get("timeseries")
    if not rows or rows[-1].get("date") != (day - timedelta(days=1)).isoformat():
        raise ValueError(f"builds of {day} extend a series ending the day before")
    if any(f"cumulative_{kind}" not in rows[-1] for kind in BUILD_KINDS):
        raise ValueError(f"builds of {day} extend a series with cumulative counts per class")
    classes = _build_classes(instances)
    active = (
        day_layer.filter(pl.col("registry_id").is_not_null())
        .select("registry_id")
        .unique()
        .join(classes.select("registry_id", "build"), on="registry_id")
    )
    new = classes.filter(pl.col("first_seen") == day)
    row = {
        "date": day.isoformat(),
        **{kind: int((active["build"] == kind).sum()) for kind in BUILD_KINDS},
        **{
            f"cumulative_{kind}": rows[-1][f"cumulative_{kind}"] + int((new["build"] == kind).sum())
            for kind in BUILD_KINDS
        },
    }
    return _summary(classes, active, [*rows, row], day)


def _build_classes(instances: pl.DataFrame) -> pl.DataFrame:
    """``registry_id``, ``first_seen``, ``v`` and ``build`` (:func:`build_kind` of ``v``) of every install."""
    return instances.select(
        "registry_id",
        "first_seen",
        "v",
        instances["v"].map_elements(build_kind, return_dtype=pl.String, skip_nulls=False).alias("build"),
    )


def _summary(classes: pl.DataFrame, active_on_day: pl.DataFrame, timeseries: list[dict], day: date) -> dict:
    """The ``prod-internal-D.json`` payload from the classes of every install, the installs
    active on ``day`` (with ``build``) and the daily rows (see :func:`build_summary`)."""
    per_version = {}
    for kind in ("community", "internal"):
        counted = (
            classes.filter(pl.col("build") == kind)
            .group_by(normalized_version("v").alias("version"))
            .len("instances")
            .sort(["instances", "version"], descending=[True, False])
        )
        per_version[kind] = [
            {"version": version, "instances": int(n)} for version, n in counted.iter_rows()
        ]
    return {
        "yesterday_date": day.isoformat(),
        "yesterday": _count_by_kind(active_on_day),
        "cumulative": _count_by_kind(classes.filter(pl.col("first_seen") <= day)),
        "per_version": per_version,
        "timeseries": timeseries,
    }
