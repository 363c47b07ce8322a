"""Listeners collect public mentions and normalize them into :class:`core.models.Post`.

The replay listener (the embedded default) reads JSONL files shaped like the X API v2 and
Reddit listing responses; the record normalizers are shared with the live listeners so that
every source yields the same posts. Importing this package loads neither tweepy nor praw.
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
