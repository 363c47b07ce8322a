"""Each brand's public-to-private practice as a model: its agents' past decisions, as
embedded customer posts with their labels, and how to decide a new post from them.

For a brand with at least :data:`MIN_HISTORY` labelled posts, a new post goes private when
the brand's agents moved similar posts private: the similarity-weighted vote of its ten
nearest past posts (cosine, static MiniLM embeddings) blended with the brand's overall rate
(60/40), above one half. With less history, the same vote over every brand's posts is
blended with the rules' own score (50/50); with none, the rules decide. Personal data in
public (a card, an IBAN, an e-mail address, a phone number, an account number) always goes
private, whatever the habit.
Every decision says why ("your team moved 8 of 10 similar posts private").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.history import PracticeExample

MIN_HISTORY = 10
"""Fewer labelled posts than this: the brand's own practice is not used yet."""
MIN_GLOBAL = 30
NEIGHBOURS = 10
ALWAYS_PRIVATE = {
    "payment card number in post",
    "bank account (IBAN) in post",
    "email address in post",
    "phone number in post",
    "account number in post",
}
FILE = "private.brand.v1.npz"


@dataclass(frozen=True)
class Practice:
    vectors: np.ndarray
    labels: np.ndarray
    """1 = moved private."""

    @property
    def size(self) -> int:
        return int(self.labels.shape[0])

    @property
    def rate(self) -> float:
        return float((self.labels.sum() + 1) / (self.size + 2))

    def vote(self, vector: np.ndarray) -> tuple[float, int, int]:
        """Similarity-weighted share of the nearest posts that went private, and how many
        of the k nearest did."""
        sims = self.vectors @ vector
        k = min(NEIGHBOURS, self.size)
        nearest = np.argpartition(-sims, k - 1)[:k]
        weights = np.maximum(sims[nearest], 0.0) + 1e-6
        labels = self.labels[nearest]
        return float((weights * labels).sum() / weights.sum()), int(labels.sum()), k


@dataclass(frozen=True)
class PracticeModel:
    brands: dict[str, Practice]
    everyone: Practice | None

    def decide(
        self, brand: str | None, vector: np.ndarray, rule: tuple[bool, float, tuple[str, ...]]
    ) -> tuple[bool, float, tuple[str, ...]]:
        """The decision for a post of ``brand`` (``rule``: the rules' own decision)."""
        _, score, reasons = rule
        if ALWAYS_PRIVATE & set(reasons):
            return True, max(score, 0.9), reasons
        own = self.brands.get(brand) if brand else None
        if own is not None and own.size >= MIN_HISTORY:
            vote, private, k = own.vote(vector)
            p = 0.6 * vote + 0.4 * own.rate
            why = (
                f"your team moved {private} of {k} similar posts private"
                f" ({round(100 * own.rate)} % of {own.size} in all)",
            )
            return p >= 0.5, round(p, 3), why + tuple(r for r in reasons if r not in why)
        if self.everyone is not None and self.everyone.size >= MIN_GLOBAL:
            vote, private, k = self.everyone.vote(vector)
            p = 0.5 * vote + 0.5 * score
            why = (f"across brands, {private} of {k} similar posts went private",)
            return p >= 0.5, round(p, 3), tuple(reasons) + why
        return rule


def build(
    examples: Sequence[PracticeExample], encode: Callable[[list[str]], np.ndarray]
) -> PracticeModel:
    if not examples:
        return PracticeModel({}, None)
    vectors = encode([e.text for e in examples]).astype(np.float32)
    labels = np.array([1.0 if e.private else 0.0 for e in examples], dtype=np.float32)
    brands: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        brands.setdefault(e.brand, []).append(i)
    return PracticeModel(
        {b: Practice(vectors[idx], labels[idx]) for b, idx in brands.items()},
        Practice(vectors, labels),
    )


def save(model: PracticeModel, path: Path) -> Path:
    arrays: dict[str, np.ndarray] = {}
    names = sorted(model.brands)
    for i, name in enumerate(names):
        arrays[f"v{i}"] = model.brands[name].vectors.astype(np.float16)
        arrays[f"l{i}"] = model.brands[name].labels
    header = {"brands": names, "version": 1}
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)  # type: ignore[arg-type]
    tmp.replace(path)
    return path


def load(path: Path) -> PracticeModel:
    with np.load(path) as data:
        header = json.loads(bytes(data["header"]).decode("utf-8"))
        brands = {
            name: Practice(data[f"v{i}"].astype(np.float32), data[f"l{i}"])
            for i, name in enumerate(header["brands"])
        }
    everyone = None
    if brands:
        everyone = Practice(
            np.concatenate([p.vectors for p in brands.values()]),
            np.concatenate([p.labels for p in brands.values()]),
        )
    return PracticeModel(brands, everyone)
