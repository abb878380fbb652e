"""Where the lake and the report folders are kept: a local folder (the default) or an S3
bucket, behind one small interface.

A :class:`Store` holds objects under ``/``-separated keys relative to its root
(``raw_events/date=2026-05-01/part-0.parquet``). :func:`open_store` gives a
:class:`LocalStore` for a folder and an :class:`usage_assets.storage.s3.S3Store` for an
``s3://bucket/prefix`` URL. Both keep the same promises:

- **One object is replaced whole** (:meth:`Store.write_bytes`, :meth:`Store.write_parquet`):
  a reader sees the previous object or the new one, never part of one, and a failed write
  leaves the previous one. Local disk: a temporary sibling renamed over the target. S3:
  one PUT, which S3 makes visible only once the upload is complete.
- **A folder is replaced whole** (:meth:`Store.write_folder`): a reader resolving it with
  :meth:`Store.folder_key` gets every file of one write, never a mix or a part. Local
  disk: a staging folder swapped in under an exclusive lock. S3 has no rename: each write
  goes to a new generation prefix and one small manifest object then points at it (see
  :mod:`usage_assets.storage.s3`).

Writers of the same object or folder: on local disk the last rename (or swap, taken in
turns under :func:`usage_assets.common.locks.exclusive_lock`) wins, whole. The lock is a
``flock`` of one machine and means nothing in S3: there a partition has one writer at a
time because Dagster runs one step per asset partition, and two writers of one report
folder each publish a whole generation, the last manifest PUT winning.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from usage_assets.common.locks import exclusive_lock
from usage_assets.storage.disk import naming_disk_errors

#: Locations starting with this are S3 buckets (``s3://bucket/prefix``).
S3_SCHEME = "s3://"


def is_s3_url(location: Path | str) -> bool:
    """Whether ``location`` names an S3 bucket (``s3://...``) rather than a local folder."""
    return isinstance(location, str) and location.lower().startswith(S3_SCHEME)


def scan_parquet_files(sources: list, **options: Any) -> pl.LazyFrame:
    """Lazily scan Parquet ``sources`` (paths or URLs; ``options`` go to ``pl.scan_parquet``)
    with the columns of the last one, which is the newest day in the lake's scans.

    Days written before a column was added lack it (``source_ip_hash``, added for issue 14):
    they read as null in that column instead of failing the scan; a column only an older
    file has is ignored.
    """
    if not sources:
        return pl.scan_parquet(sources, **options)
    schema = pl.scan_parquet(sources[-1], **options).collect_schema()
    return pl.scan_parquet(sources, schema=schema, missing_columns="insert", extra_columns="ignore", **options)


@dataclass(frozen=True)
class S3Options:
    """How to reach S3 beyond the standard AWS credential chain (environment,
    ``~/.aws``, web identity, instance or task role), which gives the credentials.

    ``endpoint_url``: an S3-compatible store's endpoint (MinIO, Ceph, moto), None for AWS;
    ``region``: the bucket's region, None for the chain's (else ``us-east-1``).
    """

    endpoint_url: str | None = None
    region: str | None = None


class ObjectStoreError(OSError):
    """S3 refused a request in a way that trying again cannot fix; ``str(error)`` is one
    line naming the ``s3://`` URL, what is wrong and what to do."""


class Store(ABC):
    """Objects under keys relative to :attr:`root` (see the module docstring).

    ``root``: the folder (a ``Path``) or the ``s3://bucket/prefix`` URL (a ``str``), for
    messages. Reads of an absent key raise ``FileNotFoundError`` naming its location.
    """

    root: Path | str

    @abstractmethod
    def location(self, key: str) -> Path | str:
        """The path or ``s3://`` URL of ``key`` (it need not exist), for messages and metadata."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""

    @abstractmethod
    def written_ns(self, key: str) -> int | None:
        """When the object under ``key`` was written (nanoseconds, comparable between
        objects of this store), or None when absent or not known precisely enough to order
        two writes."""

    @abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The object under ``key``."""

    @abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None:
        """Replace the object under ``key`` with ``data``, whole."""

    @abstractmethod
    def read_parquet(self, key: str) -> pl.DataFrame:
        """The Parquet object under ``key`` as a frame."""

    @abstractmethod
    def write_parquet(self, key: str, frame: pl.DataFrame) -> None:
        """Replace the object under ``key`` with ``frame`` as Parquet (with statistics), whole."""

    @abstractmethod
    def scan_parquet(self, keys: list[str]) -> pl.LazyFrame:
        """A lazy scan of the Parquet objects under ``keys``, in order (projections and
        predicates are pushed down into the files), with the last object's columns
        (:func:`scan_parquet_files`)."""

    @abstractmethod
    def list_keys(self, prefix: str) -> list[str]:
        """Every key under the folder ``prefix``, relative to it, sorted (empty when none)."""

    @abstractmethod
    def folders(self, prefix: str = "") -> list[str]:
        """The names of the folders directly under ``prefix`` (the root when empty), sorted."""

    @abstractmethod
    def write_folder(self, folder: str, files: Mapping[str, bytes]) -> Path | str:
        """Replace the folder ``folder`` with ``files`` (file name -> bytes), whole; returns
        where the new folder's files are (a folder path or an ``s3://`` URL prefix)."""

    @abstractmethod
    def folder_key(self, folder: str) -> str | None:
        """The key prefix under which the current files of ``folder`` are, None when it was
        never written: ``f"{folder_key}/{name}"`` reads one of them."""


class LocalStore(Store):
    """A folder on local disk. Writes that the disk refuses (full, read-only, ...) raise
    :class:`usage_assets.storage.disk.LocalDiskError` naming the file."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def location(self, key: str) -> Path:
        return self.root / key

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def written_ns(self, key: str) -> int | None:
        path = self.root / key
        return path.stat().st_mtime_ns if path.is_file() else None

    def read_bytes(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def write_bytes(self, key: str, data: bytes) -> None:
        atomic_write_bytes(self.root / key, data)

    def read_parquet(self, key: str) -> pl.DataFrame:
        return pl.read_parquet(self.root / key)

    def write_parquet(self, key: str, frame: pl.DataFrame) -> None:
        write_parquet_atomic(self.root / key, frame)

    def scan_parquet(self, keys: list[str]) -> pl.LazyFrame:
        return scan_parquet_files([self.root / key for key in keys])

    def list_keys(self, prefix: str) -> list[str]:
        folder = self.root / prefix
        return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())

    def folders(self, prefix: str = "") -> list[str]:
        folder = self.root / prefix
        return sorted(child.name for child in folder.iterdir() if child.is_dir()) if folder.is_dir() else []

    def write_folder(self, folder: str, files: Mapping[str, bytes]) -> Path:
        """The folder is assembled beside the target and swapped in (:func:`swap_in`), so a
        failure leaves the previous folder untouched and never a partial one."""
        target = self.root / folder
        with naming_disk_errors(target):
            self.root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=self.root))
            try:
                for name, content in files.items():
                    (staging / name).write_bytes(content)
                staging.chmod(0o755)
                swap_in(staging, target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return target

    def folder_key(self, folder: str) -> str | None:
        return folder if (self.root / folder).is_dir() else None


def open_store(location: Path | str, s3: S3Options | None = None) -> Store:
    """The store at ``location``: an :class:`usage_assets.storage.s3.S3Store` for an
    ``s3://bucket/prefix`` URL (reached with ``s3``, default :class:`S3Options`), else a
    :class:`LocalStore` of that folder. Raises ``ValueError`` for an S3 URL without a bucket."""
    if is_s3_url(location):
        # Imported here: local runs never load boto3.
        from usage_assets.storage.s3 import S3Store

        return S3Store(str(location), s3 or S3Options())
    return LocalStore(location)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary sibling and an atomic rename.

    Raises :class:`usage_assets.storage.disk.LocalDiskError` when the disk refuses it."""
    with naming_disk_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def write_parquet_atomic(path: Path, frame: pl.DataFrame) -> None:
    """Write ``frame`` as Parquet to ``path`` atomically (temporary file + rename).

    Raises :class:`usage_assets.storage.disk.LocalDiskError` when the disk refuses it."""
    with naming_disk_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.close(handle)
        try:
            frame.write_parquet(temporary, statistics=True)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def swap_in(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an existing target is moved aside first and put
    back if the rename fails, so there is always either the old or the new folder.

    Swaps into one folder take turns (an exclusive lock on that folder): two processes
    writing the same folder would otherwise move each other's folders away mid-swap. The
    last swap wins, whole. Folders set aside by a swap that was killed half-way are
    removed by the next one.
    """
    with exclusive_lock(target.parent):
        for leftover in target.parent.glob(f".{target.name}.old.*"):
            shutil.rmtree(leftover, ignore_errors=True)
        if not target.exists():
            staging.rename(target)
            return
        retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        try:
            target.rename(retired / "report")
            try:
                staging.rename(target)
            except BaseException:
                (retired / "report").rename(target)
                raise
        finally:
            shutil.rmtree(retired, ignore_errors=True)
