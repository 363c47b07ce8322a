"""Agents' corrections of labels, kept as training data for the next ``earshot train``."""

from __future__ import annotations

from core.config import Config
from core.errors import InvalidValueError, NotFoundError
from core.history import PracticeExample, brand_key
from core.models import INTENTS, SENTIMENTS, Post
from services.runtime import open_store

LABELS: dict[str, tuple[str, ...]] = {
    "intent": INTENTS,
    "sentiment": SENTIMENTS,
    "private": ("private", "public"),
}
"""The tasks agents may correct, and their labels. A public-to-private correction joins the
brand's practice (what its agents do), the others the heads' training data."""


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
    if task == "private":
        store.history.correct(_practice_example(config, post, label == "private"))
        return
    store.feedback.add(post_id, task, label, post.text)


def _practice_example(config: Config, post: Post, private: bool) -> PracticeExample:
    from nlp.classifiers.private_brand_v1 import brand_of
    from nlp.pipeline import brand_accounts

    brand = brand_of(post, frozenset(brand_key(b) for b in brand_accounts(config)))
    if brand is None:
        raise InvalidValueError(
            f"post {post.id!r} addresses no brand account (the brand tier of routing.yaml):"
            " there is no brand practice to correct"
        )
    return PracticeExample(
        brand=brand,
        text=post.text,
        private=private,
        created_at=post.created_at,
        origin="feedback",
        reason="corrected by an agent",
        post_id=post.id,
    )


def corrections(config: Config) -> dict[str, list[tuple[str, str]]]:
    """Every correction of the heads' tasks, by task, as ``(text, label)`` pairs."""
    store = open_store(config)
    return {task: store.feedback.list(task) for task in LABELS if task != "private"}
