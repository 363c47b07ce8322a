"""``pii.regex.v1``: personal data and identifiers found by validated regular expressions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.models import PiiResult, Post
from nlp.pii_patterns import compile_identifiers, find_pii
from nlp.registry import Classifier, Prior, register_classifier


@register_classifier("pii.regex.v1", assigns=("pii",))
class RegexPii(Classifier):
    """Emails, phones, Luhn-checked cards, mod-97-checked IBANs and configurable identifiers."""

    def __init__(self, *, patterns: Mapping[str, str] | None = None) -> None:
        self.identifiers = compile_identifiers(patterns)

    def predict(self, posts: Sequence[Post], prior: Sequence[Prior]) -> list[PiiResult]:
        return [
            PiiResult(tuple(find_pii(post.text, self.identifiers)), self.name) for post in posts
        ]
