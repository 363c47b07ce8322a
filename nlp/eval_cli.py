"""`earshot eval`: score the configured (or a named) classifier on a labelled file."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from core.models import Author, Post
from nlp.evaluation import Scores, scores

if TYPE_CHECKING:
    from core.config import Config

TRUE = {"1", "true", "yes", "y", "private", "t"}
CHUNK = 512


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise ValueError(f"evaluation file not found: {path}")
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _posts(texts: Sequence[str]) -> list[Post]:
    from datetime import UTC, datetime

    author = Author(id="eval", handle="")
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return [
        Post(id=f"row:{i}", source="file", url="", author=author, text=t, created_at=epoch)
        for i, t in enumerate(texts)
    ]


def evaluate_file(
    config: Config,
    *,
    task: str,
    path: Path,
    label_column: str,
    text_column: str = "text",
    label_map: Path | None = None,
    where: Sequence[str] = (),
    classifier: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> str:
    rows = read_rows(path)
    for condition in where:
        column, _, value = condition.partition("=")
        rows = [r for r in rows if str(r.get(column)) == value]
    if not rows:
        raise ValueError(f"{path}: no rows to evaluate (after filters {list(where)})")
    for column in (text_column, label_column):
        if column not in rows[0]:
            raise ValueError(f"{path}: no column {column!r} (columns: {sorted(rows[0])})")
    texts = [str(r[text_column] or "") for r in rows]
    truth = [str(r[label_column] or "") for r in rows]
    if label_map is not None:
        mapping = yaml.safe_load(label_map.read_text(encoding="utf-8"))
        inverse = {theirs: ours for ours, many in mapping.items() for theirs in many}
        unknown = sorted(set(truth) - set(inverse))
        if unknown:
            raise ValueError(f"{label_map} does not map labels {unknown[:5]}")
        truth = [inverse[t] for t in truth]

    from core.pipeline import classifier_pipeline
    from nlp.registry import get_classifier

    pipeline = classifier_pipeline(config)
    predicted: list[Any] = []
    for start in range(0, len(texts), CHUNK):
        posts = _posts(texts[start : start + CHUNK])
        if classifier and task in ("sentiment", "intent", "language"):
            chosen = get_classifier(
                classifier, lexicon_path=config.intents_path, models_dir=config.models_dir
            )
            prior = (
                [{"sentiment": e.sentiment} for e in pipeline.run(posts)]
                if task == "intent"
                else [{} for _ in posts]
            )
            predicted.extend(label.label for label in chosen.predict(posts, prior))
        else:
            enrichments = pipeline.run(posts)
            if task == "sentiment":
                predicted.extend(e.sentiment.label for e in enrichments)
            elif task == "intent":
                predicted.extend(e.intent.label for e in enrichments)
            elif task == "private":
                predicted.extend(str(e.private.move_private).lower() for e in enrichments)
            elif task == "language":
                predicted.extend(e.language.label for e in enrichments)
            elif task == "spam":
                predicted.extend(str(e.is_spam).lower() for e in enrichments)
            else:
                predicted.extend({s.type for s in e.pii} for e in enrichments)
        if progress and len(texts) > CHUNK:
            progress(f"evaluated {len(predicted)}/{len(texts)}")

    name = classifier or config.classifiers[task if task != "private" else "private"]
    header = f"{task} with {name} on {path.name} ({len(texts)} rows)"
    if task in ("private", "spam"):
        truth = ["true" if t.strip().lower() in TRUE else "false" for t in truth]
        return header + "\n" + scores(truth, predicted, ["true", "false"]).report()
    if task == "pii":
        return header + "\n" + pii_report(truth, predicted)
    return header + "\n" + scores(truth, predicted).report()


def pii_report(truth: Sequence[str], predicted: Sequence[set[str]]) -> str:
    """Per PII type: is the type found in the posts that contain it (recall), and only there
    (precision)? ``truth`` holds the types of each row separated by ``|``."""
    truth_sets = [{t for t in row.split("|") if t} for row in truth]
    kinds = sorted(set().union(*truth_sets, *predicted))
    lines = [f"{'type':<18} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}"]
    for kind in kinds:
        per_row: Scores = scores(
            [str(kind in t) for t in truth_sets],
            [str(kind in p) for p in predicted],
            ["True", "False"],
        )
        c = per_row.per_class["True"]
        lines.append(
            f"{kind:<18} {c['precision']:>9.4f} {c['recall']:>9.4f} {c['f1']:>9.4f}"
            f" {int(c['support']):>8}"
        )
    exact = sum(t == p for t, p in zip(truth_sets, predicted, strict=True)) / len(truth_sets)
    lines.append(f"rows with exactly the right types: {exact:.4f}")
    return "\n".join(lines)
