"""The report's 15 charts: for each, its reference file name, caption, the lake datasets
it is drawn from, and how to draw it from them.

:data:`CHARTS` is the one list the chart assets, the report and the tests share. A
chart's ``inputs`` are exactly the datasets its ``draw`` reads, so each chart asset can
declare only its own upstream assets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Self

from usage_assets.charts import fleet, growth
from usage_assets.charts.parallel import SharedDrawing, helper_useful, young_garbage_only
from usage_assets.daily.internal import customers
from usage_assets.metrics.retention import adoption_funnel
from usage_assets.storage.datasets import (
    BUILD_KINDS,
    CLOUD_DETECTION,
    COMPUTE_TIMESERIES,
    CUMULATIVE_INSTALLS,
    DAILY_REPORTERS,
    ENGAGEMENT,
    FLEET_METRICS,
    INSTALL_FORECAST,
    INSTALL_TIMESERIES,
    INSTANCES,
    LIFETIME_BUCKETS,
    LIVENESS,
    LTV_SPEND_BY_DAY,
)
from usage_assets.storage.lake import Lake


@dataclass(frozen=True)
class ChartSpec:
    """One chart of day D.

    ``stem``: the reference's file name without ``.png``; ``name``: the asset name (under
    ``charts/``), which says what is drawn; ``caption``: the report's caption;
    ``inputs``: the lake datasets ``draw`` reads; ``draw(lake, day)``: the PNG bytes.
    """

    stem: str
    name: str
    caption: str
    inputs: tuple[str, ...]
    draw: Callable[[Lake, date], bytes]

    @property
    def filename(self) -> str:
        return f"{self.stem}.png"


def _distribution(lake: Lake, day: date, which: str, title: str) -> bytes:
    distributions = lake.read_json(FLEET_METRICS, day)["install_distributions"][which]
    return fleet.install_distribution_chart(distributions, title)


def _customers(lake: Lake, day: date):
    return customers(lake.read_frame(INSTANCES, day))


def _funnel(lake: Lake, day: date) -> bytes:
    rows = adoption_funnel(
        lake.read_json(FLEET_METRICS, day)["stickiness"], lake.read_json(LIVENESS, day)["counts"]["confirmed"]
    )
    return fleet.adoption_funnel_chart(rows, day)


CHARTS = (
    ChartSpec(
        "registry-installs-timeseries", "registry_installs_timeseries",
        "Installs by cloud over time: cumulative, active per day and new per day (all installs, UTC days).",
        (INSTALL_TIMESERIES,),
        lambda lake, day: growth.installs_timeseries_chart(lake.read_frame(INSTALL_TIMESERIES, day), day),
    ),
    ChartSpec(
        "instance-distribution", "instance_distribution",
        "Unique installs by deployment profile, every install seen up to the report date (latest reported values).",
        (FLEET_METRICS,),
        lambda lake, day: _distribution(
            lake, day, "all_installs", f"Unique installs by deployment profile, all installs up to {day} (UTC)"
        ),
    ),
    ChartSpec(
        "instance-distribution-active", "instance_distribution_active",
        "Unique installs by deployment profile, installs with at least one event on the report date.",
        (FLEET_METRICS,),
        lambda lake, day: _distribution(
            lake, day, "active_on_report_date", f"Unique installs by deployment profile, active on {day} (UTC)"
        ),
    ),
    ChartSpec(
        "instance-lifetime", "instance_lifetime",
        "Customer install lifetime in days between first and last UTC day seen: histogram, spread and buckets.",
        (INSTANCES,),
        lambda lake, day: fleet.lifetime_chart(_customers(lake, day)["age_days"].to_list(), day),
    ),
    ChartSpec(
        "instance-lifetime-box-by-compute", "instance_lifetime_box_by_compute",
        "Customer install lifetime by compute platform (latest reported platform).",
        (INSTANCES,),
        lambda lake, day: fleet.lifetime_box_by_compute_chart(_customers(lake, day).select("compute", "age_days"), day),
    ),
    ChartSpec(
        "lifetime-buckets", "retention_over_time",
        "Customer lifetime retention over time: one-day wonders and installs reporting over 3+/7+/14+/30+ days, ages as of each day.",
        (LIFETIME_BUCKETS,),
        lambda lake, day: growth.lifetime_buckets_chart(lake.read_frame(LIFETIME_BUCKETS, day), day),
    ),
    ChartSpec(
        "active-instances", "active_instances",
        "Customer engagement per UTC day: daily active installs (DAI), 7-day mean, 7-day streak and Likely Alive.",
        (ENGAGEMENT,),
        lambda lake, day: growth.active_instances_chart(lake.read_frame(ENGAGEMENT, day), day),
    ),
    ChartSpec(
        "compute-installs-timeseries", "compute_installs_timeseries",
        "Installs by compute platform over time: cumulative and active per day (all installs, UTC days).",
        (COMPUTE_TIMESERIES,),
        lambda lake, day: growth.compute_installs_timeseries_chart(lake.read_frame(COMPUTE_TIMESERIES, day), day),
    ),
    ChartSpec(
        "install-forecast", "install_forecast",
        "Cumulative identified installs with the 14-day least-squares trend, its 95% band and the 7-day pace.",
        (CUMULATIVE_INSTALLS, INSTALL_FORECAST),
        lambda lake, day: growth.install_forecast_chart(
            lake.read_frame(CUMULATIVE_INSTALLS, day), lake.read_json(INSTALL_FORECAST, day), day
        ),
    ),
    ChartSpec(
        "daily-reporters", "daily_reporters",
        "AWS customer installs reporting each UTC day: all, with at least 2 events, with at least 2 days.",
        (DAILY_REPORTERS,),
        lambda lake, day: growth.daily_reporters_chart(lake.read_frame(DAILY_REPORTERS, day), day),
    ),
    ChartSpec(
        "ltv-spend", "ltv_spend",
        "Hypothetical AWS spend of customer installs at list price, cumulative and per day, under the three counting rules.",
        (LTV_SPEND_BY_DAY,),
        lambda lake, day: growth.ltv_spend_chart(lake.read_frame(LTV_SPEND_BY_DAY, day), day),
    ),
    ChartSpec(
        "adoption-funnel", "adoption_funnel",
        "Adoption funnel of customer installs, from every install to Confirmed Alive.",
        (FLEET_METRICS, LIVENESS),
        _funnel,
    ),
    ChartSpec(
        "detection-by-version", "detection_by_version",
        "How customer installs detected their cloud, by latest version (every detection method).",
        (CLOUD_DETECTION,),
        lambda lake, day: fleet.detection_by_version_chart(lake.read_frame(CLOUD_DETECTION, day), day),
    ),
    ChartSpec(
        "prod-internal-timeseries", "prod_internal_timeseries",
        "Community builds (release tags) and internal builds over time: cumulative and active per UTC day.",
        (BUILD_KINDS,),
        lambda lake, day: fleet.prod_internal_timeseries_chart(lake.read_json(BUILD_KINDS, day)["timeseries"], day),
    ),
    ChartSpec(
        "auth-path-mix", "auth_path_mix",
        "Authentication paths in use (schema v6 heartbeats, weighted by request volume) and how many installs report them.",
        (FLEET_METRICS,),
        lambda lake, day: fleet.auth_path_mix_chart(lake.read_json(FLEET_METRICS, day)["auth_path"], day),
    ),
)

#: The chart shown inline in the usage_report asset's summary in the Dagster UI.
HEADLINE_CHART = CHARTS[0]


class ChartDrawer:
    """Draws every chart of :data:`CHARTS` from ``lake``, for as many days as asked.

    A helper process draws some of each day's charts
    (:class:`usage_assets.charts.parallel.SharedDrawing`): ``shared``, one started earlier
    (used as is, left running), else one started for this drawer's life when ``helper``
    (by default: when :func:`usage_assets.charts.parallel.helper_useful`, a second core is
    idle). The bytes are the same either way. The helper opens the lake by its local
    path, so a lake in S3 is drawn in this process. Use it as a context manager.
    """

    def __init__(self, lake: Lake, *, helper: bool | None = None, shared: SharedDrawing | None = None):
        self._lake = lake
        self._specs = {spec.stem: spec for spec in CHARTS}
        self._owned: SharedDrawing | None = None
        if not isinstance(lake.root, Path):
            shared = None
        elif shared is None and (helper_useful() if helper is None else helper):
            shared = self._owned = SharedDrawing()
        self._shared = shared

    def __enter__(self) -> Self:
        if self._owned is not None:
            self._owned.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owned is not None:
            self._owned.close()

    @property
    def helped(self) -> int:
        """How many charts of the last :meth:`draw` the helper process drew (0 without one)."""
        return self._shared.helped if self._shared is not None else 0

    def draw(self, day: date) -> dict[ChartSpec, bytes]:
        """PNG bytes of every chart of ``day``, in catalog order. Raises what a chart's
        ``draw`` raises (a missing input: ``MissingPartitionsError``)."""
        with young_garbage_only():
            if self._shared is None:
                return {spec: spec.draw(self._lake, day) for spec in CHARTS}
            pngs = self._shared.draw(
                list(self._specs), lambda stem: self._specs[stem].draw(self._lake, day), self._lake.root, day
            )
        return {self._specs[stem]: png for stem, png in pngs.items()}


def draw_charts(lake: Lake, day: date, *, helper: bool | None = None) -> dict[ChartSpec, bytes]:
    """PNG bytes of every chart of :data:`CHARTS` for ``day``, drawn from ``lake``, in
    catalog order: :meth:`ChartDrawer.draw` for one day (``helper`` as there)."""
    with ChartDrawer(lake, helper=helper) as drawer:
        return drawer.draw(day)
