"""Super-users: community members who answer other people's questions, again and again.

An **answer** is a reply (a Reddit comment, an X reply) by someone else to a **question**: a
post the intent classifier calls a question, or one shaped like one (a question mark, or
opening with how, what, why, does, can, anyone...). Each answer earns:

- 1 point for answering;
- 1.5 more when the asker thanked it or said it worked, later in the thread;
- up to 1.5 for what the community did with it: 0.5 x log10(1 + upvotes or likes);
- 0.5 more when the asker did not ask again in that thread afterwards.

One thread counts once (its best answer), so the score rewards helping in many threads; it is
the sum over threads. To be listed, a member needs answers in ``min_answers`` threads to at
least two different askers. The answers are the evidence, thanked ones first. Brand and staff
accounts and spam are left out.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.folding import fold
from core.insights import Activity, AuthorScore
from core.models import reference
from insights.authors import EVIDENCE, Identity, phrase_pattern
from insights.config import InsightSettings

_QUESTION_START = re.compile(
    r"^\W*(?:how|what|why|when|where|which|who|does|do|did|can|could|should|would|is|are|will|"
    r"has|have|anyone|any\s+(?:tips|idea|ideas|advice)|help)\b",
    re.IGNORECASE,
)


def is_question(activity: Activity) -> bool:
    """A question by the intent classifier or by its form."""
    if activity.intent == "question":
        return True
    text = activity.text.strip()
    return "?" in text or bool(_QUESTION_START.match(text))


@dataclass(frozen=True, slots=True)
class _Post:
    post_id: str
    key: str
    thread: str
    parent: str | None
    created_at: datetime
    question: bool
    thanks: bool
    engagement: int
    excluded: bool


def score_superusers(
    activities: Iterable[Activity],
    *,
    at: datetime,
    settings: InsightSettings,
    identity: Identity,
    excluded: Callable[[Activity], bool],
) -> list[AuthorScore]:
    """Super-user scores, best first."""
    sets = settings.superusers
    thanks = phrase_pattern(sets.thanks_phrases)
    oldest = at - timedelta(days=sets.window_days)
    posts: dict[str, _Post] = {}
    by_asker: dict[tuple[str, str], list[_Post]] = defaultdict(list)
    identities: dict[str, tuple[str | None, str | None, set[tuple[str, str]]]] = {}
    for a in activities:
        if a.created_at > at or a.created_at < oldest or a.spam:
            continue
        key, profile_id, tier = identity(a)
        known = identities.setdefault(key, (profile_id, tier, set()))
        known[2].add((a.source, a.handle))
        thread = reference(a.source, a.conversation_id) or a.post_id
        post = _Post(
            a.post_id,
            key,
            thread,
            reference(a.source, a.in_reply_to_id),
            a.created_at,
            is_question(a),
            bool(thanks.search(fold(a.text).lower())),
            a.engagement,
            bool(excluded(a)),
        )
        posts[a.post_id] = post
        by_asker[(thread, key)].append(post)
    credits: dict[str, dict[str, tuple[float, str, bool, str]]] = defaultdict(dict)
    upvote_points: dict[str, dict[str, float]] = defaultdict(dict)
    for post in posts.values():
        parent = posts.get(post.parent) if post.parent else None
        if parent is None or post.excluded or not parent.question or parent.key == post.key:
            continue
        later = [p for p in by_asker[(post.thread, parent.key)] if p.created_at > post.created_at]
        thanked = any(p.thanks for p in later)
        asked_again = any(p.question and not p.thanks for p in later)
        upvotes = min(1.5, 0.5 * math.log10(1 + max(0, post.engagement)))
        credit = 1.0 + (1.5 if thanked else 0.0) + upvotes + (0.0 if asked_again else 0.5)
        best = credits[post.key].get(post.thread)
        if best is None or credit > best[0]:
            credits[post.key][post.thread] = (credit, post.post_id, thanked, parent.key)
            upvote_points[post.key][post.thread] = upvotes
    scores = []
    for key, threads in credits.items():
        askers = {asker for _, _, _, asker in threads.values()}
        if len(threads) < sets.min_answers or len(askers) < 2:
            continue
        total = sum(c for c, _, _, _ in threads.values())
        ranked = sorted(threads.values(), key=lambda t: (-t[2], -t[0], t[1]))
        profile_id, tier, handles = identities[key]
        part = {
            "threads": float(len(threads)),
            "askers": float(len(askers)),
            "thanked": float(sum(1 for t in threads.values() if t[2])),
            "upvotes": sum(upvote_points[key].values()),
        }
        scores.append(
            AuthorScore(
                kind="superuser",
                key=key,
                handles=tuple(sorted(handles)),
                score=round(total, 3),
                components={k: round(v, 3) for k, v in part.items()},
                evidence=tuple(t[1] for t in ranked[:EVIDENCE]),
                computed_at=at,
                profile_id=profile_id,
                tier=tier,
            )
        )
    scores.sort(key=lambda s: (-s.score, s.key))
    return scores
