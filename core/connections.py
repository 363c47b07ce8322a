"""Airflow connections, when Earshot runs where Airflow has them: the one way every part reads
credentials kept in Airflow (X, Reddit, Elasticsearch). Airflow is imported only when a
connection is asked for; without Airflow, callers fall back to environment variables."""

from __future__ import annotations

from typing import Any

from core.errors import ConfigError, EarshotError


def airflow_connection(
    connection_id: str, *, denied: type[EarshotError] = ConfigError
) -> Any | None:
    """The Airflow connection ``connection_id``, or None when Airflow is not installed, has no
    such connection (in a task or outside one), or its API server cannot answer.

    An explicit refusal by Airflow's secrets backend raises ``denied``: Airflow forbids
    falling back to a less-protected source of secrets in that case.
    """
    try:
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import (
            AirflowNotFoundException,
            AirflowRuntimeError,
            AirflowSecretsBackendAccessDenied,
        )
    except ImportError:  # Airflow is not installed: environment variables only
        return None
    try:
        return Connection.get(connection_id)
    except AirflowNotFoundException:  # no such connection, or no task context to ask from
        return None
    except AirflowRuntimeError:  # the task's API server failed to answer
        return None
    except AirflowSecretsBackendAccessDenied as e:
        raise denied(f"Airflow denied access to the connection {connection_id!r}: {e}") from None
