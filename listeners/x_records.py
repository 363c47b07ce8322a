"""X API v2 records: turning a tweet object (with the page's users) into a post.

Shared by the live X listener and the replay listener, so both yield the same posts. Any
malformed field raises :class:`RecordError` naming it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.errors import RecordError
from core.models import Author, Post, post_id
from core.redaction import mask_cards
from core.timeutil import from_iso
from listeners.base import clean_text, require


def parse_time(value: str, field_name: str) -> datetime:
    try:
        parsed = from_iso(value)
    except (ValueError, OverflowError) as e:
        raise RecordError(f"field {field_name!r} is not an ISO-8601 time: {value!r}") from e
    assert parsed is not None  # from_iso returns None only for None
    return parsed


def users_by_id(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The page's users by id; a malformed ``includes`` gives none (each tweet then has its
    author id only)."""
    includes = payload.get("includes")
    users = includes.get("users") if isinstance(includes, dict) else None
    if not isinstance(users, list):
        return {}
    return {u["id"]: u for u in users if isinstance(u, dict) and isinstance(u.get("id"), str)}


def _digits(value: str, field_name: str) -> str:
    if not (value.isascii() and value.isdigit()):
        raise RecordError(f"field {field_name!r} must be a numeric id, got {value[:40]!r}")
    return value


def _optional_id(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RecordError(f"field {key!r} must be str, got {type(value).__name__}")
    return post_id("x", _digits(value, key))


def _author(author_id: str, user: Any) -> tuple[Author, list[str]]:
    if not isinstance(user, dict):
        user = {}
    handle = user.get("username") or author_id
    if not isinstance(handle, str):  # an identifier: checked by Author, never rewritten
        raise RecordError(f"user {author_id}: field 'username' must be str")
    name = user.get("name") or handle
    if not isinstance(name, str):
        raise RecordError(f"user {author_id}: field 'name' must be str")
    name, name_note = clean_text(name, "name")
    user_metrics = user.get("public_metrics")
    if user_metrics is None:
        user_metrics = {}
    elif not isinstance(user_metrics, dict):
        raise RecordError(f"user {author_id}: field 'public_metrics' must be an object")
    followers = user_metrics.get("followers_count", 0)
    verified = user.get("verified", False)
    if not isinstance(verified, bool):
        raise RecordError(f"user {author_id}: field 'verified' must be true or false")
    author = Author(
        id=f"x:{author_id}",
        handle=handle,
        display_name=mask_cards(name or handle),
        followers=followers,
        verified=verified,
    )
    return author, [name_note] if name_note else []


def normalize_tweet(tweet: dict[str, Any], users: dict[str, dict[str, Any]]) -> Post:
    """Turn one X API v2 tweet object into a post; raises :class:`RecordError` if malformed."""
    tweet_id = _digits(require(tweet, "id", str), "id")
    text, text_note = clean_text(require(tweet, "text", str))
    if not text.strip():
        raise RecordError("field 'text' is empty")
    author_id = _digits(require(tweet, "author_id", str), "author_id")
    created_at = parse_time(require(tweet, "created_at", str), "created_at")
    author, author_notes = _author(author_id, users.get(author_id))

    references = tweet.get("referenced_tweets") or []
    if not isinstance(references, list):
        raise RecordError("field 'referenced_tweets' must be a list")
    in_reply_to = None
    for ref in references:
        if isinstance(ref, dict) and ref.get("type") == "replied_to":
            in_reply_to = _optional_id(ref, "id") or in_reply_to
    metrics = tweet.get("public_metrics") or {}
    if not isinstance(metrics, dict):
        raise RecordError("field 'public_metrics' must map names to integers")
    lang = tweet.get("lang")
    notes = [n for n in (text_note, *author_notes) if n]
    return Post(
        id=post_id("x", tweet_id),
        source="x",
        url=f"https://x.com/{author.handle}/status/{tweet_id}",
        author=author,
        text=mask_cards(text),
        created_at=created_at,
        language=lang if isinstance(lang, str) and lang != "und" else None,
        conversation_id=_optional_id(tweet, "conversation_id"),
        in_reply_to_id=in_reply_to,
        metrics=dict(metrics),
        cleaned=tuple(notes),
    )
