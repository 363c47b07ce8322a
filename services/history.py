"""Each brand's public-to-private practice: learned from its own agents' replies.

Two sources of labels, all kept in the store's ``private_history``:

- ``earshot import-history FILE``: past conversations, one JSON object per line with
  ``customer_text``, ``brand_reply``, ``brand`` and optionally ``created_at``;
- the brand's replies the listeners see: when a brand account answers a case, the case's
  opening post is labelled by that reply (:func:`record_reply`, called by the route step);

A reply moved the customer private when :func:`nlp.reply_private.moved_private` says so.
``earshot train`` turns the history into ``private.brand.v1.npz`` (:func:`train`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.care import Case
from core.config import Config
from core.errors import InputError
from core.history import PracticeExample, brand_key
from core.models import Post
from core.timeutil import from_iso
from nlp.reply_private import moved_private
from services.runtime import open_store
from storage import Store

UNDATED = datetime(2000, 1, 1, tzinfo=UTC)
"""Lines without ``created_at`` are dated from here, one second per line: the file's order
stands for time (what a time-ordered split needs)."""


@dataclass(frozen=True)
class ImportResult:
    private: int
    public: int
    new: int
    rejected: list[str]
    brands: dict[str, tuple[int, int]]
    """Per brand in the file: (private, total)."""


def import_history(config: Config, path: str | Path) -> ImportResult:
    """Load past conversations, label each by the brand's reply, and keep them (each once).
    Bad lines are rejected with file and line; the others are imported."""
    path = Path(path)
    examples: list[PracticeExample] = []
    rejected: list[str] = []
    try:
        handle = path.open("rb")
    except OSError as e:
        raise InputError(f"{path}: cannot read the history file ({e.strerror})") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                examples.append(parse_line(raw, number))
            except (ValueError, TypeError, KeyError) as error:
                rejected.append(f"{path}:{number}: {error}")
    new = open_store(config).history.add(examples)
    brands: dict[str, tuple[int, int]] = {}
    for example in examples:
        private, total = brands.get(example.brand, (0, 0))
        brands[example.brand] = (private + int(example.private), total + 1)
    private = sum(1 for example in examples if example.private)
    return ImportResult(private, len(examples) - private, new, rejected, brands)


def parse_line(raw: bytes, number: int) -> PracticeExample:
    """One line of a history file, labelled by the brand's reply; ValueError says why not."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON ({e.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("expected an object with customer_text, brand_reply, brand")
    for key in ("customer_text", "brand_reply", "brand"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise ValueError(f"missing or empty {key!r}")
    when = UNDATED + timedelta(seconds=number)
    if data.get("created_at") is not None:
        parsed = from_iso(str(data["created_at"]))
        if parsed is None:
            raise ValueError("created_at is not a time")
        when = parsed
    private, reason = moved_private(data["brand_reply"])
    return PracticeExample(
        brand=brand_key(data["brand"]),
        text=data["customer_text"],
        private=private,
        created_at=when,
        origin="import",
        reason=reason,
    )


def record_reply(tx: Store, case: Case, reply: Post) -> bool:
    """A brand account answered a case: label the case's opening post by that reply."""
    opening = tx.posts.get(case.opened_post_id)
    if opening is None:
        return False
    private, reason = moved_private(reply.text)
    example = PracticeExample(
        brand=brand_key(reply.author.handle),
        text=opening.text,
        private=private,
        created_at=opening.created_at,
        origin="live",
        reason=reason,
        post_id=opening.id,
    )
    return tx.history.add([example]) == 1


def train(
    config: Config, extra: Sequence[PracticeExample] = ()
) -> tuple[Path | None, dict[str, Any]]:
    """Build each brand's practice from the history (and ``extra``, a labels file's private
    labels) into the models folder; returns the file (None when there is no history yet) and
    what it was learned from (examples, brands, private, by_origin)."""
    from nlp.encoders import encoder_for
    from nlp.practice import FILE, build, save

    store = open_store(config)
    examples = [*store.history.examples(), *extra]
    summary: dict[str, Any] = {
        "examples": len(examples),
        "brands": len({e.brand for e in examples}),
        "private": sum(1 for e in examples if e.private),
        "by_origin": dict(Counter(e.origin for e in examples)),
    }
    if not examples:
        return None, summary
    encoder = encoder_for("m2v", config.models_dir)
    model = build(examples, lambda texts: encoder.encode(texts))
    return save(model, config.models_dir / FILE), summary
