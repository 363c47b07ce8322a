"""Console users: accounts, logins, sessions, API tokens and the audit log.

Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106's second recommended
setting); session cookies and API tokens are random 256-bit secrets of which only a SHA-256
is stored, so a copy of the database logs nobody in. Failed logins are audit entries: five
for one name, or twenty from one address, within 15 minutes make the next attempt wait.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core.access import QUEUE_ROLES, ROLES, ApiToken, AuditEntry, Session, User
from core.care import Agent
from core.config import Config
from core.errors import (
    AuthenticationError,
    InvalidValueError,
    LoginThrottledError,
    NotFoundError,
)
from core.timeutil import now
from services.runtime import open_store, router

log = logging.getLogger(__name__)

SESSION_HOURS = 12
"""A session lasts one working day (a new login after that)."""
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_NAME = 5
MAX_FAILURES_PER_ADDRESS = 20
MIN_PASSWORD = 10
TOKEN_PREFIX = "es_"

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("earshot: a password nobody has")
"""Verified against when the name is unknown, so that a wrong name takes as long as a wrong
password (no user enumeration by timing)."""


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def audit(
    config: Config,
    *,
    actor: str,
    action: str,
    target: str = "",
    outcome: str = "ok",
    address: str = "",
    detail: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Keep one audit entry (who, what, on what, when, from where, how it ended)."""
    return open_store(config).audit.add(
        AuditEntry(
            actor=actor,
            action=action,
            at=at or now(),
            target=target,
            outcome=outcome,
            address=address,
            detail=dict(detail or {}),
        )
    )


def audit_log(
    config: Config,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    if not 1 <= limit <= 1000:
        raise InvalidValueError(f"limit {limit}: expected 1-1000")
    return open_store(config).audit.list(
        actor=actor, action=action, target=target, before_id=before_id, limit=limit
    )


# -- users ----------------------------------------------------------------------------------


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidValueError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise InvalidValueError("a password has at most 1,024 characters")


def add_user(
    config: Config,
    name: str,
    *,
    role: str,
    password: str | None = None,
    display_name: str = "",
    teams: Sequence[str] = (),
    actor: str = "cli",
    address: str = "",
) -> User:
    """Create or update a user. Agents and leads work ``teams`` (queue names, ``*`` for all)
    and become case agents of the same name; other roles have no teams. ``password`` None
    keeps the stored one."""
    name = name.strip()
    if not name or len(name) > 64 or any(c.isspace() for c in name):
        raise InvalidValueError(f"user name {name!r}: 1-64 characters, no spaces")
    if role not in ROLES:
        raise InvalidValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    teams = tuple(dict.fromkeys(t.strip() for t in teams if t.strip()))
    if role in QUEUE_ROLES:
        known = set(router(config).config.queues)
        unknown = sorted(set(teams) - known - {"*"})
        if unknown or not teams:
            raise InvalidValueError(
                f"user {name}: a {role} needs teams (queues) among {sorted(known)} or *;"
                f" unknown: {unknown}"
                if unknown
                else f"user {name}: a {role} needs at least one team (--team QUEUE, or * for all)"
            )
    elif teams:
        raise InvalidValueError(f"user {name}: only agents and leads have teams, not a {role}")
    if password is not None:
        _check_password(password)
    store = open_store(config)
    existing = store.users.get(name)
    user = User(
        name=name,
        role=role,
        display_name=display_name or (existing.display_name if existing else "") or name,
        teams=teams,
        active=True,
        created_at=existing.created_at if existing else now(),
    )
    with store.transaction() as tx:
        tx.users.upsert(user, password_hash=_hasher.hash(password) if password else None)
        agent = tx.agents.get(name)
        if role in QUEUE_ROLES:
            tx.agents.upsert(Agent(name, user.display_name, teams))
        elif agent is not None and agent.active:  # no longer works queues
            tx.agents.upsert(replace(agent, active=False))
        if password is not None and existing is not None:
            tx.sessions.end_all(name)
    audit(
        config,
        actor=actor,
        action="users.update" if existing else "users.add",
        target=name,
        address=address,
        detail={"role": role, "teams": list(teams), "password_set": password is not None},
    )
    stored = store.users.get(name)
    assert stored is not None
    return stored


def deactivate_user(config: Config, name: str, *, actor: str = "cli", address: str = "") -> User:
    """The user can no longer log in; their sessions end and their API tokens stop working."""
    store = open_store(config)
    user = store.users.get(name)
    if user is None:
        raise NotFoundError(f"no user {name!r} (`earshot users list` shows them)")
    with store.transaction() as tx:
        tx.users.upsert(replace(user, active=False))
        tx.sessions.end_all(name)
        agent = tx.agents.get(name)
        if agent is not None:
            tx.agents.upsert(replace(agent, active=False))
    audit(config, actor=actor, action="users.deactivate", target=name, address=address)
    return replace(user, active=False)


def users(config: Config) -> list[User]:
    return open_store(config).users.list()


def get_user(config: Config, name: str) -> User:
    user = open_store(config).users.get(name)
    if user is None:
        raise NotFoundError(f"no user {name!r}")
    return user


# -- logins and sessions --------------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    user: User
    token: str
    """The session cookie's value (only its hash is stored)."""
    session: Session


def login(
    config: Config, name: str, password: str, *, address: str = "", at: datetime | None = None
) -> Login:
    """Check a name and password and open a session. Raises LoginThrottledError after too
    many failures, AuthenticationError for a wrong name or password (the same message for
    both)."""
    at = at or now()
    store = open_store(config)
    since = at - THROTTLE_WINDOW
    name = name.strip()[:64]
    by_name = store.audit.count(action="login", since=since, outcome="denied", actor=name)
    by_address = (
        store.audit.count(action="login", since=since, outcome="denied", address=address)
        if address
        else 0
    )
    if by_name >= MAX_FAILURES_PER_NAME or by_address >= MAX_FAILURES_PER_ADDRESS:
        audit(
            config,
            actor=name,
            action="login",
            outcome="throttled",
            address=address,
            detail={"failures": by_name, "from_address": by_address},
            at=at,
        )
        raise LoginThrottledError(
            "too many failed logins: try again in 15 minutes",
            retry_after=int(THROTTLE_WINDOW.total_seconds()),
        )
    stored = store.users.password_hash(name) if name else None
    ok = _verify(stored or _DUMMY_HASH, password) and stored is not None
    user = store.users.get(name) if ok else None
    if user is None or not user.active:
        audit(config, actor=name, action="login", outcome="denied", address=address, at=at)
        raise AuthenticationError("wrong name or password")
    assert stored is not None
    if _hasher.check_needs_rehash(stored):
        store.users.set_password_hash(name, _hasher.hash(password))
    token = secrets.token_urlsafe(32)
    session = Session(
        token_hash=_sha256(token),
        user_name=name,
        csrf_token=secrets.token_urlsafe(32),
        created_at=at,
        expires_at=at + timedelta(hours=SESSION_HOURS),
        address=address,
    )
    store.sessions.create(session)
    audit(config, actor=name, action="login", address=address, at=at)
    return Login(user, token, session)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def session_user(
    config: Config, token: str, *, at: datetime | None = None
) -> tuple[User, Session] | None:
    """The active user of a live session cookie, else None."""
    if not token or len(token) > 200:
        return None
    store = open_store(config)
    session = store.sessions.get(_sha256(token), at=at or now())
    if session is None:
        return None
    user = store.users.get(session.user_name)
    if user is None or not user.active:
        return None
    return user, session


def logout(config: Config, token: str, *, address: str = "") -> None:
    found = session_user(config, token)
    open_store(config).sessions.end(_sha256(token))
    if found is not None:
        audit(config, actor=found[0].name, action="logout", address=address)


def csrf_matches(session: Session, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(session.csrf_token, presented or "")


# -- API tokens -----------------------------------------------------------------------------


def create_token(
    config: Config, name: str, *, label: str = "", actor: str = "cli", address: str = ""
) -> tuple[ApiToken, str]:
    """A new API token for an active user: ``(token, secret)``; the secret is shown once."""
    user = get_user(config, name)
    if not user.active:
        raise InvalidValueError(f"user {name} is deactivated")
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        id=token_id,
        user_name=name,
        secret_hash=_sha256(secret),
        label=label[:200],
        created_at=now(),
    )
    open_store(config).sessions.add_token(token)
    audit(config, actor=actor, action="tokens.create", target=f"{name}/{token_id}", address=address)
    return token, f"{TOKEN_PREFIX}{token_id}_{secret}"


def token_user(config: Config, bearer: str, *, at: datetime | None = None) -> User | None:
    """The active user of a live API token (``es_<id>_<secret>``), else None."""
    if not bearer.startswith(TOKEN_PREFIX) or len(bearer) > 200:
        return None
    token_id, _, secret = bearer[len(TOKEN_PREFIX) :].partition("_")
    store = open_store(config)
    token = store.sessions.token(token_id) if token_id and secret else None
    if token is None or token.revoked_at is not None:
        return None
    if not hmac.compare_digest(token.secret_hash, _sha256(secret)):
        return None
    user = store.users.get(token.user_name)
    if user is None or not user.active:
        return None
    store.sessions.touch_token(token_id, at or now())
    return user


def revoke_token(config: Config, token_id: str, *, actor: str = "cli", address: str = "") -> None:
    if not open_store(config).sessions.revoke_token(token_id, now()):
        raise NotFoundError(f"no live API token {token_id!r}")
    audit(config, actor=actor, action="tokens.revoke", target=token_id, address=address)


def tokens(config: Config, name: str | None = None) -> list[ApiToken]:
    return open_store(config).sessions.tokens(name)


__all__ = [
    "Login",
    "add_user",
    "audit",
    "audit_log",
    "create_token",
    "csrf_matches",
    "deactivate_user",
    "get_user",
    "login",
    "logout",
    "revoke_token",
    "session_user",
    "token_user",
    "tokens",
    "users",
]
