"""Reddit (through praw): the live listener and the compliance check."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import prawcore
import requests

from core.config import RedditSourceConfig
from core.errors import ConfigError, ListenerAuthError, ListenerError, RateLimited, RecordError
from core.models import DeadLetter, Post
from listeners.base import Fetch, Removal
from listeners.credentials import airflow_connection
from listeners.http import DEFAULT_TIMEOUT, ApiAdapter, mount, protect_secret, scrub
from listeners.reddit_records import normalize_reddit_thing
from listeners.state import SourceState

log = logging.getLogger(__name__)

LISTING_LIMIT = 1000
"""Reddit listings end after about 1,000 items, however far back they would go."""
GONE = ("[deleted]", "[removed]")
API_ERRORS = (prawcore.PrawcoreException, requests.RequestException)
"""What praw's requests raise: rate limits, refused credentials, 5xx, timeouts."""


def reddit_credentials(connection_id: str = "reddit_default") -> tuple[str, str, str]:
    """``(client_id, client_secret, user_agent)`` from the Airflow connection (login, password,
    extra ``user_agent``), else from ``EARSHOT_REDDIT_CLIENT_ID`` / ``_CLIENT_SECRET`` /
    ``_USER_AGENT``."""
    conn = airflow_connection(connection_id)
    if conn is not None and conn.login and conn.password:
        agent = (conn.extra_dejson or {}).get("user_agent") or "earshot/0.1 (social listening)"
        return str(conn.login), str(conn.password), str(agent)
    client_id = os.environ.get("EARSHOT_REDDIT_CLIENT_ID")
    secret = os.environ.get("EARSHOT_REDDIT_CLIENT_SECRET")
    if not client_id or not secret:
        raise ListenerAuthError(
            f"no Reddit credentials: create the Airflow connection {connection_id!r}"
            " (login = client id, password = secret) or set EARSHOT_REDDIT_CLIENT_ID"
            " and EARSHOT_REDDIT_CLIENT_SECRET"
        )
    agent = os.environ.get("EARSHOT_REDDIT_USER_AGENT", "earshot/0.1 (social listening)")
    return client_id, secret, agent


class _TimeoutRequestor(prawcore.Requestor):
    """praw passes its own whole-second timeout on every request; use ours (connect, read)."""

    def request(self, *args: Any, timeout: Any = None, **kwargs: Any) -> Any:
        return super().request(*args, timeout=self.timeout, **kwargs)


def thing_from_praw(item: Any) -> dict[str, Any]:
    """The listing child a praw Submission or Comment was built from (no extra requests)."""
    data = {k: v for k, v in vars(item).items() if not k.startswith("_")}
    author = data.get("author")
    data["author"] = "[deleted]" if author is None else str(author)
    for key in ("subreddit", "submission"):
        if key in data and not isinstance(data[key], str | int | float | type(None)):
            data[key] = str(data[key])
    kind = item.fullname.split("_", 1)[0]
    data["name"] = item.fullname
    return {"kind": kind, "data": data}


class RedditListener:
    """Collects new submissions and comments from subreddits and site-wide search results,
    newest first, down to the last item seen (by ``created_utc``, since ``before`` silently
    returns nothing when the item it points to was deleted)."""

    def __init__(
        self,
        *,
        name: str,
        client_id: str,
        client_secret: str,
        user_agent: str,
        subreddits: Sequence[str] = (),
        search: Sequence[str] = (),
        oauth_url: str = "https://oauth.reddit.com",
        reddit_url: str = "https://www.reddit.com",
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not subreddits and not search:
            raise ConfigError(f"Reddit source {name!r} needs subreddits or search terms")
        self.name = name
        self.subreddits = list(subreddits)
        self.search = list(search)
        self.clock = clock
        self._credentials = (client_id, client_secret, user_agent)
        self._urls = (oauth_url, reddit_url)
        self._timeout = timeout
        protect_secret(client_secret)
        self._reddit: Any = None

    @classmethod
    def from_config(cls, source: RedditSourceConfig) -> RedditListener:
        client_id, secret, agent = reddit_credentials(source.connection)
        return cls(
            name=source.name,
            client_id=client_id,
            client_secret=secret,
            user_agent=agent,
            subreddits=source.subreddits,
            search=source.search,
            oauth_url=source.oauth_url,
            reddit_url=source.reddit_url,
            timeout=source.timeout,
        )

    def __repr__(self) -> str:
        return (
            f"RedditListener(name={self.name!r}, subreddits={self.subreddits!r},"
            f" search={self.search!r})"
        )

    @property
    def reddit(self) -> Any:
        if self._reddit is None:
            import praw
            import requests

            client_id, secret, agent = self._credentials
            # prawcore retries 5xx and connection errors itself (twice, with backoff); the
            # adapter only adds the timeout.
            session = mount(requests.Session(), ApiAdapter(timeout=self._timeout, retries=0))
            self._reddit = praw.Reddit(
                client_id=client_id,
                client_secret=secret,
                user_agent=agent,
                oauth_url=self._urls[0],
                reddit_url=self._urls[1],
                check_for_updates=False,
                requestor_class=_TimeoutRequestor,
                requestor_kwargs={"session": session, "timeout": self._timeout},
            )
            self._reddit.read_only = True
        return self._reddit

    def _streams(self) -> Iterator[tuple[str, Callable[[], Iterable[Any]]]]:
        for name in self.subreddits:
            sub = self.reddit.subreddit(name)
            yield f"r/{name}:submissions", partial(sub.new, limit=LISTING_LIMIT)
            yield f"r/{name}:comments", partial(sub.comments, limit=LISTING_LIMIT)
        for term in self.search:
            everywhere = self.reddit.subreddit("all")
            yield (
                f"search:{term}",
                partial(everywhere.search, term, sort="new", limit=LISTING_LIMIT),
            )

    def fetch(self, cursor: dict[str, Any] | None, *, until: datetime | None = None) -> Fetch:
        now = self.clock()
        state = SourceState.from_cursor(cursor)
        if state.rate_limited_until is not None and now < state.rate_limited_until:
            log.warning(
                "%s: rate limited by Reddit until %s; skipping", self.name, state.rate_limited_until
            )
            return Fetch((), (), state.to_cursor())
        state.rate_limited_until = None
        posts: list[Post] = []
        letters: list[DeadLetter] = []
        for key, listing in self._streams():
            mark = state.streams.get(key, {})
            since = float(mark.get("created_utc", 0.0))
            newest = dict(mark)
            seen = 0
            reached = False
            try:
                for item in listing():
                    seen += 1
                    created = float(getattr(item, "created_utc", 0.0))
                    if mark and (created < since or item.fullname == mark.get("fullname")):
                        reached = True
                        break
                    if until is not None and created > until.timestamp():
                        continue
                    if created > float(newest.get("created_utc", 0.0)):
                        newest = {"fullname": item.fullname, "created_utc": created}
                    thing = thing_from_praw(item)
                    content = thing["data"].get("body", thing["data"].get("selftext"))
                    if thing["data"]["author"] in GONE or content in GONE:
                        continue  # deleted before we saw it: honour the deletion
                    try:
                        posts.append(normalize_reddit_thing(thing))
                    except RecordError as e:
                        where = f"{key} {item.fullname}"
                        letters.append(
                            DeadLetter(
                                self.name,
                                where,
                                f"{where}: {e}",
                                json.dumps(thing, default=str).encode(),
                            )
                        )
            except API_ERRORS as e:
                self._raise(e, key, state, now)
                break  # rate limited: this stream and the rest keep their position
            if mark and not reached and seen >= LISTING_LIMIT - 50:
                start = datetime.fromtimestamp(since, tz=UTC)
                state.add_gap(
                    start, now, f"{key}: backlog larger than Reddit's ~1,000-item listing"
                )
                log.error(
                    "%s: coverage gap on %s since %s (listing exhausted)", self.name, key, start
                )
            if newest:
                state.streams[key] = newest
        if state.rate_limited_until is None:
            state.last_success = now
        return Fetch(tuple(posts), tuple(letters), state.to_cursor())

    def _raise(self, error: Exception, key: str, state: SourceState, now: datetime) -> None:
        """Turn a prawcore/requests error into ours, or record a rate limit and return."""
        if isinstance(error, prawcore.TooManyRequests):
            seconds = float(error.response.headers.get("x-ratelimit-reset", 600))
            state.rate_limited_until = now + timedelta(seconds=seconds)
            log.warning(
                "%s: Reddit rate limit on %s; resuming after %s",
                self.name,
                key,
                state.rate_limited_until,
            )
            return
        if isinstance(
            error, prawcore.OAuthException | prawcore.InvalidToken | prawcore.Forbidden
        ) or (isinstance(error, prawcore.ResponseException) and error.response.status_code == 401):
            raise ListenerAuthError(
                f"{self.name}: Reddit refused the credentials ({scrub(str(error))}); check the"
                " reddit_default connection or EARSHOT_REDDIT_CLIENT_ID / _SECRET"
            ) from None
        if isinstance(error, prawcore.ServerError | prawcore.ResponseException):
            raise ListenerError(
                f"{self.name}: Reddit API error on {key}: {scrub(str(error))}"
            ) from None
        if isinstance(error, prawcore.RequestException | requests.RequestException):
            raise ListenerError(
                f"{self.name}: Reddit unreachable on {key}: {type(error).__name__}"
            ) from None
        raise error

    def check(self, post_ids: Sequence[str]) -> list[Removal]:
        """Ask Reddit which stored items were deleted or removed (100 fullnames a request)."""
        names = [pid.removeprefix("reddit:") for pid in post_ids if pid.startswith("reddit:")]
        removals: list[Removal] = []
        state = SourceState()
        for start in range(0, len(names), 100):
            chunk = names[start : start + 100]
            alive = {}
            try:
                for item in self.reddit.info(fullnames=chunk):
                    alive[item.fullname] = item
            except API_ERRORS as e:
                self._raise(e, "compliance", state, self.clock())
                assert state.rate_limited_until is not None
                raise RateLimited(
                    f"{self.name}: Reddit rate limit during compliance", state.rate_limited_until
                ) from None
            for name in chunk:
                item = alive.get(name)
                if item is None:
                    removals.append(Removal(f"reddit:{name}", "deleted"))
                    continue
                data = vars(item)
                text = data.get("body", data.get("selftext"))
                if data.get("author") is None:
                    removals.append(Removal(f"reddit:{name}", "author deleted"))
                elif text in GONE or data.get("removed_by_category"):
                    removals.append(
                        Removal(f"reddit:{name}", "removed" if text == "[removed]" else "deleted")
                    )
        return removals
