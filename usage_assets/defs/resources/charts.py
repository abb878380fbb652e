"""The chart helper: a second process drawing charts, started when a run that draws them starts."""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr

from usage_assets.charts.catalog import ChartDrawer
from usage_assets.charts.parallel import SharedDrawing, helper_useful
from usage_assets.storage.lake import Lake


class ChartHelper(dg.ConfigurableResource):
    """A helper process that draws some of the charts beside the run's process
    (:class:`usage_assets.charts.parallel.SharedDrawing`).

    Dagster sets a resource up when a run whose steps use it starts (with the in-process
    executor, once, before the first step) and tears it down when the run ends. So the
    helper's start-up, about a second of imports, overlaps the report run's earlier steps
    instead of its charts step, and a run over several days uses one helper. It is started
    only when a core is idle (:func:`usage_assets.charts.parallel.helper_useful`); without it
    the charts are drawn in the run's process, with the same bytes.
    """

    _shared: SharedDrawing | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if helper_useful():
            self._shared = SharedDrawing()
            self._shared.start()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._shared is not None:
            self._shared.close()
            self._shared = None

    def drawer(self, lake: Lake) -> ChartDrawer:
        """A :class:`usage_assets.charts.catalog.ChartDrawer` of ``lake`` drawing with this
        helper, if it runs (and in this process alone otherwise)."""
        return ChartDrawer(lake, helper=False, shared=self._shared)
