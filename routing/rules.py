"""Routing rules (YAML), the matcher, and priority and SLA computation."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core.config import read_yaml
from core.errors import RoutingConfigError
from core.models import ACTIONS, INTENTS, SENTIMENTS, UNMATCHED, Enrichment, Post, RoutingDecision
from core.timeutil import now as current_time

NO_ACTION_QUEUE = "none"
"""Where posts that need nothing go, closed (declared in routing.yaml, or added)."""
EMPTY_POST = "empty_post"
"""The built-in rule, checked before all others: a post with no letter or digit in it (empty,
whitespace, punctuation) goes to :data:`NO_ACTION_QUEUE` with ``no_action``."""

CONDITION_KEYS = {
    "intent",
    "sentiment",
    "private",
    "spam",
    "keywords",
    "language",
    "author_tier",
    "min_followers",
    "source",
}
DEFAULT_TIER = "standard"


@dataclass(frozen=True)
class Conditions:
    intent: frozenset[str] | None = None
    sentiment: frozenset[str] | None = None
    private: bool | None = None
    spam: bool | None = None
    keywords: re.Pattern[str] | None = None
    language: frozenset[str] | None = None
    author_tier: frozenset[str] | None = None
    min_followers: int | None = None
    source: frozenset[str] | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    when: Conditions
    queue: str
    action: str
    priority: int


@dataclass(frozen=True)
class Queue:
    name: str
    sla_minutes: int | None


@dataclass(frozen=True)
class Tier:
    name: str
    handles: frozenset[str] = frozenset()
    min_followers: int | None = None
    sla_factor: float = 1.0
    priority_bonus: int = 0


@dataclass(frozen=True)
class RoutingConfig:
    queues: dict[str, Queue]
    tiers: tuple[Tier, ...]
    rules: tuple[Rule, ...]
    unmatched_priority: int = 30
    path: Path | None = field(default=None, compare=False)


def _names(value: Any, where: str, allowed: Sequence[str] | None = None) -> frozenset[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise RoutingConfigError(f"{where}: expected a name or a list of names")
    if allowed is not None:
        unknown = sorted(set(items) - set(allowed))
        if unknown:
            raise RoutingConfigError(
                f"{where}: unknown {unknown}; expected some of {list(allowed)}"
            )
    return frozenset(items)


def _conditions(when: Any, where: str, tiers: Sequence[str]) -> Conditions:
    if when is None:
        return Conditions()
    if not isinstance(when, dict):
        raise RoutingConfigError(f"{where}: 'when' must be a mapping")
    unknown = sorted(set(when) - CONDITION_KEYS)
    if unknown:
        raise RoutingConfigError(f"{where}: unknown conditions {unknown}")
    values: dict[str, Any] = {}
    for key in ("private", "spam"):
        if key in when:
            if not isinstance(when[key], bool):
                raise RoutingConfigError(f"{where}.{key}: expected true or false")
            values[key] = when[key]
    if "intent" in when:
        values["intent"] = _names(when["intent"], f"{where}.intent", INTENTS)
    if "sentiment" in when:
        values["sentiment"] = _names(when["sentiment"], f"{where}.sentiment", SENTIMENTS)
    if "author_tier" in when:
        values["author_tier"] = _names(
            when["author_tier"], f"{where}.author_tier", [*tiers, DEFAULT_TIER]
        )
    for key in ("language", "source"):
        if key in when:
            values[key] = _names(when[key], f"{where}.{key}")
    if "keywords" in when:
        words = _names(when["keywords"], f"{where}.keywords")
        alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        values["keywords"] = re.compile(rf"(?i)(?<!\w)(?:{alternatives})(?!\w)")
    if "min_followers" in when:
        if not isinstance(when["min_followers"], int):
            raise RoutingConfigError(f"{where}.min_followers: expected an integer")
        values["min_followers"] = when["min_followers"]
    return Conditions(**values)


def load_routing(path: str | Path) -> RoutingConfig:
    """Read and validate a routing file."""
    path = Path(path)
    data = read_yaml(path, error=RoutingConfigError)
    if not isinstance(data, dict):
        raise RoutingConfigError(f"{path}: expected a mapping with queues, tiers and rules")

    queues: dict[str, Queue] = {}
    for name, spec in (data.get("queues") or {}).items():
        sla = (spec or {}).get("sla_minutes")
        if sla is not None and (not isinstance(sla, int) or sla <= 0):
            raise RoutingConfigError(
                f"{path}: queues.{name}.sla_minutes must be a positive integer"
            )
        queues[name] = Queue(name, sla)
    queues.setdefault(UNMATCHED, Queue(UNMATCHED, None))
    queues.setdefault(NO_ACTION_QUEUE, Queue(NO_ACTION_QUEUE, None))

    tiers = []
    for name, spec in (data.get("tiers") or {}).items():
        spec = spec or {}
        tiers.append(
            Tier(
                name=name,
                handles=frozenset(h.lower().lstrip("@") for h in spec.get("handles") or []),
                min_followers=spec.get("min_followers"),
                sla_factor=float(spec.get("sla_factor", 1.0)),
                priority_bonus=int(spec.get("priority_bonus", 0)),
            )
        )
    tier_names = [t.name for t in tiers]

    rules = []
    seen: set[str] = set()
    for i, spec in enumerate(data.get("rules") or []):
        where = f"{path}: rules[{i}]"
        if not isinstance(spec, dict) or "name" not in spec:
            raise RoutingConfigError(f"{where}: each rule needs a name")
        where = f"{path}: rule {spec['name']!r}"
        if spec["name"] in seen or spec["name"] in (UNMATCHED, EMPTY_POST):
            raise RoutingConfigError(f"{where}: duplicate or reserved rule name")
        seen.add(spec["name"])
        unknown = sorted(set(spec) - {"name", "when", "queue", "action", "priority"})
        if unknown:
            raise RoutingConfigError(f"{where}: unknown keys {unknown}")
        queue = spec.get("queue")
        if queue not in queues:
            raise RoutingConfigError(f"{where}: queue {queue!r} is not declared under 'queues'")
        action = spec.get("action")
        if action not in ACTIONS:
            raise RoutingConfigError(f"{where}: action {action!r} is not one of {list(ACTIONS)}")
        priority = spec.get("priority", 50)
        if not isinstance(priority, int) or not 0 <= priority <= 100:
            raise RoutingConfigError(f"{where}: priority must be an integer from 0 to 100")
        rules.append(
            Rule(
                spec["name"],
                _conditions(spec.get("when"), where, tier_names),
                queue,
                action,
                priority,
            )
        )
    return RoutingConfig(
        queues=queues,
        tiers=tuple(tiers),
        rules=tuple(rules),
        unmatched_priority=int(data.get("unmatched_priority", 30)),
        path=path,
    )


class Router:
    """Matches each classified post against the rules, first match wins."""

    def __init__(self, config: RoutingConfig) -> None:
        self.config = config

    def tier(self, post: Post) -> Tier | None:
        handle = post.author.handle.lower().lstrip("@")
        for tier in self.config.tiers:
            if handle in tier.handles or post.author.id.lower() in tier.handles:
                return tier
            if tier.min_followers is not None and post.author.followers >= tier.min_followers:
                return tier
        return None

    def match(self, post: Post, enrichment: Enrichment) -> Rule | None:
        tier = self.tier(post)
        tier_name = tier.name if tier else DEFAULT_TIER
        for rule in self.config.rules:
            if _matches(rule.when, post, enrichment, tier_name):
                return rule
        return None

    def route(
        self,
        posts: Sequence[Post],
        enrichments: Sequence[Enrichment],
        *,
        now: datetime | None = None,
    ) -> list[RoutingDecision]:
        """One decision per post; a post no rule matches goes to the ``unmatched`` queue."""
        if len(posts) != len(enrichments):
            raise ValueError(f"{len(posts)} posts but {len(enrichments)} enrichments")
        now = now or current_time()
        decisions = []
        for post, enrichment in zip(posts, enrichments, strict=True):
            if post.id != enrichment.post_id:
                raise ValueError(f"enrichment for {enrichment.post_id} paired with post {post.id}")
            rule = self.match(post, enrichment)
            tier = self.tier(post)
            if not _has_words(post):  # nothing to read, nothing to answer: never to a person
                decisions.append(
                    RoutingDecision(post.id, NO_ACTION_QUEUE, 0, "no_action", EMPTY_POST, now, None)
                )
                continue
            if rule is None:
                queue, action, rule_name, base = (
                    UNMATCHED,
                    "no_action",
                    UNMATCHED,
                    self.config.unmatched_priority,
                )
            else:
                queue, action, rule_name, base = rule.queue, rule.action, rule.name, rule.priority
            # A rule that says "no action" closes the post; an unmatched post still waits for
            # a person to triage it, so it keeps a priority and its queue's SLA.
            closed = action == "no_action" and rule is not None
            priority = 0 if closed else _priority(base, post, enrichment, tier)
            sla = self.config.queues[queue].sla_minutes
            due = None
            if sla is not None and not closed:
                due = now + timedelta(minutes=sla * (tier.sla_factor if tier else 1.0))
            decisions.append(
                RoutingDecision(
                    post_id=post.id,
                    queue=queue,
                    priority=priority,
                    action=action,
                    rule=rule_name,
                    decided_at=now,
                    sla_due=due,
                )
            )
        return decisions


def _has_words(post: Post) -> bool:
    return any(c.isalnum() for c in f"{post.title or ''} {post.text}")


def _matches(when: Conditions, post: Post, enrichment: Enrichment, tier: str) -> bool:
    checks = (
        when.intent is None or enrichment.intent.label in when.intent,
        when.sentiment is None or enrichment.sentiment.label in when.sentiment,
        when.private is None or enrichment.private.move_private == when.private,
        when.spam is None or enrichment.is_spam == when.spam,
        when.language is None or enrichment.language.label in when.language,
        when.author_tier is None or tier in when.author_tier,
        when.min_followers is None or post.author.followers >= when.min_followers,
        when.source is None or post.source in when.source,
        when.keywords is None or bool(when.keywords.search(post.text)),
    )
    return all(checks)


def _priority(base: int, post: Post, enrichment: Enrichment, tier: Tier | None) -> int:
    """Urgency from the rule, plus how negative the post is, how far it can spread, and tier."""
    score = float(base)
    if enrichment.sentiment.label == "negative":
        score += 15 * enrichment.sentiment.score
    score += min(15.0, 3.0 * math.log10(1 + post.author.followers))
    engagement = sum(
        post.metrics.get(k, 0)
        for k in ("like_count", "retweet_count", "reply_count", "quote_count", "score")
    )
    score += min(5.0, 2.0 * math.log10(1 + max(0, engagement)))
    if tier is not None:
        score += tier.priority_bonus
    return max(0, min(100, round(score)))
