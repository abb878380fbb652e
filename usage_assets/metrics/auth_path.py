"""Auth-path mix of the fleet from the schema-v6 heartbeat fields (reference 6.1 ``auth_path``).

A v6 heartbeat carries the share of the last 24 hours' requests per auth path (integer
percentages), a request-volume bucket and the window length in hours. Each install counts
with the fields of its latest day that had a share (``activity.AUTH_PATH_FIELDS``). The
fleet mix weights each install's share by the midpoint of its volume bucket, so a busy
install outweighs an idle one.

Over every identified install, internal included, as in the reference (the mix describes
how the product is used, and the collection funnel starts at the whole fleet).

Differences from the reference: ``reporting_instances_yesterday`` counts installs with a
share on the report day D itself (our D is the last complete UTC day; the reference's D is
the day of the run, so it looks at D-1); the volume bucket ``"0"`` is counted like the
others instead of being dropped; ``state`` names the not-collected-yet cases so the chart
and the report need not re-derive them. Shares arrive validated (known paths only, integer
values), so the analyzer/chart rounding split of quirk 26 cannot occur: one computation
feeds both.
"""

from __future__ import annotations

import json
import statistics
from datetime import date

import polars as pl

from usage_assets.common.formatting import known_first, pct
from usage_assets.sources.export_format import AUTH_VOLUME_BUCKETS

#: First registry release that sends the auth-path fields.
CAPTURE_SINCE_RELEASE = "1.31.0"
#: Requests per day assumed for each volume bucket (its midpoint) when weighting shares.
BUCKET_WEIGHTS = {"1-9": 3, "10-99": 30, "100-999": 300, "1k-9k": 3000, "10k+": 10000}
# An install that reports a share served some requests, so a "0" or missing bucket weighs
# like the smallest non-zero bucket rather than dropping the install from the mix.
FALLBACK_WEIGHT = 3


def _paths(share: str | None) -> dict[str, int]:
    """The paths of one share cell that carry traffic (value > 0)."""
    return {path: value for path, value in json.loads(share or "{}").items() if value > 0}


def _state(reporting: int, schema_v6: int) -> str:
    if reporting:
        return "collected"
    return "schema_v6_not_reporting" if schema_v6 else "no_schema_v6"


def auth_path_summary(instances: pl.DataFrame, history: pl.LazyFrame, day: date) -> dict:
    """The fleet's auth-path numbers as of the end of UTC ``day``.

    ``instances``: the install table (``schema_version`` Int64, ``auth_path_share_24h``
    compact JSON String, ``auth_path_volume_bucket_24h`` String,
    ``auth_path_window_hours`` Int64); ``history``: ``instance_days`` including ``day``
    (``date``, ``registry_id``, ``auth_path_share_24h``).

    An install is *reporting* when its share names at least one path with a value > 0.
    Keys: ``total_instances``, ``schema_v6_instances`` (latest schema_version 6),
    ``reporting_instances``, ``reporting_instances_yesterday`` (reporting on ``day``),
    ``per_path_instances`` {path: reporting installs using it} sorted (-n, path),
    ``volume_bucket_counts`` {bucket: reporting installs} in bucket order (a bucket a newer
    registry sends after the known ones), present buckets only; ``window_hours`` {min, median (float), max} over reporting installs or ``{}``;
    ``fleet_share_pct`` {path: % of weighted requests, 1 dp} sorted (-share, path), weights
    :data:`BUCKET_WEIGHTS` (``"0"``/missing bucket -> :data:`FALLBACK_WEIGHT`);
    ``coverage_pct`` (reporting / total, 1 dp); ``collected`` (Boolean);
    ``capture_since_release``; ``state``: ``"collected"``, ``"schema_v6_not_reporting"``
    (v6 installs exist but none sends a share) or ``"no_schema_v6"``.
    """
    reporting = [
        (paths, row["auth_path_volume_bucket_24h"], row["auth_path_window_hours"])
        for row in instances.select(
            "auth_path_share_24h", "auth_path_volume_bucket_24h", "auth_path_window_hours"
        ).iter_rows(named=True)
        if (paths := _paths(row["auth_path_share_24h"]))
    ]
    shares_on_day = (
        history.filter(pl.col("date") == day, pl.col("registry_id").is_not_null())
        .select("auth_path_share_24h")
        .collect()["auth_path_share_24h"]
    )
    schema_v6 = int((instances["schema_version"] == 6).sum())

    per_path: dict[str, int] = {}
    weighted: dict[str, float] = {}
    weight_total = 0.0
    for paths, bucket, _ in reporting:
        weight = BUCKET_WEIGHTS.get(bucket, FALLBACK_WEIGHT)
        weight_total += weight * sum(paths.values())
        for path, value in paths.items():
            per_path[path] = per_path.get(path, 0) + 1
            weighted[path] = weighted.get(path, 0.0) + weight * value
    fleet_share = {path: round(100.0 * value / weight_total, 1) for path, value in weighted.items()}
    buckets = [bucket for _, bucket, _ in reporting]
    windows = [hours for _, _, hours in reporting if hours is not None]
    return {
        "total_instances": instances.height,
        "schema_v6_instances": schema_v6,
        "reporting_instances": len(reporting),
        "reporting_instances_yesterday": sum(1 for share in shares_on_day if _paths(share)),
        "per_path_instances": dict(sorted(per_path.items(), key=lambda item: (-item[1], item[0]))),
        "volume_bucket_counts": {b: buckets.count(b) for b in known_first(filter(None, buckets), AUTH_VOLUME_BUCKETS)},
        "window_hours": (
            {"min": min(windows), "median": float(statistics.median(windows)), "max": max(windows)}
            if windows
            else {}
        ),
        "fleet_share_pct": dict(sorted(fleet_share.items(), key=lambda item: (-item[1], item[0]))),
        "coverage_pct": pct(len(reporting), instances.height),
        "collected": bool(reporting),
        "capture_since_release": CAPTURE_SINCE_RELEASE,
        "state": _state(len(reporting), schema_v6),
    }
