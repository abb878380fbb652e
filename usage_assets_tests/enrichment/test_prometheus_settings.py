"""A bad optional Prometheus setting never takes the code location down (issue #12, item 10).

The Dagster code location reads its settings leniently: a typo in an optional enrichment's
group (a schemeless ``USAGE_PROMETHEUS_ENDPOINT``) switches that enrichment off, with the
reason, and everything else loads, so the daily schedule keeps running. The CLI reads the
same settings strictly and refuses the value with its usage error. (That the run then logs
one warning and the report says why: test_prometheus_pipeline.py, ``invalid-setting``.)
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from usage_assets.cli.main import main
from usage_assets.definitions import build_prometheus_source
from usage_assets.settings import PROJECT_ROOT, Settings, SettingsError

TYPO = "prometheus:9090"


def test_lenient_settings_leave_only_the_bad_optional_group_out(monkeypatch):
    monkeypatch.setenv("USAGE_PROMETHEUS_ENDPOINT", TYPO)
    monkeypatch.setenv("USAGE_PROMETHEUS_RANGE", "14d")
    with pytest.raises(SettingsError, match="USAGE_PROMETHEUS_ENDPOINT: must be an http"):
        Settings.from_env()
    settings = Settings.from_env(lenient=True)
    assert settings.prometheus.endpoint is None and settings.prometheus.range == "7d"  # the whole group's defaults
    assert settings.invalid_group("prometheus").startswith("USAGE_PROMETHEUS_ENDPOINT: must be an http")
    resource = build_prometheus_source(settings)
    assert resource.disabled_reason == ("left out because of an invalid setting: USAGE_PROMETHEUS_ENDPOINT: must be "
                                        "an http:// or https:// URL such as http://127.0.0.1:9090 (got <hidden>)")
    assert TYPO not in resource.disabled_reason
    # A required setting stays strict, lenient or not.
    monkeypatch.setenv("USAGE_DEMO_START", "yesterday")
    with pytest.raises(SettingsError, match="USAGE_DEMO_START"):
        Settings.from_env(lenient=True)


def test_the_code_location_loads_and_the_cli_refuses(tmp_path):
    env = {name: value for name, value in os.environ.items() if not name.startswith("USAGE_PROMETHEUS_")}
    env.update(USAGE_PROMETHEUS_ENDPOINT=TYPO, DAGSTER_HOME=str(tmp_path / "home"),
               USAGE_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    (tmp_path / "home").mkdir()
    dagster = Path(sys.executable).parent / "dagster"
    loaded = subprocess.run([str(dagster), "definitions", "validate", "-m", "usage_assets.definitions"],
                            check=False, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    refused = CliRunner(env={"USAGE_WORKSPACES_DIR": str(tmp_path / "workspaces")}).invoke(
        main, ["run", "--prometheus-endpoint", TYPO])
    assert refused.exit_code == 2
    assert "USAGE_PROMETHEUS_ENDPOINT: must be an http:// or https:// URL" in refused.output
