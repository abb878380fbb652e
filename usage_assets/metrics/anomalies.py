"""Anomalies of report day D: what a maintainer would want to hear without reading the report.

:func:`detect_anomalies` evaluates every check of day D from the install table and the
daily layer up to D, and returns one JSON-ready entry per check with its value, baseline,
threshold and a one-line reason. The ``anomalies`` asset stores that document; the asset
checks and the report's first section both read it, so they always show the same numbers,
and a backfilled day gives the same result as a run on that day (nothing but D's inputs).

Three kinds of check (docs/anomalies.md):

* **Robust baseline** (:func:`robust_check`): a daily series compared with its own trailing
  :attr:`AnomalyRule.baseline_days` days (D-28..D-1): median and MAD (median absolute
  deviation). It fires when ``|value - median| > max(k * 1.4826 * MAD, r * |median|, floor)``,
  1.4826 * MAD being the standard deviation of normal noise. Series: daily active customer
  installs, heartbeats per active customer install, new customer installs, and the share
  of active customer installs on the two newest releases. No alert before the series has
  ``baseline_days`` days before D.
* **Day-over-day shifts** (:func:`dimension_check`): a cloud, compute platform or version
  whose active customer installs change by more than a share between D-1 and D, counted
  only where either day has at least ``dimension_min_installs`` of them (the same
  ``baseline_days`` of history are required).
* **Telemetry health** (:func:`v6_fields_check`): once any install has reported schema 6,
  the installs that did must keep carrying ``schema_version`` on their heartbeats; a
  collector that silently drops the v6 fields makes that share fall.

No Dagster here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from statistics import median

import polars as pl

from usage_assets.common.days import day_range
from usage_assets.common.versions import normalized_version
from usage_assets.metrics.versions import build_kind, semver_key

#: 1.4826 * MAD estimates the standard deviation of normally distributed values.
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class AnomalyRule:
    """The checks' parameters.

    Attributes:
        baseline_days: Trailing days (D-n..D-1) of the robust baseline; no check alerts
            before the history has that many days before D.
        threshold_mads: ``k``: allowed deviation in robust standard deviations.
        min_relative_change: ``r``: the allowed deviation is never below this share of the
            baseline (a flat series has MAD 0).
        dimension_change_share: A cloud/compute/version whose active installs change by
            more than this share of the larger of D-1's and D's counts fires (0.5: doubled
            or halved).
        dimension_min_installs: ... when D-1 or D counts at least this many of them.
        v6_min_share: Lowest share of known schema-6 installs whose heartbeats on D carry
            ``schema_version``.
        v6_min_installs: The health check needs at least this many such installs on D.

    """

    baseline_days: int = 28
    threshold_mads: float = 4.0
    min_relative_change: float = 0.25
    dimension_change_share: float = 0.5
    dimension_min_installs: int = 20
    v6_min_share: float = 0.9
    v6_min_installs: int = 5


@dataclass(frozen=True)
class Series:
    """A robust-baseline check: its name, title, the series column and a threshold floor."""

    name: str
    title: str
    column: str
    floor: float
    unit: str = ""


#: The robust-baseline checks, in the order the report lists them.
SERIES_CHECKS: tuple[Series, ...] = (
    Series("daily_active_customers", "Daily active customer installs", "daily_active", 3.0),
    Series("heartbeats_per_active_install", "Heartbeats per active customer install", "heartbeats_per_active", 0.5),
    Series("new_installs", "New customer installs", "new_installs", 3.0),
    Series(
        "newest_release_share", "Active customer installs on the two newest releases", "newest_release_pct", 10.0, "%"
    ),
)
#: The day-over-day checks: (name, dimension).
DIMENSION_CHECKS: tuple[tuple[str, str], ...] = (
    ("cloud_shift", "cloud"),
    ("compute_shift", "compute"),
    ("version_shift", "version"),
)
V6_CHECK = "v6_fields_stored"
#: Every check name, in report order.
CHECK_NAMES: tuple[str, ...] = (*(s.name for s in SERIES_CHECKS), *(n for n, _ in DIMENSION_CHECKS), V6_CHECK)
#: What each check watches, in a sentence (the asset checks' descriptions).
CHECK_DESCRIPTIONS: dict[str, str] = {
    **{s.name: f"{s.title} on D against the trailing days' robust line and MAD." for s in SERIES_CHECKS},
    **{
        name: f"A {dimension} whose active customer installs doubled or halved between D-1 and D."
        for name, dimension in DIMENSION_CHECKS
    },
    V6_CHECK: "The share of schema-6 installs whose heartbeats on D still carry schema_version (a collector "
    "that silently drops the v6 fields).",
}


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


def _entry(name: str, title: str, *, evaluated: bool, fired: bool, value, baseline, threshold, reason: str) -> dict:
    return {
        "name": name,
        "title": title,
        "evaluated": evaluated,
        "fired": fired,
        "value": _round(value),
        "baseline": _round(baseline),
        "threshold": _round(threshold),
        "reason": reason,
    }


def _not_evaluated(name: str, title: str, value, reason: str, threshold: float | None = None) -> dict:
    """The entry of a check that could not be evaluated on D (it never fires), and why."""
    return _entry(
        name, title, evaluated=False, fired=False, value=value, baseline=None, threshold=threshold, reason=reason
    )


def _number(value: float, unit: str) -> str:
    return f"{value:,.1f}{unit}" if unit or value != int(value) else f"{int(value):,}"


def robust_baseline(points: Sequence[tuple[int, float]]) -> tuple[float, float]:
    """``(expected value at t = 0, MAD of the residuals)`` of ``points`` ``(t, value)``
    (t in days relative to D, negative): the Theil-Sen line (median of the pairwise
    slopes, median intercept), so a steadily growing fleet is not an anomaly; for a flat
    series it is the plain median and MAD. Needs at least one point."""
    slopes = [(b - a) / (tb - ta) for i, (ta, a) in enumerate(points) for tb, b in points[i + 1 :] if tb != ta]
    slope = median(slopes) if slopes else 0.0
    intercept = median(value - slope * t for t, value in points)
    residuals = [value - (intercept + slope * t) for t, value in points]
    return intercept, median(abs(r) for r in residuals)


def robust_check(check: Series, series: pl.DataFrame, day: date, rule: AnomalyRule) -> dict:
    """Compare ``check.column`` of ``series`` (``date`` + that column, one row per day up
    to ``day``; null = no value that day) on ``day`` with its trailing baseline.

    ``threshold`` is the allowed deviation from the baseline (the median). Not evaluated
    (never fired) when fewer than ``rule.baseline_days`` days precede ``day`` or ``day``
    has no value.
    """
    start = day - timedelta(days=rule.baseline_days)
    window_points = [
        ((when - day).days, float(value))
        for when, value in series.filter(pl.col("date") >= start, pl.col("date") < day)
        .select("date", check.column)
        .drop_nulls()
        .iter_rows()
    ]
    window = [value for _t, value in window_points]
    today = series.filter(pl.col("date") == day)[check.column].to_list()
    value = today[0] if today else None
    first = series["date"].min() if series.height else day
    if first > start or len(window) < rule.baseline_days // 2:
        return _not_evaluated(
            check.name,
            check.title,
            value,
            f"Not evaluated: the baseline needs {rule.baseline_days} days of history before {day}.",
        )
    if value is None:
        return _not_evaluated(check.name, check.title, None, f"Not evaluated: no value on {day}.")
    baseline, mad = robust_baseline(window_points)
    threshold = max(rule.threshold_mads * MAD_TO_SIGMA * mad, rule.min_relative_change * abs(baseline), check.floor)
    deviation = value - baseline
    fired = abs(deviation) > threshold
    # A difference of two percentages is in percentage points.
    apart = " pp" if check.unit == "%" else check.unit
    shown = f"{check.title} on {day}: {_number(value, check.unit)}"
    median_text = f"{_number(baseline, check.unit)} expected from the last {rule.baseline_days} days"
    if fired:
        direction = "above" if deviation > 0 else "below"
        reason = (
            f"{shown}, {_number(abs(deviation), apart)} {direction} the {median_text} "
            f"(allowed ±{_number(threshold, apart)})."
        )
    else:
        reason = f"{shown}, within ±{_number(threshold, apart)} of the {median_text}."
    return _entry(
        check.name,
        check.title,
        evaluated=True,
        fired=fired,
        value=value,
        baseline=baseline,
        threshold=threshold,
        reason=reason,
    )


def dimension_check(
    name: str,
    dimension: str,
    today: dict[str, int],
    yesterday: dict[str, int],
    day: date,
    rule: AnomalyRule,
    evaluated: bool = True,
) -> dict:
    """Active customer installs per value of ``dimension`` on ``day`` (``today``) and the
    day before (``yesterday``). Fires for each value with ``max(before, now) >=
    rule.dimension_min_installs`` whose change exceeds ``rule.dimension_change_share`` of
    ``before`` (a value absent before counts as before = 0, an infinite change).

    ``value`` is the largest relative change (a share; null when there are no counts),
    ``baseline`` that value's count on D-1, ``threshold`` the share.
    """
    title = f"Active customer installs per {dimension}, day over day"
    if not evaluated:
        return _not_evaluated(
            name, title, None, f"Not evaluated: the check needs {rule.baseline_days} days of history before {day}."
        )
    shifts = []
    for key in sorted(set(today) | set(yesterday)):
        before, now = yesterday.get(key, 0), today.get(key, 0)
        if max(before, now) < rule.dimension_min_installs:
            continue
        # Relative to the larger day, so doubling and halving are the same size (0.5).
        change = (now - before) / max(before, now)
        shifts.append((abs(change), key, before, now, change))
    shifts.sort(key=lambda item: (-item[0], item[1]))
    fired_shifts = [shift for shift in shifts if shift[0] > rule.dimension_change_share]
    threshold = rule.dimension_change_share
    if not shifts:
        return _entry(
            name,
            title,
            evaluated=True,
            fired=False,
            value=None,
            baseline=None,
            threshold=threshold,
            reason=f"No {dimension} counts {rule.dimension_min_installs}+ active customer installs on "
            f"{day - timedelta(days=1)} or {day}.",
        )
    largest = fired_shifts[0] if fired_shifts else shifts[0]
    described = "; ".join(
        f"{key[:40]} {before:,} → {now:,}" for _abs, key, before, now, change in (fired_shifts or shifts[:1])
    )
    if fired_shifts:
        reason = f"{dimension.capitalize()} install counts moved more than {threshold:.0%} in a day: {described}."
    else:
        reason = f"No {dimension} moved more than {threshold:.0%} in a day (largest: {described})."
    value = largest[4]
    return _entry(
        name,
        title,
        evaluated=True,
        fired=bool(fired_shifts),
        value=value,
        baseline=largest[2],
        threshold=threshold,
        reason=reason,
    )


def v6_fields_check(expected: int, carrying: int, schema6_seen: bool, day: date, rule: AnomalyRule) -> dict:
    """Telemetry health: of the ``expected`` installs that reported schema 6 before ``day``
    and sent heartbeats on it, ``carrying`` sent ``schema_version`` with them. Fires when
    the share is below ``rule.v6_min_share`` (with at least ``rule.v6_min_installs``)."""
    title = "Heartbeats of schema-6 installs carrying the v6 fields"
    if not schema6_seen:
        return _not_evaluated(
            V6_CHECK,
            title,
            None,
            f"Not evaluated: no install reported schema 6 before {day}.",
            threshold=rule.v6_min_share,
        )
    if expected < rule.v6_min_installs:
        return _not_evaluated(
            V6_CHECK,
            title,
            None,
            f"Not evaluated: {expected:,} schema-6 installs sent heartbeats on {day} (needs {rule.v6_min_installs}).",
            threshold=rule.v6_min_share,
        )
    share = carrying / expected
    fired = share < rule.v6_min_share
    reason = (
        f"{carrying:,} of {expected:,} schema-6 installs sent schema_version with their heartbeats on {day} "
        f"({share:.0%}; expected at least {rule.v6_min_share:.0%})"
        + (": the collector may be dropping the v6 fields." if fired else ".")
    )
    return _entry(
        V6_CHECK,
        title,
        evaluated=True,
        fired=fired,
        value=share,
        baseline=1.0,
        threshold=rule.v6_min_share,
        reason=reason,
    )


def daily_series(
    history: pl.LazyFrame, instances: pl.DataFrame, first: date, day: date, known_releases: Sequence[str] = ()
) -> pl.DataFrame:
    """The robust checks' series over customer installs, one row per day ``first``..``day``:
    ``date``, ``daily_active`` (installs with an event), ``heartbeats_per_active``
    (heartbeats / daily_active; null without actives), ``new_installs`` (first seen that
    day), ``newest_release`` (the newest release tag any install reported up to that
    day; ``1.34.0-p1`` and ``v1.34.0`` are release ``1.34.0``) and ``newest_release_pct``
    (share of active installs whose latest version that day is it or the release before
    it, 0-100; null without actives or release). The release before counts too, or every
    release day would look like a collapse of adoption. Heartbeats per install are capped
    at the day's 90th percentile.

    ``history``: ``instance_days`` covering ``first..day``; ``known_releases``: the
    releases reported before ``first`` (:func:`history_before`), when the series starts
    after the first day of history."""
    customers = instances.filter(~pl.col("is_internal"))["registry_id"]
    rows = (
        history.filter(pl.col("registry_id").is_not_null())
        .select("date", "registry_id", "heartbeat_events", normalized_version("v").alias("v"))
        .collect()
    )
    releases = {version: _release(version) for version in rows["v"].drop_nulls().unique()}
    rows = rows.with_columns(
        pl.col("v").replace_strict(releases, default=None, return_dtype=pl.String).alias("release")
    )
    newest = _newest_release_by_day(rows, first, day, known_releases)
    # Winsorized at the day's 90th percentile: one operator with hourly heartbeats must not
    # look like a fleet-wide change (the median itself is 1 on almost every day).
    capped = pl.col("heartbeat_events").clip(upper_bound=pl.col("heartbeat_events").quantile(0.9).over("date"))
    active = (
        rows.filter(pl.col("registry_id").is_in(customers.implode()))
        .join(newest, on="date", how="left")
        .group_by("date")
        .agg(
            pl.len().cast(pl.Int64).alias("daily_active"),
            capped.sum().alias("heartbeats"),
            ((pl.col("release") == pl.col("newest_release")) | (pl.col("release") == pl.col("previous_release")))
            .fill_null(False)
            .sum()
            .alias("on_newest"),
        )
    )
    new = (
        instances.filter(~pl.col("is_internal"))
        .group_by(pl.col("first_seen").alias("date"))
        .agg(pl.len().cast(pl.Int64).alias("new_installs"))
    )
    days = pl.DataFrame({"date": day_range(first, day)}, schema={"date": pl.Date})
    return (
        days.join(active, on="date", how="left")
        .join(new, on="date", how="left")
        .join(newest.select("date", "newest_release"), on="date", how="left")
        .with_columns(pl.col("daily_active", "new_installs").fill_null(0))
        .select(
            "date",
            "daily_active",
            pl.when(pl.col("daily_active") > 0)
            .then(pl.col("heartbeats") / pl.col("daily_active"))
            .alias("heartbeats_per_active"),
            "new_installs",
            "newest_release",
            pl.when((pl.col("daily_active") > 0) & pl.col("newest_release").is_not_null())
            .then(100.0 * pl.col("on_newest") / pl.col("daily_active"))
            .alias("newest_release_pct"),
        )
        .sort("date")
    )


def _release(version: str) -> str | None:
    """The release a community version is (``1.34.0`` for ``v1.34.0`` and ``1.34.0-p1``);
    None for an internal build."""
    return ".".join(map(str, semver_key(version)[:3])) if build_kind(version) == "community" else None


def _newest_release_by_day(rows: pl.DataFrame, first: date, day: date, known: Sequence[str] = ()) -> pl.DataFrame:
    """``date``, ``newest_release``, ``previous_release``: the two newest releases
    (``_release``) reported by any install on or before each day (null before any), from
    ``rows`` of ``first..day`` and the releases ``known`` before ``first``."""
    seen = rows.filter(pl.col("release").is_not_null()).group_by("release").agg(pl.col("date").min())
    first_seen_by_day: dict[date, list[str]] = {}
    for release, seen_on in seen.iter_rows():
        first_seen_by_day.setdefault(seen_on, []).append(release)
    known = sorted(set(known), key=semver_key)[-2:]
    out = []
    for each in day_range(first, day):
        known = sorted({*known, *first_seen_by_day.get(each, [])}, key=semver_key)[-2:]
        out.append((each, known[-1] if known else None, known[-2] if len(known) == 2 else None))
    return pl.DataFrame(
        out, schema={"date": pl.Date, "newest_release": pl.String, "previous_release": pl.String}, orient="row"
    )


def _active_by(rows: pl.DataFrame, column: str) -> dict[str, int]:
    counts = rows.group_by(pl.col(column).fill_null("unknown")).agg(pl.len())
    return {key: int(n) for key, n in counts.iter_rows()}


def dimension_counts(history: pl.LazyFrame, instances: pl.DataFrame, days: Sequence[date]) -> dict[date, dict]:
    """Active customer installs per cloud, compute (each install's latest value as of D)
    and version (its latest version that day) on each of ``days``."""
    customers = instances.filter(~pl.col("is_internal")).select("registry_id", "cloud", "compute")
    rows = (
        history.filter(pl.col("date").is_in(list(days)))
        .select("date", "registry_id", normalized_version("v").alias("version"))
        .collect()
        .join(customers, on="registry_id", how="inner")
    )
    return {
        each: {
            dimension: _active_by(rows.filter(pl.col("date") == each), dimension)
            for dimension in ("cloud", "compute", "version")
        }
        for each in days
    }


def history_before(history: pl.LazyFrame, start: date) -> tuple[list[str], pl.Series]:
    """What the checks of a day need from the days before ``start`` (the first day of
    their window), in one narrow read of ``history``: the releases (``_release``) that
    identified installs reported, and the registry ids of the installs that reported
    schema 6 or later."""
    rows = (
        history.filter(pl.col("date") < start, pl.col("registry_id").is_not_null())
        .select("registry_id", "v", "schema_version")
        .collect()
    )
    # Few distinct version strings: normalize those, not every row.
    versions = rows["v"].drop_nulls().unique().to_frame().select(normalized_version("v"))["v"].unique()
    releases = sorted({release for version in versions if (release := _release(version)) is not None})
    schema6 = rows.filter(pl.col("schema_version") >= 6)["registry_id"].unique()
    return releases, schema6


def v6_health_counts(history: pl.LazyFrame, day: date, known_before: pl.Series | None = None) -> tuple[bool, int, int]:
    """``(schema6_seen, expected, carrying)``: whether any install reported schema 6
    before ``day``; of those installs, how many sent heartbeats on ``day`` and how many of
    them carried ``schema_version`` (the daily layer keeps its latest non-empty value).

    ``history``: ``instance_days`` up to ``day``, or from a later start when
    ``known_before`` holds the ids of installs that reported schema 6 before it."""
    known = (
        history.filter(pl.col("date") < day, pl.col("schema_version") >= 6, pl.col("registry_id").is_not_null())
        .select("registry_id")
        .unique()
        .collect()["registry_id"]
    )
    if known_before is not None:
        known = pl.concat([known, known_before.cast(known.dtype)]).unique()
    if known.is_empty():
        return False, 0, 0
    today = (
        history.filter(
            pl.col("date") == day, pl.col("registry_id").is_in(known.implode()), pl.col("heartbeat_events") > 0
        )
        .select("schema_version")
        .collect()
    )
    return True, today.height, int(today["schema_version"].is_not_null().sum())


def window_start(first: date, day: date, rule: AnomalyRule = AnomalyRule()) -> date:
    """The first day the checks of ``day`` read whole: ``rule.baseline_days`` before
    ``day``, or ``first`` (the first day of history) when that is later. Earlier days only
    give :func:`history_before`."""
    return max(first, day - timedelta(days=rule.baseline_days))


def detect_anomalies(
    history: pl.LazyFrame,
    instances: pl.DataFrame,
    first: date,
    day: date,
    rule: AnomalyRule = AnomalyRule(),
    window: pl.LazyFrame | None = None,
) -> dict:
    """Every check of ``day``: ``{"date", "rule", "checks": [entry per CHECK_NAMES],
    "fired": [names]}``; an entry is ``{name, title, evaluated, fired, value, baseline,
    threshold, reason}`` (numbers rounded to 3 decimals).

    ``history``: a lazy scan of ``instance_days`` from ``first`` (the first ingested day)
    to ``day``; ``instances``: the install table of ``day``; ``window``: the same scan of
    :func:`window_start`..``day`` alone, when the caller has it (reading a few days'
    files is cheaper than filtering every day's). The checks read their window whole and
    only the releases and schema-6 installs of earlier days (:func:`history_before`).
    """
    start = window_start(first, day, rule)
    if window is None:
        window = history.filter(pl.col("date") >= start)
    releases, schema6 = history_before(history, start) if start > first else ([], None)
    # The robust checks read D-baseline_days..D and the series' first day, which is the
    # same whether the series starts at ``first`` or at ``start`` (see robust_check).
    series = daily_series(window, instances, start, day, releases)
    entries = [robust_check(check, series, day, rule) for check in SERIES_CHECKS]
    enough_history = (day - first).days >= rule.baseline_days
    before = day - timedelta(days=1)
    counts = dimension_counts(window, instances, [before, day]) if enough_history else {}
    for name, dimension in DIMENSION_CHECKS:
        today = counts.get(day, {}).get(dimension, {})
        yesterday = counts.get(before, {}).get(dimension, {})
        entries.append(dimension_check(name, dimension, today, yesterday, day, rule, evaluated=enough_history))
    seen, expected, carrying = v6_health_counts(window, day, schema6)
    entries.append(v6_fields_check(expected, carrying, seen, day, rule))
    return {
        "date": day.isoformat(),
        "rule": asdict(rule),
        "checks": entries,
        "fired": [entry["name"] for entry in entries if entry["fired"]],
    }


def check_entry(findings: dict, name: str) -> dict:
    """The entry of check ``name`` in an ``anomalies`` document; raises ``KeyError`` naming
    it when the document has none (written by an older version: re-materialize the day)."""
    for entry in findings["checks"]:
        if entry["name"] == name:
            return entry
    raise KeyError(f"anomalies of {findings.get('date')} have no check {name!r}; re-materialize that day's anomalies")
