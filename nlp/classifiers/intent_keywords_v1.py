"""``intent.keywords.v1``: intent from the keywords of the taxonomy (``config/intents.yaml``),
falling back on sentiment and question marks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from core.config import read_yaml
from core.errors import ConfigError
from core.models import Label, Post
from nlp.registry import Classifier, Prior, register_classifier


def load_intent_lexicon(path: Path) -> dict[str, list[re.Pattern[str]]]:
    """Each intent's keyword patterns, in the order of the file."""
    data = read_yaml(path) or {}
    intents = data.get("intents") if isinstance(data, dict) else None
    if not isinstance(intents, dict):
        raise ConfigError(f"{path}: intents: expected a mapping of intents")
    lexicon = {}
    for intent, spec in intents.items():
        keywords = (spec or {}).get("keywords") or []
        try:
            lexicon[intent] = [re.compile(rf"(?i)(?<!\w){k}(?!\w)") for k in keywords]
        except re.error as e:
            raise ConfigError(f"{path}: intents.{intent}.keywords: bad pattern: {e}") from None
    return lexicon


@register_classifier("intent.keywords.v1", assigns=("intent",), requires=("sentiment",))
class KeywordIntent(Classifier):
    """The intent whose keywords match most (earlier intents in the file win ties).

    With no keyword match: negative posts are complaints, positive ones praise, questions
    are questions, and the rest ``other``.
    """

    def __init__(self, *, lexicon_path: str | Path) -> None:
        self.lexicon_path = Path(lexicon_path)
        self._lexicon: dict[str, list[re.Pattern[str]]] | None = None

    def predict(self, posts: Sequence[Post], prior: Sequence[Prior]) -> list[Label]:
        if self._lexicon is None:
            self._lexicon = load_intent_lexicon(self.lexicon_path)
        order = list(self._lexicon)
        results = []
        for post, done in zip(posts, prior, strict=True):
            text = post.text[:5000]
            hits = {i: sum(1 for p in pats if p.search(text)) for i, pats in self._lexicon.items()}
            best = max(order, key=lambda i: (hits[i], -order.index(i)))
            if hits[best]:
                total = sum(hits.values())
                results.append(Label(best, round(0.4 + 0.6 * hits[best] / total, 4), self.name))
                continue
            sentiment = done.get("sentiment")
            mood = sentiment.label if isinstance(sentiment, Label) else None
            if mood == "negative":
                results.append(Label("complaint", 0.4, self.name))
            elif mood == "positive":
                results.append(Label("praise", 0.4, self.name))
            elif "?" in text:
                results.append(Label("question", 0.35, self.name))
            else:
                results.append(Label("other", 0.3, self.name))
        return results
