"""Contrastive fine-tuning of all-MiniLM-L6-v2 on the team's sentiment examples (SetFit's method).

A frozen sentence embedding places posts by topic and by shape: "my flight was cancelled" sits
next to "my flight was on time", and the sentiment head has to find feeling in directions the
encoder never learned for it. :func:`tune_minilm` trains the encoder on pairs of the team's
posts before the heads see it: in each batch of 32 sentiment examples (half of them from the
posts written one by one, half templates and samples), every pair of the same sentiment is
pulled to cosine 1 and every other pair to cosine 0. The intent head reads the same embedding,
so a second term keeps a batch of intent examples where the packaged model put them (their
cosine to its own embedding): without it, BANKING77 intent accuracy fell from 0.809 to 0.790.

Only the training side of the heads' stable split is used (:func:`nlp.training.held_out`), so
the heads' held-out scores stay honest, and only the team's own data: agents' corrections and
a brand's labels teach the heads, not the encoder. The result is written to
``<models>/minilm-tuned`` with ``tune.json``, which records a digest of the data and settings;
``earshot train`` tunes again only when that digest changes, then exports the tuned weights to
ONNX (:func:`nlp.encoders.export_onnx`)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.errors import InputError
from nlp.encoders import mean_pooled, minilm_path, quiet_transformers
from nlp.training import Example, held_out, training_set

TUNING = "setfit-sentiment-keep-intent.v1"
"""The tuning method's version: recorded in ``tune.json`` and in the ONNX export."""


@dataclass(frozen=True)
class Tuning:
    """The tuning's settings (chosen on the airline tweets and BANKING77; see the README)."""

    steps: int = 200
    batch_size: int = 32
    learning_rate: float = 2e-5
    written_share: float = 0.5
    """Share of each sentiment batch drawn from the posts written one by one."""
    keep_weight: float = 1.0
    """Weight of the term that keeps the intent examples' embeddings in place."""
    max_length: int = 64
    seed: int = 0


@dataclass(frozen=True)
class TuningData:
    sentiment: tuple[Example, ...]
    keep: tuple[str, ...]
    """Texts whose embeddings the tuning keeps close to the packaged model's (intent)."""


def tuning_data(*, intents_path: Path, samples_dir: Path | None) -> TuningData:
    """The team's sentiment examples and intent texts, training side of the stable split."""
    sentiment = [
        e
        for e in training_set("sentiment", intents_path=intents_path, samples_dir=samples_dir)
        if not held_out(e.text)
    ]
    keep = [
        e.text
        for e in training_set("intent", intents_path=intents_path, samples_dir=samples_dir)
        if not held_out(e.text)
    ]
    return TuningData(tuple(sentiment), tuple(keep))


def tuning_digest(data: TuningData, tuning: Tuning = Tuning()) -> str:
    """What a tuned model was made from: the method, its settings and the data."""
    digest = hashlib.sha256(json.dumps([TUNING, asdict(tuning)]).encode("utf-8"))
    for example in data.sentiment:
        digest.update(f"s\t{example.label}\t{example.origin}\t{example.text}\n".encode())
    for text in data.keep:
        digest.update(f"k\t{text}\n".encode())
    return digest.hexdigest()[:16]


def tuned_current(folder: Path, digest: str) -> bool:
    """Whether ``folder`` holds a model tuned from the data and settings of ``digest``."""
    try:
        info = json.loads((folder / "tune.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(info.get("digest") == digest and (folder / "model.safetensors").is_file())


def tune_minilm(
    target: Path,
    data: TuningData,
    *,
    tuning: Tuning = Tuning(),
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Tune the packaged all-MiniLM-L6-v2 on ``data`` and save it (weights, tokenizer and
    ``tune.json``) to ``target``. Deterministic for a given machine: seeded batches and torch."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel, AutoTokenizer

    quiet_transformers()
    written = [e for e in data.sentiment if e.origin.startswith("written")]
    rest = [e for e in data.sentiment if not e.origin.startswith("written")]
    size = tuning.batch_size
    from_written = round(size * tuning.written_share) if written else 0
    if len(written) < from_written or len(rest) < size - from_written or len(data.keep) < size:
        raise InputError(
            f"tuning needs at least {size} sentiment examples and intent texts"
            f" (got {len(data.sentiment)} and {len(data.keep)})"
        )
    labels = sorted({e.label for e in data.sentiment})
    rng = random.Random(tuning.seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(tuning.seed)
    try:
        source = minilm_path()
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
        model = AutoModel.from_pretrained(source, local_files_only=True)
        packaged = AutoModel.from_pretrained(source, local_files_only=True).eval()

        def embed(encoder: Any, texts: Sequence[str]) -> Any:
            batch = tokenizer(
                list(texts),
                padding=True,
                truncation=True,
                max_length=tuning.max_length,
                return_tensors="pt",
            )
            return mean_pooled(encoder(**batch).last_hidden_state, batch["attention_mask"])

        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=tuning.learning_rate)
        warmup = max(1, tuning.steps // 10)

        def rate(step: int) -> float:  # linear warm-up, then linear decay to zero
            if step < warmup:
                return (step + 1) / warmup
            return max(0.0, (tuning.steps - step) / max(1, tuning.steps - warmup))

        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
        pairs = torch.triu_indices(size, size, 1)
        started = time.monotonic()
        losses: list[float] = []
        for step in range(tuning.steps):
            batch = rng.sample(written, from_written) + rng.sample(rest, size - from_written)
            y = torch.tensor([labels.index(e.label) for e in batch])
            vectors = embed(model, [e.text for e in batch])
            cosines = (vectors @ vectors.T)[pairs[0], pairs[1]]
            same = (y[:, None] == y[None, :]).to(cosines.dtype)[pairs[0], pairs[1]]
            loss = torch.nn.functional.mse_loss(cosines, same)
            if tuning.keep_weight:
                keep = rng.sample(data.keep, size)
                with torch.no_grad():
                    anchor = embed(packaged, keep)
                drift = 1 - (embed(model, keep) * anchor).sum(1)
                loss = loss + tuning.keep_weight * drift.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            if progress is not None and ((step + 1) % 25 == 0 or step + 1 == tuning.steps):
                spent = time.monotonic() - started
                left = spent / (step + 1) * (tuning.steps - step - 1)
                recent = losses[-25:]
                progress(
                    f"  tuning step {step + 1}/{tuning.steps}, loss"
                    f" {sum(recent) / len(recent):.3f}, {left:.0f} s left"
                )
        target.mkdir(parents=True, exist_ok=True)
        model.eval()
        model.save_pretrained(target)
        tokenizer.save_pretrained(target)
    finally:
        torch.set_num_threads(threads)
    for item in source.iterdir():  # the packaged folder's other files (pooling config, ...)
        if item.is_file() and not (target / item.name).exists():
            shutil.copy2(item, target / item.name)
    info = {
        "method": TUNING,
        "digest": tuning_digest(data, tuning),
        "settings": asdict(tuning),
        "examples": {"sentiment": len(data.sentiment), "keep": len(data.keep)},
        "loss": {"first": round(losses[0], 4), "last": round(losses[-1], 4)},
        "seconds": round(time.monotonic() - started, 1),
        "torch": torch.__version__,
        "source": str(source),
    }
    (target / "tune.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return target
