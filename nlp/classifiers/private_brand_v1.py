"""``private.brand.v1``: public-to-private as each brand's own agents practise it.

The rules of ``private.rules.v1`` decide first (they stay the features and the fallback);
then the brand's history, learned from its agents' replies (``earshot import-history``,
brand replies the listeners see, agents' corrections) and trained by ``earshot train`` into
``private.brand.v1.npz``, decides as :mod:`nlp.practice` explains. The brand a post
addresses is the post's ``brand`` when known, else the first configured brand account it
mentions (``@HaldenSupport``). Without a trained file, this is the rules alone.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path

from core.history import brand_key
from core.models import Label, Post, PrivateDecision
from nlp.classifiers.private_rules_v1 import RulePrivate
from nlp.encoders import encoder_for
from nlp.practice import FILE, PracticeModel, load
from nlp.registry import Classifier, Prior, register_classifier

_MENTION = re.compile(r"(?<![\w@])@(\w{1,30})")


def brand_of(post: Post, brands: frozenset[str]) -> str | None:
    """The brand a post addresses: its own ``brand``, else the first brand account it
    mentions (lower case)."""
    if post.brand:
        return brand_key(post.brand)
    for handle in _MENTION.findall(post.text):
        if handle.lower() in brands:
            return handle.lower()
    return None


@register_classifier("private.brand.v1", assigns=("private",), requires=("spam", "pii", "intent"))
class BrandPrivate(Classifier):
    rules_class: type[RulePrivate] = RulePrivate
    """The rules that decide alone for a brand without history, and feed the vote across
    brands."""

    def __init__(self, *, models_dir: str | Path, brands: Sequence[str] = ()) -> None:
        self.models_dir = Path(models_dir)
        self.brands = frozenset(brand_key(b) for b in brands)
        self.rules = self.rules_class()
        self._model: PracticeModel | None = None
        self._loaded = False
        self._lock = threading.Lock()

    @property
    def model(self) -> PracticeModel | None:
        with self._lock:
            if not self._loaded:
                path = self.models_dir / FILE
                self._model = load(path) if path.is_file() else None
                self._loaded = True
        return self._model

    def predict(self, posts: Sequence[Post], prior: Sequence[Prior]) -> list[PrivateDecision]:
        rules = self.rules.predict(posts, prior)
        model = self.model
        if model is None or not posts:
            return [PrivateDecision(r.move_private, r.score, r.reasons, self.name) for r in rules]
        vectors = encoder_for("m2v", self.models_dir).encode([p.text for p in posts])
        out = []
        for post, rule, vector, done in zip(posts, rules, vectors, prior, strict=True):
            spam = done.get("spam")
            if isinstance(spam, Label) and spam.label == "spam":
                out.append(PrivateDecision(False, rule.score, (), self.name))
                continue
            move, score, reasons = model.decide(
                brand_of(post, self.brands), vector, (rule.move_private, rule.score, rule.reasons)
            )
            out.append(PrivateDecision(move, score, reasons, self.name))
        return out
