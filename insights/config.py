"""The insights settings (``config/insights.yaml``), checked when loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.config import read_yaml, validation_message
from core.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AdvocateSettings(_Strict):
    window_days: int = Field(default=90, gt=0)
    half_life_days: float = Field(default=30, gt=0)
    min_positive_days: int = Field(default=2, ge=1)
    min_score: float = Field(default=1.0, ge=0)
    recommend_phrases: tuple[str, ...] = (
        "you should get",
        "best i've used",
        "switched to",
        "recommend",
    )


class DetractorSettings(_Strict):
    window_days: int = Field(default=90, gt=0)
    min_negative_posts: int = Field(default=2, ge=1)
    min_followers: int = Field(default=10_000, ge=0)
    tiers: tuple[str, ...] = ("vip", "partner", "influencer")


class SuperuserSettings(_Strict):
    window_days: int = Field(default=90, gt=0)
    min_answers: int = Field(default=2, ge=1)
    thanks_phrases: tuple[str, ...] = ("thanks", "thank you", "worked", "fixed", "solved")


class SpikeSettings(_Strict):
    baseline_days: int = Field(default=14, ge=2)
    min_count: int = Field(default=5, ge=1)
    min_ratio: float = Field(default=2.0, ge=1)
    p_value: float = Field(default=1e-4, gt=0, lt=1)
    phrase_p_value: float = Field(default=1e-6, gt=0, lt=1)
    phrase_min_posts: int = Field(default=4, ge=2)
    phrase_min_authors: int = Field(default=3, ge=1)
    scan_days: int = Field(default=30, ge=1)
    webhook: str | None = None

    @field_validator("webhook")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value


class InsightSettings(_Strict):
    staff_handles: tuple[str, ...] = ()
    """``network:handle`` of staff accounts (the brand tier's handles are added)."""
    advocates: AdvocateSettings = AdvocateSettings()
    detractors: DetractorSettings = DetractorSettings()
    superusers: SuperuserSettings = SuperuserSettings()
    spikes: SpikeSettings = SpikeSettings()


def load_insights(path: Path | None) -> InsightSettings:
    """The settings of ``path``, or the defaults when there is no file."""
    if path is None:
        return InsightSettings()
    data: Any = read_yaml(path)
    if data is None:
        return InsightSettings()
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping")
    try:
        return InsightSettings.model_validate(data)
    except ValidationError as e:
        raise ConfigError(validation_message(path, e, data)) from None
