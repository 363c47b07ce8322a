"""Configuration is checked when it is loaded: one clear error naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.config import XSourceConfig, load_config
from core.errors import ConfigError
from tests.conftest import ROOT, write_config


def _config_with(tmp_path: Path, change: dict) -> Path:
    path = write_config(tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(change)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_config_repository_file_loads_with_typed_sources() -> None:
    config = load_config(ROOT / "earshot.yaml")
    assert config.source_names() == ["x_samples", "reddit_samples"]
    assert config.source_names(kind="x") == []
    assert config.routing_path == ROOT / "config" / "routing.yaml"
    assert config.search_backend == "embedded"


def test_config_unknown_top_level_key_names_file_and_key(tmp_path: Path) -> None:
    path = _config_with(tmp_path, {"clasifiers": {}})
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value) == f"{path}: clasifiers: unknown key"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            {"name": "a", "type": "replay", "network": "x", "paths": ["a"], "path": "b"},
            "sources[0] (a).path: unknown key",
        ),
        (
            {"name": "a", "type": "replay", "network": "x"},
            "sources[0] (a).paths: missing required key",
        ),
        (
            {"name": "b", "type": "x", "queries": ["halden"], "max_pages": 0},
            "sources[0] (b).max_pages: Input should be greater than 0",
        ),
        (
            {"name": "c", "type": "reddit", "subreddit": ["HaldenHome"]},
            "sources[0] (c).subreddit: unknown key",
        ),
        (
            {"name": "d", "type": "mastodon", "network": "x"},
            "sources[0] (d): Input tag 'mastodon' found using 'type' does not match",
        ),
        (
            {"name": "e", "type": "replay", "network": "facebook", "paths": ["a"]},
            "sources[0] (e).network: Input should be 'x' or 'reddit'",
        ),
    ],
)
def test_config_bad_listener_option_names_the_source_and_key(
    tmp_path: Path, source: dict, message: str
) -> None:
    path = _config_with(tmp_path, {"sources": [source]})
    with pytest.raises(ConfigError, match="^" + __import__("re").escape(f"{path}: {message}")):
        load_config(path)


def test_config_duplicate_source_names_are_rejected(tmp_path: Path) -> None:
    twice = {"name": "a", "type": "replay", "network": "x", "paths": ["a"]}
    path = _config_with(tmp_path, {"sources": [twice, twice]})
    with pytest.raises(
        ConfigError, match=r"sources: source names must be unique; repeated: \['a'\]"
    ):
        load_config(path)


def test_config_missing_routing_file_is_named(tmp_path: Path) -> None:
    path = _config_with(tmp_path, {"routing": "nowhere.yaml"})
    with pytest.raises(ConfigError, match=r"routing: file not found: .*nowhere.yaml"):
        load_config(path)


def test_config_bad_pii_pattern_is_named(tmp_path: Path) -> None:
    path = _config_with(tmp_path, {"pii_patterns": {"order_number": "(HLD-"}})
    with pytest.raises(
        ConfigError, match=r"pii_patterns: order_number: invalid regular expression"
    ):
        load_config(path)


def test_config_x_account_ids_are_text() -> None:
    source = XSourceConfig(name="x", type="x", accounts=[1400000000])  # YAML reads digits as int
    assert source.accounts == ["1400000000"]


def test_config_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "nope.yaml")
