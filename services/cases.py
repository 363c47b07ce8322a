"""Cases: opened and grown by routing, worked by agents, watched against their SLA.

- :func:`assign` (called by the route step, in its transaction) puts each newly routed post in
  a case: a later post of the same conversation by the same customer joins the open case; one
  after the case closed reopens it, never opening a second case (a post that needs nothing,
  sooner than ``cases.reopen_after_minutes`` after the closing, joins it quietly); the brand's
  own reply in the conversation is the case's first response.
- :func:`act` is every agent action (claim, release, respond, resolve, move private, no
  action, reroute): checked against the life cycle in :mod:`core.care`, applied by one
  conditional update in the store.
- :func:`check_sla` flags unanswered cases past their due time (log line, metric, webhook)
  and refreshes the waiting part of open cases' priority.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import httpx

from core.care import (
    ACTIONS_BY_NAME,
    AGENT_ACTIONS,
    CASE_STATUSES,
    OPEN_STATUSES,
    SYSTEM,
    Agent,
    Case,
    CaseEvent,
    Profile,
    customer_key,
    handle_key,
)
from core.config import Config
from core.errors import (
    ConflictError,
    InvalidValueError,
    NotFoundError,
    SearchError,
    TransitionError,
)
from core.insights import AuthorScore
from core.models import Enrichment, Post, RoutingDecision, reference
from core.timeutil import now, to_iso
from routing import Router, priority_of, waiting_points
from services import history, indexing, metrics
from services.runtime import open_search, open_store, router
from storage import Store

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 10.0


def conversation_key(post: Post) -> str:
    """The conversation a post belongs to: X's ``conversation_id`` (the thread's first
    tweet), Reddit's submission; a post with neither is a conversation of its own."""
    return reference(post.source, post.conversation_id) or post.id


def profiles_of(store: Store, posts: Sequence[Post]) -> dict[str, Profile]:
    """The linked profile of each post's author, by post id."""
    keys = {p.id: handle_key(p.source, p.author.handle) for p in posts}
    found = store.profiles.of_handles(list(keys.values()))
    return {post_id: found[key] for post_id, key in keys.items() if key in found}


def tiers_of(profiles: Mapping[str, Profile]) -> dict[str, str]:
    """Post id -> the tier the CRM gave its author (routing uses it before its own tiers)."""
    return {post_id: p.tier for post_id, p in profiles.items() if p.tier}


# -- opening, joining, reopening -----------------------------------------------------------


def assign(
    tx: Store,
    routing: Router,
    posts: Sequence[Post],
    enrichments: Sequence[Enrichment],
    decisions: Sequence[RoutingDecision],
    *,
    profiles: Mapping[str, Profile],
    at: datetime | None = None,
) -> dict[str, int]:
    """Put newly routed posts into cases (oldest post first, so a thread's opener comes
    before its replies). Returns counts: opened, joined, reopened, brand_replies."""
    at = at or now()
    labels = {e.post_id: e for e in enrichments}
    by_id = {d.post_id: d for d in decisions}
    done = {"opened": 0, "joined": 0, "reopened": 0, "brand_replies": 0}
    for post in sorted(posts, key=lambda p: (p.created_at, p.id)):
        decision = by_id.get(post.id)
        enrichment = labels.get(post.id)
        if decision is None or enrichment is None:
            continue
        if routing.is_brand(post):
            done["brand_replies"] += _brand_reply(tx, post, at)
            continue
        if enrichment.is_spam:
            continue
        profile = profiles.get(post.id)
        customer = profile.id if profile else customer_key(post.source, post.author.id)
        conversation = conversation_key(post)
        case = tx.cases.find_open(conversation, customer) or _case_replied_to(tx, post, customer)
        if case is not None:
            _join(tx, case, post, decision, at)
            done["joined"] += 1
            continue
        latest = tx.cases.latest(conversation, customer)
        if latest is not None and not latest.is_open:  # never a second case: reopen or join
            if _quiet_follow_up(latest, post, decision, routing):
                _join(tx, latest, post, decision, at)
                done["joined"] += 1
            else:
                _reopen(tx, latest, post, decision, at)
                done["reopened"] += 1
            continue
        if decision.initial_status != "new":  # closed by a rule: nobody needs to act
            continue
        new = Case(
            id=f"case:{post.id}",
            queue=decision.queue,
            status="new",
            priority=decision.priority,
            priority_reasons=dict(decision.reasons),
            action=decision.action,
            action_detail=dict(decision.detail),
            rule=decision.rule,
            source=post.source,
            conversation_key=conversation,
            customer_key=customer,
            author_handle=post.author.handle,
            tier=decision.tier,
            opened_post_id=post.id,
            opened_at=post.created_at,
            sla_due=decision.sla_due,
            created_at=at,
            updated_at=at,
        )
        _, created = tx.cases.open(new, post_ids=[post.id])
        if created:
            done["opened"] += 1
        else:  # another run opened one for this conversation first: join it
            tx.cases.attach(new.id, [post.id], role="customer", at=at)
            done["joined"] += 1
    return done


def _case_replied_to(tx: Store, post: Post, customer: str) -> Case | None:
    """The open case of the post this one replies to, when it is the same customer's."""
    parent = reference(post.source, post.in_reply_to_id)
    if parent is None:
        return None
    case_id = tx.cases.of_posts([parent]).get(parent)
    case = tx.cases.get(case_id) if case_id else None
    if case is not None and case.is_open and case.customer_key == customer:
        return case
    return None


def _quiet_follow_up(case: Case, post: Post, decision: RoutingDecision, routing: Router) -> bool:
    """A post that needs nothing (a "thanks!"), soon after the case closed: it joins the
    closed case without reopening it."""
    closed = case.closed_at or case.updated_at
    return (
        decision.initial_status != "new" and post.created_at - closed < routing.config.reopen_after
    )


def _join(tx: Store, case: Case, post: Post, decision: RoutingDecision, at: datetime) -> None:
    tx.cases.attach(case.id, [post.id], role="customer", at=at)
    detail: dict[str, Any] = {"post_id": post.id}
    if decision.priority > case.priority:  # a more urgent follow-up raises the case
        tx.cases.set_fields(
            case.id, {"priority": decision.priority, "priority_reasons": dict(decision.reasons)}
        )
        detail["priority"] = {"from": case.priority, "to": decision.priority}
    tx.cases.note(case.id, "join", actor=SYSTEM, detail=detail, at=at)
    tx.outbox.add([post.id], "upsert")


def _reopen(tx: Store, case: Case, post: Post, decision: RoutingDecision, at: datetime) -> None:
    """The customer wrote again after the case closed: the same case, back to ``new``, with a
    fresh SLA clock from the new post (the earlier response stays in the trail)."""
    tx.cases.apply(
        case.id,
        action="reopen",
        from_statuses=ACTIONS_BY_NAME["reopen"].from_statuses,
        to_status="new",
        actor=SYSTEM,
        values={
            "assignee": None,
            "reopened": case.reopened + 1,
            "opened_at": post.created_at,
            "sla_due": decision.sla_due,
            "first_response_at": None,
            "first_response_by": None,
            "first_response_kind": None,
            "breached_at": None,
            "breach_notified_at": None,
            "priority": max(decision.priority, 1),
            "priority_reasons": dict(decision.reasons),
        },
        detail={
            "post_id": post.id,
            "was": case.status,
            "first_response_at": to_iso(case.first_response_at),
        },
        at=at,
    )
    tx.cases.attach(case.id, [post.id], role="customer", at=at)
    tx.outbox.add([p for p, role in tx.cases.members(case.id) if role == "customer"], "upsert")


def _brand_reply(tx: Store, post: Post, at: datetime) -> int:
    """The brand's account replied in a case's conversation: the case's first response (its
    time is the reply's own), and an open unanswered case becomes ``responded``."""
    case = None
    parent = reference(post.source, post.in_reply_to_id)
    if parent is not None:
        case_id = tx.cases.of_posts([parent]).get(parent)
        case = tx.cases.get(case_id) if case_id else None
    if case is None:
        open_cases = tx.cases.list(
            conversation_key=conversation_key(post), statuses=OPEN_STATUSES, limit=1
        )
        case = open_cases[0] if open_cases else None
    if case is None:
        return 0
    tx.cases.attach(case.id, [post.id], role="brand", at=at)
    by = case.assignee or f"@{post.author.handle}"
    if case.first_response_at is None:
        _record_response(tx, case, post.created_at, by, "brand_reply")
        history.record_reply(tx, case, post)  # what the brand's agent did: a label to learn
    if case.status in ACTIONS_BY_NAME["brand_reply"].from_statuses:
        tx.cases.apply(
            case.id,
            action="brand_reply",
            from_statuses=ACTIONS_BY_NAME["brand_reply"].from_statuses,
            to_status="responded",
            actor=f"@{post.author.handle}",
            detail={"post_id": post.id},
            at=at,
        )
    else:
        tx.cases.note(
            case.id,
            "brand_reply",
            actor=f"@{post.author.handle}",
            detail={"post_id": post.id},
            at=at,
        )
    return 1


def _record_response(tx: Store, case: Case, at: datetime, by: str, kind: str) -> None:
    values: dict[str, Any] = {
        "first_response_at": at,
        "first_response_by": by,
        "first_response_kind": kind,
    }
    first = tx.cases.set_fields(case.id, values, only_if_null="first_response_at")
    if first and case.sla_due is not None and at > case.sla_due:  # answered late: a breach
        tx.cases.set_fields(case.id, {"breached_at": case.sla_due}, only_if_null="breached_at")


# -- agents ---------------------------------------------------------------------------------


def add_agent(config: Config, name: str, *, queues: Sequence[str], display_name: str = "") -> Agent:
    """Create or update an agent; ``queues`` are the queues they work (``*``: all)."""
    name = name.strip()
    if not name or len(name) > 64 or any(c.isspace() for c in name):
        raise InvalidValueError(f"agent name {name!r}: 1-64 characters, no spaces")
    known = set(router(config).config.queues)
    unknown = sorted(set(queues) - known - {"*"})
    if unknown or not queues:
        raise InvalidValueError(
            f"agent {name}: unknown queues {unknown}; expected some of {sorted(known)} or *"
        )
    agent = Agent(name, display_name or name, tuple(queues))
    open_store(config).agents.upsert(agent)
    return agent


def agents(config: Config) -> list[Agent]:
    return open_store(config).agents.list()


def _agent(store: Store, name: str) -> Agent:
    agent = store.agents.get(name)
    if agent is None or not agent.active:
        raise NotFoundError(
            f"no agent {name!r}: add one with `earshot agents add {name} --queue QUEUE`"
        )
    return agent


# -- agent actions --------------------------------------------------------------------------


def act(
    config: Config,
    case_id: str,
    action: str,
    *,
    agent: str,
    queue: str | None = None,
    article: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> Case:
    """One agent action on one case. Raises NotFoundError (no such case or agent),
    TransitionError (not allowed from the case's status, or not the agent's queue) or
    ConflictError (another agent holds the case, or changed it first)."""
    if action not in AGENT_ACTIONS:
        raise InvalidValueError(f"unknown action {action!r}; expected one of {AGENT_ACTIONS}")
    spec = ACTIONS_BY_NAME[action]
    store = open_store(config)
    who = _agent(store, agent)
    case = store.cases.get(case_id)
    if case is None:
        raise NotFoundError(f"no case {case_id!r} (`earshot cases list` shows them)")
    if not who.works(case.queue):
        raise TransitionError(
            f"agent {who.name} works {', '.join(who.queues)}; case {case_id} is in {case.queue}"
        )
    if case.status not in spec.from_statuses:
        raise TransitionError(
            f"case {case_id} is {case.status}: it cannot be {_past(action)}"
            f" (allowed from: {', '.join(spec.from_statuses)})"
        )
    if spec.holder_only and case.assignee not in (None, who.name):
        raise ConflictError(f"case {case_id} is held by {case.assignee}, not {who.name}")
    at = at or now()
    values: dict[str, Any] = {}
    detail: dict[str, Any] = {"note": note} if note else {}
    routing = router(config)
    if action in ("claim", "respond"):
        values["assignee"] = who.name
    elif action in ("release", "reroute"):
        values["assignee"] = None
    if action == "reroute":
        if queue is None or queue not in routing.config.queues:
            raise InvalidValueError(
                f"reroute needs --queue, one of {sorted(routing.config.queues)}; got {queue!r}"
            )
        if queue == case.queue:
            raise InvalidValueError(f"case {case_id} is in {queue} already")
        target = routing.config.queues[queue]
        minutes = target.target(routing.config.tier_named(case.tier))
        values["queue"] = queue
        values["sla_due"] = None if minutes is None else target.due(case.opened_at, minutes)
        detail["queue"] = {"from": case.queue, "to": queue}
    if article is not None:
        if action != "respond":
            raise InvalidValueError("--article goes with respond")
        known = {a.id: a for a in routing.config.articles}
        if article not in known:
            raise InvalidValueError(f"unknown help article {article!r}; known: {sorted(known)}")
        detail["article"] = {"id": article, "url": known[article].url}
    with store.transaction() as tx:
        changed = tx.cases.apply(
            case_id,
            action=action,
            from_statuses=spec.from_statuses,
            to_status=spec.to_status,
            actor=who.name,
            holder=who.name if spec.holder_only else None,
            values=values,
            detail=detail,
            at=at,
        )
        if action in ("respond", "move_private"):
            kind = "private" if action == "move_private" else "reply"
            if article is not None:
                kind = "self_service"
            _record_response(tx, changed, at, who.name, kind)
        members = [p for p, role in tx.cases.members(case_id) if role == "customer"]
        tx.outbox.add(members, "upsert")  # the index shows the new status
    try:
        indexing.drain(store, open_search(config))
    except SearchError as e:  # the outbox keeps the change; the next run sends it
        log.warning("search index not updated yet for %s: %s", case_id, e)
    updated = store.cases.get(case_id)
    assert updated is not None
    return updated


def _past(action: str) -> str:
    return {
        "claim": "claimed",
        "release": "released",
        "respond": "responded to",
        "resolve": "resolved",
        "move_private": "moved private",
        "no_action": "closed with no action",
        "reroute": "rerouted",
    }.get(action, action)


# -- reading --------------------------------------------------------------------------------


def list_cases(
    config: Config,
    *,
    queue: str | None = None,
    status: str | None = None,
    assignee: str | None = None,
    open_only: bool = False,
    limit: int = 50,
) -> list[Case]:
    if status is not None and status not in CASE_STATUSES:
        raise InvalidValueError(f"unknown status {status!r}; expected one of {CASE_STATUSES}")
    statuses: Sequence[str] | None = [status] if status else (OPEN_STATUSES if open_only else None)
    return open_store(config).cases.list(
        queue=queue, statuses=statuses, assignee=assignee, limit=limit
    )


@dataclass(frozen=True)
class CaseView:
    """What an agent sees of a case: the conversation, the customer on every linked
    network (earlier posts, other open cases), and the audit trail."""

    case: Case
    conversation: list[tuple[Post, str]]
    profile: Profile | None
    earlier_posts: list[Post]
    other_open_cases: list[Case]
    events: list[CaseEvent]
    detractor: AuthorScore | None = None
    """Set when marketing's daily scoring flagged the customer as a detractor with reach or
    a high tier: a case for a senior agent."""


def show(config: Config, case_id: str, *, history: int = 10) -> CaseView:
    store = open_store(config)
    case = store.cases.get(case_id)
    if case is None:
        raise NotFoundError(f"no case {case_id!r} (`earshot cases list` shows them)")
    members = store.cases.members(case_id)
    posts = {p.id: p for p in (store.posts.get(i) for i, _ in members) if p is not None}
    conversation = [(posts[i], role) for i, role in members if i in posts]
    key = handle_key(case.source, case.author_handle)
    profile = store.profiles.of_handles([key]).get(key)
    handles = (
        [(n, h) for n, h in profile.handles] if profile else [(case.source, case.author_handle)]
    )
    in_case = set(posts)
    earlier = [
        p
        for p in store.posts.by_handles(handles, limit=history + len(in_case))
        if p.id not in in_case
    ][:history]
    others = [
        c
        for c in store.cases.list(
            handle_keys=[handle_key(n, h) for n, h in handles], statuses=OPEN_STATUSES, limit=20
        )
        if c.id != case_id
    ]
    flagged = store.insights.scores("detractor", keys=[case.customer_key, key])
    return CaseView(
        case,
        conversation,
        profile,
        earlier,
        others,
        store.cases.events(case_id),
        flagged[0] if flagged else None,
    )


def detractor_keys(config: Config) -> set[str]:
    """The customers marketing's last scoring flagged as detractors (profile ids and
    ``network:handle`` keys)."""
    return {s.key for s in open_store(config).insights.scores("detractor")}


def is_detractor(case: Case, keys: set[str]) -> bool:
    return case.customer_key in keys or handle_key(case.source, case.author_handle) in keys


# -- SLA watch ------------------------------------------------------------------------------


def check_sla(
    config: Config, *, at: datetime | None = None, client: httpx.Client | None = None
) -> dict[str, int]:
    """Flag open unanswered cases past their due time (once each): a flag on the case, an
    event in its trail, a WARNING log line, a metric, and the queue's webhook if it has one
    (Slack-compatible JSON; a failed call is retried on the next check). Then refresh the
    waiting part of every open case's priority. Returns counts."""
    at = at or now()
    store = open_store(config)
    routing = router(config)
    done = {"breached": 0, "notified": 0, "webhook_failures": 0, "reprioritised": 0}
    for case in store.cases.overdue(at):
        if case.breached_at is None:
            if not store.cases.set_fields(case.id, {"breached_at": at}, only_if_null="breached_at"):
                continue  # another check flagged it first
            late = int((at - case.sla_due).total_seconds() // 60) if case.sla_due else 0
            log.warning(
                "SLA breached: case %s in %s (priority %d) was due %s, %d min ago, no response",
                case.id,
                case.queue,
                case.priority,
                to_iso(case.sla_due),
                late,
            )
            store.cases.note(
                case.id, "breach", actor=SYSTEM, detail={"due": to_iso(case.sla_due)}, at=at
            )
            metrics.record_breach(case.queue)
            done["breached"] += 1
            case = replace(case, breached_at=at)
        queue = routing.config.queues.get(case.queue)
        hook = queue.webhook if queue else None
        if hook is None:
            store.cases.set_fields(case.id, {"breach_notified_at": at})
            continue
        try:
            _post_webhook(hook, _breach_message(case, at), client)
        except httpx.HTTPError as e:
            log.warning("SLA webhook for queue %s failed (retried next check): %s", case.queue, e)
            done["webhook_failures"] += 1
            continue
        store.cases.set_fields(case.id, {"breach_notified_at": at})
        done["notified"] += 1
    for case in store.cases.list(statuses=["new", "claimed"], limit=None):
        if case.first_response_at is not None:
            continue
        reasons = dict(case.priority_reasons)
        waited = waiting_points(case.opened_at, case.sla_due, at)
        if not reasons or reasons.get("waiting") == waited:
            continue
        reasons["waiting"] = waited
        store.cases.set_fields(
            case.id, {"priority": priority_of(reasons), "priority_reasons": reasons}
        )
        done["reprioritised"] += 1
    return done


def _breach_message(case: Case, at: datetime) -> dict[str, Any]:
    late = int((at - case.sla_due).total_seconds() // 60) if case.sla_due else 0
    text = (
        f":rotating_light: SLA breached in *{case.queue}*: case {case.id}"
        f" (@{case.author_handle} on {case.source}, priority {case.priority}) was due"
        f" {to_iso(case.sla_due)}, {late} min ago, and has no response."
        f" Suggested action: {case.action}."
    )
    return {
        "text": text,
        "earshot": {
            "case_id": case.id,
            "queue": case.queue,
            "priority": case.priority,
            "sla_due": to_iso(case.sla_due),
            "opened_at": to_iso(case.opened_at),
            "assignee": case.assignee,
        },
    }


def _post_webhook(url: str, body: dict[str, Any], client: httpx.Client | None) -> None:
    if client is not None:
        client.post(url, json=body, timeout=WEBHOOK_TIMEOUT).raise_for_status()
        return
    with httpx.Client(timeout=WEBHOOK_TIMEOUT) as own:
        own.post(url, json=body).raise_for_status()
