"""Queue items for agents: listing them, and the status changes an agent may make.

The allowed transitions live here, once; the store makes each change conditional on the
status it was read in, so two agents can never both claim one item.
"""

from __future__ import annotations

import logging

from core.config import Config
from core.errors import NotFoundError, SearchError, TransitionError
from core.models import QUEUE_STATUSES
from services import indexing
from services.runtime import open_search, open_store
from storage import QueueEvent, QueueItem

log = logging.getLogger(__name__)

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("claimed", "moved_private", "resolved", "no_action"),
    "claimed": ("new", "moved_private", "resolved", "no_action"),
    "no_action": ("new", "claimed"),
    "moved_private": (),
    "resolved": (),
}
"""From each status, the statuses an agent may set. ``claimed -> new`` releases an item;
``no_action -> new`` reopens one closed by a rule. Resolved and moved-private items are done:
a customer who writes again gets a new item."""

assert set(TRANSITIONS) == set(QUEUE_STATUSES)


def list_items(
    config: Config, *, queue: str | None = None, status: str | None = None, limit: int = 50
) -> list[QueueItem]:
    """Queue items, most urgent first."""
    if status is not None and status not in QUEUE_STATUSES:
        raise TransitionError(f"unknown status {status!r}; expected one of {QUEUE_STATUSES}")
    if limit < 1:
        raise TransitionError(f"--limit must be 1 or more, got {limit}")
    return open_store(config).queues.items(queue=queue, status=status, limit=limit)


def set_status(config: Config, post_id: str, status: str, *, actor: str) -> QueueItem:
    """Move one item to ``status`` if that is allowed from where it is now.

    Raises NotFoundError (no such item), TransitionError (not allowed from its status) or
    ConflictError (someone changed it in the meantime).
    """
    if status not in QUEUE_STATUSES:
        raise TransitionError(f"unknown status {status!r}; expected one of {QUEUE_STATUSES}")
    store = open_store(config)
    item = store.queues.get(post_id)
    if item is None:
        raise NotFoundError(f"post {post_id!r} is in no queue")
    allowed = TRANSITIONS[item.status]
    if status not in allowed:
        raise TransitionError(
            f"post {post_id!r} is {item.status}: it cannot become {status}"
            f" (allowed: {', '.join(allowed) or 'nothing, it is closed'})"
        )
    assignee = actor if status == "claimed" else None if status == "new" else item.assignee
    with store.transaction() as tx:
        changed = tx.queues.transition(
            post_id, from_status=item.status, to_status=status, actor=actor, assignee=assignee
        )
        tx.outbox.add([post_id], "upsert")  # the index shows the new status
    try:
        indexing.drain(store, open_search(config))
    except SearchError as e:  # the outbox keeps the change; the next run sends it
        log.warning("search index not updated yet for %s: %s", post_id, e)
    return changed


def history(config: Config, post_id: str) -> list[QueueEvent]:
    """Every status change of one item, oldest first."""
    return open_store(config).queues.events(post_id)
