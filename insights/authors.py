"""Advocates and detractors, scored per customer from their labelled posts in one pass.

**Advocate** score = consistency x (positive days + 1.5 x recommending + 0.5 x reach + 0.5 x
engagement) - negative, where

- *positive days*: each day with positive posts counts once, at most 1 point (a gushing day
  is one day), weighted by the sentiment's confidence and by recency (the weight halves every
  ``half_life_days``); a post repeated word for word counts once;
- *recommending*: positive posts that recommend the brand ("you should get", "switched to",
  "best I've used", ...), recency-weighted;
- *reach*: log10 of the author's followers; *engagement*: log10 of the mean engagement their
  positive posts received;
- *consistency*: the share of four weeks in which they posted positively (one week: 0.25);
- *negative*: their recency-weighted negative posts.

Nobody is an advocate with fewer than ``min_positive_days`` days of positive posts, so a single
viral post never makes one. Brand and staff accounts, and authors whose posts are mostly spam,
are never scored.

**Detractor**: negative posts on at least two days (at least ``min_negative_posts``), from an
author with at least ``min_followers`` followers or in one of ``tiers``: a case for a senior
agent. Score = negative days + 0.5 x reach + 1 for the tier.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.folding import fold
from core.insights import Activity, AuthorScore
from insights.config import InsightSettings

EVIDENCE = 5
Identity = Callable[[Activity], tuple[str, str | None, str | None]]
"""An activity's customer: ``(key, profile id, tier)``."""


@dataclass
class _Author:
    handles: set[tuple[str, str]] = field(default_factory=set)
    profile_id: str | None = None
    tier: str | None = None
    followers: int = 0
    posts: int = 0
    spam: int = 0
    positive_day: dict[str, float] = field(default_factory=dict)
    weeks: set[tuple[int, int]] = field(default_factory=set)
    recommending: float = 0.0
    engagement: list[int] = field(default_factory=list)
    negative: float = 0.0
    negative_day: dict[str, float] = field(default_factory=dict)
    negative_posts: int = 0
    seen_texts: set[int] = field(default_factory=set)
    evidence: list[tuple[float, str]] = field(default_factory=list)
    negative_evidence: list[tuple[float, str]] = field(default_factory=list)


def phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    """Any of ``phrases`` as whole words, in folded lower-case text."""
    words = sorted({fold(p).lower() for p in phrases}, key=len, reverse=True)
    if not words:
        return re.compile(r"(?!x)x")
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)")


def _keep(evidence: list[tuple[float, str]], item: tuple[float, str]) -> None:
    evidence.append(item)
    if len(evidence) > 4 * EVIDENCE:  # bounded: keep the best few as posts stream by
        evidence.sort(key=lambda pair: (-pair[0], pair[1]))
        del evidence[EVIDENCE:]


def score_authors(
    activities: Iterable[Activity],
    *,
    at: datetime,
    settings: InsightSettings,
    identity: Identity,
    excluded: Callable[[Activity], bool],
) -> list[AuthorScore]:
    """Advocate and detractor scores of every customer, best first within each kind."""
    adv, det = settings.advocates, settings.detractors
    recommend = phrase_pattern(adv.recommend_phrases)
    oldest = at - timedelta(days=max(adv.window_days, det.window_days))
    authors: dict[str, _Author] = {}
    for a in activities:
        if a.created_at > at or a.created_at < oldest or excluded(a):
            continue
        key, profile_id, tier = identity(a)
        author = authors.get(key)
        if author is None:
            author = authors[key] = _Author(profile_id=profile_id, tier=tier)
        author.handles.add((a.source, a.handle))
        author.followers = max(author.followers, a.followers)
        author.posts += 1
        if a.spam:
            author.spam += 1
            continue
        age = (at - a.created_at).total_seconds() / 86400
        weight = 0.5 ** (age / adv.half_life_days)
        day = a.created_at.date().isoformat()
        if a.sentiment == "positive" and age <= adv.window_days:
            text = fold(a.text).lower()
            fingerprint = hash(" ".join(text.split()))
            if fingerprint in author.seen_texts:  # the same words again: no new evidence
                continue
            author.seen_texts.add(fingerprint)
            w = weight * a.sentiment_score
            author.positive_day[day] = author.positive_day.get(day, 0.0) + w
            iso = a.created_at.isocalendar()
            author.weeks.add((iso.year, iso.week))
            recommends = bool(recommend.search(text))
            if recommends:
                author.recommending += w
            author.engagement.append(max(0, a.engagement))
            _keep(author.evidence, (w * (2 if recommends else 1), a.post_id))
        elif a.sentiment == "negative":
            w = weight * a.sentiment_score
            if age <= adv.window_days:
                author.negative += w
            if age <= det.window_days:
                author.negative_posts += 1
                author.negative_day[day] = author.negative_day.get(day, 0.0) + w
                reach = math.log10(1 + max(0, a.engagement))
                _keep(author.negative_evidence, (w * (1 + reach), a.post_id))
    scores: list[AuthorScore] = []
    for key, author in authors.items():
        if author.spam * 2 > author.posts:  # mostly spam: no customer voice at all
            continue
        reach = math.log10(1 + author.followers)
        advocate = _advocate(key, author, reach, at, settings)
        if advocate is not None:
            scores.append(advocate)
        detractor = _detractor(key, author, reach, at, settings)
        if detractor is not None:
            scores.append(detractor)
    scores.sort(key=lambda s: (s.kind, -s.score, s.key))
    return scores


def _advocate(
    key: str, author: _Author, reach: float, at: datetime, settings: InsightSettings
) -> AuthorScore | None:
    adv = settings.advocates
    if len(author.positive_day) < adv.min_positive_days:
        return None
    days = sum(min(1.0, w) for w in author.positive_day.values())
    consistency = min(1.0, len(author.weeks) / 4)
    engagement = math.log10(1 + sum(author.engagement) / len(author.engagement))
    components = {
        "positive_days": days,
        "recommending": author.recommending,
        "reach": reach,
        "engagement": engagement,
        "consistency": consistency,
        "negative": author.negative,
    }
    score = (
        consistency * (days + 1.5 * author.recommending + 0.5 * reach + 0.5 * engagement)
        - author.negative
    )
    if score < adv.min_score:
        return None
    return _score("advocate", key, author, score, components, author.evidence, at)


def _detractor(
    key: str, author: _Author, reach: float, at: datetime, settings: InsightSettings
) -> AuthorScore | None:
    det = settings.detractors
    if author.negative_posts < det.min_negative_posts or len(author.negative_day) < 2:
        return None
    tiered = author.tier is not None and author.tier in det.tiers
    if author.followers < det.min_followers and not tiered:
        return None
    days = sum(min(1.0, w) for w in author.negative_day.values())
    components = {"negative_days": days, "reach": reach, "tier": 1.0 if tiered else 0.0}
    score = days + 0.5 * reach + components["tier"]
    return _score("detractor", key, author, score, components, author.negative_evidence, at)


def _score(
    kind: str,
    key: str,
    author: _Author,
    score: float,
    components: Mapping[str, float],
    evidence: list[tuple[float, str]],
    at: datetime,
) -> AuthorScore:
    best = sorted(evidence, key=lambda pair: (-pair[0], pair[1]))[:EVIDENCE]
    return AuthorScore(
        kind=kind,
        key=key,
        handles=tuple(sorted(author.handles)),
        score=round(score, 3),
        components={k: round(v, 3) for k, v in components.items()},
        evidence=tuple(post_id for _, post_id in best),
        computed_at=at,
        profile_id=author.profile_id,
        tier=author.tier,
    )
