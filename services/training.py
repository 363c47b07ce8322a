"""Training the classifier heads from the team's data plus the agents' corrections."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from core.config import Config
from services.feedback import corrections


def train(
    config: Config,
    *,
    tiers: Sequence[str] = ("m2v", "minilm"),
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Train every head of ``tiers`` into the models folder; returns the files written."""
    from nlp.train_all import train_models
    from services import history

    written = train_models(config, corrections=corrections(config), tiers=tiers, progress=progress)
    practice, examples = history.train(config)
    if practice is not None:
        if progress:
            progress(f"learned the brands' public-to-private practice from {examples} replies")
        written.append(practice)
    return written
