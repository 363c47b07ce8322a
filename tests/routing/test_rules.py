"""Routing rules: first match wins, explicit unmatched, priority and SLA from data."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.models import Enrichment, Label, PiiResult, PiiSpan, PrivateDecision
from routing import Router, RoutingConfigError, load_routing
from tests.conftest import ROOT, make_post

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
POSTED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)  # make_post's time: Monday, office hours


def enrichment(
    post_id: str = "x:1",
    *,
    intent: str = "other",
    sentiment: str = "neutral",
    sentiment_score: float = 0.9,
    private: bool = False,
    spam: bool = False,
    language: str = "en",
) -> Enrichment:
    return Enrichment(
        post_id=post_id,
        results={
            "sentiment": Label(sentiment, sentiment_score, "t"),
            "intent": Label(intent, 0.9, "t"),
            "private": PrivateDecision(
                private, 0.9 if private else 0.05, ("order number in post",) if private else (), "t"
            ),
            "pii": PiiResult((PiiSpan("order_number", 0, 5),) if private else (), "t"),
            "language": Label(language, 0.9, "t"),
            "spam": Label("spam" if spam else "ham", 0.9, "t"),
        },
        redacted_text="",
    )


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(load_routing(ROOT / "config" / "routing.yaml"))


def route_one(router: Router, post=None, **kwargs):
    post = post or make_post("some text")
    (decision,) = router.route([post], [enrichment(post.id, **kwargs)], now=NOW)
    return decision


def test_router_sends_refund_to_billing_privately(router: Router) -> None:
    decision = route_one(
        router,
        make_post("refund for order HLD-1234567 please"),
        intent="billing",
        sentiment="negative",
        private=True,
    )
    assert (decision.queue, decision.action, decision.rule) == (
        "billing",
        "move_private",
        "billing-private",
    )
    assert decision.sla_due == POSTED + timedelta(minutes=60)  # the clock starts at the post
    assert decision.detail["private_reasons"] == ["order number in post"]


def test_router_public_delivery_question_stays_public(router: Router) -> None:
    decision = route_one(router, intent="delivery", sentiment="negative")
    assert (decision.queue, decision.action) == ("logistics", "reply_public")


def test_router_unmatched_is_explicit(router: Router) -> None:
    # "other" in a language no rule covers: nobody claimed it, so a person must triage it.
    decision = route_one(router, intent="other", language="fr")
    assert (decision.queue, decision.rule, decision.action) == (
        "unmatched",
        "unmatched",
        "no_action",
    )
    assert decision.initial_status == "new"
    assert decision.sla_due == POSTED + timedelta(minutes=240)
    assert decision.priority > 0


def test_router_spam_is_closed_without_action(router: Router) -> None:
    decision = route_one(router, intent="billing", spam=True)
    assert (decision.queue, decision.action, decision.rule) == ("none", "no_action", "spam")
    assert (decision.priority, decision.sla_due, decision.initial_status) == (0, None, "no_action")


def test_router_brand_accounts_are_not_routed(router: Router) -> None:
    decision = route_one(
        router, make_post("we've sent you a DM", handle="HaldenSupport"), intent="account"
    )
    assert decision.rule == "own-brand-posts"


def test_router_legal_threat_escalates(router: Router) -> None:
    decision = route_one(
        router,
        make_post("this is fraud, my lawyer will hear about it"),
        intent="billing",
        sentiment="negative",
    )
    assert (decision.queue, decision.action, decision.rule) == (
        "care",
        "escalate",
        "legal-or-fraud-threat",
    )


def test_router_loud_detractor_escalates_before_intent_rules(router: Router) -> None:
    post = make_post("terrible product", handle="grump", followers=180_000)
    decision = route_one(router, post, intent="complaint", sentiment="negative")
    assert (decision.queue, decision.action) == ("care", "escalate")


def test_router_priority_grows_with_reach_and_negativity(router: Router) -> None:
    small = route_one(router, make_post("x", followers=10), intent="technical", sentiment="neutral")
    big = route_one(
        router, make_post("x", followers=20_000), intent="technical", sentiment="neutral"
    )
    angry = route_one(
        router, make_post("x", followers=10), intent="technical", sentiment="negative"
    )
    assert small.priority < big.priority
    assert small.priority < angry.priority
    assert all(0 <= d.priority <= 100 for d in (small, big, angry))


def test_router_vip_tier_halves_sla_and_raises_priority(router: Router) -> None:
    normal = route_one(router, make_post("x", handle="someone"), intent="technical")
    vip = route_one(router, make_post("x", handle="priya_builds"), intent="technical")
    assert vip.sla_due == POSTED + timedelta(minutes=30)
    assert normal.sla_due == POSTED + timedelta(minutes=60)
    assert vip.priority == normal.priority + 15
    assert (vip.tier, normal.tier) == ("vip", "standard")


def test_router_keeps_input_order(router: Router) -> None:
    posts = [make_post("p", post_id=f"x:{i}") for i in range(5)]
    decisions = router.route(posts, [enrichment(p.id, intent="praise") for p in posts], now=NOW)
    assert [d.post_id for d in decisions] == [p.id for p in posts]
    assert {d.queue for d in decisions} == {"marketing"}


def test_router_rejects_mismatched_enrichment(router: Router) -> None:
    with pytest.raises(ValueError, match="x:2 paired with post x:1"):
        router.route([make_post("a", post_id="x:1")], [enrichment("x:2")], now=NOW)


def write_rules(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "routing.yaml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            "rules:\n  - {name: r1, queue: nowhere, action: thank}",
            "rule 'r1': queue 'nowhere' is not declared",
        ),
        (
            "queues: {care: {}}\nrules:\n  - {name: r1, queue: care, action: shout}",
            "rule 'r1': action 'shout'",
        ),
        (
            "queues: {care: {}}\nrules:\n  - {name: r1, queue: care, action: thank, when: {intent: refunds}}",
            "intent: unknown ['refunds']",
        ),
        (
            "queues: {care: {}}\nrules:\n  - {name: r1, queue: care, action: thank, when: {mood: sad}}",
            "unknown conditions ['mood']",
        ),
        (
            "queues: {care: {}}\nrules:\n  - {name: r1, queue: care, action: thank, priority: 300}",
            "priority must be an integer from 0 to 100",
        ),
        (
            "queues: {care: {sla_minutes: -5}}\nrules: []",
            "care.sla_minutes must be a positive integer",
        ),
        (
            "queues: {care: {}}\nrules:\n  - {name: a, queue: care, action: thank}\n  - {name: a, queue: care, action: thank}",
            "duplicate",
        ),
        ("- just a list", "expected a mapping"),
    ],
)
def test_routing_config_errors_name_the_rule(tmp_path: Path, rules: str, message: str) -> None:
    with pytest.raises(
        RoutingConfigError,
        match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\("),
    ):
        load_routing(write_rules(tmp_path, rules))


def test_routing_without_rules_routes_everything_to_unmatched(tmp_path: Path) -> None:
    router = Router(load_routing(write_rules(tmp_path, "queues: {}\nrules: []\n")))
    decision = route_one(router, intent="billing")
    assert decision.queue == "unmatched" and decision.sla_due is None


@pytest.mark.parametrize("text", ["", "   ", "?!… ...", "\n\t"])
def test_router_empty_post_is_never_routed_to_a_person(router: Router, text: str) -> None:
    # Classified negative and "complaint", an empty post used to land in care (reply_public).
    decision = route_one(router, make_post(text), intent="complaint", sentiment="negative")
    assert (decision.queue, decision.action, decision.rule) == ("none", "no_action", "empty_post")
    assert (decision.priority, decision.sla_due, decision.initial_status) == (0, None, "no_action")


def test_router_empty_post_rule_name_is_reserved(tmp_path: Path) -> None:
    rules = tmp_path / "routing.yaml"
    rules.write_text(
        "queues: {care: {sla_minutes: 60}}\n"
        "rules:\n  - {name: empty_post, when: {}, queue: care, action: reply_public}\n",
        encoding="utf-8",
    )
    with pytest.raises(RoutingConfigError, match="duplicate or reserved rule name"):
        load_routing(rules)


def test_router_priority_keeps_its_reasons(router: Router) -> None:
    post = make_post(
        "the hub is down", followers=9_999, metrics={"like_count": 99, "retweet_count": 0}
    )
    decision = route_one(router, post, intent="technical", sentiment="negative")
    reasons = decision.reasons
    assert reasons["rule"] == 55  # outage-or-bug
    assert reasons["negative"] == 13.5  # 15 x 0.9
    assert reasons["followers"] == 12.0  # 3 x log10(10,000)
    assert reasons["engagement"] == 4.0  # 2 x log10(100)
    assert reasons["waiting"] == 15.0  # posted a day before NOW, SLA 60 minutes: all used
    assert decision.priority == min(100, round(sum(reasons.values())))


def test_router_velocity_rewards_fast_engagement(router: Router) -> None:
    post = make_post("x", metrics={"like_count": 999})
    fast = router.route(
        [post], [enrichment(post.id, intent="technical")], now=POSTED + timedelta(minutes=15)
    )[0]
    slow = router.route(
        [post], [enrichment(post.id, intent="technical")], now=POSTED + timedelta(days=2)
    )[0]
    assert fast.reasons["velocity"] > slow.reasons["velocity"]


def test_router_profile_tier_wins_over_routing_tiers(router: Router) -> None:
    post = make_post("refund please", handle="not_listed")
    (vip,) = router.route(
        [post],
        [enrichment(post.id, intent="billing", private=True)],
        now=NOW,
        tiers={post.id: "vip"},
    )
    assert (vip.tier, vip.sla_due) == ("vip", POSTED + timedelta(minutes=20))  # billing vip: 20
    priya = make_post("refund please", handle="priya_builds")
    (standard,) = router.route(
        [priya],
        [enrichment(priya.id, intent="billing", private=True)],
        now=NOW,
        tiers={priya.id: "standard"},
    )
    assert (standard.tier, standard.sla_due) == ("standard", POSTED + timedelta(minutes=60))


def test_router_due_time_counts_business_hours(router: Router) -> None:
    from dataclasses import replace

    friday_evening = replace(
        make_post("refund"), created_at=datetime(2026, 11, 6, 19, 30, tzinfo=UTC)
    )
    (decision,) = router.route(
        [friday_evening], [enrichment(friday_evening.id, intent="billing", private=True)], now=NOW
    )
    # uk_office: Friday until 20:00 (30 minutes), Saturday from 09:00 (30 more)
    assert decision.sla_due == datetime(2026, 11, 7, 9, 30, tzinfo=UTC)


def test_router_how_to_question_suggests_a_help_article(router: Router) -> None:
    post = make_post("How do I factory reset my Halden hub? It won't pair with the app")
    decision = route_one(router, post, intent="question")
    assert decision.action == "self_service"
    article = decision.detail["article"]
    assert article["url"].startswith("https://") and 0.15 <= article["score"] <= 1


def test_router_question_with_no_matching_article_is_answered_in_person(router: Router) -> None:
    post = make_post("What is the meaning of life, the universe and everything?")
    decision = route_one(router, post, intent="question")
    assert (decision.action, decision.detail["article"]) == ("reply_public", None)
    assert "no help article scored" in decision.detail["note"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("queues: {care: {hours: office}}\nrules: []", "calendar 'office' is not declared"),
        ("queues: {care: {sla_minutes: {gold: 5}}}\nrules: []", "unknown tier 'gold'"),
        ("queues: {care: {sla_minutes: {standard: 0}}}\nrules: []", "sla_minutes.standard must be"),
        ("queues: {care: {webhook: 'ftp://x'}}\nrules: []", "webhook must be an http(s) URL"),
        ("queues: {care: {sla: 5}}\nrules: []", "unknown keys ['sla']"),
        ("queue: {}\nrules: []", "unknown keys ['queue']"),
        ("cases: {reopen_after_minutes: -1}\nrules: []", "reopen_after_minutes must be a number"),
        ("cases: {article_min_score: 2}\nrules: []", "article_min_score must be from 0 to 1"),
        ("calendars: {office: {timezone: Mars/Base}}\nrules: []", "calendars.office"),
    ],
)
def test_routing_care_config_errors(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(RoutingConfigError, match=re.escape(message)):
        load_routing(write_rules(tmp_path, body))
