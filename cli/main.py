"""The ``earshot`` command line. Each command parses its arguments, calls one service and
prints; no business rule lives here."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from core.config import Config, load_config
from core.errors import EarshotError, InvalidValueError
from core.models import QUEUE_STATUSES
from core.redaction import install_log_redaction
from core.timeutil import now


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config)


_UNSAFE = ("Cc", "Cf", "Cs", "Co", "Cn")  # controls, format, surrogates, private, unassigned
_NAMED = {"\n": "\\n", "\t": "\\t"}


def _safe(text: str) -> str:
    """User-supplied text made safe for a terminal: every control and format character
    (bidirectional overrides, escape sequences, zero-width characters, lone surrogates) is
    shown as an escape such as ``\\u202e``; newlines and tabs as ``\\n`` and ``\\t``."""
    return "".join(_escaped(ch) if unicodedata.category(ch) in _UNSAFE else ch for ch in text)


def _escaped(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    return f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"


def _short(text: str, width: int) -> str:
    flat = _safe(" ".join(text.split()))
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def cmd_run(args: argparse.Namespace) -> int:
    from services import pipeline, reports, runtime

    if not args.once:
        print(
            "earshot run needs --once: scheduled runs are Airflow's job (dag social_listening)",
            file=sys.stderr,
        )
        return 2
    config = _config(args)
    runtime.check(config)
    summary = pipeline.run_once(config, progress=_progress)
    print(reports.format_report(config, summary))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from services import reports

    config = _config(args)
    print(reports.format_report(config, reports.last_run(config)))
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from services.runtime import upgrade_database

    revision = upgrade_database(_config(args))
    print(f"database schema at revision {revision}")
    return 0


def cmd_es_setup(args: argparse.Namespace) -> int:
    from services.runtime import setup_search

    for line in setup_search(_config(args)):
        print(line)
    return 0


def cmd_es_reindex(args: argparse.Namespace) -> int:
    from services.pipeline import reindex

    result = reindex(_config(args), progress=_progress)
    print(
        f"queued {result['queued']} posts; indexed {result['indexed']} documents,"
        f" removed {result['deleted']}"
    )
    return 0


def cmd_kibana_import(args: argparse.Namespace) -> int:
    from core.config import dashboards_file
    from search.kibana import import_saved_objects

    url = os.environ.get("EARSHOT_KIBANA_URL")
    if not url:
        raise InvalidValueError("set EARSHOT_KIBANA_URL (for example https://kibana:5601)")
    ndjson = Path(args.file) if args.file else dashboards_file()
    lines, ok = import_saved_objects(
        url,
        ndjson,
        space=args.space,
        api_key=os.environ.get("EARSHOT_KIBANA_API_KEY"),
        username=os.environ.get("EARSHOT_KIBANA_USERNAME"),
        password=os.environ.get("EARSHOT_KIBANA_PASSWORD"),
        ca_certs=os.environ.get("EARSHOT_KIBANA_CA_CERTS"),
    )
    for line in lines:
        print(line)
    return 0 if ok else 1


def cmd_queue_list(args: argparse.Namespace) -> int:
    from services import queues

    items = queues.list_items(_config(args), queue=args.queue, status=args.status, limit=args.limit)
    if not items:
        print("no queue items match", file=sys.stderr)
        return 0
    current = now()
    for item in items:
        d = item.decision
        if d.sla_due is None:
            due = "-"
        else:
            minutes = int((d.sla_due - current).total_seconds() // 60)
            due = f"due in {minutes}m" if minutes >= 0 else f"OVERDUE {-minutes}m"
        print(
            f"{d.priority:>3}  {d.queue:<9} {item.status:<13} {d.action:<12} {due:<14} "
            f"{d.post_id:<22} @{_safe(item.post.author.handle)}:"
            f" {_short(item.post.text, 70)}  [{d.rule}]"
        )
    return 0


def cmd_queue_set(args: argparse.Namespace) -> int:
    from services import queues

    item = queues.set_status(_config(args), args.post_id, args.status, actor=args.agent)
    holder = f" (assigned to {item.assignee})" if item.assignee else ""
    print(f"{args.post_id}: {item.status}{holder}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from services import search

    filters = {}
    for name in ("queue", "intent", "sentiment", "source", "status"):
        value = getattr(args, name)
        if value:
            filters[name] = value
    results = search.search(
        _config(args),
        " ".join(args.text),
        filters=filters,
        created_from=args.since,
        limit=args.limit,
    )
    if not results:
        print("no posts match", file=sys.stderr)
    for result in results:
        post, doc = result.post, result.document
        print(
            f"{post.id:<22} {post.created_at:%Y-%m-%d} @{post.author.handle:<18} "
            f"{doc.intent or '-':<11} {doc.queue or '-':<9} {_short(post.text, 80)}"
        )
    return 0


def cmd_deadletters(args: argparse.Namespace) -> int:
    from services.reports import dead_letters

    letters = dead_letters(_config(args), limit=args.limit)
    for letter in letters:
        print(f"[{letter.source}] {_safe(letter.error)}")
        print(f"    payload: {_short(letter.payload.decode('utf-8', 'backslashreplace'), 110)}")
    if not letters:
        print("the dead-letter table is empty", file=sys.stderr)
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from services.reports import sources_status

    rows = sources_status(_config(args))
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
    from services.pipeline import compliance

    config = _config(args)
    for name in args.source or config.source_names():
        result = compliance(config, name, progress=_progress)
        print(f"{name}: checked {result['checked']} posts, removed {result['removed']}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from services.training import train

    config = _config(args)
    tiers = ["m2v", "minilm"] if args.tier == "all" else [args.tier]
    written = train(config, tiers=tiers, progress=_progress)
    print(f"wrote {len(written)} files to {config.models_dir}")
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from services.feedback import correct

    correct(_config(args), args.post_id, args.task, args.label)
    print(
        f"{args.post_id}: {args.task} corrected to {args.label!r}; used by the next `earshot train`"
    )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from nlp.eval_file import evaluate_file

    report = evaluate_file(
        _config(args),
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

    chosen = set(_config(args).classifiers.values())
    for name, info in available_classifiers().items():
        mark = "*" if name in chosen else " "
        print(f"{mark} {name:<28} assigns {', '.join(info.assigns)}")
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from services.classify_file import classify_file

    in_path = Path(args.in_path)
    if not in_path.is_file():
        raise InvalidValueError(f"input file not found: {in_path}")
    config = _config(args)
    out_path = Path(args.out_path)
    tmp = out_path.with_name(out_path.name + ".part")
    try:
        with tmp.open("w", encoding="utf-8") as out:
            written, errors = classify_file(
                config, in_path, out, warn=_progress, progress=_progress
            )
        tmp.replace(out_path)  # all or nothing: a run that fails leaves no partial output
    finally:
        tmp.unlink(missing_ok=True)
    print(f"wrote {written} records to {out_path} ({errors} with errors)", file=sys.stderr)
    return 1 if errors else 0


def _limit(value: str) -> int:
    """A ``--limit``: a whole number of 1 or more (argparse reports anything else, exit 2)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {number}")
    return number


def _date(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {value!r} (use 2026-11-24)") from None


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

    db = sub.add_parser("db", help="the store's database")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser(
        "upgrade", help="bring the database schema to this version of Earshot"
    ).set_defaults(func=cmd_db_upgrade)

    es = sub.add_parser("es", help="the Elasticsearch index (EARSHOT_ES_URL)")
    es_sub = es.add_subparsers(dest="es_command", required=True)
    es_sub.add_parser(
        "setup", help="create or update the index templates, ILM policy and write alias"
    ).set_defaults(func=cmd_es_setup)
    es_sub.add_parser(
        "reindex", help="rebuild the search index from the store (resumable)"
    ).set_defaults(func=cmd_es_reindex)

    kibana = sub.add_parser("kibana", help="Kibana saved objects (EARSHOT_KIBANA_URL)")
    kibana_sub = kibana.add_subparsers(dest="kibana_command", required=True)
    kibana_import = kibana_sub.add_parser(
        "import", help="import the Earshot data view, searches, visualisations and dashboard"
    )
    kibana_import.add_argument("--space", help="Kibana space (default: the default space)")
    kibana_import.add_argument("--file", help="an NDJSON file (default: the bundled one)")
    kibana_import.set_defaults(func=cmd_kibana_import)

    queue = sub.add_parser("queue", help="routed posts waiting for agents")
    queue_sub = queue.add_subparsers(dest="queue_command", required=True)
    listing = queue_sub.add_parser("list", help="list queue items, most urgent first")
    listing.add_argument("--queue", help="only this queue (billing, logistics, care, ...)")
    listing.add_argument("--status", choices=QUEUE_STATUSES, help="only this status")
    listing.add_argument("--limit", type=_limit, default=50)
    listing.set_defaults(func=cmd_queue_list)
    setter = queue_sub.add_parser("set-status", help="claim, release, resolve or move private")
    setter.add_argument("post_id")
    setter.add_argument("status", choices=QUEUE_STATUSES)
    setter.add_argument("--agent", default="cli", help="who makes the change (kept in the audit)")
    setter.set_defaults(func=cmd_queue_set)

    search = sub.add_parser("search", help="full-text search over stored posts")
    search.add_argument("text", nargs="+")
    search.add_argument("--limit", type=_limit, default=20)
    for name in ("queue", "intent", "sentiment", "source", "status"):
        search.add_argument(f"--{name}", action="append", help=f"only posts with this {name}")
    search.add_argument("--since", type=_date, help="only posts created on or after this date")
    search.set_defaults(func=cmd_search)

    classify = sub.add_parser("classify", help="classify a JSONL or CSV file of texts")
    classify.add_argument("--in", dest="in_path", required=True, help="JSONL or CSV with 'text'")
    classify.add_argument("--out", dest="out_path", required=True, help="JSONL output")
    classify.set_defaults(func=cmd_classify)

    dead = sub.add_parser("deadletters", help="records that could not be processed")
    dead.add_argument("--limit", type=_limit, default=100)
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
    install_log_redaction()  # no log line carries a card, an email, a phone or an IBAN
    try:
        return int(args.func(args))
    except InvalidValueError as e:  # called wrongly, like argparse's own usage errors
        print(f"error: {e}", file=sys.stderr)
        return 2
    except EarshotError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
