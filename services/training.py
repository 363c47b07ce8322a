"""Training the classifier heads from the team's data, the agents' corrections and a brand's
own labelled posts (``earshot train --labels``), and each brand's public-to-private practice."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from core.config import Config
from services.feedback import corrections
from services.labels import LabelFile


def train(
    config: Config,
    *,
    tiers: Sequence[str] = ("m2v", "minilm"),
    labels: Sequence[LabelFile] = (),
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Train every head of ``tiers`` into the models folder, and the practice; returns the
    files written."""
    from nlp.train_all import train_models
    from services import history

    labelled: dict[str, list[tuple[str, str]]] = {}
    for item in labels:
        for task, pairs in item.examples.items():
            labelled.setdefault(task, []).extend(pairs)
    practice, summary = history.train(
        config, extra=[example for item in labels for example in item.practice]
    )
    written = train_models(
        config,
        corrections=corrections(config),
        labelled=labelled,
        label_files=[item.describe() for item in labels],
        practice=summary,
        tiers=tiers,
        progress=progress,
    )
    if practice is not None:
        if progress:
            progress(
                f"learned the brands' public-to-private practice from {summary['examples']}"
                f" labelled posts of {summary['brands']} brands"
            )
        written.insert(0, practice)
    return written
