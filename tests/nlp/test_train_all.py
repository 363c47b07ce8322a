"""Training every head: the caller's corrections reach the training set of their task."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from core.config import load_config
from core.errors import InputError
from nlp import train_all
from nlp.training import Example, Head
from tests.conftest import ROOT


def test_train_models_trains_on_the_corrections_passed_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EARSHOT_MODELS", str(tmp_path / "models"))
    config = load_config(ROOT / "earshot.yaml")  # beside the labelled samples
    seen: dict[str, list[Example]] = {}

    def fake_train_head(
        task: str, tier: str, examples: Sequence[Example], encode: Callable[..., np.ndarray]
    ) -> Head:
        seen[task] = list(examples)
        held = {"examples": 1, "accuracy": 1.0, "macro_f1": 1.0, "macro_recall": 1.0}
        meta = {"examples": len(examples), "held_out": held}
        return Head(task, tier, ["a", "b"], np.zeros((2, 1)), np.zeros(2), 1.0, meta)

    monkeypatch.setattr(train_all, "train_head", fake_train_head)
    messages: list[str] = []
    written = train_all.train_models(
        config,
        corrections={"intent": [("my thermostat invoice is wrong", "billing")]},
        tiers=("minilm",),
        progress=messages.append,
    )
    assert Example("my thermostat invoice is wrong", "billing", "feedback") in seen["intent"]
    assert not [e for e in seen["sentiment"] if e.origin == "feedback"]
    assert {e.origin for e in seen["intent"]} >= {"taxonomy", "samples", "feedback"}
    assert [path.name for path in written] == [
        "sentiment.minilm.v1.json",
        "intent.minilm.v1.json",
        "MODEL_CARD.md",
    ]
    assert all(path.parent == tmp_path / "models" for path in written)
    assert any("(1 corrections)" in message for message in messages)


def test_train_models_rejects_an_unknown_tier(config_path: Path) -> None:
    with pytest.raises(InputError, match="unknown tier 'bert'"):
        train_all.train_models(load_config(config_path), tiers=("bert",))
