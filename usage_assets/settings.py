"""Settings shared by the CLI, the Dagster UI and the schedule, read from the environment.

Every setting has an environment variable (documented in ``.env.example``); the CLI's
options override them for one command. ``dagster dev`` and ``usage-report`` both load a
``.env`` file from the project root, so the UI, the schedule and the CLI see one source.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("demo", "csv")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says which variable to fix."""


@dataclass(frozen=True)
class Settings:
    """Where events come from and where outputs go.

    ``source``: ``demo`` (built-in simulated fleet) or ``csv`` (reference exports at
    ``csv_path``). ``internal_instances``: optional allowlist file of internal installs
    (for ``demo``, the simulator's own list is used when unset). ``data_dir``: the
    day-partitioned data lake; ``reports_dir``: ``<reports_dir>/<D>/`` report folders.
    ``demo_*``: the simulator's seed, first day and initial new installs per day.
    """

    source: str = "demo"
    csv_path: str | None = None
    internal_instances: str | None = None
    data_dir: str = str(PROJECT_ROOT / "data")
    reports_dir: str = str(PROJECT_ROOT / "reports")
    demo_seed: int = 7
    demo_start: str = "2026-08-23"
    demo_daily_new_installs: float = 2.0

    #: Environment variable of each field.
    ENV = {
        "source": "USAGE_SOURCE",
        "csv_path": "USAGE_CSV_PATH",
        "internal_instances": "USAGE_INTERNAL_INSTANCES",
        "data_dir": "USAGE_DATA_DIR",
        "reports_dir": "USAGE_REPORTS_DIR",
        "demo_seed": "USAGE_DEMO_SEED",
        "demo_start": "USAGE_DEMO_START",
        "demo_daily_new_installs": "USAGE_DEMO_DAILY_NEW_INSTALLS",
    }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """Settings from ``environ`` (default ``os.environ``), then non-None ``overrides``.

        Raises :class:`SettingsError` naming the variable when a value is invalid.
        """
        environ = os.environ if environ is None else environ
        values = {}
        for spec in fields(cls):
            raw = environ.get(cls.ENV[spec.name])
            if raw not in (None, ""):
                values[spec.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values).checked()

    def checked(self) -> "Settings":
        """Coerce numeric fields and validate; returns a new, valid Settings."""
        try:
            seed = int(self.demo_seed)
        except ValueError as error:
            raise SettingsError(f"USAGE_DEMO_SEED must be an integer, got {self.demo_seed!r}") from error
        try:
            rate = float(self.demo_daily_new_installs)
        except ValueError as error:
            raise SettingsError(
                f"USAGE_DEMO_DAILY_NEW_INSTALLS must be a number, got {self.demo_daily_new_installs!r}"
            ) from error
        try:
            date.fromisoformat(self.demo_start)
        except ValueError as error:
            raise SettingsError(f"USAGE_DEMO_START must be YYYY-MM-DD, got {self.demo_start!r}") from error
        if self.source not in SOURCES:
            raise SettingsError(f"USAGE_SOURCE must be one of {', '.join(SOURCES)}, got {self.source!r}")
        if self.source == "csv" and not self.csv_path:
            raise SettingsError(
                "the csv source needs a path: set USAGE_CSV_PATH (or pass --csv-path) to a "
                "registry_metrics.csv or a folder of dated exports"
            )
        if rate <= 0:
            raise SettingsError("USAGE_DEMO_DAILY_NEW_INSTALLS must be positive")
        return replace(self, demo_seed=seed, demo_daily_new_installs=rate)
