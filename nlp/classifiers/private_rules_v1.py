"""``private.rules.v1``: whether to move a conversation to a private channel, from the PII,
intent and spam found before it and from dispute and personal-data phrases."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from core.models import Label, PiiResult, Post, PrivateDecision
from nlp.registry import Classifier, Prior, register_classifier

_PII_REASONS = {
    "email": "email address in post",
    "phone": "phone number in post",
    "card": "payment card number in post",
    "iban": "bank account (IBAN) in post",
    "order_number": "order number in post",
    "account_number": "account number in post",
    "booking_reference": "booking reference in post",
}
_INTENT_REASONS = {"billing": "billing or refund issue", "account": "login or account problem"}
_DISPUTE = re.compile(
    r"(?i)\b(chargeback|fraud(?:ulent)?|scam(?:med)?|lawyer|legal action|sue|small claims|"
    r"stolen|dispute|report(?:ing)? you to)\b"
)
_PERSONAL = re.compile(
    r"(?i)\b(my (?:home )?address|date of birth|my dob|passport|social security|my ssn)\b"
)


@register_classifier("private.rules.v1", assigns=("private",), requires=("spam", "pii", "intent"))
class RulePrivate(Classifier):
    """Move private when the post holds identifiers or personal data, is about billing or a
    login, or is a dispute; never for spam, and not merely because a post is negative."""

    def predict(self, posts: Sequence[Post], prior: Sequence[Prior]) -> list[PrivateDecision]:
        results = []
        for post, done in zip(posts, prior, strict=True):
            spam = done.get("spam")
            if isinstance(spam, Label) and spam.label == "spam":
                results.append(PrivateDecision(False, 0.05, (), self.name))
                continue
            reasons: list[str] = []
            weights: list[float] = []
            pii = done.get("pii")
            for span in pii.spans if isinstance(pii, PiiResult) else ():
                reason = _PII_REASONS.get(span.type)
                if reason and reason not in reasons:
                    reasons.append(reason)
                    weights.append(0.9)
            intent = done.get("intent")
            if isinstance(intent, Label) and intent.label in _INTENT_REASONS:
                reasons.append(_INTENT_REASONS[intent.label])
                weights.append(0.6 + 0.3 * intent.score)
            if _DISPUTE.search(post.text):
                reasons.append("dispute that should not be argued in public")
                weights.append(0.7)
            if _PERSONAL.search(post.text):
                reasons.append("personal data in post")
                weights.append(0.8)
            score = 1.0 - math.prod(1.0 - w for w in weights) if weights else 0.05
            results.append(
                PrivateDecision(bool(reasons), round(score, 4), tuple(reasons), self.name)
            )
        return results
