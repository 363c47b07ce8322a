"""Fixtures of the pipeline's end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, fresh_database


@pytest.fixture(params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A new database of each kind, made the configured one (``EARSHOT_DATABASE_URL``), with
    the rest of the state in a temporary ``EARSHOT_HOME``. Yields its URL."""
    monkeypatch.setenv("EARSHOT_HOME", str(tmp_path / "home"))
    with fresh_database(request.param, tmp_path) as url:
        monkeypatch.setenv("EARSHOT_DATABASE_URL", url)
        yield url


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary ``EARSHOT_HOME`` on SQLite (``EARSHOT_DATABASE_URL`` unset). Returns the
    test's folder, where a test writes its configuration."""
    monkeypatch.setenv("EARSHOT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EARSHOT_DATABASE_URL", raising=False)
    return tmp_path
