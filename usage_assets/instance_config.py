"""The Dagster instance's ``dagster.yaml`` for the settings: the project's
``dagster_home/dagster.yaml``, plus PostgreSQL storage when ``USAGE_POSTGRES_HOST`` is set.

Without it (the default) the instance keeps its runs, event log and schedule state in
SQLite files under ``DAGSTER_HOME``. With it, ``dagster-postgres`` keeps all three in
the database (https://docs.dagster.io/deployment/oss/dagster-yaml, "storage: postgres"):
host, port, database, user and ``sslmode`` are written as they are; the password never
is: Dagster reads it from ``USAGE_POSTGRES_PASSWORD`` when the instance starts.
"""

from __future__ import annotations

import yaml

from usage_assets.settings import PROJECT_ROOT, PostgresSettings, variable

#: The project's instance settings, copied into every default Dagster home.
BASE_CONFIG = PROJECT_ROOT / "dagster_home" / "dagster.yaml"


def postgres_storage(postgres: PostgresSettings) -> dict:
    """The ``storage`` block of ``dagster.yaml`` for ``postgres`` (its host must be set)."""
    database = {
        "hostname": postgres.host,
        "port": postgres.port,
        "db_name": postgres.database,
        "username": postgres.user,
        "params": {"sslmode": postgres.sslmode},
        # The driver dagster-postgres installs (psycopg2): SQLAlchemy 2.1 reads a plain
        # "postgresql://" as psycopg 3, which is not installed.
        "scheme": "postgresql+psycopg2",
    }
    if postgres.password is not None:
        database["password"] = {"env": variable("postgres", "password")}
    return {"storage": {"postgres": {"postgres_db": database}}}


def instance_config(postgres: PostgresSettings | None = None) -> str:
    """The text of ``dagster.yaml``: the project's file as it is (comments kept), then the
    PostgreSQL storage block when ``postgres.host`` is set."""
    text = BASE_CONFIG.read_text()
    if postgres is None or not postgres.host:
        return text
    header = (
        "\n# Run, event-log and schedule storage in PostgreSQL (USAGE_POSTGRES_*; the password from the environment).\n"
    )
    return text + header + yaml.safe_dump(postgres_storage(postgres), sort_keys=False)
