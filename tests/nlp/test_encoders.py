"""The MiniLM tier's encoder: the ONNX Runtime export against the PyTorch float32 model it was
exported from (the tuned weights), and heads refused when trained on another encoder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.config import load_config
from core.errors import ModelMissingError
from nlp.encoders import (
    ENCODER_IDS,
    ONNX_MODEL_DIR,
    TUNED_MODEL_DIR,
    MiniLMEncoder,
    encoder_for,
    onnx_export_current,
)
from nlp.registry import get_classifier
from nlp.training import Head, head_path
from tests.conftest import ROOT, make_post

MODELS = load_config(ROOT / "earshot.yaml").models_dir

TEXTS = [
    "My card was charged twice and nobody answers 😡",
    "Does the Halden Cam work without wifi?",
    "Thank you so much, the support team fixed it in minutes!",
    "Mi pedido no ha llegado y nadie responde",
    "lol",
    "",
    "🙂🙂",
    "Been on hold for an hour, this is a joke. " * 40,  # past 128 tokens: truncated
    "Order #88213 still says 'processing' after 9 days. DM me? email is in my bio",
]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return MiniLMEncoder(path=MODELS / TUNED_MODEL_DIR, int8=False).encode(TEXTS)


def test_onnx_encoder_follows_pytorch_float32_text_by_text(reference: np.ndarray) -> None:
    vectors = encoder_for("minilm", MODELS).encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    cosine = (vectors * reference).sum(1)
    assert cosine.mean() > 0.97 and cosine.min() > 0.93, cosine
    # each row is its own text's: closer to it than to any other text's reference
    similarity = vectors @ reference.T
    assert list(similarity.argmax(axis=1)) == list(range(len(TEXTS)))


def test_onnx_encoder_beats_pytorch_int8_on_fidelity(reference: np.ndarray) -> None:
    onnx = (encoder_for("minilm", MODELS).encode(TEXTS) * reference).sum(1)
    torch_int8 = MiniLMEncoder(path=MODELS / TUNED_MODEL_DIR, int8=True).encode(TEXTS)
    torch_int8 = (torch_int8 * reference).sum(1)
    assert onnx.mean() > torch_int8.mean()


def test_onnx_export_current_reads_the_export_record(tmp_path: Path) -> None:
    assert onnx_export_current(MODELS / ONNX_MODEL_DIR)
    info = json.loads((MODELS / ONNX_MODEL_DIR / "export.json").read_text(encoding="utf-8"))
    assert info["encoder"] == ENCODER_IDS["minilm"] and info["fused"]["Attention"] == 6
    assert onnx_export_current(MODELS / ONNX_MODEL_DIR, tuned=info["tuned"])
    assert not onnx_export_current(MODELS / ONNX_MODEL_DIR, tuned="another tuning")
    assert not onnx_export_current(tmp_path)
    (tmp_path / "export.json").write_text(json.dumps({**info, "encoder": "old"}), "utf-8")
    (tmp_path / "model.onnx").write_bytes(b"")
    assert not onnx_export_current(tmp_path)


def test_minilm_head_trained_on_another_encoder_is_refused(tmp_path: Path) -> None:
    head = Head.load(head_path(MODELS, "sentiment", "minilm"))
    assert head.meta["encoder"] == ENCODER_IDS["minilm"]
    head.meta = {key: value for key, value in head.meta.items() if key != "encoder"}
    head.save(head_path(tmp_path, "sentiment", "minilm"))
    classifier = get_classifier("sentiment.minilm.v1", models_dir=tmp_path)
    with pytest.raises(ModelMissingError, match=r"minilm-torch-int8.*earshot train"):
        classifier.predict([make_post("great service")], [{}])
