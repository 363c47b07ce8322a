"""The pipeline with a live X source pointed at a local fake X API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cli import main
from core.config import load_config
from core.errors import ListenerAuthError
from services import pipeline, search
from services.runtime import open_store
from tests.conftest import write_config

CANARY = "AAAAcanary-pipeline-token-0c1d2e3f"


def tweet(tweet_id: int, text: str) -> dict:
    return {
        "id": str(tweet_id),
        "text": text,
        "author_id": "42",
        "created_at": "2026-11-20T09:00:00.000Z",
        "conversation_id": str(tweet_id),
        "lang": "en",
    }


TWEETS = [
    tweet(903, "@HaldenSupport charged twice for Halden+, refund please"),
    tweet(902, "Love my new Aura speaker, recommend it"),
    tweet(901, "Halden app is down again, thermostat not working"),
]
USERS = [
    {"id": "42", "username": "ana_b", "name": "Ana", "public_metrics": {"followers_count": 300}}
]


@pytest.fixture
def x_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer) -> Path:
    monkeypatch.setenv("EARSHOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("EARSHOT_X_BEARER_TOKEN", CANARY)
    source = {
        "name": "x_live",
        "type": "x",
        "network": "x",
        "queries": ["Halden"],
        "base_url": httpserver.url_for("").rstrip("/"),
        "timeout": 2.0,
        "backoff": 0,
    }
    return write_config(tmp_path, sources=[source])


def serve_search(server: HTTPServer, tweets: list[dict]) -> None:
    def handler(request: Request) -> Response:
        since = int(request.args.get("since_id", 0))
        data = [t for t in tweets if int(t["id"]) > since]
        meta = {"result_count": len(data)}
        if data:
            meta |= {"newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}
        return Response(
            json.dumps({"data": data, "includes": {"users": USERS}, "meta": meta}),
            content_type="application/json",
        )

    server.expect_request("/2/tweets/search/recent").respond_with_handler(handler)


def test_live_x_crash_between_fetch_and_commit_loses_and_duplicates_nothing(
    x_config: Path, httpserver: HTTPServer
) -> None:
    serve_search(httpserver, TWEETS)
    config = load_config(x_config)
    run_id = pipeline.start_run(config)
    batch = pipeline.collect(config, "x_live", run_id)
    pipeline.classify(config, batch["batch_id"])
    store = open_store(config)
    assert store.cursors.get("x_live") is None  # the worker dies before store_batch

    assert pipeline.run_once(config)["new_posts"] == 3  # re-read from the old position
    assert store.cursors.get("x_live")["streams"] == {
        "search:Halden -is:retweet": {"since_id": "903"}
    }
    assert store.posts.count() == 3

    assert pipeline.run_once(config)["new_posts"] == 0
    assert httpserver.log[-1][0].args["since_id"] == "903"
    assert {i.decision.queue for i in store.queues.items()} == {"billing", "marketing", "care"}


def test_live_x_compliance_removes_deleted_posts_everywhere(
    x_config: Path, httpserver: HTTPServer
) -> None:
    serve_search(httpserver, TWEETS)
    config = load_config(x_config)
    pipeline.run_once(config)
    store = open_store(config)
    assert [h.post.id for h in search.search(config, "refund")] == ["x:903"]

    httpserver.expect_request("/2/tweets").respond_with_json(
        {
            "data": [tweet(901, "still here") | {"author_id": "42"}],
            "errors": [
                {
                    "resource_id": "903",
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                },
                {
                    "resource_id": "902",
                    "type": "https://api.twitter.com/2/problems/not-authorized-for-resource",
                },
            ],
        }
    )
    result = pipeline.compliance(config, "x_live")
    assert result == {"source": "x_live", "checked": 3, "removed": 2}
    assert store.posts.get("x:903") is None and store.posts.get_enrichment("x:903") is None
    assert search.search(config, "refund") == []
    assert {i.post.id for i in store.queues.items()} == {"x:901"}
    audit = {(r["post_id"], r["reason"]) for r in store.removals.list()}
    assert audit == {("x:903", "deleted"), ("x:902", "author is protected")}
    assert pipeline.compliance(config, "x_live")["removed"] == 0  # already gone; nothing twice


def test_live_x_token_is_not_stored_anywhere(
    x_config: Path, httpserver: HTTPServer, tmp_path: Path
) -> None:
    serve_search(httpserver, TWEETS)
    config = load_config(x_config)
    summary = pipeline.run_once(config)
    assert CANARY not in json.dumps(summary)
    for path in (tmp_path / "home").rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


def test_live_x_missing_credentials_is_a_clear_error(
    x_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EARSHOT_X_BEARER_TOKEN")
    config = load_config(x_config)
    with pytest.raises(ListenerAuthError, match=r"x_default.*EARSHOT_X_BEARER_TOKEN"):
        pipeline.collect(config, "x_live", pipeline.start_run(config))


def test_cli_sources_shows_cursor_last_success_and_gaps(
    x_config: Path, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_search(httpserver, TWEETS)
    config = load_config(x_config)
    pipeline.run_once(config)
    store = open_store(config)
    cursor = store.cursors.get("x_live")
    cursor["last_success"] = "2026-11-01T08:00:00+00:00"
    cursor["gaps"] = [
        {
            "from": "2026-10-20T00:00:00+00:00",
            "to": "2026-10-24T00:00:00+00:00",
            "reason": "worker down",
        }
    ]
    store.cursors.set("x_live", cursor)

    assert main(["--config", str(x_config), "sources"]) == 0
    out = capsys.readouterr().out
    assert "x_live (x, x)" in out
    assert "cursor search:Halden -is:retweet: {'since_id': '903'}" in out
    assert "last success: 2026-11-01T08:00:00+00:00" in out
    assert "GAP 2026-10-20T00:00:00+00:00 .. 2026-10-24T00:00:00+00:00: worker down" in out
    assert "GAP (open): last success" in out and "older than X's 7-day search window" in out

    assert main(["--config", str(x_config), "sources", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["name"] == "x_live" and len(row["gaps"]) == 1


class RecordingStats:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, dict]] = []

    def incr(self, name: str, count: int = 1, tags: dict | None = None) -> None:
        self.calls.append((name, count, tags or {}))


def test_live_x_gap_is_counted_as_a_metric(
    x_config: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services import metrics

    serve_search(httpserver, TWEETS)
    stats = RecordingStats()
    monkeypatch.setattr(metrics, "_stats", lambda: stats)
    config = load_config(x_config)
    store = open_store(config)
    store.cursors.set(
        "x_live", {"streams": {}, "last_success": "2026-10-01T00:00:00+00:00", "gaps": []}
    )
    batch = pipeline.collect(config, "x_live", pipeline.start_run(config))
    assert batch["new_gaps"] == 1
    assert ("earshot.coverage_gaps", 1, {"source": "x_live"}) in stats.calls
    assert ("earshot.posts_fetched", 3, {"source": "x_live"}) in stats.calls


def test_credentials_come_from_airflow_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    from listeners.reddit import reddit_credentials
    from listeners.x import x_bearer_token

    monkeypatch.setenv(
        "AIRFLOW_CONN_X_DEFAULT",
        json.dumps({"conn_type": "generic", "password": "from-connection"}),
    )
    monkeypatch.setenv("EARSHOT_X_BEARER_TOKEN", "from-environment")
    monkeypatch.setenv(
        "AIRFLOW_CONN_REDDIT_DEFAULT",
        json.dumps(
            {
                "conn_type": "generic",
                "login": "cid",
                "password": "secret",
                "extra": {"user_agent": "earshot-test/1"},
            }
        ),
    )
    assert x_bearer_token() == "from-connection"
    assert reddit_credentials() == ("cid", "secret", "earshot-test/1")
