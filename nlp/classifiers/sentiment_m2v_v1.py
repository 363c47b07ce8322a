"""``sentiment.m2v.v1``: the trained sentiment head over static model2vec embeddings (the
fast tier)."""

from __future__ import annotations

from nlp.heads import HeadClassifier
from nlp.registry import register_classifier


@register_classifier("sentiment.m2v.v1", assigns=("sentiment",))
class StaticSentiment(HeadClassifier):
    task, tier = "sentiment", "m2v"
