"""The Elasticsearch 9 backend: the same :class:`~search.base.SearchIndex` contract as the
embedded one, over an index template with explicit, strict mappings and a write alias.

Layout (created by :func:`setup`, idempotent):

- documents keep the author as an object (``author.id``, ``author.handle``); the other
  fields are the search document's own;
- component templates ``earshot-posts-settings`` (analysis: ``earshot_folded``, the standard
  tokenizer with lowercase and ASCII folding, the same words-without-accents-or-case the
  embedded backends search; ILM policy and rollover alias) and ``earshot-posts-mappings``
  (``dynamic: strict``: a stray field is an error, not a silent mapping);
- the index template ``earshot-posts`` over ``earshot-posts-*`` composed of both;
- the ILM policy ``earshot-posts``: roll over at 30 days or 25 GB per primary shard, delete
  365 days after rollover;
- the first index ``earshot-posts-000001`` behind the write alias ``earshot-posts``.

A write alias with rollover, not a data stream: data streams are append-only, and Earshot
updates documents in place (a queue item's status) and deletes them (compliance removals).

Writes use the post id as ``_id``, so a retried or repeated write never duplicates. Bulk writes
stream in chunks (memory bounded whatever the batch size); an item refused with 429 is retried
with backoff, and an item refused for another reason (a mapping error) is returned to the
caller with the cluster's reason, never dropped. Free text goes through
``simple_query_string`` with every operator disabled (``flags: NONE``) and ``and`` as the
operator: user input is never query syntax.

Elasticsearch is near-real-time: a write is searchable after the next refresh (one second by
default). ``refresh=True`` makes every write wait for it (tests, and small interactive writes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from core.config import ElasticSettings
from core.errors import SearchError
from core.timeutil import to_iso
from search.base import (
    BOOLEAN_FIELDS,
    FILTER_FIELDS,
    SearchDocument,
    SearchHit,
    SearchQuery,
    check_update,
)
from search.sql import query_words

ALIAS = "earshot-posts"
"""The write alias (and the name prefix of the indices and templates)."""
BULK_CHUNK = 500
KEYWORD_FIELDS = (
    "post_id",
    "source",
    "language",
    "sentiment",
    "intent",
    "queue",
    "action",
    "status",
    "pii_types",
)


def connect(settings: ElasticSettings) -> Any:
    """An Elasticsearch client for the configured cluster: TLS verified unless told otherwise,
    request timeouts, bounded retries (also on timeouts)."""
    from elasticsearch import Elasticsearch

    options: dict[str, Any] = {
        "request_timeout": settings.timeout,
        "max_retries": settings.max_retries,
        "retry_on_timeout": True,
        "verify_certs": settings.verify_certs,
    }
    if settings.ca_certs:
        options["ca_certs"] = settings.ca_certs
    if settings.api_key:
        options["api_key"] = settings.api_key
    elif settings.username:
        options["basic_auth"] = (settings.username, settings.password or "")
    return Elasticsearch(settings.url, **options)


def mappings() -> dict[str, Any]:
    """The explicit mapping of a post document."""
    properties: dict[str, Any] = {name: {"type": "keyword"} for name in KEYWORD_FIELDS}
    properties.update({name: {"type": "boolean"} for name in BOOLEAN_FIELDS})
    properties["author"] = {
        "type": "object",
        "properties": {"id": {"type": "keyword"}, "handle": {"type": "keyword"}},
    }
    properties["created_at"] = {"type": "date"}
    properties["sla_due"] = {"type": "date"}
    properties["priority"] = {"type": "integer"}
    properties["sentiment_score"] = {"type": "float"}
    properties["intent_score"] = {"type": "float"}
    properties["text"] = {
        "type": "text",
        "analyzer": "earshot_folded",
        "fields": {
            "english": {"type": "text", "analyzer": "english"},
            "keyword": {"type": "keyword", "ignore_above": 256},
        },
    }
    return {"dynamic": "strict", "properties": dict(sorted(properties.items()))}


def settings(alias: str = ALIAS) -> dict[str, Any]:
    return {
        "analysis": {
            "analyzer": {
                "earshot_folded": {
                    "type": "custom",
                    "tokenizer": "standard",
                    "filter": ["lowercase", "asciifolding"],
                }
            }
        },
        "index.lifecycle.name": alias,
        "index.lifecycle.rollover_alias": alias,
    }


def ilm_policy() -> dict[str, Any]:
    return {
        "phases": {
            "hot": {"actions": {"rollover": {"max_age": "30d", "max_primary_shard_size": "25gb"}}},
            "delete": {"min_age": "365d", "actions": {"delete": {}}},
        }
    }


def templates(alias: str = ALIAS) -> dict[str, dict[str, Any]]:
    """The component templates and the index template, by name."""
    return {
        f"{alias}-settings": {"template": {"settings": settings(alias)}},
        f"{alias}-mappings": {"template": {"mappings": mappings()}},
    }


def index_template(alias: str = ALIAS) -> dict[str, Any]:
    return {
        "index_patterns": [f"{alias}-*"],
        "composed_of": [f"{alias}-settings", f"{alias}-mappings"],
        "priority": 200,
        "_meta": {"managed_by": "earshot", "description": "Earshot posts (redacted text)"},
    }


def setup(client: Any, alias: str = ALIAS) -> list[str]:
    """Create or update what the index needs; returns one line per object saying what was
    done (``created``, ``updated`` or ``unchanged``). Running it twice changes nothing."""
    report: list[str] = []
    policy = ilm_policy()
    current = _existing(lambda: client.ilm.get_lifecycle(name=alias))
    if current is None or current[alias]["policy"].get("phases") != policy["phases"]:
        client.ilm.put_lifecycle(name=alias, policy=policy)
    report.append(f"ILM policy {alias}: {_verdict(current, policy)}")
    for name, body in templates(alias).items():
        current = _existing(lambda n=name: client.cluster.get_component_template(name=n))
        existing = None if current is None else current["component_templates"][0]
        same = (
            existing is not None and existing["component_template"]["template"] == body["template"]
        )
        if not same:
            client.cluster.put_component_template(name=name, **body)
        report.append(f"component template {name}: {_state(existing, same)}")
    body = index_template(alias)
    current = _existing(lambda: client.indices.get_index_template(name=alias))
    existing = None if current is None else current["index_templates"][0]["index_template"]
    same = existing is not None and all(existing.get(k) == v for k, v in body.items())
    if not same:
        client.indices.put_index_template(name=alias, **body)
    report.append(f"index template {alias}: {_state(existing, same)}")
    if client.indices.exists_alias(name=alias):
        report.append(f"write alias {alias}: unchanged")
    else:
        client.indices.create(index=f"{alias}-000001", aliases={alias: {"is_write_index": True}})
        report.append(f"write alias {alias}: created (index {alias}-000001)")
    return report


def _existing(call: Any) -> Any:
    from elasticsearch import NotFoundError as EsNotFound

    try:
        return call()
    except EsNotFound:
        return None


def _verdict(current: Any, policy: dict[str, Any]) -> str:
    if current is None:
        return "created"
    same = next(iter(current.values()))["policy"].get("phases") == policy["phases"]
    return "unchanged" if same else "updated"


def _state(existing: Any, same: bool) -> str:
    return "created" if existing is None else "unchanged" if same else "updated"


class ElasticSearchIndex:
    """Posts in Elasticsearch, behind the write alias ``alias``."""

    name = "elasticsearch"

    def __init__(self, client: Any, *, alias: str = ALIAS, refresh: bool = False) -> None:
        self._client = client
        self._alias = alias
        self._refresh: Any = "wait_for" if refresh else False

    def __repr__(self) -> str:
        return f"ElasticSearchIndex(alias={self._alias!r})"

    # -- writes ------------------------------------------------------------------------------

    def index(self, documents: Sequence[SearchDocument]) -> dict[str, str]:
        """Index (or replace) documents; returns the ids the cluster refused, with its reason
        (the rest is indexed). Raises :class:`SearchError` when the cluster cannot be reached."""
        unique = list({d.post_id: d for d in documents}.values())
        actions = (
            {"_op_type": "index", "_index": self._alias, "_id": d.post_id, "_source": source(d)}
            for d in unique
        )
        return self._bulk(actions, f"index {len(unique)} documents")

    def update(self, post_id: str, values: Mapping[str, Any]) -> bool:
        from elasticsearch import NotFoundError as EsNotFound

        check_update(post_id, values)
        try:
            if not values:
                return bool(
                    self._call("get", lambda: self._client.exists(index=self._alias, id=post_id))
                )
            self._call(
                f"update {post_id}",
                lambda: self._client.update(
                    index=self._alias, id=post_id, doc=dict(values), refresh=self._refresh
                ),
            )
        except EsNotFound:
            return False
        return True

    def delete(self, post_ids: Sequence[str]) -> None:
        actions = (
            {"_op_type": "delete", "_index": self._alias, "_id": post_id}
            for post_id in dict.fromkeys(post_ids)
        )
        refused = self._bulk(actions, f"delete {len(post_ids)} documents")
        if refused:
            first = next(iter(refused.items()))
            raise SearchError(
                f"Elasticsearch refused to delete {len(refused)} documents"
                f" (first {first[0]!r}: {first[1]})"
            )

    def _bulk(self, actions: Any, what: str) -> dict[str, str]:
        from elasticsearch import helpers

        refused: dict[str, str] = {}
        try:
            for ok, item in helpers.streaming_bulk(
                self._client,
                actions,
                chunk_size=BULK_CHUNK,
                raise_on_error=False,
                raise_on_exception=True,
                max_retries=5,
                initial_backoff=0.5,
                max_backoff=30,
                yield_ok=False,
                refresh=self._refresh,
            ):
                ((op, result),) = item.items()
                if not ok and not (op == "delete" and result.get("status") == 404):
                    refused[str(result.get("_id"))] = _reason(result)  # (deleting: gone already)
        except Exception as e:  # transport errors: the cluster is down or refused the request
            raise _search_error(what, e) from e
        return refused

    # -- reads -------------------------------------------------------------------------------

    def get(self, post_id: str) -> SearchDocument | None:
        from elasticsearch import NotFoundError as EsNotFound

        try:
            found = self._call(
                f"get {post_id}", lambda: self._client.get(index=self._alias, id=post_id)
            )
        except EsNotFound:
            return None
        return document(found["_source"])

    def search(self, query: SearchQuery) -> list[SearchHit]:
        body = request(query)
        if body is None:
            return []
        response = self._call("search", lambda: self._client.search(index=self._alias, **body))
        return [
            SearchHit(document(hit["_source"]), float(hit.get("_score") or 0.0))
            for hit in response["hits"]["hits"]
        ]

    def count(self, query: SearchQuery) -> int:
        body = request(query)
        if body is None:
            return 0
        response = self._call(
            "count", lambda: self._client.count(index=self._alias, query=body["query"])
        )
        return int(response["count"])

    def _call(self, what: str, call: Any) -> Any:
        from elasticsearch import NotFoundError as EsNotFound

        try:
            return call()
        except EsNotFound:
            raise
        except Exception as e:
            raise _search_error(what, e) from e


AUTHOR_FIELDS = {"author_id": "author.id", "author_handle": "author.handle"}
"""Search document fields that Elasticsearch keeps in the ``author`` object."""


def es_field(name: str) -> str:
    """The Elasticsearch field of a search document field."""
    return AUTHOR_FIELDS.get(name, name)


def source(document: SearchDocument) -> dict[str, Any]:
    """The JSON document Elasticsearch stores for a post."""
    body = document.fields()
    body["author"] = {"id": body.pop("author_id"), "handle": body.pop("author_handle")}
    body["created_at"] = to_iso(document.created_at)
    body["sla_due"] = None if document.sla_due is None else to_iso(document.sla_due)
    body["pii_types"] = list(document.pii_types)
    return body


def document(body: Mapping[str, Any]) -> SearchDocument:
    values = dict(body)
    author = values.pop("author", None) or {}
    values["author_id"], values["author_handle"] = author.get("id"), author.get("handle")
    for name in ("created_at", "sla_due"):
        if values.get(name) is not None:
            moment = datetime.fromisoformat(values[name].replace("Z", "+00:00"))
            values[name] = moment.astimezone(UTC)
    values["pii_types"] = tuple(values.get("pii_types") or ())
    return SearchDocument(**values)


def request(query: SearchQuery) -> dict[str, Any] | None:
    """The ``_search`` request of a query; None when it can match nothing (text, no words)."""
    filters: list[dict[str, Any]] = [
        clause for name in FILTER_FIELDS if (clause := _filter(name, query)) is not None
    ]
    bounds = {}
    if query.created_from is not None:
        bounds["gte"] = to_iso(query.created_from)
    if query.created_to is not None:
        bounds["lt"] = to_iso(query.created_to)
    if bounds:
        filters.append({"range": {"created_at": bounds}})
    must: list[dict[str, Any]] = []
    sort: list[Any] = [{"created_at": "desc"}, {"post_id": "asc"}]
    if query.text.strip():
        words = query_words(query.text)
        if not words:
            return None
        must.append(
            {
                "simple_query_string": {
                    "query": " ".join(words),
                    "fields": ["text"],
                    "default_operator": "and",
                    "flags": "NONE",
                }
            }
        )
        sort.insert(0, {"_score": "desc"})
    return {
        "query": {"bool": {"filter": filters, "must": must}},
        "sort": sort,
        "from": query.offset,
        "size": query.limit,
        "track_total_hits": False,
    }


def _filter(name: str, query: SearchQuery) -> dict[str, Any] | None:
    allowed = query.allowed(name)
    if allowed is None:
        return None
    values = [v for v in allowed if v is not None]
    if not allowed:  # none of no values: nothing matches
        return {"bool": {"must_not": [{"match_all": {}}]}}
    field = es_field(name)
    clauses: list[dict[str, Any]] = []
    if values:
        clauses.append({"terms": {field: values}})
    if None in allowed:
        clauses.append({"bool": {"must_not": [{"exists": {"field": field}}]}})
    if len(clauses) == 1:
        return clauses[0]
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _reason(result: Mapping[str, Any]) -> str:
    error = result.get("error")
    status = result.get("status")
    if isinstance(error, Mapping):
        return f"{error.get('type', 'error')}: {error.get('reason', '')} (status {status})"
    return f"{error or 'refused'} (status {status})"


def _search_error(what: str, error: Exception) -> SearchError:
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    return SearchError(f"Elasticsearch: cannot {what}: {type(error).__name__}: {message[:300]}")
