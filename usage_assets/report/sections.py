"""The report's template context, section by section, from the metric assets of day D.

Each ``*_section`` function turns one asset's output into the rows and sentences its
section prints; :func:`build_report_context` assembles them in the reference's section
order (reference 7.3). Sentences are generated from the numbers, never fixed prose that
could contradict them (quirk 24). Telemetry strings stay raw in table rows (the template
escapes them with ``|md``); a sentence that quotes one escapes it here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from usage_assets.common.formatting import format_pct, known_first, pct, plural, short_id
from usage_assets.enrichment.github_stats import github_changes
from usage_assets.ingest.validation import CLEARED, DROPPED, KEPT, MISSING
from usage_assets.insights.recommendations import recommendation_rules
from usage_assets.metrics.deployments import deployment_summary
from usage_assets.metrics.fleet import longest_lived
from usage_assets.metrics.retention import adoption_funnel
from usage_assets.metrics.versions import build_kind, semver_key
from usage_assets.report.commentary import COMMENTARY_SECTIONS, commentary_markdown
from usage_assets.report.comparisons import comparison_rows, count_change, headline_values, new_values, point_change
from usage_assets.report.enrichment_sections import insights_section, prometheus_section
from usage_assets.report.render import Chart, escape_markdown
from usage_assets.sources.export_format import AUTH_VOLUME_BUCKETS

LIVENESS_TIERS = (
    ("confirmed", "Confirmed Alive", "at least 5 heartbeats in the last 7 days"),
    ("stronger", "Stronger Alive", "at least 10 heartbeats in the last 14 days"),
    ("likely", "Likely Alive", "any event in the last 7 days"),
    ("silent_but_recent", "Silent but recent", "Likely Alive but not Confirmed"),
    ("dormant", "Dormant", "no event in the last 14 days"),
)
#: Rows shown in long tables; the JSON/CSV sidecars keep all of them.
VERSION_ROWS = 15
TRAJECTORY_ROWS = 10
#: A trajectory longer than this many characters is shown as "first -> ... -> last".
TRAJECTORY_CHARS = 150
#: Compute platforms first in the growth table, then the others by name (reference 6.5).
COMPUTE_ORDER = ("docker", "kubernetes", "ecs", "ec2", "unknown")
SPEND_RULES = (("all_days", "All days"), ("persisted", "Persisted"), ("proven", "Proven"))
#: Cloud detection outcomes: found by a probe, or set by the operator (the rest -
#: unknown, operator_declined, field absent - left the cloud unknown).
DETECTED_METHODS = ("env", "dmi", "ecs_meta", "k8s_heuristic", "imds")
DECLARED_METHODS = ("explicit", "operator_declared")
#: A breakdown whose "unknown" share is at least this gets a note (reference 6.1 tables).
UNKNOWN_NOTE_PCT = 50.0


@dataclass(frozen=True)
class DayMetrics:
    """One day's fleet summary, liveness and GitHub statistics (None: not materialized)."""

    day: date
    fleet: dict | None
    liveness: dict | None
    github: dict | None


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report of ``day`` shows (the assets' outputs for D; D-1 and D-7
    metrics for the comparisons)."""

    day: date
    source: str
    today: DayMetrics
    day_before: DayMetrics
    week_before: DayMetrics
    ingest_stats: dict
    field_quarantine: pl.DataFrame
    instances: pl.DataFrame
    engagement: pl.DataFrame
    retention: pl.DataFrame
    compute_timeseries: pl.DataFrame
    forecast: dict
    spend: dict
    spend_by_day: pl.DataFrame
    daily_reporters: pl.DataFrame
    builds: dict
    detection: pl.DataFrame
    recommendations: dict
    trends: dict | None
    insights: dict | None
    commentary: dict[str, str] = field(default_factory=dict)
    charts: list[Chart] = field(default_factory=list)
    # The anomalies document, deployments and install_lineage of D (None: not read).
    anomalies: dict | None = None
    deployments: pl.DataFrame | None = None
    lineage: pl.DataFrame | None = None


def _daily_active(engagement: pl.DataFrame, day: date) -> int | None:
    row = engagement.filter(pl.col("date") == day)
    return int(row["daily_active"][0]) if row.height else None


def _stars(github: Mapping[str, Any] | None, today: Mapping[str, Any] | None, days_apart: int) -> int | None:
    """Stars of ``github``, when today's figures can be compared with them."""
    if days_apart == 0:
        return github["stars"] if github and github.get("available") else None
    return github["stars"] if today and github_changes(today, github, days_apart) else None


def summary_sentences(inputs: ReportInputs) -> list[str]:
    """The executive summary: counts, shares, dates and hex-only short ids only."""
    fleet, liveness = inputs.today.fleet, inputs.today.liveness
    key, sticky, active = fleet["key_metrics"], fleet["stickiness"], fleet["active_on_report_date"]
    counts = liveness["counts"]
    internal = len(fleet["internal_instance_ids"])
    sentences = [
        f"{plural(key['identified_instances'], 'install')} reported telemetry up to {fleet['report_date']} "
        f"({plural(sticky['total_non_internal'], 'customer install')}, {internal:,} internal).",
        f"On {fleet['report_date']}, {plural(active['customers'], 'customer install')} reported in and "
        f"{plural(active['new_installs'], 'install')} appeared for the first time.",
    ]
    before = inputs.day_before.liveness
    if counts["customer_total"]:
        moved = ""
        if before is not None:
            previous = before["counts"]["confirmed"]
            moved = (f" (up from {previous:,} on {inputs.day_before.day})" if counts["confirmed"] > previous
                     else f" (down from {previous:,} on {inputs.day_before.day})" if counts["confirmed"] < previous
                     else f" (unchanged since {inputs.day_before.day})")
        sentences.append(
            f"{counts['confirmed']:,} customer installs are Confirmed Alive{moved}, "
            f"{format_pct(pct(counts['confirmed'], counts['customer_total']))} of customers; "
            f"{counts['likely']:,} reported in the last 7 days."
        )
    if sticky["total_non_internal"]:
        sentence = (
            f"{format_pct(sticky['one_day_wonder_pct'])} of customer installs were one-day wonders"
        )
        if inputs.day_before.fleet is not None:
            previous = inputs.day_before.fleet["stickiness"]["one_day_wonder_pct"]
            sentence += f" ({point_change(sticky['one_day_wonder_pct'], previous)} since {inputs.day_before.day})"
        sentences.append(
            f"{sentence}; {sticky['sticky_3plus_days']:,} stayed 3 days or more, and the longest-lived customer "
            f"({sticky['longest_non_internal_id']}) has reported for {plural(sticky['longest_non_internal_days'], 'day')}."
        )
    github = inputs.today.github
    if github and github.get("available"):
        sentences.append(
            f"GitHub: {github['stars']:,} stars, {github['forks']:,} forks, "
            f"{plural(github['contributors'], 'contributor')}."
        )
    return sentences


def anomalies_section(inputs: ReportInputs) -> dict:
    """The checks that fired for D, with the numbers their asset checks show (both read
    the ``anomalies`` document of D), and how many checks were evaluated."""
    checks = (inputs.anomalies or {}).get("checks", [])
    return {
        "available": inputs.anomalies is not None,
        "fired": [entry for entry in checks if entry["fired"]],
        "evaluated": sum(1 for entry in checks if entry["evaluated"]),
        "total": len(checks),
    }


def deployments_section(inputs: ReportInputs) -> dict:
    """Estimated deployments beside the install counts: customer deployments, installs per
    deployment, one-day wonders and lifetime buckets over deployments, the links and
    ambiguous candidates, and the longest chains (ids shortened)."""
    if inputs.deployments is None or inputs.lineage is None:
        return {"available": False}
    summary = deployment_summary(inputs.deployments, inputs.lineage)
    sticky = inputs.today.fleet["stickiness"]
    return {
        "available": True,
        **summary,
        "customer_installs": sticky["total_non_internal"],
        "installs_with_ip_hash": int(inputs.instances["source_ip_hash"].is_not_null().sum()),
        "install_one_day_wonder_pct": sticky["one_day_wonder_pct"],
        "install_bucket_pct": sticky["lifetime_bucket_pct"],
        "buckets": [
            {"threshold": threshold, "count": count, "pct": summary["lifetime_bucket_pct"][threshold],
             "install_pct": sticky["lifetime_bucket_pct"].get(threshold)}
            for threshold, count in sorted(summary["lifetime_bucket_counts"].items(), key=lambda item: int(item[0]))
        ],
        "longest": [
            {**row, "ids": " → ".join(short_id(each) for each in row["registry_ids"]), "profile": _profile(row)}
            for row in summary["longest"]
        ],
    }


def comparison_section(inputs: ReportInputs) -> dict:
    """Headline numbers against D-1 and D-7, and clouds first seen since D-1."""
    def values(metrics: DayMetrics) -> dict:
        days_apart = (inputs.day - metrics.day).days
        # No row values for a day whose metrics were never built, not even from today's series.
        daily_active = _daily_active(inputs.engagement, metrics.day) if metrics.fleet is not None else None
        return headline_values(metrics.fleet, metrics.liveness, daily_active,
                               _stars(metrics.github, inputs.today.github, days_apart))

    day_before, week_before = inputs.day_before, inputs.week_before
    fleet = inputs.today.fleet
    previous_clouds = day_before.fleet["per_cloud_unique_installs"] if day_before.fleet else None
    return {
        "day_before": day_before.day.isoformat(),
        "week_before": week_before.day.isoformat(),
        "has_day_before": day_before.fleet is not None,
        "has_week_before": week_before.fleet is not None,
        "rows": comparison_rows(values(inputs.today), values(day_before), values(week_before)),
        "clouds": [
            {
                "cloud": cloud,
                "installs": n,
                "pct": pct(n, fleet["key_metrics"]["identified_instances"]),
                "day_before": None if previous_clouds is None else previous_clouds.get(cloud, 0),
                "change": count_change(n, None if previous_clouds is None else previous_clouds.get(cloud, 0)),
            }
            for cloud, n in sorted(fleet["per_cloud_unique_installs"].items(), key=lambda item: (-item[1], item[0]))
        ],
        "new_clouds": new_values(fleet["per_cloud_unique_installs"], previous_clouds),
    }


def lifetime_section(inputs: ReportInputs) -> dict:
    """Stickiness rows, lifetime by compute platform and retention first day vs D."""
    sticky = inputs.today.fleet["stickiness"]
    customers = inputs.instances.filter(~pl.col("is_internal"))
    by_compute = (
        customers.group_by(pl.col("compute").fill_null("unknown"))
        .agg(pl.len().alias("installs"), pl.col("age_days").median().alias("median"),
             pl.col("age_days").mean().alias("mean"), pl.col("age_days").max().alias("max"))
        .sort(["installs", "compute"], descending=[True, False])
    )
    retention = inputs.retention
    first = retention.row(0, named=True) if retention.height else None
    last = retention.row(-1, named=True) if retention.height else None
    retention_rows = []
    if first and last:
        for column, label in (("one_day_wonder_pct", "One-day wonders"), ("pct_ge_3d", "3+ days"),
                              ("pct_ge_7d", "7+ days"), ("pct_ge_14d", "14+ days"), ("pct_ge_30d", "30+ days")):
            retention_rows.append({"label": label, "first": first[column], "last": last[column],
                                   "change": point_change(last[column], first[column])})
    return {
        "lifetime": inputs.today.fleet["customer_lifetime"],
        "stickiness": [
            {"label": "One-day wonders (all events on one UTC day)", "count": sticky["one_day_wonders"],
             "pct": sticky["one_day_wonder_pct"]},
            *[
                {"label": f"Reported over {threshold}+ days", "count": count,
                 "pct": sticky["lifetime_bucket_pct"][threshold]}
                for threshold, count in sorted(sticky["lifetime_bucket_counts"].items(), key=lambda item: int(item[0]))
            ],
        ],
        "by_compute": [
            {"compute": row["compute"], "installs": row["installs"], "median": float(row["median"]),
             "mean": round(float(row["mean"]), 1), "max": int(row["max"])}
            for row in by_compute.iter_rows(named=True)
        ],
        "retention": {
            "first_date": first["date"].isoformat() if first else None,
            "last_date": last["date"].isoformat() if last else None,
            "rows": retention_rows,
        },
    }


def liveness_section(inputs: ReportInputs) -> dict:
    """Tier counts of D with D-1 and D-7 and their changes."""
    counts = inputs.today.liveness["counts"]
    customers = counts["customer_total"]

    def earlier(metrics: DayMetrics, name: str) -> int | None:
        return metrics.liveness["counts"][name] if metrics.liveness else None

    return {
        "customer_total": customers,
        "windows": inputs.today.liveness["windows"],
        "rows": [
            {
                "tier": label,
                "definition": definition,
                "count": counts[name],
                "pct": pct(counts[name], customers),
                "day_change": count_change(counts[name], earlier(inputs.day_before, name)),
                "week_change": count_change(counts[name], earlier(inputs.week_before, name)),
            }
            for name, label, definition in LIVENESS_TIERS
        ],
    }


def engagement_section(inputs: ReportInputs) -> dict:
    """The last three days of the engagement series and the day a week before D."""
    frame = inputs.engagement
    rows = frame.tail(3).to_dicts()
    week = frame.filter(pl.col("date") == inputs.week_before.day).to_dicts()
    return {"rows": week + rows if week and week[0] not in rows else rows}


def compute_section(inputs: ReportInputs) -> dict:
    """Cumulative installs by compute platform on each of the last 7 days, newest first."""
    frame = inputs.compute_timeseries
    platforms = known_first(frame["compute"], COMPUTE_ORDER)
    recent_days = sorted(set(frame["date"].to_list()), reverse=True)[:7]
    rows = []
    for day in recent_days:
        counts = dict(frame.filter(pl.col("date") == day).select("compute", "cumulative_installs").iter_rows())
        cells = [int(counts.get(name, 0)) for name in platforms]
        rows.append({"date": day.isoformat(), "cells": cells, "total": sum(cells)})
    return {"platforms": platforms, "rows": rows}


def _trajectory_text(versions: list[str]) -> str:
    text = " → ".join(versions)
    return text if len(text) <= TRAJECTORY_CHARS else f"{versions[0]} → … → {versions[-1]}"


def _version_label(row: Mapping[str, Any]) -> str:
    """A counted version with the spellings it was reported in, when they differ:
    ``"1.35.0 (also reported as v1.35.0)"``, ``"1.35.0 (reported as v1.35.0)"``, or the bare
    version. ``row``: ``{"version", "spellings"}`` (``spellings`` may be absent: metrics
    computed before versions were normalized)."""
    version = row["version"]
    spellings = row.get("spellings") or [version]
    others = [spelling for spelling in spellings if spelling != version]
    if not others:
        return version
    return f"{version} ({'also ' if version in spellings else ''}reported as {', '.join(others)})"


def versions_section(inputs: ReportInputs) -> dict:
    """Version adoption (the most reported versions, newest first), community vs internal
    builds and upgrade trajectories. Versions are counted once whatever their spelling;
    each row's ``label`` shows the spellings reported (:func:`_version_label`)."""
    fleet, builds = inputs.today.fleet, inputs.builds
    top = sorted(fleet["version_adoption"][:VERSION_ROWS], key=lambda row: semver_key(row["version"]), reverse=True)

    def class_rows(counts: Mapping[str, int]) -> list[dict]:
        total = sum(counts[name] for name in ("community", "internal", "unknown"))
        return [{"kind": name, "installs": counts[name], "pct": pct(counts[name], total)}
                for name in ("community", "internal", "unknown")]

    return {
        "adoption": [{**row, "label": _version_label(row)} for row in top],
        "adoption_more": max(0, len(fleet["version_adoption"]) - VERSION_ROWS),
        "builds": {
            "date": builds["yesterday_date"],
            "active": class_rows(builds["yesterday"]),
            "cumulative": class_rows(builds["cumulative"]),
            "per_version": {
                kind: {"rows": rows[:VERSION_ROWS], "more": max(0, len(rows) - VERSION_ROWS)}
                for kind, rows in builds["per_version"].items()
            },
        },
        "trajectories": [
            {**row, "text": _trajectory_text(row["trajectory"])} for row in fleet["upgrade_trajectories"][:TRAJECTORY_ROWS]
        ],
        "trajectories_total": len(fleet["upgrade_trajectories"]),
    }


def _unknown_share(rows: list[dict], key: str) -> float:
    return sum(row["percentage"] for row in rows if row[key] in ("unknown", "(field absent)"))


def features_section(inputs: ReportInputs) -> dict:
    """Feature adoption, embeddings backends, search usage and sticky breakdowns."""
    fleet = inputs.today.fleet
    previous = inputs.day_before.fleet
    embeddings = fleet["embeddings_backend_breakdown"]

    def sticky_rows(name: str) -> list[dict]:
        before = previous.get(name) if previous else None
        total = sum(fleet[name].values())
        # JSON objects come back with sorted keys: order by installs here.
        return [
            {"profile": profile, "installs": n, "pct": pct(n, total),
             "change": count_change(n, None if before is None else before.get(profile, 0))}
            for profile, n in sorted(fleet[name].items(), key=lambda item: (-item[1], item[0]))
        ]

    return {
        "feature_adoption": fleet["feature_adoption"],
        "embeddings": embeddings,
        "embeddings_unknown_pct": round(_unknown_share(embeddings, "kind"), 1),
        "search": fleet["search_stats"],
        "sticky_profiles": sticky_rows("sticky_profiles"),
        "sticky_cloud_compute": sticky_rows("sticky_cloud_compute"),
        "unknown_note_pct": UNKNOWN_NOTE_PCT,
    }


def auth_path_section(inputs: ReportInputs) -> dict:
    """The auth-path status line and tables (schema v6 heartbeats)."""
    auth = inputs.today.fleet["auth_path"]
    reporting = auth["reporting_instances"]
    if auth["state"] == "collected":
        status = (f"Collected: {reporting:,} of {auth['total_instances']:,} installs report an auth-path mix "
                  f"({format_pct(auth['coverage_pct'])}); {auth['reporting_instances_yesterday']:,} reported one on "
                  f"{inputs.day}.")
    elif auth["state"] == "schema_v6_not_reporting":
        status = (f"Not collected yet: {auth['schema_v6_instances']:,} of {auth['total_instances']:,} installs send "
                  f"schema v6 heartbeats but none reports an auth-path mix.")
    else:
        status = (f"Not collected yet: none of {auth['total_instances']:,} installs sends schema v6 heartbeats "
                  f"(auth paths are collected from release {auth['capture_since_release']}).")
    counts = auth["volume_bucket_counts"]
    buckets = [(bucket, counts[bucket]) for bucket in known_first(counts, AUTH_VOLUME_BUCKETS)]
    # Reporting installs whose heartbeat had no recognised bucket still count (reference 6.14).
    absent = reporting - sum(n for _bucket, n in buckets)
    if absent > 0:
        buckets.append(("(bucket absent)", absent))
    return {
        "status": status,
        "collected": auth["state"] == "collected",
        "mix": [{"path": path, "share": share, "installs": auth["per_path_instances"].get(path, 0)}
                for path, share in sorted(auth["fleet_share_pct"].items(), key=lambda item: (-item[1], item[0]))],
        "buckets": [{"bucket": bucket, "installs": n, "pct": pct(n, reporting)} for bucket, n in buckets],
        "window": auth["window_hours"],
    }


def rankings_section(inputs: ReportInputs) -> dict:
    """Most active installs, largest catalogs and most engaged operators (customers)."""
    rankings = inputs.today.fleet["rankings"]
    return {
        "most_active": rankings["most_active"],
        "largest_catalogs": rankings["largest_catalogs"],
        "most_engaged": [{**row, "text": _trajectory_text(row["trajectory"])} for row in rankings["most_engaged"]],
    }


def forecast_section(inputs: ReportInputs) -> dict:
    """The forecast table and a sentence comparing the recent pace with the trend."""
    forecast = inputs.forecast
    if not forecast["available"]:
        return {"available": False, "reason": forecast["reason"]}
    linear, recent = forecast["linear"], forecast["recent_pace"]
    slope, rate = linear["slope_per_day"], recent["daily_add_rate"]
    # The reference's three pace verdicts: ahead, behind (under 85% of the trend), in line.
    verdict = "run ahead of" if rate > slope else "run behind" if rate < 0.85 * slope else "match"
    # The pace is anchored at D-7, or at the first day when the data is younger.
    pace_days = (inputs.day - date.fromisoformat(recent["anchor_date"])).days
    pace = (f"The last {pace_days} days ({rate:,.1f} installs/day) {verdict} the "
            f"{linear['fit_window_days']}-day trend ({slope:,.1f}/day).")
    return {
        "available": True,
        "target": forecast["target"],
        "configured_target": forecast["configured_target"],
        "today": forecast["today"],
        "remaining": forecast["remaining"],
        "linear": linear,
        "recent": recent,
        "pace": pace,
    }


def spend_section(inputs: ReportInputs) -> dict:
    """The spend table per counting rule, the instance-day identities, ARR and the cost model."""
    spend = inputs.spend
    ltv, last7, yesterday = spend["ltv"], spend["last_7_days"], spend["yesterday"]
    rows = [
        {
            "rule": label,
            "yesterday": yesterday[rule]["total_usd"],
            "last_7_days": last7[f"{rule}_total_usd"],
            "daily_average": round(last7[f"{rule}_total_usd"] / last7["days"], 2) if last7["days"] else 0.0,
            "cumulative": ltv[rule]["total_usd"],
            "instance_days": ltv[rule]["total_instance_days"],
            "arr_musd": spend["arr"][f"{rule}_musd"],
        }
        for rule, label in SPEND_RULES
    ]
    days = {rule: ltv[rule]["total_instance_days"] for rule, _ in SPEND_RULES}
    model = spend["cost_model"]
    reporters = inputs.daily_reporters
    return {
        "rows": rows,
        "single_day_installs": days["all_days"] - days["persisted"],
        "persisted_installs": days["persisted"] - days["proven"],
        "first_day": spend["first_day"],
        "last_day": spend["last_day"],
        "counting_rule": spend["counting_rule"],
        "label": model["label"],
        "rates": [
            {"platform": name, "usd_per_day": entry["usd_per_day"], "grounding": "; ".join(entry["grounding"])}
            for name, entry in [*model["platforms"].items(), ("any other platform", model["other_platforms"])]
        ],
        "bedrock": model["bedrock"],
        "by_platform": [
            {
                "platform": platform,
                "installs": spend["per_platform_unique_instance_totals"][platform],
                **{f"{rule}_days": spend[f"per_platform_ltv_breakdown_{rule}"][platform]["instance_days"]
                   for rule, _ in SPEND_RULES},
                **{f"{rule}_usd": spend[f"per_platform_ltv_breakdown_{rule}"][platform]["compute_usd"]
                   for rule, _ in SPEND_RULES},
            }
            for platform in ("docker", "ecs", "kubernetes", "other")
        ],
        "reporters": reporters.tail(1).to_dicts()[0] if reporters.height else None,
    }


def detection_section(inputs: ReportInputs) -> dict:
    """Detection methods as table rows (methods with installs only) and a per-version sentence."""
    frame = inputs.detection
    methods = [name for name in frame.columns if name not in ("version", "total") and frame[name].sum() > 0]
    rows = [{"version": row["version"], "cells": [row[m] for m in methods], "total": row["total"]}
            for row in frame.iter_rows(named=True)]
    sentences, seen = [], set()
    for row in frame.iter_rows(named=True):
        # The two newest release tags with enough installs to say something (reference 7.2);
        # "1.34.0" and "v1.34.0" are one release.
        if len(sentences) == 2 or build_kind(row["version"]) != "community" or row["total"] < 5:
            continue
        if semver_key(row["version"]) in seen:
            continue
        seen.add(semver_key(row["version"]))
        detected, declared = (sum(row.get(m, 0) for m in group) for group in (DETECTED_METHODS, DECLARED_METHODS))
        sentences.append(
            f"`{escape_markdown(row['version'], 40)}` (n={row['total']:,}): "
            f"{format_pct(pct(detected, row['total']))} detected their cloud, "
            f"{format_pct(pct(declared, row['total']))} had it declared by the operator, "
            f"{format_pct(pct(row['total'] - detected - declared, row['total']))} unknown, "
            f"declined or without the field."
        )
    return {"methods": methods, "rows": rows, "sentences": sentences}


def github_section(inputs: ReportInputs) -> dict:
    """Repository statistics with their change since D-1, or why there are none."""
    github = inputs.today.github or {}
    if not github.get("available"):
        return {"available": False, "reason": github.get("reason", "the github_stats asset was not materialized")}
    fields = (("stars", "Stars"), ("forks", "Forks"), ("watchers", "Watchers"),
              ("open_issues", "Open issues and pull requests"), ("contributors", "Contributors"))
    comparable = github_changes(github, inputs.day_before.github) is not None
    previous = inputs.day_before.github if comparable else {}
    return {
        "available": True,
        "repo": github["repo"],
        "fetched_on": github.get("fetched_on"),
        "compared": comparable,
        "rows": [{"label": label, "value": github[name], "change": count_change(github[name], previous.get(name))}
                 for name, label in fields],
    }


def architecture_section(inputs: ReportInputs) -> list[str]:
    """Notable customer installs, each sentence built from the rankings and lifetimes."""
    customers = inputs.instances.filter(~pl.col("is_internal"))
    rankings = inputs.today.fleet["rankings"]
    sentences = []
    longest = longest_lived(customers)
    if longest:
        sentences.append(
            f"Longest-lived customer install: {short_id(longest['registry_id'])} "
            f"({_profile(longest)}), reporting for {plural(longest['age_days'], 'day')} over "
            f"{plural(longest['active_days'], 'active day')}."
        )
    if rankings["most_active"]:
        top = rankings["most_active"][0]
        sentences.append(
            f"Most active: {top['registry_id']} ({_profile(top)}) with {top['servers']:,} servers, "
            f"{top['agents']:,} agents, {top['skills']:,} skills and {top['search']:,} searches."
        )
    if rankings["largest_catalogs"]:
        top = rankings["largest_catalogs"][0]
        sentences.append(f"Largest catalog: {top['registry_id']} ({_profile(top)}) with {top['catalog']:,} entries.")
    if rankings["most_engaged"]:
        top = rankings["most_engaged"][0]
        sentences.append(
            f"Deepest upgrade chain: {top['registry_id']} with {plural(top['version_changes'], 'version change')} "
            f"over {plural(top['age_days'], 'day')}."
        )
    survivor = longest_lived(customers.filter(~pl.col("cloud").fill_null("unknown").is_in(["aws", "unknown"])))
    if survivor:
        sentences.append(
            f"Longest-lived customer outside AWS: {short_id(survivor['registry_id'])} ({_profile(survivor)}), "
            f"{plural(survivor['age_days'], 'day')}."
        )
    return sentences


def _profile(row: Mapping[str, Any]) -> str:
    """``cloud/compute`` of a row, escaped for Markdown (telemetry values)."""
    return escape_markdown(f"{row.get('cloud') or 'unknown'}/{row.get('compute') or 'unknown'}", 40)


def quality_section(inputs: ReportInputs) -> dict:
    """What became of every row the source handed over for D, and the fields of kept events
    that broke a rule: ``new_values`` (values outside the known lists, kept as categories, and
    auth paths dropped from shares) and ``cleared`` (values set to null, required values
    missing), each with its events on D and the first day it was seen. From the source as
    a whole (as of D's ingest): rows that belong to no day (``set_aside``), columns ignored,
    files skipped and exports not treated as complete."""
    stats = inputs.ingest_stats
    findings = inputs.field_quarantine.sort(["events", "column", "rule", "value"], descending=[True, False, False, False],
                                            nulls_last=False)

    def rows(actions: tuple[str, ...]) -> list[dict]:
        return [
            {**row, "first_seen": row["first_seen"].isoformat() if row["first_seen"] else None}
            for row in findings.filter(pl.col("action").is_in(actions)).iter_rows(named=True)
        ]

    notes = stats.get("source_notes") or {}
    set_aside = notes.get("set_aside") or {"rows": 0, "by_reason": {}}
    return {
        **stats,
        "rejects_by_reason": sorted(stats["rejects_by_reason"].items(), key=lambda item: (-item[1], item[0])),
        "unidentified_events": inputs.today.fleet["key_metrics"]["null_registry_id_count"],
        "new_values": rows((KEPT, DROPPED)),
        "cleared": rows((CLEARED, MISSING)),
        "set_aside": {**set_aside, "by_reason": sorted(set_aside["by_reason"].items(), key=lambda item: (-item[1], item[0]))},
        "ignored_columns": sorted((notes.get("ignored_columns") or {}).items()),
        "skipped_files": sorted((notes.get("skipped_files") or {}).items()),
        "incomplete_exports": sorted((notes.get("incomplete_exports") or {}).items()),
    }


def build_report_context(inputs: ReportInputs) -> dict[str, Any]:
    """The template context: every value the report shows, computed, never typed."""
    fleet, liveness = inputs.today.fleet, inputs.today.liveness
    key = fleet["key_metrics"]
    earliest, latest = key["earliest_ts"], key["latest_ts"]
    period_days = (
        (date.fromisoformat(latest[:10]) - date.fromisoformat(earliest[:10])).days if earliest != "N/A" else 0
    )
    day = inputs.day
    return {
        "report_date": day.isoformat(),
        "source": inputs.source,
        "period": {"earliest": earliest, "latest": latest, "days": period_days},
        "commentary": {section: commentary_markdown(inputs.commentary, section) for section in COMMENTARY_SECTIONS},
        "summary_sentences": summary_sentences(inputs),
        "anomalies": anomalies_section(inputs),
        "deployments": deployments_section(inputs),
        "comparison": comparison_section(inputs),
        # Every key metric is a total from the first ingested day up to the end of D.
        "key_metrics": [
            ("Events (startup + heartbeat), to date", key["total_events"]),
            ("Startup events, to date", key["startup_events"]),
            ("Heartbeat events, to date", key["heartbeat_events"]),
            ("Identified installs, to date", key["identified_instances"]),
            ("Customer installs, to date", fleet["stickiness"]["total_non_internal"]),
            ("Internal installs, to date", len(fleet["internal_instance_ids"])),
            ("Events without registry_id, to date", key["null_registry_id_count"]),
        ],
        "active_on_day": fleet["active_on_report_date"],
        "internal": fleet["internal_instances"],
        **lifetime_section(inputs),
        "liveness": liveness_section(inputs),
        "engagement": engagement_section(inputs),
        "compute": compute_section(inputs),
        "versions": versions_section(inputs),
        **features_section(inputs),
        "auth": auth_path_section(inputs),
        "rankings": rankings_section(inputs),
        "forecast": forecast_section(inputs),
        "spend": spend_section(inputs),
        "funnel": adoption_funnel(fleet["stickiness"], liveness["counts"]["confirmed"]),
        "detection": detection_section(inputs),
        "github": github_section(inputs),
        "architecture": architecture_section(inputs),
        "recommendations": inputs.recommendations["recommendations"],
        "recommendations_compared_with": inputs.recommendations["compared_with"],
        "recommendation_rules": recommendation_rules(),
        "prometheus": prometheus_section(inputs.trends),
        "insights": insights_section(inputs.insights),
        "quality": quality_section(inputs),
        "charts": {chart.stem: {"file": chart.filename(day), "caption": chart.caption, "uri": chart.data_uri()}
                   for chart in inputs.charts},
    }
