"""Configuration: one YAML file (``earshot.yaml``) naming the sources, classifiers, routing rules
and store. Environment variables override what differs between machines:

- ``EARSHOT_CONFIG``: path of the YAML file (default: ``./earshot.yaml``, else the one beside
  the installed packages);
- ``EARSHOT_HOME``: where embedded state lives (default: ``var/`` beside the config file);
- ``EARSHOT_DATABASE_URL``: SQLAlchemy URL of the store (default: SQLite in ``EARSHOT_HOME``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


class ConfigError(ValueError):
    """The configuration is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class SourceConfig:
    name: str
    type: str
    network: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Config:
    path: Path
    home: Path
    database_url: str
    sources: tuple[SourceConfig, ...]
    classifiers: dict[str, str]
    routing_path: Path
    intents_path: Path
    pii_patterns: dict[str, str]
    models_dir: Path
    raw: dict[str, Any]

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources)
        raise ConfigError(f"no source named {name!r} in {self.path} (configured: {known})")


def default_config_path() -> Path:
    env = os.environ.get("EARSHOT_CONFIG")
    if env:
        return Path(env).resolve()
    local = Path.cwd() / "earshot.yaml"
    if local.is_file():
        return local.resolve()
    return PACKAGE_ROOT / "earshot.yaml"


def _require(data: dict[str, Any], key: str, path: Path, kind: type) -> Any:
    if key not in data:
        raise ConfigError(f"{path}: missing key {key!r}")
    value = data[key]
    if not isinstance(value, kind):
        raise ConfigError(f"{path}: {key!r} must be a {kind.__name__}, got {type(value).__name__}")
    return value


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate the configuration file."""
    config_path = Path(path).resolve() if path else default_config_path()
    try:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"configuration file not found: {config_path}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{config_path}: invalid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{config_path}: expected a mapping at the top level")

    base = config_path.parent
    home = Path(os.environ.get("EARSHOT_HOME") or base / data.get("home", "var")).resolve()
    store = data.get("store") or {}
    database_url = (
        os.environ.get("EARSHOT_DATABASE_URL")
        or store.get("url")
        or f"sqlite:///{home / 'earshot.db'}"
    )

    sources = []
    for i, item in enumerate(_require(data, "sources", config_path, list)):
        if not isinstance(item, dict) or not {"name", "type", "network"} <= item.keys():
            raise ConfigError(f"{config_path}: sources[{i}] needs name, type and network")
        options = {k: v for k, v in item.items() if k not in {"name", "type", "network"}}
        sources.append(SourceConfig(item["name"], item["type"], item["network"], options))
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConfigError(f"{config_path}: source names must be unique, got {names}")

    classifiers = _require(data, "classifiers", config_path, dict)
    return Config(
        path=config_path,
        home=home,
        database_url=database_url,
        sources=tuple(sources),
        classifiers={str(k): str(v) for k, v in classifiers.items()},
        routing_path=base / _require(data, "routing", config_path, str),
        intents_path=base / _require(data, "intents", config_path, str),
        pii_patterns={str(k): str(v) for k, v in (data.get("pii_patterns") or {}).items()},
        models_dir=Path(os.environ.get("EARSHOT_MODELS") or home / "models").resolve(),
        raw=data,
    )
