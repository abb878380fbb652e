"""A real PostgreSQL server for tests: Debian's ``postgresql`` binaries, a cluster made by
``initdb`` in a temporary folder, ``postgres`` on a free 127.0.0.1 port (no Unix socket),
never the package's own cluster or service.

``initdb`` and ``postgres`` refuse to run as root; as root (CI containers) they run as the
``postgres`` user the Debian package creates, through ``runuser``, in a folder that user
owns. The superuser ``dagster`` logs in with a password (SCRAM), so the tests see the
password travel from the environment, as in production.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2
import pytest

from usage_assets_tests.loopback_sshd import free_port

USER, PASSWORD, DATABASE = "dagster", "pg-test-secret", "dagster"


def postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding ``initdb``, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]))
    return found[-1].parent if found else None


def bin_or_skip() -> Path:
    """:func:`postgres_bin`; a missing PostgreSQL skips the test, or fails it in CI."""
    found = postgres_bin()
    if found is None:
        message = "PostgreSQL is needed (Debian: apt-get install postgresql)"
        if os.environ.get("CI") or os.environ.get("USAGE_REQUIRE_POSTGRES"):
            pytest.fail(message)
        pytest.skip(message)
    return found


class PostgresServer:
    """A cluster in a fresh temporary folder, served on 127.0.0.1:``port``."""

    def __init__(self) -> None:
        self.bin = bin_or_skip()
        self.folder = Path(tempfile.mkdtemp(prefix="usage-assets-pg-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        # As root, the server runs as the package's "postgres" user.
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *command: str) -> None:
        subprocess.run([*self.run_as, *command], check=True, capture_output=True, timeout=120)

    def start(self, timeout: float = 60.0) -> PostgresServer:
        data, password_file = self.folder / "data", self.folder / "password"
        password_file.write_text(PASSWORD)
        if self.run_as:
            shutil.chown(self.folder, "postgres")
            shutil.chown(password_file, "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            f"--pwfile={password_file}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
        )
        # fsync off: a test cluster need not survive a power cut, and it saves seconds.
        with open(self.folder / "postgres.log", "wb") as log:
            self.process = subprocess.Popen(
                [
                    *self.run_as,
                    str(self.bin / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(self.port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "unix_socket_directories=",
                    "-c",
                    "fsync=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=100",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.folder / 'postgres.log').read_text()[-2000:]}")
            try:
                connection = self.connect("postgres")
            except psycopg2.OperationalError:
                time.sleep(0.2)
                continue
            connection.autocommit = True  # CREATE DATABASE runs outside a transaction
            try:
                with connection.cursor() as cursor:
                    cursor.execute(f"CREATE DATABASE {DATABASE}")
            finally:
                connection.close()
            return self
        self.stop()
        raise RuntimeError(f"postgres was not ready within {timeout} s")

    def connect(self, database: str = DATABASE):
        """A psycopg2 connection as the superuser."""
        return psycopg2.connect(
            host="127.0.0.1", port=self.port, user=USER, password=PASSWORD, dbname=database, connect_timeout=5
        )

    def query(self, sql: str) -> list[tuple]:
        """The rows of ``sql`` run on the Dagster database."""
        connection = self.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchall()
        finally:
            connection.close()

    def settings_env(self) -> dict[str, str]:
        """The ``USAGE_POSTGRES_*`` variables that point the instance here."""
        return {
            "USAGE_POSTGRES_HOST": "127.0.0.1",
            "USAGE_POSTGRES_PORT": str(self.port),
            "USAGE_POSTGRES_DATABASE": DATABASE,
            "USAGE_POSTGRES_USER": USER,
            "USAGE_POSTGRES_PASSWORD": PASSWORD,
            "USAGE_POSTGRES_SSLMODE": "disable",
        }

    def stop(self) -> None:
        """Stop the server ("fast": open sessions are disconnected, as a test that failed
        midway may leave some) and delete its folder."""
        if self.process and self.process.poll() is None:
            # pg_ctl signals the postmaster itself (runuser does not pass every signal on).
            subprocess.run(
                [*self.run_as, str(self.bin / "pg_ctl"), "stop", "-D", str(self.folder / "data"), "-m", "fast", "-w"],
                check=False,
                capture_output=True,
                timeout=60,
            )
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)
