"""The search interface: what every search backend (SQLite FTS5, PostgreSQL, Elasticsearch)
does, and the documents and queries it speaks in.

A document is the analyst's view of one post: its filterable fields and its *redacted* text.
Raw personal data never reaches an index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Protocol

from core.errors import SearchError

FILTER_FIELDS: tuple[str, ...] = (
    "source",
    "author_id",
    "author_handle",
    "language",
    "sentiment",
    "intent",
    "private",
    "spam",
    "queue",
    "action",
    "status",
    "pii_types",
)
"""Fields a search can filter on exactly (``pii_types`` matches any of a document's types)."""

UPDATABLE_FIELDS: tuple[str, ...] = ("queue", "action", "status")
"""Fields that change after a post is indexed (routing and agents' status changes)."""

MAX_LIMIT = 1000
MAX_QUERY_CHARS = 10_000


@dataclass(frozen=True)
class SearchDocument:
    """One post as the index holds it."""

    post_id: str
    source: str
    author_id: str
    author_handle: str
    created_at: datetime
    text: str
    """The redacted text (``[EMAIL]``, ``[CARD]``, ...), never the raw one."""
    language: str | None = None
    sentiment: str | None = None
    intent: str | None = None
    private: bool | None = None
    spam: bool | None = None
    queue: str | None = None
    action: str | None = None
    status: str | None = None
    pii_types: tuple[str, ...] = ()

    def fields(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class SearchQuery:
    """Free text (every word must match, user input is never query syntax) plus exact filters.

    ``filters`` maps a name of :data:`FILTER_FIELDS` to one value or a list of allowed values.
    ``created_from`` is inclusive, ``created_to`` exclusive.
    """

    text: str = ""
    filters: Mapping[str, Any] = field(default_factory=dict)
    created_from: datetime | None = None
    created_to: datetime | None = None
    limit: int = 20
    offset: int = 0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.filters) - set(FILTER_FIELDS))
        if unknown:
            raise SearchError(f"unknown search filters {unknown}; known: {list(FILTER_FIELDS)}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise SearchError(f"search limit must be from 1 to {MAX_LIMIT}, got {self.limit}")
        if self.offset < 0:
            raise SearchError(f"search offset must be 0 or more, got {self.offset}")
        if len(self.text) > MAX_QUERY_CHARS:
            raise SearchError(
                f"search text is {len(self.text):,} characters; the limit is {MAX_QUERY_CHARS:,}"
            )

    def allowed(self, name: str) -> list[Any] | None:
        """The allowed values of one filter as a list, or None when it is not filtered."""
        if name not in self.filters:
            return None
        value = self.filters[name]
        return list(value) if isinstance(value, list | tuple | set | frozenset) else [value]


@dataclass(frozen=True)
class SearchHit:
    document: SearchDocument
    score: float


class SearchIndex(Protocol):
    """A search backend. Every write is idempotent (keyed by post id)."""

    name: str

    def index(self, documents: Sequence[SearchDocument]) -> None:
        """Add or replace these documents."""
        ...

    def update(self, post_id: str, values: Mapping[str, Any]) -> bool:
        """Change some :data:`UPDATABLE_FIELDS` of one document; False if it is not indexed."""
        ...

    def delete(self, post_ids: Sequence[str]) -> None:
        """Remove these documents; ids not in the index are ignored."""
        ...

    def get(self, post_id: str) -> SearchDocument | None: ...

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """Matching documents, best first (newest first when there is no text)."""
        ...

    def count(self, query: SearchQuery) -> int:
        """How many documents match (ignoring limit and offset)."""
        ...
