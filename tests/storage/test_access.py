"""The console access store's contract, on every backend: users and their password hashes,
sessions and API tokens, and the audit log."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from core.access import ApiToken, AuditEntry, Session, User
from core.errors import NotFoundError
from core.timeutil import now

AT = datetime(2026, 11, 3, 10, 0, 0, 123456, tzinfo=UTC)
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"


def user(name: str = "ana", **changes: Any) -> User:
    base = User(name, "agent", "Ana Ruiz", ("billing", "delivery"), active=True, created_at=AT)
    return replace(base, **changes)


def session(token_hash: str = "a" * 64, *, user_name: str = "ana", minutes: int = 60) -> Session:
    return Session(
        token_hash=token_hash,
        user_name=user_name,
        csrf_token="c" * 64,
        created_at=AT,
        expires_at=AT + timedelta(minutes=minutes),
        address="203.0.113.7",
    )


def token(token_id: str = "t1", *, user_name: str = "ana", minutes: int = 0) -> ApiToken:
    return ApiToken(
        id=token_id,
        user_name=user_name,
        secret_hash="s" * 64,
        label=f"report bot {token_id}",
        created_at=AT + timedelta(minutes=minutes),
    )


def entry(
    action: str = "login",
    *,
    actor: str = "ana",
    minutes: int = 0,
    outcome: str = "ok",
    address: str = "203.0.113.7",
    target: str = "",
) -> AuditEntry:
    return AuditEntry(
        actor=actor,
        action=action,
        at=AT + timedelta(minutes=minutes),
        target=target,
        outcome=outcome,
        address=address,
        detail={"minutes": minutes, "teams": ["billing"]},
    )


def assert_utc(value: datetime | None) -> None:
    assert value is not None and value.tzinfo is not None and value.utcoffset() == timedelta(0)


# -- users ---------------------------------------------------------------------------------------


def test_users_round_trip_every_field(store) -> None:
    store.users.upsert(user(), password_hash=HASH)
    stored = store.users.get("ana")
    assert stored == user()
    assert stored is not None
    assert (stored.name, stored.role, stored.display_name) == ("ana", "agent", "Ana Ruiz")
    assert stored.teams == ("billing", "delivery") and stored.active is True
    assert stored.created_at == AT
    assert_utc(stored.created_at)
    assert store.users.password_hash("ana") == HASH
    assert store.users.get("nobody") is None
    assert store.users.password_hash("nobody") is None


def test_users_created_at_defaults_to_now_and_stays_on_update(store) -> None:
    before = now()
    store.users.upsert(user(created_at=None))
    first = store.users.get("ana")
    assert first is not None and first.created_at is not None
    assert_utc(first.created_at)
    assert before - timedelta(seconds=1) <= first.created_at <= now() + timedelta(seconds=1)
    store.users.upsert(user(created_at=AT, role="lead"))
    again = store.users.get("ana")
    assert again is not None
    assert (again.role, again.created_at) == ("lead", first.created_at)


def test_users_upsert_without_hash_keeps_the_stored_hash(store) -> None:
    store.users.upsert(user(), password_hash=HASH)
    store.users.upsert(user(role="lead", display_name="Ana R.", teams=("*",)))
    assert store.users.get("ana") == user(role="lead", display_name="Ana R.", teams=("*",))
    assert store.users.password_hash("ana") == HASH
    store.users.upsert(user(), password_hash="new-hash")
    assert store.users.password_hash("ana") == "new-hash"


def test_users_new_user_without_hash_has_none(store) -> None:
    store.users.upsert(user("ben", role="analyst", teams=()))
    assert store.users.get("ben") == user("ben", role="analyst", teams=())
    assert store.users.password_hash("ben") is None


def test_users_inactive_user_has_no_password_hash(store) -> None:
    store.users.upsert(user(), password_hash=HASH)
    store.users.upsert(user(active=False))
    stored = store.users.get("ana")
    assert stored is not None and stored.active is False
    assert store.users.password_hash("ana") is None
    store.users.upsert(user(active=True))  # reactivated: the hash was kept all along
    assert store.users.password_hash("ana") == HASH


def test_users_set_password_hash(store) -> None:
    store.users.upsert(user())
    store.users.set_password_hash("ana", "set-hash")
    assert store.users.password_hash("ana") == "set-hash"
    assert store.users.get("ana") == user()  # nothing else changed
    with pytest.raises(NotFoundError, match="nobody"):
        store.users.set_password_hash("nobody", "set-hash")
    assert store.users.get("nobody") is None


def test_users_list_by_name(store) -> None:
    assert store.users.list() == []
    store.users.upsert(user("cy", role="admin", teams=()))
    store.users.upsert(user("ana"))
    store.users.upsert(user("ben", role="marketing", teams=(), active=False))
    assert store.users.list() == [
        user("ana"),
        user("ben", role="marketing", teams=(), active=False),
        user("cy", role="admin", teams=()),
    ]


# -- sessions ------------------------------------------------------------------------------------


def test_sessions_round_trip_every_field(store) -> None:
    store.sessions.create(session())
    stored = store.sessions.get("a" * 64, at=AT)
    assert stored == session()
    assert stored is not None
    assert (stored.user_name, stored.csrf_token, stored.address) == ("ana", "c" * 64, "203.0.113.7")
    assert stored.created_at == AT and stored.expires_at == AT + timedelta(minutes=60)
    assert_utc(stored.created_at)
    assert_utc(stored.expires_at)
    assert store.sessions.get("b" * 64, at=AT) is None


def test_sessions_get_none_once_expired(store) -> None:
    store.sessions.create(session(minutes=60))
    expires = AT + timedelta(minutes=60)
    assert store.sessions.get("a" * 64, at=expires - timedelta(microseconds=1)) == session()
    assert store.sessions.get("a" * 64, at=expires) is None
    assert store.sessions.get("a" * 64, at=expires + timedelta(days=1)) is None
    # another time zone, same instant
    assert store.sessions.get("a" * 64, at=expires.astimezone(timezone(timedelta(hours=2)))) is None


def test_sessions_end_ends_one_session(store) -> None:
    store.sessions.create(session("a" * 64))
    store.sessions.create(session("b" * 64))
    store.sessions.end("a" * 64)
    store.sessions.end("z" * 64)  # unknown: nothing happens
    assert store.sessions.get("a" * 64, at=AT) is None
    assert store.sessions.get("b" * 64, at=AT) == session("b" * 64)


def test_sessions_end_all_ends_every_session_of_a_user(store) -> None:
    store.sessions.create(session("a" * 64))
    store.sessions.create(session("b" * 64, minutes=-5))  # expired, not pruned yet
    store.sessions.create(session("c" * 64, user_name="ben"))
    assert store.sessions.end_all("ana") == 2
    assert store.sessions.end_all("ana") == 0
    assert store.sessions.get("a" * 64, at=AT) is None
    assert store.sessions.get("c" * 64, at=AT) == session("c" * 64, user_name="ben")


def test_sessions_prune_deletes_expired_sessions(store) -> None:
    store.sessions.create(session("a" * 64, minutes=10))
    store.sessions.create(session("b" * 64, minutes=20))
    store.sessions.create(session("c" * 64, minutes=30))
    assert store.sessions.prune(before=AT + timedelta(minutes=20)) == 1  # before: strictly
    assert store.sessions.prune(before=AT + timedelta(minutes=20, microseconds=1)) == 1
    assert store.sessions.prune(before=AT + timedelta(minutes=20)) == 0
    assert store.sessions.get("c" * 64, at=AT) == session("c" * 64, minutes=30)
    assert store.sessions.get("b" * 64, at=AT) is None
    assert store.sessions.end_all("ana") == 1  # only the unexpired one was left


# -- API tokens ------------------------------------------------------------------------------------


def test_tokens_round_trip_every_field(store) -> None:
    used, revoked = AT + timedelta(hours=1), AT + timedelta(hours=2)
    full = ApiToken("t9", "ana", "f" * 64, "nightly export", AT, used, revoked)
    store.sessions.add_token(token())
    store.sessions.add_token(full)
    assert store.sessions.token("t1") == token()
    stored = store.sessions.token("t9")
    assert stored == full
    assert stored is not None
    assert (stored.user_name, stored.secret_hash, stored.label) == (
        "ana",
        "f" * 64,
        "nightly export",
    )
    assert (stored.created_at, stored.last_used_at, stored.revoked_at) == (AT, used, revoked)
    for value in (stored.created_at, stored.last_used_at, stored.revoked_at):
        assert_utc(value)
    assert store.sessions.token("nope") is None


def test_tokens_newest_first_of_one_user_or_all(store) -> None:
    store.sessions.add_token(token("t1", minutes=0))
    store.sessions.add_token(token("t3", minutes=20, user_name="ben"))
    store.sessions.add_token(token("t2", minutes=10))
    store.sessions.revoke_token("t2", AT + timedelta(hours=1))
    assert [t.id for t in store.sessions.tokens()] == ["t3", "t2", "t1"]
    assert [t.id for t in store.sessions.tokens("ana")] == ["t2", "t1"]  # revoked included
    assert [t.id for t in store.sessions.tokens("ben")] == ["t3"]
    assert store.sessions.tokens("nobody") == []


def test_tokens_touch_sets_last_used(store) -> None:
    store.sessions.add_token(token())
    first, later = AT + timedelta(minutes=5), AT + timedelta(minutes=9)
    store.sessions.touch_token("t1", first)
    stored = store.sessions.token("t1")
    assert stored is not None and stored.last_used_at == first
    store.sessions.touch_token("t1", later)
    stored = store.sessions.token("t1")
    assert stored is not None and stored.last_used_at == later
    assert stored.revoked_at is None
    store.sessions.touch_token("nope", later)  # unknown: nothing happens
    assert store.sessions.token("nope") is None


def test_tokens_revoke_once(store) -> None:
    store.sessions.add_token(token())
    revoked = AT + timedelta(minutes=30)
    assert store.sessions.revoke_token("t1", revoked) is True
    assert store.sessions.revoke_token("t1", revoked + timedelta(minutes=1)) is False
    assert store.sessions.revoke_token("nope", revoked) is False
    stored = store.sessions.token("t1")
    assert stored is not None and stored.revoked_at == revoked  # the first revocation stays


# -- audit log -----------------------------------------------------------------------------------


def test_audit_add_returns_the_entry_with_its_id_and_round_trips(store) -> None:
    first = store.audit.add(entry(target="ana"))
    second = store.audit.add(entry("users.add", actor="root", target="ben", minutes=1))
    assert first.id is not None and second.id is not None and second.id > first.id
    assert first == AuditEntry(
        actor="ana",
        action="login",
        at=AT,
        target="ana",
        outcome="ok",
        address="203.0.113.7",
        detail={"minutes": 0, "teams": ["billing"]},
        id=first.id,
    )
    assert store.audit.list() == [second, first]
    assert_utc(store.audit.list()[0].at)


def test_audit_add_defaults_round_trip(store) -> None:
    added = store.audit.add(AuditEntry(actor="cli", action="config.reload", at=AT))
    assert store.audit.list() == [added]
    assert (added.target, added.outcome, added.address, added.detail) == ("", "ok", "", {})


def test_audit_list_pages_back_newest_first(store) -> None:
    ids = [store.audit.add(entry(minutes=i)).id for i in range(7)]
    page = store.audit.list(limit=3)
    assert [e.id for e in page] == ids[6:3:-1]
    page = store.audit.list(limit=3, before_id=page[-1].id)
    assert [e.id for e in page] == ids[3:0:-1]
    page = store.audit.list(limit=3, before_id=page[-1].id)
    assert [e.id for e in page] == ids[:1]
    assert store.audit.list(before_id=ids[0]) == []
    assert [e.detail["minutes"] for e in store.audit.list()] == [6, 5, 4, 3, 2, 1, 0]


def test_audit_list_filters(store) -> None:
    a = store.audit.add(entry("login", actor="ana", target="ana"))
    b = store.audit.add(entry("cases.act", actor="ana", target="case:x:1", minutes=1))
    c = store.audit.add(entry("cases.act", actor="ben", target="case:x:1", minutes=2))
    d = store.audit.add(entry("users.add", actor="root", target="ben", minutes=3))
    assert store.audit.list(actor="ana") == [b, a]
    assert store.audit.list(action="cases.act") == [c, b]
    assert store.audit.list(target="case:x:1") == [c, b]
    assert store.audit.list(target="ben") == [d]
    assert store.audit.list(actor="ana", action="cases.act") == [b]
    assert store.audit.list(action="cases.act", before_id=c.id) == [b]
    assert store.audit.list(actor="nobody") == []


def test_audit_count_of_one_action_since(store) -> None:
    store.audit.add(entry(minutes=-1, outcome="denied"))  # before `since`
    store.audit.add(entry(minutes=0, outcome="denied"))  # at `since`: counted
    store.audit.add(entry(minutes=1, outcome="ok"))
    store.audit.add(entry("logout", minutes=2))
    assert store.audit.count(action="login", since=AT) == 2
    assert store.audit.count(action="login", since=AT - timedelta(minutes=1)) == 3
    assert store.audit.count(action="login", since=AT + timedelta(minutes=5)) == 0
    assert store.audit.count(action="logout", since=AT) == 1
    assert store.audit.count(action="nothing", since=AT) == 0


def test_audit_count_filters_by_outcome_actor_and_address(store) -> None:
    store.audit.add(entry(actor="ana", outcome="denied", address="10.0.0.1"))
    store.audit.add(entry(actor="ana", outcome="denied", address="10.0.0.2", minutes=1))
    store.audit.add(entry(actor="ben", outcome="denied", address="10.0.0.1", minutes=2))
    store.audit.add(entry(actor="ana", outcome="ok", address="10.0.0.1", minutes=3))
    store.audit.add(entry("logout", actor="ana", outcome="denied", address="10.0.0.1"))
    assert store.audit.count(action="login", since=AT, outcome="denied") == 3
    assert store.audit.count(action="login", since=AT, outcome="ok") == 1
    assert store.audit.count(action="login", since=AT, actor="ana") == 3
    assert store.audit.count(action="login", since=AT, outcome="denied", actor="ana") == 2
    assert store.audit.count(action="login", since=AT, address="10.0.0.1") == 3
    assert store.audit.count(action="login", since=AT, outcome="denied", address="10.0.0.1") == 2
    assert (
        store.audit.count(
            action="login", since=AT, outcome="denied", actor="ben", address="10.0.0.1"
        )
        == 1
    )
    assert store.audit.count(action="login", since=AT, address="10.9.9.9") == 0


# -- transactions --------------------------------------------------------------------------------


def test_access_writes_in_a_transaction_roll_back_together(store) -> None:
    store.users.upsert(user(), password_hash=HASH)
    store.sessions.add_token(token())
    with pytest.raises(KeyError), store.transaction() as tx:
        tx.users.upsert(user("ben", role="admin", teams=()), password_hash="ben-hash")
        tx.users.set_password_hash("ana", "changed")
        tx.sessions.create(session())
        tx.sessions.add_token(token("t2"))
        assert tx.sessions.revoke_token("t1", AT) is True
        tx.audit.add(entry("users.add", actor="root", target="ben"))
        assert tx.users.get("ben") is not None  # seen inside the transaction
        raise KeyError("the request dies here")
    assert store.users.get("ben") is None
    assert store.users.password_hash("ana") == HASH
    assert store.sessions.get("a" * 64, at=AT) is None
    assert store.sessions.token("t2") is None
    stored = store.sessions.token("t1")
    assert stored is not None and stored.revoked_at is None
    assert store.audit.list() == []


def test_access_writes_in_a_transaction_commit_together(store) -> None:
    with store.transaction() as tx:
        tx.users.upsert(user(), password_hash=HASH)
        tx.sessions.create(session())
        added = tx.audit.add(entry())
    assert store.users.get("ana") == user()
    assert store.sessions.get("a" * 64, at=AT) == session()
    assert store.audit.list() == [added]
