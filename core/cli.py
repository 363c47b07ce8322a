"""The ``earshot`` command line."""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from core.config import ConfigError, load_config

CLASSIFY_CHUNK = 1000


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_run(args: argparse.Namespace) -> int:
    from core.pipeline import format_report, open_store, run_once

    if not args.once:
        print(
            "earshot run needs --once: scheduled runs are Airflow's job (dag social_listening)",
            file=sys.stderr,
        )
        return 2
    config = load_config(args.config)
    summary = run_once(config, progress=_progress)
    print(format_report(summary, open_store(config)))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from core.pipeline import format_report, open_store

    store = open_store(load_config(args.config))
    last = store.last_run()
    print(format_report(None if last is None else last["summary"], store))
    return 0


def _short(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def cmd_queue_list(args: argparse.Namespace) -> int:
    from core.pipeline import open_store

    store = open_store(load_config(args.config))
    items = store.queue_items(queue=args.queue, status=args.status, limit=args.limit)
    if not items:
        print("no queue items match", file=sys.stderr)
        return 0
    now = datetime.now(UTC)
    for item in items:
        d = item.decision
        if d.sla_due is None:
            due = "-"
        else:
            minutes = int((d.sla_due - now).total_seconds() // 60)
            due = f"due in {minutes}m" if minutes >= 0 else f"OVERDUE {-minutes}m"
        print(
            f"{d.priority:>3}  {d.queue:<9} {item.status:<13} {d.action:<12} {due:<14} "
            f"{d.post_id:<22} @{item.post.author.handle}: {_short(item.post.text, 70)}  [{d.rule}]"
        )
    return 0


def cmd_queue_set(args: argparse.Namespace) -> int:
    from core.pipeline import open_store

    open_store(load_config(args.config)).set_status(args.post_id, args.status)
    print(f"{args.post_id}: {args.status}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from core.pipeline import open_store

    store = open_store(load_config(args.config))
    hits = store.search(" ".join(args.text), limit=args.limit)
    if not hits:
        print("no posts match", file=sys.stderr)
    for hit in hits:
        post = hit.post
        print(
            f"{post.id:<22} {post.created_at:%Y-%m-%d} @{post.author.handle:<18} "
            f"{hit.intent or '-':<11} {hit.queue or '-':<9} {_short(post.text, 80)}"
        )
    return 0


def cmd_deadletters(args: argparse.Namespace) -> int:
    from core.pipeline import open_store

    letters = open_store(load_config(args.config)).dead_letters(limit=args.limit)
    for letter in letters:
        print(f"[{letter.source}] {letter.error}")
        print(f"    payload: {_short(letter.payload.decode('utf-8', 'backslashreplace'), 110)}")
    if not letters:
        print("the dead-letter table is empty", file=sys.stderr)
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from core.pipeline import sources_status

    rows = sources_status(load_config(args.config))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['name']} ({row['type']}, {row['network']})")
        print(f"  last success: {row['last_success'] or 'never'}")
        for stream, position in sorted(row["position"].items()):
            print(f"  cursor {stream}: {position}")
        if row["rate_limited_until"]:
            print(f"  rate limited until {row['rate_limited_until']}")
        for gap in row["gaps"]:
            print(f"  GAP {gap['from']} .. {gap['to']}: {gap['reason']}")
        if row["open_gap"]:
            print(f"  GAP (open): {row['open_gap']}")
        if not row["gaps"] and not row["open_gap"]:
            print("  no coverage gaps")
    return 0


def cmd_compliance(args: argparse.Namespace) -> int:
    from core.pipeline import compliance

    config = load_config(args.config)
    names = args.source or [s.name for s in config.sources]
    for name in names:
        result = compliance(config, name, progress=_progress)
        print(f"{name}: checked {result['checked']} posts, removed {result['removed']}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from nlp.train_all import train_models

    config = load_config(args.config)
    tiers = ["m2v", "minilm"] if args.tier == "all" else [args.tier]
    written = train_models(config, tiers=tiers, progress=_progress)
    print(f"wrote {len(written)} files to {config.models_dir}")
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from core.models import INTENTS, SENTIMENTS
    from core.pipeline import open_store

    allowed = INTENTS if args.task == "intent" else SENTIMENTS
    if args.label not in allowed:
        print(
            f"error: {args.label!r} is not a {args.task} label ({', '.join(allowed)})",
            file=sys.stderr,
        )
        return 2
    open_store(load_config(args.config)).add_feedback(args.post_id, args.task, args.label)
    print(
        f"{args.post_id}: {args.task} corrected to {args.label!r}; used by the next `earshot train`"
    )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from nlp.eval_cli import evaluate_file

    report = evaluate_file(
        load_config(args.config),
        task=args.task,
        path=Path(args.data),
        label_column=args.label_column,
        text_column=args.text_column,
        label_map=Path(args.label_map) if args.label_map else None,
        where=args.where,
        classifier=args.classifier,
        progress=_progress,
    )
    print(report)
    return 0


def cmd_classifiers(args: argparse.Namespace) -> int:
    from nlp import available_classifiers

    config = load_config(args.config)
    chosen = set(config.classifiers.values())
    for name, assigns in available_classifiers().items():
        mark = "*" if name in chosen else " "
        print(f"{mark} {name:<28} assigns {', '.join(assigns)}")
    return 0


def read_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Yield ``(line, record, error)`` from a JSONL file or a CSV file with a ``text`` column.

    ``line`` is the 1-based line (JSONL) or data row (CSV); exactly one of record and error
    is set, so a bad row is reported where it stands instead of being dropped.
    """
    if path.suffix.lower() == ".csv":
        try:
            content = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise ValueError(f"{path}: not UTF-8 (byte {e.start}): re-save the CSV as UTF-8") from e
        reader = csv.DictReader(io.StringIO(content, newline=""))
        if reader.fieldnames is None or "text" not in reader.fieldnames:
            raise ValueError(f"{path}: the CSV needs a 'text' column (found {reader.fieldnames})")
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
    in_path: Path, out: TextIO, *, config_path: str | None = None, progress: bool = True
) -> tuple[int, int]:
    """Classify every record of ``in_path`` into ``out`` (JSONL, input order, ids kept).

    Returns ``(rows written, rows with errors)``.
    """
    from core.models import Author, Post
    from core.pipeline import classifier_pipeline

    config = load_config(config_path)
    pipeline = classifier_pipeline(config)
    written = errors = 0
    pending: list[tuple[int, dict[str, Any] | None, str | None]] = []
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    anonymous = Author(id="file", handle="")

    def flush() -> None:
        nonlocal written, errors
        good = [(n, r) for n, r, _ in pending if r is not None]
        posts = [
            Post(
                id=f"line:{n}",
                source="file",
                url="",
                author=anonymous,
                text=r["text"],
                created_at=epoch,
            )
            for n, r in good
        ]
        results = iter(pipeline.run(posts))
        for number, record, error in pending:
            if record is None:
                row: dict[str, Any] = {"line": number, "id": None, "error": error}
                errors += 1
                print(f"warning: {error}", file=sys.stderr)
            else:
                enrichment = next(results).to_dict()
                enrichment.pop("post_id")
                row = {"line": number, "id": record.get("id"), "text": record["text"], **enrichment}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            written += 1
        pending.clear()
        if progress:
            _progress(f"classified {written} records")

    for item in read_records(in_path):
        pending.append(item)
        if len(pending) >= CLASSIFY_CHUNK:
            flush()
    if pending:
        flush()
    return written, errors


def cmd_classify(args: argparse.Namespace) -> int:
    in_path = Path(args.in_path)
    if not in_path.is_file():
        print(f"error: input file not found: {in_path}", file=sys.stderr)
        return 2
    out_path = Path(args.out_path)
    tmp = out_path.with_name(out_path.name + ".part")
    with tmp.open("w", encoding="utf-8") as out:
        written, errors = classify_file(in_path, out, config_path=args.config)
    tmp.replace(out_path)
    print(f"wrote {written} records to {out_path} ({errors} with errors)", file=sys.stderr)
    return 1 if errors else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="earshot", description="Social listening and routing.")
    parser.add_argument("--config", help="configuration file (default: earshot.yaml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run one listening cycle without Airflow")
    run.add_argument("--once", action="store_true", help="run one cycle and exit")
    run.set_defaults(func=cmd_run)

    sub.add_parser("report", help="summary of the last run and all queues").set_defaults(
        func=cmd_report
    )

    queue = sub.add_parser("queue", help="routed posts waiting for agents")
    queue_sub = queue.add_subparsers(dest="queue_command", required=True)
    listing = queue_sub.add_parser("list", help="list queue items, most urgent first")
    listing.add_argument("--queue", help="only this queue (billing, logistics, care, ...)")
    listing.add_argument("--status", help="only this status (new, claimed, resolved, ...)")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(func=cmd_queue_list)
    setter = queue_sub.add_parser("set-status", help="claim, resolve or move a post private")
    setter.add_argument("post_id")
    setter.add_argument(
        "status", choices=["new", "claimed", "resolved", "moved_private", "no_action"]
    )
    setter.set_defaults(func=cmd_queue_set)

    search = sub.add_parser("search", help="full-text search over stored posts")
    search.add_argument("text", nargs="+")
    search.add_argument("--limit", type=int, default=20)
    search.set_defaults(func=cmd_search)

    classify = sub.add_parser("classify", help="classify a JSONL or CSV file of texts")
    classify.add_argument("--in", dest="in_path", required=True, help="JSONL or CSV with 'text'")
    classify.add_argument("--out", dest="out_path", required=True, help="JSONL output")
    classify.set_defaults(func=cmd_classify)

    dead = sub.add_parser("deadletters", help="records that could not be processed")
    dead.add_argument("--limit", type=int, default=100)
    dead.set_defaults(func=cmd_deadletters)

    sources = sub.add_parser("sources", help="each source's cursor, last success and gaps")
    sources.add_argument("--json", action="store_true", help="machine-readable output")
    sources.set_defaults(func=cmd_sources)

    comply = sub.add_parser("compliance", help="remove stored posts deleted at the source")
    comply.add_argument("--source", action="append", help="only this source (repeatable)")
    comply.set_defaults(func=cmd_compliance)

    train = sub.add_parser("train", help="train the classifier heads (and distill the encoder)")
    train.add_argument("--tier", choices=["m2v", "minilm", "all"], default="all")
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("eval", help="score a classifier on a labelled CSV or JSONL file")
    evaluate.add_argument(
        "--task",
        required=True,
        choices=["sentiment", "intent", "private", "pii", "language", "spam"],
    )
    evaluate.add_argument("--data", required=True, help="CSV or JSONL with text and labels")
    evaluate.add_argument("--label-column", default="label")
    evaluate.add_argument("--text-column", default="text")
    evaluate.add_argument("--label-map", help="YAML mapping of our label to a list of theirs")
    evaluate.add_argument(
        "--where", action="append", default=[], help="only rows with COLUMN=VALUE"
    )
    evaluate.add_argument("--classifier", help="registered name (default: the configured one)")
    evaluate.set_defaults(func=cmd_eval)

    fb = sub.add_parser("feedback", help="correct a post's label (training data for next time)")
    fb.add_argument("post_id")
    fb.add_argument("--task", required=True, choices=["sentiment", "intent"])
    fb.add_argument("--label", required=True)
    fb.set_defaults(func=cmd_feedback)

    sub.add_parser("classifiers", help="registered classifiers (* = configured)").set_defaults(
        func=cmd_classifiers
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except (ConfigError, ValueError, RuntimeError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
