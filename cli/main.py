"""The ``earshot`` command line. Each command parses its arguments, calls one service and
prints; no business rule lives here."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from core.access import ROLES
from core.care import CASE_STATUSES
from core.config import Config, load_config
from core.errors import EarshotError, InvalidValueError
from core.redaction import install_log_redaction
from core.timeutil import now, utc


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
    from services import care_report, reports

    config = _config(args)
    figures = care_report.figures(config, since=utc(args.since) if args.since else None)
    if args.format == "json":
        print(json.dumps(figures, indent=2, ensure_ascii=False))
    elif args.format == "csv":
        sys.stdout.write(care_report.format_csv(figures))
    else:
        print(reports.format_report(config, reports.last_run(config)))
        print(care_report.format_table(figures))
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


def _due(sla_due: datetime | None, current: datetime, answered: bool) -> str:
    if sla_due is None:
        return "-"
    if answered:
        return "answered"
    minutes = int((sla_due - current).total_seconds() // 60)
    return f"due in {minutes}m" if minutes >= 0 else f"OVERDUE {-minutes}m"


def _reasons(reasons: dict[str, float]) -> str:
    return " ".join(f"{k} {v:+g}" for k, v in reasons.items())


def cmd_cases_list(args: argparse.Namespace) -> int:
    from services import cases

    found = cases.list_cases(
        _config(args),
        queue=args.queue,
        status=args.status,
        assignee=args.agent,
        open_only=not args.all and args.status is None,
        limit=args.limit,
    )
    if not found:
        print("no cases match", file=sys.stderr)
        return 0
    current = now()
    detractors = cases.detractor_keys(_config(args))
    for case in found:
        due = _due(case.sla_due, current, case.first_response_at is not None)
        holder = case.assignee or "-"
        flag = " BREACHED" if case.breached_at else ""
        if cases.is_detractor(case, detractors):
            flag += " DETRACTOR"
        print(
            f"{case.priority:>3}  {case.id:<30} {case.queue:<9} {case.status:<13}"
            f" {holder:<10} {case.action:<12} {due:<14} @{_safe(case.author_handle)}"
            f" ({case.source}, {case.tier}){flag}"
        )
    return 0


def cmd_cases_show(args: argparse.Namespace) -> int:
    from services import cases

    view = cases.show(_config(args), args.case_id)
    case = view.case
    current = now()
    print(f"{case.id}  {case.queue}  {case.status}  held by {case.assignee or 'nobody'}")
    print(
        f"  customer @{_safe(case.author_handle)} on {case.source}, tier {case.tier};"
        f" posted {case.opened_at:%Y-%m-%d %H:%M} UTC"
        + (f"; reopened {case.reopened}x" if case.reopened else "")
    )
    due = _due(case.sla_due, current, case.first_response_at is not None)
    sla = "no SLA" if case.sla_due is None else f"SLA due {case.sla_due:%Y-%m-%d %H:%M} UTC ({due})"
    if case.breached_at:
        sla += f", BREACHED (flagged {case.breached_at:%Y-%m-%d %H:%M})"
    print(f"  {sla}")
    if case.first_response_at:
        print(
            f"  first response {case.first_response_at:%Y-%m-%d %H:%M} UTC by"
            f" {_safe(case.first_response_by or '?')} ({case.first_response_kind})"
        )
    if view.detractor is not None:
        print(
            f"  DETRACTOR (score {view.detractor.score:g}, marketing's daily list): repeatedly"
            " negative with a large audience or a high tier; a case for a senior agent"
        )
    print(f"  priority {case.priority}: {_reasons(case.priority_reasons)}")
    detail = case.action_detail
    line = f"  suggested action: {case.action} (rule {case.rule})"
    if detail.get("private_reasons"):
        line += f"; private because: {'; '.join(detail['private_reasons'])}"
    if detail.get("article"):
        article = detail["article"]
        line += f"; help article {article['id']} ({article['url']}, score {article['score']})"
    elif detail.get("note"):
        line += f"; {detail['note']}"
    print(line)
    print("  conversation:")
    for post, role in view.conversation:
        who = "BRAND " if role == "brand" else ""
        print(
            f"    {post.created_at:%m-%d %H:%M} {who}@{_safe(post.author.handle)}"
            f" [{post.id}]: {_short(post.text, 90)}"
        )
    if view.profile:
        handles = ", ".join(f"{n}:{h}" for n, h in view.profile.handles)
        crm = f", CRM {view.profile.crm_id}" if view.profile.crm_id else ""
        print(f"  profile {view.profile.id}{crm}: {handles}")
    if view.other_open_cases:
        print("  other open cases of this customer:")
        for other in view.other_open_cases:
            print(f"    {other.id} ({other.queue}, {other.status}, {other.source})")
    if view.earlier_posts:
        print("  earlier posts of this customer (every linked network):")
        for post in view.earlier_posts:
            print(
                f"    {post.created_at:%m-%d %H:%M} {post.source} [{post.id}]:"
                f" {_short(post.text, 80)}"
            )
    print("  trail:")
    for event in view.events:
        change = (
            f"{event.from_status} -> {event.to_status}"
            if event.from_status != event.to_status
            else event.to_status
        )
        extra = f" {json.dumps(event.detail, ensure_ascii=False)}" if event.detail else ""
        print(f"    {event.at:%m-%d %H:%M} {event.action:<12} {change:<22} by {event.actor}{extra}")
    return 0


def cmd_cases_act(args: argparse.Namespace) -> int:
    from services import cases

    case = cases.act(
        _config(args),
        args.case_id,
        args.action,
        agent=args.agent,
        queue=getattr(args, "queue", None),
        article=getattr(args, "article", None),
        note=args.note,
    )
    holder = f", held by {case.assignee}" if case.assignee else ""
    print(f"{case.id}: {case.status} in {case.queue}{holder}")
    return 0


def cmd_cases_check_sla(args: argparse.Namespace) -> int:
    from services import pipeline

    done = pipeline.check_sla(_config(args))
    print(
        f"{done['breached']} cases newly past their SLA, {done['notified']} webhook"
        f" notifications sent, {done['webhook_failures']} failed (retried next time),"
        f" {done['reprioritised']} waiting cases reprioritised"
    )
    return 0


def cmd_agents_add(args: argparse.Namespace) -> int:
    from services import cases

    agent = cases.add_agent(
        _config(args), args.name, queues=args.queue, display_name=args.display_name or ""
    )
    print(f"agent {agent.name} works {', '.join(agent.queues)}")
    return 0


def cmd_agents_list(args: argparse.Namespace) -> int:
    from services import cases

    for agent in cases.agents(_config(args)):
        state = "" if agent.active else " (inactive)"
        print(f"{agent.name:<16} {', '.join(agent.queues)}{state}")
    return 0


def _read_password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not args.set_password:
        return None
    import getpass

    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != first:
        raise InvalidValueError("the two passwords differ")
    return first


def cmd_users_add(args: argparse.Namespace) -> int:
    from services import access

    user = access.add_user(
        _config(args),
        args.name,
        role=args.role,
        password=_read_password(args),
        display_name=args.display_name or "",
        teams=args.team,
    )
    teams = f", teams {', '.join(user.teams)}" if user.teams else ""
    print(f"user {user.name}: {user.role}{teams}")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    from services import access

    for user in access.users(_config(args)):
        state = "" if user.active else " (deactivated)"
        print(f"{user.name:<16} {user.role:<10} {', '.join(user.teams)}{state}")
    return 0


def cmd_users_deactivate(args: argparse.Namespace) -> int:
    from services import access

    access.deactivate_user(_config(args), args.name)
    print(f"user {args.name} deactivated: sessions ended, API tokens refused")
    return 0


def cmd_users_token(args: argparse.Namespace) -> int:
    from services import access

    token, secret = access.create_token(_config(args), args.name, label=args.label or "")
    print(f"API token {token.id} for {token.user_name} (shown once; send it as")
    print("'Authorization: Bearer <token>'):")
    print(secret)
    return 0


def cmd_users_revoke(args: argparse.Namespace) -> int:
    from services import access

    access.revoke_token(_config(args), args.token_id)
    print(f"API token {args.token_id} revoked")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from web.serve import serve

    return serve(
        _config(args),
        host=args.host,
        port=args.port,
        insecure_cookies=args.insecure_cookies,
        demo_users=args.demo_users,
    )


def cmd_authors_link(args: argparse.Namespace) -> int:
    from services import authors

    profile = authors.link(
        _config(args), args.handles, crm_id=args.crm_id, tier=args.tier, name=args.name
    )
    handles = ", ".join(f"{n}:{h}" for n, h in profile.handles)
    print(f"{profile.id}: {handles} (tier {profile.tier or 'from routing.yaml'})")
    return 0


def cmd_authors_import(args: argparse.Namespace) -> int:
    from services import authors

    result = authors.import_csv(_config(args), args.file)
    for line in result.rejected:
        print(f"rejected {line}", file=sys.stderr)
    print(
        f"imported {result.handles} handles of {result.profiles} customers;"
        f" {len(result.rejected)} rows rejected"
    )
    return 1 if result.rejected else 0


def cmd_authors_show(args: argparse.Namespace) -> int:
    from services import authors

    view = authors.show(_config(args), args.who, limit=args.limit)
    if view.profile:
        p = view.profile
        print(f"{p.id}  {p.display_name or ''}  CRM {p.crm_id or '-'}  tier {p.tier or '-'}")
    print("handles: " + ", ".join(f"{n}:{h}" for n, h in view.handles))
    print(f"open cases: {len(view.open_cases)}")
    for case in view.cases:
        opened = f"{case.opened_at:%Y-%m-%d %H:%M}"
        print(f"  {case.id} {case.queue} {case.status} ({case.source}, opened {opened})")
    print(f"posts ({len(view.posts)} newest):")
    for post in view.posts:
        print(
            f"  {post.created_at:%Y-%m-%d %H:%M} {post.source} [{post.id}]: {_short(post.text, 80)}"
        )
    return 0


def cmd_insights_run(args: argparse.Namespace) -> int:
    from services import insights

    config = _config(args)
    at = args.at
    if at == "newest":
        at = insights.newest_post_at(config)
        if at is None:
            print(
                "no stored posts: nothing to score (run `earshot run --once` first)",
                file=sys.stderr,
            )
            return 1
        print(f"as of the newest stored post, {at:%Y-%m-%d %H:%M} UTC")
    result = insights.run(config, at=at, progress=_progress)
    counts = ", ".join(f"{n} {kind}s" for kind, n in result["scores"].items())
    print(f"scored {counts}; {result['new_alerts']} new spike alerts")
    for kind in ("advocate", "superuser", "detractor"):
        best = insights.top(config, kind=kind, limit=3)
        if best:
            names = ", ".join(
                f"{_safe(s.profile_id or ' '.join(f'{n}:{h}' for n, h in s.handles))} ({s.score:g})"
                for s in best
            )
            print(f"  top {kind}s: {names}")
    for alert in insights.alerts(config, limit=5):
        print(
            f"  spike {alert.window_start:%Y-%m-%d %H:%M} UTC: {alert.kind} {_safe(alert.key)!r},"
            f" {alert.count} posts (usually {alert.baseline:g})"
        )
    return 0


def cmd_advocates(args: argparse.Namespace) -> int:
    from services import insights

    config = _config(args)
    scores = insights.top(
        config,
        kind=args.kind,
        limit=args.top,
        since=utc(args.since) if args.since else None,
        network=args.network,
    )
    links = insights.evidence_links(config, scores)
    rows: list[dict[str, Any]] = [
        {
            "rank": rank,
            "author": ", ".join(f"{n}:{h}" for n, h in s.handles),
            "profile": s.profile_id or "",
            "tier": s.tier or "",
            "score": s.score,
            "components": s.components,
            "evidence": [{"id": p, "url": links.get(p, "")} for p in s.evidence],
        }
        for rank, s in enumerate(scores, start=1)
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["rank", "author", "profile", "tier", "score", "components", "evidence"])
        for row in rows:
            writer.writerow(
                [
                    row["rank"],
                    row["author"],
                    row["profile"],
                    row["tier"],
                    row["score"],
                    " ".join(f"{k}={v:g}" for k, v in row["components"].items()),
                    " ".join(e["url"] or e["id"] for e in row["evidence"]),
                ]
            )
    else:
        if not rows:
            print(
                f"no {args.kind}s yet: `earshot insights run` scores the stored posts",
                file=sys.stderr,
            )
        for row in rows:
            parts = " ".join(f"{k} {v:g}" for k, v in row["components"].items())
            profile = f" [{row['profile']}]" if row["profile"] else ""
            print(
                f"{row['rank']:>3}. {_safe(row['author'])}{profile}  score {row['score']:g}"
                f"  ({parts})"
            )
            for e in row["evidence"]:
                print(f"       {e['url'] or e['id']}")
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    from services import insights

    found = insights.alerts(
        _config(args), since=utc(args.since) if args.since else None, limit=args.limit
    )
    if args.format == "json":
        print(
            json.dumps(
                [
                    {
                        "id": a.id,
                        "kind": a.kind,
                        "key": a.key,
                        "window_start": a.window_start.isoformat(),
                        "count": a.count,
                        "baseline": a.baseline,
                        "p_value": a.p_value,
                        "method": a.method,
                        "examples": list(a.examples),
                    }
                    for a in found
                ],
                indent=2,
            )
        )
        return 0
    if not found:
        print("no spike alerts", file=sys.stderr)
    for a in found:
        print(
            f"{a.window_start:%Y-%m-%d %H:%M} UTC  {a.kind:<6} {_safe(a.key)!r}: {a.count} posts"
            f" in the hour, usually {a.baseline:g} (p={a.p_value:.1e}, {a.method});"
            f" e.g. {', '.join(a.examples)}"
        )
    return 0


def cmd_import_history(args: argparse.Namespace) -> int:
    from services import history

    result = history.import_history(_config(args), args.file)
    for line in result.rejected:
        print(f"rejected {line}", file=sys.stderr)
    total = result.private + result.public
    print(
        f"{total} conversations: {result.private} moved private, {result.public} answered in"
        f" public ({result.new} new); {len(result.rejected)} lines rejected"
    )
    for brand, (private, n) in sorted(result.brands.items(), key=lambda kv: -kv[1][1])[:10]:
        print(f"  {brand:<24} {private:>5} of {n:>5} private ({private / n:.0%})")
    print("`earshot train` learns each brand's practice from them")
    return 1 if result.rejected else 0


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


def cmd_backfill(args: argparse.Namespace) -> int:
    from services import reports, runtime
    from services.backfill import backfill

    config = _config(args)
    runtime.check(config)
    summary = backfill(
        config, args.source, utc(args.since), restart=args.restart, progress=_progress
    )
    print(reports.format_report(config, summary))
    print(
        f"backfilled {args.source} from {args.since:%Y-%m-%d}: {summary['new_posts']} new posts"
        f" in {summary['batches']} batches ({summary['posts_per_second']:,.0f} posts/s)"
    )
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from services.labels import read_labels
    from services.training import train

    config = _config(args)
    tiers = ["m2v", "minilm"] if args.tier == "all" else [args.tier]
    labels = [read_labels(path, brand=args.brand) for path in args.labels]
    for item in labels:
        counts = ", ".join(f"{n} {task}" for task, n in item.counts().items())
        print(f"{item.path}: {item.rows} labelled posts ({counts})")
    written = train(config, tiers=tiers, labels=labels, progress=_progress)
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
    if args.task in ("advocates", "superusers"):
        from services import insights_eval

        result = insights_eval.evaluate(
            _config(args), Path(args.data) if args.data else None, progress=_progress
        )
        print(insights_eval.format_result(result))
        return 0
    if not args.data:
        raise InvalidValueError(f"--data is needed for --task {args.task}")
    if args.task == "private-practice":
        from services import history_eval

        evaluation = history_eval.evaluate(_config(args), Path(args.data), progress=_progress)
        print(history_eval.format_evaluation(evaluation))
        return 0
    if args.learning_curve:
        from nlp.eval_file import curve_rows
        from nlp.learning_curve import learning_curve, split

        config = _config(args)
        tier = config.classifiers.get(args.task, "").split(".")[1:2]
        if args.task not in ("sentiment", "intent") or tier[0:1] not in (["m2v"], ["minilm"]):
            raise InvalidValueError(
                "--learning-curve trains a head: --task sentiment or intent, with a"
                " sentiment.*.v1 / intent.*.v1 head configured (m2v or minilm)"
            )
        rows = curve_rows(
            Path(args.data),
            label_column=args.label_column,
            text_column=args.text_column,
            label_map=Path(args.label_map) if args.label_map else None,
            where=args.where,
            test_where=args.test_where,
        )
        pool, test = split(rows)
        curve = learning_curve(
            config, args.task, tier[0], pool, test, sizes=args.sizes, progress=_progress
        )
        print(curve.report())
        return 0
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
                config, in_path, out, workers=args.workers, warn=_progress, progress=_progress
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


def _sizes(value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {value!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be 1 or more: {value!r}")
    return sizes


def _date(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {value!r} (use 2026-11-24)") from None


def _date_or_newest(value: str) -> datetime | str:
    return value if value == "newest" else _date(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="earshot", description="Social listening and routing.")
    parser.add_argument("--config", help="configuration file (default: earshot.yaml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run one listening cycle without Airflow")
    run.add_argument("--once", action="store_true", help="run one cycle and exit")
    run.set_defaults(func=cmd_run)

    report = sub.add_parser(
        "report", help="the last run, and the care figures (response times, SLA, volumes)"
    )
    report.add_argument("--since", type=_date, help="only cases and posts from this date on")
    report.add_argument("--format", choices=["table", "json", "csv"], default="table")
    report.set_defaults(func=cmd_report)

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

    cases = sub.add_parser("cases", help="cases: list, show, and every agent action")
    cases_sub = cases.add_subparsers(dest="cases_command", required=True)
    listing = cases_sub.add_parser("list", help="open cases, most urgent first")
    listing.add_argument("--queue", help="only this queue (billing, logistics, care, ...)")
    listing.add_argument("--status", choices=CASE_STATUSES, help="only this status")
    listing.add_argument("--agent", help="only cases held by this agent")
    listing.add_argument("--all", action="store_true", help="closed cases too")
    listing.add_argument("--limit", type=_limit, default=50)
    listing.set_defaults(func=cmd_cases_list)
    shown = cases_sub.add_parser("show", help="a case: conversation, customer, trail")
    shown.add_argument("case_id")
    shown.set_defaults(func=cmd_cases_show)
    for action, text in (
        ("claim", "take a new case"),
        ("release", "give a claimed case back to its queue"),
        ("respond", "record that you answered (publicly)"),
        ("resolve", "close a case you hold"),
        ("move-private", "close: the conversation continues privately"),
        ("no-action", "close: nothing to do"),
        ("reroute", "move the case to another queue"),
    ):
        act = cases_sub.add_parser(action, help=text)
        act.add_argument("case_id")
        act.add_argument("--agent", required=True, help="who acts (kept in the audit trail)")
        act.add_argument("--note", help="a note for the trail")
        if action == "reroute":
            act.add_argument("--queue", required=True, help="the queue to move it to")
        if action == "respond":
            act.add_argument("--article", help="the help article the reply pointed to")
        act.set_defaults(func=cmd_cases_act, action=action.replace("-", "_"))
    cases_sub.add_parser(
        "check-sla", help="flag cases past their SLA (the care_sla DAG runs it every 5 minutes)"
    ).set_defaults(func=cmd_cases_check_sla)

    agents = sub.add_parser("agents", help="the care team's agents")
    agents_sub = agents.add_subparsers(dest="agents_command", required=True)
    add = agents_sub.add_parser("add", help="add or update an agent")
    add.add_argument("name")
    add.add_argument(
        "--queue", action="append", required=True, help="a queue they work (repeatable; * = all)"
    )
    add.add_argument("--display-name")
    add.set_defaults(func=cmd_agents_add)
    agents_sub.add_parser("list", help="every agent and their queues").set_defaults(
        func=cmd_agents_list
    )

    users = sub.add_parser("users", help="console users: roles, teams, passwords, API tokens")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    uadd = users_sub.add_parser(
        "add",
        help="add or update a user (asks for a password with --set-password)",
        description="Roles: agent and lead (work the queues of their --team), marketing"
        " (advocates, overview), analyst (search, overview), admin (users, configuration,"
        " audit log).",
    )
    uadd.add_argument("name")
    uadd.add_argument("--role", required=True, choices=ROLES)
    uadd.add_argument(
        "--team",
        action="append",
        default=[],
        help="a queue an agent or lead works (repeatable; * = all)",
    )
    uadd.add_argument("--display-name")
    how = uadd.add_mutually_exclusive_group()
    how.add_argument("--set-password", action="store_true", help="ask for a password")
    how.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    uadd.set_defaults(func=cmd_users_add)
    users_sub.add_parser("list", help="every user, role and teams").set_defaults(
        func=cmd_users_list
    )
    udeact = users_sub.add_parser("deactivate", help="end a user's sessions and tokens")
    udeact.add_argument("name")
    udeact.set_defaults(func=cmd_users_deactivate)
    utoken = users_sub.add_parser("token", help="a new API token for the JSON API")
    utoken.add_argument("name")
    utoken.add_argument("--label", help="what the token is for")
    utoken.set_defaults(func=cmd_users_token)
    urevoke = users_sub.add_parser("revoke-token", help="revoke an API token")
    urevoke.add_argument("token_id")
    urevoke.set_defaults(func=cmd_users_revoke)

    serve = sub.add_parser("serve", help="the console (web pages and JSON API) on this machine")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--insecure-cookies",
        action="store_true",
        help="cookies without Secure, for plain http on an address that is not localhost",
    )
    serve.add_argument(
        "--demo-users",
        action="store_true",
        help="when the store has no user yet: one per role, random passwords (printed, and"
        " written to <home>/console-users.txt)",
    )
    serve.set_defaults(func=cmd_serve)

    authors = sub.add_parser("authors", help="customers across networks")
    authors_sub = authors.add_subparsers(dest="authors_command", required=True)
    link = authors_sub.add_parser("link", help="link handles into one customer profile")
    link.add_argument("handles", nargs="+", help="network:handle, e.g. x:dani_reyes")
    link.add_argument("--crm-id", help="the customer's id in the CRM")
    link.add_argument("--tier", help="the customer's tier (a tier of routing.yaml)")
    link.add_argument("--name", help="a display name")
    link.set_defaults(func=cmd_authors_link)
    imp = authors_sub.add_parser(
        "import", help="import the CRM's CSV (network,handle,crm_id,tier,name)"
    )
    imp.add_argument("file")
    imp.set_defaults(func=cmd_authors_import)
    who = authors_sub.add_parser("show", help="a customer's handles, posts and cases")
    who.add_argument("who", help="network:handle, a profile id, or crm:<CRM id>")
    who.add_argument("--limit", type=_limit, default=20)
    who.set_defaults(func=cmd_authors_show)

    insights_cmd = sub.add_parser("insights", help="marketing insights (daily scoring, spikes)")
    insights_sub = insights_cmd.add_subparsers(dest="insights_command", required=True)
    insights_run = insights_sub.add_parser(
        "run", help="score advocates, super-users and detractors, then check for spikes"
    )
    insights_run.add_argument(
        "--at",
        type=_date_or_newest,
        help="as of this time (default: now); 'newest': as of the newest stored post, for a"
        " replay or a backfill of past posts",
    )
    insights_run.set_defaults(func=cmd_insights_run)

    adv = sub.add_parser("advocates", help="advocates, super-users or detractors, ranked")
    adv.add_argument("--kind", choices=["advocate", "superuser", "detractor"], default="advocate")
    adv.add_argument("--top", type=_limit, default=20)
    adv.add_argument("--since", type=_date, help="score the posts since this date, now")
    adv.add_argument("--network", choices=["x", "reddit"], help="authors with a handle there")
    adv.add_argument("--format", choices=["table", "csv", "json"], default="table")
    adv.set_defaults(func=cmd_advocates)

    alerts = sub.add_parser("alerts", help="spikes of a new issue, newest first")
    alerts.add_argument("--since", type=_date, help="only hours from this date on")
    alerts.add_argument("--limit", type=_limit, default=50)
    alerts.add_argument("--format", choices=["table", "json"], default="table")
    alerts.set_defaults(func=cmd_alerts)

    imp_history = sub.add_parser(
        "import-history",
        help="past conversations (JSONL: customer_text, brand_reply, brand, created_at):"
        " each brand's public-to-private practice",
    )
    imp_history.add_argument("file")
    imp_history.set_defaults(func=cmd_import_history)

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
    classify.add_argument(
        "--workers",
        type=_limit,
        help="classifying processes (default: one per core for over 2,000 records)",
    )
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

    fill = sub.add_parser(
        "backfill",
        help="collect a source's history from a date, in batches, resumable, beside the schedule",
    )
    fill.add_argument("--source", required=True, help="a configured source")
    fill.add_argument("--since", required=True, type=_date, help="first day (2026-11-01)")
    fill.add_argument(
        "--restart", action="store_true", help="start over instead of resuming an earlier one"
    )
    fill.set_defaults(func=cmd_backfill)

    train = sub.add_parser("train", help="train the classifier heads (and distill the encoder)")
    train.add_argument("--tier", choices=["m2v", "minilm", "all"], default="all")
    train.add_argument(
        "--labels",
        action="append",
        default=[],
        metavar="FILE",
        help="your labelled posts: CSV or JSONL with text and any of sentiment, intent,"
        " private (and brand); repeatable",
    )
    train.add_argument("--brand", help="the brand of the labels files' rows that name none")
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("eval", help="score a classifier on a labelled CSV or JSONL file")
    evaluate.add_argument(
        "--task",
        required=True,
        choices=[
            "sentiment",
            "intent",
            "private",
            "pii",
            "language",
            "spam",
            "advocates",
            "superusers",
            "private-practice",
        ],
    )
    evaluate.add_argument(
        "--data",
        help="CSV or JSONL with text and labels (advocates: the authors fixture, default the"
        " bundled one)",
    )
    evaluate.add_argument("--label-column", default="label")
    evaluate.add_argument("--text-column", default="text")
    evaluate.add_argument("--label-map", help="YAML mapping of our label to a list of theirs")
    evaluate.add_argument(
        "--where", action="append", default=[], help="only rows with COLUMN=VALUE"
    )
    evaluate.add_argument("--classifier", help="registered name (default: the configured one)")
    evaluate.add_argument(
        "--learning-curve",
        action="store_true",
        help="train the head with 0, 100, 300, 1000, 3000 of the file's labels; score the rest",
    )
    evaluate.add_argument(
        "--sizes",
        type=_sizes,
        default=(100, 300, 1000, 3000),
        help="the learning curve's label counts (default 100,300,1000,3000)",
    )
    evaluate.add_argument(
        "--test-where",
        action="append",
        default=[],
        help="learning curve: test on the rows with COLUMN=VALUE (default: the last 30%%)",
    )
    evaluate.set_defaults(func=cmd_eval)

    fb = sub.add_parser("feedback", help="correct a post's label (training data for next time)")
    fb.add_argument("post_id")
    fb.add_argument("--task", required=True, choices=["sentiment", "intent", "private"])
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
