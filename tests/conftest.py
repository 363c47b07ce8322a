"""Shared fixtures. Airflow gets a throwaway home before anything imports it."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from storage.sql.database import scratch_postgres

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="earshot-airflow-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
# Tests use the heads `make test` builds (var/models), whatever EARSHOT_HOME a test picks.
os.environ.setdefault("EARSHOT_MODELS", str(ROOT / "var" / "models"))


@pytest.fixture(scope="session", autouse=True)
def trained_models() -> Path:
    """The classifier heads: built once if missing (as `make models` would)."""
    from core.config import load_config
    from nlp.encoders import ONNX_MODEL_DIR, onnx_export_current

    config = load_config(ROOT / "earshot.yaml")
    card = config.models_dir / "MODEL_CARD.md"
    if not card.is_file() or not onnx_export_current(config.models_dir / ONNX_MODEL_DIR):
        from nlp.train_all import train_models

        train_models(config, corrections={}, progress=lambda message: None)
    return config.models_dir


def sample_labels() -> dict[str, dict[str, str]]:
    with (SAMPLES / "labels.csv").open(encoding="utf-8") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


def write_config(
    directory: Path,
    *,
    sources: list[dict] | None = None,
    routing: Path | None = None,
) -> Path:
    """Write an earshot.yaml in ``directory`` that uses the repository's intents and rules."""
    data = yaml.safe_load((ROOT / "earshot.yaml").read_text(encoding="utf-8"))
    data["intents"] = str(ROOT / "config" / "intents.yaml")
    data["routing"] = str(routing or ROOT / "config" / "routing.yaml")
    data["insights"] = str(ROOT / "config" / "insights.yaml")
    if sources is None:
        sources = [
            {
                "name": "x_samples",
                "type": "replay",
                "network": "x",
                "paths": [str(SAMPLES / "x" / "*.jsonl")],
            },
            {
                "name": "reddit_samples",
                "type": "replay",
                "network": "reddit",
                "paths": [str(SAMPLES / "reddit" / "*.jsonl")],
            },
        ]
    data["sources"] = sources
    path = directory / "earshot.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configuration over the bundled samples with its state in a temporary folder."""
    monkeypatch.setenv("EARSHOT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EARSHOT_DATABASE_URL", raising=False)
    return write_config(tmp_path)


def make_post(
    text: str,
    *,
    post_id: str = "x:1",
    handle: str = "someone",
    followers: int = 100,
    source: str = "x",
    metrics: dict[str, int] | None = None,
):
    from core.models import Author, Post

    return Post(
        id=post_id,
        source=source,
        url=f"https://x.com/{handle}/status/{post_id.split(':')[-1]}",
        author=Author(id=f"x:{handle}", handle=handle, display_name=handle, followers=followers),
        text=text,
        created_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        metrics=metrics or {},
    )


# -- databases: every store test runs on SQLite, and on PostgreSQL when it is configured -------

POSTGRES_URL = os.environ.get("EARSHOT_TEST_DATABASE_URL")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=pytest.mark.skipif(not POSTGRES_URL, reason="EARSHOT_TEST_DATABASE_URL is not set"),
    ),
]


@contextmanager
def fresh_database(kind: str, directory: Path) -> Iterator[str]:
    """The URL of a new, empty database of ``kind``; a PostgreSQL one is dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'earshot.db'}"
        return
    assert POSTGRES_URL is not None
    with scratch_postgres(POSTGRES_URL, "earshot_test") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def store(database_url: str):
    """A store over a freshly migrated database, on each backend."""
    from storage import SqlStore
    from storage.migrate import upgrade

    upgrade(database_url)
    store = SqlStore.open(database_url)
    yield store
    store.dispose()


def make_enrichment(
    post_id: str, *, intent: str = "billing", redacted: str = "text", sentiment: str = "negative"
):
    from core.models import Enrichment, Label, PiiResult, PiiSpan, PrivateDecision

    return Enrichment(
        post_id=post_id,
        results={
            "sentiment": Label(sentiment, 0.9, "sentiment.test"),
            "intent": Label(intent, 0.8, "intent.test"),
            "private": PrivateDecision(True, 0.9, ("email address in post",), "private.test"),
            "pii": PiiResult((PiiSpan("email", 10, 25),), "pii.test"),
            "language": Label("en", 0.99, "language.test"),
            "spam": Label("ham", 0.9, "spam.test"),
        },
        redacted_text=redacted,
    )


def make_decision(
    post_id: str, *, queue: str = "billing", priority: int = 60, action: str = "move_private"
):
    from datetime import timedelta

    from core.models import RoutingDecision

    decided = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    return RoutingDecision(
        post_id=post_id,
        queue=queue,
        priority=priority,
        action=action,
        rule="billing-private",
        decided_at=decided,
        sla_due=decided + timedelta(hours=1),
    )
