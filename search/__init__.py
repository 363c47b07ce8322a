"""Search for analysts and agents: free text plus exact filters over the posts' redacted text.

:mod:`search.base` is the interface every backend implements (documents, queries, hits, the
:class:`SearchIndex` protocol); :mod:`search.sql` is the embedded backend, which lives in the
store's own database (SQLite FTS5 or PostgreSQL ``tsvector``). The index is fed from the
store's outbox by the services layer; search and storage never import each other.
"""

from search.base import (
    BOOLEAN_FIELDS,
    FILTER_FIELDS,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    UPDATABLE_FIELDS,
    SearchDocument,
    SearchHit,
    SearchIndex,
    SearchQuery,
    check_update,
)
from search.sql import SqlSearchIndex

__all__ = [
    "BOOLEAN_FIELDS",
    "FILTER_FIELDS",
    "MAX_LIMIT",
    "MAX_QUERY_CHARS",
    "UPDATABLE_FIELDS",
    "SearchDocument",
    "SearchHit",
    "SearchIndex",
    "SearchQuery",
    "SqlSearchIndex",
    "check_update",
]
