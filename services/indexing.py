"""Keeping the search index in step with the store, through the outbox.

Every change that the index must see (a post stored, routed, its status changed, removed) is
written to the outbox in the same transaction as the change. :func:`drain` sends what is
pending to the index and deletes the entries only after the index accepted them: an index that
was down or a process killed mid-way leaves them for the next run, so the store and the index
cannot silently diverge.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from core.models import DeadLetter
from search import SearchDocument, SearchIndex
from storage import IndexedPost, Store

log = logging.getLogger(__name__)
DRAIN_BATCH = 5000
"""Outbox entries sent to the index at a time: one batch of :func:`services.pipeline.process`
(``pipeline.batch_size``, 5,000 by default) goes in one index transaction; SQLite's full-text
index took a fifth less time a document at 5,000 than at 1,000."""


def document(post: IndexedPost) -> SearchDocument:
    """The index's view of a stored, classified post."""
    return SearchDocument(
        post_id=post.post_id,
        source=post.source,
        author_id=post.author_id,
        author_handle=post.author_handle,
        created_at=post.created_at,
        text=post.redacted_text,  # never the raw text: no personal data in the index
        language=post.language,
        sentiment=post.sentiment,
        intent=post.intent,
        private=post.move_private,
        spam=post.spam,
        queue=post.queue,
        action=post.action,
        status=post.status,
        pii_types=post.pii_types,
        priority=post.priority,
        sla_due=post.sla_due,
        sentiment_score=post.sentiment_score,
        intent_score=post.intent_score,
    )


def _dead_letters(
    store: Store,
    index: SearchIndex,
    refused: Mapping[str, str],
    documents: Sequence[SearchDocument],
) -> None:
    by_id = {d.post_id: d for d in documents}
    letters = [
        DeadLetter(
            f"search:{index.name}",
            post_id,
            f"{index.name} refused document {post_id}: {reason}",
            json.dumps(by_id[post_id].fields(), ensure_ascii=False, default=_json_value).encode(
                "utf-8"
            ),
        )
        for post_id, reason in refused.items()
        if post_id in by_id
    ]
    store.dead_letters.add(letters)
    log.warning(
        "search index %s refused %d documents (first %s: %s): sent to the dead-letter table",
        index.name,
        len(refused),
        *next(iter(refused.items())),
    )


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else repr(value)


def drain(
    store: Store,
    index: SearchIndex,
    *,
    progress: Callable[[str], None] | None = None,
    post_ids: Sequence[str] | None = None,
) -> dict[str, int]:
    """Send every pending outbox entry (only those of ``post_ids``, when given: what one
    console action changed, without waiting for a backlog) to the index. Returns how many
    documents were indexed and deleted."""
    indexed = deleted = 0
    only = None if post_ids is None else list(post_ids)
    while first := (
        store.outbox.pending(limit=DRAIN_BATCH) if only is None else store.outbox.pending_for(only)
    ):
        # A post's later entries (a batch is stored, then routed) are sent with its first: the
        # document is built from the store as it is now, after every entry read here was
        # committed, so each post is sent once. The newest entry of a post decides its op.
        entries = store.outbox.pending_for([entry.post_id for entry in first])
        last_op = {entry.post_id: entry.op for entry in entries}
        upserts = [post_id for post_id, op in last_op.items() if op == "upsert"]
        deletes = [post_id for post_id, op in last_op.items() if op == "delete"]
        documents = [document(post) for post in store.posts.indexed(upserts)]
        missing = set(upserts) - {d.post_id for d in documents}
        refused: Mapping[str, str] = {}
        if documents:
            refused = index.index(documents)
            if refused:  # never dropped: kept, with the backend's reason, as dead letters
                _dead_letters(store, index, refused, documents)
        if deletes or missing:
            # A post removed (or never classified) since the entry was written is not indexed.
            index.delete(sorted({*deletes, *missing}))
        store.outbox.done([entry.id for entry in entries])
        indexed += len(documents) - len(refused)
        deleted += len(deletes)
        if progress:
            progress(f"indexed {indexed} documents, removed {deleted}")
    if indexed or deleted:
        log.info("search index %s: indexed %d documents, removed %d", index.name, indexed, deleted)
    return {"indexed": indexed, "deleted": deleted}


def reindex(
    store: Store, index: SearchIndex, *, progress: Callable[[str], None] | None = None
) -> dict[str, int]:
    """Rebuild the index from the store: queue every stored post in the outbox, then drain
    it. Resumable: what a killed reindex left in the outbox is sent by the next drain (any
    run's ``index`` step, or this command again)."""
    from core.models import SOURCES

    queued = 0
    for network in SOURCES:
        after = ""
        while ids := store.posts.ids(source=network, after=after, limit=DRAIN_BATCH):
            store.outbox.add(ids, "upsert")
            queued += len(ids)
            after = ids[-1]
            if progress:
                progress(f"queued {queued} posts for the index")
    result = drain(store, index, progress=progress)
    return {"queued": queued, **result}
