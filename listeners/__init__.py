"""Listeners: the role that collects public mentions of the brand (X, Reddit, or replayed
API files) and normalizes them into :class:`core.models.Post`, with a cursor per source and a
compliance check of what was stored.

Services build a listener with :func:`build_listener` from a source's typed configuration.
The replay listener (the embedded default) reads JSONL files shaped like the X API v2 and
Reddit listing responses; the record normalizers are shared with the live listeners so that
every source yields the same posts. Importing this package loads neither tweepy nor praw: the
live listeners (:mod:`listeners.x`, :mod:`listeners.reddit`) are imported when such a source
is built. Errors are :mod:`core.errors`' ``ListenerError`` family and ``RecordError``.
"""

from listeners.base import Fetch, Listener, Removal
from listeners.factory import build_listener
from listeners.reddit_records import normalize_reddit_thing
from listeners.replay import ReplayListener
from listeners.x_records import normalize_tweet

__all__ = [
    "Fetch",
    "Listener",
    "Removal",
    "ReplayListener",
    "build_listener",
    "normalize_reddit_thing",
    "normalize_tweet",
]
