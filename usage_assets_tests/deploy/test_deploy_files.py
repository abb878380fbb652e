"""The deployment files under deploy/: systemd units, the container image, the Helm values.

The unit files are checked with the real ``systemd-analyze verify`` (Debian's systemd),
with the install path pointed at this checkout so the ExecStart programs exist, and the
command they run before starting is run. Building the image takes a container engine and
a base image this machine's tests cannot pull (the README's "What was verified here" says
how it was built by hand): the tests check that the Helm values start the code location
the image installs, with the keys the official chart's schema requires of a user
deployment.
"""

import os
import shutil
import subprocess

import pytest
import yaml

from usage_assets.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
INSTALL_PATH = "/opt/usage-assets"


def test_there_is_a_unit_for_the_webserver_and_one_for_the_daemon():
    assert [unit.name for unit in UNITS] == ["usage-assets-daemon.service", "usage-assets-webserver.service"]
    for unit in UNITS:
        text = unit.read_text()
        assert "Restart=on-failure" in text and f"EnvironmentFile=-{INSTALL_PATH}/.env" in text
    # The daemon is ours: asset backfills looked at every USAGE_AUTOMATION_BACKFILL_INTERVAL_S.
    assert f"ExecStart={INSTALL_PATH}/.venv/bin/usage-report daemon -w {INSTALL_PATH}/workspace.yaml\n" in (
        DEPLOY / "systemd/usage-assets-daemon.service"
    ).read_text()


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None and not os.environ.get("CI"),
    reason="systemd-analyze is needed (Debian: apt-get install systemd)",
)
def test_systemd_units_verify(tmp_path):
    checkout = PROJECT_ROOT.resolve()
    assert (checkout / ".venv/bin/dagster-webserver").exists(), "run from the Quickstart's virtualenv"
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALL_PATH, str(checkout)))
    result = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(path) for path in tmp_path.iterdir())],
        check=False, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # The check is real: a unit whose program does not exist fails it.
    broken = tmp_path / "broken.service"
    broken.write_text(UNITS[0].read_text().replace(f"{INSTALL_PATH}/.venv", "/nonexistent"))
    verified = subprocess.run(["systemd-analyze", "verify", str(broken)], check=False, capture_output=True, timeout=60)
    assert verified.returncode != 0


def test_helm_values_start_the_code_location_the_image_installs():
    values = yaml.safe_load((DEPLOY / "helm/values.yaml").read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    # Required by the chart's dagster-user-deployments schema: name, image (repository,
    # pullPolicy) and port.
    assert deployment["name"] and deployment["image"]["repository"] and deployment["port"] == 3030
    assert deployment["image"]["pullPolicy"] in ("Always", "IfNotPresent", "Never")
    args = deployment["dagsterApiGrpcArgs"]
    module = args[args.index("--module-name") + 1]
    containerfile = (DEPLOY / "Containerfile").read_text()
    assert f'"--module-name", "{module}"' in containerfile and '"--port", "3030"' in containerfile
    assert args[args.index("--working-directory") + 1] == INSTALL_PATH and f"WORKDIR {INSTALL_PATH}" in containerfile
    # Runs launched as Kubernetes jobs see the same lake and reports as the code location.
    mount = deployment["volumeMounts"][0]["mountPath"]
    assert values["runLauncher"]["config"]["k8sRunLauncher"]["volumeMounts"][0]["mountPath"] == mount
    assert "USAGE_DATA_DIR=/var/lib/usage-assets/data" in containerfile and mount == "/var/lib/usage-assets"
    # The module the image serves is this project's code location.
    assert module == "usage_assets.definitions" and (PROJECT_ROOT / "usage_assets/definitions.py").is_file()


@pytest.mark.parametrize("postgres_host", [None, "db.internal"])
def test_the_units_write_the_instance_config_for_the_settings_before_starting(tmp_path, postgres_host):
    checkout = PROJECT_ROOT.resolve()
    for unit in UNITS:
        [line] = [line for line in unit.read_text().splitlines() if line.startswith("ExecStartPre=")]
        command = line.removeprefix("ExecStartPre=").replace(INSTALL_PATH, str(checkout))
        command = command.replace("/var/lib/usage-assets", str(tmp_path))
        env = {name: value for name, value in os.environ.items() if not name.startswith("USAGE_POSTGRES_")}
        if postgres_host:
            env["USAGE_POSTGRES_HOST"] = postgres_host
        subprocess.run(command.split(), env=env, check=True, capture_output=True, timeout=120)
        written = yaml.safe_load((tmp_path / "dagster_home/dagster.yaml").read_text())
        assert ("storage" in written) == (postgres_host is not None)
        assert written["concurrency"]["runs"]["tag_concurrency_limits"][0]["key"] == "usage/report_queue"


def test_every_shape_runs_the_automations_report_runs_one_at_a_time():
    from usage_assets.defs.automation.catch_up import QUEUE_TAG

    values = yaml.safe_load((DEPLOY / "helm/values.yaml").read_text())
    queued = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queued["tagConcurrencyLimits"] == [{"key": QUEUE_TAG, "limit": 1}]
    instance = yaml.safe_load((PROJECT_ROOT / "dagster_home/dagster.yaml").read_text())
    assert instance["concurrency"]["runs"]["tag_concurrency_limits"] == [{"key": QUEUE_TAG, "limit": 1}]


def test_every_shape_names_the_postgres_driver_the_image_installs():
    from usage_assets.instance_config import postgres_storage
    from usage_assets.settings import PostgresSettings

    values = yaml.safe_load((DEPLOY / "helm/values.yaml").read_text())
    scheme = postgres_storage(PostgresSettings(host="db"))["storage"]["postgres"]["postgres_db"]["scheme"]
    assert values["postgresql"]["postgresqlScheme"] == scheme == "postgresql+psycopg2"
