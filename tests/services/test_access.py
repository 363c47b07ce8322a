"""Console users on both databases: adding users with roles and teams, logins with hashed
passwords, throttling, sessions, API tokens, deactivation and the audit trail of each."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from core.config import Config, load_config
from core.errors import (
    AuthenticationError,
    InvalidValueError,
    LoginThrottledError,
    NotFoundError,
)
from core.timeutil import now
from services import access
from services.runtime import open_store
from tests.conftest import write_config

PASSWORD = "correct horse battery"


@pytest.fixture
def config(database: str, tmp_path: Path) -> Config:
    return load_config(write_config(tmp_path))


def test_access_add_user_hashes_the_password_with_argon2id(config: Config) -> None:
    access.add_user(config, "sam", role="agent", password=PASSWORD, teams=["care"])
    stored = open_store(config).users.password_hash("sam")
    assert stored is not None and stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_access_add_user_makes_agents_and_leads_case_agents(config: Config) -> None:
    access.add_user(config, "sam", role="agent", teams=["care", "billing"])
    access.add_user(config, "lee", role="lead", teams=["*"])
    agents = {a.name: a for a in open_store(config).agents.list()}
    assert agents["sam"].queues == ("care", "billing") and agents["sam"].active
    assert agents["lee"].works("retention")
    # a user who stops working queues stops being an agent
    access.add_user(config, "sam", role="analyst")
    assert not open_store(config).agents.get("sam").active  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("role", "teams", "message"),
    [
        ("agent", [], "needs at least one team"),
        ("lead", ["nowhere"], "unknown: ['nowhere']"),
        ("marketing", ["care"], "only agents and leads have teams"),
        ("root", [], "unknown role 'root'"),
    ],
)
def test_access_add_user_refuses_bad_roles_and_teams(
    config: Config, role: str, teams: list[str], message: str
) -> None:
    with pytest.raises(InvalidValueError, match=re.escape(message)):
        access.add_user(config, "x", role=role, teams=teams)
    assert access.users(config) == []


def test_access_add_user_refuses_short_passwords_and_bad_names(config: Config) -> None:
    with pytest.raises(InvalidValueError, match="at least 10 characters"):
        access.add_user(config, "sam", role="analyst", password="short")
    with pytest.raises(InvalidValueError, match="no spaces"):
        access.add_user(config, "sam smith", role="analyst")


def test_access_login_opens_a_session_and_audits_it(config: Config) -> None:
    access.add_user(config, "ari", role="analyst", password=PASSWORD)
    done = access.login(config, "ari", PASSWORD, address="10.0.0.7")
    assert done.user.name == "ari" and done.user.role == "analyst"
    found = access.session_user(config, done.token)
    assert found is not None and found[0].name == "ari"
    assert found[1].csrf_token == done.session.csrf_token
    # only a hash of the cookie is stored
    assert open_store(config).sessions.get(done.token, at=now()) is None
    entry = access.audit_log(config, action="login")[0]
    assert (entry.actor, entry.outcome, entry.address) == ("ari", "ok", "10.0.0.7")


def test_access_login_gives_one_message_for_wrong_name_and_wrong_password(config: Config) -> None:
    access.add_user(config, "ari", role="analyst", password=PASSWORD)
    with pytest.raises(AuthenticationError) as wrong_password:
        access.login(config, "ari", "not the password")
    with pytest.raises(AuthenticationError) as wrong_name:
        access.login(config, "nobody", PASSWORD)
    assert str(wrong_password.value) == str(wrong_name.value) == "wrong name or password"
    outcomes = [(e.actor, e.outcome) for e in access.audit_log(config, action="login")]
    assert outcomes == [("nobody", "denied"), ("ari", "denied")]


def test_access_login_is_throttled_after_five_failures_for_a_name(config: Config) -> None:
    access.add_user(config, "ari", role="analyst", password=PASSWORD)
    for _ in range(access.MAX_FAILURES_PER_NAME):
        with pytest.raises(AuthenticationError, match="wrong name or password"):
            access.login(config, "ari", "guess guess guess", address="10.0.0.9")
    with pytest.raises(LoginThrottledError) as throttled:
        access.login(config, "ari", PASSWORD, address="10.0.0.1")  # right password, too late
    assert throttled.value.retry_after == 15 * 60
    # after the window, the right password works again
    later = now() + access.THROTTLE_WINDOW + timedelta(seconds=1)
    assert access.login(config, "ari", PASSWORD, at=later).user.name == "ari"


def test_access_login_is_throttled_per_address_across_names(config: Config) -> None:
    access.add_user(config, "ari", role="analyst", password=PASSWORD)
    for i in range(access.MAX_FAILURES_PER_ADDRESS):
        with pytest.raises(AuthenticationError):
            access.login(config, f"user{i}", "guess guess guess", address="203.0.113.5")
    with pytest.raises(LoginThrottledError):
        access.login(config, "ari", PASSWORD, address="203.0.113.5")
    assert access.login(config, "ari", PASSWORD, address="198.51.100.1").user.name == "ari"


def test_access_session_expires_and_ends_at_logout(config: Config) -> None:
    access.add_user(config, "ari", role="analyst", password=PASSWORD)
    done = access.login(config, "ari", PASSWORD)
    expired = now() + timedelta(hours=access.SESSION_HOURS, seconds=1)
    assert access.session_user(config, done.token, at=expired) is None
    access.logout(config, done.token)
    assert access.session_user(config, done.token) is None
    assert access.audit_log(config, action="logout")[0].actor == "ari"


def test_access_new_password_and_deactivation_end_sessions(config: Config) -> None:
    access.add_user(config, "ari", role="analyst", password=PASSWORD)
    first = access.login(config, "ari", PASSWORD)
    access.add_user(config, "ari", role="analyst", password=PASSWORD + "!")
    assert access.session_user(config, first.token) is None
    second = access.login(config, "ari", PASSWORD + "!")
    access.deactivate_user(config, "ari")
    assert access.session_user(config, second.token) is None
    with pytest.raises(AuthenticationError):
        access.login(config, "ari", PASSWORD + "!")


def test_access_api_token_works_until_revoked(config: Config) -> None:
    access.add_user(config, "maya", role="marketing", password=PASSWORD)
    token, secret = access.create_token(config, "maya", label="helpdesk")
    assert secret.startswith(f"es_{token.id}_")
    user = access.token_user(config, secret)
    assert user is not None and user.name == "maya"
    assert access.tokens(config, "maya")[0].last_used_at is not None
    assert access.token_user(config, secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert access.token_user(config, "not a token") is None
    access.revoke_token(config, token.id)
    assert access.token_user(config, secret) is None
    with pytest.raises(NotFoundError):
        access.revoke_token(config, token.id)
    actions = [e.action for e in access.audit_log(config, target=f"maya/{token.id}")]
    assert actions == ["tokens.create"]


def test_access_token_of_a_deactivated_user_is_refused(config: Config) -> None:
    access.add_user(config, "maya", role="marketing")
    _, secret = access.create_token(config, "maya")
    access.deactivate_user(config, "maya")
    assert access.token_user(config, secret) is None


def test_access_audit_log_pages_newest_first(config: Config) -> None:
    for i in range(5):
        access.audit(config, actor="sam", action="cases.claim", target=f"case:{i}")
    first = access.audit_log(config, limit=2)
    assert [e.target for e in first] == ["case:4", "case:3"]
    rest = access.audit_log(config, before_id=first[-1].id, limit=10)
    assert [e.target for e in rest] == ["case:2", "case:1", "case:0"]
    with pytest.raises(InvalidValueError):
        access.audit_log(config, limit=0)
