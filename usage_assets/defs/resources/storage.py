"""Resources naming where the pipeline keeps its data and writes its reports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg

from usage_assets.daily.internal import InternalAllowlist
from usage_assets.metrics.spend import CostModel, load_cost_model
from usage_assets.storage.lake import Lake, MissingPartitionsError
from usage_assets.storage.store import S3Options, Store, open_store


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


class S3Config(dg.Config):
    """How to reach S3 when a folder is an ``s3://bucket/prefix`` URL (the settings group
    ``s3``: :class:`usage_assets.settings.S3Settings`); credentials come from the standard
    AWS chain, never from config."""

    endpoint_url: str | None = None
    region: str | None = None

    def options(self) -> S3Options:
        return S3Options(endpoint_url=self.endpoint_url, region=self.region)


class DataLake(dg.ConfigurableResource):
    """The day-partitioned data lake under ``data_dir``, a folder or an ``s3://bucket/prefix``
    URL (see :mod:`usage_assets.storage.lake`)."""

    data_dir: str
    s3: S3Config = S3Config()

    def lake(self) -> Lake:
        """The lake rooted at ``data_dir`` (a :class:`RunLake`: a missing upstream day fails
        the step with one line naming it and how to build it)."""
        return RunLake(self.data_dir, self.s3.options())


class ReportConfig(dg.ConfigurableResource):
    """Report output folder, jinja2 templates, the internal-installs allowlist and the
    report's configured figures.

    ``reports_dir``: reports are written to ``<reports_dir>/<YYYY-MM-DD>/``, a folder or an
    ``s3://bucket/prefix`` URL (reached with ``s3``).
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
    s3: S3Config = S3Config()

    def reports(self) -> Store:
        """The store holding the report folders (:func:`usage_assets.storage.store.open_store`)."""
        return open_store(self.reports_dir, self.s3.options())

    def allowlist(self) -> InternalAllowlist:
        """The parsed allowlist; raises ``FileNotFoundError`` for a path that does not exist."""
        return InternalAllowlist.from_file(self.internal_instances)

    def spend_model(self) -> CostModel:
        """The parsed cost model; raises ``ValueError`` naming the file and the bad field."""
        return load_cost_model(Path(self.cost_model))

