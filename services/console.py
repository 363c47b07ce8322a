"""What the console and the JSON API show and do, for one logged-in user.

Every function takes the :class:`core.access.User` and checks their role and teams first
(PermissionDeniedError otherwise), then calls the same services as the CLI: a claim in the
console is :func:`services.cases.act`, a label correction :func:`services.feedback.correct`.
Every change, and every refused attempt, is an audit entry. Results are plain JSON-ready
dicts, so the pages, the API and the tests read the same thing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.access import CAPABILITIES, User
from core.care import ACTIONS_BY_NAME, AGENT_ACTIONS, CASE_STATUSES, OPEN_STATUSES, Case
from core.config import Config
from core.errors import (
    EarshotError,
    InvalidValueError,
    NotFoundError,
    PermissionDeniedError,
)
from core.insights import SCORE_KINDS, AuthorScore
from core.models import Enrichment, Post
from core.timeutil import now, to_iso
from services import access, care_report, cases, feedback, insights
from services import search as search_service
from services.runtime import open_store, router

MAX_PAGE = 200
SEARCH_FILTERS: tuple[str, ...] = ("queue", "intent", "sentiment", "source", "author")


@dataclass(frozen=True)
class Caller:
    """Who asks, and from where (for the audit log)."""

    user: User
    address: str = ""


def require(caller: Caller, capability: str, *, what: str = "") -> None:
    if not caller.user.may(capability):
        raise PermissionDeniedError(
            f"{caller.user.name} ({caller.user.role}) may not {what or capability}"
        )


def _require_queue(caller: Caller, queue: str) -> None:
    require(caller, "queues", what="work queues")
    if not caller.user.sees_queue(queue):
        raise PermissionDeniedError(
            f"queue {queue!r} is not one of {caller.user.name}'s teams"
            f" ({', '.join(caller.user.teams) or 'none'})"
        )


def visible_queues(config: Config, caller: Caller) -> list[str]:
    """The queues a user works, in the order of routing.yaml (``none``, the closed-without-
    action queue, is never worked)."""
    if not caller.user.may("queues"):
        return []
    return [q for q in router(config).config.queues if q != "none" and caller.user.sees_queue(q)]


# -- views ----------------------------------------------------------------------------------


def _label(enrichment: Enrichment | None, task: str) -> dict[str, Any] | None:
    if enrichment is None or task not in enrichment.results:
        return None
    value = enrichment.results[task]
    data = value.to_dict()
    data.pop("kind", None)
    return data


def post_view(post: Post, enrichment: Enrichment | None = None, role: str = "") -> dict[str, Any]:
    """A post as the console shows it: text as stored (pages escape it), link, author."""
    view: dict[str, Any] = {
        "id": post.id,
        "source": post.source,
        "url": post.url if post.url.startswith(("https://", "http://")) else None,
        "text": post.text,
        "title": post.title,
        "created_at": to_iso(post.created_at),
        "author": {
            "id": post.author.id,
            "handle": post.author.handle,
            "display_name": post.author.display_name,
            "followers": post.author.followers,
            "verified": post.author.verified,
        },
    }
    if role:
        view["role"] = role
    if enrichment is not None:
        view["labels"] = {
            task: _label(enrichment, task)
            for task in ("sentiment", "intent", "language", "spam", "private")
            if task in enrichment.results
        }
    return view


def case_view(
    case: Case,
    *,
    post: Post | None = None,
    enrichment: Enrichment | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """A case card: what the queue list shows of it."""
    at = at or now()
    due = case.sla_due
    return {
        "id": case.id,
        "queue": case.queue,
        "status": case.status,
        "priority": case.priority,
        "priority_reasons": case.priority_reasons,
        "action": case.action,
        "action_detail": case.action_detail,
        "rule": case.rule,
        "source": case.source,
        "author_handle": case.author_handle,
        "tier": case.tier,
        "customer_key": case.customer_key,
        "assignee": case.assignee,
        "opened_post_id": case.opened_post_id,
        "opened_at": to_iso(case.opened_at),
        "updated_at": to_iso(case.updated_at),
        "sla_due": to_iso(due),
        "sla_seconds_left": None
        if due is None or case.first_response_at is not None
        else int((due - at).total_seconds()),
        "first_response_at": to_iso(case.first_response_at),
        "first_response_kind": case.first_response_kind,
        "breached": case.breached_at is not None,
        "closed_at": to_iso(case.closed_at),
        "reopened": case.reopened,
        "post": None if post is None else post_view(post, enrichment),
    }


def queues(config: Config, caller: Caller, *, only: str | None = None) -> list[dict[str, Any]]:
    """The user's queues (or just ``only``) with their cases per status, how many are open,
    and how many of those are overdue (unanswered past their SLA)."""
    require(caller, "queues", what="work queues")
    names = visible_queues(config, caller)
    if only is not None:
        _require_queue(caller, only)
        names = [only]
    counts = open_store(config).cases.queue_counts(names, now())
    return [
        {
            "name": q,
            "open": sum(counts[q].get(s, 0) for s in OPEN_STATUSES),
            "by_status": {s: counts[q].get(s, 0) for s in CASE_STATUSES},
            "overdue": counts[q]["overdue"],
        }
        for q in names
    ]


def queue_summary(config: Config, caller: Caller, queue: str) -> dict[str, Any]:
    """One queue's counts (what the queue page's header shows)."""
    if queue not in router(config).config.queues:
        raise NotFoundError(f"no queue {queue!r}")
    return queues(config, caller, only=queue)[0]


def queue_cases(
    config: Config,
    caller: Caller,
    queue: str,
    *,
    status: str | None = None,
    assignee: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """One queue's cases, most urgent first (open ones unless ``status`` says otherwise),
    each with the post that opened it and its labels."""
    if queue not in router(config).config.queues:
        raise NotFoundError(f"no queue {queue!r}")
    _require_queue(caller, queue)
    if status is not None and status not in CASE_STATUSES:
        raise InvalidValueError(f"unknown status {status!r}; expected one of {CASE_STATUSES}")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidValueError(f"limit {limit}: expected 1-{MAX_PAGE}")
    store = open_store(config)
    found = store.cases.list(
        queue=queue,
        statuses=[status] if status else OPEN_STATUSES,
        assignee=assignee,
        limit=limit,
    )
    records = {r.post.id: r for r in store.posts.records([c.opened_post_id for c in found])}
    at = now()
    return [
        case_view(
            c,
            post=records[c.opened_post_id].post if c.opened_post_id in records else None,
            enrichment=records[c.opened_post_id].enrichment
            if c.opened_post_id in records
            else None,
            at=at,
        )
        for c in found
    ]


def _case(config: Config, caller: Caller, case_id: str) -> Case:
    require(caller, "queues", what="see cases")
    case = open_store(config).cases.get(case_id)
    if case is None:
        raise NotFoundError(f"no case {case_id!r}")
    if not caller.user.sees_queue(case.queue):
        raise PermissionDeniedError(
            f"case {case_id} is in queue {case.queue}, not one of {caller.user.name}'s teams"
        )
    return case


def case_detail(config: Config, caller: Caller, case_id: str) -> dict[str, Any]:
    """Everything an agent needs to handle a case: the conversation with labels, the author
    across networks with reach and tier, earlier posts, other open cases, the audit trail,
    and what they may do now."""
    _case(config, caller, case_id)
    view = cases.show(config, case_id)
    store = open_store(config)
    ids = [p.id for p, _ in view.conversation]
    labels = {r.post.id: r.enrichment for r in store.posts.records(ids)}
    opener = next((p for p, _ in view.conversation if p.id == view.case.opened_post_id), None)
    data = case_view(view.case, post=opener, enrichment=labels.get(view.case.opened_post_id))
    followers = max(
        (p.author.followers for p, role in view.conversation if role == "customer"), default=0
    )
    data.update(
        {
            "conversation": [post_view(p, labels.get(p.id), role) for p, role in view.conversation],
            "author": {
                "handle": view.case.author_handle,
                "source": view.case.source,
                "tier": view.case.tier,
                "followers": followers,
                "profile": None
                if view.profile is None
                else {
                    "id": view.profile.id,
                    "display_name": view.profile.display_name,
                    "crm_id": view.profile.crm_id,
                    "tier": view.profile.tier,
                    "handles": [{"network": n, "handle": h} for n, h in view.profile.handles],
                },
                "detractor": None
                if view.detractor is None
                else {"score": view.detractor.score, "components": view.detractor.components},
            },
            "earlier_posts": [post_view(p) for p in view.earlier_posts],
            "other_open_cases": [case_view(c) for c in view.other_open_cases],
            "events": [
                {
                    "action": e.action,
                    "from_status": e.from_status,
                    "to_status": e.to_status,
                    "actor": e.actor,
                    "at": to_iso(e.at),
                    "detail": e.detail,
                }
                for e in view.events
            ],
            "actions": allowed_actions(view.case, caller.user),
            "queues": [q for q in router(config).config.queues if q != view.case.queue],
        }
    )
    return data


def allowed_actions(case: Case, user: User) -> list[str]:
    """The actions this user may take on the case now (what the buttons show)."""
    if not user.may("cases.act") or not user.sees_queue(case.queue):
        return []
    out = []
    for name in AGENT_ACTIONS:
        spec = ACTIONS_BY_NAME[name]
        if case.status not in spec.from_statuses:
            continue
        if spec.holder_only and case.assignee not in (None, user.name):
            continue
        out.append(name)
    return out


# -- changes --------------------------------------------------------------------------------


def act(
    config: Config,
    caller: Caller,
    case_id: str,
    action: str,
    *,
    queue: str | None = None,
    note: str | None = None,
    article: str | None = None,
) -> dict[str, Any]:
    """One action on a case, audited whether it succeeds or not."""
    detail: dict[str, Any] = {"action": action}
    if queue:
        detail["queue"] = queue
    try:
        require(caller, "cases.act", what="act on cases")
        if action not in AGENT_ACTIONS:
            raise InvalidValueError(
                f"unknown action {action!r}; expected one of {', '.join(AGENT_ACTIONS)}"
            )
        if note is not None and len(note) > 2000:
            raise InvalidValueError("a note has at most 2,000 characters")
        _case(config, caller, case_id)
        if action == "reroute" and queue is not None and queue not in router(config).config.queues:
            raise InvalidValueError(f"unknown queue {queue!r}")
        changed = cases.act(
            config,
            case_id,
            action,
            agent=caller.user.name,
            queue=queue,
            note=note or None,
            article=article or None,
        )
    except EarshotError as e:
        _audit_refusal(config, caller, f"cases.{action}"[:64], case_id, e, detail)
        raise
    access.audit(
        config,
        actor=caller.user.name,
        action=f"cases.{action}",
        target=case_id,
        address=caller.address,
        detail=detail,
    )
    return case_view(changed)


def _audit_refusal(
    config: Config,
    caller: Caller,
    action: str,
    target: str,
    error: EarshotError,
    detail: Mapping[str, Any],
) -> None:
    outcome = "denied" if isinstance(error, PermissionDeniedError) else "failed"
    access.audit(
        config,
        actor=caller.user.name,
        action=action,
        target=target,
        outcome=outcome,
        address=caller.address,
        detail={**detail, "error": str(error)[:500]},
    )


def correct_label(
    config: Config, caller: Caller, post_id: str, task: str, label: str
) -> dict[str, Any]:
    """Store an agent's correction of a post's label as feedback for the next training. The
    post must be in a case of one of the agent's queues."""
    detail = {"task": task, "label": label}
    try:
        require(caller, "labels.correct", what="correct labels")
        case_id = open_store(config).cases.of_posts([post_id]).get(post_id)
        if case_id is None:
            raise NotFoundError(f"post {post_id!r} is in no case")
        _case(config, caller, case_id)
        feedback.correct(config, post_id, task, label)
    except EarshotError as e:
        _audit_refusal(config, caller, "labels.correct", post_id, e, detail)
        raise
    access.audit(
        config,
        actor=caller.user.name,
        action="labels.correct",
        target=post_id,
        address=caller.address,
        detail=detail,
    )
    return {"post_id": post_id, "task": task, "label": label, "case_id": case_id}


# -- marketing ------------------------------------------------------------------------------


def _score_view(score: AuthorScore, links: Mapping[str, str]) -> dict[str, Any]:
    return {
        "kind": score.kind,
        "key": score.key,
        "handles": [{"network": n, "handle": h} for n, h in score.handles],
        "score": round(score.score, 3),
        "components": {k: round(v, 3) for k, v in score.components.items()},
        "evidence": [
            {"post_id": p, "url": links.get(p) if _is_http(links.get(p)) else None}
            for p in score.evidence
        ],
        "tier": score.tier,
        "profile_id": score.profile_id,
        "computed_at": to_iso(score.computed_at),
    }


def _is_http(url: str | None) -> bool:
    return bool(url) and str(url).startswith(("https://", "http://"))


def advocates(
    config: Config,
    caller: Caller,
    *,
    kind: str = "advocate",
    network: str | None = None,
    days: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Advocates, super-users or detractors with their evidence: the last daily scoring, or
    computed now over the last ``days`` days."""
    require(caller, "advocates", what="see advocates")
    if kind not in SCORE_KINDS:
        raise InvalidValueError(f"unknown kind {kind!r}; expected one of {SCORE_KINDS}")
    if network is not None and network not in ("x", "reddit"):
        raise InvalidValueError(f"unknown network {network!r}; expected x or reddit")
    if days is not None and not 1 <= days <= 365:
        raise InvalidValueError(f"days {days}: expected 1-365")
    if not 1 <= limit <= 1000:
        raise InvalidValueError(f"limit {limit}: expected 1-1000")
    since = None if days is None else now() - timedelta(days=days)
    scores = insights.top(config, kind=kind, limit=limit, since=since, network=network)
    links = insights.evidence_links(config, scores)
    return [_score_view(s, links) for s in scores]


def advocates_csv(config: Config, caller: Caller, **filters: Any) -> str:
    rows = advocates(config, caller, **filters)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kind", "key", "handles", "score", "tier", "components", "evidence"])
    for r in rows:
        writer.writerow(
            [
                r["kind"],
                _cell(r["key"]),
                _cell(" ".join(f"{h['network']}:{h['handle']}" for h in r["handles"])),
                r["score"],
                _cell(r["tier"] or ""),
                _cell(" ".join(f"{k}={v}" for k, v in r["components"].items())),
                _cell(" ".join(e["url"] or e["post_id"] for e in r["evidence"])),
            ]
        )
    access.audit(
        config,
        actor=caller.user.name,
        action="advocates.export",
        target=str(filters.get("kind", "advocate")),
        address=caller.address,
        detail={k: v for k, v in filters.items() if v is not None},
    )
    return out.getvalue()


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (CWE-1236)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


# -- search and overview --------------------------------------------------------------------


def search(
    config: Config,
    caller: Caller,
    text: str,
    *,
    filters: Mapping[str, str | None] | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Free text plus filters (queue, intent, sentiment, source, author) over the index."""
    require(caller, "search", what="search")
    if len(text) > 500:
        raise InvalidValueError("a search has at most 500 characters")
    if not 1 <= limit <= 100:
        raise InvalidValueError(f"limit {limit}: expected 1-100")
    clean = {k: v for k, v in (filters or {}).items() if v}
    unknown = sorted(set(clean) - set(SEARCH_FILTERS))
    if unknown:
        raise InvalidValueError(f"unknown filters {unknown}; expected {SEARCH_FILTERS}")
    if "author" in clean:
        clean["author_handle"] = str(clean.pop("author")).strip().lstrip("@")
    results = search_service.search(
        config,
        text,
        filters=clean,
        created_from=created_from,
        created_to=created_to,
        limit=limit,
    )
    return [
        {
            "score": round(r.score, 4),
            "queue": r.document.queue,
            "status": r.document.status,
            "post": post_view(r.post),
            "labels": {"sentiment": r.document.sentiment, "intent": r.document.intent},
        }
        for r in results
    ]


def overview(config: Config, caller: Caller, *, days: int = 14) -> dict[str, Any]:
    """Volumes by intent and sentiment per day, backlog, SLA attainment, share moved private
    and spike alerts over the last ``days`` days. A team lead sees their teams' queues."""
    require(caller, "overview", what="see the overview")
    if not 1 <= days <= 365:
        raise InvalidValueError(f"days {days}: expected 1-365")
    at = now()
    # The window ends at the newest post: a store filled from history (the bundled samples,
    # a backfill, a collector that stopped) shows its last days, not an empty chart.
    newest = open_store(config).posts.newest_at()
    until = min(at, newest) if newest is not None else at
    since = until - timedelta(days=days)
    data = care_report.figures(config, since=since, at=at)
    data["until"] = to_iso(until)
    user = caller.user
    if user.role == "lead" and "*" not in user.teams:
        data["queues"] = {q: v for q, v in data["queues"].items() if q in user.teams}
        data["backlog"] = {q: v for q, v in data["backlog"].items() if q in user.teams}
    if not user.may("reports"):
        data.pop("responders", None)  # agents' own figures are for their leads
    data["alerts"] = [
        {
            "kind": a.kind,
            "key": a.key,
            "window_start": to_iso(a.window_start),
            "count": a.count,
            "baseline": round(a.baseline, 2),
        }
        for a in insights.alerts(config, since=since, limit=50)
    ]
    data["days"] = days
    return data


def me(config: Config, caller: Caller) -> dict[str, Any]:
    user = caller.user
    return {
        "name": user.name,
        "display_name": user.display_name,
        "role": user.role,
        "teams": list(user.teams),
        "queues": visible_queues(config, caller),
        "may": sorted(c for c in CAPABILITIES if user.may(c)),
    }


__all__ = [
    "Caller",
    "act",
    "advocates",
    "advocates_csv",
    "allowed_actions",
    "case_detail",
    "case_view",
    "correct_label",
    "me",
    "overview",
    "post_view",
    "queue_cases",
    "queue_summary",
    "queues",
    "require",
    "search",
    "visible_queues",
]
