"""``intent.m2v.v1``: the trained intent head over static model2vec embeddings (the fast
tier), agreeing with the sentiment found before it."""

from __future__ import annotations

from nlp.heads import IntentHeadClassifier
from nlp.registry import register_classifier


@register_classifier("intent.m2v.v1", assigns=("intent",), requires=("sentiment",))
class StaticIntent(IntentHeadClassifier):
    tier = "m2v"
