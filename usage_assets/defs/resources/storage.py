"""Resources naming where the pipeline keeps its data and writes its reports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg

from usage_assets.daily.internal import InternalAllowlist
from usage_assets.metrics.spend import CostModel, load_cost_model
from usage_assets.storage.lake import Lake, MissingPartitionsError


class MissingUpstreamFailure(MissingPartitionsError, dg.Failure):
    """A :class:`MissingPartitionsError` inside a run, which is also a ``dg.Failure``: the
    step fails with the error's one line as its description (no traceback of a crash)
    and is never retried, since the days stay missing until they are built."""

    def __init__(self, dataset: str, days: list[date]):
        MissingPartitionsError.__init__(self, dataset, days)
        dg.Failure.__init__(self, description=str(self), allow_retries=False)


class RunLake(Lake):
    """The lake as assets see it: reads of missing days raise :class:`MissingUpstreamFailure`."""

    def missing(self, dataset: str, days: list[date]) -> MissingPartitionsError:
        return MissingUpstreamFailure(dataset, days)


class DataLake(dg.ConfigurableResource):
    """The day-partitioned data lake under ``data_dir`` (see :mod:`usage_assets.storage.lake`)."""

    data_dir: str

    def lake(self) -> Lake:
        """The lake rooted at ``data_dir`` (a :class:`RunLake`: a missing upstream day fails
        the step with one line naming it and how to build it)."""
        return RunLake(self.data_dir)


class ReportConfig(dg.ConfigurableResource):
    """Report output folder, jinja2 templates, the internal-installs allowlist and the
    report's configured figures.

    ``reports_dir``: reports are written to ``<reports_dir>/<YYYY-MM-DD>/``.
    ``templates_dir``: folder holding ``report.md.j2`` and ``report.html.j2``.
    ``internal_instances``: path of ``known-internal-instances.md``, or None.
    ``cost_model``: path of the infra-spend cost model JSON (``cost_model.json``).
    ``forecast_target``: installs the forecast gives an ETA for. Built from
    :class:`usage_assets.settings.Settings` (where the defaults are), paths resolved.
    """

    reports_dir: str
    templates_dir: str
    internal_instances: str | None
    cost_model: str
    forecast_target: int

    def allowlist(self) -> InternalAllowlist:
        """The parsed allowlist; raises ``FileNotFoundError`` for a path that does not exist."""
        return InternalAllowlist.from_file(self.internal_instances)

    def spend_model(self) -> CostModel:
        """The parsed cost model; raises ``ValueError`` naming the file and the bad field."""
        return load_cost_model(Path(self.cost_model))

