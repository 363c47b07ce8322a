"""Routing rules (YAML), the matcher, and priority and SLA computation."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core.config import read_yaml
from core.errors import RoutingConfigError
from core.models import (
    ACTIONS,
    ENGAGEMENT_METRICS,
    INTENTS,
    SENTIMENTS,
    UNMATCHED,
    Enrichment,
    Post,
    RoutingDecision,
)
from core.timeutil import now as current_time
from routing.articles import ArticleMatcher, HelpArticle, load_articles
from routing.calendar import BusinessHours, parse_business_hours

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
BRAND_TIER = "brand"
"""The tier of the brand's own accounts: their replies in a conversation are the brand's
first response to the customer's case."""
DEFAULT_REOPEN_AFTER = timedelta(minutes=60)
DEFAULT_ARTICLE_SCORE = 0.15


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
    """A service queue and its response-time promise: ``sla_minutes`` for the standard tier,
    ``tier_sla`` per tier (else the standard target times the tier's ``sla_factor``), counted
    in the ``hours`` calendar's business hours when it has one, else around the clock."""

    name: str
    sla_minutes: int | None
    tier_sla: dict[str, int] = field(default_factory=dict)
    hours: BusinessHours | None = None
    webhook: str | None = None

    def target(self, tier: Tier | None) -> float | None:
        """Minutes of (business) time to the first response for an author of ``tier``."""
        if tier is not None and tier.name in self.tier_sla:
            return float(self.tier_sla[tier.name])
        if self.sla_minutes is None:
            return None
        return self.sla_minutes * (tier.sla_factor if tier else 1.0)

    def due(self, start: datetime, minutes: float) -> datetime:
        if self.hours is None:
            return start + timedelta(minutes=minutes)
        return self.hours.add(start, minutes)


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
    calendars: dict[str, BusinessHours] = field(default_factory=dict)
    articles: tuple[HelpArticle, ...] = ()
    article_min_score: float = DEFAULT_ARTICLE_SCORE
    reopen_after: timedelta = DEFAULT_REOPEN_AFTER
    """A new post in the conversation of a closed case reopens it (a closed case is never
    duplicated) when the case closed more than this ago, or when the post needs a person;
    a post that needs nothing (a "thanks!") sooner than that joins the closed case quietly."""

    def tier_named(self, name: str) -> Tier | None:
        return next((t for t in self.tiers if t.name == name), None)

    @property
    def brand_handles(self) -> frozenset[str]:
        tier = self.tier_named(BRAND_TIER)
        return tier.handles if tier else frozenset()


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

    unknown_top = sorted(set(data) - TOP_KEYS)
    if unknown_top:
        raise RoutingConfigError(f"{path}: unknown keys {unknown_top}; expected {sorted(TOP_KEYS)}")
    calendars: dict[str, BusinessHours] = {}
    for name, spec in (data.get("calendars") or {}).items():
        if not isinstance(spec, dict):
            raise RoutingConfigError(f"{path}: calendars.{name} must be a mapping")
        calendars[name] = parse_business_hours(name, spec, f"{path}: calendars.{name}")

    tier_names_declared = list((data.get("tiers") or {}).keys())
    queues: dict[str, Queue] = {}
    for name, spec in (data.get("queues") or {}).items():
        queues[name] = _queue(
            name, spec or {}, f"{path}: queues.{name}", calendars, tier_names_declared
        )
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
    articles: tuple[HelpArticle, ...] = ()
    if data.get("help_articles"):
        articles = load_articles(path.parent / str(data["help_articles"]))
    cases = data.get("cases") or {}
    if not isinstance(cases, dict) or set(cases) - {"reopen_after_minutes", "article_min_score"}:
        raise RoutingConfigError(
            f"{path}: cases: expected a mapping with reopen_after_minutes, article_min_score"
        )
    reopen = cases.get("reopen_after_minutes", DEFAULT_REOPEN_AFTER.total_seconds() / 60)
    score = cases.get("article_min_score", DEFAULT_ARTICLE_SCORE)
    if not isinstance(reopen, int | float) or isinstance(reopen, bool) or reopen < 0:
        raise RoutingConfigError(f"{path}: cases.reopen_after_minutes must be a number >= 0")
    if not isinstance(score, int | float) or isinstance(score, bool) or not 0 <= score <= 1:
        raise RoutingConfigError(f"{path}: cases.article_min_score must be from 0 to 1")
    return RoutingConfig(
        queues=queues,
        tiers=tuple(tiers),
        rules=tuple(rules),
        unmatched_priority=int(data.get("unmatched_priority", 30)),
        path=path,
        calendars=calendars,
        articles=articles,
        article_min_score=float(score),
        reopen_after=timedelta(minutes=float(reopen)),
    )


TOP_KEYS = {
    "queues",
    "tiers",
    "rules",
    "unmatched_priority",
    "calendars",
    "help_articles",
    "cases",
}
QUEUE_KEYS = {"sla_minutes", "hours", "webhook"}


def _queue(
    name: str,
    spec: Any,
    where: str,
    calendars: dict[str, BusinessHours],
    tiers: Sequence[str],
) -> Queue:
    if not isinstance(spec, dict):
        raise RoutingConfigError(f"{where}: expected a mapping")
    unknown = sorted(set(spec) - QUEUE_KEYS)
    if unknown:
        raise RoutingConfigError(f"{where}: unknown keys {unknown}; expected {sorted(QUEUE_KEYS)}")
    sla = spec.get("sla_minutes")
    per_tier: dict[str, int] = {}
    if isinstance(sla, dict):  # {standard: 60, vip: 15}
        per_tier = dict(sla)
        for tier, minutes in per_tier.items():
            if tier not in (*tiers, DEFAULT_TIER):
                raise RoutingConfigError(
                    f"{where}.sla_minutes: unknown tier {tier!r}; expected some of"
                    f" {[*tiers, DEFAULT_TIER]}"
                )
            if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes <= 0:
                raise RoutingConfigError(f"{where}.sla_minutes.{tier} must be a positive integer")
        sla = per_tier.pop(DEFAULT_TIER, None)
    if sla is not None and (not isinstance(sla, int) or isinstance(sla, bool) or sla <= 0):
        raise RoutingConfigError(f"{where}.sla_minutes must be a positive integer")
    hours = None
    if spec.get("hours") is not None:
        if spec["hours"] not in calendars:
            raise RoutingConfigError(
                f"{where}.hours: calendar {spec['hours']!r} is not declared under 'calendars'"
                f" (declared: {sorted(calendars)})"
            )
        hours = calendars[spec["hours"]]
    webhook = spec.get("webhook")
    if webhook is not None and (
        not isinstance(webhook, str) or not webhook.startswith(("https://", "http://"))
    ):
        raise RoutingConfigError(f"{where}.webhook must be an http(s) URL")
    return Queue(name, sla, per_tier, hours, webhook)


class Router:
    """Matches each classified post against the rules, first match wins."""

    def __init__(self, config: RoutingConfig) -> None:
        self.config = config
        self._articles: ArticleMatcher | None = None

    @property
    def articles(self) -> ArticleMatcher:
        if self._articles is None:  # built on first use: __init__ stays cheap
            self._articles = ArticleMatcher(
                self.config.articles, min_score=self.config.article_min_score
            )
        return self._articles

    def tier(self, post: Post, known: str | None = None) -> Tier | None:
        """The author's tier: ``known`` (from the customer's linked profile, e.g. the CRM's
        tier) when given, else the first tier of routing.yaml whose handles or follower
        threshold match."""
        if known is not None and known != DEFAULT_TIER:
            return self.config.tier_named(known)
        if known == DEFAULT_TIER:
            return None
        handle = post.author.handle.lower().lstrip("@")
        for tier in self.config.tiers:
            if handle in tier.handles or post.author.id.lower() in tier.handles:
                return tier
            if tier.min_followers is not None and post.author.followers >= tier.min_followers:
                return tier
        return None

    def is_brand(self, post: Post) -> bool:
        """Whether the post is by one of the brand's own accounts."""
        handle = post.author.handle.lower().lstrip("@")
        return handle in self.config.brand_handles

    def match(self, post: Post, enrichment: Enrichment, tier: Tier | None = None) -> Rule | None:
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
        tiers: Mapping[str, str] | None = None,
    ) -> list[RoutingDecision]:
        """One decision per post; a post no rule matches goes to the ``unmatched`` queue.

        ``tiers`` maps post ids to the tier of their author's linked profile (the CRM's),
        which wins over routing.yaml's own tiers. The SLA clock starts when the customer
        posted (``created_at``), not when Earshot heard the post.
        """
        if len(posts) != len(enrichments):
            raise ValueError(f"{len(posts)} posts but {len(enrichments)} enrichments")
        now = now or current_time()
        tiers = tiers or {}
        decisions = []
        for post, enrichment in zip(posts, enrichments, strict=True):
            if post.id != enrichment.post_id:
                raise ValueError(f"enrichment for {enrichment.post_id} paired with post {post.id}")
            tier = self.tier(post, tiers.get(post.id))
            tier_name = tier.name if tier else DEFAULT_TIER
            if not _has_words(post):  # nothing to read, nothing to answer: never to a person
                decisions.append(
                    RoutingDecision(
                        post.id,
                        NO_ACTION_QUEUE,
                        0,
                        "no_action",
                        EMPTY_POST,
                        now,
                        None,
                        tier=tier_name,
                    )
                )
                continue
            rule = self.match(post, enrichment, tier)
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
            due = None
            target = self.config.queues[queue].target(tier)
            if target is not None and not closed:
                due = self.config.queues[queue].due(post.created_at, target)
            reasons: dict[str, float] = {}
            priority = 0
            if not closed:
                reasons = priority_reasons(base, post, enrichment, tier, due=due, at=now)
                priority = priority_of(reasons)
            action, detail = self._detail(action, post, enrichment, rule_name)
            decisions.append(
                RoutingDecision(
                    post_id=post.id,
                    queue=queue,
                    priority=priority,
                    action=action,
                    rule=rule_name,
                    decided_at=now,
                    sla_due=due,
                    reasons=reasons,
                    detail=detail,
                    tier=tier_name,
                )
            )
        return decisions

    def _detail(
        self, action: str, post: Post, enrichment: Enrichment, rule: str
    ) -> tuple[str, dict[str, Any]]:
        """What backs the suggested action: the private decision's reasons, or the help
        article chosen by similarity (a how-to with no article scoring high enough is
        answered publicly instead)."""
        detail: dict[str, Any] = {"rule": rule}
        private = enrichment.results.get("private")
        if action == "move_private" and private is not None:
            detail["private_reasons"] = list(getattr(private, "reasons", ()))
        if action == "self_service":
            text = f"{post.title or ''} {post.text}".strip()
            match = self.articles.best(text)
            if match is None:
                detail["article"] = None
                detail["note"] = (
                    f"no help article scored {self.config.article_min_score} or more:"
                    " answer in person"
                )
                return "reply_public", detail
            detail["article"] = {
                "id": match.article.id,
                "title": match.article.title,
                "url": match.article.url,
                "score": match.score,
            }
        return action, detail


PRIORITY_PARTS = ("rule", "negative", "followers", "engagement", "velocity", "tier", "waiting")
"""The priority's components, in the order an agent reads them."""


def priority_reasons(
    base: int,
    post: Post,
    enrichment: Enrichment,
    tier: Tier | None,
    *,
    due: datetime | None,
    at: datetime,
) -> dict[str, float]:
    """Points per component: the rule's urgency, how negative the post is, how far it can
    spread (followers, engagement received, engagement per hour), the author's tier, and how
    long the customer has waited already (see :func:`waiting_points`)."""
    parts: dict[str, float] = {"rule": float(base)}
    if enrichment.sentiment.label == "negative":
        parts["negative"] = 15 * enrichment.sentiment.score
    parts["followers"] = min(15.0, 3.0 * math.log10(1 + post.author.followers))
    engagement = max(0, sum(post.metrics.get(k, 0) for k in ENGAGEMENT_METRICS))
    parts["engagement"] = min(5.0, 2.0 * math.log10(1 + engagement))
    hours = max(0.25, (at - post.created_at).total_seconds() / 3600)
    parts["velocity"] = min(5.0, 2.5 * math.log10(1 + engagement / hours))
    if tier is not None and tier.priority_bonus:
        parts["tier"] = float(tier.priority_bonus)
    parts["waiting"] = waiting_points(post.created_at, due, at)
    return {k: round(v, 1) for k, v in parts.items() if round(v, 1)}


def waiting_points(opened_at: datetime, due: datetime | None, at: datetime) -> float:
    """Up to 15 points as the customer waits: the share of the SLA already used (15 once it
    is breached); without an SLA, one point per two hours, up to 10."""
    elapsed = max(0.0, (at - opened_at).total_seconds())
    if due is not None:
        window = max(60.0, (due - opened_at).total_seconds())
        return round(15.0 * min(1.0, elapsed / window), 1)
    return round(min(10.0, elapsed / 7200), 1)


def priority_of(reasons: Mapping[str, float]) -> int:
    return max(0, min(100, round(sum(reasons.values()))))


def _has_words(post: Post) -> bool:
    return any(c.isalnum() for c in f"{post.title or ''} {post.text}")


def _matches(when: Conditions, post: Post, enrichment: Enrichment, tier: str) -> bool:
    # Stops at the first condition that fails: most rules fail on the first they test.
    return (
        (when.intent is None or enrichment.intent.label in when.intent)
        and (when.sentiment is None or enrichment.sentiment.label in when.sentiment)
        and (when.private is None or enrichment.private.move_private == when.private)
        and (when.spam is None or enrichment.is_spam == when.spam)
        and (when.language is None or enrichment.language.label in when.language)
        and (when.author_tier is None or tier in when.author_tier)
        and (when.min_followers is None or post.author.followers >= when.min_followers)
        and (when.source is None or post.source in when.source)
        and (when.keywords is None or bool(when.keywords.search(post.text)))
    )
