"""Spike detection on generated series: quiet on a normal daily and weekly rhythm, an alert
within the hour for a step and for a burst, and new phrases."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from core.insights import Activity
from insights import check_hour, detect, phrases
from insights.config import SpikeSettings

SETTINGS = SpikeSettings()
START = datetime(2026, 10, 1, tzinfo=UTC)  # a Thursday


def rhythm(hour: int, level: float) -> float:
    """The expected count in one hour: a daily cycle (quiet at night, busiest in the early
    evening) and quieter weekends."""
    day, hour_of_day = divmod(hour, 24)
    weekday = (START + timedelta(days=day)).weekday()
    daily = 0.25 + 0.75 * max(0.0, math.sin(math.pi * (hour_of_day - 6) / 16))
    return level * daily * (0.6 if weekday >= 5 else 1.0)


def series(level: float, days: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.poisson([rhythm(h, level) for h in range(days * 24)])


def false_alerts(counts: np.ndarray, first_day: int = 14) -> int:
    return sum(
        check_hour(counts[:h].tolist(), int(counts[h]), SETTINGS) is not None
        for h in range(first_day * 24, len(counts))
    )


@pytest.mark.parametrize("level", [2.0, 8.0, 30.0])
def test_spikes_quiet_on_a_normal_rhythm(level: float) -> None:
    """30 days of an ordinary daily and weekly rhythm, five series per level: the false alerts
    over the 16 days checked (after two weeks of baseline) are counted and must stay rare."""
    alerts = [false_alerts(series(level, 30, seed)) for seed in range(5)]
    hours_checked = 5 * 16 * 24
    print(f"level {level}/h: {sum(alerts)} false alerts in {hours_checked} hours checked")
    assert sum(alerts) <= 1


@pytest.mark.parametrize("level", [2.0, 8.0, 30.0])
def test_spikes_step_alerts_within_the_hour(level: float) -> None:
    counts = series(level, 21, seed=7).astype(float)
    step_at = 20 * 24 + 9  # 09:00 on day 20
    expected = rhythm(step_at, level)
    counts[step_at] = max(SETTINGS.min_count, round(5 * expected + 4))  # the issue starts
    found = check_hour(counts[:step_at].tolist(), int(counts[step_at]), SETTINGS)
    assert found is not None and found.count == counts[step_at]
    assert found.expected >= expected * 0.5


def test_spikes_burst_of_a_rare_intent() -> None:
    counts = series(0.3, 21, seed=3)
    burst_at = 18 * 24 + 7
    found = check_hour(counts[:burst_at].tolist(), 9, SETTINGS)
    assert found is not None and found.p_value < SETTINGS.p_value


def test_spikes_low_counts_never_alert() -> None:
    history = [0.0] * (14 * 24)
    assert check_hour(history, SETTINGS.min_count - 1, SETTINGS) is None
    assert check_hour(history[:10], 50, SETTINGS) is None  # less than a day of history


def make(
    n: int, text: str, minutes: int, *, handle: str | None = None, intent: str = "other"
) -> Activity:
    return Activity(
        post_id=f"x:{n}",
        source="x",
        handle=handle or f"user{n}",
        followers=10,
        created_at=START + timedelta(minutes=minutes),
        text=text,
        sentiment="negative",
        sentiment_score=0.9,
        intent=intent,
        spam=False,
        engagement=n % 7,
    )


def test_spikes_detect_an_outage_as_intent_and_phrase() -> None:
    # Two weeks of ordinary chatter (two posts an hour), then eight outage posts in one hour.
    posts = [
        make(i, f"ordinary post number {i % 50} about the thermostat schedule", 30 * i)
        for i in range(14 * 48)
    ]
    outage_hour = START + timedelta(days=14, hours=7)
    base = len(posts)
    outage = [
        "my hub offline again, heating stuck on",
        "is there an outage? hub offline since 7",
        "can't turn anything on, app says hub offline",
        "hub offline and the doorbell is dead too",
        "woke up cold, hub offline, useless",
        "anyone else's hub offline this morning",
        "the app shows hub offline, router is fine",
        "hub offline for an hour now, please fix",
    ]
    posts += [
        make(base + i, text, 14 * 24 * 60 + 7 * 60 + 5 * i, intent="technical")
        for i, text in enumerate(outage)
    ]
    alerts = detect(
        posts, windows=[outage_hour], settings=SETTINGS, at=outage_hour + timedelta(hours=1)
    )
    kinds = {(a.kind, a.key) for a in alerts}
    assert ("intent", "technical") in kinds
    assert ("phrase", "hub offline") in kinds
    assert ("phrase", "hub") not in kinds and (
        "phrase",
        "offline",
    ) not in kinds  # said by the longer one
    technical = next(a for a in alerts if a.key == "technical")
    assert technical.count == 8 and len(technical.examples) == 3
    assert technical.window_start == outage_hour


def test_spikes_one_author_repeating_a_phrase_is_no_spike() -> None:
    posts = [make(i, "normal day", 60 * i) for i in range(14 * 24)]
    base = len(posts)
    posts += [
        make(base + i, f"refund scam refund scam {i}", 14 * 24 * 60 + i, handle="one")
        for i in range(6)
    ]
    at = START + timedelta(days=14)
    alerts = detect(posts, windows=[at], settings=SETTINGS, at=at + timedelta(hours=1))
    assert not [a for a in alerts if a.kind == "phrase"]


def test_spikes_phrases_drop_stop_words_and_mentions() -> None:
    assert phrases("@HaldenSupport is the hub offline?") == {"hub", "offline", "hub offline"}
