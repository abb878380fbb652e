"""The thresholds above which the data-quality checks on ``raw_events`` warn."""

from __future__ import annotations

import dagster as dg

from usage_assets.settings import QualitySettings


class DataQualityThresholds(QualitySettings, dg.ConfigurableResource):
    """The settings of :class:`usage_assets.settings.QualitySettings`
    (``max_rejected_rows_pct``, ``max_cleared_fields_pct``), shown with the resource in the
    UI so a warning can be read against its threshold."""
