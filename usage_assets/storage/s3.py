"""The lake and the report folders in an S3 bucket (or an S3-compatible store), with boto3.

Layout under ``s3://bucket/prefix``: the same keys as on local disk (the lake's
``<dataset>/date=YYYY-MM-DD/part-0.parquet`` stays hive style, readable by any engine),
except that a folder written whole (a report's ``<D>/``) is
``<D>/<generation>/<files>`` plus ``<D>/current.json``, the manifest naming the current
generation.

All or nothing without a rename:

- An object (one lake partition file) is written with one PUT, never a multipart
  upload: S3 shows the new object only once its upload is complete, so a reader gets the
  previous object or the new one, and a failed or killed write leaves the previous one.
  Reads after a write see it (S3 is strongly consistent since December 2020). One PUT
  takes up to 5 GB, far more than a day of telemetry.
- A folder's files go to a new generation prefix (``20261130T021503.123456Z-3f2a91c0``: UTC
  time of the write, then random hex), and one PUT of the small manifest publishes it. Readers
  resolve the folder through the manifest (:meth:`S3Store.folder_key`), so until that PUT
  they get the previous generation whole, and after it the new one whole; a write that
  dies before it leaves only an unreferenced generation behind.

What the local locks gave and S3 does not: there is no lock. A lake partition has one
writer at a time because Dagster runs one step per asset partition (a second run of the
same partition writes the same bytes: re-materializing is deterministic). Two writers of
one report folder each publish a whole generation; the last manifest PUT wins.

Old generations are deleted by the next write of their folder once they are
:data:`GENERATION_GRACE` old (their names start with their UTC time): never the current
one, nor one a reader may still be reading or a concurrent writer is still uploading.
Without ``s3:DeleteObject`` they stay (a warning says so); a bucket lifecycle rule can
reclaim them instead.

Credentials come from the standard AWS chain (environment, ``~/.aws`` profile, web
identity, instance or task role) through boto3; polars' scans get the same credentials,
resolved when the scan is built. Errors that a retry cannot fix (no bucket, access
denied, no credentials, endpoint unreachable after boto3's retries) raise
:class:`ObjectStoreError` naming the URL and what to do.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import re
import secrets
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import boto3
import botocore.config
import botocore.exceptions
import polars as pl

from usage_assets.storage.store import ObjectStoreError, S3Options, Store, scan_parquet_files

#: The manifest object of a folder written whole: ``<folder>/current.json``.
FOLDER_MANIFEST = "current.json"
#: Region used when neither the settings nor the AWS chain name one (S3's default).
DEFAULT_REGION = "us-east-1"
#: Age after which a generation that is not current is deleted by the next write of its folder.
GENERATION_GRACE = timedelta(days=1)
_GENERATION = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{8}$")
_GENERATION_TIME = "%Y%m%dT%H%M%S.%fZ"

logger = logging.getLogger(__name__)
# Error codes of objects or buckets that are not there.
_ABSENT = {"NoSuchKey", "404", "NotFound"}
_ACCESS = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "403"}


_session_lock = threading.Lock()


@functools.cache
def _session() -> boto3.session.Session:
    """The process's boto3 session: building one costs far more than a client from it
    (every asset opens the lake), and it caches the credentials the chain resolved."""
    return boto3.session.Session()


def new_generation() -> str:
    """A new generation id: ``YYYYMMDDTHHMMSS.ffffffZ-`` (UTC now, microseconds) and 8
    random hex digits, so ids sort by time and two writers never share one."""
    return f"{datetime.now(UTC):{_GENERATION_TIME}}-{secrets.token_hex(4)}"


class S3Store(Store):
    """Objects under ``s3://bucket/prefix`` (see the module docstring).

    ``url``: ``s3://bucket`` or ``s3://bucket/prefix`` (a trailing ``/`` is ignored);
    ``options``: endpoint and region (:class:`usage_assets.storage.store.S3Options`).
    Raises ``ValueError`` for a URL without a bucket. Nothing is requested until a method
    is called.
    """

    def __init__(self, url: str, options: S3Options):
        parts = urlsplit(url)
        if not parts.netloc:
            raise ValueError(f"{url!r} names no bucket: use s3://bucket or s3://bucket/prefix")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.root = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        self.options = options
        self._session = _session()
        self.region = options.region or self._session.region_name or DEFAULT_REGION
        with _session_lock:  # a session is not thread-safe; its clients are
            self.client = self._session.client(
                "s3",
                endpoint_url=options.endpoint_url,
                region_name=self.region,
                config=botocore.config.Config(
                    retries={"mode": "standard", "max_attempts": 5},
                    connect_timeout=10,
                    read_timeout=60,
                    # S3-compatible stores (MinIO, Ceph, moto) answer at their endpoint's host
                    # itself, not at bucket.host.
                    s3={"addressing_style": "path"} if options.endpoint_url else None,
                ),
            )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def location(self, key: str) -> str:
        return f"{self.root}/{key}"

    @contextmanager
    def _naming_errors(self, key: str) -> Iterator[None]:
        """Turn boto3's errors for ``key`` into ``FileNotFoundError`` (absent object) or
        :class:`ObjectStoreError` (no bucket, access denied, no credentials, unreachable)."""
        url = self.location(key)
        try:
            yield
        except botocore.exceptions.ClientError as error:
            code = str(error.response.get("Error", {}).get("Code"))
            if code in _ABSENT:
                raise FileNotFoundError(2, "no such object", url) from None
            if code == "NoSuchBucket":
                raise ObjectStoreError(
                    f"cannot use {url}: bucket {self.bucket} does not exist; create it or point the setting "
                    "(USAGE_DATA_DIR / USAGE_REPORTS_DIR) at an existing bucket"
                ) from error
            if code in _ACCESS:
                raise ObjectStoreError(
                    f"cannot use {url}: access denied ({code}); check the AWS credentials this process gets "
                    "(AWS_PROFILE, AWS_ACCESS_KEY_ID, the instance or pod role) and the bucket's policy"
                ) from error
            raise
        except botocore.exceptions.NoCredentialsError as error:
            raise ObjectStoreError(
                f"cannot use {url}: no AWS credentials found; set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or give the machine or pod a role"
            ) from error
        except botocore.exceptions.EndpointConnectionError as error:
            raise ObjectStoreError(
                f"cannot use {url}: cannot reach {error.kwargs.get('endpoint_url')}; check "
                "USAGE_S3_ENDPOINT_URL and the network, then run again"
            ) from error

    def written_ns(self, key: str) -> int | None:
        # S3's LastModified has one-second resolution: too coarse to tell whether a day was
        # rewritten after a table built from it, so nothing is carried forward in S3.
        return None

    def exists(self, key: str) -> bool:
        try:
            with self._naming_errors(key):
                self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except FileNotFoundError:
            return False
        return True

    def read_bytes(self, key: str) -> bytes:
        with self._naming_errors(key):
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def write_bytes(self, key: str, data: bytes) -> None:
        # One PUT (put_object never splits into a multipart upload): the object appears whole.
        with self._naming_errors(key):
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def read_parquet(self, key: str) -> pl.DataFrame:
        return pl.read_parquet(io.BytesIO(self.read_bytes(key)))

    def write_parquet(self, key: str, frame: pl.DataFrame) -> None:
        buffer = io.BytesIO()
        frame.write_parquet(buffer, statistics=True)
        self.write_bytes(key, buffer.getvalue())

    def storage_options(self) -> dict[str, str]:
        """polars' (object_store's) options for this bucket: region, endpoint and the
        credentials of boto3's chain, resolved now (temporary ones are refreshed by boto3)."""
        options = {"aws_region": self.region}
        if self.options.endpoint_url:
            options["aws_endpoint_url"] = self.options.endpoint_url
            if self.options.endpoint_url.lower().startswith("http://"):
                options["aws_allow_http"] = "true"
        credentials = self._session.get_credentials()
        if credentials is not None:
            frozen = credentials.get_frozen_credentials()
            options.update(aws_access_key_id=frozen.access_key, aws_secret_access_key=frozen.secret_key)
            if frozen.token:
                options["aws_session_token"] = frozen.token
        return options

    def scan_parquet(self, keys: list[str]) -> pl.LazyFrame:
        return scan_parquet_files([self.location(key) for key in keys], storage_options=self.storage_options())

    def _folder(self, prefix: str) -> str:
        """The full key prefix of the folder ``prefix`` (the root when empty), ending in
        ``/`` (empty for the root of a bucket without a prefix)."""
        full = self._key(prefix.strip("/")) if prefix else self.prefix
        return f"{full}/" if full else ""

    def _list(self, prefix: str, **arguments: str) -> Iterator[dict]:
        """The pages of a listing under the folder ``prefix``."""
        with self._naming_errors(prefix):
            yield from self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._folder(prefix), **arguments
            )

    def list_keys(self, prefix: str) -> list[str]:
        start = len(self._folder(prefix))
        return sorted(item["Key"][start:] for page in self._list(prefix) for item in page.get("Contents", []))

    def folders(self, prefix: str = "") -> list[str]:
        pages = self._list(prefix, Delimiter="/")
        return sorted(
            common["Prefix"].rstrip("/").rsplit("/", 1)[-1]
            for page in pages
            for common in page.get("CommonPrefixes", [])
        )

    def write_folder(self, folder: str, files: Mapping[str, bytes]) -> str:
        """Write ``files`` under ``<folder>/<new generation>/``, then publish them with one
        PUT of ``<folder>/current.json``: ``{"generation": ..., "files": [sorted names]}``."""
        generation = new_generation()
        for name, content in files.items():
            self.write_bytes(f"{folder}/{generation}/{name}", content)
        manifest = {"generation": generation, "files": sorted(files)}
        self.write_bytes(f"{folder}/{FOLDER_MANIFEST}", (json.dumps(manifest, indent=2) + "\n").encode())
        self._delete_old_generations(folder, generation)
        return self.location(f"{folder}/{generation}")

    def _delete_old_generations(self, folder: str, current: str) -> None:
        """Delete the generations of ``folder`` other than ``current`` that are older than
        :data:`GENERATION_GRACE` (ids compare as their times do); a refusal is logged."""
        cutoff = f"{datetime.now(UTC) - GENERATION_GRACE:{_GENERATION_TIME}}"
        old = [name for name in self.folders(folder) if _GENERATION.match(name) and name != current and name < cutoff]
        keys = [f"{folder}/{name}/{key}" for name in old for key in self.list_keys(f"{folder}/{name}")]
        try:
            for start in range(0, len(keys), 1000):  # at most 1,000 keys per request
                batch = [{"Key": self._key(key)} for key in keys[start : start + 1000]]
                with self._naming_errors(folder):
                    answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
                refused = answer.get("Errors", [])
                if refused:  # per key, e.g. AccessDenied without s3:DeleteObject
                    raise ObjectStoreError(f"{len(refused)} object(s) not deleted: {refused[0].get('Code')}")
        except ObjectStoreError as error:
            logger.warning("old report generations of %s were kept: %s", self.location(folder), error)

    def folder_key(self, folder: str) -> str | None:
        try:
            manifest = json.loads(self.read_bytes(f"{folder}/{FOLDER_MANIFEST}"))
        except FileNotFoundError:
            return None
        return f"{folder}/{manifest['generation']}"
