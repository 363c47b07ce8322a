"""The base of the trained classifiers: a logistic-regression head over one tier's sentence
embeddings (``m2v``: static model2vec, fast; ``minilm``: all-MiniLM-L6-v2, accurate).

Head files live in the models folder (``earshot train`` writes them); they load on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from core.errors import ModelMissingError
from core.models import Label, Post
from nlp.encoders import ENCODER_IDS, encoder_for
from nlp.registry import Classifier, Prior
from nlp.training import Head, head_path


class HeadClassifier(Classifier):
    """A trained head over one tier's embeddings. Returns the most probable label and its
    calibrated probability."""

    task: ClassVar[str] = ""
    tier: ClassVar[str] = ""

    def __init__(self, *, models_dir: str | Path) -> None:
        self.models_dir = Path(models_dir)
        self._head: Head | None = None

    @property
    def head(self) -> Head:
        if self._head is None:
            path = head_path(self.models_dir, self.task, self.tier)
            head = Head.load(path)
            trained_on = head.meta.get("encoder")
            if self.tier == "minilm" and trained_on != ENCODER_IDS["minilm"]:
                raise ModelMissingError(
                    f"{path} was trained on encoder {trained_on or 'minilm-torch-int8'!r}, this"
                    f" version encodes with {ENCODER_IDS['minilm']!r}: run `earshot train`"
                    " (or `make models`)"
                )
            self._head = head
        return self._head

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        encoder = encoder_for(self.tier, self.models_dir)
        return self.head.predict_proba(self.head.features(texts, encoder.encode))

    def predict(self, posts: Sequence[Post], prior: Sequence[Prior]) -> list[Label]:
        if not posts:
            return []
        probs = self.probabilities([post.text for post in posts])
        best = self.choose(probs, prior)
        return [
            Label(self.head.classes[i], round(float(p[i]), 4), self.name)
            for i, p in zip(best, probs, strict=True)
        ]

    def choose(self, probs: np.ndarray, prior: Sequence[Prior]) -> np.ndarray:
        """The label index for each post: the most probable one."""
        return probs.argmax(axis=1)


class IntentHeadClassifier(HeadClassifier):
    """An intent head that agrees with the sentiment found before it. A negative post is
    never ``praise`` or ``other``: when the head prefers one of those, the post gets the
    most probable remaining intent if that has at least :attr:`SPECIFIC` probability, and
    ``complaint`` (general dissatisfaction) otherwise. The score stays the head's own
    probability for the label given.

    On the 9,178 negative airline tweets the MiniLM tier then calls 4.6% praise instead of
    8.9% and 19% other instead of 38% (the rest are tweets the sentiment head misses). With
    no threshold, weak second guesses sent extra tweets to ``account`` and so private.

    Subclasses register with ``requires=("sentiment",)``.
    """

    task = "intent"
    NOT_WHEN_NEGATIVE: ClassVar[tuple[str, ...]] = ("praise", "other")
    SPECIFIC: ClassVar[float] = 0.15

    def choose(self, probs: np.ndarray, prior: Sequence[Prior]) -> np.ndarray:
        best = super().choose(probs, prior)
        classes = list(self.head.classes)
        barred = [i for i, c in enumerate(classes) if c in self.NOT_WHEN_NEGATIVE]
        for row, done in enumerate(prior):
            sentiment = done.get("sentiment")
            negative = isinstance(sentiment, Label) and sentiment.label == "negative"
            if not negative or best[row] not in barred:
                continue
            rest = probs[row].copy()
            rest[barred] = -1.0
            specific = int(rest.argmax())
            best[row] = specific if rest[specific] >= self.SPECIFIC else classes.index("complaint")
        return best
