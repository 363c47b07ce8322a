"""The Reddit listener (praw) against a local server that speaks Reddit's JSON."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from core.errors import ListenerAuthError, ListenerError, RateLimited
from core.timeutil import to_iso
from listeners.reddit import RedditListener

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SECRET = "canary-reddit-secret-51c9e2"
TOKEN = {
    "access_token": "fake-access-token",
    "token_type": "bearer",
    "expires_in": 86400,
    "scope": "*",
}


def submission(
    n: int, *, author: str = "quietkettle", selftext: str = "Heating is off since E43"
) -> dict:
    return {
        "kind": "t3",
        "data": {
            "id": f"s{n}",
            "name": f"t3_s{n}",
            "title": f"Therma problem number {n}",
            "selftext": selftext,
            "author": author,
            "author_fullname": f"t2_{author}",
            "subreddit": "HaldenHome",
            "created_utc": NOW.timestamp() - 10_000 + n,
            "permalink": f"/r/HaldenHome/comments/s{n}/therma/",
            "score": 3,
            "num_comments": 0,
        },
    }


def comment(
    n: int,
    *,
    body: str = "Pull the receiver batteries for 30 seconds",
    author: str = "thermostat_wizard",
) -> dict:
    return {
        "kind": "t1",
        "data": {
            "id": f"c{n}",
            "name": f"t1_c{n}",
            "body": body,
            "author": author,
            "author_fullname": f"t2_{author}",
            "subreddit": "HaldenHome",
            "link_id": "t3_s1",
            "parent_id": "t3_s1",
            "created_utc": NOW.timestamp() - 5_000 + n,
            "permalink": f"/r/HaldenHome/comments/s1/therma/c{n}/",
            "score": 5,
        },
    }


def listing(children: list[dict], after: str | None = None) -> dict:
    return {
        "kind": "Listing",
        "data": {"after": after, "before": None, "dist": len(children), "children": children},
    }


def paged_listing(children: list[dict], size: int = 100):
    """Serve ``children`` (newest first) 100 at a time, following ``after``."""

    def handler(request: Request) -> Response:
        after = request.args.get("after")
        start = (
            0
            if after is None
            else next(i for i, c in enumerate(children) if c["data"]["name"] == after) + 1
        )
        chunk = children[start : start + size]
        more = start + size < len(children)
        return Response(
            json.dumps(listing(chunk, chunk[-1]["data"]["name"] if more and chunk else None)),
            content_type="application/json",
        )

    return handler


@pytest.fixture
def reddit_server(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/api/v1/access_token", method="POST").respond_with_json(TOKEN)
    return httpserver


def make_listener(server: HTTPServer, **options) -> RedditListener:
    url = server.url_for("").rstrip("/")
    defaults = {
        "name": "reddit_live",
        "client_id": "fake-client-id",
        "client_secret": SECRET,
        "user_agent": "earshot-tests/0.1 by earshot",
        "subreddits": ["HaldenHome"],
        "oauth_url": url,
        "reddit_url": url,
        "timeout": (1.0, 0.3),
        "clock": lambda: NOW,
    }
    return RedditListener(**(defaults | options))


def serve_subreddit(server: HTTPServer, submissions: list[dict], comments: list[dict]) -> None:
    server.expect_request("/r/HaldenHome/new").respond_with_handler(paged_listing(submissions))
    server.expect_request("/r/HaldenHome/comments/").respond_with_handler(paged_listing(comments))


def test_reddit_reads_new_submissions_and_comments(reddit_server: HTTPServer) -> None:
    serve_subreddit(reddit_server, [submission(2), submission(1)], [comment(1)])
    fetch = make_listener(reddit_server).fetch(None)
    assert [p.id for p in fetch.posts] == ["reddit:t3_s2", "reddit:t3_s1", "reddit:t1_c1"]
    reply = fetch.posts[2]
    assert (reply.conversation_id, reply.in_reply_to_id) == ("reddit:t3_s1", "reddit:t3_s1")
    assert reply.author.handle == "thermostat_wizard"
    assert fetch.cursor["streams"]["r/HaldenHome:submissions"] == {
        "fullname": "t3_s2",
        "created_utc": NOW.timestamp() - 10_000 + 2,
    }
    token_request = reddit_server.log[0][0]
    assert (
        token_request.path == "/api/v1/access_token"
        and "client_credentials" in token_request.get_data(as_text=True)
    )


def test_reddit_resumes_at_the_created_utc_watermark(reddit_server: HTTPServer) -> None:
    serve_subreddit(reddit_server, [submission(2), submission(1)], [comment(1)])
    first = make_listener(reddit_server).fetch(None)
    reddit_server.clear()
    reddit_server.expect_request("/api/v1/access_token", method="POST").respond_with_json(TOKEN)
    # The item the cursor points at was deleted since; a newer one arrived.
    serve_subreddit(reddit_server, [submission(3), submission(1)], [comment(2), comment(1)])
    second = make_listener(reddit_server).fetch(first.cursor)
    assert [p.id for p in second.posts] == ["reddit:t3_s3", "reddit:t1_c2"]


def test_reddit_site_wide_search(reddit_server: HTTPServer) -> None:
    reddit_server.expect_request("/r/all/search/").respond_with_handler(
        paged_listing([submission(7)])
    )
    fetch = make_listener(reddit_server, subreddits=[], search=["halden"]).fetch(None)
    assert [p.id for p in fetch.posts] == ["reddit:t3_s7"]
    search = next(r for r, _ in reddit_server.log if r.path == "/r/all/search/")
    assert (search.args["q"], search.args["sort"]) == ("halden", "new")


def test_reddit_skips_content_deleted_before_collection(reddit_server: HTTPServer) -> None:
    serve_subreddit(
        reddit_server,
        [submission(2, author="[deleted]"), submission(1)],
        [comment(1, body="[removed]")],
    )
    fetch = make_listener(reddit_server).fetch(None)
    assert [p.id for p in fetch.posts] == ["reddit:t3_s1"]


def test_reddit_records_a_gap_when_backlog_exceeds_the_listing(reddit_server: HTTPServer) -> None:
    submissions = [
        submission(n) for n in range(2000, 1000, -1)
    ]  # 1,000 items, all newer than the mark
    serve_subreddit(reddit_server, submissions, [])
    cursor = {
        "streams": {
            "r/HaldenHome:submissions": {
                "fullname": "t3_s5",
                "created_utc": NOW.timestamp() - 10_000 + 5,
            }
        }
    }
    fetch = make_listener(reddit_server).fetch(cursor)
    assert len(fetch.posts) == 1000
    (gap,) = fetch.cursor["gaps"]
    assert (
        gap["reason"]
        == "r/HaldenHome:submissions: backlog larger than Reddit's ~1,000-item listing"
    )


def test_reddit_rate_limit_is_recorded_not_slept(reddit_server: HTTPServer) -> None:
    reddit_server.expect_request("/r/HaldenHome/new").respond_with_data(
        "{}",
        status=429,
        headers={
            "x-ratelimit-reset": "420",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": "600",
        },
    )
    started = time.monotonic()
    fetch = make_listener(reddit_server).fetch(None)
    assert time.monotonic() - started < 5
    assert fetch.cursor["rate_limited_until"] == to_iso(NOW + timedelta(seconds=420))
    assert fetch.cursor["last_success"] is None and fetch.cursor["streams"] == {}
    calls = len(reddit_server.log)
    assert make_listener(reddit_server).fetch(fetch.cursor).posts == ()
    assert len(reddit_server.log) == calls


def test_reddit_retries_a_503_then_succeeds(reddit_server: HTTPServer) -> None:
    reddit_server.expect_oneshot_request("/r/HaldenHome/new").respond_with_data("busy", status=503)
    serve_subreddit(reddit_server, [submission(1)], [])
    fetch = make_listener(reddit_server).fetch(None)
    assert [p.id for p in fetch.posts] == ["reddit:t3_s1"]
    statuses = [r.status_code for q, r in reddit_server.log if q.path == "/r/HaldenHome/new"]
    assert statuses == [503, 200]


def test_reddit_hung_connection_times_out(reddit_server: HTTPServer) -> None:
    release = threading.Event()

    def hang(request: Request) -> Response:
        release.wait(timeout=10)
        return Response(json.dumps(listing([])), content_type="application/json")

    reddit_server.expect_request("/r/HaldenHome/new").respond_with_handler(hang)
    with pytest.raises(ListenerError, match="Reddit unreachable on r/HaldenHome:submissions"):
        make_listener(reddit_server).fetch(None)
    release.set()
    deadline = time.monotonic() + 5
    while (
        len([q for q, _ in reddit_server.log if q.path == "/r/HaldenHome/new"]) < 3
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert (
        len([q for q, _ in reddit_server.log if q.path == "/r/HaldenHome/new"]) == 3
    )  # prawcore: 1 + 2 retries


def test_reddit_refused_credentials_fail_fast(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request("/api/v1/access_token", method="POST").respond_with_json(
        {"error": 401, "message": "Unauthorized"}, status=401
    )
    with pytest.raises(ListenerAuthError, match="Reddit refused the credentials") as caught:
        make_listener(httpserver).fetch(None)
    assert len(httpserver.log) == 1
    for text in (caplog.text, str(caught.value), repr(make_listener(httpserver))):
        assert SECRET not in text


def test_reddit_refused_credentials_name_the_source_stream_and_connection(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/api/v1/access_token", method="POST").respond_with_json(
        {"error": 401, "message": "Unauthorized"}, status=401
    )
    with pytest.raises(ListenerAuthError) as caught:
        make_listener(httpserver, connection="reddit_social").fetch(None)
    message = str(caught.value)
    assert message.startswith("reddit_live: Reddit refused the credentials on r/HaldenHome:")
    assert "Airflow connection 'reddit_social'" in message


def test_reddit_compliance_rate_limit_raises_with_the_reset_time(
    reddit_server: HTTPServer,
) -> None:
    reddit_server.expect_request("/api/info/").respond_with_data(
        "{}",
        status=429,
        headers={
            "x-ratelimit-reset": "300",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": "600",
        },
    )
    with pytest.raises(
        RateLimited, match="reddit_live: Reddit rate limit during the compliance check"
    ) as caught:
        make_listener(reddit_server).check(["reddit:t3_s1"])
    assert caught.value.reset_at == NOW + timedelta(seconds=300)


def test_reddit_compliance_finds_deleted_and_removed(reddit_server: HTTPServer) -> None:
    reddit_server.expect_request("/api/info/").respond_with_json(
        listing(
            [
                submission(1),
                comment(2, body="[deleted]", author="[deleted]"),
                submission(3, selftext="[removed]"),
            ]
        )
    )
    removals = make_listener(reddit_server).check(
        ["reddit:t3_s1", "reddit:t1_c2", "reddit:t3_s3", "reddit:t1_c4", "x:1"]
    )
    assert sorted(removals) == [
        ("reddit:t1_c2", "author deleted"),
        ("reddit:t1_c4", "deleted"),
        ("reddit:t3_s3", "removed"),
    ]
    info = next(r for r, _ in reddit_server.log if r.path == "/api/info/")
    assert info.args["id"] == "t3_s1,t1_c2,t3_s3,t1_c4"


def test_reddit_limit_is_honoured_between_streams(reddit_server: HTTPServer) -> None:
    serve_subreddit(reddit_server, [submission(2), submission(1)], [comment(1)])
    listener = make_listener(reddit_server)
    first = listener.fetch(None, limit=2)
    assert [p.id for p in first.posts] == ["reddit:t3_s2", "reddit:t3_s1"] and first.more
    assert set(first.cursor["streams"]) == {"r/HaldenHome:submissions"}
    assert first.cursor["last_success"] is None
    second = listener.fetch(first.cursor, limit=2)
    assert [p.id for p in second.posts] == ["reddit:t1_c1"] and not second.more
    assert second.cursor["last_success"] is not None


def test_reddit_since_stops_a_backfill_at_its_start(reddit_server: HTTPServer) -> None:
    serve_subreddit(reddit_server, [submission(3), submission(2), submission(1)], [])
    since = datetime.fromtimestamp(NOW.timestamp() - 10_000 + 2, tz=UTC)
    fetch = make_listener(reddit_server).fetch(None, since=since)
    assert [p.id for p in fetch.posts] == ["reddit:t3_s3", "reddit:t3_s2"]
