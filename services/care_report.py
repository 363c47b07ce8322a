"""The figures a care team is judged by, from the cases and the stored labels.

- **First-response time** (minutes from the customer's post to the first response: an agent's
  reply or move to private, or the brand's own reply seen on the network), per queue and per
  responder: median (the middle value, or the mean of the two middle ones) and p90 (nearest
  rank: the smallest time at least 90 % of responses took no longer than).
- **SLA attainment**: of the cases with a due time whose outcome is known, the share answered
  by their due time. A case still unanswered counts as missed once its due time has passed,
  and not at all before.
- **Volumes** of posts per day (UTC) by intent and by sentiment.
- **Moved private**: share of cases whose status is ``moved_private``. **Self-service**: share
  of answered cases whose first response pointed to a help article.
- **Backlog**: open cases per queue by how long ago the customer posted.

Cases count in the period when the customer's post that opened (or reopened) them is on or
after ``since``.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from core.care import OPEN_STATUSES, Case
from core.config import Config
from core.timeutil import now, to_iso
from services.runtime import open_store

BACKLOG_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("<1h", timedelta(hours=1)),
    ("1-4h", timedelta(hours=4)),
    ("4-24h", timedelta(hours=24)),
    ("1-3d", timedelta(days=3)),
    (">3d", timedelta.max),
)


def p90(values: Sequence[float]) -> float | None:
    """Nearest-rank 90th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _minutes(case: Case) -> float | None:
    if case.first_response_at is None:
        return None
    return round((case.first_response_at - case.opened_at).total_seconds() / 60, 1)


def _sla_outcome(case: Case, at: datetime) -> str | None:
    """``met``, ``missed`` or None (no SLA, or not due yet and unanswered)."""
    if case.sla_due is None:
        return None
    if case.first_response_at is not None:
        return "met" if case.first_response_at <= case.sla_due else "missed"
    return "missed" if case.sla_due < at else None


def _group(cases: Iterable[Case], at: datetime) -> dict[str, Any]:
    cases = list(cases)
    times = [m for c in cases if (m := _minutes(c)) is not None]
    outcomes = Counter(o for c in cases if (o := _sla_outcome(c, at)) is not None)
    judged = outcomes["met"] + outcomes["missed"]
    return {
        "cases": len(cases),
        "responded": len(times),
        "first_response_median_min": _median(times),
        "first_response_p90_min": p90(times),
        "sla_met": outcomes["met"],
        "sla_missed": outcomes["missed"],
        "sla_attainment": round(outcomes["met"] / judged, 3) if judged else None,
    }


def figures(
    config: Config, *, since: datetime | None = None, at: datetime | None = None
) -> dict[str, Any]:
    """Every figure of the report, as plain data (what ``--format json`` prints)."""
    at = at or now()
    store = open_store(config)
    cases = store.cases.list(opened_since=since, limit=None)
    by_queue: dict[str, list[Case]] = defaultdict(list)
    by_agent: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        by_queue[case.queue].append(case)
        if case.first_response_by:
            by_agent[case.first_response_by].append(case)
    answered = [c for c in cases if c.first_response_at is not None]
    volumes: dict[str, dict[str, Counter[str]]] = defaultdict(
        lambda: {"intent": Counter(), "sentiment": Counter()}
    )
    for created_at, intent, sentiment in store.posts.label_rows(since=since):
        day = created_at.date().isoformat()
        volumes[day]["intent"][intent] += 1
        volumes[day]["sentiment"][sentiment] += 1
    backlog: dict[str, Counter[str]] = defaultdict(Counter)
    for case in store.cases.list(statuses=OPEN_STATUSES, limit=None):
        age = at - case.opened_at
        bucket = next(name for name, limit in BACKLOG_BUCKETS if age < limit)
        backlog[case.queue][bucket] += 1
    return {
        "since": to_iso(since),
        "at": to_iso(at),
        "overall": _group(cases, at),
        "queues": {q: _group(cs, at) for q, cs in sorted(by_queue.items())},
        "responders": {a: _group(cs, at) for a, cs in sorted(by_agent.items())},
        "moved_private_share": _share(sum(c.status == "moved_private" for c in cases), len(cases)),
        "self_service_share": _share(
            sum(c.first_response_kind == "self_service" for c in answered), len(answered)
        ),
        "volumes": {
            day: {k: dict(sorted(v.items())) for k, v in kinds.items()}
            for day, kinds in sorted(volumes.items())
        },
        "backlog": {
            q: {name: counts.get(name, 0) for name, _ in BACKLOG_BUCKETS}
            for q, counts in sorted(backlog.items())
        },
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1%}" if value <= 1 and not value.is_integer() else f"{value:g}"
    return str(value)


GROUP_COLUMNS = (
    ("cases", "cases"),
    ("responded", "answered"),
    ("first_response_median_min", "FRT median"),
    ("first_response_p90_min", "FRT p90"),
    ("sla_attainment", "SLA met"),
    ("sla_missed", "missed"),
)


def format_table(data: dict[str, Any]) -> str:
    lines = [
        f"Care figures since {data['since'] or 'the beginning'} (at {data['at']});"
        " first-response times (FRT) in minutes"
    ]
    head = f"  {'':<16}" + "".join(f"{title:>12}" for _, title in GROUP_COLUMNS)
    for section, rows in (
        ("Per queue", data["queues"]),
        ("Per responder", data["responders"]),
    ):
        lines.append(f"{section}:")
        lines.append(head)
        for name, group in rows.items():
            cells = []
            for key, _ in GROUP_COLUMNS:
                value = group[key]
                cells.append(
                    f"{value:.1%}" if key == "sla_attainment" and value is not None else _fmt(value)
                )
            lines.append(f"  {name[:16]:<16}" + "".join(f"{c:>12}" for c in cells))
    overall = data["overall"]
    attainment = overall["sla_attainment"]
    lines.append(
        f"All cases: {overall['cases']}, answered {overall['responded']}, FRT median"
        f" {_fmt(overall['first_response_median_min'])} min, p90"
        f" {_fmt(overall['first_response_p90_min'])} min, SLA met"
        f" {'-' if attainment is None else f'{attainment:.1%}'}"
    )
    private, deflected = data["moved_private_share"], data["self_service_share"]
    lines.append(
        f"Moved private: {'-' if private is None else f'{private:.1%}'} of cases;"
        f" pointed to self-service: {'-' if deflected is None else f'{deflected:.1%}'} of"
        " answered cases"
    )
    lines.append("Backlog (open cases by time since the customer posted):")
    buckets = [name for name, _ in BACKLOG_BUCKETS]
    lines.append(f"  {'':<16}" + "".join(f"{b:>8}" for b in buckets))
    for queue, counts in data["backlog"].items():
        lines.append(f"  {queue:<16}" + "".join(f"{counts[b]:>8}" for b in buckets))
    lines.append("Posts per day by intent / sentiment:")
    for day, kinds in data["volumes"].items():
        intents = ", ".join(f"{k} {n}" for k, n in kinds["intent"].items())
        sentiments = ", ".join(f"{k} {n}" for k, n in kinds["sentiment"].items())
        lines.append(f"  {day}: {intents} | {sentiments}")
    return "\n".join(lines)


def format_csv(data: dict[str, Any]) -> str:
    """Long format, one figure per row: ``section,group,metric,value``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "group", "metric", "value"])
    for metric, value in data["overall"].items():
        writer.writerow(["overall", "all", metric, _csv(value)])
    for section in ("queues", "responders"):
        for name, group in data[section].items():
            for metric, value in group.items():
                writer.writerow([section.rstrip("s"), name, metric, _csv(value)])
    writer.writerow(["outcome", "all", "moved_private_share", _csv(data["moved_private_share"])])
    writer.writerow(["outcome", "all", "self_service_share", _csv(data["self_service_share"])])
    for queue, counts in data["backlog"].items():
        for bucket, n in counts.items():
            writer.writerow(["backlog", queue, bucket, n])
    for day, kinds in data["volumes"].items():
        for kind, counts in kinds.items():
            for label, n in counts.items():
                writer.writerow([f"volume_{kind}", day, label, n])
    return out.getvalue()


def _csv(value: Any) -> str:
    return "" if value is None else str(value)
