"""Reddit listing records: turning a listing child (``t3`` submission, ``t1`` comment) into a
post. Shared by the live Reddit listener and the replay listener."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.errors import RecordError
from core.models import Author, Post, post_id
from core.redaction import mask_cards
from listeners.base import check_text, require


def normalize_reddit_thing(thing: dict[str, Any]) -> Post:
    """Turn one listing child (``{"kind": "t3"|"t1", "data": {...}}``) into a post."""
    kind = require(thing, "kind", str)
    if kind not in ("t1", "t3"):
        raise RecordError(f"unsupported kind {kind!r}; expected t1 (comment) or t3 (submission)")
    data = require(thing, "data", dict)
    fullname = require(data, "name", str)
    if not fullname.startswith(f"{kind}_"):
        raise RecordError(f"fullname {fullname!r} does not match kind {kind!r}")
    author_name = require(data, "author", str)
    created = require(data, "created_utc", (int, float))
    try:
        created_at = datetime.fromtimestamp(float(created), tz=UTC)
    except (OverflowError, OSError, ValueError) as e:
        raise RecordError(f"field 'created_utc' is not a valid timestamp: {created!r}") from e
    permalink = require(data, "permalink", str)

    if kind == "t3":
        title = check_text(require(data, "title", str), "title")
        body = check_text(data.get("selftext") or "", "selftext")
        text = f"{title}\n\n{body}".strip() if body else title
        conversation = post_id("reddit", fullname)
        in_reply_to = None
        metrics = {"score": data.get("score", 0), "num_comments": data.get("num_comments", 0)}
    else:
        title = None
        text = check_text(require(data, "body", str), "body")
        conversation = post_id("reddit", require(data, "link_id", str))
        in_reply_to = post_id("reddit", require(data, "parent_id", str))
        metrics = {"score": data.get("score", 0)}
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in metrics.values()):
        raise RecordError("fields 'score' and 'num_comments' must be integers")

    author_id = data.get("author_fullname") or author_name
    return Post(
        id=post_id("reddit", fullname),
        source="reddit",
        url=f"https://www.reddit.com{permalink}",
        author=Author(
            id=f"reddit:{author_id}",
            handle=author_name,
            display_name=author_name,
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
    )
