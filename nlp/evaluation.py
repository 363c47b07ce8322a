"""Classification metrics: accuracy, macro-F1, macro-recall, per-class scores, confusion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Scores:
    labels: list[str]
    accuracy: float
    macro_f1: float
    macro_recall: float
    per_class: dict[str, dict[str, float]]
    confusion: list[list[int]]
    support: int

    def summary(self) -> dict[str, float]:
        return {
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "macro_recall": round(self.macro_recall, 4),
        }

    def report(self) -> str:
        width = max(12, *(len(label) for label in self.labels))
        lines = [
            f"examples      {self.support}",
            f"accuracy      {self.accuracy:.4f}",
            f"macro-F1      {self.macro_f1:.4f}",
            f"macro-recall  {self.macro_recall:.4f}",
            "",
            f"{'class':<{width}} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}",
        ]
        for label in self.labels:
            c = self.per_class[label]
            lines.append(
                f"{label:<{width}} {c['precision']:>9.4f} {c['recall']:>9.4f} {c['f1']:>9.4f}"
                f" {int(c['support']):>8}"
            )
        lines += ["", "confusion matrix (rows: true, columns: predicted)"]
        short = [label[:8] for label in self.labels]
        lines.append(" " * (width + 1) + " ".join(f"{s:>8}" for s in short))
        for label, row in zip(self.labels, self.confusion, strict=True):
            lines.append(f"{label:<{width}} " + " ".join(f"{n:>8}" for n in row))
        return "\n".join(lines)


def scores(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None
) -> Scores:
    """Scores over ``labels`` (default: every label seen); classes absent from the truth are
    left out of the macro averages."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predictions")
    labels = list(labels) if labels else sorted(set(truth) | set(predicted))
    extra = sorted((set(truth) | set(predicted)) - set(labels))
    labels += extra
    index = {label: i for i, label in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    for t, p in zip(truth, predicted, strict=True):
        confusion[index[t]][index[p]] += 1
    per_class = {}
    for label, i in index.items():
        tp = confusion[i][i]
        support = sum(confusion[i])
        predicted_n = sum(row[i] for row in confusion)
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    present = [label for label in labels if per_class[label]["support"]]
    n = len(truth)
    return Scores(
        labels=labels,
        accuracy=sum(confusion[i][i] for i in range(len(labels))) / n if n else 0.0,
        macro_f1=sum(per_class[label]["f1"] for label in present) / len(present)
        if present
        else 0.0,
        macro_recall=sum(per_class[label]["recall"] for label in present) / len(present)
        if present
        else 0.0,
        per_class=per_class,
        confusion=confusion,
        support=n,
    )
