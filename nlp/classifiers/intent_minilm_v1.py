"""``intent.minilm.v1``: the trained intent head over all-MiniLM-L6-v2 embeddings (the
accurate tier), agreeing with the sentiment found before it."""

from __future__ import annotations

from nlp.heads import IntentHeadClassifier
from nlp.registry import register_classifier


@register_classifier("intent.minilm.v1", assigns=("intent",), requires=("sentiment",))
class MiniLMIntent(IntentHeadClassifier):
    tier = "minilm"
