"""``spam.rules.v1``: rule-based spam, with copy-paste campaigns found by identical text."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from core.models import Post
from nlp.registry import register_classifier
from nlp.spam_signals import SpamRules
from nlp.text import normalized_words


def copy_key(text: str) -> str:
    """The same key for texts that differ only in links, mentions, punctuation and digits."""
    return hashlib.sha1(" ".join(normalized_words(text)).encode()).hexdigest()


@register_classifier("spam.rules.v1", assigns=("spam",))
class RuleSpam(SpamRules):
    """Link farms, giveaway bait, hashtag stuffing, throwaway accounts and copy-paste
    campaigns (the same text from several authors in one batch)."""

    def campaign(self, posts: Sequence[Post]) -> list[bool]:
        authors_by_text: dict[str, set[str]] = {}
        keys = [copy_key(post.text) for post in posts]
        for key, post in zip(keys, posts, strict=True):
            if len(post.text) >= 20:
                authors_by_text.setdefault(key, set()).add(post.author.id)
        return [len(authors_by_text.get(key, ())) >= self.campaign_authors for key in keys]
