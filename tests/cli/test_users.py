"""``earshot users``: add users with roles and teams, passwords from stdin, tokens, and
deactivation; and ``earshot serve --demo-users``' one user per role."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest

from cli.main import main
from core.config import load_config
from services import access
from tests.cli.test_main import run_cli
from web.serve import DEMO_USERS, create_demo_users

PASSWORD = "correct horse battery"


def test_cli_users_add_list_token_and_deactivate(
    config_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = ("--config", str(config_path))
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code, out, err = run_cli(
        capsys,
        *config,
        "users",
        "add",
        "sam",
        "--role",
        "agent",
        "--team",
        "care",
        "--team",
        "billing",
        "--password-stdin",
    )
    assert (code, err) == (0, "")
    assert out.strip() == "user sam: agent, teams care, billing"
    assert access.login(load_config(config_path), "sam", PASSWORD).user.teams == ("care", "billing")

    code, out, _ = run_cli(capsys, *config, "users", "add", "ari", "--role", "analyst")
    assert code == 0
    code, out, _ = run_cli(capsys, *config, "users", "list")
    assert [line.split()[:2] for line in out.splitlines()] == [["ari", "analyst"], ["sam", "agent"]]

    code, out, _ = run_cli(capsys, *config, "users", "token", "sam", "--label", "helpdesk")
    secret = out.splitlines()[-1]
    assert code == 0 and secret.startswith("es_")
    assert access.token_user(load_config(config_path), secret) is not None

    code, out, _ = run_cli(capsys, *config, "users", "deactivate", "sam")
    assert code == 0 and "deactivated" in out
    assert access.token_user(load_config(config_path), secret) is None
    _, out, _ = run_cli(capsys, *config, "users", "list")
    assert "sam" in out and "(deactivated)" in out


def test_cli_users_add_refuses_an_agent_without_teams(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(
        capsys, "--config", str(config_path), "users", "add", "sam", "--role", "agent"
    )
    assert code == 2 and "needs at least one team" in err
    with pytest.raises(SystemExit):
        main(["--config", str(config_path), "users", "add", "sam", "--role", "superuser"])


def test_serve_demo_users_one_per_role_only_on_an_empty_user_base(config_path: Path) -> None:
    config = load_config(config_path)
    made = create_demo_users(config)
    assert sorted(role for _, role, _ in made) == sorted(r for _, r, _, _ in DEMO_USERS)
    listing = config.home / "console-users.txt"
    assert stat.S_IMODE(listing.stat().st_mode) == 0o600
    name, _, password = made[0]
    assert f"{name}\t" in listing.read_text() and access.login(config, name, password)
    assert create_demo_users(config) == []  # never touches an existing user base
