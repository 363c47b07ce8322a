"""``earshot classify``: label every record of a JSONL or CSV file, one output line per input
line, in order, ids kept; a bad line gives an ``error`` row in its place."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from core.batching import CLASSIFY_BATCH
from core.config import Config
from core.errors import InputError
from core.models import Author, Post

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
            else:
                yield number, {k: v for k, v in row.items() if k in ("id", "text")}, None
        return
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                yield number, None, f"{path}:{number}: empty line"
                continue
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as e:
                yield number, None, f"{path}:{number}: invalid UTF-8 at byte {e.start}"
                continue
            except json.JSONDecodeError as e:
                yield number, None, f"{path}:{number}: invalid JSON ({e.msg})"
                continue
            if not isinstance(record, dict):
                yield number, None, f"{path}:{number}: expected a JSON object"
            elif not isinstance(record.get("text"), str):
                yield number, None, f"{path}:{number}: missing string field 'text'"
            else:
                yield number, record, None


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
            )
            for n, r in good
        ]
        results = iter(pipeline.run(posts))
        for number, record, error in pending:
            if record is None:
                row: dict[str, Any] = {"line": number, "id": None, "error": error}
                errors += 1
                if warn:
                    warn(f"warning: {error}")
            else:
                enrichment = next(results)
                row = {
                    "line": number,
                    "id": record.get("id"),
                    "text": record["text"],
                    **{task: value.to_dict() for task, value in sorted(enrichment.results.items())},
                    "redacted_text": enrichment.redacted_text,
                }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
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
