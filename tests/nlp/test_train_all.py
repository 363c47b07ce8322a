"""Training every head: the caller's corrections reach the training set of their task."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from core.config import load_config
from core.errors import InputError
from nlp import train_all
from nlp.encoders import TUNED_MODEL_DIR
from nlp.finetune import TuningData, tuning_digest
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
    steps: list[tuple[str, Path, str | None]] = []

    def fake_tune(target: Path, data: TuningData, **_: object) -> Path:
        steps.append(("tune", target, tuning_digest(data)))
        return target

    def fake_export(target: Path, *, source: Path, tuned: str) -> Path:
        steps.append(("export", source, tuned))
        return target

    monkeypatch.setattr(train_all, "tune_minilm", fake_tune)
    monkeypatch.setattr(train_all, "export_onnx", fake_export)
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
    assert any("(1 corrections, 0 of your labelled posts)" in message for message in messages)
    # the encoder is tuned on the team's data (not the corrections), then exported from that
    tuned = tmp_path / "models" / TUNED_MODEL_DIR
    assert [step[:2] for step in steps] == [("tune", tuned), ("export", tuned)]
    assert steps[0][2] == steps[1][2]


def test_train_models_rejects_an_unknown_tier(config_path: Path) -> None:
    with pytest.raises(InputError, match="unknown tier 'bert'"):
        train_all.train_models(load_config(config_path), tiers=("bert",))


def test_train_models_weighs_in_labelled_posts_and_the_card_records_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real fast-tier head: posts of the brand's own slang, labelled, move its decisions;
    the model card names the labels file."""
    monkeypatch.setenv("EARSHOT_MODELS", str(tmp_path / "models"))
    import shutil

    shutil.copytree(
        ROOT / "var" / "models" / "m2v-all-MiniLM-L6-v2",
        tmp_path / "models" / "m2v-all-MiniLM-L6-v2",
    )
    config = load_config(ROOT / "earshot.yaml")
    # "zorp" is this brand's word for a delay, "glim" its word for a fix (nobody else's).
    labelled = [
        (f"the {thing} is zorp again #{i}", "negative")
        for i, thing in enumerate(["tram", "bus", "train", "ferry", "line", "route"] * 4)
    ]
    labelled += [
        (f"the {thing} is glim now #{i}", "positive")
        for i, thing in enumerate(["tram", "bus", "train", "ferry", "line", "route"] * 4)
    ]
    probe = ["the metro is zorp", "the metro is glim"]

    def probabilities(with_labels: bool) -> list[float]:
        train_all.train_models(
            config,
            labelled={"sentiment": labelled} if with_labels else {},
            label_files=[
                {
                    "file": "ours.csv",
                    "sha256": "ab" * 32,
                    "rows": 48,
                    "labels": {"sentiment": {"negative": 24, "positive": 24}},
                    "brands": [],
                }
            ]
            if with_labels
            else [],
            tiers=("m2v",),
            tasks=("sentiment",),
        )
        head = Head.load(tmp_path / "models" / "sentiment.m2v.v1.json")
        from nlp.encoders import encoder_for

        probs = head.predict_proba(
            head.features(probe, encoder_for("m2v", config.models_dir).encode)
        )
        return [
            float(probs[0][head.classes.index("negative")]),
            float(probs[1][head.classes.index("positive")]),
        ]

    before = probabilities(False)
    after = probabilities(True)
    assert after[0] > 0.5 and after[1] > 0.5
    assert after[0] > before[0] + 0.2 and after[1] > before[1] + 0.2
    head = Head.load(tmp_path / "models" / "sentiment.m2v.v1.json")
    assert head.meta["by_origin"]["labels"] == 48
    card = (tmp_path / "models" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "| ours.csv | abababababab | 48 | sentiment: negative 24, positive 24 |" in card
