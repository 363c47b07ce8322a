"""Routing decides, from rules kept as data, which service queue a classified post goes to,
with a priority (and its reasons), a suggested action (and what backs it) and an SLA due time
counted in the queue's business hours. No match is an explicit outcome.
"""

from core.errors import RoutingConfigError
from routing.articles import ArticleMatch, ArticleMatcher, HelpArticle, load_articles
from routing.calendar import BusinessHours, parse_business_hours
from routing.rules import (
    BRAND_TIER,
    DEFAULT_TIER,
    PRIORITY_PARTS,
    Queue,
    Router,
    RoutingConfig,
    Rule,
    Tier,
    load_routing,
    priority_of,
    waiting_points,
)

__all__ = [
    "BRAND_TIER",
    "DEFAULT_TIER",
    "PRIORITY_PARTS",
    "ArticleMatch",
    "ArticleMatcher",
    "BusinessHours",
    "HelpArticle",
    "Queue",
    "Router",
    "RoutingConfig",
    "RoutingConfigError",
    "Rule",
    "Tier",
    "load_articles",
    "load_routing",
    "parse_business_hours",
    "priority_of",
    "waiting_points",
]
