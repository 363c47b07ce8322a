"""The package installs as a user would get it: `pip install .` into a fresh environment gives
a working `earshot train` and `earshot run --once` with the bundled configuration and data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from nlp.encoders import TUNED_MODEL_DIR
from tests.conftest import ROOT, sample_labels


def _source_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [name for name in listed if (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the project's files (never from var/ or .venv/)."""
    source = tmp_path_factory.mktemp("source")
    for name in _source_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (built,) = out.glob("earshot-*.whl")
    return built


def test_packaging_wheel_holds_every_package_the_data_and_the_bundle(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("core", "listeners", "nlp", "routing", "storage", "search", "services", "cli"):
        assert f"{package}/__init__.py" in names, package
    assert {
        "nlp/data/examples.yaml",
        "nlp/data/language_eval.csv",
        "insights/data/authors_fixture.yaml",
        "storage/migrations/env.py",
        "storage/migrations/script.py.mako",
        "storage/sql/schema.py",
    } <= names
    assert any(n.startswith("storage/migrations/versions/") and n.endswith(".py") for n in names)
    data = "earshot-0.1.0.data/data/share/earshot/"
    assert {
        data + "earshot.yaml",
        data + "config/routing.yaml",
        data + "config/intents.yaml",
        data + "config/help_articles.yaml",
        data + "config/insights.yaml",
        data + "samples/labels.csv",
        data + "samples/crm/customers.csv",
        data + "samples/x/search-recent.jsonl",
        data + "samples/x/bad-records.jsonl",
        data + "samples/reddit/listings.jsonl",
        data + "dashboards/earshot.ndjson",
    } <= names
    assert not [n for n in names if n.startswith(("tests/", "dags/", "var/"))]
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "earshot = cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_packaging_installed_wheel_trains_and_runs_on_the_bundled_config(
    wheel: Path, tmp_path: Path, trained_models: Path
) -> None:
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=False)
    # The dependencies come from the project's environment (no network here); Earshot itself
    # only from the wheel. A plain path in a .pth file adds no editable-install finder.
    dependencies = sysconfig.get_paths()["purelib"]
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    (site / "dependencies.pth").write_text(dependencies + "\n", encoding="utf-8")
    python = env_dir / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    work = tmp_path / "work"  # an empty folder: no earshot.yaml, no samples beside it
    work.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EARSHOT_", "PYTHON", "AIRFLOW"))
    } | {"HF_HUB_OFFLINE": "1"}
    earshot = env_dir / "bin" / "earshot"

    where = subprocess.run(
        [str(python), "-c", "import core, cli; print(core.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(env_dir))  # the installed copy, not the checkout

    # The encoder tuned by `make` (minutes of CPU) is reused: it is current only if the
    # installed package's bundled training data is the checkout's, byte for byte.
    shutil.copytree(trained_models / TUNED_MODEL_DIR, work / "var" / "models" / TUNED_MODEL_DIR)
    train = subprocess.run(
        [str(earshot), "train"], cwd=work, env=env, capture_output=True, text=True, timeout=900
    )
    assert train.returncode == 0, train.stderr[-3000:]
    assert "tuning all-MiniLM-L6-v2" not in train.stdout + train.stderr
    assert "exporting the tuned all-MiniLM-L6-v2" in train.stdout + train.stderr
    assert (work / "var" / "models" / "MODEL_CARD.md").is_file()

    run = subprocess.run(
        [str(earshot), "run", "--once"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"{len(sample_labels())} new posts" in run.stdout
    assert "4 bad records" in run.stdout
    assert (work / "var" / "earshot.db").is_file()
