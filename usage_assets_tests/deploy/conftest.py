import pytest

from usage_assets_tests.postgres_server import PostgresServer


@pytest.fixture(scope="module")
def postgres_server():
    """One real PostgreSQL cluster per test module (usage_assets_tests/postgres_server.py)."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()
