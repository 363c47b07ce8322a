"""Fixtures for the console's pages and JSON API.

One listening cycle over the bundled samples (and the marketing scoring) runs once per test
session into a template store, with one user per role; every test then gets its own copy of
that database, so a claim in one test is never seen by another.

- ``console_config``: the :class:`core.config.Config` of the test's own store;
- ``app``: the console (``web.app.create_app``) over it;
- ``login(name)``: a ``TestClient`` (https, so the Secure cookies are sent) logged in through
  the real /login form; ``anonymous``: one that is not logged in;
- ``seeded``: ids worth knowing (see :data:`SEEDED_KEYS`);
- :data:`PASSWORD` (every user's), :data:`USERS` (name -> role, teams), :data:`BY_ROLE`
  (role -> a user name), :func:`csrf_token` (a logged-in client's CSRF token), and
  :func:`route_posts` (store hand-labelled posts and route them into cases as the route
  step does).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.config import Config, load_config
from core.models import Enrichment, Post
from tests.conftest import write_config

PASSWORD = "correct horse battery staple"
"""Every test user's password."""

USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sam": ("agent", ("care",)),
    "bea": ("agent", ("billing",)),
    "lee": ("lead", ("*",)),
    "maya": ("marketing", ()),
    "ana": ("analyst", ()),
    "ada": ("admin", ()),
}
"""name -> (role, teams): an agent of the care team, an agent of billing, a lead of every
queue, a marketer, an analyst and an administrator."""

BY_ROLE: dict[str, str] = {
    "agent": "sam",
    "agent2": "bea",
    "lead": "lee",
    "marketing": "maya",
    "analyst": "ana",
    "admin": "ada",
}

OTHER_QUEUE = "billing"

SEEDED_KEYS = (
    "care_case",  # an open, unclaimed case in queue "care" (with its opening post stored)
    "care_post",  # the id of the post that opened care_case
    "care_cases",  # five open, unclaimed care cases (care_case first), for tests that change them
    "other_case",  # an open, unclaimed case in queue "billing" (sam may not see it; bea may)
    "other_queue",  # "billing"
    "queues",  # the queues with open cases after the run
)

BASE_URL = "https://testserver"


def csrf_token(client: TestClient) -> str:
    """The CSRF token of a logged-in client's session (from a page's meta tag)."""
    page = client.get("/login")
    found = re.search(r'<meta name="csrf-token" content="([^"]*)">', page.text)
    assert found and found.group(1), "not logged in: no CSRF token on the page"
    return found.group(1)


def route_posts(config: Config, posts: Sequence[Post], labels: Sequence[Enrichment]) -> None:
    """Store posts with the given labels and route them into queues and cases, as the
    pipeline's store and route steps do (for posts no listener would produce)."""
    from services import cases
    from services.runtime import open_store, router

    store = open_store(config)
    store.posts.upsert(list(posts))
    store.posts.upsert_enrichments(list(labels))
    profiles = cases.profiles_of(store, posts)
    decisions = router(config).route(posts, labels, tiers=cases.tiers_of(profiles))
    with store.transaction() as tx:
        new = tx.queues.add_decisions(decisions)
        tx.outbox.add([d.post_id for d in new], "upsert")
        cases.assign(tx, router(config), posts, labels, new, profiles=profiles)


def _copy_database(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()


@pytest.fixture(scope="session")
def _seed_template(
    tmp_path_factory: pytest.TempPathFactory, trained_models: Path
) -> tuple[Path, dict[str, Any]]:
    """The template store: one run over the samples, the marketing scores, the users."""
    from services import access, insights, pipeline
    from services.runtime import open_store

    root = tmp_path_factory.mktemp("console-template")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EARSHOT_HOME", str(root / "home"))
        mp.delenv("EARSHOT_DATABASE_URL", raising=False)
        mp.delenv("EARSHOT_ES_URL", raising=False)
        config = load_config(write_config(root))
        pipeline.run_once(config)
        insights.run(config, at=insights.newest_post_at(config))  # samples age; their clock
        for name, (role, teams) in USERS.items():
            access.add_user(
                config, name, role=role, teams=teams, password=PASSWORD, display_name=name.title()
            )
        store = open_store(config)
        care = store.cases.list(queue="care", statuses=["new"], limit=None)
        care = [c for c in care if c.assignee is None and store.posts.get(c.opened_post_id)]
        other = store.cases.list(queue=OTHER_QUEUE, statuses=["new"], limit=None)
        assert len(care) >= 5 and other, "the samples should open care and billing cases"
        seeded = {
            "care_case": care[0].id,
            "care_post": care[0].opened_post_id,
            "care_cases": [c.id for c in care[:5]],
            "other_case": other[0].id,
            "other_queue": OTHER_QUEUE,
            "queues": sorted({c.queue for c in store.cases.list(limit=None)}),
        }
        store.dispose()
    return root / "home" / "earshot.db", seeded


@pytest.fixture
def console_config(
    _seed_template: tuple[Path, dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Config]:
    """A configuration over the bundled samples whose store is this test's own copy of the
    seeded template."""
    from services.runtime import open_store

    template, _ = _seed_template
    _copy_database(template, tmp_path / "home" / "earshot.db")
    monkeypatch.setenv("EARSHOT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EARSHOT_DATABASE_URL", raising=False)
    monkeypatch.delenv("EARSHOT_ES_URL", raising=False)
    config = load_config(write_config(tmp_path))
    yield config
    open_store(config).dispose()


@pytest.fixture
def seeded(_seed_template: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    _, ids = _seed_template
    return {k: list(v) if isinstance(v, list) else v for k, v in ids.items()}


@pytest.fixture
def app(console_config: Config) -> FastAPI:
    from web.app import create_app

    return create_app(console_config)


@pytest.fixture
def anonymous(app: FastAPI) -> TestClient:
    return TestClient(app, base_url=BASE_URL)


@pytest.fixture
def login(app: FastAPI) -> Callable[[str], TestClient]:
    """``login(name)``: a client logged in as ``name`` through the /login form."""

    def log_in(name: str) -> TestClient:
        client = TestClient(app, base_url=BASE_URL)
        form = client.get("/login")
        nonce = re.search(r'name="login_nonce" value="([^"]+)"', form.text)
        assert nonce, "the login form has no nonce"
        done = client.post(
            "/login",
            data={"name": name, "password": PASSWORD, "login_nonce": nonce.group(1), "next": "/"},
            follow_redirects=False,
        )
        assert done.status_code == 303, f"login of {name} failed: {done.status_code}"
        return client

    return log_in


from tests.web.browser import chromium, live_server, ui  # noqa: E402, F401  (browser tests)
