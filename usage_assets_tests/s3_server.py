"""moto's S3 server on loopback, the S3 stand-in of the object-storage tests.

No real S3-compatible server can run here: none is in the package registries this machine
reaches (MinIO, SeaweedFS and Garage are not packaged; Debian's ``radosgw`` needs a whole
Ceph cluster behind it). moto's server mode (``moto[server]`` from PyPI) is the next best
thing: a separate process answering S3's HTTP API on a 127.0.0.1 port, so boto3 and
polars' own S3 client (object_store) talk to it exactly as to S3, requests, signatures,
listings and range reads included. It keeps objects in memory and checks no credentials,
so the tests use dummy ones and a new bucket each.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests

from usage_assets.storage.store import S3Options
from usage_assets_tests.loopback_sshd import free_port

#: Seconds moto's server gets to start answering.
START_TIMEOUT_S = 30


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The ``http://127.0.0.1:<port>`` of a moto S3 server started for the session."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                requests.get(endpoint, timeout=1)
                break
            except requests.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto's S3 server did not start on {endpoint}") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def use_dummy_credentials(patch: pytest.MonkeyPatch, folder: Path) -> None:
    """Dummy credentials in the environment, and no AWS profile or config file of the
    machine's user (``folder`` holds none): the standard chain finds these and nothing else."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        patch.delenv(name, raising=False)
    patch.setenv("AWS_ACCESS_KEY_ID", "testing")
    patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    patch.setenv("AWS_CONFIG_FILE", str(folder / "no-aws-config"))
    patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "no-aws-credentials"))


def create_bucket(endpoint: str) -> str:
    """A new, empty bucket on the moto server at ``endpoint``; returns its name."""
    name = f"usage-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_credentials(monkeypatch, tmp_path) -> None:
    """:func:`use_dummy_credentials` for one test."""
    use_dummy_credentials(monkeypatch, tmp_path)


@pytest.fixture
def s3_bucket(moto_endpoint, s3_credentials) -> str:
    """A new, empty bucket on the moto server; returns its name."""
    return create_bucket(moto_endpoint)


@pytest.fixture
def s3_options(moto_endpoint) -> S3Options:
    """How the stores under test reach the moto server."""
    return S3Options(endpoint_url=moto_endpoint, region="us-east-1")


# Tests talk to 127.0.0.1 only; never through a proxy the environment may configure.
for _variable in ("NO_PROXY", "no_proxy"):
    os.environ[_variable] = ",".join(filter(None, [os.environ.get(_variable), "127.0.0.1", "localhost"]))
