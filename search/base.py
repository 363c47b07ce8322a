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

BOOLEAN_FIELDS: tuple[str, ...] = ("private", "spam")
"""Filter fields whose values are booleans; the other filters take strings."""

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
    priority: int | None = None
    """The queue item's priority (0-100), once routed."""
    sla_due: datetime | None = None
    """When the first response is due (None: closed items, queues without an SLA)."""
    sentiment_score: float | None = None
    intent_score: float | None = None

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
        for name, value in self.filters.items():
            _check_filter(name, value)
        for name, moment in (("created_from", self.created_from), ("created_to", self.created_to)):
            if moment is not None and not isinstance(moment, datetime):
                raise SearchError(f"search {name} must be a datetime, got {moment!r:.80}")
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


def _check_filter(name: str, value: Any) -> None:
    """A filter takes one value or a list of them: booleans for :data:`BOOLEAN_FIELDS`,
    strings for the others (None matches documents without the field)."""
    kind = bool if name in BOOLEAN_FIELDS else str
    values = value if isinstance(value, list | tuple | set | frozenset) else [value]
    for item in values:
        if item is not None and not isinstance(item, kind):
            raise SearchError(
                f"search filter {name!r} takes {kind.__name__} values (or a list of them),"
                f" got {item!r:.80}"
            )


def check_update(post_id: str, values: Mapping[str, Any]) -> None:
    """Raise :class:`SearchError` unless ``values`` only sets :data:`UPDATABLE_FIELDS`, each
    to a string or None (what :meth:`SearchIndex.update` accepts, on every backend)."""
    unknown = sorted(set(values) - set(UPDATABLE_FIELDS))
    if unknown:
        raise SearchError(
            f"cannot update {unknown} of search document {post_id!r}: only"
            f" {list(UPDATABLE_FIELDS)} change after indexing (index the document again instead)"
        )
    for name, value in values.items():
        if value is not None and not isinstance(value, str):
            raise SearchError(
                f"cannot update {name!r} of search document {post_id!r}:"
                f" expected a string or None, got {value!r:.80}"
            )


@dataclass(frozen=True)
class SearchHit:
    document: SearchDocument
    score: float


class SearchIndex(Protocol):
    """A search backend. Every write is idempotent (keyed by post id)."""

    name: str

    def index(self, documents: Sequence[SearchDocument]) -> Mapping[str, str]:
        """Add or replace these documents. Returns those the backend refused, by post id, with
        its reason (the others are indexed); raises :class:`SearchError` when it cannot be
        reached."""
        ...

    def update(self, post_id: str, values: Mapping[str, Any]) -> bool:
        """Change some :data:`UPDATABLE_FIELDS` of one document; False if it is not indexed.
        Raises :class:`SearchError` for any other field (see :func:`check_update`)."""
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
