"""``earshot serve``: the console with uvicorn, and demo users on a fresh embedded store."""

from __future__ import annotations

import os
import secrets
import sys

from core.config import Config
from services import access

DEMO_USERS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("admin", "admin", (), "Ada Admin"),
    ("sam", "agent", ("care", "billing", "unmatched"), "Sam Agent"),
    ("lee", "lead", ("*",), "Lee Lead"),
    ("maya", "marketing", (), "Maya Marketing"),
    ("ari", "analyst", (), "Ari Analyst"),
)
"""One user per role, for trying the console on the bundled samples."""


def create_demo_users(config: Config) -> list[tuple[str, str, str]]:
    """Create the demo users when the store has no user at all: ``(name, role, password)``
    of each (the passwords are random and also written, readable by the owner only, to
    ``<home>/console-users.txt``). An existing user base is never touched: empty list."""
    if access.users(config):
        return []
    made = []
    for name, role, teams, display in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        access.add_user(
            config,
            name,
            role=role,
            password=password,
            display_name=display,
            teams=teams,
            actor="earshot serve --demo-users",
        )
        made.append((name, role, password))
    path = config.home / "console-users.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("# Earshot console demo users (created by earshot serve --demo-users)\n")
        for name, role, password in made:
            f.write(f"{name}\t{role}\t{password}\n")
    return made


def serve(
    config: Config,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    insecure_cookies: bool = False,
    demo_users: bool = False,
) -> int:
    import uvicorn

    from services.runtime import open_store, upgrade_database
    from web.app import create_app

    upgrade_database(config)
    made = create_demo_users(config) if demo_users else []
    app = create_app(config)
    app.state.insecure_cookies = insecure_cookies
    shown = "localhost" if host in ("127.0.0.1", "::1", "localhost") else host
    print(f"Earshot console: http://{shown}:{port}/  (JSON API: http://{shown}:{port}/api/docs)")
    if made:
        print(f"demo users (passwords also in {config.home / 'console-users.txt'}):")
        for name, role, password in made:
            print(f"  {name:<6} {role:<9} {password}")
    elif demo_users:
        print(
            f"log in as one of the users in {config.home / 'console-users.txt'}"
            " (or `earshot users list`; new ones: `earshot users add`)"
        )
    else:
        print("log in with a user made by `earshot users add NAME --role ROLE --set-password`")
    if not open_store(config).cases.list(limit=1):
        print("no cases in the store yet: `make run` (or `earshot run --once`) fills it")
    sys.stdout.flush()
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0
