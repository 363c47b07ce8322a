"""Tuning all-MiniLM-L6-v2 on the team's sentiment examples: posts of one sentiment move
together, the kept texts stay where the packaged model put them, and the record tells when to
tune again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from nlp.encoders import MiniLMEncoder
from nlp.finetune import Tuning, TuningData, tune_minilm, tuned_current, tuning_data, tuning_digest
from nlp.training import Example, held_out
from tests.conftest import ROOT

NEGATIVE = [
    "my parcel never arrived and nobody answers",
    "charged twice again, this is a joke",
    "worst support I have ever dealt with",
    "the app crashes every single time I open it",
    "three weeks and still no refund. done with you",
    "rude staff, cold food, never coming back",
    "on hold for an hour then they hung up",
    "the new update broke everything, thanks a lot",
]
POSITIVE = [
    "the delivery came a day early, thank you!",
    "support sorted my account in two minutes, legends",
    "love the new menu, best lunch this week",
    "the crew on my flight were so kind to my kids",
    "finally an app update that makes things faster",
    "refund arrived already, brilliant service",
    "the staff at the store went out of their way for me",
    "best headphones I have owned, worth every penny",
]
KEEP = [
    "how do I reset my password?",
    "where is my order? it says shipped a week ago",
    "I want to cancel my subscription",
    "can I change the card I pay with?",
    "is the blue one back in stock soon?",
    "we would love to partner with you on a campaign",
    "please add a dark mode to the app",
    "my login code never arrives",
]
SMALL = Tuning(steps=12, batch_size=8, learning_rate=1e-4, max_length=32)


def _data() -> TuningData:
    examples = [
        Example(text, label, origin)
        for label, texts in (("negative", NEGATIVE), ("positive", POSITIVE))
        for i, text in enumerate(texts)
        for origin in ["written:plain" if i % 2 else "template:retail"]
    ]
    return TuningData(tuple(examples), tuple(KEEP))


def _separation(vectors: np.ndarray, labels: list[str]) -> float:
    """Mean cosine of same-sentiment pairs minus that of mixed pairs."""
    cosines = vectors @ vectors.T
    same = np.equal.outer(labels, labels)
    off = ~np.eye(len(labels), dtype=bool)
    return float(cosines[same & off].mean() - cosines[~same].mean())


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("tuned")
    messages: list[str] = []
    tune_minilm(target, _data(), tuning=SMALL, progress=messages.append)
    assert messages[-1].startswith("  tuning step 12/12, loss")
    return target


def test_tune_minilm_pulls_posts_of_one_sentiment_together(tuned: Path) -> None:
    texts = NEGATIVE + POSITIVE
    labels = ["negative"] * len(NEGATIVE) + ["positive"] * len(POSITIVE)
    before = _separation(MiniLMEncoder(int8=False).encode(texts), labels)
    after = _separation(MiniLMEncoder(path=tuned, int8=False).encode(texts), labels)
    assert after > before + 0.1, (before, after)


def test_tune_minilm_keeps_the_kept_texts_near_the_packaged_model(tuned: Path) -> None:
    packaged = MiniLMEncoder(int8=False).encode(KEEP)
    now = MiniLMEncoder(path=tuned, int8=False).encode(KEEP)
    cosine = (packaged * now).sum(1)
    assert cosine.min() > 0.8, cosine
    # and each kept text is still nearest its own packaged embedding
    assert list((now @ packaged.T).argmax(axis=1)) == list(range(len(KEEP)))


def test_tune_minilm_records_what_it_was_tuned_from(tuned: Path) -> None:
    info = json.loads((tuned / "tune.json").read_text(encoding="utf-8"))
    assert info["digest"] == tuning_digest(_data(), SMALL)
    assert info["examples"] == {"sentiment": 16, "keep": 8}
    assert info["settings"]["steps"] == 12
    assert tuned_current(tuned, tuning_digest(_data(), SMALL))
    assert (tuned / "tokenizer.json").is_file() and (tuned / "config.json").is_file()


def test_tuned_current_is_false_when_the_data_or_settings_change(tmp_path: Path) -> None:
    digest = tuning_digest(_data(), SMALL)
    assert not tuned_current(tmp_path, digest)  # nothing there
    (tmp_path / "model.safetensors").write_bytes(b"")
    (tmp_path / "tune.json").write_text(json.dumps({"digest": digest}), encoding="utf-8")
    assert tuned_current(tmp_path, digest)
    more = TuningData((*_data().sentiment, Example("meh", "neutral", "written:plain")), tuple(KEEP))
    assert tuning_digest(more, SMALL) != digest
    assert tuning_digest(_data(), Tuning(steps=13, batch_size=8)) != digest
    relabelled = TuningData(
        tuple(Example(e.text, "neutral", e.origin) for e in _data().sentiment), tuple(KEEP)
    )
    assert tuning_digest(relabelled, SMALL) != digest


def test_tune_minilm_refuses_data_smaller_than_a_batch(tmp_path: Path) -> None:
    data = TuningData(_data().sentiment[:4], tuple(KEEP))
    with pytest.raises(InputError, match="at least 8 sentiment examples"):
        tune_minilm(tmp_path, data, tuning=SMALL)
    assert not (tmp_path / "tune.json").exists()


def test_tuning_data_is_the_team_data_on_the_training_side_of_the_split() -> None:
    data = tuning_data(intents_path=ROOT / "config" / "intents.yaml", samples_dir=ROOT / "samples")
    origins = {e.origin.split(":")[0] for e in data.sentiment}
    assert origins == {"template", "written", "samples"}
    assert not [e for e in data.sentiment if held_out(e.text)]
    assert not [text for text in data.keep if held_out(text)]
    assert len(data.keep) > 1000 and len(data.sentiment) > 3000
