"""Search for analysts and agents: free text plus filters over the search index, with the
stored post for each hit (agents see the post; the index only ever holds redacted text)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.config import Config
from core.models import Post
from search import SearchDocument, SearchQuery
from services.runtime import open_search, open_store


@dataclass(frozen=True)
class Result:
    document: SearchDocument
    post: Post
    score: float


def search(
    config: Config,
    text: str,
    *,
    filters: Mapping[str, Any] | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: int = 20,
) -> list[Result]:
    """Best matches first. Raises SearchError for a bad filter or limit."""
    query = SearchQuery(
        text=text,
        filters=dict(filters or {}),
        created_from=created_from,
        created_to=created_to,
        limit=limit,
    )
    hits = open_search(config).search(query)
    records = open_store(config).posts.records([h.document.post_id for h in hits])
    posts = {r.post.id: r.post for r in records}
    return [
        Result(hit.document, posts[hit.document.post_id], hit.score)
        for hit in hits
        if hit.document.post_id in posts  # removed since it was indexed: not shown
    ]
