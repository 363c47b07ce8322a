"""Marketing insights over the store: the daily scoring (advocates, super-users, detractors),
the hourly spike check, and what marketing reads back.

Both read the stored posts as a stream (:meth:`storage.base.PostRepository.activities`) and
write their results to the store (``author_scores``, ``alerts``) where the CLI and the console
read them. One person on several networks counts once when their handles are linked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import httpx

from core.care import handle_key
from core.config import Config
from core.errors import InvalidValueError
from core.insights import SCORE_KINDS, Activity, Alert, AuthorScore
from core.timeutil import from_iso, now, to_iso, utc
from insights import InsightSettings, detect, hour_start, load_insights
from insights.authors import Identity, score_authors
from insights.superusers import score_superusers
from services.runtime import open_store, router
from storage import Store

log = logging.getLogger(__name__)

SPIKE_CURSOR = "insights:spikes"
"""Where the spike check records the last hour it checked (in the cursors table)."""
Progress = Callable[[str], None]


def settings(config: Config) -> InsightSettings:
    return load_insights(config.insights_path)


def identities(config: Config, store: Store) -> tuple[Identity, Callable[[Activity], bool]]:
    """Who an activity's author is (their profile when linked, with its tier, else the
    handle and routing.yaml's tier for it), and whether they are the brand or staff."""
    linked = store.profiles.handle_map()
    routing = router(config).config
    tier_of_handle = {
        f"{network}:{handle}": tier.name
        for tier in routing.tiers
        for handle in tier.handles
        for network in ("x", "reddit")
    }
    excluded = {f"{network}:{h}" for h in routing.brand_handles for network in ("x", "reddit")} | {
        handle_key(*h.split(":", 1)) for h in settings(config).staff_handles if ":" in h
    }

    def identity(a: Activity) -> tuple[str, str | None, str | None]:
        key = handle_key(a.source, a.handle)
        profile = linked.get(key)
        if profile is not None:
            return profile[0], profile[0], profile[1] or tier_of_handle.get(key)
        return key, None, tier_of_handle.get(key)

    def is_excluded(a: Activity) -> bool:
        return handle_key(a.source, a.handle) in excluded

    return identity, is_excluded


def compute_scores(
    activities: Callable[[], Iterable[Activity]],
    *,
    at: datetime,
    settings: InsightSettings,
    identity: Identity,
    excluded: Callable[[Activity], bool],
) -> dict[str, list[AuthorScore]]:
    """Every kind's list, best first (``activities`` is called once per pass)."""
    by_kind: dict[str, list[AuthorScore]] = {kind: [] for kind in SCORE_KINDS}
    for score in score_authors(
        activities(), at=at, settings=settings, identity=identity, excluded=excluded
    ):
        by_kind[score.kind].append(score)
    by_kind["superuser"] = score_superusers(
        activities(), at=at, settings=settings, identity=identity, excluded=excluded
    )
    return by_kind


def score(
    config: Config, *, at: datetime | None = None, progress: Progress | None = None
) -> dict[str, int]:
    """The daily scoring: recompute every list over the window and replace the stored ones.
    Returns how many authors each list holds."""
    at = utc(at) if at else now()
    store = open_store(config)
    sets = settings(config)
    identity, excluded = identities(config, store)
    days = max(sets.advocates.window_days, sets.detractors.window_days, sets.superusers.window_days)
    since = at - timedelta(days=days)

    def stream() -> Iterable[Activity]:
        for n, activity in enumerate(store.posts.activities(since=since, until=at), start=1):
            if progress and n % 100_000 == 0:
                progress(f"insights: read {n} posts")
            yield activity

    by_kind = compute_scores(stream, at=at, settings=sets, identity=identity, excluded=excluded)
    with store.transaction() as tx:
        for kind, scores in by_kind.items():
            tx.insights.replace_scores(kind, scores)
    counts = {kind: len(scores) for kind, scores in by_kind.items()}
    log.info("insights at %s: %s", to_iso(at), counts)
    return counts


def check_spikes(
    config: Config, *, at: datetime | None = None, client: httpx.Client | None = None
) -> list[Alert]:
    """Check every complete hour since the last check (at first, the last ``scan_days``)
    for spikes; store the alerts and send the new ones to the webhook. Returns the new ones."""
    at = utc(at) if at else now()
    store = open_store(config)
    sets = settings(config).spikes
    end = hour_start(at)
    cursor = store.cursors.get(SPIKE_CURSOR) or {}
    checked = from_iso(cursor.get("checked_until"))
    start = max(
        checked or end - timedelta(days=sets.scan_days), end - timedelta(days=sets.scan_days)
    )
    windows = []
    hour = start
    while hour < end:
        windows.append(hour)
        hour += timedelta(hours=1)
    new: list[Alert] = []
    if windows:
        baseline_start = windows[0] - timedelta(days=max(sets.baseline_days, 28))
        found = detect(
            store.posts.activities(since=baseline_start, until=end),
            windows=windows,
            settings=sets,
            at=at,
            ignore_phrases=_brand_words(config),
        )
        with store.transaction() as tx:
            new = tx.insights.add_alerts(found)
            tx.cursors.set(SPIKE_CURSOR, {"checked_until": to_iso(end)})
        for alert in new:
            log.warning(
                "spike: %s %r: %d posts in the hour from %s (expected %.1f, p=%.1e)",
                alert.kind,
                alert.key,
                alert.count,
                to_iso(alert.window_start),
                alert.baseline,
                alert.p_value,
            )
    _notify(store, sets.webhook, at, client)
    return new


def _brand_words(config: Config) -> set[str]:
    """The brand's own names: every post has them, no spike is about them."""
    words = {"halden"}
    for handle in router(config).config.brand_handles:
        words.add(handle.lower())
    return words


def _notify(store: Store, webhook: str | None, at: datetime, client: httpx.Client | None) -> None:
    if webhook is None:
        return
    pending = store.insights.alerts(unnotified=True, limit=50)
    sent = []
    for alert in reversed(pending):  # oldest first
        body = {
            "text": (
                f":chart_with_upwards_trend: Spike: {alert.kind} *{alert.key}*: {alert.count}"
                f" posts in the hour from {to_iso(alert.window_start)} (usually"
                f" {alert.baseline:g})"
            ),
            "earshot": {
                "alert_id": alert.id,
                "kind": alert.kind,
                "key": alert.key,
                "count": alert.count,
                "baseline": alert.baseline,
                "examples": list(alert.examples),
            },
        }
        try:
            if client is not None:
                client.post(webhook, json=body, timeout=10).raise_for_status()
            else:
                with httpx.Client(timeout=10) as own:
                    own.post(webhook, json=body).raise_for_status()
        except httpx.HTTPError as e:
            log.warning("spike webhook failed (retried at the next check): %s", e)
            break
        sent.append(alert.id)
    if sent:
        store.insights.mark_notified(sent, at)


def run(
    config: Config, *, at: datetime | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """``earshot insights run``: the scoring, then the spike check."""
    counts = score(config, at=at, progress=progress)
    alerts = check_spikes(config, at=at)
    return {"scores": counts, "new_alerts": len(alerts)}


def newest_post_at(config: Config) -> datetime | None:
    """When the newest stored post was posted: the clock of a replay of past posts."""
    return open_store(config).posts.newest_at()


# -- reading ------------------------------------------------------------------------------------


def top(
    config: Config,
    *,
    kind: str = "advocate",
    limit: int = 20,
    since: datetime | None = None,
    network: str | None = None,
) -> list[AuthorScore]:
    """The stored list of one kind (the last daily run's), or, with ``since``, one computed
    now from the posts since then. ``network`` keeps authors with a handle there."""
    if kind not in SCORE_KINDS:
        raise InvalidValueError(f"unknown kind {kind!r}; expected one of {SCORE_KINDS}")
    store = open_store(config)
    if since is None:
        scores = store.insights.scores(kind)
    else:
        at = now()
        identity, excluded = identities(config, store)
        sets = settings(config)
        by_kind = compute_scores(
            lambda: store.posts.activities(since=since, until=at),
            at=at,
            settings=sets,
            identity=identity,
            excluded=excluded,
        )
        scores = by_kind[kind]
    if network is not None:
        scores = [s for s in scores if any(n == network for n, _ in s.handles)]
    return scores[:limit]


def evidence_links(config: Config, scores: Iterable[AuthorScore]) -> dict[str, str]:
    """The link of each evidence post."""
    ids = sorted({p for s in scores for p in s.evidence})
    return {r.post.id: r.post.url for r in open_store(config).posts.records(ids)}


def alerts(config: Config, *, since: datetime | None = None, limit: int = 100) -> list[Alert]:
    return open_store(config).insights.alerts(since=since, limit=limit)
