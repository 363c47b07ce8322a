"""``sentiment.vader.v1``: VADER's lexicon-based compound score, thresholded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.models import Label, Post
from nlp.registry import Classifier, Prior, register_classifier


@register_classifier("sentiment.vader.v1", assigns=("sentiment",))
class VaderSentiment(Classifier):
    """VADER's compound score, thresholded at +/-0.05 (the thresholds its authors suggest)."""

    def __init__(self, *, threshold: float = 0.05) -> None:
        self.threshold = threshold
        self._analyzer: Any = None

    def predict(self, posts: Sequence[Post], prior: Sequence[Prior]) -> list[Label]:
        if self._analyzer is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            self._analyzer = SentimentIntensityAnalyzer()
        results = []
        for post in posts:
            compound = self._analyzer.polarity_scores(post.text[:5000])["compound"]
            if compound >= self.threshold:
                label, score = "positive", 0.5 + compound / 2
            elif compound <= -self.threshold:
                label, score = "negative", 0.5 - compound / 2
            else:
                label, score = "neutral", 1.0 - abs(compound) * 5
            results.append(Label(label, round(score, 4), self.name))
        return results
