"""A deterministic, seeded simulator of the registry fleet: the pipeline's default source.

A fresh checkout has no telemetry credentials, yet must still produce a full report. This
module invents a realistic fleet of registry installs and the startup/heartbeat events
they would have sent, in the export format of :mod:`usage_assets.sources.export_format`.

Entry point: :func:`demo_events_for_day` returns every event whose ``ts`` falls on one
UTC calendar day. The result depends only on the parameters and that day (never on other
days asked before, the current time, or the process), so a daily partition can be
materialized, backfilled or re-run in any order and always gets the same rows.

How it stays stateless yet cheap:

* Installs arrive per calendar day; the count for day ``a`` is drawn from an RNG keyed by
  ``(seed, a)``, and install ``i`` of that day lives its whole life (profile, lifetime,
  restarts, upgrades, every event) from an RNG keyed by ``(seed, a, i)``.
* Lifetimes are capped at :data:`LIFETIME_CAP_DAYS`, so the events of day ``d`` only come
  from installs that arrived in ``[max(start, d - cap), d]``.
* Each arrival day's installs are simulated once per process and cached, grouped by event
  day, so asking consecutive days re-uses all earlier work.

What the fleet exercises (reference sections 2.1-2.4): a growing arrival rate, mostly
one-day wonders plus short, medium and long-lived installs; cloud/compute/storage/auth
profiles correlated the way real deployments are, with detection methods the collector
accepts; a release train whose schema versions decide which fields each event carries;
upgrades and restarts; daily or hourly heartbeats with missed slots and lock-induced
gaps; search counters with rare resets; v6 auth-path fields; duplicate deliveries;
"unidentified" rows with an empty ``registry_id``; and six internal installs whose ids
are fixed so that the static allowlist :data:`DEMO_INTERNAL_ALLOWLIST` can name them.

Recreated deployments (issue 14): on top of those installs, some deployments are
recreated again and again (a container without a persistent volume gets a new
``registry_id`` each time; with one, it keeps its id). Every event carries a
``source_ip_hash``: an install's own, or an office's NAT address shared with others.
:func:`demo_deployments` gives the truth (registry_id -> deployment) that the stitching
of ``metrics/lineage.py`` is measured against. These are extra installs drawn from their
own RNG keys, so every other install's events are the same with or without them.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

import polars as pl

from usage_assets.sources.export_format import (
    EXPORT_COLUMNS,
    EXPORT_SCHEMA,
    conform_to_export,
    empty_export_frame,
    format_bool,
    format_ts,
)

__all__ = [
    "DEMO_INTERNAL_ALLOWLIST",
    "INTERNAL_INSTALL_COUNT",
    "LIFETIME_CAP_DAYS",
    "V6_COLLECTOR_OFFSET_DAYS",
    "DemoFleetParams",
    "demo_deployments",
    "demo_events_for_day",
    "fleet_of_size",
    "internal_registry_id",
]

#: The demo fleet's internal-instance allowlist (Markdown, backticked UUIDs), naming the
#: internal installs by the fixed ids of :func:`internal_registry_id`.
DEMO_INTERNAL_ALLOWLIST: Path = (
    Path(__file__).resolve().parent.parent / "demo_data" / "known-internal-instances.md"
)

#: No install lives longer than this many days after its arrival day; long-lived installs
#: live exactly this long, which from any report date looks like "still alive".
LIFETIME_CAP_DAYS = 400

#: Days after ``params.start`` on which the v6 collector is deployed. From then on,
#: heartbeats of schema-6 registries keep ``schema_version`` and the auth-path fields;
#: before, the collector silently dropped those keys (reference 2.2, 9.2).
V6_COLLECTOR_OFFSET_DAYS = 35

#: The number of installs with fixed registry ids (see :func:`internal_registry_id`).
INTERNAL_INSTALL_COUNT = 6

# One export row: the EXPORT_COLUMNS values in order, None for an empty cell.
_Row = tuple[str | None, ...]
_COL = {name: index for index, name in enumerate(EXPORT_COLUMNS)}


@dataclass(frozen=True)
class DemoFleetParams:
    """The simulator's knobs. Frozen and hashable: it is part of the per-process cache key.

    Attributes:
        seed: Selects one fleet; every random draw derives from it. Changing it changes
            every install except the internal installs' registry ids.
        start: First UTC day of the simulated fleet: no events before it. The release
            train and the v6 collector rollout are anchored relative to it.
        daily_new_installs: Mean number of new installs arriving on ``start``; the mean
            grows linearly to 3x by ``start + 90 days`` and stays at 3x afterwards.

    """

    seed: int = 7
    start: date = date(2026, 8, 23)
    daily_new_installs: float = 2.0


def demo_events_for_day(params: DemoFleetParams, day: date) -> pl.DataFrame:
    """Return all simulated events whose ``ts`` falls on the UTC calendar day ``day``.

    Args:
        params: The fleet to simulate.
        day: A UTC calendar day.

    Returns:
        A frame in export format: exactly the columns ``EXPORT_COLUMNS``, all
        ``pl.String``, ``None`` for an empty cell, values within the collector's
        allowlists. Rows are ordered like the reference export: startup rows by ``ts``
        ascending, then heartbeat rows by ``ts`` ascending. Some rows are byte-identical
        duplicates (double deliveries). Days before ``params.start`` give an empty frame.

    """
    if day < params.start:
        return empty_export_frame()
    first_arrival = max(params.start, day - timedelta(days=LIFETIME_CAP_DAYS))
    rows: list[_Row] = []
    for offset in range((day - first_arrival).days + 1):
        arrival = first_arrival + timedelta(days=offset)
        rows.extend(_rows_by_event_day(params, arrival).get(day, ()))
    # Stable sort: equal timestamps keep arrival order, so the output is deterministic.
    rows.sort(key=lambda row: (row[_COL["event"]] != "startup", row[_COL["ts"]]))
    frame = pl.DataFrame(rows, schema=EXPORT_SCHEMA, orient="row")
    return conform_to_export(frame)


def internal_registry_id(k: int) -> str:
    """The fixed registry id of internal install ``k`` (0..5), the same for every seed."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"usage-assets-demo-internal-{k}"))


# --------------------------------------------------------------------------------------
# Release train
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Release:
    tag: str
    released: date
    schema: int


# (tag, days after params.start, schema version), mirroring reference 2.2's table.
_ANCHORED_RELEASES = (
    ("1.0.21", -200, 1),
    ("1.0.22", -150, 2),
    ("1.23.0", -100, 3),
    ("1.24.1", -60, 4),
    ("1.24.5", -30, 5),
    ("1.28.0", 10, 5),
    ("1.31.0", 35, 6),
)
# After the anchored releases, minor 1.32.0, 1.33.0, ... every two weeks, forever.
_TRAIN_FIRST_OFFSET_DAYS = 49
_TRAIN_EVERY_DAYS = 14
_TRAIN_FIRST_MINOR = 32


def _releases_until(start: date, until: date) -> tuple[_Release, ...]:
    """All releases published on or before ``until``, oldest first."""
    releases = [
        _Release(tag, start + timedelta(days=offset), schema)
        for tag, offset, schema in _ANCHORED_RELEASES
    ]
    k = 0
    while (
        released := start + timedelta(days=_TRAIN_FIRST_OFFSET_DAYS + k * _TRAIN_EVERY_DAYS)
    ) <= until:
        releases.append(_Release(f"1.{_TRAIN_FIRST_MINOR + k}.0", released, 6))
        k += 1
    return tuple(release for release in releases if release.released <= until)


# --------------------------------------------------------------------------------------
# Install profiles
# --------------------------------------------------------------------------------------

_CLOUD_WEIGHTS = {"aws": 50, "azure": 12, "gcp": 10, "on_premises": 10, "unknown": 15, "other": 3}
_COMPUTE_WEIGHTS = {
    "aws": {"ecs": 35, "kubernetes": 25, "docker": 25, "ec2": 15},
    "azure": {"kubernetes": 45, "docker": 35, "vm": 20},
    "gcp": {"kubernetes": 50, "docker": 30, "vm": 20},
    "on_premises": {"docker": 55, "kubernetes": 35, "podman": 10},
    "other": {"docker": 50, "kubernetes": 30, "vm": 20},
    "unknown": {"docker": 75, "podman": 10, "kubernetes": 5, "unknown": 10},
}
# Share of unknown-cloud installs that are someone trying the registry natively on a Mac.
_LAPTOP_SHARE_OF_UNKNOWN = 0.4
_AUTH_WEIGHTS = {
    "aws": {"cognito": 45, "keycloak": 35, "okta": 12, "auth0": 5, "entra": 3},
    "azure": {"entra": 75, "keycloak": 15, "okta": 10},
    "gcp": {"keycloak": 50, "okta": 25, "auth0": 25},
    "on_premises": {"keycloak": 60, "pingfederate": 15, "entra": 15, "okta": 10},
    "other": {"keycloak": 70, "auth0": 10, "okta": 10, "entra": 10},
    "unknown": {"keycloak": 70, "auth0": 10, "okta": 10, "entra": 10},
}
_AWS_STORAGE_WEIGHTS = {
    "documentdb": 73,
    "mongodb-ce": 12,
    "file": 8,
    "mongodb-atlas": 4,
    "mongodb": 3,
}
_OTHER_STORAGE_WEIGHTS = {
    "mongodb-ce": 45,
    "file": 22,
    "documentdb": 19,
    "mongodb": 8,
    "mongodb-atlas": 6,
}
_LAPTOP_STORAGE_WEIGHTS = {"file": 60, "mongodb-ce": 40}
# The heartbeat model rejects these storages (reference 2.3, 9.1): from schema 4 on, when
# heartbeats started carrying ``storage``, such installs are only seen through startups.
_HEARTBEAT_REJECTED_STORAGES = ("mongodb", "mongodb-atlas")
_LITELLM_BACKEND_WEIGHTS = {
    "aws": {"bedrock": 75, "openai": 15, "cohere": 5, "other": 5},
    "azure": {"azure-openai": 70, "openai": 20, "other": 10},
}
_DEFAULT_LITELLM_BACKEND_WEIGHTS = {"openai": 50, "voyage": 15, "cohere": 15, "other": 20}

# Which collector-accepted methods can have detected each install's cloud (reference 2.1
# and the collector's consistency validator in 2.3).
_DETECTION_BY_CLOUD = {
    "on_premises": {"operator_declared": 70, "explicit": 30},
    "other": {"operator_declared": 70, "explicit": 30},
    "unknown": {"unknown": 85, "operator_declined": 15},
}
_DETECTION_PUBLIC_CLOUD = {"env": 30, "imds": 20, "dmi": 10, "explicit": 10}
_DETECTION_BY_COMPUTE = {"kubernetes": {"k8s_heuristic": 40}, "ec2": {"dmi": 40}, "vm": {"dmi": 40}}
_ECS_METADATA_WEIGHT = 60

# Lifetime classes as (one-day wonder, short 1-6 days, medium 7-60 days, long-lived)
# weights: production-shaped deployments stay longer, laptop tryouts rarely survive a day.
_LIFETIME_WEIGHTS_DEFAULT = (57, 15, 18, 10)
_LIFETIME_WEIGHTS_ORCHESTRATED = (47, 15, 22, 16)
_LIFETIME_WEIGHTS_LAPTOP = (80, 15, 5, 0)

_HEARTBEAT_OPT_OUT_SHARE = 0.05
_HOURLY_OPERATOR_SHARE_OF_LONG = 0.03
_NEWEST_RELEASE_SHARE = 0.8
_V_PREFIX_SHARE = 0.12
_PATCH_SUFFIX_SHARE = 0.05
_FEDERATION_SHARE = 0.15
_FAISS_SHARE_OF_OLD = 0.6
_ZERO_AUTH_TRAFFIC_SHARE = 0.1


@dataclass(frozen=True)
class _Profile:
    """What an install is: its deployment shape, fixed for its whole life."""

    cloud: str
    compute: str
    detection_method: str
    os: str
    arch: str
    py: str
    mode: str
    registry_mode: str
    storage: str
    auth: str
    federation: bool
    embeddings_provider: str
    embeddings_backend_kind: str
    search_backend: str
    # "release" (a release tag), or for internal installs "describe", "sha" or "dev".
    version_style: str
    v_prefix: bool
    patch_suffix: bool
    internal_deployment_type: str | None  # None: the install does not flag itself internal
    daily_queries: float
    daily_auth_requests: float
    auth_path_weights: tuple[tuple[str, float], ...]


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _detection_method(rng: random.Random, cloud: str, compute: str) -> str:
    if cloud in _DETECTION_BY_CLOUD:
        return _pick(rng, _DETECTION_BY_CLOUD[cloud])
    weights = dict(_DETECTION_PUBLIC_CLOUD)
    weights.update(_DETECTION_BY_COMPUTE.get(compute, {}))
    if cloud == "aws" and compute == "ecs":
        weights["ecs_meta"] = _ECS_METADATA_WEIGHT
    return _pick(rng, weights)


def _auth_path_weights(
    rng: random.Random, auth: str, cloud: str, federation: bool
) -> tuple[tuple[str, float], ...]:
    """Relative request volume per auth path: the IdP and browser sessions dominate."""
    weights = {auth: rng.uniform(0.3, 0.7), "session_cookie": rng.uniform(0.1, 0.5)}
    if rng.random() < 0.5:
        weights["jwt"] = rng.uniform(0.02, 0.2)
    if rng.random() < 0.2:
        weights["self_signed"] = rng.uniform(0.01, 0.05)
    if cloud == "aws" and rng.random() < 0.4:
        weights["boto3"] = rng.uniform(0.01, 0.1)
    if federation:
        weights["federation-static"] = rng.uniform(0.02, 0.1)
    if rng.random() < 0.1:
        weights["network-trusted"] = rng.uniform(0.01, 0.05)
    weights["unknown"] = rng.uniform(0.0, 0.08)
    return tuple(weights.items())


def _community_profile(rng: random.Random, first_schema: int) -> _Profile:
    """A random, internally consistent community install."""
    cloud = _pick(rng, _CLOUD_WEIGHTS)
    laptop = cloud == "unknown" and rng.random() < _LAPTOP_SHARE_OF_UNKNOWN
    if laptop:
        compute, os_name = "unknown", "darwin"
        arch = _pick(rng, {"arm64": 85, "x86_64": 15})
        storage = _pick(rng, _LAPTOP_STORAGE_WEIGHTS)
    else:
        compute, os_name = _pick(rng, _COMPUTE_WEIGHTS[cloud]), "linux"
        # Graviton makes aarch64 far more common on AWS.
        arch_weights = (
            {"x86_64": 65, "aarch64": 35}
            if cloud == "aws"
            else {"x86_64": 80, "aarch64": 17, "arm64": 3}
        )
        arch = _pick(rng, arch_weights)
        storage = _pick(rng, _AWS_STORAGE_WEIGHTS if cloud == "aws" else _OTHER_STORAGE_WEIGHTS)
    auth = _pick(rng, _AUTH_WEIGHTS[cloud])
    federation = rng.random() < _FEDERATION_SHARE
    provider = _pick(rng, {"sentence-transformers": 60, "litellm": 40})
    if provider == "sentence-transformers":
        backend_kind = "sentence-transformers"
    else:
        backend_kind = _pick(
            rng, _LITELLM_BACKEND_WEIGHTS.get(cloud, _DEFAULT_LITELLM_BACKEND_WEIGHTS)
        )
    # FAISS was the search backend of the early releases; only installs started on one use it.
    faiss = first_schema <= 2 and rng.random() < _FAISS_SHARE_OF_OLD
    return _Profile(
        cloud=cloud,
        compute=compute,
        detection_method=_detection_method(rng, cloud, compute),
        os=os_name,
        arch=arch,
        py=_pick(rng, {"3.11": 25, "3.12": 60, "3.13": 15}),
        mode=_pick(rng, {"with-gateway": 65, "registry-only": 35}),
        registry_mode=_pick(
            rng, {"full": 88, "mcp-servers-only": 5, "skills-only": 4, "agents-only": 3}
        ),
        storage=storage,
        auth=auth,
        federation=federation,
        embeddings_provider=provider,
        embeddings_backend_kind=backend_kind,
        search_backend="faiss" if faiss else "documentdb",
        version_style="release",
        v_prefix=rng.random() < _V_PREFIX_SHARE,
        patch_suffix=rng.random() < _PATCH_SUFFIX_SHARE,
        internal_deployment_type=None,
        daily_queries=rng.lognormvariate(math.log(3 if laptop else 15), 1.2),
        daily_auth_requests=0.0
        if rng.random() < _ZERO_AUTH_TRAFFIC_SHARE
        else rng.lognormvariate(math.log(400), 1.5),
        auth_path_weights=_auth_path_weights(rng, auth, cloud, federation),
    )


# Internal installs: version style and self-declared internal_deployment_type per k.
# k=3 and k=4 flag themselves internal (from schema 5 on); the allowlist file names k=0,
# 1, 2, 4 fully and k=5 by a truncated id, so each identification path is exercised.
_INTERNAL_VERSION_STYLES = ("describe", "sha", "describe", "dev", "describe", "sha")
_INTERNAL_DEPLOYMENT_TYPES = (None, None, None, "workshop", "dev", None)
# Days after params.start the internal installs go live: the first on day one, so even
# the first day of the fleet has a startup and a heartbeat, the rest within two weeks.
_INTERNAL_ARRIVAL_OFFSETS_DAYS = (0, 1, 3, 5, 8, 11)


def _internal_profile(rng: random.Random, k: int) -> _Profile:
    """The vendor's own deployments: AWS, DocumentDB, daily use, never opted out."""
    compute = _pick(rng, {"ecs": 50, "kubernetes": 30, "docker": 20})
    auth = _pick(rng, {"cognito": 50, "keycloak": 50})
    return _Profile(
        cloud="aws",
        compute=compute,
        detection_method=_detection_method(rng, "aws", compute),
        os="linux",
        arch=_pick(rng, {"x86_64": 50, "aarch64": 50}),
        py="3.12",
        mode="with-gateway",
        registry_mode="full",
        storage="documentdb",
        auth=auth,
        federation=k % 2 == 0,
        embeddings_provider="litellm",
        embeddings_backend_kind="bedrock",
        search_backend="documentdb",
        version_style=_INTERNAL_VERSION_STYLES[k],
        v_prefix=False,
        patch_suffix=False,
        internal_deployment_type=_INTERNAL_DEPLOYMENT_TYPES[k],
        daily_queries=rng.lognormvariate(math.log(60), 0.5),
        daily_auth_requests=rng.lognormvariate(math.log(2000), 0.5),
        auth_path_weights=_auth_path_weights(rng, auth, "aws", k % 2 == 0),
    )


# --------------------------------------------------------------------------------------
# Lives: when an install runs, which version, which events
# --------------------------------------------------------------------------------------

_DAY = timedelta(days=1)
_DAILY_HEARTBEAT = timedelta(minutes=1440)
_HOURLY_HEARTBEAT = timedelta(minutes=60)
_MISSED_HEARTBEAT_SHARE = 0.05
_DUPLICATE_DELIVERY_SHARE = 0.01
_COUNTER_RESET_PER_DAY = 1 / 300
# Restart chances: per day for multi-day lives; once for a one-day wonder (tinkering).
_RESTART_PER_DAY_SHORT = 0.15
_RESTART_PER_DAY_LONG = 0.03
_RESTART_SHARE_ONE_DAY = 0.25
_INTERNAL_REDEPLOY_EVERY_DAYS = (1, 6)


@dataclass(frozen=True)
class _Life:
    """When an install runs and how it reports."""

    first_start: datetime
    end: datetime  # the process is gone from here on
    restart_per_day: float
    heartbeat_interval: timedelta | None  # None: heartbeats opted out
    upgrade_propensity: float  # chance to follow each new release


@dataclass(frozen=True)
class _ProcessStart:
    """A (re)start of the registry process: a startup event and a new heartbeat schedule."""

    at: datetime
    v: str
    schema: int


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time())


def _random_instant(
    rng: random.Random, day: date, earliest_s: int = 0, latest_s: int = 86400
) -> datetime:
    """A millisecond instant in ``[earliest_s, latest_s)`` seconds after ``day``'s midnight."""
    return _midnight(day) + timedelta(
        milliseconds=rng.randrange(earliest_s * 1000, latest_s * 1000)
    )


def _community_life(rng: random.Random, profile: _Profile, arrival: date) -> _Life:
    """Draw the lifetime class and derive when the install runs and how it reports."""
    if profile.os == "darwin":
        class_weights = _LIFETIME_WEIGHTS_LAPTOP
    elif profile.compute in ("ecs", "kubernetes") and profile.cloud in ("aws", "azure", "gcp"):
        class_weights = _LIFETIME_WEIGHTS_ORCHESTRATED
    else:
        class_weights = _LIFETIME_WEIGHTS_DEFAULT
    lifetime_class = rng.choices(("one_day", "short", "medium", "long"), weights=class_weights)[0]
    opted_out = rng.random() < _HEARTBEAT_OPT_OUT_SHARE
    interval = None if opted_out else _DAILY_HEARTBEAT
    if lifetime_class == "one_day":
        # Leave room for a restart and keep every event on the arrival day.
        first_start = _random_instant(rng, arrival, 0, 22 * 3600)
        end = min(
            first_start + timedelta(minutes=rng.uniform(10, 360)),
            _midnight(arrival + _DAY) - timedelta(seconds=1),
        )
        restart_per_day, upgrade_propensity = _RESTART_SHARE_ONE_DAY, 0.0
    else:
        first_start = _random_instant(rng, arrival)
        if lifetime_class == "short":
            days, restart_per_day, upgrade_propensity = (
                rng.randint(1, 6),
                _RESTART_PER_DAY_SHORT,
                0.0,
            )
        elif lifetime_class == "medium":
            days, restart_per_day = rng.randint(7, 60), _RESTART_PER_DAY_LONG
            upgrade_propensity = _pick_propensity(rng)
        else:
            days, restart_per_day = LIFETIME_CAP_DAYS, _RESTART_PER_DAY_LONG
            upgrade_propensity = _pick_propensity(rng)
            if not opted_out and rng.random() < _HOURLY_OPERATOR_SHARE_OF_LONG:
                interval = _HOURLY_HEARTBEAT
        # The last heartbeat lands about `days` after arrival, so that is the install's age;
        # nothing may happen after the cap's last day (a query never looks further back).
        end = min(
            first_start + timedelta(days=days, hours=rng.uniform(1, 5)),
            _midnight(arrival + timedelta(days=LIFETIME_CAP_DAYS + 1)),
        )
    return _Life(first_start, end, restart_per_day, interval, upgrade_propensity)


def _pick_propensity(rng: random.Random) -> float:
    """Eager upgraders, laggards, and pinned deployments that never upgrade."""
    return rng.choices((0.85, 0.4, 0.0), weights=(60, 25, 15))[0]


def _release_version(profile: _Profile, release: _Release) -> str:
    return ("v" if profile.v_prefix else "") + release.tag + ("-p1" if profile.patch_suffix else "")


def _internal_version(rng: random.Random, profile: _Profile, newest: _Release, at: datetime) -> str:
    """A dev build of main: git-describe past the newest tag, a bare sha, or ``dev``."""
    if profile.version_style == "dev":
        return "dev"
    sha = f"{rng.getrandbits(32):08x}"
    if profile.version_style == "sha":
        return sha[:7]
    commits = 3 * (at.date() - newest.released).days + rng.randint(1, 5)
    return f"{newest.tag}-{commits}-g{sha}-main"


def _restart_times(rng: random.Random, life: _Life) -> list[datetime]:
    """Random restarts (crashes, config changes, node moves): with probability
    ``life.restart_per_day`` one per calendar day, at a moment the install is running.
    """
    first_day, last_day = life.first_start.date(), life.end.date()
    times = []
    for offset in range((last_day - first_day).days + 1):
        day = first_day + timedelta(days=offset)
        running_from = max(life.first_start, _midnight(day))
        running_until = min(life.end, _midnight(day + _DAY))
        if running_from < running_until and rng.random() < life.restart_per_day:
            times.append(running_from + (running_until - running_from) * rng.random())
    return times


def _initial_release(rng: random.Random, releases: Sequence[_Release], arrival: date) -> _Release:
    """Mostly the newest release; otherwise one of the four before it (pinned charts,
    old tutorials), the more recent the likelier.
    """
    available = [r for r in releases if r.released <= arrival]
    if rng.random() < _NEWEST_RELEASE_SHARE or len(available) == 1:
        return available[-1]
    older = available[-5:-1][::-1]  # most recent first
    return rng.choices(older, weights=(4, 3, 2, 1)[: len(older)])[0]


def _community_starts(
    rng: random.Random,
    profile: _Profile,
    life: _Life,
    releases: Sequence[_Release],
    initial: _Release,
) -> list[_ProcessStart]:
    """Process starts of a community install, each with the version it runs.

    The install starts on ``initial``. For each later release it may upgrade after a lag
    of days to weeks; an upgrade is a restart. Upgrades never go backwards: a release
    whose upgrade lands after a newer one's is skipped.
    """
    current = initial
    upgrades: list[tuple[datetime, _Release]] = []
    for release in releases:
        if release.released <= life.first_start.date() or rng.random() >= life.upgrade_propensity:
            continue
        lag_days = min(60, 1 + int(rng.expovariate(1 / 10)))
        moment = _random_instant(rng, release.released + timedelta(days=lag_days))
        if moment < life.end:
            upgrades.append((moment, release))
    moments = (
        [(life.first_start, current)] + [(t, None) for t in _restart_times(rng, life)] + upgrades
    )
    moments.sort(key=lambda item: item[0])
    starts = []
    for moment, release in moments:
        if release is not None and release.released > current.released:
            current = release
        starts.append(_ProcessStart(moment, _release_version(profile, current), current.schema))
    return starts


def _internal_starts(
    rng: random.Random, profile: _Profile, life: _Life, releases: Sequence[_Release]
) -> list[_ProcessStart]:
    """Internal installs redeploy main every few days; each redeploy is a new build."""
    starts = []
    moment = life.first_start
    while moment < life.end:
        newest = [r for r in releases if r.released <= moment.date()][-1]
        starts.append(
            _ProcessStart(moment, _internal_version(rng, profile, newest, moment), newest.schema)
        )
        next_day = moment.date() + timedelta(days=rng.randint(*_INTERNAL_REDEPLOY_EVERY_DAYS))
        moment = _random_instant(rng, next_day, 8 * 3600, 18 * 3600)
    return starts


# --------------------------------------------------------------------------------------
# Per-install counters
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _DailyState:
    """Per-life-day values that evolve slowly: inventory counts and search usage."""

    servers: int
    agents: int
    skills: int
    peers: int
    queries: int  # search queries on this day
    total_before: int  # search_queries_total at this day's 00:00 (after any reset)


def _daily_states(rng: random.Random, profile: _Profile, days: int) -> list[_DailyState]:
    """Counts grow slowly; the forever search counter accumulates daily queries and is
    reset to 0 about once per 300 install-days (the stats collection was wiped).
    """
    servers, agents, skills = rng.randint(0, 6), rng.randint(0, 3), rng.randint(0, 4)
    peers = rng.randint(1, 3) if profile.federation else 0
    total = 0
    states = []
    for _ in range(days):
        if rng.random() < _COUNTER_RESET_PER_DAY:
            total = 0
        queries = max(0, round(rng.gauss(profile.daily_queries, profile.daily_queries * 0.3)))
        states.append(_DailyState(servers, agents, skills, peers, queries, total))
        total += queries
        # Inventories only grow, by one item every few weeks.
        servers += int(rng.random() < 0.06)
        agents += int(rng.random() < 0.04)
        skills += int(rng.random() < 0.05)
        if profile.federation and rng.random() < 0.005:
            peers += 1
    return states


def _search_counters(
    rng: random.Random, states: Sequence[_DailyState], day_index: int, moment: datetime
) -> tuple[int, int, int]:
    """(total, 24h window, 1h window) at ``moment``: the total is monotonic within a day
    and across days (until a reset); the windows follow recent usage and are not.
    """
    state = states[day_index]
    day_fraction = (moment - _midnight(moment.date())).total_seconds() / 86400
    previous_queries = states[day_index - 1].queries if day_index > 0 else 0
    total = state.total_before + int(state.queries * day_fraction)
    last_24h = int(previous_queries * (1 - day_fraction) + state.queries * day_fraction)
    last_1h = int(state.queries / 24 * rng.uniform(0, 2))
    return total, last_24h, last_1h


def _volume_bucket(total: int) -> str:
    if total < 10:
        return "1-9"
    if total < 100:
        return "10-99"
    if total < 1000:
        return "100-999"
    if total < 10000:
        return "1k-9k"
    return "10k+"


def _largest_remainder_shares(counts: Mapping[str, int]) -> dict[str, int]:
    """Integer percentages summing to exactly 100, with the registry's tie rule: leftover
    points go by fractional part, then count, then path name, all descending.
    """
    total = sum(counts.values())
    shares = {path: count * 100 // total for path, count in counts.items()}
    leftover = 100 - sum(shares.values())
    ranked = sorted(
        counts, key=lambda path: ((counts[path] * 100) % total, counts[path], path), reverse=True
    )
    for path in ranked[:leftover]:
        shares[path] += 1
    return dict(sorted(shares.items(), key=lambda item: (-item[1], item[0])))


def _auth_path_fields(
    rng: random.Random, profile: _Profile, uptime: timedelta
) -> tuple[str | None, str | None, str | None]:
    """The v6 heartbeat trio (share JSON, volume bucket, window hours) over a window that
    opened at process start and lazily resets about daily; all None without traffic.
    """
    window_seconds = min(uptime.total_seconds(), rng.uniform(20, 28) * 3600)
    volume = profile.daily_auth_requests * window_seconds / 86400
    counts = {
        path: int(volume * weight * rng.uniform(0.8, 1.2))
        for path, weight in profile.auth_path_weights
    }
    counts = {path: count for path, count in counts.items() if count > 0}
    if not counts:
        return None, None, None
    shares = json.dumps(_largest_remainder_shares(counts), separators=(",", ":"))
    window_hours = min(48, int(window_seconds // 3600))
    return shares, _volume_bucket(sum(counts.values())), str(window_hours)


# --------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------


def _startup_row(
    registry_id: str | None, profile: _Profile, start: _ProcessStart, counters: tuple[int, int, int]
) -> _Row:
    row: list[str | None] = [None] * len(EXPORT_COLUMNS)
    _fill_common(row, "startup", registry_id, profile, start, counters)
    _fill_shape(row, profile)
    if start.schema >= 2:
        row[_COL["embeddings_provider"]] = profile.embeddings_provider
    row[_COL["ts"]] = format_ts(start.at)
    return tuple(row)


def _heartbeat_row(
    rng: random.Random,
    registry_id: str | None,
    profile: _Profile,
    start: _ProcessStart,
    state: _DailyState,
    counters: tuple[int, int, int],
    moment: datetime,
    v6_collector: bool,
) -> _Row:
    row: list[str | None] = [None] * len(EXPORT_COLUMNS)
    _fill_common(row, "heartbeat", registry_id, profile, start, counters)
    if start.schema >= 4:
        _fill_shape(row, profile)
    uptime = moment - start.at
    row[_COL["servers_count"]] = str(state.servers)
    row[_COL["agents_count"]] = str(state.agents)
    row[_COL["skills_count"]] = str(state.skills)
    row[_COL["peers_count"]] = str(state.peers)
    row[_COL["search_backend"]] = profile.search_backend
    row[_COL["embeddings_provider"]] = profile.embeddings_provider
    row[_COL["uptime_hours"]] = str(int(uptime.total_seconds() // 3600))
    # Pre-v6 registries never declared schema_version to a collector that keeps it
    # (reference 2.4): only schema-6 heartbeats through the v6 collector carry it.
    if v6_collector and start.schema >= 6:
        row[_COL["schema_version"]] = str(start.schema)
        share, bucket, window = _auth_path_fields(rng, profile, uptime)
        row[_COL["auth_path_share_24h"]] = share
        row[_COL["auth_path_volume_bucket_24h"]] = bucket
        row[_COL["auth_path_window_hours"]] = window
    row[_COL["ts"]] = format_ts(moment)
    return tuple(row)


def _fill_common(
    row: list[str | None],
    event: str,
    registry_id: str | None,
    profile: _Profile,
    start: _ProcessStart,
    counters: tuple[int, int, int],
) -> None:
    """Fields both event types carry at ``start.schema``."""
    row[_COL["event"]] = event
    row[_COL["registry_id"]] = registry_id
    row[_COL["v"]] = start.v
    # Before schema 3 only public clouds could be detected: everything else was "unknown".
    public = profile.cloud in ("aws", "azure", "gcp")
    row[_COL["cloud"]] = profile.cloud if start.schema >= 3 or public else "unknown"
    row[_COL["compute"]] = profile.compute
    if start.schema >= 2:
        row[_COL["embeddings_backend_kind"]] = profile.embeddings_backend_kind
    if start.schema >= 3:
        row[_COL["cloud_detection_method"]] = profile.detection_method
    if start.schema >= 5:
        internal = profile.internal_deployment_type is not None
        row[_COL["internal_only_deployment"]] = format_bool(internal)
        row[_COL["internal_deployment_type"]] = profile.internal_deployment_type or "none"
    total, last_24h, last_1h = counters
    row[_COL["search_queries_total"]] = str(total)
    row[_COL["search_queries_24h"]] = str(last_24h)
    row[_COL["search_queries_1h"]] = str(last_1h)


def _fill_shape(row: list[str | None], profile: _Profile) -> None:
    """The deployment-shape fields: always on startups, on heartbeats from schema 4."""
    row[_COL["py"]] = profile.py
    row[_COL["os"]] = profile.os
    row[_COL["arch"]] = profile.arch
    row[_COL["mode"]] = profile.mode
    row[_COL["registry_mode"]] = profile.registry_mode
    row[_COL["storage"]] = profile.storage
    row[_COL["auth"]] = profile.auth
    row[_COL["federation"]] = format_bool(profile.federation)


def _simulate_install(
    rng: random.Random,
    params: DemoFleetParams,
    registry_id: str | None,
    profile: _Profile,
    life: _Life,
    starts: Sequence[_ProcessStart],
) -> list[_Row]:
    """Every event an install sends over its life, as export rows in time order."""
    arrival = life.first_start.date()
    states = _daily_states(rng, profile, (life.end.date() - arrival).days + 1)
    heartbeats_rejected = profile.storage in _HEARTBEAT_REJECTED_STORAGES
    v6_collector_from = params.start + timedelta(days=V6_COLLECTOR_OFFSET_DAYS)
    rows: list[_Row] = []

    def emit(row: _Row) -> None:
        rows.append(row)
        if rng.random() < _DUPLICATE_DELIVERY_SHARE:
            rows.append(row)  # the client's retry after a lost response: a second delivery

    last_lock: datetime | None = None
    for position, start in enumerate(starts):
        segment_end = starts[position + 1].at if position + 1 < len(starts) else life.end
        day_index = (start.at.date() - arrival).days
        emit(
            _startup_row(
                registry_id, profile, start, _search_counters(rng, states, day_index, start.at)
            )
        )
        interval = life.heartbeat_interval
        if interval is None:
            continue
        attempt = start.at + timedelta(seconds=rng.uniform(2, 20))
        while attempt < segment_end:
            # An attempt sends only if it wins the shared lock, which stays taken for one
            # interval: a restart soon after a heartbeat skips its immediate one (2.1).
            if last_lock is None or attempt - last_lock >= interval:
                last_lock = attempt
                lost = rng.random() < _MISSED_HEARTBEAT_SHARE
                if not lost and not (heartbeats_rejected and start.schema >= 4):
                    day_index = (attempt.date() - arrival).days
                    counters = _search_counters(rng, states, day_index, attempt)
                    emit(
                        _heartbeat_row(
                            rng,
                            registry_id,
                            profile,
                            start,
                            states[day_index],
                            counters,
                            attempt,
                            v6_collector=attempt.date() >= v6_collector_from,
                        )
                    )
            # The loop sleeps a full interval after each attempt, so the schedule drifts.
            attempt += interval + timedelta(seconds=rng.uniform(0.05, 2.0))
    return rows


# --------------------------------------------------------------------------------------
# Arrivals
# --------------------------------------------------------------------------------------

_GROWTH_DAYS = 90
_GROWTH_FACTOR = 3.0
# Very early clients sent `instance_id`, which the collector drops: startups with an empty
# registry_id, ~5 a week for the first four weeks, fading out by week eight.
_UNIDENTIFIED_PER_DAY = 5 / 7
_UNIDENTIFIED_FULL_DAYS = 28
_UNIDENTIFIED_FADE_DAYS = 28


def _rng(params: DemoFleetParams, arrival: date, key: str) -> random.Random:
    # A str seed is hashed with SHA-512 by `random`, so it is stable across processes.
    return random.Random(f"{params.seed}:{arrival.isoformat()}:{key}")


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 30:  # Knuth's product method underflows for large means
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _arrival_mean(params: DemoFleetParams, arrival: date) -> float:
    growth = min((arrival - params.start).days, _GROWTH_DAYS) / _GROWTH_DAYS
    return params.daily_new_installs * (1 + (_GROWTH_FACTOR - 1) * growth)


def fleet_of_size(installs: int, days: int, last_day: date, seed: int = 7) -> DemoFleetParams:
    """A fleet whose ``days`` days end on ``last_day`` and bring about ``installs`` community
    registry_ids (the expected number; the simulated count varies by several percent).

    The arrival mean grows from ``daily_new_installs`` to 3x over the first 90 days, and each
    arriving install brings :data:`_RECREATED_IDS_PER_ARRIVAL` more ids on average (the
    incarnations of recreated deployments, counted whole: a short fleet holds a few fewer),
    so ``daily_new_installs`` = installs / (sum over the days of that growth x (1 + that)).
    Raises ``ValueError`` when ``installs`` or ``days`` is not positive.
    """
    if installs <= 0 or days <= 0:
        raise ValueError(f"a fleet needs installs and days > 0, got {installs} installs over {days} days")
    start = last_day - timedelta(days=days - 1)
    growth = sum(1 + (_GROWTH_FACTOR - 1) * min(day, _GROWTH_DAYS) / _GROWTH_DAYS for day in range(days))
    return DemoFleetParams(
        seed=seed, start=start, daily_new_installs=installs / (growth * (1 + _RECREATED_IDS_PER_ARRIVAL))
    )


def _unidentified_mean(params: DemoFleetParams, arrival: date) -> float:
    age = (arrival - params.start).days
    fade = 1 - max(0, age - _UNIDENTIFIED_FULL_DAYS) / _UNIDENTIFIED_FADE_DAYS
    return _UNIDENTIFIED_PER_DAY * max(0.0, fade)


def _random_registry_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _arrival_rows(
    params: DemoFleetParams, arrival: date, releases: Sequence[_Release]
) -> list[_Row]:
    """Rows of every install arriving on ``arrival``, over their whole lives."""
    rows: list[_Row] = []
    for index in range(_poisson(_rng(params, arrival, "arrivals"), _arrival_mean(params, arrival))):
        rng = _rng(params, arrival, str(index))
        registry_id = _random_registry_id(rng)
        initial = _initial_release(rng, releases, arrival)
        profile = _community_profile(rng, initial.schema)
        life = _community_life(rng, profile, arrival)
        starts = _community_starts(rng, profile, life, releases, initial)
        install_rows = _simulate_install(rng, params, registry_id, profile, life, starts)
        rows.extend(_with_ip_hash(install_rows, _install_ip_hash(params, arrival, index)))

    for k in range(INTERNAL_INSTALL_COUNT):
        if params.start + timedelta(days=_INTERNAL_ARRIVAL_OFFSETS_DAYS[k]) != arrival:
            continue
        rng = _rng(params, arrival, f"internal-{k}")
        profile = _internal_profile(rng, k)
        first_start = _random_instant(rng, arrival, 8 * 3600, 18 * 3600)
        end = first_start + timedelta(days=LIFETIME_CAP_DAYS)
        life = _Life(first_start, end, 0.0, _DAILY_HEARTBEAT, 0.0)  # redeploys replace restarts
        starts = _internal_starts(rng, profile, life, releases)
        install_rows = _simulate_install(rng, params, internal_registry_id(k), profile, life, starts)
        rows.extend(_with_ip_hash(install_rows, _office_ip_hash(params, "vendor")))

    oldest = releases[0]  # the schema-1 release those early clients ran
    for index in range(
        _poisson(_rng(params, arrival, "unidentified"), _unidentified_mean(params, arrival))
    ):
        rng = _rng(params, arrival, f"unidentified-{index}")
        profile = _community_profile(rng, oldest.schema)
        first_start = _random_instant(rng, arrival)
        life = _Life(first_start, first_start, 0.0, None, 0.0)  # one startup, nothing else
        starts = [_ProcessStart(first_start, _release_version(profile, oldest), oldest.schema)]
        rows.extend(_simulate_install(rng, params, None, profile, life, starts))

    for deployment in _recreated_deployments(params, arrival):
        for _registry_id, incarnation_rows in deployment.incarnations:
            rows.extend(incarnation_rows)
    return rows


# Enough entries for every arrival day one query can need, so a run over consecutive
# days generates each arrival day once.
@lru_cache(maxsize=LIFETIME_CAP_DAYS + 64)
def _rows_by_event_day(params: DemoFleetParams, arrival: date) -> Mapping[date, tuple[_Row, ...]]:
    """The rows of installs arriving on ``arrival``, grouped by the UTC day of their ts."""
    releases = _releases_until(params.start, arrival + timedelta(days=LIFETIME_CAP_DAYS + 1))
    by_day: defaultdict[date, list[_Row]] = defaultdict(list)
    for row in _arrival_rows(params, arrival, releases):
        by_day[date.fromisoformat(row[_COL["ts"]][:10])].append(row)
    return {day: tuple(rows) for day, rows in by_day.items()}


# --------------------------------------------------------------------------------------
# Source IP hashes and recreated deployments (issue 14)
# --------------------------------------------------------------------------------------

# Share of community installs that send from an office's NAT address shared with other
# installs of the same office, and offices per mean daily arrival (so a larger fleet has
# more offices, not more crowded ones).
_OFFICE_SHARE_OF_INSTALLS = 0.10
_OFFICES_PER_DAILY_ARRIVAL = 2.0
# Recreated deployments arriving per community install arriving; share of them that keep
# their registry_id across recreations (a persistent volume holds the registry's state).
_RECREATED_PER_INSTALL = 0.06
_PERSISTENT_VOLUME_SHARE = 0.3
_OFFICE_SHARE_OF_DEPLOYMENTS = 0.2
_INCARNATIONS = (2, 10)
#: Registry ids the recreated deployments bring per arriving install, on average: one per
#: deployment with a persistent volume, one per incarnation (mean of _INCARNATIONS) without.
_RECREATED_IDS_PER_ARRIVAL = _RECREATED_PER_INSTALL * (
    _PERSISTENT_VOLUME_SHARE + (1 - _PERSISTENT_VOLUME_SHARE) * sum(_INCARNATIONS) / 2
)
# How long one incarnation runs (hours, days, weeks) and the downtime before the next one
# (a rolling redeploy, a node drain, or a deployment switched off for days: past the
# stitching's gap on purpose).
_INCARNATION_LENGTH_WEIGHTS = {"hours": 45, "days": 40, "weeks": 15}
_DOWNTIME_WEIGHTS = {"minutes": 70, "hours": 24, "days": 6}
# At a recreation the image is pulled again: often a newer release, rarely a rollback.
_UPGRADE_AT_RECREATION_SHARE = 0.5
_ROLLBACK_AT_RECREATION_SHARE = 0.04


@dataclass(frozen=True)
class _Deployment:
    """One recreated deployment: its id and, in time order, each incarnation's
    registry_id and export rows (one registry_id throughout with a persistent volume)."""

    deployment_id: str
    incarnations: tuple[tuple[str, tuple[_Row, ...]], ...]


def _hash_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _office_ip_hash(params: DemoFleetParams, office: str) -> str:
    """The NAT address of an office (or of the vendor, for the internal installs)."""
    return _hash_hex(f"{params.seed}:office:{office}")


def _offices(params: DemoFleetParams) -> int:
    return max(2, round(params.daily_new_installs * _OFFICES_PER_DAILY_ARRIVAL))


def _ip_hash(params: DemoFleetParams, rng: random.Random, office_share: float) -> str:
    if rng.random() < office_share:
        return _office_ip_hash(params, str(rng.randrange(_offices(params))))
    return f"{rng.getrandbits(64):016x}"


def _install_ip_hash(params: DemoFleetParams, arrival: date, index: int) -> str:
    """Community install ``index`` of ``arrival``: from its own RNG key, so its other draws are untouched."""
    return _ip_hash(params, _rng(params, arrival, f"ip-{index}"), _OFFICE_SHARE_OF_INSTALLS)


def _with_ip_hash(rows: Sequence[_Row], ip_hash: str) -> list[_Row]:
    column = _COL["source_ip_hash"]
    return [row[:column] + (ip_hash,) + row[column + 1 :] for row in rows]


def _next_release(rng: random.Random, releases: Sequence[_Release], current: _Release, at: datetime) -> _Release:
    """The release a recreated incarnation runs: the newest one, the previous one
    (a rollback: the version goes down, which breaks a stitched chain), or the same."""
    draw = rng.random()
    available = [release for release in releases if release.released <= at.date()]
    if draw < _ROLLBACK_AT_RECREATION_SHARE:
        older = [release for release in available if release.released < current.released]
        return older[-1] if older else current
    if draw < _ROLLBACK_AT_RECREATION_SHARE + _UPGRADE_AT_RECREATION_SHARE:
        return available[-1]
    return current


def _incarnation_length(rng: random.Random) -> timedelta:
    kind = _pick(rng, _INCARNATION_LENGTH_WEIGHTS)
    if kind == "hours":
        return timedelta(hours=rng.uniform(0.5, 10))
    return timedelta(days=rng.uniform(1, 4) if kind == "days" else rng.uniform(5, 20))


def _downtime(rng: random.Random) -> timedelta:
    kind = _pick(rng, _DOWNTIME_WEIGHTS)
    if kind == "minutes":
        return timedelta(minutes=rng.uniform(1, 30))
    return timedelta(hours=rng.uniform(1, 12)) if kind == "hours" else timedelta(days=rng.uniform(3, 8))


def _recreated_deployment(
    params: DemoFleetParams, arrival: date, index: int, releases: Sequence[_Release]
) -> _Deployment:
    """Deployment ``index`` of ``arrival``: a profile, an IP hash and a run of incarnations,
    each one process start with daily heartbeats, all before the lifetime cap."""
    rng = _rng(params, arrival, f"deployment-{index}")
    release = _initial_release(rng, releases, arrival)
    profile = _community_profile(rng, release.schema)
    persistent = rng.random() < _PERSISTENT_VOLUME_SHARE
    ip_hash = _ip_hash(params, rng, _OFFICE_SHARE_OF_DEPLOYMENTS)
    cap = _midnight(arrival + timedelta(days=LIFETIME_CAP_DAYS + 1))
    registry_id = _random_registry_id(rng)
    moment = _random_instant(rng, arrival)
    incarnations = []
    for number in range(rng.randint(*_INCARNATIONS)):
        if moment >= cap:
            break
        if number and not persistent:
            registry_id = _random_registry_id(rng)
        end = min(moment + _incarnation_length(rng), cap)
        life = _Life(moment, end, 0.0, _DAILY_HEARTBEAT, 0.0)
        start = _ProcessStart(moment, _release_version(profile, release), release.schema)
        install_rng = _rng(params, arrival, f"deployment-{index}-{number}")
        rows = _simulate_install(install_rng, params, registry_id, profile, life, [start])
        incarnations.append((registry_id, tuple(_with_ip_hash(rows, ip_hash))))
        moment = end + _downtime(rng)
        release = _next_release(rng, releases, release, moment)
    return _Deployment(f"deployment-{arrival.isoformat()}-{index}", tuple(incarnations))


# Cached like _rows_by_event_day: the truth and the events of one arrival day share it.
@lru_cache(maxsize=LIFETIME_CAP_DAYS + 64)
def _recreated_deployments(params: DemoFleetParams, arrival: date) -> tuple[_Deployment, ...]:
    """The recreated deployments whose first incarnation starts on ``arrival``."""
    releases = _releases_until(params.start, arrival + timedelta(days=LIFETIME_CAP_DAYS + 1))
    count = _poisson(_rng(params, arrival, "deployments"), _arrival_mean(params, arrival) * _RECREATED_PER_INSTALL)
    return tuple(_recreated_deployment(params, arrival, index, releases) for index in range(count))


def demo_deployments(params: DemoFleetParams, until: date) -> dict[str, str]:
    """The truth the stitching is measured against: registry_id -> deployment id for
    every identified install arriving from ``params.start`` up to ``until``.

    An incarnation of a recreated deployment maps to ``"deployment-<arrival>-<n>"`` (every
    incarnation, also those starting after ``until``); every other install, internal ones
    included, is a deployment of its own and maps to its own registry_id.
    """
    truth: dict[str, str] = {}
    for offset in range((until - params.start).days + 1):
        arrival = params.start + timedelta(days=offset)
        for index in range(_poisson(_rng(params, arrival, "arrivals"), _arrival_mean(params, arrival))):
            registry_id = _random_registry_id(_rng(params, arrival, str(index)))
            truth[registry_id] = registry_id
        for k in range(INTERNAL_INSTALL_COUNT):
            if params.start + timedelta(days=_INTERNAL_ARRIVAL_OFFSETS_DAYS[k]) == arrival:
                truth[internal_registry_id(k)] = internal_registry_id(k)
        for deployment in _recreated_deployments(params, arrival):
            for registry_id, _rows in deployment.incarnations:
                truth[registry_id] = deployment.deployment_id
    return truth
