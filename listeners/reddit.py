"""The live Reddit listener (through praw): new submissions and comments of subreddits and
site-wide search, with rate limits and coverage gaps, and the compliance check of stored items.

Imported only when a Reddit source is configured (see :mod:`listeners.factory`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import prawcore
import requests

from core import timeutil
from core.config import RedditSourceConfig
from core.errors import (
    ConfigError,
    ListenerAuthError,
    ListenerError,
    NotAMention,
    RateLimited,
)
from core.models import DeadLetter, Post
from listeners.base import Fetch, Removal, failure, payload_bytes
from listeners.credentials import reddit_credentials
from listeners.http import DEFAULT_TIMEOUT, ApiAdapter, mount, protect_secret, scrub
from listeners.reddit_records import GONE, normalize_reddit_thing
from listeners.state import SourceState

log = logging.getLogger(__name__)

LISTING_LIMIT = 1000
"""Reddit listings end after about 1,000 items, however far back they would go."""
API_ERRORS = (prawcore.PrawcoreException, requests.RequestException)
"""What praw's requests raise: rate limits, refused credentials, 5xx, timeouts."""
ApiError = prawcore.PrawcoreException | requests.RequestException


class _TimeoutRequestor(prawcore.Requestor):
    """praw passes its own whole-second timeout on every request; use ours (connect, read)."""

    def request(self, *args: Any, timeout: Any = None, **kwargs: Any) -> Any:
        return super().request(*args, timeout=self.timeout, **kwargs)


def _thing_from_praw(item: Any) -> dict[str, Any]:
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
        connection: str = "reddit_default",
        clock: Callable[[], datetime] = timeutil.now,
    ) -> None:
        if not subreddits and not search:
            raise ConfigError(f"Reddit source {name!r} needs subreddits or search terms")
        self.name = name
        self.subreddits = list(subreddits)
        self.search = list(search)
        self.connection = connection
        self.clock = clock
        self._credentials = (client_id, client_secret, user_agent)
        self._urls = (oauth_url, reddit_url)
        self._timeout = timeout
        protect_secret(client_secret)
        self._reddit: Any = None

    @classmethod
    def from_config(cls, source: RedditSourceConfig) -> RedditListener:
        """The listener for ``source``, its credentials from :func:`reddit_credentials`."""
        try:
            client_id, secret, agent = reddit_credentials(source.connection)
        except ListenerAuthError as e:
            raise ListenerAuthError(f"{source.name}: {e}") from None
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
            connection=source.connection,
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

    def fetch(
        self,
        cursor: dict[str, Any] | None,
        *,
        until: datetime | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> Fetch:
        """Each stream, newest first, down to its last item seen (or to ``since``). Reddit's
        listings cannot be resumed in the middle, so ``limit`` is honoured between streams:
        once it is reached the remaining streams wait for the next fetch (a stream holds at
        most about 1,000 items)."""
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
        more = False
        start = None if since is None else since.timestamp()
        for key, listing in self._streams():
            if limit is not None and len(posts) >= limit:
                more = True
                break
            mark = state.streams.get(key, {})
            last = float(mark.get("created_utc", 0.0))
            newest = dict(mark)
            seen = 0
            reached = False
            try:
                for item in listing():
                    seen += 1
                    created = float(getattr(item, "created_utc", 0.0))
                    if mark and (created < last or item.fullname == mark.get("fullname")):
                        reached = True
                        break
                    if not mark and start is not None and created < start:
                        reached = True  # a backfill's start
                        break
                    if until is not None and created > until.timestamp():
                        continue
                    if created > float(newest.get("created_utc", 0.0)):
                        newest = {"fullname": item.fullname, "created_utc": created}
                    thing = _thing_from_praw(item)
                    content = thing["data"].get("body", thing["data"].get("selftext"))
                    if thing["data"]["author"] in GONE or content in GONE:
                        continue  # deleted before we saw it: honour the deletion
                    try:
                        posts.append(normalize_reddit_thing(thing))
                    except NotAMention:
                        continue
                    except Exception as e:  # one record's fault: dead-letter it, go on
                        where = f"{key} {item.fullname}"
                        letters.append(
                            DeadLetter(
                                self.name, where, f"{where}: {failure(e)}", payload_bytes(thing)
                            )
                        )
            except API_ERRORS as e:
                state.rate_limited_until = self._rate_limit_or_raise(e, f"on {key}", now)
                log.warning(
                    "%s: Reddit rate limit on %s; resuming after %s",
                    self.name,
                    key,
                    state.rate_limited_until,
                )
                break  # this stream and the rest keep their position
            if (mark or start is not None) and not reached and seen >= LISTING_LIMIT - 50:
                gap_from = datetime.fromtimestamp(last if mark else start or 0.0, tz=UTC)
                state.add_gap(
                    gap_from, now, f"{key}: backlog larger than Reddit's ~1,000-item listing"
                )
                log.error(
                    "%s: coverage gap on %s since %s (listing exhausted)", self.name, key, gap_from
                )
            if newest:
                state.streams[key] = newest
        if state.rate_limited_until is None and not more:
            state.last_success = now
        return Fetch(tuple(posts), tuple(letters), state.to_cursor(), more=more)

    def check(self, post_ids: Sequence[str]) -> list[Removal]:
        """Ask Reddit which stored items were deleted or removed (100 fullnames a request)."""
        names = [pid.removeprefix("reddit:") for pid in post_ids if pid.startswith("reddit:")]
        removals: list[Removal] = []
        for start in range(0, len(names), 100):
            chunk = names[start : start + 100]
            alive = {}
            try:
                for item in self.reddit.info(fullnames=chunk):
                    alive[item.fullname] = item
            except API_ERRORS as e:
                reset = self._rate_limit_or_raise(e, "during the compliance check", self.clock())
                raise RateLimited(
                    f"{self.name}: Reddit rate limit during the compliance check", reset
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

    def _rate_limit_or_raise(self, error: ApiError, where: str, now: datetime) -> datetime:
        """When to resume after a rate limit; any other failed request (after prawcore's own
        retries) is raised as our error, naming the source and the stream or step
        (``where``), never the secret. Refused credentials fail fast."""
        if isinstance(error, prawcore.TooManyRequests):
            return now + timedelta(
                seconds=float(error.response.headers.get("x-ratelimit-reset", 600))
            )
        if isinstance(
            error, prawcore.OAuthException | prawcore.InvalidToken | prawcore.Forbidden
        ) or (isinstance(error, prawcore.ResponseException) and error.response.status_code == 401):
            raise ListenerAuthError(
                f"{self.name}: Reddit refused the credentials {where} ({scrub(str(error))});"
                f" check the Airflow connection {self.connection!r} or EARSHOT_REDDIT_CLIENT_ID"
                " / _SECRET"
            ) from None
        if isinstance(error, prawcore.ResponseException):  # 5xx after retries, 404, redirect
            raise ListenerError(
                f"{self.name}: Reddit API error {where}: {scrub(str(error))}"
            ) from None
        if isinstance(error, prawcore.RequestException | requests.RequestException):
            # Timeouts and refused connections: the type says enough, the text may hold the URL.
            raise ListenerError(
                f"{self.name}: Reddit unreachable {where}: {type(error).__name__}"
            ) from None
        raise ListenerError(  # prawcore.InvalidInvocation: a misused client
            f"{self.name}: Reddit client error {where}: {scrub(str(error))}"
        ) from None
