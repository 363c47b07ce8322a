"""Where live listeners find their credentials: an Airflow connection when Airflow has one,
else environment variables (``earshot run --once`` outside Airflow)."""

from __future__ import annotations

from typing import Any


def airflow_connection(connection_id: str) -> Any | None:
    """The Airflow connection ``connection_id``, or None when Airflow is not installed, has no
    such connection, or cannot be asked from here."""
    try:
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowNotFoundException, AirflowRuntimeError
    except ImportError:
        return None
    try:
        return Connection.get(connection_id)
    except (AirflowNotFoundException, AirflowRuntimeError):
        return None
