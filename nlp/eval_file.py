"""Scoring the configured (or a named) classifier on a labelled CSV or JSONL file
(``earshot eval``)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from core.batching import CLASSIFY_BATCH, chunked
from core.errors import InputError
from core.models import Author, Label, PiiResult, Post, PrivateDecision, TaskResult
from nlp.evaluation import Scores, scores
from nlp.pipeline import classifier_options, shared_pipeline
from nlp.registry import get_classifier

if TYPE_CHECKING:
    from core.config import Config

TRUE = {"1", "true", "yes", "y", "private", "t"}
_AUTHOR = Author(id="eval", handle="")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a CSV file (with a header) or of a JSONL file (one object a line)."""
    if not path.is_file():
        raise InputError(f"evaluation file not found: {path}")
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise InputError(f"{path}:{number}: invalid JSON ({e.msg})") from None
    return rows


def curve_rows(
    path: Path,
    *,
    label_column: str,
    text_column: str = "text",
    label_map: Path | None = None,
    where: Sequence[str] = (),
    test_where: Sequence[str] = (),
) -> list[tuple[str, str, bool]]:
    """``(text, label, is_test)`` for the learning curve: the rows kept by ``where``, in file
    order, test when every ``COLUMN=VALUE`` of ``test_where`` holds (none given: no row)."""
    rows = _filtered(read_rows(path), where, path)
    for column in (text_column, label_column):
        if column not in rows[0]:
            raise InputError(f"{path}: no column {column!r} (columns: {sorted(rows[0])})")
    truth = [str(r[label_column] or "") for r in rows]
    if label_map is not None:
        truth = _mapped(truth, label_map)
    flags = [bool(test_where) and _matches(r, test_where) for r in rows]
    if test_where and not any(flags):
        raise InputError(f"{path}: no row matches {list(test_where)}")
    return [
        (str(r[text_column] or ""), label, flag)
        for r, label, flag in zip(rows, truth, flags, strict=True)
    ]


def _matches(row: dict[str, Any], conditions: Sequence[str]) -> bool:
    for condition in conditions:
        column, _, value = condition.partition("=")
        if str(row.get(column)) != value:
            return False
    return True


def _filtered(rows: list[dict[str, Any]], where: Sequence[str], path: Path) -> list[dict[str, Any]]:
    rows = [r for r in rows if _matches(r, where)]
    if not rows:
        raise InputError(f"{path}: no rows to evaluate (after filters {list(where)})")
    return rows


def _posts(texts: Sequence[str]) -> list[Post]:
    return [
        Post(id=f"row:{i}", source="file", url="", author=_AUTHOR, text=t, created_at=_EPOCH)
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
    """The report of ``task`` on the file: accuracy, macro-F1 and recall, per-class scores and
    the confusion matrix (per-type scores for ``pii``).

    ``where`` keeps the rows whose ``column=value`` all hold; ``label_map`` (YAML, ``ours:
    [theirs, ...]``) translates the file's labels; ``classifier`` names a classifier to score
    instead of the configured one (the tasks it requires come from the configured pipeline).
    """
    pipeline = shared_pipeline(config)
    if task not in pipeline.tasks:
        raise InputError(f"unknown task {task!r} (known: {', '.join(pipeline.tasks)})")
    rows = _filtered(read_rows(path), where, path)
    for column in (text_column, label_column):
        if column not in rows[0]:
            raise InputError(f"{path}: no column {column!r} (columns: {sorted(rows[0])})")
    texts = [str(r[text_column] or "") for r in rows]
    truth = [str(r[label_column] or "") for r in rows]
    if label_map is not None:
        truth = _mapped(truth, label_map)

    chosen = get_classifier(classifier, **classifier_options(config)) if classifier else None
    if chosen is not None:
        if task not in chosen.assigns:
            raise InputError(
                f"classifier {classifier!r} assigns {', '.join(chosen.assigns)}, not {task!r}"
            )
        missing = [needed for needed in chosen.requires if needed not in pipeline.tasks]
        if missing:
            raise InputError(
                f"classifier {classifier!r} requires {missing[0]!r}, which {config.path}"
                " configures no classifier for"
            )
    results: list[TaskResult] = []
    for chunk in chunked(texts, CLASSIFY_BATCH):
        posts = _posts(chunk)
        if chosen is None:
            results.extend(e.results[task] for e in pipeline.run(posts))
            continue
        # The tasks the named classifier reads come from the configured ones.
        prior: list[dict[str, TaskResult]] = [{} for _ in posts]
        if chosen.requires:
            prior = [{t: e.results[t] for t in chosen.requires} for e in pipeline.run(posts)]
        results.extend(found[task] for found in chosen.predict_tasks(posts, prior))
        if progress and len(texts) > CLASSIFY_BATCH:
            progress(f"evaluated {len(results)}/{len(texts)}")

    name = classifier or config.classifiers[task]
    header = f"{task} with {name} on {path.name} ({len(texts)} rows)"
    if task == "pii":
        found = [{s.type for s in r.spans} if isinstance(r, PiiResult) else set() for r in results]
        return header + "\n" + pii_report(truth, found)
    predicted = [_as_text(task, r) for r in results]
    if task in ("private", "spam"):
        truth = ["true" if t.strip().lower() in TRUE else "false" for t in truth]
        return header + "\n" + scores(truth, predicted, ["true", "false"]).report()
    return header + "\n" + scores(truth, predicted).report()


def _mapped(truth: list[str], label_map: Path) -> list[str]:
    """The file's labels in ours, through ``label_map`` (``ours: [theirs, ...]``)."""
    try:
        mapping = yaml.safe_load(label_map.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise InputError(f"cannot read label map {label_map}: {e}") from None
    if not isinstance(mapping, dict):
        raise InputError(f"{label_map}: expected a mapping of our labels to lists of theirs")
    inverse = {theirs: ours for ours, many in mapping.items() for theirs in many}
    unknown = sorted(set(truth) - set(inverse))
    if unknown:
        raise InputError(f"{label_map} does not map labels {unknown[:5]}")
    return [inverse[t] for t in truth]


def _as_text(task: str, result: TaskResult) -> str:
    """What a result says, as the file would write it: a label, or ``true``/``false`` for
    public-to-private and spam."""
    if isinstance(result, PrivateDecision):
        return str(result.move_private).lower()
    if isinstance(result, Label):
        return str(result.label == "spam").lower() if task == "spam" else result.label
    raise InputError(f"task {task!r} gives {result.kind} results, which have no single label")


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
