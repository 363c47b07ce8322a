"""Reddit listing records: turning a listing child (``t3`` submission, ``t1`` comment) into a
post. Shared by the live Reddit listener and the replay listener. Any malformed field raises
:class:`RecordError` naming it; content deleted or removed before Earshot saw it raises
:class:`NotAMention` (skipped, not dead-lettered)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.errors import NotAMention, RecordError
from core.models import Author, Post, post_id
from core.redaction import mask_cards
from listeners.base import clean_text, require

GONE = ("[deleted]", "[removed]")
"""What Reddit shows in place of deleted or removed content (and of a deleted author)."""


def _fullname(data: dict[str, Any], key: str) -> str:
    value = require(data, key, str)
    prefix, _, rest = value.partition("_")
    if not (prefix in ("t1", "t3") and rest and rest.isascii() and rest.isalnum()):
        raise RecordError(f"field {key!r} must be a t1_ or t3_ fullname, got {value[:40]!r}")
    return post_id("reddit", value)


def normalize_reddit_thing(thing: dict[str, Any]) -> Post:
    """Turn one listing child (``{"kind": "t3"|"t1", "data": {...}}``) into a post."""
    kind = require(thing, "kind", str)
    if kind not in ("t1", "t3"):
        raise RecordError(
            f"unsupported kind {kind[:20]!r}; expected t1 (comment) or t3 (submission)"
        )
    data = require(thing, "data", dict)
    fullname = require(data, "name", str)
    if not fullname.startswith(f"{kind}_"):
        raise RecordError(f"fullname {fullname[:40]!r} does not match kind {kind!r}")
    own_id = _fullname(data, "name")
    author_name = require(data, "author", str)
    created = require(data, "created_utc", (int, float))
    try:
        created_at = datetime.fromtimestamp(float(created), tz=UTC)
    except (OverflowError, OSError, ValueError) as e:
        raise RecordError(f"field 'created_utc' is not a valid timestamp: {created!r}") from e
    permalink = require(data, "permalink", str)

    notes: list[str | None] = []
    if kind == "t3":
        title, note = clean_text(require(data, "title", str), "title")
        notes.append(note)
        body, note = clean_text(data.get("selftext") or "", "selftext")
        notes.append(note)
        if body.strip() in GONE:  # deleted or removed: honour it, as compliance would
            raise NotAMention(f"{own_id}: submission {body.strip()}")
        text = f"{title}\n\n{body}".strip() if body else title
        conversation = own_id
        in_reply_to = None
        metrics = {"score": data.get("score", 0), "num_comments": data.get("num_comments", 0)}
    else:
        title = None
        text, note = clean_text(require(data, "body", str), "body")
        notes.append(note)
        if text.strip() in GONE:
            raise NotAMention(f"{own_id}: comment {text.strip()}")
        conversation = _fullname(data, "link_id")
        in_reply_to = _fullname(data, "parent_id")
        metrics = {"score": data.get("score", 0)}
    if author_name in GONE:
        raise NotAMention(f"{own_id}: author deleted")
    if not text.strip():
        raise RecordError("the post has no text")
    handle = author_name  # an identifier: checked by Author, never rewritten
    author_id = data.get("author_fullname") or handle
    if not isinstance(author_id, str):
        raise RecordError("field 'author_fullname' must be str")
    return Post(
        id=own_id,
        source="reddit",
        url=f"https://www.reddit.com{permalink}",
        author=Author(
            id=f"reddit:{author_id}",
            handle=handle,
            display_name=handle,
            followers=0,
            verified=False,
        ),
        text=mask_cards(text),
        created_at=created_at,
        language=None,
        conversation_id=conversation,
        in_reply_to_id=in_reply_to,
        metrics=metrics,
        title=None if title is None else mask_cards(title),
        cleaned=tuple(n for n in notes if n),
    )
