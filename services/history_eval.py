"""How well each brand's learned practice predicts what its agents did, with time-ordered
splits: for every brand, its earlier conversations (``train_share``, 60 % by default) teach,
its later ones test. Compared with the rules alone (no history) and with "always private".

The input is an import-history file (JSONL: ``customer_text``, ``brand_reply``, ``brand``,
``created_at``); the truth is what the brand's reply did (:func:`nlp.reply_private.moved_private`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from core.config import Config
from core.history import PracticeExample
from core.models import Author, Post
from services.history import parse_line

Scores = dict[str, float]


@dataclass(frozen=True)
class Evaluation:
    overall: dict[str, Scores]
    """Per method (``rules``, ``always_private``, ``practice``): precision, recall, F1."""
    brands: dict[str, dict[str, Scores]]
    """Per brand with at least ``min_brand`` test posts."""
    train: int
    test: int


def _scores(truth: list[bool], predicted: list[bool]) -> Scores:
    tp = sum(t and p for t, p in zip(truth, predicted, strict=True))
    fp = sum(p and not t for t, p in zip(truth, predicted, strict=True))
    fn = sum(t and not p for t, p in zip(truth, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "n": len(truth),
        "private": sum(truth),
    }


def load(path: Path) -> list[PracticeExample]:
    examples = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                examples.append(parse_line(raw, number))
    return examples


def evaluate(
    config: Config,
    path: Path,
    *,
    train_share: float = 0.6,
    min_brand: int = 20,
    progress: Callable[[str], None] | None = None,
) -> Evaluation:
    from nlp import build_pipeline
    from nlp.encoders import encoder_for
    from nlp.practice import build

    examples = load(path)
    by_brand: dict[str, list[PracticeExample]] = defaultdict(list)
    for e in examples:
        by_brand[e.brand].append(e)
    train: list[PracticeExample] = []
    test: list[PracticeExample] = []
    for items in by_brand.values():
        items.sort(key=lambda e: e.created_at)
        cut = int(len(items) * train_share)
        train += items[:cut]
        test += items[cut:]
    if progress:
        progress(f"{len(train)} earlier conversations teach, {len(test)} later ones test")
    encoder = encoder_for("m2v", config.models_dir)
    model = build(train, lambda texts: encoder.encode(texts))
    rules_config = _with_rules(config)
    posts = [
        Post(
            id=f"x:h{i}",
            source="x",
            url="",
            author=Author(id="x:customer", handle="customer"),
            text=e.text,
            created_at=e.created_at if e.created_at.tzinfo else e.created_at.replace(tzinfo=UTC),
            brand=e.brand,
        )
        for i, e in enumerate(test)
    ]
    if progress:
        progress(f"classifying {len(posts)} test posts")
    labels = build_pipeline(rules_config).run(posts)
    vectors = encoder.encode([p.text for p in posts])
    truth = [e.private for e in test]
    rules = [label.private.move_private for label in labels]
    practice = [
        model.decide(
            e.brand, v, (lab.private.move_private, lab.private.score, lab.private.reasons)
        )[0]
        for e, v, lab in zip(test, vectors, labels, strict=True)
    ]
    methods = {"rules": rules, "always_private": [True] * len(test), "practice": practice}
    overall = {name: _scores(truth, predicted) for name, predicted in methods.items()}
    brands: dict[str, dict[str, Scores]] = {}
    for brand in sorted(by_brand, key=lambda b: -len(by_brand[b])):
        idx = [i for i, e in enumerate(test) if e.brand == brand]
        if len(idx) < min_brand:
            continue
        brands[brand] = {
            name: _scores([truth[i] for i in idx], [predicted[i] for i in idx])
            for name, predicted in methods.items()
        }
    return Evaluation(overall, brands, len(train), len(test))


def _with_rules(config: Config) -> Config:
    from dataclasses import replace

    configured = config.classifiers.get("private", "private.brand.v2")
    rules = RULES_OF.get(configured, configured)
    return replace(config, classifiers={**config.classifiers, "private": rules})


RULES_OF = {"private.brand.v1": "private.rules.v1", "private.brand.v2": "private.rules.v2"}
"""The rules each brand-practice classifier falls back on: the "no history" figure."""


def format_evaluation(result: Evaluation) -> str:
    lines = [
        f"public-to-private, time-ordered per brand: {result.train} earlier conversations"
        f" teach, {result.test} later ones test",
        f"  {'brand (test posts, private)':<34}{'rules (no history)':>25}"
        f"{'always private':>25}{'learned practice':>25}",
    ]

    def row(name: str, scores: dict[str, Scores]) -> str:
        cells = [
            f"F1 {scores[m]['f1']:.2f} (P {scores[m]['precision']:.2f} R {scores[m]['recall']:.2f})"
            for m in ("rules", "always_private", "practice")
        ]
        share = scores["rules"]["private"] / max(1, scores["rules"]["n"])
        label = f"{name} ({scores['rules']['n']}, {share:.0%})"
        return f"  {label[:34]:<34}" + "".join(f"{c:>25}" for c in cells)

    lines.append(row("all brands", result.overall))
    for brand, scores in result.brands.items():
        lines.append(row(brand, scores))
    return "\n".join(lines)
