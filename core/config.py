"""Configuration: one YAML file (``earshot.yaml``) naming the sources, classifiers, routing rules,
store and search index, checked in full when it is loaded.

Environment variables override what differs between machines:

- ``EARSHOT_CONFIG``: path of the YAML file (default: ``./earshot.yaml``, else the bundled one);
- ``EARSHOT_HOME``: where embedded state lives (default: ``var/`` beside the config file, or
  ``./var`` for the bundled configuration);
- ``EARSHOT_DATABASE_URL``: SQLAlchemy URL of the store (default: SQLite in ``EARSHOT_HOME``);
- ``EARSHOT_MODELS``: where trained classifier heads live (default: ``EARSHOT_HOME/models``);
- ``EARSHOT_ES_URL``: an Elasticsearch 9 cluster to index and search in (instead of the
  embedded search), with ``EARSHOT_ES_API_KEY`` (or ``EARSHOT_ES_USERNAME`` and
  ``EARSHOT_ES_PASSWORD``), ``EARSHOT_ES_CA_CERTS`` (a CA bundle), ``EARSHOT_ES_VERIFY_CERTS``
  (``false`` only for a test cluster), ``EARSHOT_ES_TIMEOUT`` (seconds) and
  ``EARSHOT_ES_INDEX`` (the write alias, default ``earshot-posts``).

An unknown key, a missing one or a value of the wrong type is one :class:`ConfigError` naming
the file and the key, raised before any work starts.
"""

from __future__ import annotations

import os
import re
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import ConfigError

SOURCE_ROOT = Path(__file__).resolve().parents[1]
"""The project folder when Earshot runs from a checkout (holds ``earshot.yaml``)."""

BUNDLE_DIR = Path(sysconfig.get_path("data")) / "share" / "earshot"
"""Where ``pip install`` puts the bundled configuration, rules and sample mentions."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Timeout = Annotated[float, Field(gt=0)] | tuple[float, float]
"""Seconds to connect and to wait for each read (one number sets both)."""


class _SourceBase(_Strict):
    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]


class ReplaySourceConfig(_SourceBase):
    """Replays API-shaped JSONL files (the embedded default)."""

    type: Literal["replay"]
    network: Literal["x", "reddit"]
    paths: Annotated[list[str], Field(min_length=1)]


class XSourceConfig(_SourceBase):
    """X API v2: recent search for each query, the mentions timeline of each account."""

    type: Literal["x"]
    network: Literal["x"] = "x"
    connection: str = "x_default"
    queries: list[str] = []
    accounts: list[str] = []
    include_retweets: bool = False
    max_pages: Annotated[int, Field(gt=0)] = 50
    base_url: str = "https://api.twitter.com"  # what tweepy calls; point it at a test server
    timeout: Timeout = (5.0, 30.0)
    retries: Annotated[int, Field(ge=0)] = 3
    backoff: Annotated[float, Field(ge=0)] = 0.5

    @field_validator("accounts", mode="before")
    @classmethod
    def _account_ids_as_text(cls, value: Any) -> Any:
        return [str(v) for v in value] if isinstance(value, list) else value


class RedditSourceConfig(_SourceBase):
    """Reddit through praw: new items of each subreddit, site-wide search for each term."""

    type: Literal["reddit"]
    network: Literal["reddit"] = "reddit"
    connection: str = "reddit_default"
    subreddits: list[str] = []
    search: list[str] = []
    oauth_url: str = "https://oauth.reddit.com"
    reddit_url: str = "https://www.reddit.com"
    timeout: Timeout = (5.0, 30.0)


SourceConfig = Annotated[
    ReplaySourceConfig | XSourceConfig | RedditSourceConfig, Field(discriminator="type")
]


class StoreSettings(_Strict):
    url: str | None = None


class ElasticSettings(_Strict):
    """How to reach Elasticsearch (the ``search.elasticsearch`` section, or the environment).
    Secrets never live in the file: the API key, user and password come from the environment
    (or an Airflow connection)."""

    url: str
    index: str = "earshot-posts"
    ca_certs: str | None = None
    verify_certs: bool = True
    timeout: float = Field(default=10.0, gt=0)
    max_retries: int = Field(default=3, ge=0)
    api_key: str | None = Field(default=None, exclude=True, repr=False)
    username: str | None = None
    password: str | None = Field(default=None, exclude=True, repr=False)


class PipelineSettings(_Strict):
    """How the listening cycle cuts its work (the ``pipeline`` section)."""

    batch_size: int = Field(default=5000, ge=1, le=1_000_000)
    """Posts per batch: a source's new posts are collected, classified, stored and routed
    this many at a time (whole pages or lines, so a batch can be a little larger), so memory
    does not grow with a backlog."""
    workers: int | Literal["auto"] = "auto"
    """Classification processes for a large batch: ``auto`` is one per usable core for
    batches over 2,000 posts (each with one torch thread) and this process alone below;
    ``1`` always this process."""

    @field_validator("workers")
    @classmethod
    def _positive(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError("workers must be auto or 1 or more")
        return value


class SearchSettings(_Strict):
    backend: Literal["embedded", "elasticsearch"] = "embedded"
    elasticsearch: ElasticSettings | None = None


class _File(_Strict):
    """The shape of ``earshot.yaml``."""

    home: str = "var"
    store: StoreSettings = StoreSettings()
    search: SearchSettings = SearchSettings()
    pipeline: PipelineSettings = PipelineSettings()
    sources: list[SourceConfig]
    classifiers: dict[str, str]
    intents: str
    routing: str
    insights: str | None = None
    pii_patterns: dict[str, str] = {}

    @field_validator("store", "search", "pipeline", "pii_patterns", mode="before")
    @classmethod
    def _empty_section(cls, value: Any) -> Any:
        return {} if value is None else value  # a section left with only comments in it

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[Any]) -> list[Any]:
        names = [s.name for s in sources]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"source names must be unique; repeated: {duplicates}")
        return sources

    @field_validator("pii_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: dict[str, str]) -> dict[str, str]:
        for name, pattern in patterns.items():
            try:
                compiled = re.compile(pattern)
            except re.error as e:
                raise ValueError(f"{name}: invalid regular expression ({e})") from None
            if compiled.groups < 1:
                raise ValueError(f"{name}: the pattern needs a group around the identifier")
        return patterns


@dataclass(frozen=True, eq=False)
class Config:
    """The loaded configuration, with every path resolved."""

    path: Path
    home: Path
    database_url: str
    search_backend: str
    elasticsearch: ElasticSettings | None
    sources: tuple[ReplaySourceConfig | XSourceConfig | RedditSourceConfig, ...]
    classifiers: dict[str, str]
    routing_path: Path
    intents_path: Path
    pii_patterns: dict[str, str]
    models_dir: Path
    insights_path: Path | None = None
    """Marketing insights' settings (``insights:``); None: the defaults."""
    batch_size: int = PipelineSettings().batch_size
    """Posts per batch in the listening cycle and backfills (``pipeline.batch_size``)."""
    workers: int | None = None
    """Classification processes per large batch (``pipeline.workers``); None: one per core."""

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def source(self, name: str) -> ReplaySourceConfig | XSourceConfig | RedditSourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources)
        raise ConfigError(f"no source named {name!r} in {self.path} (configured: {known})")

    def source_names(self, *, kind: str | None = None) -> list[str]:
        """Configured source names, optionally only those of one listener type."""
        return [s.name for s in self.sources if kind is None or s.type == kind]


def bundled_config_path() -> Path | None:
    """The configuration shipped with Earshot: the checkout's, else the installed bundle's."""
    for candidate in (SOURCE_ROOT / "earshot.yaml", BUNDLE_DIR / "earshot.yaml"):
        if candidate.is_file():
            return candidate
    return None


def dashboards_file() -> Path:
    """The Kibana saved objects shipped with Earshot: the checkout's, else the bundle's."""
    for candidate in (
        SOURCE_ROOT / "dashboards" / "earshot.ndjson",
        BUNDLE_DIR / "dashboards" / "earshot.ndjson",
    ):
        if candidate.is_file():
            return candidate
    raise ConfigError("the Kibana saved objects (dashboards/earshot.ndjson) are missing")


def default_config_path() -> Path:
    env = os.environ.get("EARSHOT_CONFIG")
    if env:
        return Path(env).resolve()
    local = Path.cwd() / "earshot.yaml"
    if local.is_file():
        return local.resolve()
    bundled = bundled_config_path()
    if bundled is None:
        raise ConfigError(
            "no configuration: set EARSHOT_CONFIG, run from a folder with an earshot.yaml,"
            " or reinstall Earshot (its bundled earshot.yaml is missing)"
        )
    return bundled


def read_yaml(path: Path, *, error: type[ConfigError] = ConfigError) -> Any:
    """Parse one YAML file, turning every failure into ``error`` (a :class:`ConfigError`)
    naming the file."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise error(f"configuration file not found: {path}") from e
    except (OSError, UnicodeDecodeError) as e:
        raise error(f"cannot read {path}: {e}") from e
    except yaml.YAMLError as e:
        raise error(f"{path}: invalid YAML: {e}") from e


def validation_message(path: Path, error: ValidationError, data: Any = None) -> str:
    """One line per problem: ``file: key.path: what is wrong``."""
    lines = []
    for problem in error.errors():
        where = _key_path(problem["loc"], data)
        if problem["type"] == "extra_forbidden":
            message = "unknown key"
        elif problem["type"] == "missing":
            message = "missing required key"
        else:
            message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{path}: {where or '(top level)'}: {message}")
    return "\n".join(lines)


def _key_path(loc: tuple[Any, ...], data: Any) -> str:
    """``sources[0] (x_samples).paths`` from pydantic's location tuple."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            name = node[item].get("name") if isinstance(node, list) and item < len(node) else None
            name = name if isinstance(name, str) else None
            parts[-1:] = [f"{parts[-1] if parts else ''}[{item}]" + (f" ({name})" if name else "")]
            node = node[item] if isinstance(node, list) and item < len(node) else None
        elif item in ("replay", "x", "reddit") and parts and parts[-1].startswith("sources["):
            continue  # pydantic's discriminator tag: the source type, already implied
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts)


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate the configuration file."""
    config_path = Path(path).resolve() if path else default_config_path()
    data = read_yaml(config_path)
    if not isinstance(data, dict):
        raise ConfigError(f"{config_path}: expected a mapping at the top level")
    try:
        parsed = _File.model_validate(data)
    except ValidationError as e:
        raise ConfigError(validation_message(config_path, e, data)) from None

    base = config_path.parent
    if os.environ.get("EARSHOT_HOME"):
        home = Path(os.environ["EARSHOT_HOME"])
    elif config_path.is_relative_to(BUNDLE_DIR):
        home = Path.cwd() / parsed.home  # never write state into the installation
    else:
        home = base / parsed.home
    home = home.resolve()
    database_url = (
        os.environ.get("EARSHOT_DATABASE_URL")
        or parsed.store.url
        or f"sqlite:///{home / 'earshot.db'}"
    )
    elastic = _elastic_settings(config_path, parsed.search)
    routing_path = base / parsed.routing
    intents_path = base / parsed.intents
    insights_path = base / parsed.insights if parsed.insights else None
    for key, file in (
        ("routing", routing_path),
        ("intents", intents_path),
        ("insights", insights_path),
    ):
        if file is not None and not file.is_file():
            raise ConfigError(f"{config_path}: {key}: file not found: {file}")
    return Config(
        path=config_path,
        home=home,
        database_url=database_url,
        search_backend="elasticsearch" if elastic else "embedded",
        elasticsearch=elastic,
        sources=tuple(parsed.sources),
        classifiers=dict(parsed.classifiers),
        routing_path=routing_path,
        intents_path=intents_path,
        pii_patterns=dict(parsed.pii_patterns),
        models_dir=Path(os.environ.get("EARSHOT_MODELS") or home / "models").resolve(),
        insights_path=insights_path,
        batch_size=parsed.pipeline.batch_size,
        workers=None if parsed.pipeline.workers == "auto" else int(parsed.pipeline.workers),
    )


def _elastic_settings(path: Path, search: SearchSettings) -> ElasticSettings | None:
    """Elasticsearch when ``EARSHOT_ES_URL`` is set or the file asks for it; the environment
    wins over the file, key by key."""
    env = os.environ
    url = env.get("EARSHOT_ES_URL") or (search.elasticsearch.url if search.elasticsearch else None)
    if not url:
        if search.backend == "elasticsearch":
            raise ConfigError(
                f"{path}: search.backend is elasticsearch but no URL is given"
                " (search.elasticsearch.url or EARSHOT_ES_URL)"
            )
        return None
    base = search.elasticsearch.model_dump() if search.elasticsearch else {}
    overrides = {
        "url": url,
        "index": env.get("EARSHOT_ES_INDEX"),
        "ca_certs": env.get("EARSHOT_ES_CA_CERTS"),
        "verify_certs": env.get("EARSHOT_ES_VERIFY_CERTS"),
        "timeout": env.get("EARSHOT_ES_TIMEOUT"),
        "api_key": env.get("EARSHOT_ES_API_KEY"),
        "username": env.get("EARSHOT_ES_USERNAME"),
        "password": env.get("EARSHOT_ES_PASSWORD"),
    }
    try:
        return ElasticSettings.model_validate(
            {**base, **{k: v for k, v in overrides.items() if v is not None}}
        )
    except ValidationError as e:
        raise ConfigError(validation_message(path, e)) from None
