"""One source per workspace: the folders a telemetry source writes to, and who owns them.

A source is its kind plus its identity (:func:`source_identity`): the demo fleet's
parameters, the CSV archive's real path, or the database's host, port and name. Its
**workspace** is three folders:

- ``data_dir``: the day-partitioned lake, and the CSV source's import cache
  (``<data_dir>/csv_archive``);
- ``reports_dir``: the ``<D>/`` report folders;
- ``dagster_home``: the Dagster instance (runs, materializations, schedule ticks), which
  is what the UI shows.

By default they are ``data/``, ``reports/`` and ``dagster_home/`` in
``<workspaces_dir>/<kind>-<label>-<hash>/`` (:attr:`SourceIdentity.folder_name`), the
Dagster home with a copy of the project's ``dagster_home/dagster.yaml``; so switching
sources never mixes one source's days, reports or run history with another's.
``USAGE_DATA_DIR``, ``USAGE_REPORTS_DIR`` and ``DAGSTER_HOME`` override them (production
deployments set them); the first two may be ``s3://bucket/prefix`` URLs (reached with
the settings group ``s3``), whose ``workspace.json`` is an object there. Every folder
carries a ``workspace.json`` naming its source, and
:meth:`Workspace.open` refuses a folder whose manifest names another source before
anything is written, naming the setting to change. A folder without a manifest (a new
one, or one written before workspaces existed) is taken by the first source that opens it.

The lake's manifest also records the source's first day (:meth:`Workspace.first_day`),
where the daily partitions start unless ``USAGE_PARTITIONS_START`` is set.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from usage_assets.instance_config import BASE_CONFIG, instance_config
from usage_assets.settings import PostgresSettings, Settings, SettingsError, variable
from usage_assets.storage.lake import canonical_json
from usage_assets.storage.store import S3Options, Store, atomic_write_bytes, is_s3_url, open_store

#: The manifest each folder of a workspace carries.
MANIFEST = "workspace.json"
#: The project's instance settings, copied into every default Dagster home.
INSTANCE_CONFIG = BASE_CONFIG
#: Longest readable part of a workspace's folder name, in characters.
LABEL_CHARS = 40


class WorkspaceError(SettingsError):
    """A folder belongs to another source's workspace; the message names the setting to change."""


def describe_source(kind: str, identity: dict[str, Any]) -> str:
    """``the csv source (path /srv/exports)``: a source's kind and identity, for messages."""
    return f"the {kind} source ({', '.join(f'{name} {value}' for name, value in identity.items())})"


@dataclass(frozen=True)
class SourceIdentity:
    """A telemetry source: its ``kind`` (``demo``, ``csv`` or ``documentdb``), what tells two
    sources of that kind apart (``identity``: JSON strings and numbers, never a secret) and
    a short readable ``label`` for its folder name."""

    kind: str
    identity: dict[str, Any]
    label: str

    @property
    def folder_name(self) -> str:
        """``<kind>-<label>-<hash>``, e.g. ``demo-seed7-3f2a91c0de``: the label reduced to
        lower-case letters, digits and dashes (at most :data:`LABEL_CHARS`), the hash the
        first 10 hex digits of the SHA-256 of kind and identity, so the name is the same on
        every run and machine and differs between sources whose labels are alike."""
        digest = hashlib.sha256(canonical_json({"kind": self.kind, "identity": self.identity})).hexdigest()[:10]
        label = re.sub(r"[^a-z0-9]+", "-", self.label.lower())[:LABEL_CHARS].strip("-")
        return "-".join(part for part in (self.kind, label, digest) if part)

    def describe(self) -> str:
        """This source for messages: :func:`describe_source`."""
        return describe_source(self.kind, self.identity)


def source_identity(settings: Settings) -> SourceIdentity:
    """The source ``settings`` choose, as kind and identity.

    demo: seed, first day and initial growth (each gives another fleet); csv: the archive's
    real path (symlinks and ``~`` resolved); documentdb: host, port and database, from
    ``USAGE_DOCDB_URI`` when set. Raises :class:`SettingsError` when the source lacks what
    it needs (:meth:`Settings.check_source`), and
    :class:`usage_assets.sources.errors.SourceError` for an unusable ``USAGE_DOCDB_URI``.
    """
    settings.check_source()
    if settings.source == "csv":
        path = Path(settings.csv_path).expanduser().resolve()
        return SourceIdentity("csv", {"path": str(path)}, path.name)
    if settings.source == "documentdb":
        # pymongo's URI parser; imported here so the other sources never load pymongo.
        from usage_assets.sources.documentdb.client import parse_database_uri

        database = settings.docdb
        address = {"host": database.host, "port": database.port, "database": database.database}
        if database.uri:
            address.update({name: value for name, value in parse_database_uri(database.uri).items() if name in address})
        return SourceIdentity("documentdb", address, f"{address['host'].split('.')[0]}-{address['database']}")
    demo = {"seed": settings.demo_seed, "start": settings.demo_start, "daily_new_installs": settings.demo_daily_new_installs}
    return SourceIdentity("demo", demo, f"seed{settings.demo_seed}")


def _read_manifest(store: Store) -> dict[str, Any] | None:
    return json.loads(store.read_bytes(MANIFEST)) if store.exists(MANIFEST) else None


@dataclass(frozen=True)
class Workspace:
    """The folders of one source (see the module docstring); ``root`` is its default folder.

    ``data_dir`` and ``reports_dir`` are folders (``Path``) or ``s3://bucket/prefix`` URLs
    (``str``), reached with ``s3``; ``dagster_home`` is always a folder.
    """

    source: SourceIdentity
    root: Path
    data_dir: Path | str
    reports_dir: Path | str
    dagster_home: Path
    s3: S3Options = field(default_factory=S3Options)
    #: The instance's PostgreSQL (None, or no host: SQLite in the Dagster home).
    postgres: PostgresSettings | None = None

    @classmethod
    def of(cls, settings: Settings) -> "Workspace":
        """The workspace of ``settings``' source: ``data_dir``, ``reports_dir`` and the
        ``DAGSTER_HOME`` environment variable when set (empty counts as unset), else the
        folders under ``<workspaces_dir>/<folder name>/``; all absolute. Reads and writes
        nothing; raises as :func:`source_identity` does."""
        source = source_identity(settings)
        root = Path(settings.workspaces_dir).expanduser().resolve() / source.folder_name

        def folder(explicit: str | None, default: str) -> Path:
            return Path(explicit).expanduser().resolve() if explicit else root / default

        def folder_or_bucket(explicit: str | None, default: str) -> Path | str:
            return explicit.rstrip("/") if explicit and is_s3_url(explicit) else folder(explicit, default)

        return cls(
            source=source,
            root=root,
            data_dir=folder_or_bucket(settings.data_dir, "data"),
            reports_dir=folder_or_bucket(settings.reports_dir, "reports"),
            dagster_home=folder(os.environ.get("DAGSTER_HOME"), "dagster_home"),
            s3=S3Options(**settings.s3.model_dump()),
            postgres=settings.postgres,
        )

    def store(self, folder: Path | str) -> Store:
        """The store of one of this workspace's folders (local, or S3 with :attr:`s3`)."""
        return open_store(folder, self.s3)

    @property
    def local_data_dir(self) -> Path:
        """A local folder for the source's own files (the CSV source's import cache):
        ``data_dir``, or ``<root>/data`` when the lake is in S3."""
        return self.data_dir if isinstance(self.data_dir, Path) else self.root / "data"

    def _folders(self) -> list[tuple[Path | str, str]]:
        """Each folder with the setting that chooses it."""
        return [
            (self.data_dir, f"{variable('data_dir')} or --data-dir"),
            (self.reports_dir, f"{variable('reports_dir')} or --reports-dir"),
            (self.dagster_home, "DAGSTER_HOME"),
        ]

    def _owns(self, manifest: dict[str, Any]) -> bool:
        return (manifest.get("source"), manifest.get("identity")) == (self.source.kind, self.source.identity)

    def open(self) -> "Workspace":
        """Take the folders for this source, creating them and their manifests; returns self.

        Idempotent. A default Dagster home gets the project's ``dagster_home/dagster.yaml``
        (again whenever that file changes, so it stays the one place to edit), with
        PostgreSQL storage when ``USAGE_POSTGRES_HOST`` is set
        (:func:`usage_assets.instance_config.instance_config`). Raises
        :class:`WorkspaceError` naming the folder, its source and the setting to change,
        before anything is written, when a folder's manifest names another source.
        """
        for folder, setting in self._folders():
            manifest = _read_manifest(self.store(folder))
            if manifest is not None and not self._owns(manifest):
                raise WorkspaceError(
                    f"{folder} ({setting}) holds the workspace of "
                    f"{describe_source(manifest.get('source'), manifest.get('identity') or {})}, not of "
                    f"{self.source.describe()}; one folder never serves two sources. Set {setting} to "
                    f"another folder, or unset it to use this source's own workspace {self.root}"
                )
        for folder, _ in self._folders():
            store = self.store(folder)
            if _read_manifest(store) is None:
                store.write_bytes(MANIFEST, canonical_json(
                    {"source": self.source.kind, "identity": self.source.identity, "workspace": self.source.folder_name}
                ))
        if self.dagster_home == self.root / "dagster_home":
            config = instance_config(self.postgres).encode()
            target = self.dagster_home / "dagster.yaml"
            if not target.is_file() or target.read_bytes() != config:
                atomic_write_bytes(target, config)
        return self

    def first_day(self) -> date | None:
        """The source's first UTC day: the demo fleet's start, else the day recorded in the
        lake's manifest (:meth:`record_first_day`); None while none is recorded (or the
        lake belongs to another source)."""
        if self.source.kind == "demo":
            return date.fromisoformat(self.source.identity["start"])
        manifest = _read_manifest(self.store(self.data_dir))
        recorded = manifest.get("first_day") if manifest and self._owns(manifest) else None
        return date.fromisoformat(recorded) if recorded else None

    def record_first_day(self, day: date) -> date:
        """Record ``day`` as the source's first day unless one is known already, and return
        the first day. Once recorded it never moves: events dated earlier that arrive later
        (or a CSV row with a wrong clock) are not a reason to re-partition the lake. Call
        :meth:`open` first."""
        known = self.first_day()
        if known is not None:
            return known
        lake = self.store(self.data_dir)
        lake.write_bytes(MANIFEST, canonical_json({**_read_manifest(lake), "first_day": day.isoformat()}))
        return day
