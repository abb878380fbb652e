"""The report's headline numbers of day D and their change since D-1, from the lake.

Read from the JSON the pipeline materialized for D and D-1 (``fleet_metrics`` and
``liveness``, as the report's executive summary does); nothing is recomputed. A D-1
that was never materialized gives figures without a change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from usage_assets.alerts.messages import Attachment, Message
from usage_assets.storage.datasets import FLEET_METRICS, LIVENESS
from usage_assets.storage.lake import Lake


@dataclass(frozen=True)
class Figure:
    """One headline number: ``label``, ``value`` on D and ``previous`` on D-1 (None: unknown)."""

    label: str
    value: int
    previous: int | None

    def change(self) -> str:
        """``+3 vs D-1``, ``-1 vs D-1``, ``unchanged vs D-1`` or ``no D-1 to compare``."""
        if self.previous is None:
            return "no D-1 to compare"
        delta = self.value - self.previous
        return f"{delta:+,} vs D-1" if delta else "unchanged vs D-1"


def _figures(fleet: dict, liveness: dict) -> dict[str, int]:
    return {
        "Installs": fleet["key_metrics"]["identified_instances"],
        "Customer installs": fleet["stickiness"]["total_non_internal"],
        "Confirmed Alive": liveness["counts"]["confirmed"],
        "Likely Alive": liveness["counts"]["likely"],
        # Daily active installs: customer installs that reported on D.
        "DAI": fleet["active_on_report_date"]["customers"],
    }


def report_headline(lake: Lake, day: date) -> tuple[list[Figure], str | None]:
    """The headline :class:`Figure` list of ``day`` (installs, customer installs, Confirmed
    and Likely Alive, DAI) and the most reported version (an untrusted telemetry string,
    None when no version was reported). Raises ``FileNotFoundError`` naming the dataset
    when ``day``'s fleet_metrics or liveness is not in the lake."""
    fleet, liveness = lake.read_json_if_present(FLEET_METRICS, day), lake.read_json_if_present(LIVENESS, day)
    if fleet is None or liveness is None:
        raise FileNotFoundError(f"{FLEET_METRICS} or {LIVENESS} of {day} is not in {lake.root}")
    before = day - timedelta(days=1)
    fleet_before, liveness_before = (
        lake.read_json_if_present(FLEET_METRICS, before),
        lake.read_json_if_present(LIVENESS, before),
    )
    previous = _figures(fleet_before, liveness_before) if fleet_before and liveness_before else {}
    figures = [Figure(label, value, previous.get(label)) for label, value in _figures(fleet, liveness).items()]
    versions = fleet.get("version_adoption") or []
    return figures, (versions[0]["version"] if versions else None)


def report_delivery(
    *,
    day: date,
    figures: list[Figure],
    top_version: str | None,
    link: tuple[str, str] | None,
    report_html: Attachment | None = None,
) -> Message:
    """The message delivering the report of ``day``: one field per figure (value and
    change vs D-1), the most reported version, the link and the HTML report attached."""
    fields = [(figure.label, f"{figure.value:,} ({figure.change()})") for figure in figures]
    if top_version is not None:
        fields.append(("Most reported version", top_version))
    return Message(
        title=f"Usage report for {day} (UTC)",
        fields=fields,
        link=link,
        attachments=[report_html] if report_html else [],
    )
