"""The X listener against a local server that speaks the X API v2 (never the real one)."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from core.errors import ListenerAuthError, ListenerError, RateLimited
from core.timeutil import to_iso
from listeners.x import XListener

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CANARY = "AAAAcanary-bearer-token-7f3e9b1d-do-not-log"
SEARCH = "/2/tweets/search/recent"


def tweet(tweet_id: int, text: str = "@HaldenSupport my order is late") -> dict:
    return {
        "id": str(tweet_id),
        "text": text,
        "author_id": "42",
        "created_at": "2026-11-20T09:00:00.000Z",
        "conversation_id": str(tweet_id),
        "lang": "en",
        "public_metrics": {"retweet_count": 0, "reply_count": 1, "like_count": 2, "quote_count": 0},
    }


USERS = [
    {
        "id": "42",
        "username": "ana_b",
        "name": "Ana",
        "verified": False,
        "public_metrics": {"followers_count": 900},
    }
]


def page(ids: list[int], next_token: str | None = None) -> dict:
    meta: dict = {"result_count": len(ids)}
    if ids:
        meta |= {"newest_id": str(max(ids)), "oldest_id": str(min(ids))}
    if next_token:
        meta["next_token"] = next_token
    return (
        {"data": [tweet(i) for i in ids], "includes": {"users": USERS}, "meta": meta}
        if ids
        else {"meta": meta}
    )


def paged(pages: dict[str | None, dict]):
    """A handler that serves ``pages`` keyed by the request's next_token."""

    def handler(request: Request) -> Response:
        body = pages[request.args.get("next_token")]
        return Response(json.dumps(body), content_type="application/json")

    return handler


def make_listener(server: HTTPServer, **options) -> XListener:
    defaults = {
        "name": "x_live",
        "bearer_token": CANARY,
        "queries": ["Halden"],
        "base_url": server.url_for("").rstrip("/"),
        "timeout": (1.0, 0.5),
        "backoff": 0,
        "clock": lambda: NOW,
    }
    return XListener(**(defaults | options))


def test_x_pages_through_results_and_keeps_includes(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SEARCH).respond_with_handler(
        paged({None: page([105, 104, 103], "p2"), "p2": page([102, 101])})
    )
    fetch = make_listener(httpserver).fetch(None)
    assert [p.id for p in fetch.posts] == ["x:105", "x:104", "x:103", "x:102", "x:101"]
    assert fetch.posts[0].author.handle == "ana_b" and fetch.posts[0].author.followers == 900
    assert fetch.cursor["streams"] == {"search:Halden -is:retweet": {"since_id": "105"}}
    assert fetch.cursor["last_success"] == to_iso(NOW)

    first, second = (request for request, _ in httpserver.log)
    assert first.args["query"] == "Halden -is:retweet"
    assert first.args["expansions"] == "author_id"
    assert set(first.args["tweet.fields"].split(",")) >= {
        "conversation_id",
        "created_at",
        "lang",
        "public_metrics",
        "referenced_tweets",
        "in_reply_to_user_id",
    }
    assert set(first.args["user.fields"].split(",")) >= {"public_metrics", "verified", "username"}
    assert "since_id" not in first.args and first.args["start_time"].startswith("2026-11-13T12:01")
    assert first.headers["Authorization"] == f"Bearer {CANARY}"
    assert second.args["next_token"] == "p2"


def test_x_resumes_from_since_id(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SEARCH).respond_with_handler(paged({None: page([110, 109])}))
    fetch = make_listener(httpserver).fetch(
        {
            "streams": {"search:Halden -is:retweet": {"since_id": "108"}},
            "last_success": (NOW - timedelta(minutes=15)).isoformat(),
        }
    )
    ((request, _),) = httpserver.log
    assert request.args["since_id"] == "108" and "start_time" not in request.args
    assert fetch.cursor["streams"]["search:Halden -is:retweet"] == {"since_id": "110"}


def test_x_mentions_timeline_of_brand_accounts(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/2/users/777/mentions").respond_with_handler(
        lambda request: Response(
            json.dumps(page([301] if "pagination_token" not in request.args else [])),
            content_type="application/json",
        )
    )
    fetch = make_listener(httpserver, queries=[], accounts=["777"]).fetch(None)
    assert [p.id for p in fetch.posts] == ["x:301"]
    assert fetch.cursor["streams"] == {"mentions:777": {"since_id": "301"}}


def test_x_rate_limit_stops_without_sleeping_and_keeps_position(httpserver: HTTPServer) -> None:
    reset = int((NOW + timedelta(minutes=12)).timestamp())
    pages = paged({None: page([205, 204], "p2"), "p2": page([203])})
    limited = []

    def limited_on_page_two(request: Request) -> Response:
        if request.args.get("next_token") == "p2" and not limited:
            limited.append(request)
            return Response("{}", status=429, headers={"x-rate-limit-reset": str(reset)})
        return pages(request)

    httpserver.expect_request(SEARCH).respond_with_handler(limited_on_page_two)
    listener = make_listener(httpserver)
    started = time.monotonic()
    fetch = listener.fetch({"streams": {"search:Halden -is:retweet": {"since_id": "200"}}})
    assert time.monotonic() - started < 5  # no 15-minute sleep in a worker
    assert [p.id for p in fetch.posts] == [
        "x:205",
        "x:204",
    ]  # kept; upserts make a re-read harmless
    assert fetch.cursor["rate_limited_until"] == to_iso(datetime.fromtimestamp(reset, tz=UTC))
    assert fetch.cursor["streams"]["search:Halden -is:retweet"] == {
        "since_id": "200"
    }  # not advanced
    assert fetch.cursor["last_success"] is None

    calls = len(httpserver.log)
    skipped = listener.fetch(fetch.cursor)
    assert skipped.posts == () and len(httpserver.log) == calls  # waits for the reset, asks nothing

    later = make_listener(httpserver, clock=lambda: NOW + timedelta(minutes=13))
    resumed = later.fetch(fetch.cursor)
    assert resumed.cursor["rate_limited_until"] is None
    assert [p.id for p in resumed.posts] == ["x:205", "x:204", "x:203"]
    assert resumed.cursor["streams"]["search:Halden -is:retweet"] == {"since_id": "205"}
    assert httpserver.log[-1][0].args["since_id"] == "200"


def test_x_retries_a_503_then_succeeds(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(SEARCH).respond_with_data("busy", status=503)
    httpserver.expect_request(SEARCH).respond_with_handler(paged({None: page([401])}))
    fetch = make_listener(httpserver).fetch(None)
    assert [p.id for p in fetch.posts] == ["x:401"]
    assert [r.status_code for _, r in httpserver.log] == [503, 200]


def test_x_gives_up_after_bounded_5xx_retries(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SEARCH).respond_with_data("down", status=502)
    with pytest.raises(
        ListenerError, match="x_live: X API error on search:Halden -is:retweet: 502"
    ):
        make_listener(httpserver, retries=2).fetch(None)
    assert len(httpserver.log) == 3  # the first try and two retries


def test_x_hung_connection_times_out(httpserver: HTTPServer) -> None:
    release = threading.Event()

    def hang(request: Request) -> Response:
        release.wait(timeout=5)
        return Response(json.dumps(page([1])), content_type="application/json")

    httpserver.expect_request(SEARCH).respond_with_handler(hang)
    started = time.monotonic()
    with pytest.raises(ListenerError, match="X API unreachable on search:Halden -is:retweet"):
        make_listener(httpserver, timeout=(1.0, 0.3), retries=1).fetch(None)
    assert time.monotonic() - started < 4
    # Let the server finish the abandoned requests so they do not spill into the next test.
    release.set()
    deadline = time.monotonic() + 5
    while len(httpserver.log) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(httpserver.log) == 2  # the first try and one retry


def test_x_invalid_token_fails_fast_without_retries(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SEARCH).respond_with_json(
        {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
        status=401,
    )
    with pytest.raises(ListenerAuthError, match="X refused the credentials") as caught:
        make_listener(httpserver).fetch(None)
    assert len(httpserver.log) == 1
    assert CANARY not in str(caught.value)


def test_x_refused_credentials_name_the_source_stream_and_connection(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/2/users/777/mentions").respond_with_data("no", status=403)
    listener = make_listener(httpserver, queries=[], accounts=["777"], connection="x_social")
    with pytest.raises(ListenerAuthError) as caught:
        listener.fetch(None)
    message = str(caught.value)
    assert message.startswith("x_live: X refused the credentials on mentions:777 (403 FORBIDDEN")
    assert "Airflow connection 'x_social'" in message


def test_x_gap_when_last_success_is_older_than_the_search_window(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SEARCH).respond_with_handler(paged({None: page([501])}))
    stale = {
        "streams": {"search:Halden -is:retweet": {"since_id": "10"}},
        "last_success": (NOW - timedelta(days=9)).isoformat(),
    }
    fetch = make_listener(httpserver).fetch(stale)
    (gap,) = fetch.cursor["gaps"]
    assert gap["from"] == to_iso(NOW - timedelta(days=9))
    assert gap["reason"] == "last collection is older than X's 7-day search window"
    ((request, _),) = httpserver.log
    assert "since_id" not in request.args  # X rejects a since_id older than the window


def test_x_gap_when_results_exceed_the_page_limit(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SEARCH).respond_with_handler(
        paged({None: page([9, 8], "p2"), "p2": page([7], "p3")})
    )
    fetch = make_listener(httpserver, max_pages=2).fetch(None)
    assert len(fetch.posts) == 3
    assert "more than 2 pages" in fetch.cursor["gaps"][0]["reason"]


def test_x_bad_tweet_goes_to_dead_letters(httpserver: HTTPServer) -> None:
    body = page([601, 602])
    del body["data"][1]["created_at"]
    httpserver.expect_request(SEARCH).respond_with_json(body)
    fetch = make_listener(httpserver).fetch(None)
    assert [p.id for p in fetch.posts] == ["x:601"]
    (letter,) = fetch.dead_letters
    assert letter.location == "search:Halden -is:retweet page 1 item 1"
    assert "missing required field 'created_at'" in letter.error


def test_x_compliance_finds_deleted_and_protected(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/2/tweets").respond_with_json(
        {
            "data": [
                {"id": "1", "author_id": "42", "text": "still here"},
                {"id": "4", "author_id": "99", "text": "locked"},
            ],
            "includes": {
                "users": [{"id": "42", "protected": False}, {"id": "99", "protected": True}]
            },
            "errors": [
                {
                    "resource_id": "2",
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                    "title": "Not Found Error",
                },
                {
                    "resource_id": "3",
                    "type": "https://api.twitter.com/2/problems/not-authorized-for-resource",
                    "title": "Authorization Error",
                },
            ],
        }
    )
    removals = make_listener(httpserver).check(["x:1", "x:2", "x:3", "x:4", "x:5", "reddit:t3_x"])
    assert sorted(removals) == [
        ("x:2", "deleted"),
        ("x:3", "author is protected"),
        ("x:4", "author is protected"),
        ("x:5", "deleted"),
    ]
    ((request, _),) = httpserver.log
    assert request.args["ids"] == "1,2,3,4,5"


def test_x_compliance_rate_limit_raises_with_the_reset_time(httpserver: HTTPServer) -> None:
    reset = int((NOW + timedelta(minutes=9)).timestamp())
    httpserver.expect_request("/2/tweets").respond_with_data(
        "{}", status=429, headers={"x-rate-limit-reset": str(reset)}
    )
    with pytest.raises(
        RateLimited, match="x_live: X rate limit during the compliance check"
    ) as caught:
        make_listener(httpserver).check(["x:1"])
    assert caught.value.reset_at == datetime.fromtimestamp(reset, tz=UTC)
    assert len(httpserver.log) == 1  # a 429 is never retried by the adapter


def test_x_compliance_server_error_names_the_step(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/2/tweets").respond_with_data("down", status=500)
    with pytest.raises(ListenerError, match="x_live: X API error during the compliance check: 500"):
        make_listener(httpserver, retries=1).check(["x:1"])
    assert len(httpserver.log) == 2  # the first try and one retry


def test_x_compliance_batches_ids_by_100(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/2/tweets").respond_with_handler(
        lambda request: Response(
            json.dumps(
                {"data": [{"id": i, "author_id": "42"} for i in request.args["ids"].split(",")]}
            ),
            content_type="application/json",
        )
    )
    assert make_listener(httpserver).check([f"x:{i}" for i in range(1, 251)]) == []
    assert [len(r.args["ids"].split(",")) for r, _ in httpserver.log] == [100, 100, 50]


def test_x_canary_token_never_reaches_logs_errors_or_cursor(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("tweepy").setLevel(logging.DEBUG)
    httpserver.expect_oneshot_request(SEARCH).respond_with_data("busy", status=503)
    httpserver.expect_request(SEARCH).respond_with_handler(
        paged({None: page([701], "p2"), "p2": page([700])})
    )
    listener = make_listener(httpserver)
    fetch = listener.fetch(None)
    httpserver.clear()
    httpserver.expect_request(SEARCH).respond_with_data("no", status=401)
    with pytest.raises(ListenerAuthError) as caught:
        listener.fetch(None)

    assert "Making API request" in caplog.text  # tweepy did log its request headers at DEBUG
    assert "Bearer ***" in caplog.text
    for text in (
        caplog.text,
        str(caught.value),
        repr(listener),
        json.dumps(fetch.cursor),
        repr(fetch),
    ):
        assert CANARY not in text


def test_x_limit_stops_after_a_page_and_the_next_fetch_resumes_the_same_pages(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(SEARCH).respond_with_handler(
        paged({None: page([106, 105], "p2"), "p2": page([104, 103], "p3"), "p3": page([102])})
    )
    listener = make_listener(httpserver)
    first = listener.fetch(None, limit=2)
    assert [p.id for p in first.posts] == ["x:106", "x:105"] and first.more
    mark = first.cursor["streams"]["search:Halden -is:retweet"]
    assert mark["next_token"] == "p2" and mark["newest"] == "106" and mark["pages"] == 1
    assert first.cursor["last_success"] is None  # the round is not over

    second = listener.fetch(first.cursor, limit=2)
    assert [p.id for p in second.posts] == ["x:104", "x:103"] and second.more
    third = listener.fetch(second.cursor, limit=2)
    assert [p.id for p in third.posts] == ["x:102"] and not third.more
    assert third.cursor["streams"] == {"search:Halden -is:retweet": {"since_id": "106"}}
    assert third.cursor["last_success"] == to_iso(NOW)

    requests = [request for request, _ in httpserver.log]
    assert [r.args.get("next_token") for r in requests] == [None, "p2", "p3"]
    # Every page of one round asks for the same window.
    assert len({(r.args["start_time"], r.args["end_time"]) for r in requests}) == 1


def test_x_limit_counts_pages_across_fetches_towards_max_pages(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SEARCH).respond_with_handler(
        paged({None: page([9, 8], "p2"), "p2": page([7], "p3"), "p3": page([6])})
    )
    listener = make_listener(httpserver, max_pages=2)
    first = listener.fetch(None, limit=1)
    second = listener.fetch(first.cursor, limit=1)
    assert [p.id for p in (*first.posts, *second.posts)] == ["x:9", "x:8", "x:7"]
    assert not second.more
    assert "more than 2 pages" in second.cursor["gaps"][0]["reason"]


def test_x_since_starts_a_backfill_no_earlier_than_the_search_window(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(SEARCH).respond_with_handler(paged({None: page([5])}))
    make_listener(httpserver).fetch(None, since=NOW - timedelta(days=2))
    make_listener(httpserver).fetch(None, since=NOW - timedelta(days=30))
    (recent, _), (old, _) = httpserver.log
    assert recent.args["start_time"].startswith("2026-11-18T12:00")
    assert old.args["start_time"].startswith("2026-11-13T12:01")  # X reaches back 7 days only
