"""Listeners collect public mentions and normalize them into :class:`core.models.Post`.

The replay listener (the embedded default) reads JSONL files shaped like the X API v2 and
Reddit listing responses; ``normalize_tweet`` and ``normalize_reddit_thing`` are shared with
the live listeners so that every source yields the same posts.
"""

from listeners.base import Fetch, Listener, RecordError, build_listener
from listeners.reddit import normalize_reddit_thing
from listeners.replay import ReplayListener
from listeners.x import normalize_tweet

__all__ = [
    "Fetch",
    "Listener",
    "RecordError",
    "ReplayListener",
    "build_listener",
    "normalize_reddit_thing",
    "normalize_tweet",
]
