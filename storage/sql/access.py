"""Console users, their sessions and API tokens, and the audit log (SQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from core.access import ApiToken, AuditEntry, Session, User
from core.errors import NotFoundError
from core.timeutil import now
from storage.sql import schema
from storage.sql.database import Database

_USERS = schema.users
_SESSIONS = schema.sessions
_TOKENS = schema.api_tokens
_AUDIT = schema.audit_log


class SqlUsers:
    def __init__(self, db: Database) -> None:
        self._db = db

    def upsert(self, user: User, *, password_hash: str | None = None) -> None:
        """Create or update a user; ``password_hash`` None keeps the stored one. An update
        keeps the stored ``created_at``."""
        at = now()
        row = {
            "name": user.name,
            "display_name": user.display_name,
            "role": user.role,
            "teams": list(user.teams),
            "password_hash": password_hash,
            "active": user.active,
            "created_at": user.created_at or at,
            "updated_at": at,
        }
        changed = ["display_name", "role", "teams", "active", "updated_at"]
        if password_hash is not None:
            changed.append("password_hash")
        with self._db.begin() as conn:
            self._db.upsert(conn, _USERS, [row], ["name"], update=changed)

    def get(self, name: str) -> User | None:
        with self._db.begin() as conn:
            row = conn.execute(select(_USERS).where(_USERS.c.name == name)).first()
        return None if row is None else _row_user(row._mapping)

    def password_hash(self, name: str) -> str | None:
        """The stored hash of an active user; None for an unknown or inactive user."""
        stmt = select(_USERS.c.password_hash).where(
            _USERS.c.name == name, _USERS.c.active.is_(True)
        )
        with self._db.begin() as conn:
            found: str | None = conn.execute(stmt).scalar()
        return found

    def set_password_hash(self, name: str, password_hash: str) -> None:
        stmt = (
            update(_USERS)
            .where(_USERS.c.name == name)
            .values(password_hash=password_hash, updated_at=now())
        )
        with self._db.begin() as conn:
            if conn.execute(stmt).rowcount != 1:
                raise NotFoundError(f"no user {name!r}")

    def list(self) -> list[User]:
        """Every user, by name."""
        with self._db.begin() as conn:
            rows = conn.execute(select(_USERS).order_by(_USERS.c.name)).all()
        return [_row_user(r._mapping) for r in rows]


def _row_user(m: Any) -> User:
    return User(
        name=m["name"],
        role=m["role"],
        display_name=m["display_name"],
        teams=tuple(m["teams"] or ()),
        active=bool(m["active"]),
        created_at=m["created_at"],
    )


class SqlSessions:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- browser sessions ---------------------------------------------------------------------

    def create(self, session: Session) -> None:
        row = {
            "token_hash": session.token_hash,
            "user_name": session.user_name,
            "csrf_token": session.csrf_token,
            "created_at": session.created_at,
            "expires_at": session.expires_at,
            "address": session.address,
        }
        with self._db.begin() as conn:
            conn.execute(_SESSIONS.insert(), [row])

    def get(self, token_hash: str, *, at: datetime) -> Session | None:
        """The session, unless it expired (``expires_at`` at or before ``at``) or was ended."""
        stmt = select(_SESSIONS).where(
            _SESSIONS.c.token_hash == token_hash, _SESSIONS.c.expires_at > at
        )
        with self._db.begin() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            return None
        return Session(
            token_hash=row.token_hash,
            user_name=row.user_name,
            csrf_token=row.csrf_token,
            created_at=row.created_at,
            expires_at=row.expires_at,
            address=row.address,
        )

    def end(self, token_hash: str) -> None:
        with self._db.begin() as conn:
            conn.execute(delete(_SESSIONS).where(_SESSIONS.c.token_hash == token_hash))

    def end_all(self, user_name: str) -> int:
        """End every session of a user (expired ones not pruned yet included); how many."""
        with self._db.begin() as conn:
            return int(
                conn.execute(delete(_SESSIONS).where(_SESSIONS.c.user_name == user_name)).rowcount
            )

    def prune(self, *, before: datetime) -> int:
        """Delete sessions whose ``expires_at`` is before ``before``; returns how many."""
        with self._db.begin() as conn:
            return int(
                conn.execute(delete(_SESSIONS).where(_SESSIONS.c.expires_at < before)).rowcount
            )

    # -- API tokens ----------------------------------------------------------------------------

    def add_token(self, token: ApiToken) -> None:
        row = {
            "id": token.id,
            "user_name": token.user_name,
            "secret_hash": token.secret_hash,
            "label": token.label,
            "created_at": token.created_at,
            "last_used_at": token.last_used_at,
            "revoked_at": token.revoked_at,
        }
        with self._db.begin() as conn:
            conn.execute(_TOKENS.insert(), [row])

    def token(self, token_id: str) -> ApiToken | None:
        with self._db.begin() as conn:
            row = conn.execute(select(_TOKENS).where(_TOKENS.c.id == token_id)).first()
        return None if row is None else _row_token(row._mapping)

    def tokens(self, user_name: str | None = None) -> list[ApiToken]:
        """Tokens (of one user), newest first, revoked ones included."""
        stmt = select(_TOKENS).order_by(_TOKENS.c.created_at.desc(), _TOKENS.c.id.desc())
        if user_name is not None:
            stmt = stmt.where(_TOKENS.c.user_name == user_name)
        with self._db.begin() as conn:
            return [_row_token(r._mapping) for r in conn.execute(stmt)]

    def touch_token(self, token_id: str, at: datetime) -> None:
        with self._db.begin() as conn:
            conn.execute(update(_TOKENS).where(_TOKENS.c.id == token_id).values(last_used_at=at))

    def revoke_token(self, token_id: str, at: datetime) -> bool:
        """Returns whether a live token was revoked (False: unknown, or revoked already)."""
        stmt = (
            update(_TOKENS)
            .where(_TOKENS.c.id == token_id, _TOKENS.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        with self._db.begin() as conn:
            return bool(conn.execute(stmt).rowcount == 1)


def _row_token(m: Any) -> ApiToken:
    return ApiToken(
        id=m["id"],
        user_name=m["user_name"],
        secret_hash=m["secret_hash"],
        label=m["label"],
        created_at=m["created_at"],
        last_used_at=m["last_used_at"],
        revoked_at=m["revoked_at"],
    )


class SqlAudit:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, entry: AuditEntry) -> AuditEntry:
        """Keep an entry (its ``id`` is ignored); returns it with the id it was given."""
        row = {
            "at": entry.at,
            "actor": entry.actor,
            "action": entry.action,
            "target": entry.target,
            "outcome": entry.outcome,
            "address": entry.address,
            "detail": dict(entry.detail),
        }
        with self._db.begin() as conn:
            new_id = conn.execute(_AUDIT.insert().values(row).returning(_AUDIT.c.id)).scalar_one()
        return replace(entry, id=int(new_id))

    def list(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Newest first; ``before_id`` pages back (entries with a smaller id)."""
        stmt = select(_AUDIT).order_by(_AUDIT.c.id.desc()).limit(limit)
        if actor is not None:
            stmt = stmt.where(_AUDIT.c.actor == actor)
        if action is not None:
            stmt = stmt.where(_AUDIT.c.action == action)
        if target is not None:
            stmt = stmt.where(_AUDIT.c.target == target)
        if before_id is not None:
            stmt = stmt.where(_AUDIT.c.id < before_id)
        with self._db.begin() as conn:
            return [_row_entry(r._mapping) for r in conn.execute(stmt)]

    def count(
        self,
        *,
        action: str,
        since: datetime,
        outcome: str | None = None,
        actor: str | None = None,
        address: str | None = None,
    ) -> int:
        """Entries of one action at or after ``since``, optionally of one outcome, actor or
        address."""
        stmt = (
            select(func.count())
            .select_from(_AUDIT)
            .where(_AUDIT.c.action == action, _AUDIT.c.at >= since)
        )
        if outcome is not None:
            stmt = stmt.where(_AUDIT.c.outcome == outcome)
        if actor is not None:
            stmt = stmt.where(_AUDIT.c.actor == actor)
        if address is not None:
            stmt = stmt.where(_AUDIT.c.address == address)
        with self._db.begin() as conn:
            return int(conn.execute(stmt).scalar_one())


def _row_entry(m: Any) -> AuditEntry:
    return AuditEntry(
        actor=m["actor"],
        action=m["action"],
        at=m["at"],
        target=m["target"],
        outcome=m["outcome"],
        address=m["address"],
        detail=dict(m["detail"] or {}),
        id=m["id"],
    )
