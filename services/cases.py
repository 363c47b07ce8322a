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
from collections import ChainMap, Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

import httpx

from core.batching import chunked
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

_K = TypeVar("_K")
_V = TypeVar("_V")

WEBHOOK_TIMEOUT = 10.0
WEBHOOK_GIVE_UP = 3
"""Failures in a row after which a check stops calling a webhook (the next check retries)."""


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
    before its replies). Returns counts: opened, joined, reopened, brand_replies.

    Opening and joining cost a few statements per batch, not per post (see :class:`_Batch`);
    a brand's reply and a reopening, rarer, are written one post at a time."""
    at = at or now()
    labels = {e.post_id: e for e in enrichments}
    by_id = {d.post_id: d for d in decisions}
    routed = [
        p
        for p in sorted(posts, key=lambda p: (p.created_at, p.id))
        if p.id in by_id and p.id in labels
    ]
    brand = {p.id for p in routed if routing.is_brand(p)}
    items = {
        p.id: _Item(p, by_id[p.id], _customer(p, profiles))
        for p in routed
        if p.id not in brand and not labels[p.id].is_spam
    }
    batch = _Batch.load(tx, routing, list(items.values()), [p.id for p in routed], at=at)
    for post in routed:
        if post.id in brand:
            batch.flush()  # the reply may answer a case opened by a post before it
            case = _brand_reply(tx, post, at)
            if case is not None:
                batch.reload(case.id, post.id, counted="brand_replies")
        elif post.id in items:
            batch.add(items[post.id])
    batch.flush()
    return batch.counts


def _customer(post: Post, profiles: Mapping[str, Profile]) -> str:
    profile = profiles.get(post.id)
    return profile.id if profile else customer_key(post.source, post.author.id)


@dataclass(frozen=True)
class _Item:
    """A customer's newly routed post, to put in a case."""

    post: Post
    decision: RoutingDecision
    customer: str

    @property
    def key(self) -> tuple[str, str]:
        """Conversation and customer: one open case at most per key."""
        return conversation_key(self.post), self.customer


@dataclass
class _Writes:
    """What the posts planned since the last flush will write."""

    opened: list[Case] = field(default_factory=list)
    attached: dict[str, str] = field(default_factory=dict)
    """Post id -> the case it joins."""
    joins: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """The ``join`` events: case id, detail."""
    priorities: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Case id -> the priority a more urgent post raised it to (the last one wins)."""
    outbox: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


class _Batch:
    """Puts one batch's customer posts in cases with a few statements per batch.

    The cases the batch can touch (those of its conversations, and those of the posts it
    replies to) are read once. Each post is planned against them as ``assign`` always did;
    what the plan changes (a case opened, a priority raised, a post joined) goes to an overlay
    of that view, so a later post of the batch sees it, and is written in bulk by
    :meth:`flush`. When another run opened a case for one of the planned conversations
    meanwhile, nothing of the plan is written: its posts are planned again, one at a time,
    the post that would have opened a case joining the stored one instead.
    """

    def __init__(
        self,
        tx: Store,
        routing: Router,
        cases: Sequence[Case],
        members: Mapping[str, str],
        *,
        at: datetime,
    ) -> None:
        self._tx = tx
        self._routing = routing
        self._at = at
        by_key: dict[tuple[str, str], tuple[str, ...]] = {}
        for case in cases:
            key = (case.conversation_key, case.customer_key)
            by_key[key] = (*by_key.get(key, ()), case.id)
        # Each view is (overlay, stored): the overlay holds what is planned but not written.
        self._cases: ChainMap[str, Case] = ChainMap({}, {c.id: c for c in cases})
        self._keys: ChainMap[tuple[str, str], tuple[str, ...]] = ChainMap({}, by_key)
        self._members: ChainMap[str, str] = ChainMap({}, dict(members))
        self._pending: list[_Item] = []
        self._writes = _Writes()
        self._clashes: dict[str, Case] = {}
        """Id of a case another run kept from being opened -> that run's case."""
        self._counts: Counter[str] = Counter()

    @classmethod
    def load(
        cls,
        tx: Store,
        routing: Router,
        items: Sequence[_Item],
        post_ids: Sequence[str],
        *,
        at: datetime,
    ) -> _Batch:
        """Read the cases the items can touch, and the case of each post replied to and of
        each post of the batch (``post_ids``: a post already in a case stays there)."""
        if not items:
            return cls(tx, routing, [], {}, at=at)
        parents = {
            parent
            for i in items
            if (parent := reference(i.post.source, i.post.in_reply_to_id)) is not None
        }
        members = tx.cases.of_posts(sorted(parents.union(post_ids)))
        cases = tx.cases.of_conversations(sorted({conversation_key(i.post) for i in items}))
        elsewhere = set(members.values()) - {c.id for c in cases}
        if elsewhere:
            cases = [*cases, *tx.cases.get_many(sorted(elsewhere)).values()]
        return cls(tx, routing, cases, members, at=at)

    @property
    def counts(self) -> dict[str, int]:
        return {k: self._counts[k] for k in ("opened", "joined", "reopened", "brand_replies")}

    def add(self, item: _Item) -> None:
        """Plan a post; a post that reopens a case is written at once, after the ones before."""
        if self._plan(item) is None:
            self._pending.append(item)
            return
        self.flush()
        self._write_one(item)

    def flush(self) -> None:
        """Write what the pending posts planned."""
        if not self._pending:
            return
        items = self._pending
        clashes = self._write()
        if clashes:
            self._clashes.update(clashes)
            self._discard()
            for item in items:
                self._write_one(item)

    def reload(self, case_id: str, post_id: str, *, counted: str) -> None:
        """After a change written for one post (a reopening, a brand's reply): the case as
        stored now, and the post in it."""
        case = self._tx.cases.get(case_id)
        if case is None:
            raise NotFoundError(f"no case {case_id!r} after post {post_id} changed it")
        self._remember(case)
        self._members.setdefault(post_id, case_id)
        self._writes.counts[counted] += 1
        self._commit()

    # -- planning ---------------------------------------------------------------------------

    def _plan(self, item: _Item) -> Case | None:
        """Plan one post: join, quiet join or open. Returns the closed case the post reopens
        instead, planning nothing then."""
        post, decision = item.post, item.decision
        case = self._open_case(item.key) or self._case_replied_to(post, item.customer)
        if case is not None:
            self._join(case, item)
            return None
        latest = self._latest(item.key)
        if latest is not None and not latest.is_open:  # never a second case: reopen or join
            if not _quiet_follow_up(latest, post, decision, self._routing):
                return latest
            self._join(latest, item)
            return None
        if decision.initial_status != "new":  # closed by a rule: nobody needs to act
            return None
        new = _new_case(item, self._at)
        stored = self._clashes.get(new.id)
        if stored is not None:  # another run opened one for this conversation first: join it
            self._remember(stored)
            self._attach(post.id, stored.id)
            self._writes.counts["joined"] += 1
            return None
        self._remember(new)
        self._members.setdefault(post.id, new.id)
        self._writes.opened.append(new)
        self._writes.counts["opened"] += 1
        return None

    def _open_case(self, key: tuple[str, str]) -> Case | None:
        return next((c for c in self._of_key(key) if c.is_open), None)

    def _latest(self, key: tuple[str, str]) -> Case | None:
        """The most recently opened case of the key, in any status."""
        return max(self._of_key(key), key=lambda c: (c.opened_at, c.id), default=None)

    def _of_key(self, key: tuple[str, str]) -> list[Case]:
        return [self._cases[i] for i in self._keys.get(key, ())]

    def _case_replied_to(self, post: Post, customer: str) -> Case | None:
        """The open case of the post this one replies to, when it is the same customer's."""
        parent = reference(post.source, post.in_reply_to_id)
        case_id = self._members.get(parent) if parent is not None else None
        case = self._cases.get(case_id) if case_id is not None else None
        if case is not None and case.is_open and case.customer_key == customer:
            return case
        return None

    def _join(self, case: Case, item: _Item) -> None:
        decision = item.decision
        detail: dict[str, Any] = {"post_id": item.post.id}
        if decision.priority > case.priority:  # a more urgent follow-up raises the case
            reasons = dict(decision.reasons)
            self._writes.priorities[case.id] = {
                "priority": decision.priority,
                "priority_reasons": reasons,
            }
            self._cases[case.id] = replace(
                case, priority=decision.priority, priority_reasons=reasons
            )
            detail["priority"] = {"from": case.priority, "to": decision.priority}
        self._attach(item.post.id, case.id)
        self._writes.joins.append((case.id, detail))
        self._writes.outbox.append(item.post.id)
        self._writes.counts["joined"] += 1

    def _attach(self, post_id: str, case_id: str) -> None:
        self._writes.attached[post_id] = case_id
        self._members.setdefault(post_id, case_id)  # a post stays in its first case

    def _remember(self, case: Case) -> None:
        self._cases[case.id] = case
        key = (case.conversation_key, case.customer_key)
        ids = self._keys.get(key, ())
        if case.id not in ids:
            self._keys[key] = (*ids, case.id)

    # -- writing ----------------------------------------------------------------------------

    def _write_one(self, item: _Item) -> None:
        """Plan and write one post on its own, as ``assign`` did before it was bulk."""
        while True:
            reopened = self._plan(item)
            if reopened is not None:
                _reopen(self._tx, reopened, item.post, item.decision, self._at)
                self.reload(reopened.id, item.post.id, counted="reopened")
                return
            self._pending = [item]
            clashes = self._write()
            if not clashes:
                return
            self._clashes.update(clashes)  # planned again: the post joins the stored case
            self._discard()

    def _write(self) -> dict[str, Case]:
        """Write the plan and make it the stored view; when opening a case clashed with one
        another run stored, write nothing and return the clashes."""
        writes = self._writes
        clashes = self._tx.cases.open_many(writes.opened)
        if clashes:
            return clashes
        self._tx.cases.attach_many(writes.attached, role="customer", at=self._at)
        self._tx.cases.set_fields_each(writes.priorities)
        self._tx.cases.note_many("join", writes.joins, actor=SYSTEM, at=self._at)
        if writes.outbox:
            self._tx.outbox.add(writes.outbox, "upsert")
        self._commit()
        return {}

    def _commit(self) -> None:
        _settle(self._cases)
        _settle(self._keys)
        _settle(self._members)
        self._counts.update(self._writes.counts)
        self._discard()

    def _discard(self) -> None:
        for view in (self._cases, self._keys, self._members):
            view.maps[0].clear()
        self._writes = _Writes()
        self._pending = []


def _settle(view: ChainMap[_K, _V]) -> None:
    """What the overlay of a view holds becomes what is stored."""
    view.maps[1].update(view.maps[0])
    view.maps[0].clear()


def _new_case(item: _Item, at: datetime) -> Case:
    post, decision = item.post, item.decision
    return Case(
        id=f"case:{post.id}",
        queue=decision.queue,
        status="new",
        priority=decision.priority,
        priority_reasons=dict(decision.reasons),
        action=decision.action,
        action_detail=dict(decision.detail),
        rule=decision.rule,
        source=post.source,
        conversation_key=conversation_key(post),
        customer_key=item.customer,
        author_handle=post.author.handle,
        tier=decision.tier,
        opened_post_id=post.id,
        opened_at=post.created_at,
        sla_due=decision.sla_due,
        created_at=at,
        updated_at=at,
    )


def _quiet_follow_up(case: Case, post: Post, decision: RoutingDecision, routing: Router) -> bool:
    """A post that needs nothing (a "thanks!"), soon after the case closed: it joins the
    closed case without reopening it."""
    closed = case.closed_at or case.updated_at
    return (
        decision.initial_status != "new" and post.created_at - closed < routing.config.reopen_after
    )


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


def _brand_reply(tx: Store, post: Post, at: datetime) -> Case | None:
    """The brand's account replied in a case's conversation: the case's first response (its
    time is the reply's own), and an open unanswered case becomes ``responded``. Returns the
    case it answered, if any."""
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
        return None
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
    return case


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
    try:  # only this case's posts: an agent never waits for another backlog to be indexed
        indexing.drain(store, open_search(config), post_ids=members)
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


SLA_PAGE = 2000
"""Cases the SLA check reads and writes at a time: its memory does not grow with the backlog."""
SLA_LOG_LINES = 20
"""Breached cases logged one line each per check; the others are counted per queue in one
line (a backfill of old posts breaches thousands at once)."""


def check_sla(
    config: Config, *, at: datetime | None = None, client: httpx.Client | None = None
) -> dict[str, int]:
    """Flag open unanswered cases past their due time (once each): a flag on the case, an
    event in its trail, a WARNING log line (per case for the first :data:`SLA_LOG_LINES`), a
    metric, and the queue's webhook if it has one (Slack-compatible JSON; a failed call is
    retried on the next check). Refresh the waiting part of every open case's priority.
    Returns counts.

    The ids of the cases to check (overdue ones, and those waiting for an agent) are read
    first (one sorted read: about 6 MB for 100,000 cases), then the cases are read once and
    written :data:`SLA_PAGE` at a time, so a backlog of any size fits in memory: each page's
    flags, events and priorities in one transaction, then its webhooks (no lock is held while
    one answers slowly), then the cases whose webhook answered are marked notified
    together."""
    at = at or now()
    store = open_store(config)
    routing = router(config)
    hooks = {name: q.webhook for name, q in routing.config.queues.items() if q.webhook}
    done = {"breached": 0, "notified": 0, "webhook_failures": 0, "reprioritised": 0}
    shown: list[Case] = []  # the breaches logged one by one
    more: Counter[str] = Counter()  # the others, by queue
    waiting = ("new", "claimed")
    overdue = set(store.cases.overdue_ids(at))
    for ids in chunked(sorted(overdue.union(store.cases.ids(statuses=waiting))), SLA_PAGE):
        found = store.cases.get_many(ids)  # as they are now
        page = [found[i] for i in ids if i in overdue and i in found and found[i].is_overdue(at)]
        priorities = _waiting_priorities([c for c in found.values() if c.status in waiting], at)
        with store.transaction() as tx:
            flagged = tx.cases.set_fields_many(
                [c.id for c in page if c.breached_at is None],
                {"breached_at": at},
                only_if_null="breached_at",  # a case another check flagged first is skipped
            )
            breached = [replace(c, breached_at=at) for c in page if c.id in flagged]
            tx.cases.note_many(
                "breach",
                [(c.id, {"due": to_iso(c.sla_due)}) for c in breached],
                actor=SYSTEM,
                at=at,
            )
            unnotified = [
                replace(c, breached_at=at) if c.id in flagged else c
                for c in page
                if c.breached_at is not None or c.id in flagged
            ]
            tx.cases.set_fields_many(
                [c.id for c in unnotified if c.queue not in hooks], {"breach_notified_at": at}
            )
            tx.cases.set_fields_each(priorities)
        done["reprioritised"] += len(priorities)
        room = SLA_LOG_LINES - len(shown)
        shown.extend(breached[:room])
        more.update(c.queue for c in breached[room:])
        for case in breached:
            metrics.record_breach(case.queue)
        done["breached"] += len(breached)
        to_call = [c for c in unnotified if c.queue in hooks]
        notified, failures = _notify(to_call, hooks, at, client)
        store.cases.set_fields_many(notified, {"breach_notified_at": at})
        done["notified"] += len(notified)
        done["webhook_failures"] += failures
    _log_breaches(shown, more, at)
    return done


def _log_breaches(cases: Sequence[Case], more: Counter[str], at: datetime) -> None:
    for case in cases:
        log.warning(
            "SLA breached: case %s in %s (priority %d) was due %s, %d min ago, no response",
            case.id,
            case.queue,
            case.priority,
            to_iso(case.sla_due),
            _minutes_late(case, at),
        )
    if more:
        log.warning(
            "SLA breached: %d more cases, no response (%s)",
            sum(more.values()),
            ", ".join(f"{queue}: {n}" for queue, n in sorted(more.items())),
        )


def _minutes_late(case: Case, at: datetime) -> int:
    return int((at - case.sla_due).total_seconds() // 60) if case.sla_due else 0


def _waiting_priorities(cases: Sequence[Case], at: datetime) -> dict[str, dict[str, Any]]:
    """The new priority of each unanswered case whose waiting points changed, by case id."""
    changes: dict[str, dict[str, Any]] = {}
    for case in cases:
        if case.first_response_at is not None:
            continue
        reasons = dict(case.priority_reasons)
        waited = waiting_points(case.opened_at, case.sla_due, at)
        if not reasons or reasons.get("waiting") == waited:
            continue
        reasons["waiting"] = waited
        changes[case.id] = {"priority": priority_of(reasons), "priority_reasons": reasons}
    return changes


def _breach_message(case: Case, at: datetime) -> dict[str, Any]:
    late = _minutes_late(case, at)
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


def _notify(
    cases: Sequence[Case], hooks: Mapping[str, str], at: datetime, client: httpx.Client | None
) -> tuple[list[str], int]:
    """Call each case's queue webhook (one client for all). A webhook that fails
    :data:`WEBHOOK_GIVE_UP` times in a row is not called again in this check: its other
    breaches wait for the next one (a backfill can flag thousands at once, and each failed
    call may take the whole timeout). Returns the cases notified and the failures."""
    notified: list[str] = []
    failures = 0
    if not cases:
        return notified, failures  # no client: making one costs about 20 ms, per page of cases
    down: Counter[str] = Counter()
    own = httpx.Client(timeout=WEBHOOK_TIMEOUT) if client is None else None
    http = client or own
    assert http is not None
    try:
        for case in cases:
            hook = hooks[case.queue]
            if down[hook] >= WEBHOOK_GIVE_UP:
                failures += 1
                continue
            try:
                http.post(
                    hook, json=_breach_message(case, at), timeout=WEBHOOK_TIMEOUT
                ).raise_for_status()
            except httpx.HTTPError as e:
                failures += 1
                down[hook] += 1
                log.warning(
                    "SLA webhook for queue %s failed (retried next check): %s", case.queue, e
                )
                if down[hook] == WEBHOOK_GIVE_UP:
                    log.warning(
                        "SLA webhook for queue %s failed %d times in a row: its other breaches"
                        " wait for the next check",
                        case.queue,
                        WEBHOOK_GIVE_UP,
                    )
                continue
            down[hook] = 0
            notified.append(case.id)
    finally:
        if own is not None:
            own.close()
    return notified, failures
