"""The settings: their variables against ``.env.example``, sources, overrides and errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from pydantic_settings import EnvSettingsSource

from usage_assets.settings import GROUPS, PROJECT_ROOT, Settings, SettingsError, variable

EXAMPLE_LINE = re.compile(r"^#?\s*(USAGE_[A-Z0-9_]+)=(.*)$")


def documented() -> dict[str, str]:
    """Every ``USAGE_*`` variable of ``.env.example``, set or commented out, with its example value."""
    lines = (PROJECT_ROOT / ".env.example").read_text().splitlines()
    return {match[1]: match[2].strip() for line in lines if (match := EXAMPLE_LINE.match(line))}


def test_every_setting_is_in_env_example():
    declared = {variable(name) for name in Settings.model_fields if name not in GROUPS}
    declared |= {variable(group, name) for group, model in GROUPS.items() for name in model.model_fields}
    assert declared - documented().keys() == set()


def test_every_variable_in_env_example_is_read_into_a_setting(monkeypatch):
    examples = documented()
    for name, value in examples.items():
        monkeypatch.setenv(name, value or "an-example-secret")  # the secrets have no example value
    # What pydantic-settings itself reads from the environment: {field: value or {field: value}}.
    read = EnvSettingsSource(Settings)()
    names = {variable(name) for name, value in read.items() if not isinstance(value, dict)}
    names |= {variable(group, name) for group, values in read.items() if isinstance(values, dict) for name in values}
    assert examples.keys() - names == set()
    # ... into declared fields (an unknown name under a group's prefix would fail), and the
    # example values are valid.
    settings = Settings.from_env()
    assert settings.docdb.server_selection_timeout_s == 20 and settings.bastion.timeout_s == 15
    assert settings.docdb.password.get_secret_value() == "an-example-secret"


def test_the_environment_wins_over_env_and_its_other_variables_are_ignored(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("DAGSTER_HOME=/somewhere\nUSAGE_DOCDB_HOST=from-dotenv\nUSAGE_DOCDB_PORT=1234\n")
    monkeypatch.setenv("USAGE_DOCDB_PORT", "4321")
    settings = Settings(_env_file=env_file)
    assert (settings.docdb.host, settings.docdb.port) == ("from-dotenv", 4321)


def test_options_override_the_environment_for_one_command(monkeypatch):
    monkeypatch.setenv("USAGE_SOURCE", "csv")
    monkeypatch.setenv("USAGE_PROMETHEUS_ENDPOINT", "http://prometheus:9090")
    monkeypatch.setenv("USAGE_PROMETHEUS_RANGE", "14d")
    with pytest.raises(SettingsError, match="USAGE_CSV_PATH"):
        Settings.from_env()
    settings = Settings.from_env(need_source=False, prometheus_endpoint="http://other:9090", no_prometheus=True,
                                 data_dir=None)
    assert settings.prometheus.endpoint == "http://other:9090" and settings.prometheus.range == "14d"
    assert settings.no_prometheus and settings.data_dir == Settings.model_fields["data_dir"].default
    assert Settings.from_env(csv_path="exports").csv_path == "exports"


def test_errors_name_the_variable_and_never_repeat_a_url_or_a_secret(monkeypatch):
    monkeypatch.setenv("USAGE_DOCDB_URI", "mongodb://reader:hunter2@db:27017/telemetry")
    monkeypatch.setenv("USAGE_DOCDB_PASSWROD", "s3cret-typo")  # a typo of USAGE_DOCDB_PASSWORD
    monkeypatch.setenv("USAGE_BASTION_TIMEOUT_S", "-1")
    with pytest.raises(SettingsError) as caught:
        Settings.from_env()
    message = str(caught.value)
    assert "USAGE_DOCDB_URI: must not contain a password" in message
    assert "USAGE_DOCDB_PASSWROD: is not a setting" in message
    assert "USAGE_BASTION_TIMEOUT_S: Input should be greater than 0 (got '-1')" in message
    assert "hunter2" not in message and "s3cret-typo" not in message


@pytest.mark.parametrize(("name", "value"), [("USAGE_PARTITIONS_START", "2025-13-01"),
                                             ("USAGE_INGEST_RETRY_DELAY_S", "soon")])
def test_a_bad_setting_read_with_the_definitions_names_its_variable(tmp_path, name, value):
    """Read while the definitions are imported: the CLI stops before any run, naming the variable."""
    env = {**os.environ, name: value, "DAGSTER_HOME": str(tmp_path),
           "USAGE_DATA_DIR": str(tmp_path / "data"), "USAGE_REPORTS_DIR": str(tmp_path / "reports")}
    result = subprocess.run([sys.executable, "-c", "from usage_assets.cli.main import main; main()", "run"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert f"{name}: Input should be a valid" in result.stderr and repr(value) in result.stderr
