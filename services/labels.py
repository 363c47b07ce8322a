"""A brand's own labelled posts (``earshot train --labels FILE``): a CSV or JSONL file with
``text`` and any of ``sentiment``, ``intent`` and ``private``, and optionally ``brand`` and
``created_at``. Each row teaches the heads of the tasks it labels: sentiment and intent join
the team's training data (weighed up, as the brand's own stream), ``private`` joins the
brand's public-to-private practice.

A file with a bad row is refused as a whole, naming every bad row (up to ten): a typo in a
label must not quietly drop a row from the training data, nor teach a wrong label.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.errors import InputError
from core.history import PracticeExample, brand_key
from core.models import INTENTS, SENTIMENTS
from core.timeutil import from_iso

TASKS = ("sentiment", "intent", "private")
PRIVATE_VALUES = {
    "private": True,
    "true": True,
    "yes": True,
    "1": True,
    "public": False,
    "false": False,
    "no": False,
    "0": False,
}
ALLOWED: dict[str, tuple[str, ...]] = {"sentiment": SENTIMENTS, "intent": INTENTS}
MAX_REPORTED = 10
_UNDATED = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class LabelFile:
    """What one labels file holds, ready for training."""

    path: Path
    sha256: str
    rows: int
    examples: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """``sentiment`` and ``intent``: ``(text, label)`` pairs, in file order."""
    practice: list[PracticeExample] = field(default_factory=list)
    """``private``: the brand's decisions, in file order."""

    def counts(self) -> dict[str, int]:
        out = {task: len(pairs) for task, pairs in self.examples.items() if pairs}
        if self.practice:
            out["private"] = len(self.practice)
        return out

    def describe(self) -> dict[str, Any]:
        """The model card's record of this file."""
        by_label = {
            task: dict(sorted(Counter(label for _, label in pairs).items()))
            for task, pairs in self.examples.items()
            if pairs
        }
        if self.practice:
            private = sum(1 for e in self.practice if e.private)
            by_label["private"] = {"private": private, "public": len(self.practice) - private}
        return {
            "file": self.path.name,
            "sha256": self.sha256,
            "rows": self.rows,
            "labels": by_label,
            "brands": sorted({e.brand for e in self.practice}),
        }


def read_labels(path: str | Path, *, brand: str | None = None) -> LabelFile:
    """Read and check a labels file; ``brand`` is the brand of rows without a ``brand``
    column (needed for ``private`` labels). Raises InputError naming every bad row."""
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read the labels file ({e.strerror})") from None
    digest = hashlib.sha256(content).hexdigest()
    rows = list(_rows(path, content))
    examples: dict[str, list[tuple[str, str]]] = {"sentiment": [], "intent": []}
    practice: list[PracticeExample] = []
    problems: list[str] = []
    for index, (where, record) in enumerate(rows):
        if isinstance(record, str):
            problems.append(f"{where}: {record}")
            continue
        try:
            labels, example = _parse(record, index, brand)
        except ValueError as e:
            problems.append(f"{where}: {e}")
            continue
        for task, label in labels.items():
            examples[task].append((record["text"], label))
        if example is not None:
            practice.append(example)
    if problems:
        shown = "\n  ".join(problems[:MAX_REPORTED])
        hidden = len(problems) - MAX_REPORTED
        more = f"\n  ... and {hidden} more" if hidden > 0 else ""
        raise InputError(
            f"{path}: {len(problems)} bad row(s) of {len(rows)}; nothing was trained:"
            f"\n  {shown}{more}"
        )
    if not rows:
        raise InputError(f"{path}: no rows")
    return LabelFile(path, digest, len(rows), examples, practice)


def _rows(path: Path, content: bytes) -> list[tuple[str, dict[str, Any] | str]]:
    """``(where, record or what is wrong with the row)`` for every row."""
    out: list[tuple[str, dict[str, Any] | str]] = []
    if path.suffix.lower() == ".csv":
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise InputError(f"{path}: not UTF-8 (byte {e.start}): save it as UTF-8") from None
        reader = csv.DictReader(io.StringIO(text, newline=""))
        names = reader.fieldnames or []
        if "text" not in names or not set(TASKS) & set(names):
            raise InputError(
                f"{path}: the CSV needs a 'text' column and at least one of"
                f" {', '.join(TASKS)} (found {', '.join(names) or 'no header'})"
            )
        for number, row in enumerate(reader, start=2):
            if None in row:
                out.append((f"{path.name} line {number}", "more fields than columns"))
            else:
                out.append((f"{path.name} line {number}", {k: v for k, v in row.items() if v}))
        return out
    for number, raw in enumerate(content.splitlines(), start=1):
        where = f"{path.name}:{number}"
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError as e:
            out.append((where, f"invalid UTF-8 at byte {e.start}"))
            continue
        except (json.JSONDecodeError, RecursionError):
            out.append((where, "invalid JSON"))
            continue
        if not isinstance(record, dict):
            out.append((where, "expected a JSON object"))
            continue
        out.append((where, {k: v for k, v in record.items() if v is not None and v != ""}))
    return out


def _parse(
    record: dict[str, Any], index: int, default_brand: str | None
) -> tuple[dict[str, str], PracticeExample | None]:
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("missing or empty 'text'")
    labels: dict[str, str] = {}
    for task, allowed in ALLOWED.items():
        if task in record:
            value = str(record[task]).strip().lower()
            if value not in allowed:
                raise ValueError(f"{task} {record[task]!r} is not one of {', '.join(allowed)}")
            labels[task] = value
    example = None
    if "private" in record:
        value = str(record["private"]).strip().lower()
        if value not in PRIVATE_VALUES:
            raise ValueError(f"private {record['private']!r} is not private/public (or true/false)")
        brand = record.get("brand") or default_brand
        if not isinstance(brand, str) or not brand_key(brand):
            raise ValueError("a private label needs a brand: a 'brand' column or --brand")
        when = _UNDATED + timedelta(seconds=index)  # undated: the file's order is time
        if "created_at" in record:
            parsed = from_iso(str(record["created_at"]))
            if parsed is None:
                raise ValueError(f"created_at {record['created_at']!r} is not a time")
            when = parsed
        example = PracticeExample(
            brand=brand_key(brand),
            text=text,
            private=PRIVATE_VALUES[value],
            created_at=when,
            origin="labels",
            reason="labelled in a file",
        )
    if not labels and example is None:
        raise ValueError(f"no label: give at least one of {', '.join(TASKS)}")
    return labels, example
