"""A local HTTP server on loopback that answers like Elasticsearch 9 for the calls Earshot
makes, for tests on machines where no Elasticsearch can run.

Faithful, not a yes-machine: it keeps documents in memory per index, resolves aliases, builds
an index from the matching index template and its component templates, rejects what a real
cluster rejects (a field a ``dynamic: strict`` mapping lacks, a value of the wrong type, a
malformed bulk line, an update of a missing document, an unknown query), applies ``terms``,
``term``, ``range``, ``exists``, ``bool`` and ``simple_query_string`` (standard tokenizer,
lowercase and ASCII folding; BM25 scores), sorts as asked, and sends the
``X-Elastic-Product: Elasticsearch`` header the client checks.

Tests can make items fail: ``stub.fail_once[post_id] = 429`` refuses one bulk item once with
``es_rejected_execution_exception``; ``stub.refuse[post_id] = "reason"`` refuses it always
with a ``document_parsing_exception``. ``stub.requests`` records every request (method, path,
body) for golden-file checks.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from core.folding import fold

HEADERS = {
    "X-Elastic-Product": "Elasticsearch",
    "Content-Type": "application/vnd.elasticsearch+json;compatible-with=9",
}


class ApiError(Exception):
    def __init__(self, status: int, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.kind, self.reason = status, kind, reason

    def body(self) -> dict[str, Any]:
        cause = {"type": self.kind, "reason": self.reason}
        return {"error": {"root_cause": [cause], **cause}, "status": self.status}


def analyze(text: str) -> list[str]:
    """The ``earshot_folded`` analyzer: word tokens, lowercased and folded."""
    return re.findall(r"\w+", fold(text))


class Cluster:
    """The state: policies, templates, indices (mappings, aliases, documents)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.policies: dict[str, dict[str, Any]] = {}
        self.components: dict[str, dict[str, Any]] = {}
        self.index_templates: dict[str, dict[str, Any]] = {}
        self.indices: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, str] = {}
        self.fail_once: dict[str, int] = {}
        self.refuse: dict[str, str] = {}
        self.requests: list[tuple[str, str, Any]] = []

    # -- routing --------------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict[str, str], body: bytes) -> Any:
        parts = [unquote(p) for p in path.split("/") if p]
        payload = self._payload(path, body)
        self.requests.append((method, path, payload))
        with self.lock:
            if not parts:
                return 200, {
                    "name": "stub",
                    "cluster_name": "earshot-stub",
                    "version": {"number": "9.1.0", "build_flavor": "default"},
                    "tagline": "You Know, for Search",
                }
            head = parts[0]
            if head == "_ilm" and len(parts) == 3:
                return self._named(self.policies, parts[2], method, payload, "policy")
            if head == "_component_template" and len(parts) == 2:
                return self._component(parts[1], method, payload)
            if head == "_index_template" and len(parts) == 2:
                return self._index_template(parts[1], method, payload)
            if head == "_alias" and len(parts) == 2:
                return (200, {}) if parts[1] in self.aliases else (404, {})
            if head == "_bulk":
                return 200, self._bulk(body)
            if len(parts) == 1:
                return self._index(parts[0], method, payload)
            index = self._resolve(parts[0])
            action = parts[1]
            if action == "_bulk":
                return 200, self._bulk(body, default_index=index)
            if action == "_doc" and len(parts) == 3 and method in ("PUT", "POST"):
                item = self._bulk_item("index", {"_id": parts[2]}, payload, index)
                if "error" in item:
                    raise ApiError(item["status"], item["error"]["type"], item["error"]["reason"])
                return item["status"], item
            if action == "_doc" and len(parts) == 3:
                return self._get(index, parts[2], method)
            if action == "_update" and len(parts) == 3:
                return self._update(index, parts[2], payload)
            if action == "_search":
                return 200, self._search(index, payload or {})
            if action == "_count":
                return 200, {"count": len(self._matching(index, (payload or {}).get("query")))}
            if action == "_refresh":
                return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        raise ApiError(400, "illegal_argument_exception", f"no handler for {method} {path}")

    @staticmethod
    def _payload(path: str, body: bytes) -> Any:
        if not body:
            return None
        if path.endswith("_bulk"):  # recorded line by line (each line is parsed again below)
            try:
                return [json.loads(line) for line in body.decode().split("\n") if line.strip()]
            except ValueError:
                return body.decode(errors="replace")
        try:
            return json.loads(body)
        except ValueError:
            raise ApiError(400, "parse_exception", "request body is not JSON") from None

    def _named(self, store: dict, name: str, method: str, payload: Any, key: str) -> Any:
        if method == "PUT":
            store[name] = payload[key]
            return 200, {"acknowledged": True}
        if name not in store:
            raise ApiError(404, "resource_not_found_exception", f"{key} [{name}] not found")
        return 200, {name: {"version": 1, key: store[name]}}

    def _component(self, name: str, method: str, payload: Any) -> Any:
        if method == "PUT":
            if set(payload) - {"template", "_meta", "version"}:
                raise ApiError(400, "x_content_parse_exception", "unknown component template key")
            self.components[name] = payload
            return 200, {"acknowledged": True}
        if name not in self.components:
            raise ApiError(404, "resource_not_found_exception", f"component template [{name}]")
        return 200, {
            "component_templates": [{"name": name, "component_template": self.components[name]}]
        }

    def _index_template(self, name: str, method: str, payload: Any) -> Any:
        if method == "PUT":
            missing = [c for c in payload.get("composed_of", []) if c not in self.components]
            if missing:
                raise ApiError(
                    400,
                    "invalid_index_template_exception",
                    f"missing component templates {missing}",
                )
            self.index_templates[name] = payload
            return 200, {"acknowledged": True}
        if name not in self.index_templates:
            raise ApiError(404, "resource_not_found_exception", f"index template [{name}]")
        return 200, {
            "index_templates": [{"name": name, "index_template": self.index_templates[name]}]
        }

    # -- indices ----------------------------------------------------------------------------

    def _index(self, name: str, method: str, payload: Any) -> Any:
        if method == "PUT":
            if name in self.indices or name in self.aliases:
                raise ApiError(400, "resource_already_exists_exception", f"index [{name}] exists")
            mappings: dict[str, Any] = {}
            for template in self.index_templates.values():
                if any(
                    re.fullmatch(p.replace("*", ".*"), name) for p in template["index_patterns"]
                ):
                    for component in template.get("composed_of", []):
                        body = self.components[component]["template"]
                        mappings.update(body.get("mappings", {}))
            self.indices[name] = {"mappings": mappings, "docs": {}}
            for alias in (payload or {}).get("aliases", {}):
                self.aliases[alias] = name
            return 200, {"acknowledged": True, "index": name}
        if method == "DELETE":
            index = self._resolve(name)
            del self.indices[index]
            for alias in [a for a, i in self.aliases.items() if i == index]:
                del self.aliases[alias]
            return 200, {"acknowledged": True}
        if name in self.indices or name in self.aliases:
            index = self._resolve(name)
            return 200, {index: {"mappings": self.indices[index]["mappings"]}}
        raise ApiError(404, "index_not_found_exception", f"no such index [{name}]")

    def _resolve(self, name: str) -> str:
        index = self.aliases.get(name, name)
        if index not in self.indices:
            raise ApiError(404, "index_not_found_exception", f"no such index [{name}]")
        return index

    def _check(
        self, index: str, source: dict[str, Any], properties: dict[str, Any] | None = None
    ) -> None:
        """What a strict mapping refuses (objects are checked field by field, strictly too)."""
        if properties is None:
            properties = self.indices[index]["mappings"].get("properties", {})
        strict = self.indices[index]["mappings"].get("dynamic") == "strict"
        for field, value in source.items():
            spec = properties.get(field)
            if spec is None:
                if strict:
                    raise ApiError(
                        400,
                        "strict_dynamic_mapping_exception",
                        f"[1:2] mapping set to strict, dynamic introduction of [{field}]"
                        " within [_doc] is not allowed",
                    )
                continue
            if value is None:
                continue
            kind = spec.get("type", "object")
            if kind == "object":
                if not isinstance(value, dict):
                    raise ApiError(
                        400,
                        "document_parsing_exception",
                        f"[1:2] object mapping for [{field}] tried to parse a non-object value",
                    )
                self._check(index, value, spec.get("properties", {}))
                continue
            values = value if isinstance(value, list) else [value]
            for item in values:
                ok = {
                    "keyword": isinstance(item, str),
                    "text": isinstance(item, str),
                    "boolean": isinstance(item, bool),
                    "date": isinstance(item, str) and _date(item) is not None,
                    "integer": isinstance(item, int) and not isinstance(item, bool),
                    "float": isinstance(item, int | float) and not isinstance(item, bool),
                }.get(kind, True)
                if not ok:
                    raise ApiError(
                        400,
                        "document_parsing_exception",
                        f"[1:2] failed to parse field [{field}] of type [{kind}]",
                    )

    def _bulk(self, body: bytes, default_index: str | None = None) -> dict[str, Any]:
        lines = [line for line in body.decode("utf-8").split("\n") if line.strip()]
        items: list[dict[str, Any]] = []
        i = 0
        while i < len(lines):
            try:
                action = json.loads(lines[i])
                ((op, meta),) = action.items()
            except (ValueError, AttributeError):
                raise ApiError(
                    400, "illegal_argument_exception", f"Malformed action/metadata line [{i + 1}]"
                ) from None
            if op not in ("index", "create", "delete", "update"):
                raise ApiError(400, "illegal_argument_exception", f"unknown action [{op}]")
            source = None
            if op != "delete":
                if i + 1 >= len(lines):
                    raise ApiError(400, "illegal_argument_exception", "missing source line")
                source = json.loads(lines[i + 1])
                i += 1
            i += 1
            items.append({op: self._bulk_item(op, meta, source, default_index)})
        return {
            "took": 1,
            "errors": any("error" in next(iter(x.values())) for x in items),
            "items": items,
        }

    def _bulk_item(
        self, op: str, meta: dict[str, Any], source: Any, default_index: str | None
    ) -> dict[str, Any]:
        doc_id = meta.get("_id")
        result: dict[str, Any] = {"_id": doc_id}
        try:
            index = self._resolve(meta.get("_index") or default_index or "")
            result["_index"] = index
            docs = self.indices[index]["docs"]
            if doc_id in self.fail_once:
                status = self.fail_once.pop(doc_id)
                raise ApiError(status, "es_rejected_execution_exception", "queue is full")
            if doc_id in self.refuse:
                raise ApiError(400, "document_parsing_exception", self.refuse[doc_id])
            if op == "delete":
                if doc_id not in docs:
                    return {**result, "status": 404, "result": "not_found"}
                del docs[doc_id]
                return {**result, "status": 200, "result": "deleted"}
            self._check(index, source)
            created = doc_id not in docs
            docs[doc_id] = source
            return {
                **result,
                "status": 201 if created else 200,
                "result": "created" if created else "updated",
            }
        except ApiError as e:
            return {**result, "status": e.status, "error": {"type": e.kind, "reason": e.reason}}

    def _get(self, index: str, doc_id: str, method: str) -> Any:
        docs = self.indices[index]["docs"]
        if doc_id not in docs:
            return 404, {"_index": index, "_id": doc_id, "found": False}
        return 200, {"_index": index, "_id": doc_id, "found": True, "_source": docs[doc_id]}

    def _update(self, index: str, doc_id: str, payload: Any) -> Any:
        docs = self.indices[index]["docs"]
        if doc_id not in docs:
            raise ApiError(404, "document_missing_exception", f"[{doc_id}]: document missing")
        if set(payload) - {"doc"}:
            raise ApiError(400, "x_content_parse_exception", "unknown update key")
        self._check(index, payload["doc"])
        docs[doc_id] = {**docs[doc_id], **payload["doc"]}
        return 200, {"_index": index, "_id": doc_id, "result": "updated"}

    # -- search -----------------------------------------------------------------------------

    def _matching(self, index: str, query: Any) -> list[tuple[str, dict[str, Any], float]]:
        docs = self.indices[index]["docs"]
        scorer = _Bm25(docs)
        found = []
        for doc_id, source in docs.items():
            matched, score = _evaluate(query or {"match_all": {}}, source, scorer)
            if matched:
                found.append((doc_id, source, score))
        return found

    def _search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        unknown = set(body) - {"query", "sort", "from", "size", "track_total_hits"}
        if unknown:
            raise ApiError(400, "parsing_exception", f"unknown key {sorted(unknown)} in search")
        found = self._matching(index, body.get("query"))
        for spec in reversed(body.get("sort", [])):
            ((field, order),) = spec.items()
            found.sort(key=lambda f, k=field: _sort_key(f, k), reverse=order == "desc")
        start, size = body.get("from", 0), body.get("size", 10)
        scored = any("_score" in spec for spec in body.get("sort", []))
        hits = [
            {"_index": index, "_id": doc_id, "_score": score if scored else None, "_source": source}
            for doc_id, source, score in found[start : start + size]
        ]
        return {"took": 1, "timed_out": False, "hits": {"hits": hits}}


def _date(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _value(source: dict[str, Any], field: str) -> Any:
    """A field's value by its dotted name (``author.id``)."""
    value: Any = source
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _sort_key(found: tuple[str, dict[str, Any], float], field: str) -> Any:
    _doc_id, source, score = found
    if field == "_score":
        return score
    value = _value(source, field)
    if field == "created_at":
        return _date(value) if isinstance(value, str) else datetime.min
    return "" if value is None else value


class _Bm25:
    def __init__(self, docs: dict[str, dict[str, Any]]) -> None:
        self.tokens = {i: analyze(d.get("text") or "") for i, d in docs.items()}
        self.n = len(docs)
        self.avg = sum(map(len, self.tokens.values())) / self.n if self.n else 0.0
        self.df: dict[str, int] = {}
        for tokens in self.tokens.values():
            for term in set(tokens):
                self.df[term] = self.df.get(term, 0) + 1

    def score(self, tokens: list[str], terms: list[str]) -> float:
        total = 0.0
        for term in terms:
            tf = tokens.count(term)
            df = self.df.get(term, 0)
            idf = math.log(1 + (self.n - df + 0.5) / (df + 0.5))
            norm = 1.2 * (1 - 0.75 + 0.75 * len(tokens) / (self.avg or 1))
            total += idf * tf * 2.2 / (tf + norm)
        return total


def _evaluate(query: dict[str, Any], source: dict[str, Any], bm25: _Bm25) -> tuple[bool, float]:
    ((kind, spec),) = query.items()
    if kind == "match_all":
        return True, 1.0
    if kind == "bool":
        unknown = set(spec) - {"filter", "must", "must_not", "should", "minimum_should_match"}
        if unknown:
            raise ApiError(400, "parsing_exception", f"[bool] unknown keys {sorted(unknown)}")
        score = 0.0
        for clause in spec.get("filter", []):
            if not _evaluate(clause, source, bm25)[0]:
                return False, 0.0
        for clause in spec.get("must", []):
            ok, s = _evaluate(clause, source, bm25)
            if not ok:
                return False, 0.0
            score += s
        for clause in spec.get("must_not", []):
            if _evaluate(clause, source, bm25)[0]:
                return False, 0.0
        should = spec.get("should", [])
        if should:
            hits = [_evaluate(c, source, bm25) for c in should]
            if sum(ok for ok, _ in hits) < spec.get("minimum_should_match", 1):
                return False, 0.0
            score += sum(s for ok, s in hits if ok)
        return True, score if spec.get("must") else 0.0
    if kind in ("terms", "term"):
        ((field, wanted),) = spec.items()
        wanted = (
            wanted if kind == "terms" else [wanted["value"] if isinstance(wanted, dict) else wanted]
        )
        value = _value(source, field)
        values = value if isinstance(value, list) else [value]
        return any(v in wanted for v in values if v is not None), 0.0
    if kind == "exists":
        value = _value(source, spec["field"])
        return value is not None and value != [], 0.0
    if kind == "range":
        ((field, bounds),) = spec.items()
        value = _date(_value(source, field) or "")
        if value is None:
            return False, 0.0
        checks = {"gte": value.__ge__, "gt": value.__gt__, "lte": value.__le__, "lt": value.__lt__}
        return all(checks[op](_date(bound)) for op, bound in bounds.items()), 0.0
    if kind == "simple_query_string":
        if spec.get("flags") != "NONE" or spec.get("default_operator") != "and":
            raise ApiError(400, "parsing_exception", "the stub only knows flags NONE, operator and")
        terms = analyze(spec["query"])
        tokens = analyze(source.get("text") or "")
        if not terms or any(t not in tokens for t in terms):
            return False, 0.0
        return True, bm25.score(tokens, terms)
    raise ApiError(400, "parsing_exception", f"unknown query [{kind}]")


class _Handler(BaseHTTPRequestHandler):
    cluster: Cluster

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _serve(self) -> None:
        split = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(split.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            status, payload = self.cluster.handle(self.command, split.path, params, body)
        except ApiError as e:
            status, payload = e.status, e.body()
        data = b"" if self.command == "HEAD" else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in HEADERS.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve


@contextmanager
def running_stub() -> Iterator[tuple[str, Cluster]]:
    """Serve a fresh cluster on a free loopback port; yields its URL and its state."""
    cluster = Cluster()
    handler = type("Handler", (_Handler,), {"cluster": cluster})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", cluster
    finally:
        server.shutdown()
        server.server_close()
