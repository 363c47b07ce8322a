"""What a team's labels buy (``earshot eval --learning-curve``): the head of a task trained on
the team's data plus 0, 100, 300, 1,000 and 3,000 of the team's own labelled posts, each scored
on the same test posts that no head saw.

The file is split once: the rows matching ``test_where`` are the test (e.g. one airline the
labels never mention), else the last ``test_share`` of the file (a stream in time order: the
earlier posts teach, the later ones test). The labelled posts are drawn from the rest in a
seeded random order, each size holding the smaller ones, so the curve shows what more labels
add and not which labels were drawn. Each text is encoded once for every size.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.errors import InputError
from nlp.evaluation import Scores, scores
from nlp.training import TRAINED_TASKS, train_head, training_set

if TYPE_CHECKING:
    from core.config import Config

SIZES = (100, 300, 1000, 3000)
TEST_SHARE = 0.3
SEED = 13


@dataclass(frozen=True)
class Point:
    labels: int
    """How many of the team's labelled posts the head learned from (0: the team data alone)."""
    scores: Scores


@dataclass(frozen=True)
class Curve:
    task: str
    tier: str
    pool: int
    test: int
    points: list[Point]
    skipped: list[int]
    """Sizes larger than the labelled posts available for training."""

    def report(self) -> str:
        lines = [
            f"{self.task} head ({self.tier} tier): team data plus N labelled posts drawn from"
            f" {self.pool}, scored on {self.test} test posts",
            f"{'labels':>7} {'accuracy':>9} {'macro-F1':>9} {'macro-recall':>13}",
        ]
        for point in self.points:
            s = point.scores.summary()
            lines.append(
                f"{point.labels:>7} {s['accuracy']:>9.3f} {s['macro_f1']:>9.3f}"
                f" {s['macro_recall']:>13.3f}"
            )
        if self.skipped:
            lines.append(
                f"not enough labelled posts for {', '.join(map(str, self.skipped))}"
                f" (only {self.pool} outside the test)"
            )
        return "\n".join(lines)


def split(
    rows: Sequence[tuple[str, str, bool]], test_share: float = TEST_SHARE
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(pool, test)`` from ``(text, label, is_test)`` rows: the flagged rows are the test,
    or, when none is flagged, the last ``test_share`` of the rows."""
    if any(flag for _, _, flag in rows):
        pool = [(t, label) for t, label, flag in rows if not flag]
        test = [(t, label) for t, label, flag in rows if flag]
    else:
        cut = len(rows) - max(1, round(len(rows) * test_share))
        pool = [(t, label) for t, label, _ in rows[:cut]]
        test = [(t, label) for t, label, _ in rows[cut:]]
    if not pool or not test:
        raise InputError(
            f"the learning curve needs posts to learn from and posts to test on"
            f" (got {len(pool)} and {len(test)})"
        )
    return pool, test


def learning_curve(
    config: Config,
    task: str,
    tier: str,
    pool: Sequence[tuple[str, str]],
    test: Sequence[tuple[str, str]],
    *,
    sizes: Sequence[int] = SIZES,
    encode: Callable[[Sequence[str]], np.ndarray] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Curve:
    """Train ``task``'s head on the team's data plus each size of ``pool``; score on ``test``."""
    if task not in TRAINED_TASKS:
        raise InputError(f"the learning curve trains heads: {', '.join(TRAINED_TASKS)}")
    if encode is None:
        from nlp.encoders import encoder_for

        encode = encoder_for(tier, config.models_dir).encode
    team = training_set(task, intents_path=config.intents_path, samples_dir=_samples(config))
    known = {e.label for e in team}
    strange = sorted({label for _, label in [*pool, *test]} - known)
    if strange:
        raise InputError(
            f"labels {strange[:5]} are not {task} labels ({', '.join(sorted(known))});"
            " map them with --label-map"
        )
    drawn = list(pool)
    random.Random(SEED).shuffle(drawn)
    usable = sorted({0, *(n for n in sizes if n <= len(drawn))})
    skipped = [n for n in sizes if n > len(drawn)]
    cached = _Cached(encode)
    cached.encode([e.text for e in team] + [t for t, _ in drawn[: max(usable)]])
    test_texts = [t for t, _ in test]
    test_labels = [label for _, label in test]
    points = []
    for n in usable:
        if progress:
            progress(f"training {task} with {n} labelled posts")
        examples = training_set(
            task,
            intents_path=config.intents_path,
            samples_dir=_samples(config),
            labelled=drawn[:n],
        )
        head = train_head(task, tier, examples, cached.encode)
        probs = head.predict_proba(head.features(test_texts, cached.encode))
        predicted = [head.classes[i] for i in probs.argmax(axis=1)]
        points.append(Point(n, scores(test_labels, predicted)))
    return Curve(task, tier, len(drawn), len(test), points, skipped)


def _samples(config: Config) -> Path | None:
    samples = config.base_dir / "samples"
    return samples if samples.is_dir() else None


class _Cached:
    """An encoder that encodes each distinct text once."""

    def __init__(self, encode: Callable[[Sequence[str]], np.ndarray]) -> None:
        self._encode = encode
        self._vectors: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            for text, vector in zip(missing, self._encode(missing), strict=True):
                self._vectors[text] = vector
        return np.stack([self._vectors[t] for t in texts]) if texts else np.zeros((0, 0))
