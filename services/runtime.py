"""The configured parts, opened once per process: the store (its schema brought up to date
first), the search index, the classifiers and the router."""

from __future__ import annotations

import sys
from functools import lru_cache

from core.config import Config, ElasticSettings
from core.connections import airflow_connection
from routing import Router, load_routing
from search import SearchIndex, SqlSearchIndex
from storage import SqlStore
from storage.migrate import upgrade


@lru_cache(maxsize=4)
def _store(url: str) -> SqlStore:
    upgrade(url)
    return SqlStore.open(url)


def upgrade_database(config: Config) -> str:
    """Bring the configured database to the current schema; returns its revision."""
    return upgrade(config.database_url)


def open_store(config: Config) -> SqlStore:
    """The configured store, its schema migrated to the current version (cached per process)."""
    return _store(config.database_url)


ES_CONNECTION = "elasticsearch_default"
"""The Airflow connection Earshot reads Elasticsearch's address and credentials from, inside
Airflow, when neither ``EARSHOT_ES_URL`` nor the configuration names a cluster."""


def open_search(config: Config) -> SearchIndex:
    """The configured search index: Elasticsearch when configured (``EARSHOT_ES_URL``, the
    ``search`` section, or the Airflow connection ``elasticsearch_default`` inside Airflow),
    else the embedded one, which lives in the store's database."""
    settings = elastic_settings(config)
    if settings is not None:
        return _elastic(settings)
    return _search(config.database_url)


def elastic_settings(config: Config) -> ElasticSettings | None:
    if config.elasticsearch is not None or "airflow.sdk" not in sys.modules:
        return config.elasticsearch
    connection = airflow_connection(ES_CONNECTION)
    if connection is None or not connection.host:
        return None
    extra = connection.extra_dejson or {}
    host = str(connection.host)
    url = host if "://" in host else f"{connection.schema or 'https'}://{host}"
    if connection.port:
        url = f"{url}:{connection.port}"
    return ElasticSettings.model_validate(
        {
            "url": url,
            "username": connection.login or None,
            "password": connection.password or None,
            **{k: extra[k] for k in ("api_key", "ca_certs", "verify_certs", "index") if k in extra},
        }
    )


@lru_cache(maxsize=4)
def _elastic(settings: ElasticSettings) -> SearchIndex:
    from search.elastic import ElasticSearchIndex, connect

    return ElasticSearchIndex(connect(settings), alias=settings.index)


def setup_search(config: Config) -> list[str]:
    """Create or update the Elasticsearch templates, policy and write alias (idempotent);
    one line per object. The embedded index needs nothing beyond the migrations."""
    settings = elastic_settings(config)
    if settings is None:
        return ["embedded search: nothing to set up (set EARSHOT_ES_URL for Elasticsearch)"]
    from search.elastic import connect, setup

    return setup(connect(settings), settings.index)


@lru_cache(maxsize=4)
def _search(url: str) -> SearchIndex:
    return SqlSearchIndex(_store(url).engine)


@lru_cache(maxsize=4)
def router(config: Config) -> Router:
    """The routing rules of the configuration (checked when loaded)."""
    return Router(load_routing(config.routing_path))


def check(config: Config) -> None:
    """Load what can be checked before any work starts: the routing rules and the names of
    the configured classifiers. Raises ConfigError naming the file and the key."""
    from nlp import build_pipeline  # classifiers' __init__ is cheap: no model is loaded here

    router(config)
    build_pipeline(config)
