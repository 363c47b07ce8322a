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


def test_factory_x_listener_takes_every_typed_option(monkeypatch: pytest.MonkeyPatch) -> None:
    from listeners.x import XListener

    monkeypatch.setenv("EARSHOT_X_BEARER_TOKEN", "token-for-tests")
    source = XSourceConfig(
        name="x_live",
        type="x",
        connection="x_social",
        queries=["Halden is:retweet"],
        accounts=[777],  # YAML gives numbers; the schema makes them text
        include_retweets=True,
        base_url="http://127.0.0.1:9/",
        timeout=2.5,
        retries=1,
        backoff=0.0,
    )
    listener = build_listener(source, base_dir=ROOT)
    assert isinstance(listener, XListener)
    assert (listener.queries, listener.accounts) == (["Halden is:retweet"], ["777"])
    assert listener.connection == "x_social"
    adapter = listener._adapter
    assert adapter.timeout == 2.5 and adapter.max_retries.total == 1
    assert adapter.rewrite == ("https://api.twitter.com", "http://127.0.0.1:9")


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
    assert listener.connection == "reddit_default"
    assert "secret-for-tests" not in repr(listener)


def test_factory_reddit_listener_without_credentials_names_source_and_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EARSHOT_REDDIT_CLIENT_ID", raising=False)
    monkeypatch.delenv("EARSHOT_REDDIT_CLIENT_SECRET", raising=False)
    source = RedditSourceConfig(
        name="r_live", type="reddit", connection="reddit_social", search=["Halden"]
    )
    with pytest.raises(ListenerAuthError, match=r"^r_live: no Reddit credentials.*'reddit_social'"):
        build_listener(source, base_dir=ROOT)


def test_factory_reddit_source_without_subreddits_or_search_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EARSHOT_REDDIT_CLIENT_ID", "id")
    monkeypatch.setenv("EARSHOT_REDDIT_CLIENT_SECRET", "secret-for-tests")
    with pytest.raises(ConfigError, match="'r_live' needs subreddits or search terms"):
        build_listener(RedditSourceConfig(name="r_live", type="reddit"), base_dir=ROOT)


def test_factory_replay_listener_with_unknown_network_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="replay source 'r': unknown network 'mastodon'"):
        ReplayListener(name="r", network="mastodon", paths=["*.jsonl"], base_dir=tmp_path)


def test_factory_unknown_source_type_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no listener for str"):
        build_listener("not a source", base_dir=ROOT)  # a caller bypassing the schema


def test_factory_live_listener_without_credentials_fails_clearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EARSHOT_X_BEARER_TOKEN", raising=False)
    source = XSourceConfig(name="x_live", type="x", queries=["Halden"])
    with pytest.raises(ListenerAuthError, match=r"no X credentials.*x_default"):
        build_listener(source, base_dir=ROOT)


def test_factory_live_listener_without_credentials_names_the_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EARSHOT_X_BEARER_TOKEN", raising=False)
    source = XSourceConfig(name="x_live", type="x", queries=["Halden"])
    with pytest.raises(ListenerAuthError) as caught:
        build_listener(source, base_dir=ROOT)
    assert str(caught.value) == (
        "x_live: no X credentials: create the Airflow connection 'x_default' with the bearer"
        " token as its password, or set EARSHOT_X_BEARER_TOKEN"
    )


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


def test_listeners_replay_source_builds_without_tweepy_praw_or_airflow() -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from core.config import ReplaySourceConfig\n"
        "from listeners import build_listener\n"
        "source = ReplaySourceConfig(name='r', type='replay', network='reddit', paths=['samples/reddit/*.jsonl'])\n"
        "build_listener(source, base_dir=Path('.')).fetch(None)\n"
        "print([m for m in ('tweepy', 'praw', 'prawcore', 'airflow') if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
