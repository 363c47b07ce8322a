"""Spikes of a new issue: an intent, or a phrase, far above its usual volume in one hour.

**Intents.** Each hour's count of an intent is compared with the same hour of the day on the
previous ``baseline_days`` days (so the daily rhythm is the baseline's, not a false alarm),
and, when there are four weeks of history, the same hour on the same weekday (so a busy Monday
after a quiet weekend is expected too); the higher of the two means is the expected count.
The counts of those hours also give the spread: when they vary more than a Poisson count
would, a negative binomial with that variance is used. The tail probability of seeing the
hour's count or more must be below ``p_value``, the count at least ``min_count`` and at least
``min_ratio`` times the expected one. Low counts are thus handled by the distribution itself,
not by a z-score that assumes a normal one.

**Phrases.** Word sequences of one to three words (folded, stop words dropped) in the hour's
posts, counted once per post, against their rate over the baseline days (a phrase never seen
before has the rate of one sighting in the whole baseline): a Poisson tail below
``phrase_p_value`` (many phrases are tested each hour), in at least ``phrase_min_posts`` posts by
``phrase_min_authors`` different authors. A phrase inside a longer alerting phrase of nearly the
same count is left out ("hub" when "hub offline" says it).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from scipy import stats

from core.folding import fold
from core.insights import Activity, Alert
from insights.config import SpikeSettings

HOUR = timedelta(hours=1)
EXAMPLES = 3
_STOP_WORDS = """a about after again all also am an and any are as at be been but by can could
did do does for from get got had has have how i if in into is it its just me my no not now of on
or our out so some still than that the their them then there they this to too up us was we were
what when where which who why will with would you your im ive dont cant isnt wont"""
_STOP = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True)
class Detection:
    count: int
    expected: float
    p_value: float
    method: str


def hour_start(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return at.replace(minute=0, second=0, microsecond=0)


def check_hour(history: Sequence[float], count: int, settings: SpikeSettings) -> Detection | None:
    """Whether ``count`` in the hour right after ``history`` (hourly counts, oldest first,
    ending the hour before) is a spike. Needs at least one day of history."""
    if count < settings.min_count or len(history) < 24:
        return None
    days = min(settings.baseline_days, len(history) // 24)
    same_hour = np.array([history[-24 * d] for d in range(1, days + 1)], dtype=float)
    expected = float(same_hour.mean())
    weeks = min(4, len(history) // 168)
    if weeks:
        same_weekday = np.array([history[-168 * w] for w in range(1, weeks + 1)], dtype=float)
        expected = max(expected, float(same_weekday.mean()))
    expected = max(expected, 0.5)  # an hour that was always empty still has a small rate
    if count < settings.min_ratio * expected:
        return None
    variance = float(same_hour.var(ddof=1)) if len(same_hour) > 1 else expected
    if variance > expected * 1.05:
        # Negative binomial with the baseline's mean and variance (method of moments).
        r = expected * expected / (variance - expected)
        p_value = float(stats.nbinom.sf(count - 1, r, r / (r + expected)))
        method = "negative binomial"
    else:
        p_value = float(stats.poisson.sf(count - 1, expected))
        method = "poisson"
    if p_value >= settings.p_value:
        return None
    return Detection(count, round(expected, 2), p_value, method)


def phrases(text: str) -> set[str]:
    """The word sequences (1-3 words) of a post, each once."""
    words = [w for w in _words(text) if w not in _STOP and len(w) > 1]
    found: set[str] = set()
    for n in (1, 2, 3):
        for i in range(len(words) - n + 1):
            gram = words[i : i + n]
            if gram[0] in _STOP or gram[-1] in _STOP:
                continue
            found.add(" ".join(gram))
    return found


def _words(text: str) -> list[str]:
    folded = fold(text).lower()
    return [
        "".join(c for c in w if c.isalnum())
        for w in folded.split()
        if not w.startswith(("http", "@"))
    ]


def detect(
    activities: Iterable[Activity],
    *,
    windows: Sequence[datetime],
    settings: SpikeSettings,
    at: datetime,
    ignore_phrases: Iterable[str] = (),
) -> list[Alert]:
    """Alerts for each hour starting at ``windows`` (UTC hour starts), from activities that
    cover those hours and the ``baseline_days`` before them."""
    if not windows:
        return []
    first = min(windows) - timedelta(days=max(settings.baseline_days, 28))
    last = max(windows) + HOUR
    hours = int((last - first) / HOUR)
    intents: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(hours, dtype=np.int32))
    window_set = set(windows)
    baseline_phrases: Counter[str] = Counter()
    hour_phrases: dict[datetime, dict[str, list[Activity]]] = defaultdict(lambda: defaultdict(list))
    examples: dict[tuple[datetime, str], list[Activity]] = defaultdict(list)
    skip = {fold(p).lower() for p in ignore_phrases}
    for a in activities:
        if a.spam or not first <= a.created_at < last:
            continue
        slot = int((a.created_at - first) / HOUR)
        intents[a.intent][slot] += 1
        start = first + slot * HOUR
        grams = phrases(a.text) - skip
        if start in window_set:
            examples[(start, a.intent)].append(a)
            for gram in grams:
                hour_phrases[start][gram].append(a)
        if start >= min(windows) - timedelta(days=settings.baseline_days) and start < min(windows):
            baseline_phrases.update(grams)
    alerts: list[Alert] = []
    baseline_hours = settings.baseline_days * 24
    for start in sorted(windows):
        slot = int((start - first) / HOUR)
        for intent, series in sorted(intents.items()):
            found = check_hour(series[:slot].tolist(), int(series[slot]), settings)
            if found is not None:
                alerts.append(_alert("intent", intent, start, found, examples[(start, intent)], at))
        alerts.extend(
            _phrase_alerts(
                start, hour_phrases.get(start, {}), baseline_phrases, baseline_hours, settings, at
            )
        )
    return alerts


def _phrase_alerts(
    start: datetime,
    grams: dict[str, list[Activity]],
    baseline: Counter[str],
    baseline_hours: int,
    settings: SpikeSettings,
    at: datetime,
) -> list[Alert]:
    found: dict[str, tuple[Detection, list[Activity]]] = {}
    for gram, posts in grams.items():
        count = len(posts)
        if count < settings.phrase_min_posts:
            continue
        if len({p.handle.lower() for p in posts}) < settings.phrase_min_authors:
            continue
        rate = max(baseline[gram], 1) / baseline_hours
        if count < settings.min_ratio * rate:
            continue
        p_value = float(stats.poisson.sf(count - 1, rate))
        if p_value < settings.phrase_p_value:
            found[gram] = (Detection(count, round(rate, 3), p_value, "poisson"), posts)
    kept = []
    for gram, (detection, posts) in found.items():
        longer = [
            g
            for g in found
            if g != gram and f" {gram} " in f" {g} " and found[g][0].count >= 0.8 * detection.count
        ]
        if not longer:
            kept.append(_alert("phrase", gram, start, detection, posts, at))
    kept.sort(key=lambda alert: (-alert.count, alert.key))
    return kept


def _alert(
    kind: str,
    key: str,
    start: datetime,
    found: Detection,
    posts: Sequence[Activity],
    at: datetime,
) -> Alert:
    chosen = sorted(posts, key=lambda p: (-p.engagement, p.post_id))[:EXAMPLES]
    return Alert(
        kind=kind,
        key=key,
        window_start=start,
        window_end=start + HOUR,
        count=found.count,
        baseline=found.expected,
        p_value=found.p_value,
        method=found.method,
        examples=tuple(p.post_id for p in chosen),
        created_at=at,
    )
