"""Where the live listeners find their credentials: an Airflow connection when Airflow has one,
else environment variables (``earshot run --once`` outside Airflow).

Airflow is imported only when a credential is asked for, and neither tweepy nor praw is
imported here, so callers can check credentials cheaply.
"""

from __future__ import annotations

import os
from typing import Any

from core.connections import airflow_connection as core_connection
from core.errors import ListenerAuthError

DEFAULT_USER_AGENT = "earshot/0.1 (social listening)"


def airflow_connection(connection_id: str) -> Any | None:
    """The Airflow connection, if any (see :func:`core.connections.airflow_connection`); a
    refusal by Airflow's secrets backend is a :class:`ListenerAuthError`."""
    return core_connection(connection_id, denied=ListenerAuthError)


def x_bearer_token(connection_id: str = "x_default") -> str:
    """The X bearer token: the Airflow connection's password, else ``EARSHOT_X_BEARER_TOKEN``.

    Raises :class:`ListenerAuthError` when neither is set.
    """
    connection = airflow_connection(connection_id)
    if connection is not None and connection.password:
        return str(connection.password)
    token = os.environ.get("EARSHOT_X_BEARER_TOKEN")
    if not token:
        raise ListenerAuthError(
            f"no X credentials: create the Airflow connection {connection_id!r} with the bearer"
            " token as its password, or set EARSHOT_X_BEARER_TOKEN"
        )
    return token


def reddit_credentials(connection_id: str = "reddit_default") -> tuple[str, str, str]:
    """``(client_id, client_secret, user_agent)`` from the Airflow connection (login, password,
    extra ``user_agent``), else from ``EARSHOT_REDDIT_CLIENT_ID`` / ``_CLIENT_SECRET`` /
    ``_USER_AGENT``.

    Raises :class:`ListenerAuthError` when neither gives a client id and secret.
    """
    connection = airflow_connection(connection_id)
    if connection is not None and connection.login and connection.password:
        agent = (connection.extra_dejson or {}).get("user_agent") or DEFAULT_USER_AGENT
        return str(connection.login), str(connection.password), str(agent)
    client_id = os.environ.get("EARSHOT_REDDIT_CLIENT_ID")
    secret = os.environ.get("EARSHOT_REDDIT_CLIENT_SECRET")
    if not client_id or not secret:
        raise ListenerAuthError(
            f"no Reddit credentials: create the Airflow connection {connection_id!r}"
            " (login = client id, password = secret) or set EARSHOT_REDDIT_CLIENT_ID"
            " and EARSHOT_REDDIT_CLIENT_SECRET"
        )
    agent = os.environ.get("EARSHOT_REDDIT_USER_AGENT", DEFAULT_USER_AGENT)
    return client_id, secret, agent
