"""The production stack's files are well-formed and wired (no Docker engine runs on the build
machines, so the stack itself is not started here: this checks only what can be checked)."""

from __future__ import annotations

import yaml

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"


def test_deploy_compose_declares_the_stack_and_its_order() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {
        "elasticsearch",
        "kibana",
        "postgres",
        "redis",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-worker",
        "earshot-setup",
    } <= set(services)
    assert services["elasticsearch"]["environment"]["xpack.security.enabled"] == "true"
    assert services["elasticsearch"]["environment"]["xpack.security.http.ssl.enabled"] == "true"
    worker = services["airflow-worker"]
    assert worker["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert "celery worker" in worker["command"]
    setup = services["earshot-setup"]["command"]
    for step in ("earshot db upgrade", "earshot es setup", "earshot kibana import"):
        assert step in setup
    for path in ("setup.sh", "postgres-init.sh", "Dockerfile", ".env.example"):
        assert (DEPLOY / path).is_file()
    assert "deploy/.env" in (ROOT / ".gitignore").read_text(encoding="utf-8")


def test_deploy_image_runs_the_pinned_airflow_and_its_containers_share_one_secret() -> None:
    pinned = next(
        line.split("==")[1]
        for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.startswith("apache-airflow==")
    )
    assert f"FROM apache/airflow:{pinned}-" in (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    airflow = [s for name, s in compose["services"].items() if name.startswith("airflow-")]
    assert len(airflow) >= 4
    for service in airflow:
        env = service["environment"]
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "${AIRFLOW_JWT_SECRET}"
        assert "psycopg2" not in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    example = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    assert "AIRFLOW_JWT_SECRET=" in example and "AIRFLOW_FERNET_KEY=" in example
