"""X API v2 records: turning a tweet object (with the page's users) into a post.

Shared by the live X listener and the replay listener, so both yield the same posts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.errors import RecordError
from core.models import Author, Post, post_id
from core.redaction import mask_cards
from core.timeutil import from_iso
from listeners.base import check_text, require


def parse_time(value: str, field_name: str) -> datetime:
    try:
        parsed = from_iso(value)
    except ValueError as e:
        raise RecordError(f"field {field_name!r} is not an ISO-8601 time: {value!r}") from e
    assert parsed is not None  # from_iso returns None only for None
    return parsed


def users_by_id(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    includes = payload.get("includes") or {}
    users = includes.get("users") or [] if isinstance(includes, dict) else []
    return {str(u["id"]): u for u in users if isinstance(u, dict) and "id" in u}


def _digits(value: str, field_name: str) -> str:
    if not value.isdigit():
        raise RecordError(f"field {field_name!r} must be a numeric id, got {value!r}")
    return value


def normalize_tweet(tweet: dict[str, Any], users: dict[str, dict[str, Any]]) -> Post:
    """Turn one X API v2 tweet object into a post; raises :class:`RecordError` if malformed."""
    tweet_id = _digits(require(tweet, "id", str), "id")
    text = mask_cards(check_text(require(tweet, "text", str)))
    author_id = _digits(require(tweet, "author_id", str), "author_id")
    created_at = parse_time(require(tweet, "created_at", str), "created_at")

    user = users.get(author_id, {})
    handle = user.get("username") or author_id
    user_metrics = user.get("public_metrics") or {}
    followers = user_metrics.get("followers_count", 0)
    if not isinstance(followers, int):
        raise RecordError(f"user {author_id}: followers_count must be an integer")

    in_reply_to = None
    for ref in tweet.get("referenced_tweets") or []:
        if isinstance(ref, dict) and ref.get("type") == "replied_to" and ref.get("id"):
            in_reply_to = post_id("x", str(ref["id"]))
    conversation = tweet.get("conversation_id")
    metrics = tweet.get("public_metrics") or {}
    if not isinstance(metrics, dict) or not all(isinstance(v, int) for v in metrics.values()):
        raise RecordError("field 'public_metrics' must map names to integers")
    lang = tweet.get("lang")
    return Post(
        id=post_id("x", tweet_id),
        source="x",
        url=f"https://x.com/{handle}/status/{tweet_id}",
        author=Author(
            id=f"x:{author_id}",
            handle=str(handle),
            display_name=str(user.get("name") or handle),
            followers=followers,
            verified=bool(user.get("verified", False)),
        ),
        text=text,
        created_at=created_at,
        language=lang if isinstance(lang, str) and lang != "und" else None,
        conversation_id=post_id("x", str(conversation)) if conversation else None,
        in_reply_to_id=in_reply_to,
        metrics=dict(metrics),
    )
