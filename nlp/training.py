"""Training data and training of the classifier heads.

The shipped heads are trained only on data the Earshot team wrote, so `earshot train`
reproduces them on any machine: the expanded templates of ``nlp/data/examples.yaml``, the
labelled examples of the intent taxonomy, and the labelled sample corpus. Agent corrections
(feedback in the store) are added to the next run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from core.errors import ClassificationError, ModelMissingError
from nlp.encoders import ENCODER_IDS
from nlp.samples import sample_examples

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
HEAD_VERSION = "v1"
TRAINED_TASKS = ("sentiment", "intent")
TIERS = ("m2v", "minilm")
FINANCE_FILLS = 1


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    origin: str


def _fill(template: str, vocab: dict[str, list[str]], rng: random.Random) -> str:
    def pick(match: re.Match[str]) -> str:
        slot = match.group(1)
        if slot == "handle":
            return re.sub(r"\W", "", pick_brand)
        return rng.choice(vocab[slot])

    pick_brand = rng.choice(vocab["brand"])
    template = template.replace("{brand}", pick_brand)
    return re.sub(r"\{(\w+)\}", pick, template)


def template_examples(task: str, path: Path = DATA_DIR / "examples.yaml") -> list[Example]:
    """Each template once per industry, slots filled deterministically."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rng = random.Random(f"earshot-{task}")
    # (templates, industries, fills per industry): finance templates cover only two
    # industries, so they are filled with more brands to weigh like the others.
    sections = [(data[task], list(data["industries"]), 1)]
    if task == "intent":
        sections.append((data["intent_finance"], data["finance_industries"], FINANCE_FILLS))
        sections.append((data["intent_topical_questions"], list(data["industries"]), 1))
        sections.append((data["intent_boundaries"], list(data["industries"]), 1))
    if task == "sentiment":
        sections.append((data["sentiment_extra"], list(data["industries"]), 1))
        sections.append((data["sentiment_plain"], list(data["industries"]), 1))
    examples = []
    seen: set[str] = set()
    for section, industries, fills in sections:
        for label, templates in section.items():
            for template in templates:
                for industry in industries:
                    for _ in range(fills):
                        text = _fill(template, data["industries"][industry], rng)
                        if text not in seen:
                            seen.add(text)
                            examples.append(Example(text, label, f"template:{industry}"))
    return examples


WRITTEN_POSTS = DATA_DIR / "posts_written.jsonl"
"""Posts the team wrote one by one in the ways people really post (sarcasm, slang, emoji,
news-like and chatter posts that merely name a brand, mixed feelings), each labelled with a
sentiment and an intent."""


WRITTEN_TASKS = ("sentiment",)
"""The heads that learn from the written posts. Their intent labels are kept, but not used
yet: with them, intent accuracy on BANKING77 fell from 0.805 to 0.766 (the bank queries' own
wording leans on the taxonomy's examples); sentiment gained (airline tweets, Delta: macro-F1
0.666 to 0.688)."""


def written_examples(task: str, path: Path = WRITTEN_POSTS) -> list[Example]:
    if not path.is_file():
        return []
    examples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            examples.append(Example(row["text"], row[task], f"written:{row.get('style', '')}"))
    return examples


def taxonomy_examples(intents_path: Path) -> list[Example]:
    data = yaml.safe_load(intents_path.read_text(encoding="utf-8"))
    return [
        Example(text, intent, "taxonomy")
        for intent, spec in data["intents"].items()
        for text in (spec or {}).get("examples") or []
    ]


def training_set(
    task: str,
    *,
    intents_path: Path,
    samples_dir: Path | None,
    feedback: Iterable[tuple[str, str]] = (),
    labelled: Iterable[tuple[str, str]] = (),
) -> list[Example]:
    """The examples of ``task``: templates, the taxonomy's (intent), the labelled samples (if
    ``samples_dir`` is given), ``feedback``, the agents' ``(text, label)`` corrections, and
    ``labelled``, a brand's own labelled posts (``earshot train --labels``)."""
    examples = template_examples(task)
    if task in WRITTEN_TASKS:
        examples += written_examples(task)
    if task == "intent":
        examples += taxonomy_examples(intents_path)
    if samples_dir is not None:
        examples += [
            Example(text, row[task], "samples") for text, row in sample_examples(samples_dir)
        ]
    examples += [Example(text, label, "feedback") for text, label in feedback]
    examples += [Example(text, label, "labels") for text, label in labelled]
    return examples


def held_out(text: str, share: float = 0.15) -> bool:
    """A stable split: the same text is always on the same side."""
    digest = hashlib.sha1(text.encode("utf-8")).digest()
    return digest[0] / 256 < share


def vader_features(texts: Sequence[str]) -> np.ndarray:
    """VADER's negative, neutral, positive and compound scores for each text."""
    analyzer = _vader()
    rows = []
    for text in texts:
        s = analyzer.polarity_scores(text[:2000])
        rows.append([s["neg"], s["neu"], s["pos"], s["compound"]])
    return np.asarray(rows, dtype=np.float32)


_VADER: Any = None


def _vader() -> Any:
    global _VADER
    if _VADER is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _VADER = SentimentIntensityAnalyzer()
    return _VADER


FEATURES = {"sentiment": ("embedding", "vader"), "intent": ("embedding",)}
VADER_WEIGHT = 2.0
"""VADER's four scores are scaled up to count next to a unit-length embedding."""

LEXICAL = {"m2v": ("word",), "minilm": ("word", "char")}
"""TF-IDF n-gram blocks each tier's heads add to the embedding. Sentence embeddings are led by
a sentence's shape ("why is my ...?" looks like a question); n-grams carry the words that
decide the topic ("fee", "pending", "top-up"). The fast tier keeps to word n-grams: character
n-grams cost about 150 µs a post, most of its budget."""
ANALYZERS: dict[str, dict[str, Any]] = {
    "word": {"analyzer": "word", "ngram_range": (1, 2)},
    "char": {"analyzer": "char_wb", "ngram_range": (3, 5)},
}
C_BY_TASK = {"sentiment": 4.0, "intent": 16.0}
"""Inverse regularization of each task's head, chosen on the stable held-out split."""
LABEL_WEIGHT = 2.0
"""How much one of a brand's own labelled posts (``earshot train --labels``) weighs against
one team-written example: they come from the stream the heads will read. Together they weigh
at most as much as the rest of the data (past that, the head forgets the general cases)."""


def example_weights(examples: Sequence[Example], label_weight: float = LABEL_WEIGHT) -> np.ndarray:
    labelled = sum(1 for e in examples if e.origin == "labels")
    if labelled:
        label_weight = min(label_weight, max(1.0, (len(examples) - labelled) / labelled))
    return np.asarray(
        [label_weight if e.origin == "labels" else 1.0 for e in examples], dtype=np.float64
    )


def featurize(
    task: str, texts: Sequence[str], encode: Callable[[Sequence[str]], np.ndarray]
) -> np.ndarray:
    """The dense features of ``task``: the embedding, and VADER's scores for sentiment."""
    parts = [encode(texts)]
    if "vader" in FEATURES[task]:
        parts.append(vader_features(texts) * VADER_WEIGHT)
    return np.hstack(parts).astype(np.float32)


@dataclass
class Lexical:
    """TF-IDF blocks (one per analyzer) with vocabularies fitted on the training texts; each
    block's rows are unit length, like the embedding's."""

    analyzers: tuple[str, ...]
    vocabularies: list[dict[str, int]]
    idfs: list[np.ndarray]

    def __post_init__(self) -> None:
        self._fitted: dict[str, Any] = {}  # analyzer -> vectorizer, built on first use

    @classmethod
    def fit(cls, analyzers: Sequence[str], texts: Sequence[str]) -> Lexical:
        vocabularies, idfs = [], []
        for name in analyzers:
            vectorizer = _vectorizer(name).fit(texts)
            vocabularies.append({term: int(i) for term, i in vectorizer.vocabulary_.items()})
            idfs.append(vectorizer.idf_.astype(np.float32))
        return cls(tuple(analyzers), vocabularies, idfs)

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.vocabularies)

    def transform(self, texts: Sequence[str]) -> Any:
        from scipy import sparse

        clipped = [text[:MAX_LEXICAL_CHARS] for text in texts]
        blocks = []
        for name, vocabulary, idf in zip(self.analyzers, self.vocabularies, self.idfs, strict=True):
            vectorizer = self._fitted.get(name)
            if vectorizer is None:
                vectorizer = _vectorizer(name, vocabulary=vocabulary)
                vectorizer.idf_ = idf
                self._fitted[name] = vectorizer
            blocks.append(vectorizer.transform(clipped))
        return sparse.hstack(blocks, format="csr", dtype=np.float32)

    def to_json(self) -> dict[str, Any]:
        return {
            "analyzers": list(self.analyzers),
            "vocabularies": self.vocabularies,
            "idfs": [idf.round(5).tolist() for idf in self.idfs],
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Lexical:
        return cls(
            tuple(body["analyzers"]),
            [dict(v) for v in body["vocabularies"]],
            [np.asarray(idf, dtype=np.float32) for idf in body["idfs"]],
        )


MAX_LEXICAL_CHARS = 2000
"""Like the encoders, n-grams read at most this much of a post."""


def _vectorizer(name: str, **extra: Any) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    if name not in ANALYZERS:
        raise ClassificationError(
            f"unknown lexical analyzer {name!r} (known: {', '.join(ANALYZERS)})"
        )
    return TfidfVectorizer(
        sublinear_tf=True, min_df=2, dtype=np.float32, **ANALYZERS[name], **extra
    )


@dataclass
class Head:
    """A multinomial logistic-regression head with temperature calibration."""

    task: str
    tier: str
    classes: list[str]
    coef: np.ndarray
    intercept: np.ndarray
    temperature: float
    meta: dict[str, Any]
    lexical: Lexical | None = None

    def features(self, texts: Sequence[str], encode: Callable[[Sequence[str]], np.ndarray]) -> Any:
        """The head's input for ``texts``: dense features, then its n-gram blocks (sparse)."""
        return _with_lexical(featurize(self.task, texts, encode), texts, self.lexical)

    def predict_proba(self, features: Any) -> np.ndarray:
        logits = np.asarray(features @ self.coef.T + self.intercept) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "task": self.task,
            "tier": self.tier,
            "classes": self.classes,
            "coef": self.coef.round(6).tolist(),
            "intercept": self.intercept.round(6).tolist(),
            "temperature": self.temperature,
            "features": list(FEATURES[self.task])
            + [f"tfidf:{a}" for a in (self.lexical.analyzers if self.lexical else ())],
            "lexical": self.lexical.to_json() if self.lexical else None,
            "meta": self.meta,
        }
        path.write_text(json.dumps(body), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Head:
        if not path.is_file():
            raise ModelMissingError(f"no model file {path}: run `earshot train` (or `make models`)")
        body = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            task=body["task"],
            tier=body["tier"],
            classes=list(body["classes"]),
            coef=np.asarray(body["coef"], dtype=np.float32),
            intercept=np.asarray(body["intercept"], dtype=np.float32),
            temperature=float(body["temperature"]),
            meta=body.get("meta", {}),
            lexical=Lexical.from_json(body["lexical"]) if body.get("lexical") else None,
        )


def _with_lexical(dense: np.ndarray, texts: Sequence[str], lexical: Lexical | None) -> Any:
    if lexical is None:
        return dense
    from scipy import sparse

    return sparse.hstack([sparse.csr_matrix(dense), lexical.transform(texts)], format="csr")


def head_path(models_dir: Path, task: str, tier: str) -> Path:
    return models_dir / f"{task}.{tier}.{HEAD_VERSION}.json"


def _fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    best, best_nll = 1.0, float("inf")
    for t in np.linspace(0.3, 3.0, 28):
        z = logits / t
        z -= z.max(axis=1, keepdims=True)
        log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        nll = -log_probs[np.arange(len(y)), y].mean()
        if nll < best_nll:
            best, best_nll = float(t), float(nll)
    return best


def train_head(
    task: str,
    tier: str,
    examples: Sequence[Example],
    encode: Callable[[Sequence[str]], np.ndarray],
    *,
    c: float | None = None,
    label_weight: float = LABEL_WEIGHT,
) -> Head:
    """Fit on the training side of the stable split, calibrate and score on the held-out side,
    then refit on everything."""
    from sklearn.linear_model import LogisticRegression

    from nlp.evaluation import scores

    texts = [e.text for e in examples]
    classes = sorted({e.label for e in examples})
    y = np.asarray([classes.index(e.label) for e in examples])
    test = np.asarray([held_out(t) for t in texts])
    c = C_BY_TASK[task] if c is None else c
    analyzers = LEXICAL.get(tier, ())

    # Score and calibrate with n-gram vocabularies fitted on the training side only.
    train_texts = [t for t, held in zip(texts, test, strict=True) if not held]
    lexical = Lexical.fit(analyzers, train_texts) if analyzers else None
    dense = featurize(task, texts, encode)  # encoded once, used for both fits
    x = _with_lexical(dense, texts, lexical)
    weights = example_weights(examples, label_weight)
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    model.fit(x[~test], y[~test], sample_weight=weights[~test])
    logits = np.asarray(x[test] @ model.coef_.T + model.intercept_)
    temperature = _fit_temperature(logits, y[test])
    predicted = [classes[i] for i in logits.argmax(axis=1)]
    metrics = scores([classes[i] for i in y[test]], predicted, classes)

    lexical = Lexical.fit(analyzers, texts) if analyzers else None
    x = _with_lexical(dense, texts, lexical)
    model.fit(x, y, sample_weight=weights)
    meta = {
        "encoder": ENCODER_IDS.get(tier, tier),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "examples": len(examples),
        "by_label": dict(Counter(e.label for e in examples)),
        "by_origin": dict(Counter(e.origin.split(":")[0] for e in examples)),
        "held_out": {"examples": int(test.sum()), **metrics.summary()},
        "c": c,
        "lexical_features": lexical.size if lexical else 0,
    }
    return Head(
        task,
        tier,
        classes,
        model.coef_.astype(np.float32),
        model.intercept_.astype(np.float32),
        temperature,
        meta,
        lexical,
    )
