"""Learning each brand's practice through the services: import-history, the brand's replies
seen live, training, and classification with a brand (both databases)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.config import Config, load_config
from core.errors import InvalidValueError
from services import cases, feedback, history, training
from services.classify_file import classify_file
from services.labels import read_labels
from services.runtime import open_store
from tests.conftest import write_config
from tests.services.test_cases import feed, post


@pytest.fixture
def config(database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    config = load_config(write_config(tmp_path))
    # train into a folder of this test's own (the heads are copied from the session's models)
    models = tmp_path / "models"
    import shutil

    shutil.copytree(config.models_dir, models)
    monkeypatch.setenv("EARSHOT_MODELS", str(models))
    return load_config(write_config(tmp_path))


def write_history(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def conversations(brand: str, private: bool, n: int = 15) -> list[dict]:
    reply = (
        "Please DM us your order number"
        if private
        else "Try restarting the hub, that usually fixes it"
    )
    texts = ["my refund never arrived", "the app keeps logging me out", "hub won't connect"]
    return [
        {
            "customer_text": f"{texts[i % 3]} ({i})",
            "brand_reply": reply,
            "brand": brand,
            "created_at": f"2026-10-{1 + i % 28:02d}T10:00:00Z",
        }
        for i in range(n)
    ]


def test_history_import_counts_and_rejects_bad_lines(config: Config, tmp_path: Path) -> None:
    path = write_history(
        tmp_path / "h.jsonl",
        conversations("AlwaysDM", True, 4) + conversations("@NeverDM", False, 3),
    )
    with path.open("a", encoding="utf-8") as handle:
        handle.write("not json\n")
        handle.write(json.dumps({"customer_text": "hi", "brand": "x"}) + "\n")
    result = history.import_history(config, path)
    assert (result.private, result.public, result.new) == (4, 3, 7)
    assert [r.split(": ", 1)[0] for r in result.rejected] == [f"{path}:8", f"{path}:9"]
    assert "missing or empty 'brand_reply'" in result.rejected[1]
    assert result.brands == {"alwaysdm": (4, 4), "neverdm": (0, 3)}
    again = history.import_history(config, path)
    assert again.new == 0  # each conversation kept once
    assert open_store(config).history.counts() == {"alwaysdm": (4, 4), "neverdm": (0, 3)}


def test_history_brand_reply_seen_live_is_a_label(config: Config) -> None:
    feed(config, [post("100", text="@HaldenSupport refund for order HLD-1234567 please")])
    reply = post(
        "101",
        handle="HaldenSupport",
        conversation="100",
        reply_to="100",
        text="@dani_reyes Sorry! Please DM us and we'll sort the refund today.",
    )
    feed(config, [reply])
    (example,) = open_store(config).history.examples()
    assert (example.brand, example.private, example.origin, example.post_id) == (
        "haldensupport",
        True,
        "live",
        "x:100",
    )
    assert example.reason == "asked to send a direct message"
    assert cases.show(config, "case:x:100").case.first_response_kind == "brand_reply"


def test_history_each_brand_gets_its_own_practice(config: Config, tmp_path: Path) -> None:
    """A brand whose agents always moved these posts private gets private decisions; one
    whose agents always answered in public does not; an unknown brand gets the rules."""
    path = write_history(
        tmp_path / "h.jsonl",
        conversations("HaldenSupport", True) + conversations("HaldenHome", False),
    )
    history.import_history(config, path)
    written = training.train(config, tiers=())
    assert config.models_dir / "private.brand.v1.npz" in written
    lines = [
        {"id": "a", "text": "my refund never arrived, help", "brand": "HaldenSupport"},
        {"id": "n", "text": "my refund never arrived, help", "brand": "HaldenHome"},
        {"id": "m", "text": "@HaldenSupport the app keeps logging me out"},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    with out.open("w", encoding="utf-8") as sink:
        classify_file(config, source, sink)
    rows = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    private = {k: r["private"] for k, r in rows.items()}
    assert private["a"]["move_private"] is True
    assert private["a"]["reasons"][0].startswith("your team moved 10 of 10 similar posts private")
    assert private["n"]["move_private"] is False
    assert private["n"]["reasons"][0].startswith("your team moved 0 of 10")
    assert private["m"]["move_private"] is True  # the brand found from the mention


def classify_lines(config: Config, tmp_path: Path, lines: list[dict]) -> dict[str, dict]:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    with out.open("w", encoding="utf-8") as sink:
        classify_file(config, source, sink)
    return {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}


def test_history_labels_file_teaches_each_brand_its_practice(
    config: Config, tmp_path: Path
) -> None:
    """`earshot train --labels` with private labels: with no other history, the brand labelled
    all private gets private decisions and the one labelled all public does not."""
    texts = ["where is my parcel", "the app crashes on login", "can I change my plan"]
    rows = [
        {"text": f"{texts[i % 3]} ({i})", "private": brand == "HaldenSupport", "brand": brand}
        for brand in ("HaldenSupport", "HaldenHome")
        for i in range(12)
    ]
    labels_file = tmp_path / "ours.jsonl"
    labels_file.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    written = training.train(config, tiers=(), labels=[read_labels(labels_file)])
    assert config.models_dir / "private.brand.v1.npz" in written
    assert open_store(config).history.counts() == {}  # a labels file is not imported history
    card = (config.models_dir / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "| ours.jsonl |" in card and "private: private 12, public 12" in card
    assert "24 labelled customer posts of 2 brands (labels 24)" in card
    decided = classify_lines(
        config,
        tmp_path,
        [
            {"id": "a", "text": "where is my parcel, help", "brand": "HaldenSupport"},
            {"id": "b", "text": "where is my parcel, help", "brand": "HaldenHome"},
        ],
    )
    assert decided["a"]["private"]["move_private"] is True
    assert decided["b"]["private"]["move_private"] is False


def test_history_agent_correction_replaces_the_live_label(config: Config) -> None:
    feed(config, [post("200", text="@HaldenSupport my order is late")])
    reply = post(
        "201",
        handle="HaldenSupport",
        conversation="200",
        reply_to="200",
        text="@dani_reyes Please DM us your order number.",
    )
    feed(config, [reply])
    assert [e.private for e in open_store(config).history.examples()] == [True]
    feedback.correct(config, "x:200", "private", "public")
    (example,) = open_store(config).history.examples()
    assert (example.private, example.origin, example.post_id) == (False, "feedback", "x:200")
    assert feedback.corrections(config) == {"intent": [], "sentiment": []}


def test_history_correction_needs_a_brand_the_post_addresses(config: Config) -> None:
    feed(config, [post("300", text="nice weather for a walk")])
    with pytest.raises(InvalidValueError, match="addresses no brand account"):
        feedback.correct(config, "x:300", "private", "private")
