"""The base of the rule-based spam classifiers: link farms, giveaway bait, hashtag stuffing,
throwaway accounts and copy-paste campaigns, combined into one score.

Subclasses decide which posts belong to a campaign (the same text from several authors in
one batch)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from core.models import Label, Post
from nlp.registry import Classifier, Prior

_SPAM_PHRASES = re.compile(
    r"(?i)\b(giveaway|free (?:iphone|gift|money|followers)|claim (?:your|now)|dm (?:me )?to claim|"
    r"click (?:the )?link|link in bio|follow (?:and|&|\+) (?:rt|retweet)|airdrop|crypto|bitcoin|"
    r"forex|earn \$?\d+|cheap followers|promo code|100% (?:free|guaranteed)|whatsapp me)\b"
)
_URL = re.compile(r"https?://\S+|www\.\S+")
_HASHTAG = re.compile(r"#\w+")
_THROWAWAY_HANDLE = re.compile(r"^[A-Za-z]+_?\d{6,}$")


class SpamRules(Classifier):
    """Independent signals (bait phrases 0.45, two or more links 0.35, five or more hashtags
    0.3, a throwaway handle with under ten followers 0.3, a campaign 0.6) combined as
    ``1 - prod(1 - signal)``; spam at ``threshold`` or more."""

    def __init__(self, *, threshold: float = 0.5, campaign_authors: int = 3) -> None:
        self.threshold = threshold
        self.campaign_authors = campaign_authors

    def campaign(self, posts: Sequence[Post]) -> list[bool]:
        """For each post: is it part of a copy-paste campaign in this batch?"""
        raise NotImplementedError

    def predict(self, posts: Sequence[Post], prior: Sequence[Prior]) -> list[Label]:
        results = []
        for in_campaign, post in zip(self.campaign(posts), posts, strict=True):
            signals = []
            if _SPAM_PHRASES.search(post.text):
                signals.append(0.45)
            urls = len(_URL.findall(post.text))
            if urls >= 2:
                signals.append(0.35)
            if len(_HASHTAG.findall(post.text)) >= 5:
                signals.append(0.3)
            if _THROWAWAY_HANDLE.match(post.author.handle) and post.author.followers < 10:
                signals.append(0.3)
            if in_campaign:
                signals.append(0.6)
            score = 1.0 - math.prod(1.0 - s for s in signals)
            label = "spam" if score >= self.threshold else "ham"
            results.append(
                Label(label, round(score if label == "spam" else 1 - score, 4), self.name)
            )
        return results
