"""Cases, their posts and audit trail; agents; customer profiles (SQL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from core.batching import SQL_BATCH, chunked
from core.care import OPEN_STATUSES, SYSTEM, Agent, Case, CaseEvent, Profile, handle_key
from core.errors import ConflictError, NotFoundError
from core.timeutil import now
from storage.sql import schema
from storage.sql.database import Database, existing

_CASES = schema.cases
_MEMBERS = schema.case_posts
_EVENTS = schema.case_events
_CASE_FIELDS = tuple(Case.__dataclass_fields__)


def open_key(conversation_key: str, customer_key: str) -> str:
    return f"{conversation_key}|{customer_key}"


def _overdue(at: datetime) -> ColumnElement[bool]:
    """Open, unanswered, unflagged and due before ``at``; or flagged and not notified
    (:meth:`Case.is_overdue` in SQL)."""
    return or_(
        and_(
            _CASES.c.status.in_(list(OPEN_STATUSES)),
            _CASES.c.first_response_at.is_(None),
            _CASES.c.sla_due.is_not(None),
            _CASES.c.sla_due < at,
            _CASES.c.breached_at.is_(None),
        ),
        and_(_CASES.c.breached_at.is_not(None), _CASES.c.breach_notified_at.is_(None)),
    )


def _row_case(m: Any) -> Case:
    values = {name: m[name] for name in _CASE_FIELDS}
    values["priority_reasons"] = dict(values["priority_reasons"] or {})
    values["action_detail"] = dict(values["action_detail"] or {})
    return Case(**values)


def _case_row(case: Case) -> dict[str, Any]:
    row = {name: getattr(case, name) for name in _CASE_FIELDS}  # asdict deep-copies: 30x slower
    row["open_key"] = open_key(case.conversation_key, case.customer_key) if case.is_open else None
    row["handle_key"] = handle_key(case.source, case.author_handle)
    return row


def _member_row(post_id: str, case_id: str, role: str, at: datetime) -> dict[str, Any]:
    return {"post_id": post_id, "case_id": case_id, "role": role, "added_at": at}


def _event_row(
    case_id: str,
    action: str,
    from_status: str,
    to_status: str,
    actor: str,
    at: datetime,
    detail: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "actor": actor,
        "at": at,
        "detail": dict(detail),
    }


class SqlCases:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- opening and finding ----------------------------------------------------------------

    def open(self, case: Case, *, post_ids: Sequence[str]) -> tuple[Case, bool]:
        """Insert an open case with its first post(s), unless a case is already open for the
        same conversation and customer: then that one is returned. ``(case, created)``."""
        clashed = self.open_many([case])
        if clashed:
            return clashed[case.id], False
        self.attach(case.id, post_ids, role="customer", at=case.created_at)
        return case, True

    def open_many(self, cases: Sequence[Case]) -> dict[str, Case]:
        """Insert open cases, each with its ``open`` event and its first post: all of them or,
        when one clashes with a stored case (the same id: a retried step; one open for the
        same conversation and customer: another run opened it first), none. Returns the
        stored case each clashing one met, by the clashing case's id; empty: all opened."""
        if not cases:
            return {}
        with self._db.begin() as conn:
            if self._db.dialect == "sqlite":
                refused = self._refused(conn, cases)
                if refused:
                    return {c.id: self._clashing(conn, c) for c in refused}
                for rows in chunked([_case_row(c) for c in cases], SQL_BATCH):
                    self._db.insert(conn, _CASES, rows)
            else:
                savepoint = conn.begin_nested()
                inserted: set[str] = set()
                for chunk in chunked(list(cases), SQL_BATCH):
                    # No conflict target: a clash on the id or on the open key inserts nothing.
                    case_rows = [_case_row(c) for c in chunk]
                    inserted.update(
                        self._db.insert_returning(
                            conn, _CASES, case_rows, conflict=None, returning="id"
                        )
                    )
                if len(inserted) < len(cases):
                    savepoint.rollback()  # all or none: the caller plans around the clashes
                    return {c.id: self._clashing(conn, c) for c in cases if c.id not in inserted}
                savepoint.commit()
            events = [
                _event_row(
                    c.id,
                    "open",
                    "new",
                    c.status,
                    SYSTEM,
                    c.created_at,
                    {"post_id": c.opened_post_id},
                )
                for c in cases
            ]
            for rows in chunked(events, SQL_BATCH):
                self._db.insert(conn, _EVENTS, rows)
            self._attach(
                conn,
                [_member_row(c.opened_post_id, c.id, "customer", c.created_at) for c in cases],
            )
        return {}

    def _refused(self, conn: Connection, cases: Sequence[Case]) -> list[Case]:
        """SQLite: the cases an insert in this order would skip, clashing on the id or the
        open key with a stored case or an earlier one of ``cases``. Exact: the transaction
        holds SQLite's write lock (BEGIN IMMEDIATE), so no case appears between this look
        and the insert, which then needs no savepoint (one held over thousands of inserts
        cost SQLite more than the inserts: about 9 of 13 s at 100,000 posts)."""
        keys = [open_key(c.conversation_key, c.customer_key) if c.is_open else None for c in cases]
        taken_ids = existing(conn, _CASES.c.id, [c.id for c in cases])
        taken_keys = existing(conn, _CASES.c.open_key, [k for k in keys if k is not None])
        refused = []
        for case, key in zip(cases, keys, strict=True):
            if case.id in taken_ids or (key is not None and key in taken_keys):
                refused.append(case)
                continue
            taken_ids.add(case.id)
            if key is not None:
                taken_keys.add(key)
        return refused

    def _clashing(self, conn: Connection, case: Case) -> Case:
        found = self._get(conn, case.id) or self._open(
            conn, case.conversation_key, case.customer_key
        )
        if found is None:  # only a case of the same call can have held its place
            raise ConflictError(
                f"case {case.id} (conversation {case.conversation_key}, customer"
                f" {case.customer_key}) clashes with another case opened in the same call"
            )
        return found

    def get(self, case_id: str) -> Case | None:
        with self._db.begin() as conn:
            return self._get(conn, case_id)

    def _get(self, conn: Connection, case_id: str) -> Case | None:
        row = conn.execute(select(_CASES).where(_CASES.c.id == case_id)).first()
        return None if row is None else _row_case(row._mapping)

    def find_open(self, conversation_key: str, customer_key: str) -> Case | None:
        with self._db.begin() as conn:
            return self._open(conn, conversation_key, customer_key)

    def _open(self, conn: Connection, conversation_key: str, customer_key: str) -> Case | None:
        stmt = select(_CASES).where(_CASES.c.open_key == open_key(conversation_key, customer_key))
        row = conn.execute(stmt).first()
        return None if row is None else _row_case(row._mapping)

    def latest(self, conversation_key: str, customer_key: str) -> Case | None:
        """The most recently opened case of this conversation and customer, in any status."""
        stmt = (
            select(_CASES)
            .where(_CASES.c.conversation_key == conversation_key)
            .where(_CASES.c.customer_key == customer_key)
            .order_by(_CASES.c.opened_at.desc(), _CASES.c.id.desc())
            .limit(1)
        )
        with self._db.begin() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else _row_case(row._mapping)

    def of_conversations(self, conversation_keys: Sequence[str]) -> list[Case]:
        """Every case of these conversations, any status and customer, oldest opened first."""
        found: list[Case] = []
        if not conversation_keys:
            return found
        with self._db.begin() as conn:
            for chunk in chunked(sorted(set(conversation_keys)), SQL_BATCH):
                stmt = select(_CASES).where(_CASES.c.conversation_key.in_(chunk))
                found.extend(_row_case(r._mapping) for r in conn.execute(stmt))
        return sorted(found, key=lambda c: (c.opened_at, c.id))

    def get_many(self, case_ids: Sequence[str]) -> dict[str, Case]:
        """The cases with these ids, by id (unknown ids are left out)."""
        found: dict[str, Case] = {}
        if not case_ids:
            return found
        with self._db.begin() as conn:
            for chunk in chunked(sorted(set(case_ids)), SQL_BATCH):
                stmt = select(_CASES).where(_CASES.c.id.in_(chunk))
                found.update((r.id, _row_case(r._mapping)) for r in conn.execute(stmt))
        return found

    def of_posts(self, post_ids: Sequence[str]) -> dict[str, str]:
        """Which case each post belongs to (posts in no case are left out)."""
        found: dict[str, str] = {}
        with self._db.begin() as conn:
            for chunk in chunked(list(post_ids), SQL_BATCH):
                stmt = select(_MEMBERS.c.post_id, _MEMBERS.c.case_id).where(
                    _MEMBERS.c.post_id.in_(chunk)
                )
                found.update({p: c for p, c in conn.execute(stmt)})
        return found

    def attach(self, case_id: str, post_ids: Sequence[str], *, role: str, at: datetime) -> int:
        """Add posts to a case (a post already in a case stays where it is); a customer's
        posts' queue items take the case's queue, status and holder. Returns how many joined."""
        return len(self.attach_many({p: case_id for p in post_ids}, role=role, at=at))

    def attach_many(self, cases_of: Mapping[str, str], *, role: str, at: datetime) -> set[str]:
        """:meth:`attach` for many cases at once: ``cases_of`` maps each post id to its case
        id. Returns the ids of the posts that joined."""
        rows = [_member_row(post_id, case_id, role, at) for post_id, case_id in cases_of.items()]
        if not rows:
            return set()
        with self._db.begin() as conn:
            return self._attach(conn, rows)

    def _attach(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> set[str]:
        added: set[str] = set()
        for chunk in chunked(rows, SQL_BATCH):
            added |= self._db.insert_new(conn, _MEMBERS, chunk, "post_id")
        joined = [r for r in rows if r["post_id"] in added and r["role"] == "customer"]
        if not joined:
            return added
        states = self._states(conn, [r["case_id"] for r in joined])
        stmt = (
            update(schema.queue_items)
            .where(schema.queue_items.c.post_id == bindparam("b_post_id"))
            .values(
                case_id=bindparam("b_case_id"),
                queue=bindparam("b_queue"),
                status=bindparam("b_status"),
                assignee=bindparam("b_assignee"),
                updated_at=bindparam("b_updated_at", type_=schema.queue_items.c.updated_at.type),
            )
        )
        params = [
            {
                "b_post_id": r["post_id"],
                "b_case_id": r["case_id"],
                "b_queue": states[r["case_id"]].queue,
                "b_status": states[r["case_id"]].status,
                "b_assignee": states[r["case_id"]].assignee,
                "b_updated_at": r["added_at"],
            }
            for r in joined
        ]
        for chunk in chunked(params, SQL_BATCH):
            conn.execute(stmt, list(chunk))
        return added

    def _states(self, conn: Connection, case_ids: Sequence[str]) -> dict[str, Any]:
        """Queue, status and holder of each case as this transaction sees it; NotFoundError
        names the first unknown case."""
        wanted = sorted(set(case_ids))
        states: dict[str, Any] = {}
        for chunk in chunked(wanted, SQL_BATCH):
            stmt = select(_CASES.c.id, _CASES.c.queue, _CASES.c.status, _CASES.c.assignee)
            states.update((r.id, r) for r in conn.execute(stmt.where(_CASES.c.id.in_(chunk))))
        missing = [i for i in wanted if i not in states]
        if missing:
            raise NotFoundError(f"no case {missing[0]!r}")
        return states

    # -- changing ------------------------------------------------------------------------------

    def apply(
        self,
        case_id: str,
        *,
        action: str,
        from_statuses: Sequence[str],
        to_status: str,
        actor: str,
        holder: str | None = None,
        values: Mapping[str, Any] | None = None,
        detail: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> Case:
        """Change a case only if its status is still one of ``from_statuses`` and, with
        ``holder``, it is unclaimed or held by ``holder``: one conditional UPDATE, so of two
        concurrent changes exactly one wins. Records the event and mirrors the status on the
        case's queue items. Raises NotFoundError or ConflictError."""
        at = at or now()
        changes: dict[str, Any] = {"status": to_status, "updated_at": at, **(values or {})}
        if to_status in OPEN_STATUSES:
            changes["open_key"] = _CASES.c.conversation_key + "|" + _CASES.c.customer_key
            changes["closed_at"] = None
        else:
            changes["open_key"] = None
            changes["closed_at"] = at
        with self._db.begin() as conn:
            before = self._get(conn, case_id)  # for the event's from_status and the error
            stmt = (
                update(_CASES)
                .where(_CASES.c.id == case_id)
                .where(_CASES.c.status.in_(list(from_statuses)))
            )
            if holder is not None:
                stmt = stmt.where(or_(_CASES.c.assignee.is_(None), _CASES.c.assignee == holder))
            if before is not None:  # the status read above must still hold: compare-and-set
                stmt = stmt.where(_CASES.c.status == before.status)
            try:
                changed = conn.execute(stmt.values(**changes)).rowcount
            except IntegrityError:  # reopening while another case of it is open
                changed = 0
            if changed != 1:
                raise self._conflict(conn, case_id, action, to_status)
            assert before is not None
            case = self._get(conn, case_id)
            assert case is not None
            event = _event_row(case_id, action, before.status, to_status, actor, at, detail or {})
            conn.execute(_EVENTS.insert(), [event])
            conn.execute(
                update(schema.queue_items)
                .where(schema.queue_items.c.case_id == case_id)
                .values(status=case.status, assignee=case.assignee, queue=case.queue, updated_at=at)
            )
        return case

    def _conflict(self, conn: Connection, case_id: str, action: str, to: str) -> Exception:
        latest = self._get(conn, case_id)
        if latest is None:
            return NotFoundError(f"no case {case_id!r}")
        holder = f" (held by {latest.assignee})" if latest.assignee else ""
        return ConflictError(
            f"case {case_id} is {latest.status}{holder}: {action} (to {to}) was not applied;"
            " someone changed it first or it is not yours"
        )

    def note(
        self, case_id: str, action: str, *, actor: str, detail: Mapping[str, Any], at: datetime
    ) -> None:
        """An event that changes no status (a post joined, a breach, a priority change)."""
        self.note_many(action, [(case_id, detail)], actor=actor, at=at)

    def note_many(
        self,
        action: str,
        notes: Sequence[tuple[str, Mapping[str, Any]]],
        *,
        actor: str,
        at: datetime,
    ) -> None:
        """:meth:`note` for many cases at once: ``(case id, detail)`` pairs, recorded in their
        order (a case may have several). NotFoundError names the first unknown case."""
        if not notes:
            return
        with self._db.begin() as conn:
            states = self._states(conn, [case_id for case_id, _ in notes])
            rows = [
                _event_row(
                    case_id,
                    action,
                    states[case_id].status,
                    states[case_id].status,
                    actor,
                    at,
                    detail,
                )
                for case_id, detail in notes
            ]
            for chunk in chunked(rows, SQL_BATCH):
                self._db.insert(conn, _EVENTS, chunk)

    def set_fields(
        self, case_id: str, values: Mapping[str, Any], *, only_if_null: str | None = None
    ) -> bool:
        """Update fields that are no status (priority, first response, breach flags); with
        ``only_if_null``, only while that column is still empty. Returns whether it changed."""
        return bool(self.set_fields_many([case_id], values, only_if_null=only_if_null))

    def set_fields_many(
        self,
        case_ids: Sequence[str],
        values: Mapping[str, Any],
        *,
        only_if_null: str | None = None,
    ) -> set[str]:
        """:meth:`set_fields` with the same values on many cases; returns the ids of those it
        changed (with ``only_if_null``, not one another check set first)."""
        changed: set[str] = set()
        if not case_ids:
            return changed
        with self._db.begin() as conn:
            for chunk in chunked(sorted(set(case_ids)), SQL_BATCH):
                stmt = update(_CASES).where(_CASES.c.id.in_(chunk))
                if only_if_null is not None:
                    stmt = stmt.where(_CASES.c[only_if_null].is_(None))
                stmt = stmt.values(**values).returning(_CASES.c.id)
                changed.update(i for (i,) in conn.execute(stmt))
        return changed

    def set_fields_each(self, changes: Mapping[str, Mapping[str, Any]]) -> None:
        """:meth:`set_fields` with each case's own values (case id -> values), as one
        statement run over many rows per set of fields."""
        by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for case_id, values in changes.items():
            row = {"b_id": case_id, **{f"b_{name}": value for name, value in values.items()}}
            by_fields.setdefault(tuple(sorted(values)), []).append(row)
        if not by_fields:
            return
        with self._db.begin() as conn:
            for fields, rows in by_fields.items():
                stmt = (
                    update(_CASES)
                    .where(_CASES.c.id == bindparam("b_id"))
                    .values(
                        {name: bindparam(f"b_{name}", type_=_CASES.c[name].type) for name in fields}
                    )
                )
                for chunk in chunked(rows, SQL_BATCH):
                    conn.execute(stmt, list(chunk))

    # -- reading -------------------------------------------------------------------------------

    def members(self, case_id: str) -> list[tuple[str, str]]:
        """``(post_id, role)`` of the case's posts, oldest post first."""
        stmt = (
            select(_MEMBERS.c.post_id, _MEMBERS.c.role)
            .join(schema.posts, schema.posts.c.id == _MEMBERS.c.post_id, isouter=True)
            .where(_MEMBERS.c.case_id == case_id)
            .order_by(schema.posts.c.created_at, _MEMBERS.c.post_id)
        )
        with self._db.begin() as conn:
            return [(p, r) for p, r in conn.execute(stmt)]

    def events(self, case_id: str) -> list[CaseEvent]:
        stmt = select(_EVENTS).where(_EVENTS.c.case_id == case_id).order_by(_EVENTS.c.id)
        with self._db.begin() as conn:
            return [
                CaseEvent(
                    r.case_id, r.action, r.from_status, r.to_status, r.actor, r.at, dict(r.detail)
                )
                for r in conn.execute(stmt)
            ]

    def overdue(self, at: datetime, *, ids: Sequence[str] | None = None) -> list[Case]:
        """Open cases with no first response whose SLA was due before ``at``, and breached
        cases whose breach is not notified yet."""
        if ids is not None:
            # By primary key, then the test: with both in one query SQLite walks the overdue
            # indexes whole for each page of ids (quadratic over a backfill's breaches).
            found = self.get_many(ids)
            return [found[i] for i in sorted(found) if found[i].is_overdue(at)]
        stmt = select(_CASES).where(_overdue(at)).order_by(_CASES.c.sla_due)
        with self._db.begin() as conn:
            return [_row_case(r._mapping) for r in conn.execute(stmt)]

    def overdue_ids(self, at: datetime) -> list[str]:
        with self._db.begin() as conn:
            return sorted(conn.execute(select(_CASES.c.id).where(_overdue(at))).scalars().all())

    def ids(self, *, statuses: Sequence[str]) -> list[str]:
        stmt = select(_CASES.c.id).where(_CASES.c.status.in_(list(statuses)))
        with self._db.begin() as conn:
            return sorted(conn.execute(stmt).scalars().all())

    def queue_counts(self, queues: Sequence[str], at: datetime) -> dict[str, dict[str, int]]:
        """Cases per status of each queue, plus ``overdue``: open, unanswered and past due."""
        counts: dict[str, dict[str, int]] = {q: {"overdue": 0} for q in queues}
        wanted = list(counts)
        with self._db.begin() as conn:
            for queue, status, n in conn.execute(
                select(_CASES.c.queue, _CASES.c.status, func.count())
                .where(_CASES.c.queue.in_(wanted))
                .group_by(_CASES.c.queue, _CASES.c.status)
            ):
                counts[queue][status] = int(n)
            for queue, n in conn.execute(
                select(_CASES.c.queue, func.count())
                .where(
                    _CASES.c.queue.in_(wanted),
                    _CASES.c.status.in_(list(OPEN_STATUSES)),
                    _CASES.c.first_response_at.is_(None),
                    _CASES.c.sla_due < at,
                )
                .group_by(_CASES.c.queue)
            ):
                counts[queue]["overdue"] = int(n)
        return counts

    def remove_posts(self, post_ids: Sequence[str]) -> int:
        """Compliance: take removed posts out of their cases; a case left with no customer
        post is deleted with its trail. Returns how many cases were deleted."""
        deleted = 0
        with self._db.begin() as conn:
            for chunk in chunked(list(post_ids), SQL_BATCH):
                cases = {
                    c
                    for (c,) in conn.execute(
                        select(_MEMBERS.c.case_id).where(_MEMBERS.c.post_id.in_(chunk))
                    )
                }
                conn.execute(delete(_MEMBERS).where(_MEMBERS.c.post_id.in_(chunk)))
                for case_id in sorted(cases):
                    left = conn.execute(
                        select(_MEMBERS.c.post_id)
                        .where(_MEMBERS.c.case_id == case_id)
                        .where(_MEMBERS.c.role == "customer")
                        .limit(1)
                    ).first()
                    if left is None:
                        conn.execute(delete(_MEMBERS).where(_MEMBERS.c.case_id == case_id))
                        conn.execute(delete(_EVENTS).where(_EVENTS.c.case_id == case_id))
                        conn.execute(delete(_CASES).where(_CASES.c.id == case_id))
                        deleted += 1
        return deleted

    def list(
        self,
        *,
        queue: str | None = None,
        statuses: Sequence[str] | None = None,
        assignee: str | None = None,
        handle_keys: Sequence[str] | None = None,
        opened_since: datetime | None = None,
        conversation_key: str | None = None,
        limit: int | None = 50,
    ) -> list[Case]:
        """Cases, most urgent first (priority, then SLA due time, then oldest)."""
        stmt = select(_CASES)
        if conversation_key is not None:
            stmt = stmt.where(_CASES.c.conversation_key == conversation_key)
        if queue:
            stmt = stmt.where(_CASES.c.queue == queue)
        if statuses:
            stmt = stmt.where(_CASES.c.status.in_(list(statuses)))
        if assignee:
            stmt = stmt.where(_CASES.c.assignee == assignee)
        if handle_keys is not None:
            stmt = stmt.where(_CASES.c.handle_key.in_(list(handle_keys)))
        if opened_since is not None:
            stmt = stmt.where(_CASES.c.opened_at >= opened_since)
        stmt = stmt.order_by(
            _CASES.c.priority.desc(),
            _CASES.c.sla_due.is_(None),
            _CASES.c.sla_due.asc(),
            _CASES.c.opened_at.asc(),
            _CASES.c.id,
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._db.begin() as conn:
            return [_row_case(r._mapping) for r in conn.execute(stmt)]


class SqlAgents:
    def __init__(self, db: Database) -> None:
        self._db = db

    def upsert(self, agent: Agent) -> None:
        row = {
            "name": agent.name,
            "display_name": agent.display_name,
            "queues": list(agent.queues),
            "active": agent.active,
            "created_at": now(),
        }
        with self._db.begin() as conn:
            self._db.upsert(
                conn, schema.agents, [row], ["name"], update=["display_name", "queues", "active"]
            )

    def get(self, name: str) -> Agent | None:
        with self._db.begin() as conn:
            row = conn.execute(select(schema.agents).where(schema.agents.c.name == name)).first()
        return None if row is None else _row_agent(row._mapping)

    def list(self) -> list[Agent]:
        with self._db.begin() as conn:
            rows = conn.execute(select(schema.agents).order_by(schema.agents.c.name)).all()
        return [_row_agent(r._mapping) for r in rows]


def _row_agent(m: Any) -> Agent:
    return Agent(m["name"], m["display_name"], tuple(m["queues"]), bool(m["active"]))


_HANDLES = schema.profile_handles
_PROFILES = schema.profiles


class SqlProfiles:
    def __init__(self, db: Database) -> None:
        self._db = db

    def link(
        self,
        handles: Sequence[tuple[str, str]],
        *,
        crm_id: str | None = None,
        tier: str | None = None,
        display_name: str | None = None,
    ) -> Profile:
        """Link handles into one profile: the profile of the CRM id, else of the first
        handle already linked, else a new one. Handles linked elsewhere move to it (their old
        profile is deleted once empty). ``crm_id``, ``tier`` and ``display_name`` are set when
        given. Idempotent."""
        keys = [handle_key(n, h) for n, h in handles]
        at = now()
        with self._db.begin() as conn:
            profile_id = None
            if crm_id:
                profile_id = conn.execute(
                    select(_PROFILES.c.id).where(_PROFILES.c.crm_id == crm_id)
                ).scalar()
            if profile_id is None and keys:
                linked = dict(
                    conn.execute(
                        select(_HANDLES.c.handle_key, _HANDLES.c.profile_id).where(
                            _HANDLES.c.handle_key.in_(keys)
                        )
                    ).all()
                )
                profile_id = next((linked[k] for k in keys if k in linked), None)
            if profile_id is None:
                profile_id = f"crm:{crm_id}" if crm_id else f"profile:{keys[0]}"
                conn.execute(
                    _PROFILES.insert().values(
                        id=profile_id,
                        crm_id=crm_id,
                        tier=tier,
                        display_name=display_name or "",
                        created_at=at,
                        updated_at=at,
                    )
                )
            else:
                changes: dict[str, Any] = {"updated_at": at}
                if crm_id:
                    changes["crm_id"] = crm_id
                if tier is not None:
                    changes["tier"] = tier
                if display_name:
                    changes["display_name"] = display_name
                conn.execute(update(_PROFILES).where(_PROFILES.c.id == profile_id).values(changes))
            previous = {
                p
                for (p,) in conn.execute(
                    select(_HANDLES.c.profile_id).where(_HANDLES.c.handle_key.in_(keys))
                )
            } - {profile_id}
            rows = [
                {
                    "handle_key": handle_key(n, h),
                    "network": n,
                    "handle": h.strip().lstrip("@"),
                    "profile_id": profile_id,
                }
                for n, h in handles
            ]
            self._db.upsert(conn, _HANDLES, rows, ["handle_key"], update=["handle", "profile_id"])
            for old in sorted(previous):
                still = conn.execute(
                    select(_HANDLES.c.handle_key).where(_HANDLES.c.profile_id == old).limit(1)
                ).first()
                if still is None:
                    conn.execute(delete(_PROFILES).where(_PROFILES.c.id == old))
            profile = self._get(conn, profile_id)
        assert profile is not None
        return profile

    def get(self, profile_id: str) -> Profile | None:
        with self._db.begin() as conn:
            return self._get(conn, profile_id)

    def _get(self, conn: Connection, profile_id: str) -> Profile | None:
        row = conn.execute(select(_PROFILES).where(_PROFILES.c.id == profile_id)).first()
        if row is None:
            return None
        handles = conn.execute(
            select(_HANDLES.c.network, _HANDLES.c.handle)
            .where(_HANDLES.c.profile_id == profile_id)
            .order_by(_HANDLES.c.network, _HANDLES.c.handle_key)
        ).all()
        return Profile(
            row.id, tuple((n, h) for n, h in handles), row.crm_id, row.tier, row.display_name
        )

    def of_handles(self, keys: Sequence[str]) -> dict[str, Profile]:
        """The profile of each linked handle key (``x:dani_reyes``); unlinked ones are left out."""
        with self._db.begin() as conn:
            linked: dict[str, str] = {}
            for chunk in chunked(sorted(set(keys)), SQL_BATCH):
                linked.update(
                    conn.execute(
                        select(_HANDLES.c.handle_key, _HANDLES.c.profile_id).where(
                            _HANDLES.c.handle_key.in_(chunk)
                        )
                    ).all()
                )
            profiles = {p: self._get(conn, p) for p in set(linked.values())}
        return {k: profile for k, p in linked.items() if (profile := profiles[p]) is not None}

    def by_crm(self, crm_id: str) -> Profile | None:
        with self._db.begin() as conn:
            found = conn.execute(
                select(_PROFILES.c.id).where(_PROFILES.c.crm_id == crm_id)
            ).scalar()
            return None if found is None else self._get(conn, found)

    def count(self) -> int:
        with self._db.begin() as conn:
            return int(conn.execute(select(func.count()).select_from(_PROFILES)).scalar_one())

    def handle_map(self) -> dict[str, tuple[str, str | None]]:
        """Every linked handle key: its profile id and the profile's tier."""
        stmt = select(_HANDLES.c.handle_key, _PROFILES.c.id, _PROFILES.c.tier).join(
            _PROFILES, _PROFILES.c.id == _HANDLES.c.profile_id
        )
        with self._db.begin() as conn:
            return {k: (p, t) for k, p, t in conn.execute(stmt)}
