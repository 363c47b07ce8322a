"""The Elasticsearch backend: the search contract suite against the local stub cluster
(:mod:`tests.search.es_stub`), and against a live cluster when ``EARSHOT_ES_URL`` is set
(reported as skipped otherwise); setup, bulk failures and a cluster that is down."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.errors import SearchError
from search import SearchQuery
from search.elastic import ElasticSearchIndex, setup
from tests.search.es_stub import Cluster, running_stub
from tests.search.test_contract import CORPUS, SearchIndexContract, doc

LIVE_URL = os.environ.get("EARSHOT_ES_URL")


def client_for(url: str, **options: Any) -> Any:
    from elasticsearch import Elasticsearch

    return Elasticsearch(url, request_timeout=10, max_retries=0, **options)


@pytest.fixture(scope="module")
def stub() -> Iterator[tuple[str, Cluster]]:
    with running_stub() as served:
        yield served


class TestStubElasticSearch(SearchIndexContract):
    @pytest.fixture
    def cluster(self, stub: tuple[str, Cluster]) -> Cluster:
        return stub[1]

    @pytest.fixture
    def index(self, stub: tuple[str, Cluster]) -> ElasticSearchIndex:
        alias = f"earshot-test-{secrets.token_hex(4)}"
        client = client_for(stub[0])
        setup(client, alias)
        return ElasticSearchIndex(client, alias=alias, refresh=True)

    def test_search_elastic_name(self, index: ElasticSearchIndex) -> None:
        assert index.name == "elasticsearch"

    def test_search_elastic_refused_items_are_returned_and_429s_retried(
        self, index: ElasticSearchIndex, cluster: Cluster
    ) -> None:
        cluster.fail_once["x:2"] = 429  # a busy cluster: retried with backoff, then indexed
        cluster.refuse["reddit:3"] = "failed to parse field [text]"
        refused = index.index(CORPUS[:4])
        assert list(refused) == ["reddit:3"]
        assert "document_parsing_exception: failed to parse field [text]" in refused["reddit:3"]
        assert index.get("x:2") is not None and index.get("reddit:3") is None
        assert index.get("x:1") is not None and index.get("reddit:4") is not None

    def test_search_elastic_setup_twice_changes_nothing(self, stub: tuple[str, Cluster]) -> None:
        client = client_for(stub[0])
        alias = f"earshot-test-{secrets.token_hex(4)}"
        first = setup(client, alias)
        assert all(line.endswith(("created", f"created (index {alias}-000001)")) for line in first)
        assert all(line.endswith("unchanged") for line in setup(client, alias))

    def test_search_elastic_strict_mapping_refuses_a_stray_field(
        self, index: ElasticSearchIndex, stub: tuple[str, Cluster]
    ) -> None:
        from elasticsearch import BadRequestError

        client = client_for(stub[0])
        for stray in ({"post_id": "x:9", "stray": 1}, {"author": {"id": "x:9", "stray": 1}}):
            with pytest.raises(BadRequestError, match="strict_dynamic_mapping_exception"):
                client.index(index=index._alias, id="x:9", document=stray)

    def test_search_elastic_keeps_the_author_as_an_object(
        self, index: ElasticSearchIndex, cluster: Cluster
    ) -> None:
        index.index([CORPUS[0]])
        (stored,) = cluster.indices[cluster.aliases[index._alias]]["docs"].values()
        assert stored["author"] == {"id": "x:ana", "handle": "ana"}
        assert "author_id" not in stored and index.get("x:1") == CORPUS[0]


def test_search_elastic_cluster_down_raises_search_error() -> None:
    index = ElasticSearchIndex(client_for("http://127.0.0.1:9"), alias="earshot-posts")
    with pytest.raises(SearchError, match="Elasticsearch: cannot index 1 documents"):
        index.index([doc("x:1", "refund")])
    with pytest.raises(SearchError, match="Elasticsearch: cannot search"):
        index.search(SearchQuery("refund"))


@pytest.mark.skipif(not LIVE_URL, reason="EARSHOT_ES_URL is not set (no live Elasticsearch)")
class TestLiveElasticSearch(SearchIndexContract):
    @pytest.fixture
    def index(self) -> Iterator[ElasticSearchIndex]:
        assert LIVE_URL is not None
        client = client_for(LIVE_URL, api_key=os.environ.get("EARSHOT_ES_API_KEY"))
        alias = f"earshot-test-{secrets.token_hex(4)}"
        setup(client, alias)
        yield ElasticSearchIndex(client, alias=alias, refresh=True)
        client.indices.delete(index=f"{alias}-*")


GOLDEN = Path(__file__).parent / "data" / "elastic"


def recorded(cluster: Cluster, since: int) -> list[dict[str, Any]]:
    return [
        {"method": method, "path": path, "body": body}
        for method, path, body in cluster.requests[since:]
        if path != "/"  # the client's product check
    ]


def golden(name: str, requests: list[dict[str, Any]]) -> None:
    """Compare with ``tests/search/data/elastic/<name>.json`` (``EARSHOT_UPDATE_GOLDEN=1``
    rewrites it; review the diff against Elastic's API specification)."""
    path = GOLDEN / f"{name}.json"
    text = json.dumps(requests, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("EARSHOT_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"requests differ from {path}"


def test_elastic_request_bodies_match_the_golden_files(stub: tuple[str, Cluster]) -> None:
    url, cluster = stub
    client = client_for(url)
    start = len(cluster.requests)
    setup(client, "golden")
    golden("setup", recorded(cluster, start))

    index = ElasticSearchIndex(client, alias="golden")
    start = len(cluster.requests)
    index.index(CORPUS[:2])
    index.update("x:1", {"status": "claimed", "queue": "billing"})
    index.delete(["x:2", "x:404"])
    golden("writes", recorded(cluster, start))

    start = len(cluster.requests)
    index.search(
        SearchQuery(
            'refund "card"',
            filters={"queue": ["billing", None], "private": True, "pii_types": "card"},
            created_from=datetime(2026, 11, 1, tzinfo=UTC),
            created_to=datetime(2026, 11, 8, tzinfo=UTC),
            limit=5,
            offset=10,
        )
    )
    index.count(SearchQuery("", filters={"source": "x"}))
    golden("reads", recorded(cluster, start))
