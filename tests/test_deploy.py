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
