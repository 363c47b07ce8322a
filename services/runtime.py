"""The configured parts, opened once per process: the store (its schema brought up to date
first), the search index, the classifiers and the router."""

from __future__ import annotations

from functools import lru_cache

from core.config import Config
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


def open_search(config: Config) -> SearchIndex:
    """The configured search index. The embedded one lives in the store's database."""
    return _search(config.database_url)


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
