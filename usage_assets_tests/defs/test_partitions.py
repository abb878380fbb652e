"""The daily partitions start at the source's first day, as a fresh process imports them."""

import os
import subprocess
import sys

from usage_assets_tests.conftest import ID_A
from usage_assets_tests.sources.test_csv_archive import header_variant, startup, write_export


def first_partition(tmp_path, **variables: str) -> str:
    """The first partition key a new process gets from the environment plus ``variables``
    (without the tests' own USAGE_PARTITIONS_START)."""
    env = {name: value for name, value in os.environ.items() if name not in ("USAGE_PARTITIONS_START", "DAGSTER_HOME")}
    env.update(USAGE_WORKSPACES_DIR=str(tmp_path / "workspaces"), **variables)
    code = "from usage_assets.defs.partitions import daily_partitions; print(daily_partitions.get_first_partition_key())"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_partitions_start_at_the_demo_fleets_first_day(tmp_path):
    assert first_partition(tmp_path) == "2026-08-23"
    assert first_partition(tmp_path, USAGE_DEMO_START="2026-10-01") == "2026-10-01"
    assert first_partition(tmp_path, USAGE_PARTITIONS_START="2026-09-01") == "2026-09-01"  # set: it wins


def test_a_csv_archives_partitions_start_at_its_first_day_not_at_a_row_with_a_wrong_clock(tmp_path):
    rows = [startup(ID_A, "1999-12-31T23:00:00.000Z"), startup(ID_A, "2026-05-01T10:00:00.000Z")]
    write_export(tmp_path / "exports" / "2026-05-03" / "registry_metrics.csv", header_variant(34), rows)
    archive = {"USAGE_SOURCE": "csv", "USAGE_CSV_PATH": str(tmp_path / "exports")}
    assert first_partition(tmp_path, **archive) == "2026-05-01"  # read from the archive, then recorded
    assert list((tmp_path / "workspaces").glob("csv-exports-*/data/workspace.json"))
    assert first_partition(tmp_path, **archive) == "2026-05-01"
