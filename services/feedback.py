"""Agents' corrections of labels, kept as training data for the next ``earshot train``."""

from __future__ import annotations

from core.config import Config
from core.errors import InvalidValueError, NotFoundError
from core.models import INTENTS, SENTIMENTS
from services.runtime import open_store

LABELS: dict[str, tuple[str, ...]] = {"intent": INTENTS, "sentiment": SENTIMENTS}
"""The tasks agents may correct, and their labels."""


def correct(config: Config, post_id: str, task: str, label: str) -> None:
    """Record that ``post_id``'s ``task`` label should be ``label``."""
    allowed = LABELS.get(task)
    if allowed is None:
        raise InvalidValueError(
            f"labels of {task!r} cannot be corrected (only {', '.join(LABELS)})"
        )
    if label not in allowed:
        raise InvalidValueError(f"{label!r} is not a {task} label ({', '.join(allowed)})")
    store = open_store(config)
    post = store.posts.get(post_id)
    if post is None:
        raise NotFoundError(f"no stored post {post_id!r} to correct")
    store.feedback.add(post_id, task, label, post.text)


def corrections(config: Config) -> dict[str, list[tuple[str, str]]]:
    """Every correction, by task, as ``(text, label)`` pairs."""
    store = open_store(config)
    return {task: store.feedback.list(task) for task in LABELS}
