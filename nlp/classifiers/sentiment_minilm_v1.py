"""``sentiment.minilm.v1``: the trained sentiment head over all-MiniLM-L6-v2 embeddings
(the accurate tier)."""

from __future__ import annotations

from nlp.heads import HeadClassifier
from nlp.registry import register_classifier


@register_classifier("sentiment.minilm.v1", assigns=("sentiment",))
class MiniLMSentiment(HeadClassifier):
    task, tier = "sentiment", "minilm"
