"""``private.rules.v2``: the rules of ``private.rules.v1``, and a service problem the customer
has with their own order, account, device or service.

Agents take such a case private because they need its details (an order, a booking, an
account, a device) to look it up: across brands, about half of the posts that report a
problem went private, and few of the others (praise, questions, chatter). v1 moved only the
posts that showed an identifier, a billing or login issue, or a dispute, and missed most of
them: on the TWCS development slice (3,702 opening tweets, 43 % moved private by the brands'
own agents) v1 found 27 % of the posts that went private at 54 % precision (F1 0.36), v2
finds 74 % at 53 % (F1 0.62). The rule stays weak (score 0.55): a brand's own practice, once
learned (``private.brand.v2``), overrules it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.models import Label, Post, PrivateDecision
from nlp.classifiers.private_rules_v1 import RulePrivate
from nlp.registry import Prior, register_classifier

PROBLEM_INTENTS = frozenset({"billing", "account", "delivery", "technical", "cancel", "complaint"})
PROBLEM_REASON = "a problem with the customer's own order, account or service (details needed)"
PROBLEM_WEIGHT = 0.55
_OWN = re.compile(r"(?i)\b(?:i|i'm|im|i've|ive|i'd|me|my|we|we're|our|us)\b")


@register_classifier(
    "private.rules.v2", assigns=("private",), requires=("spam", "pii", "intent", "sentiment")
)
class RulePrivateV2(RulePrivate):
    """v1's reasons, plus: a post about a problem (billing, account, delivery, technical,
    cancellation, complaint) that is not positive, and is about the customer's own case (in
    the first person) or negative."""

    def predict(self, posts: Sequence[Post], prior: Sequence[Prior]) -> list[PrivateDecision]:
        first = super().predict(posts, prior)
        out = []
        for post, done, decision in zip(posts, prior, first, strict=True):
            if not _problem(post, done):
                out.append(PrivateDecision(*_fields(decision), self.name))
                continue
            reasons = (*decision.reasons, PROBLEM_REASON)
            rest = 1.0 - decision.score if decision.reasons else 1.0
            score = 1.0 - rest * (1.0 - PROBLEM_WEIGHT)
            out.append(PrivateDecision(True, round(score, 4), reasons, self.name))
        return out


def _fields(decision: PrivateDecision) -> tuple[bool, float, tuple[str, ...]]:
    return decision.move_private, decision.score, decision.reasons


def _problem(post: Post, done: Prior) -> bool:
    spam, intent, sentiment = done.get("spam"), done.get("intent"), done.get("sentiment")
    if isinstance(spam, Label) and spam.label == "spam":
        return False
    if not isinstance(intent, Label) or intent.label not in PROBLEM_INTENTS:
        return False
    mood = sentiment.label if isinstance(sentiment, Label) else "neutral"
    if mood == "positive":
        return False
    return mood == "negative" or _OWN.search(post.text) is not None
