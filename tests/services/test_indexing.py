"""The search index follows the store through the outbox: nothing is lost when it fails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from core.config import load_config
from core.errors import SearchError
from search import SearchDocument, SearchHit, SearchQuery
from services import cases, indexing, pipeline, search
from services.runtime import open_search, open_store
from tests.conftest import sample_labels


class DownIndex:
    """An index that refuses every write, as a cluster that is down would."""

    name = "down"

    def index(self, documents: Sequence[SearchDocument]) -> None:
        raise SearchError(f"index down: {len(documents)} documents not written")

    def update(self, post_id: str, values: Mapping[str, Any]) -> bool:
        raise SearchError("index down")

    def delete(self, post_ids: Sequence[str]) -> None:
        raise SearchError("index down")

    def get(self, post_id: str) -> SearchDocument | None:
        return None

    def search(self, query: SearchQuery) -> list[SearchHit]:
        return []

    def count(self, query: SearchQuery) -> int:
        return 0


def test_indexing_run_indexes_every_stored_post_once_with_its_queue(config_path: Path) -> None:
    config = load_config(config_path)
    pipeline.run_once(config)
    store, index = open_store(config), open_search(config)
    assert store.outbox.count() == 0
    assert index.count(SearchQuery()) == store.posts.count() == len(sample_labels())
    (item,) = store.queues.items(queue="billing", limit=1)
    document = index.get(item.post.id)
    assert document is not None
    assert (document.queue, document.status, document.action) == (
        "billing",
        "new",
        item.decision.action,
    )


def test_indexing_failed_index_keeps_the_outbox_for_the_next_run(config_path: Path) -> None:
    config = load_config(config_path)
    run_id = pipeline.start_run(config)
    batch = pipeline.collect(config, "reddit_samples", run_id)
    pipeline.classify(config, batch["batch_id"])
    pipeline.store_batch(config, batch["batch_id"])
    pipeline.route(config, batch["batch_id"])
    store = open_store(config)
    waiting = store.outbox.count()
    assert waiting >= batch["fetched"]
    with pytest.raises(SearchError, match="index down"):
        indexing.drain(store, DownIndex())
    assert store.outbox.count() == waiting  # nothing lost
    assert search.search(config, "hub") == []  # and nothing searchable yet
    assert pipeline.index(config)["indexed"] == batch["fetched"]
    assert store.outbox.count() == 0
    assert open_search(config).count(SearchQuery()) == batch["fetched"]


def test_indexing_status_change_reaches_the_index(config_path: Path) -> None:
    config = load_config(config_path)
    pipeline.run_once(config)
    (case,) = cases.list_cases(config, queue="logistics", status="new", limit=1)
    cases.add_agent(config, "ana", queues=["logistics"])
    cases.act(config, case.id, "claim", agent="ana")  # sent at once
    assert open_store(config).outbox.count() == 0
    document = open_search(config).get(case.opened_post_id)
    assert document is not None and document.status == "claimed"
    claimed = search.search(config, "", filters={"status": "claimed"})
    assert [r.post.id for r in claimed] == [case.opened_post_id]


def test_indexing_documents_hold_redacted_text_and_pii_types(config_path: Path) -> None:
    config = load_config(config_path)
    pipeline.run_once(config)
    (hit,) = search.search(config, "returned Cam never arrived")
    assert "rob.hall@examplemail.com" not in hit.document.text
    assert "email" in hit.document.pii_types
    with_email = search.search(config, "", filters={"pii_types": "email"}, limit=1000)
    assert hit.post.id in {r.post.id for r in with_email}


def test_indexing_drain_sends_each_post_once_whatever_entries_it_has(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(config_path)
    monkeypatch.setattr(pipeline, "index", lambda config, progress=None: {})  # left pending
    pipeline.run_once(config)
    store, index = open_store(config), open_search(config)
    posts = store.posts.count()
    assert store.outbox.count() > posts  # stored, then routed: two entries or more a post

    sent: list[str] = []
    real = index.index

    def counting(documents: Sequence[SearchDocument]) -> dict[str, str]:
        sent.extend(d.post_id for d in documents)
        return real(documents)

    monkeypatch.setattr(index, "index", counting)
    monkeypatch.setattr(indexing, "DRAIN_BATCH", 50)  # a post's entries fall in several
    done = indexing.drain(store, index)
    assert sorted(sent) == sorted(set(sent)) and len(sent) == posts == done["indexed"]
    assert store.outbox.count() == 0
    assert index.count(SearchQuery()) == posts


def test_indexing_drain_of_some_posts_leaves_the_rest_pending(config_path: Path) -> None:
    config = load_config(config_path)
    run_id = pipeline.start_run(config)
    batch = pipeline.collect(config, "reddit_samples", run_id)
    pipeline.classify(config, batch["batch_id"])
    pipeline.store_batch(config, batch["batch_id"])
    pipeline.route(config, batch["batch_id"])
    store, index = open_store(config), open_search(config)
    pending = store.outbox.pending(limit=10_000)
    chosen = sorted({e.post_id for e in pending})[:2]
    assert indexing.drain(store, index, post_ids=chosen) == {"indexed": 2, "deleted": 0}
    assert store.outbox.pending_for(chosen) == []
    assert store.outbox.count() == len(pending) - sum(e.post_id in chosen for e in pending)
    assert {d.post_id for d in map(index.get, chosen) if d is not None} == set(chosen)
    assert index.count(SearchQuery()) == 2
