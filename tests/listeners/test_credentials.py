"""Credentials come from an Airflow connection when there is one, else from the environment;
only Airflow's own "not there" answers fall back, an explicit refusal does not."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from airflow.sdk import Connection
from airflow.sdk.exceptions import (
    AirflowRuntimeError,
    AirflowSecretsBackendAccessDenied,
    ErrorType,
)
from airflow.sdk.execution_time.comms import ErrorResponse

from core.errors import ListenerAuthError
from listeners.credentials import airflow_connection, reddit_credentials, x_bearer_token
from tests.conftest import ROOT


def test_airflow_connection_missing_outside_a_task_is_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_X_DEFAULT", raising=False)
    assert airflow_connection("x_default") is None


def test_airflow_connection_api_server_failure_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(conn_id: str) -> None:
        raise AirflowRuntimeError(ErrorResponse(error=ErrorType.API_SERVER_ERROR))

    monkeypatch.setattr(Connection, "get", fail)
    assert airflow_connection("x_default") is None


def test_airflow_connection_access_denied_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    def deny(conn_id: str) -> None:
        raise AirflowSecretsBackendAccessDenied(f"Access denied for connection {conn_id!r}")

    monkeypatch.setattr(Connection, "get", deny)
    monkeypatch.setenv("EARSHOT_X_BEARER_TOKEN", "from-environment")
    with pytest.raises(
        ListenerAuthError, match="Airflow denied access to the connection 'x_default'"
    ):
        x_bearer_token("x_default")


def test_airflow_connection_unexpected_error_is_not_swallowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(conn_id: str) -> None:
        raise KeyError(conn_id)

    monkeypatch.setattr(Connection, "get", broken)
    with pytest.raises(KeyError):
        airflow_connection("x_default")


def test_airflow_connection_without_airflow_is_none() -> None:
    code = (
        "import sys; sys.modules['airflow'] = None\n"
        "from listeners.credentials import airflow_connection\n"
        "print(airflow_connection('x_default'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "None"


def test_x_bearer_token_prefers_the_airflow_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_X_SOCIAL", json.dumps({"conn_type": "generic", "password": "from-airflow"})
    )
    monkeypatch.setenv("EARSHOT_X_BEARER_TOKEN", "from-environment")
    assert x_bearer_token("x_social") == "from-airflow"


def test_x_bearer_token_falls_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_X_DEFAULT", raising=False)
    monkeypatch.setenv("EARSHOT_X_BEARER_TOKEN", "from-environment")
    assert x_bearer_token() == "from-environment"


def test_x_bearer_token_missing_names_the_connection_and_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_X_DEFAULT", raising=False)
    monkeypatch.delenv("EARSHOT_X_BEARER_TOKEN", raising=False)
    with pytest.raises(ListenerAuthError) as caught:
        x_bearer_token()
    assert str(caught.value) == (
        "no X credentials: create the Airflow connection 'x_default' with the bearer"
        " token as its password, or set EARSHOT_X_BEARER_TOKEN"
    )


def test_reddit_credentials_from_the_environment_with_default_agent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_REDDIT_DEFAULT", raising=False)
    monkeypatch.setenv("EARSHOT_REDDIT_CLIENT_ID", "cid")
    monkeypatch.setenv("EARSHOT_REDDIT_CLIENT_SECRET", "secret")
    monkeypatch.delenv("EARSHOT_REDDIT_USER_AGENT", raising=False)
    assert reddit_credentials() == ("cid", "secret", "earshot/0.1 (social listening)")


def test_reddit_credentials_missing_names_the_connection_and_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_REDDIT_SOCIAL", raising=False)
    monkeypatch.delenv("EARSHOT_REDDIT_CLIENT_ID", raising=False)
    monkeypatch.setenv("EARSHOT_REDDIT_CLIENT_SECRET", "secret")
    with pytest.raises(ListenerAuthError) as caught:
        reddit_credentials("reddit_social")
    assert str(caught.value) == (
        "no Reddit credentials: create the Airflow connection 'reddit_social'"
        " (login = client id, password = secret) or set EARSHOT_REDDIT_CLIENT_ID"
        " and EARSHOT_REDDIT_CLIENT_SECRET"
    )
