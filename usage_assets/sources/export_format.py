"""The telemetry export format: column names, value rules and string conventions.

Every source (demo simulator, CSV archive, DocumentDB) hands events over in this one
format, the reference's ``registry_metrics.csv`` row (reference section 2.4): a
``polars.DataFrame`` whose columns are :data:`EXPORT_COLUMNS`, all ``pl.String``, with
``None`` for an empty cell. Booleans are ``"True"``/``"False"``, integers decimal
strings, ``ts`` ISO-8601 UTC with millisecond precision and a ``Z`` suffix
(``2026-05-20T14:03:11.123Z``), ``auth_path_share_24h`` compact JSON.

Typing and validation of these strings happen in one place, :mod:`usage_assets.ingest.validation`.
The value allowlists below are the collector's rules (reference section 2.3).
"""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl

#: The v6 exporter's 34 columns, in the reference's order (reference 2.4).
EXPORT_COLUMNS: tuple[str, ...] = (
    "event",
    "registry_id",
    "v",
    "py",
    "os",
    "arch",
    "cloud",
    "compute",
    "mode",
    "registry_mode",
    "storage",
    "auth",
    "federation",
    "servers_count",
    "agents_count",
    "skills_count",
    "peers_count",
    "search_backend",
    "embeddings_provider",
    "embeddings_backend_kind",
    "cloud_detection_method",
    "internal_only_deployment",
    "internal_deployment_type",
    "uptime_hours",
    "search_queries_total",
    "search_queries_24h",
    "search_queries_1h",
    "schema_version",
    "auth_path_share_24h",
    "auth_path_volume_bucket_24h",
    "auth_path_window_hours",
    "ts",
    "stored_at",
    "source_ip_hash",
)

#: Columns a file must have to be read as an export at all.
REQUIRED_COLUMNS: tuple[str, ...] = ("event", "registry_id", "v", "ts")

#: Days the collector keeps an event (its TTL index on ``received_at``, reference 2.3): no
#: export or query can see an event received earlier, so an event dated more than this
#: before the export that holds it was sent by an install with a wrong clock.
COLLECTOR_RETENTION_DAYS = 365

EVENT_TYPES = ("startup", "heartbeat")

CLOUDS = ("aws", "gcp", "azure", "on_premises", "other", "unknown")
COMPUTES = ("ecs", "eks", "kubernetes", "docker", "podman", "ec2", "vm", "unknown")
OPERATING_SYSTEMS = ("linux", "darwin", "windows")
MODES = ("with-gateway", "registry-only")
REGISTRY_MODES = ("full", "skills-only", "mcp-servers-only", "agents-only")
# The collector's heartbeat model still rejects mongodb/mongodb-atlas (reference 9.1, a
# collector bug); we accept the startup model's full list for both event types.
STORAGES = ("file", "documentdb", "mongodb-ce", "mongodb", "mongodb-atlas")
SEARCH_BACKENDS = ("faiss", "documentdb")
EMBEDDINGS_BACKEND_KINDS = (
    "sentence-transformers",
    "bedrock",
    "openai",
    "azure-openai",
    "voyage",
    "cohere",
    "other",
    "unknown",
)
CLOUD_DETECTION_METHODS = (
    "env",
    "dmi",
    "ecs_meta",
    "k8s_heuristic",
    "imds",
    "explicit",
    "operator_declared",
    "operator_declined",
    "unknown",
)
INTERNAL_DEPLOYMENT_TYPES = ("none", "dev", "workshop", "other")
AUTH_PATHS = (
    "session_cookie",
    "self_signed",
    "jwt",
    "boto3",
    "federation-static",
    "network-trusted",
    "keycloak",
    "cognito",
    "entra",
    "okta",
    "auth0",
    "pingfederate",
    "unknown",
)
AUTH_VOLUME_BUCKETS = ("0", "1-9", "10-99", "100-999", "1k-9k", "10k+")

INT_COLUMNS = (
    "servers_count",
    "agents_count",
    "skills_count",
    "peers_count",
    "uptime_hours",
    "search_queries_total",
    "search_queries_24h",
    "search_queries_1h",
    "schema_version",
    "auth_path_window_hours",
)
BOOL_COLUMNS = ("federation", "internal_only_deployment")

EXPORT_SCHEMA = pl.Schema({name: pl.String for name in EXPORT_COLUMNS})


def format_ts(moment: datetime) -> str:
    """Format a UTC instant the way the reference export does: ``YYYY-MM-DDTHH:MM:SS.mmmZ``.

    Naive datetimes are taken as UTC. Sub-millisecond digits are truncated (mongosh's
    ``JSON.stringify`` of a BSON date, reference 3.4).
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def format_bool(value: bool) -> str:
    """Python-repr booleans, as in the export (``True``/``False``)."""
    return "True" if value else "False"


def empty_export_frame() -> pl.DataFrame:
    """A zero-row frame with the export schema."""
    return pl.DataFrame(schema=EXPORT_SCHEMA)


def conform_to_export(frame: pl.DataFrame, longest: int | None = None) -> pl.DataFrame:
    """Return ``frame`` with exactly :data:`EXPORT_COLUMNS`, all strings, empty -> None.

    Columns missing from ``frame`` (older header variants) are added as all-None; extra
    columns are dropped; values are stripped and empty strings become None. ``longest``:
    when given, values are then cut to that many characters.
    """
    columns = []
    for name in EXPORT_COLUMNS:
        if name in frame.columns:
            value = pl.col(name).cast(pl.String).str.strip_chars()
            kept = value if longest is None else value.str.slice(0, longest)
            columns.append(pl.when(value == "").then(None).otherwise(kept).alias(name))
        else:
            columns.append(pl.lit(None, dtype=pl.String).alias(name))
    return frame.select(columns)


def count_events(frame: pl.DataFrame) -> dict[str, int]:
    """Rows per ``event`` value of an export frame; ``startup`` and ``heartbeat`` always present."""
    counts = {kind: 0 for kind in EVENT_TYPES}
    if frame.height:
        for kind, number in frame["event"].fill_null("(none)").value_counts().rows():
            counts[kind] = int(number)
    return counts
