"""The factory builds each listener from its typed configuration; the package stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.config import RedditSourceConfig, ReplaySourceConfig, XSourceConfig
from core.errors import ConfigError, ListenerAuthError
from listeners import ReplayListener, build_listener
from tests.conftest import ROOT


def test_factory_builds_replay_listener_relative_to_the_config(tmp_path: Path) -> None:
    source = ReplaySourceConfig(name="r", type="replay", network="x", paths=["feed/*.jsonl"])
    listener = build_listener(source, base_dir=tmp_path)
    assert isinstance(listener, ReplayListener)
    assert (listener.name, listener.network, listener.base_dir) == ("r", "x", tmp_path)


def test_factory_builds_x_listener_with_typed_options(monkeypatch: pytest.MonkeyPatch) -> None:
    from listeners.x import XListener

    monkeypatch.setenv("EARSHOT_X_BEARER_TOKEN", "token-for-tests")
    source = XSourceConfig(name="x_live", type="x", queries=["Halden"], max_pages=3)
    listener = build_listener(source, base_dir=ROOT)
    assert isinstance(listener, XListener)
    assert (listener.queries, listener.max_pages) == (["Halden -is:retweet"], 3)
    assert "token-for-tests" not in repr(listener)


def test_factory_builds_reddit_listener_with_typed_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from listeners.reddit import RedditListener

    monkeypatch.setenv("EARSHOT_REDDIT_CLIENT_ID", "id")
    monkeypatch.setenv("EARSHOT_REDDIT_CLIENT_SECRET", "secret-for-tests")
    source = RedditSourceConfig(name="r_live", type="reddit", subreddits=["HaldenHome"])
    listener = build_listener(source, base_dir=ROOT)
    assert isinstance(listener, RedditListener)
    assert listener.subreddits == ["HaldenHome"] and listener.search == []


def test_factory_live_listener_without_credentials_fails_clearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EARSHOT_X_BEARER_TOKEN", raising=False)
    source = XSourceConfig(name="x_live", type="x", queries=["Halden"])
    with pytest.raises(ListenerAuthError, match=r"no X credentials.*x_default"):
        build_listener(source, base_dir=ROOT)


def test_factory_x_source_without_queries_or_accounts_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EARSHOT_X_BEARER_TOKEN", "token-for-tests")
    with pytest.raises(ConfigError, match="'x_live' needs at least one query or account"):
        build_listener(XSourceConfig(name="x_live", type="x"), base_dir=ROOT)


def test_listeners_package_imports_neither_tweepy_nor_praw() -> None:
    code = "import sys, listeners; print([m for m in ('tweepy', 'praw', 'prawcore') if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
