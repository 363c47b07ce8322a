"""Advocate and detractor scores: what makes one, what never does, and the explanation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.insights import Activity, AuthorScore
from insights import InsightSettings, score_authors

AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SETTINGS = InsightSettings()
_n = iter(range(1_000_000))


def act(
    handle: str,
    days: float,
    text: str | None = None,
    *,
    sentiment: str = "positive",
    followers: int = 500,
    engagement: int = 3,
    spam: bool = False,
    source: str = "x",
) -> Activity:
    n = next(_n)
    return Activity(
        post_id=f"{source}:{n}",
        source=source,
        handle=handle,
        followers=followers,
        created_at=AT - timedelta(days=days),
        text=text or f"Love my Halden hub, works great (post {n})",
        sentiment=sentiment,
        sentiment_score=0.9,
        intent="praise" if sentiment == "positive" else "complaint",
        spam=spam,
        engagement=engagement,
    )


def by_handle(a: Activity) -> tuple[str, str | None, str | None]:
    return f"{a.source}:{a.handle}", None, None


def scores(
    activities: list[Activity], *, excluded=lambda a: False, identity=by_handle
) -> dict[tuple[str, str], AuthorScore]:
    found = score_authors(
        activities, at=AT, settings=SETTINGS, identity=identity, excluded=excluded
    )
    return {(s.kind, s.key): s for s in found}


def steady(handle: str, *, weeks: int = 6, **kwargs) -> list[Activity]:
    return [
        act(handle, 7 * w + 1, f"Week {w}: still loving my Halden kit", **kwargs)
        for w in range(weeks)
    ]


def test_authors_steady_fan_is_an_advocate_with_components_and_evidence() -> None:
    posts = steady("ana")
    found = scores(posts)[("advocate", "x:ana")]
    c = found.components
    assert c["consistency"] == 1.0  # six different weeks
    assert 0 < c["positive_days"] <= 6  # each day at most 1, decayed
    assert c["recommending"] == 0 and c["negative"] == 0
    expected = c["consistency"] * (c["positive_days"] + 0.5 * c["reach"] + 0.5 * c["engagement"])
    assert abs(found.score - expected) < 0.01
    assert set(found.evidence) <= {p.post_id for p in posts} and len(found.evidence) == 5


def test_authors_one_gushing_day_is_not_passion() -> None:
    gush = [act("gary", 3, f"Halden is amazing #{i}") for i in range(8)]
    assert ("advocate", "x:gary") not in scores(gush)


def test_authors_single_viral_post_does_not_make_an_advocate() -> None:
    viral = [
        act("vic", 5, "Best doorbell clip ever, love Halden", followers=95_000, engagement=25_000)
    ]
    assert ("advocate", "x:vic") not in scores(viral)


def test_authors_recommending_and_consistency_rank_higher() -> None:
    posts = steady("ana", weeks=6)
    posts += [
        act("ben", 7 * w + 2, f"You should get the Halden hub, I recommend it ({w})")
        for w in range(6)
    ]
    # two days in one week, a big audience: listed, but last
    posts += [act("cat", d, f"Halden is nice, day {d}", followers=50_000) for d in (2, 3)]
    found = scores(posts)
    ranked = sorted((s for s in found.values() if s.kind == "advocate"), key=lambda s: -s.score)
    assert [s.key for s in ranked] == ["x:ben", "x:ana", "x:cat"]
    assert found[("advocate", "x:ben")].components["recommending"] > 0
    assert found[("advocate", "x:cat")].components["consistency"] == 0.25


def test_authors_recency_decay_prefers_recent_passion() -> None:
    recent = [act("new", 7 * w + 1) for w in range(4)]
    old = [act("old", 50 + 7 * w) for w in range(4)]
    found = scores(recent + old)
    assert found[("advocate", "x:new")].score > found[("advocate", "x:old")].score
    stale = [act("gone", 100 + 7 * w) for w in range(4)]  # outside the 90-day window
    assert ("advocate", "x:gone") not in scores(stale)


def test_authors_staff_spam_and_copies_never_count() -> None:
    staff = steady("halden_sam")
    spammer = [act("deals", 7 * w + 1, "WIN a FREE hub!!! bit.ly/x", spam=True) for w in range(6)]
    copier = [act("copy", 7 * w + 1, "LOVE my Halden, code QUEEN50!!") for w in range(6)]
    found = scores(staff + spammer + copier, excluded=lambda a: a.handle == "halden_sam")
    assert ("advocate", "x:halden_sam") not in found
    assert ("advocate", "x:deals") not in found
    assert ("advocate", "x:copy") not in found  # the same words six times: one day of praise


def test_authors_negative_posts_pull_the_score_down() -> None:
    happy = steady("ana")
    mixed = steady("mix") + [
        act("mix", d, "Halden broke again", sentiment="negative") for d in (2, 9, 16)
    ]
    found = scores(happy + mixed)
    assert found[("advocate", "x:mix")].components["negative"] > 0
    assert found[("advocate", "x:mix")].score < found[("advocate", "x:ana")].score


def test_authors_linked_handles_count_as_one_customer() -> None:
    posts = [act("dani", 7 * w + 1) for w in range(2)]
    posts += [act("dani_r", 7 * w + 15, source="reddit", followers=0) for w in range(2)]

    def linked(a: Activity) -> tuple[str, str | None, str | None]:
        return "crm:C-1", "crm:C-1", None

    found = scores(posts, identity=linked)
    advocate = found[("advocate", "crm:C-1")]
    assert advocate.handles == (("reddit", "dani_r"), ("x", "dani"))
    assert advocate.components["consistency"] == 1.0  # four weeks across the two networks


def test_authors_detractor_needs_repeat_and_reach_or_tier() -> None:
    loud = [
        act("grump", d, "Halden is useless", sentiment="negative", followers=180_000)
        for d in (3, 10, 20)
    ]
    quiet = [
        act("andy", d, "Halden is useless", sentiment="negative", followers=90) for d in (3, 10)
    ]
    once = [act("once", 3, "Halden is useless", sentiment="negative", followers=500_000)]
    vip = [act("vip", d, "Halden is useless", sentiment="negative", followers=90) for d in (3, 10)]

    def tiers(a: Activity) -> tuple[str, str | None, str | None]:
        return f"x:{a.handle}", None, "vip" if a.handle == "vip" else None

    found = scores(loud + quiet + once + vip, identity=tiers)
    assert ("detractor", "x:grump") in found
    assert found[("detractor", "x:grump")].components["reach"] > 5
    assert ("detractor", "x:andy") not in found  # small audience, no tier
    assert ("detractor", "x:once") not in found  # not repeat
    assert found[("detractor", "x:vip")].components["tier"] == 1.0
