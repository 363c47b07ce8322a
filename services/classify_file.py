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
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from itertools import chain, islice
from pathlib import Path
from typing import Any, TextIO

from core.batching import CLASSIFY_BATCH, batched
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


PARALLEL_FROM = 2_000
"""Inputs longer than this are classified by a worker per core (``workers="auto"``)."""
PROGRESS_EVERY = 5_000

Batch = list[tuple[int, dict[str, Any] | None, str | None]]


def classify_file(
    config: Config,
    in_path: Path,
    out: TextIO,
    *,
    workers: int | None = None,
    warn: Callable[[str], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[int, int]:
    """Classify every record of ``in_path`` into ``out`` (JSONL, input order, ids kept).

    ``workers``: processes that classify (None: one per usable core once the input holds
    more than :data:`PARALLEL_FROM` records; 1: this process alone). Returns ``(rows
    written, rows with errors)``.
    """
    from nlp.workers import shared_pool, usable_cores

    records = read_records(in_path)
    head = list(islice(records, PARALLEL_FROM + 1))
    if workers is None:
        workers = usable_cores() if len(head) > PARALLEL_FROM else 1
    batches = batched(chain(head, records), CLASSIFY_BATCH)
    work = partial(classify_batch, source=str(in_path))
    if workers > 1:
        if progress:
            progress(f"classifying with {workers} worker processes")
        results = shared_pool(config.path, workers).map(work, batches)
    else:
        from nlp import shared_pipeline

        pipeline = shared_pipeline(config)
        results = (work(pipeline, batch) for batch in batches)
    written = errors = 0
    started = time.monotonic()
    for rows in results:
        for row in rows:
            if "error" in row:
                errors += 1
                if warn:
                    warn(f"warning: {row['error']}")
            out.write(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n")
            written += 1
        if progress and (written % PROGRESS_EVERY < CLASSIFY_BATCH or not rows):
            rate = written / max(time.monotonic() - started, 1e-9)
            progress(f"classified {written} records ({rate:,.0f}/s)")
    return written, errors


def classify_batch(pipeline: Any, batch: Batch, *, source: str) -> list[dict[str, Any]]:
    """The output rows of one batch of ``(line, record, error)`` from the file ``source``:
    the labels of each good record, or what went wrong with it."""
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
        for n, r, _ in batch
        if r is not None
    ]
    labels = _classified(pipeline, posts) if posts else {}
    rows: list[dict[str, Any]] = []
    for number, record, error in batch:
        result = labels.get(f"line:{number}") if record is not None else None
        if isinstance(result, str):
            record, error = None, f"{source}:{number}: classification failed: {result}"
        if record is None:
            rows.append({"line": number, "id": None, "error": error})
            continue
        assert isinstance(result, Enrichment)
        rows.append(
            {
                "line": number,
                "id": record.get("id"),
                "text": record["text"],
                **{task: value.to_dict() for task, value in sorted(result.results.items())},
                "redacted_text": result.redacted_text,
            }
        )
    return rows


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
