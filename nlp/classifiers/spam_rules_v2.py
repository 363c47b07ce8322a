"""``spam.rules.v2``: v1's spam rules, with copy-paste campaigns found by near-duplicate text."""

from __future__ import annotations

from collections.abc import Sequence

from core.models import Post
from nlp.minhash import near_duplicate_groups
from nlp.registry import register_classifier
from nlp.spam_signals import SpamRules


@register_classifier("spam.rules.v2", assigns=("spam",))
class NearDuplicateSpam(SpamRules):
    """v1's signals, with copy-paste campaigns found by near-duplicate text (MinHash over
    word 3-grams, Jaccard >= 0.7) posted by several authors in one batch."""

    def campaign(self, posts: Sequence[Post]) -> list[bool]:
        groups = near_duplicate_groups([post.text[:5000] for post in posts])
        authors: dict[int, set[str]] = {}
        for group, post in zip(groups, posts, strict=True):
            authors.setdefault(group, set()).add(post.author.id)
        return [len(authors[g]) >= self.campaign_authors for g in groups]
