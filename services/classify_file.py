"""``earshot classify``: label every record of a JSONL or CSV file, one output line per input
line, in order, ids kept; a bad line gives an ``error`` row in its place, and never stops the
file: invalid UTF-8 or JSON, a row without text, a lone surrogate (``"\\ud800"``: no Unicode
text), an id that is not a string or a finite number (``NaN``), a record the classifiers fail
on. An empty text is a record (it gets labels, as any text does). A UTF-8 byte order mark
on the first line is accepted. Every output line is valid JSON."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from core.batching import CLASSIFY_BATCH
from core.config import Config
from core.errors import ClassificationError, InputError
from core.models import Author, Enrichment, Post

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ANONYMOUS = Author(id="file", handle="")


def read_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Yield ``(line, record, error)`` from a JSONL file or a CSV file with a ``text`` column.

    ``line`` is the 1-based line (JSONL) or data row (CSV); exactly one of record and error
    is set, so a bad row is reported where it stands instead of being dropped.
    """
    if path.suffix.lower() == ".csv":
        try:
            content = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise InputError(f"{path}: not UTF-8 (byte {e.start}): re-save the CSV as UTF-8") from e
        reader = csv.DictReader(io.StringIO(content, newline=""))
        if reader.fieldnames is None or "text" not in reader.fieldnames:
            raise InputError(f"{path}: the CSV needs a 'text' column (found {reader.fieldnames})")
        for number, row in enumerate(reader, start=1):
            if None in row:
                yield number, None, f"{path} row {number}: more fields than columns"
                continue
            record = {k: v for k, v in row.items() if k in ("id", "text")}
            if row.get("brand"):
                record["brand"] = row["brand"]
            problem = _problem(record)
            yield number, None if problem else record, problem and f"{path} row {number}: {problem}"
        return
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                yield number, None, f"{path}:{number}: empty line"
                continue
            try:
                record = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
            except UnicodeDecodeError as e:
                yield number, None, f"{path}:{number}: invalid UTF-8 at byte {e.start}"
                continue
            except json.JSONDecodeError as e:
                yield number, None, f"{path}:{number}: invalid JSON ({e.msg})"
                continue
            except RecursionError:
                yield number, None, f"{path}:{number}: invalid JSON (nested too deeply)"
                continue
            if not isinstance(record, dict):
                yield number, None, f"{path}:{number}: expected a JSON object"
                continue
            problem = _problem(record)
            yield number, None if problem else record, problem and f"{path}:{number}: {problem}"


def _problem(record: dict[str, Any]) -> str | None:
    """Why a record cannot be classified, or None."""
    text = record.get("text")
    if not isinstance(text, str):
        return "missing string field 'text'"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return f"field 'text' holds a lone surrogate U+{ord(text[e.start]):04X} at offset {e.start}"
    if "\x00" in text:
        return "field 'text' holds a NUL character"
    brand = record.get("brand")
    if brand is not None and (
        not isinstance(brand, str) or not brand.strip() or len(brand) > 128 or "\x00" in brand
    ):
        return "field 'brand' must be a brand account's handle, like HaldenSupport"
    return _id_problem(record.get("id"))


def _id_problem(value: Any) -> str | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return None
    if isinstance(value, float) and math.isfinite(value):
        return None
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "field 'id' holds a lone surrogate"
        return None
    return f"field 'id' must be a string or a finite number, got {value!r}"


def classify_file(
    config: Config,
    in_path: Path,
    out: TextIO,
    *,
    warn: Callable[[str], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[int, int]:
    """Classify every record of ``in_path`` into ``out`` (JSONL, input order, ids kept).

    Returns ``(rows written, rows with errors)``.
    """
    from nlp import shared_pipeline

    pipeline = shared_pipeline(config)
    written = errors = 0
    pending: list[tuple[int, dict[str, Any] | None, str | None]] = []

    def flush() -> None:
        nonlocal written, errors
        good = [(n, r) for n, r, _ in pending if r is not None]
        posts = [
            Post(
                id=f"line:{n}",
                source="file",
                url="",
                author=_ANONYMOUS,
                text=r["text"],
                created_at=_EPOCH,
                brand=r.get("brand"),
            )
            for n, r in good
        ]
        labels = _classified(pipeline, posts)
        for number, record, error in pending:
            result = labels.get(f"line:{number}") if record is not None else None
            if isinstance(result, str):
                record, error = None, f"{in_path}:{number}: classification failed: {result}"
            if record is None:
                row: dict[str, Any] = {"line": number, "id": None, "error": error}
                errors += 1
                if warn:
                    warn(f"warning: {error}")
            else:
                enrichment = result
                assert isinstance(enrichment, Enrichment)
                row = {
                    "line": number,
                    "id": record.get("id"),
                    "text": record["text"],
                    **{task: value.to_dict() for task, value in sorted(enrichment.results.items())},
                    "redacted_text": enrichment.redacted_text,
                }
            out.write(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n")
            written += 1
        pending.clear()
        if progress:
            progress(f"classified {written} records")

    for item in read_records(in_path):
        pending.append(item)
        if len(pending) >= CLASSIFY_BATCH:
            flush()
    if pending:
        flush()
    return written, errors


def _classified(pipeline: Any, posts: list[Post]) -> dict[str, Enrichment | str]:
    """Each post's labels, or why the classifiers failed on it (a failing batch is retried
    one post at a time, so one bad record does not take its neighbours with it)."""
    try:
        return {e.post_id: e for e in pipeline.run(posts)}
    except Exception:
        if len(posts) == 1:
            raise
    results: dict[str, Enrichment | str] = {}
    for post in posts:
        try:
            results[post.id] = pipeline.run([post])[0]
        except Exception as e:
            results[post.id] = f"{type(e).__name__}: {e}"
    if not any(isinstance(r, Enrichment) for r in results.values()):
        raise ClassificationError(
            f"the classifiers fail on every record ({next(iter(results.values()))})"
        )
    return results
