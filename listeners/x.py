"""The live X listener (API v2 through tweepy): recent search and mentions timelines, with
rate limits, coverage gaps and bounded retries, and the compliance check of stored tweets.

Imported only when an X source is configured (see :mod:`listeners.factory`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tweepy

from core import timeutil
from core.config import XSourceConfig
from core.errors import ConfigError, ListenerAuthError, ListenerError, RateLimited
from core.models import DeadLetter, Post
from core.timeutil import from_iso, to_iso
from listeners.base import Fetch, Removal, failure, payload_bytes
from listeners.credentials import x_bearer_token
from listeners.http import DEFAULT_TIMEOUT, ApiAdapter, mount, protect_secret, scrub
from listeners.state import SourceState
from listeners.x_records import normalize_tweet, users_by_id

log = logging.getLogger(__name__)

X_API = "https://api.twitter.com"  # what tweepy's Client hard-codes
SEARCH_WINDOW = timedelta(days=7)
"""Recent search only reaches back seven days; anything older is out of reach for good."""

TWEET_FIELDS = (
    "author_id",
    "conversation_id",
    "created_at",
    "in_reply_to_user_id",
    "lang",
    "public_metrics",
    "referenced_tweets",
)
USER_FIELDS = ("name", "username", "public_metrics", "verified", "protected")
EXPANSIONS = ("author_id",)


class XListener:
    """Collects brand mentions from X: recent search for each query and the mentions timeline
    of each brand account, newest first, page by page, from the last id seen."""

    def __init__(
        self,
        *,
        name: str,
        bearer_token: str,
        queries: Sequence[str] = (),
        accounts: Sequence[str] = (),
        include_retweets: bool = False,
        max_pages: int = 50,
        base_url: str = X_API,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = 3,
        backoff: float = 0.5,
        connection: str = "x_default",
        clock: Callable[[], datetime] = timeutil.now,
    ) -> None:
        if not queries and not accounts:
            raise ConfigError(f"X source {name!r} needs at least one query or account")
        self.name = name
        self.queries = [
            q if include_retweets or "is:retweet" in q else f"{q} -is:retweet" for q in queries
        ]
        self.accounts = [str(a) for a in accounts]
        self.max_pages = max_pages
        self.connection = connection
        self.clock = clock
        self._token = bearer_token
        protect_secret(bearer_token)
        self._adapter = ApiAdapter(
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            rewrite=None if base_url.rstrip("/") == X_API else (X_API, base_url.rstrip("/")),
        )
        self._client: tweepy.Client | None = None

    @classmethod
    def from_config(cls, source: XSourceConfig) -> XListener:
        """The listener for ``source``, its token from :func:`x_bearer_token`."""
        try:
            token = x_bearer_token(source.connection)
        except ListenerAuthError as e:
            raise ListenerAuthError(f"{source.name}: {e}") from None
        return cls(
            name=source.name,
            bearer_token=token,
            queries=source.queries,
            accounts=source.accounts,
            include_retweets=source.include_retweets,
            max_pages=source.max_pages,
            base_url=source.base_url,
            timeout=source.timeout,
            retries=source.retries,
            backoff=source.backoff,
            connection=source.connection,
        )

    def __repr__(self) -> str:  # never show the token
        return (
            f"XListener(name={self.name!r}, queries={self.queries!r}, accounts={self.accounts!r})"
        )

    @property
    def client(self) -> tweepy.Client:
        if self._client is None:
            client = tweepy.Client(
                bearer_token=self._token, return_type=dict, wait_on_rate_limit=False
            )
            mount(client.session, self._adapter)
            self._client = client
        return self._client

    def _streams(self) -> Iterator[tuple[str, Callable[..., Any], dict[str, Any]]]:
        fields = {
            "tweet_fields": list(TWEET_FIELDS),
            "user_fields": list(USER_FIELDS),
            "expansions": list(EXPANSIONS),
            "max_results": 100,
        }
        for query in self.queries:
            yield f"search:{query}", self.client.search_recent_tweets, {"query": query, **fields}
        for account in self.accounts:
            yield f"mentions:{account}", self.client.get_users_mentions, {"id": account, **fields}

    def fetch(
        self,
        cursor: dict[str, Any] | None,
        *,
        until: datetime | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> Fetch:
        """Each stream, newest first, from its last id seen (or from ``since``, at most seven
        days back). With ``limit``, stops after the page that reaches it and keeps that
        stream's next page token, so the next fetch resumes the same stream where it
        stopped (same time window, same pages count towards ``max_pages``)."""
        now = self.clock()
        state = SourceState.from_cursor(cursor)
        if state.rate_limited_until is not None and now < state.rate_limited_until:
            log.warning(
                "%s: rate limited by X until %s; skipping", self.name, state.rate_limited_until
            )
            return Fetch((), (), state.to_cursor())
        state.rate_limited_until = None

        horizon = now - SEARCH_WINDOW + timedelta(minutes=1)
        if state.last_success is not None and state.last_success < horizon:
            state.add_gap(
                state.last_success, horizon, "last collection is older than X's 7-day search window"
            )
            log.error(
                "%s: coverage gap from %s to %s: X search reaches back 7 days only",
                self.name,
                state.last_success,
                horizon,
            )
            state.streams = {}  # since_ids older than the window are rejected by X
        start_time = horizon
        if since is not None:
            if since < horizon:
                log.warning(
                    "%s: X recent search reaches back 7 days only: collecting from %s, not %s",
                    self.name,
                    to_iso(horizon),
                    to_iso(since),
                )
            start_time = max(since, horizon)
        # X wants end_time at least 10 s in the past.
        end_time = min(until or now, now - timedelta(seconds=15))

        posts: list[Post] = []
        letters: list[DeadLetter] = []
        more = False
        for key, method, params in self._streams():
            mark = state.streams.get(key, {})
            since_id = mark.get("since_id")
            resume = mark.get("next_token")
            if since_id:
                params["since_id"] = since_id
            else:
                params["start_time"] = from_iso(mark.get("start_time")) if resume else start_time
            params["end_time"] = from_iso(mark.get("end_time")) if resume else end_time
            newest = int(mark.get("newest") or since_id or 0) if resume else int(since_id or 0)
            done_pages = int(mark.get("pages") or 0) if resume else 0
            page_no = done_pages
            stopped = None
            try:
                pages_iter = iter(
                    tweepy.Paginator(
                        method, limit=self.max_pages - done_pages, pagination_token=resume, **params
                    )
                )
                for page_no, page in enumerate(pages_iter, start=done_pages + 1):
                    users = users_by_id(page)
                    data = page.get("data") or []
                    for index, tweet in enumerate(data if isinstance(data, list) else [data]):
                        try:
                            posts.append(normalize_tweet(tweet, users))
                        except Exception as e:  # one record's fault: dead-letter it, go on
                            where = f"{key} page {page_no} item {index}"
                            letters.append(
                                DeadLetter(
                                    self.name, where, f"{where}: {failure(e)}", payload_bytes(tweet)
                                )
                            )
                    meta = page.get("meta") or {}
                    newest_id = meta.get("newest_id") if isinstance(meta, dict) else None
                    if isinstance(newest_id, str) and newest_id.isascii() and newest_id.isdigit():
                        newest = max(newest, int(newest_id))
                    if (
                        limit is not None
                        and len(posts) >= limit
                        and page_no < self.max_pages
                        and pages_iter.next_token is not None
                    ):
                        stopped = pages_iter.next_token
                        break
                truncated = page_no == self.max_pages and pages_iter.next_token is not None
            except tweepy.TooManyRequests as e:
                state.rate_limited_until = _reset_time(e, now + timedelta(minutes=15))
                log.warning(
                    "%s: X rate limit hit on %s; resuming after %s (kept %d posts fetched so far)",
                    self.name,
                    key,
                    state.rate_limited_until,
                    len(posts),
                )
                break  # this stream and the rest keep their old position
            except (tweepy.HTTPException, requests.RequestException) as e:
                raise self._error(e, f"on {key}") from None
            if stopped is not None:  # the limit: resume this stream here next time
                state.streams[key] = {
                    **({"since_id": since_id} if since_id else {}),
                    "next_token": stopped,
                    "newest": str(newest),
                    "pages": page_no,
                    "start_time": to_iso(params.get("start_time")),
                    "end_time": to_iso(params["end_time"]),
                }
                more = True
                break
            if truncated:
                state.add_gap(
                    horizon, now, f"more than {self.max_pages} pages for {key}; older ones skipped"
                )
            if newest:
                state.streams[key] = {"since_id": str(newest)}
            else:
                state.streams.pop(key, None)  # nothing seen yet: start from the window again
        if state.rate_limited_until is None and not more:
            state.last_success = now
        return Fetch(tuple(posts), tuple(letters), state.to_cursor(), more=more)

    def check(self, post_ids: Sequence[str]) -> list[Removal]:
        """Ask X which stored tweets were deleted or became protected (100 ids a request)."""
        ids = [pid.removeprefix("x:") for pid in post_ids if pid.startswith("x:")]
        removals: list[Removal] = []
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            try:
                response: dict[str, Any] = self.client.get_tweets(
                    ids=chunk,
                    expansions=["author_id"],
                    user_fields=["protected"],
                    tweet_fields=["author_id"],
                )
            except tweepy.TooManyRequests as e:
                raise RateLimited(
                    f"{self.name}: X rate limit during the compliance check",
                    _reset_time(e, self.clock()),
                ) from None
            except (tweepy.HTTPException, requests.RequestException) as e:
                raise self._error(e, "during the compliance check") from None
            protected_users = {
                str(u["id"])
                for u in (response.get("includes") or {}).get("users", [])
                if u.get("protected")
            }
            alive = set()
            for tweet in response.get("data") or []:
                if str(tweet.get("author_id")) in protected_users:
                    removals.append(Removal(f"x:{tweet['id']}", "author is protected"))
                alive.add(str(tweet["id"]))
            reasons = {}
            for error in response.get("errors") or []:
                resource = str(error.get("resource_id") or error.get("value") or "")
                kind = str(error.get("type", ""))
                reasons[resource] = "author is protected" if "not-authorized" in kind else "deleted"
            for tweet_id in chunk:
                if tweet_id not in alive:
                    removals.append(Removal(f"x:{tweet_id}", reasons.get(tweet_id, "deleted")))
        return removals

    def _error(
        self, error: tweepy.HTTPException | requests.RequestException, where: str
    ) -> ListenerError:
        """Our error for a failed request (after the adapter's retries), naming the source and
        the stream or step (``where``), never the token. Refused credentials fail fast."""
        if isinstance(error, tweepy.Unauthorized | tweepy.Forbidden):
            return ListenerAuthError(
                f"{self.name}: X refused the credentials {where}"
                f" ({scrub(str(error)).splitlines()[0]}); check the bearer token in the Airflow"
                f" connection {self.connection!r} or EARSHOT_X_BEARER_TOKEN"
            )
        if isinstance(error, tweepy.HTTPException):
            return ListenerError(
                f"{self.name}: X API error {where}: {scrub(str(error)).splitlines()[0]}"
            )
        # Timeouts and refused connections: the type says enough, the text may hold the URL.
        return ListenerError(f"{self.name}: X API unreachable {where}: {type(error).__name__}")


def _reset_time(error: tweepy.TooManyRequests, default: datetime) -> datetime:
    """When X said the rate limit resets (``x-rate-limit-reset``), else ``default``."""
    if error.reset_time:
        return datetime.fromtimestamp(error.reset_time, tz=UTC)
    return default
