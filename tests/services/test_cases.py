"""Cases: grouping by conversation and customer, the brand's replies, reopening, the life
cycle with every allowed and forbidden move, and concurrent claims, on both databases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.care import ACTIONS_BY_NAME, AGENT_ACTIONS, CASE_STATUSES, Case
from core.config import Config, load_config
from core.errors import ConflictError, InvalidValueError, NotFoundError, TransitionError
from core.models import Author, Post
from routing import load_routing
from services import cases
from services.runtime import open_store, router
from storage import Store
from tests.conftest import ROOT, make_enrichment, write_config

T0 = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)  # a Tuesday, inside every calendar's hours


def post(
    native: str,
    *,
    handle: str = "dani_reyes",
    conversation: str | None = None,
    reply_to: str | None = None,
    at: datetime = T0,
    text: str = "I was charged twice for Halden+ this month",
    source: str = "x",
) -> Post:
    return Post(
        id=f"{source}:{native}",
        source=source,
        url=f"https://x.com/{handle}/status/{native}",
        author=Author(id=f"{source}:id-{handle}", handle=handle, display_name=handle),
        text=text,
        created_at=at,
        conversation_id=conversation if conversation is not None else native,
        in_reply_to_id=reply_to,
    )


@pytest.fixture
def config(database: str, tmp_path: Path) -> Config:
    return load_config(write_config(tmp_path))


def feed(
    config: Config,
    posts: list[Post],
    *,
    intent: str = "billing",
    spam: bool = False,
    needs_nothing: bool = False,
) -> dict[str, int]:
    """Store, route and assign posts as the route step does (labels made by hand).
    ``needs_nothing``: labelled so that the rules close it (a neutral "thanks")."""
    from core.models import Label, PiiResult, PrivateDecision

    store = open_store(config)
    labels = []
    for p in posts:
        label = make_enrichment(p.id, intent=intent)
        if spam:
            label = type(label)(p.id, {**label.results, "spam": Label("spam", 0.9, "t")}, "")
        if needs_nothing:
            results = {
                **label.results,
                "intent": Label("other", 0.9, "t"),
                "sentiment": Label("positive", 0.9, "t"),
                "private": PrivateDecision(False, 0.05, (), "t"),
                "pii": PiiResult((), "t"),
            }
            label = type(label)(p.id, results, "")
        labels.append(label)
    store.posts.upsert(posts)
    store.posts.upsert_enrichments(labels)
    profiles = cases.profiles_of(store, posts)
    decisions = router(config).route(
        posts, labels, now=max(p.created_at for p in posts), tiers=cases.tiers_of(profiles)
    )
    with store.transaction() as tx:
        new = tx.queues.add_decisions(decisions)
        return cases.assign(tx, router(config), posts, labels, new, profiles=profiles, at=T0)


def only_case(store: Store) -> Case:
    (case,) = store.cases.list(limit=None)
    return case


# -- grouping -------------------------------------------------------------------------------


def test_cases_thread_reply_by_the_customer_joins_the_open_case(config: Config) -> None:
    assert feed(config, [post("100")])["opened"] == 1
    later = post("101", conversation="100", reply_to="100", at=T0 + timedelta(minutes=5))
    assert feed(config, [later]) == {"opened": 0, "joined": 1, "reopened": 0, "brand_replies": 0}
    store = open_store(config)
    case = only_case(store)
    assert case.id == "case:x:100"
    assert store.cases.members(case.id) == [("x:100", "customer"), ("x:101", "customer")]
    item = store.queues.get("x:101")
    assert item is not None and (item.case_id, item.status) == ("case:x:100", "new")
    assert [e.action for e in store.cases.events(case.id)] == ["open", "join"]


def test_cases_reply_without_conversation_id_joins_through_its_parent(config: Config) -> None:
    feed(config, [post("100")])
    orphan = post("101", conversation="", reply_to="100", at=T0 + timedelta(minutes=5))
    feed(config, [dataclass_replace(orphan, conversation_id=None)])
    store = open_store(config)
    assert store.cases.members("case:x:100") == [("x:100", "customer"), ("x:101", "customer")]


def dataclass_replace(p: Post, **changes: object) -> Post:
    from dataclasses import replace

    return replace(p, **changes)  # type: ignore[arg-type]


def test_cases_another_author_in_the_thread_opens_their_own_case(config: Config) -> None:
    feed(config, [post("100"), post("101", handle="raj", conversation="100", reply_to="100")])
    store = open_store(config)
    assert sorted(c.id for c in store.cases.list(limit=None)) == ["case:x:100", "case:x:101"]


def test_cases_same_customer_new_conversation_opens_a_second_case(config: Config) -> None:
    feed(config, [post("100"), post("200", at=T0 + timedelta(hours=1))])
    assert len(open_store(config).cases.list(limit=None)) == 2


def test_cases_assign_is_idempotent(config: Config) -> None:
    posts = [post("100"), post("101", conversation="100", reply_to="100")]
    feed(config, posts)
    assert feed(config, posts) == {"opened": 0, "joined": 0, "reopened": 0, "brand_replies": 0}
    store = open_store(config)
    assert len(store.cases.members(only_case(store).id)) == 2


def test_cases_spam_and_rule_closed_posts_open_no_case(config: Config) -> None:
    feed(config, [post("100")], spam=True)
    feed(config, [post("200", handle="HaldenHome", conversation="200")])  # the brand itself
    assert open_store(config).cases.list(limit=None) == []


def test_cases_brand_reply_is_the_first_response(config: Config) -> None:
    feed(config, [post("100")])
    reply = post(
        "101",
        handle="HaldenSupport",
        conversation="100",
        reply_to="100",
        at=T0 + timedelta(minutes=20),
        text="@dani_reyes Sorry! Please DM us the email on your account.",
    )
    assert feed(config, [reply])["brand_replies"] == 1
    store = open_store(config)
    case = only_case(store)
    assert (case.status, case.first_response_at, case.first_response_by) == (
        "responded",
        T0 + timedelta(minutes=20),
        "@HaldenSupport",
    )
    assert case.first_response_kind == "brand_reply" and case.breached_at is None
    assert store.cases.members(case.id)[-1] == ("x:101", "brand")
    trail = store.cases.events(case.id)
    assert (trail[-1].action, trail[-1].actor, trail[-1].to_status) == (
        "brand_reply",
        "@HaldenSupport",
        "responded",
    )


def test_cases_late_brand_reply_is_recorded_as_a_breach(config: Config) -> None:
    feed(config, [post("100")])  # billing, 60 minutes
    late = post(
        "101",
        handle="HaldenSupport",
        conversation="100",
        reply_to="100",
        at=T0 + timedelta(minutes=90),
    )
    feed(config, [late])
    case = only_case(open_store(config))
    assert case.breached_at == case.sla_due == T0 + timedelta(minutes=60)


@pytest.fixture
def agents(config: Config) -> Config:
    cases.add_agent(config, "ana", queues=["billing", "care"])
    cases.add_agent(config, "ben", queues=["billing"])
    cases.add_agent(config, "lead", queues=["*"])
    cases.add_agent(config, "sam", queues=["sales"])
    return config


def test_cases_closed_case_is_reopened_by_a_new_post_soon_after(agents: Config) -> None:
    config = agents
    feed(config, [post("100")])
    cases.act(config, "case:x:100", "claim", agent="ana", at=T0 + timedelta(minutes=1))
    cases.act(config, "case:x:100", "resolve", agent="ana", at=T0 + timedelta(minutes=30))
    again = post("101", conversation="100", reply_to="100", at=T0 + timedelta(days=1))
    assert feed(config, [again])["reopened"] == 1
    store = open_store(config)
    case = only_case(store)  # the same case, not a second one
    assert (case.status, case.reopened, case.assignee, case.opened_at) == (
        "new",
        1,
        None,
        T0 + timedelta(days=1),
    )
    assert case.first_response_at is None and case.closed_at is None
    assert [e.action for e in store.cases.events(case.id)][-1] == "reopen"


def test_cases_case_closed_long_ago_is_reopened_not_duplicated(agents: Config) -> None:
    config = agents
    feed(config, [post("100")])
    cases.act(config, "case:x:100", "no_action", agent="ana", at=T0 + timedelta(minutes=1))
    later = post("101", conversation="100", reply_to="100", at=T0 + timedelta(days=40))
    assert feed(config, [later])["reopened"] == 1
    store = open_store(config)
    (case,) = store.cases.list(limit=None)  # still one case
    assert (case.id, case.status, case.reopened) == ("case:x:100", "new", 1)
    assert case.opened_at == T0 + timedelta(days=40)


def test_cases_quiet_thanks_right_after_closing_joins_without_reopening(agents: Config) -> None:
    config = agents
    feed(config, [post("100")])
    closed_at = T0 + timedelta(minutes=5)
    cases.act(config, "case:x:100", "claim", agent="ana", at=closed_at)
    cases.act(config, "case:x:100", "resolve", agent="ana", at=closed_at)
    thanks = post(
        "101",
        conversation="100",
        reply_to="100",
        at=closed_at + timedelta(minutes=20),
        text="thanks, all sorted!",
    )
    assert feed(config, [thanks], needs_nothing=True)["joined"] == 1
    store = open_store(config)
    case = only_case(store)
    assert (case.status, case.reopened) == ("resolved", 0)
    assert store.cases.members(case.id)[-1] == ("x:101", "customer")
    # the same customer complains again shortly after: that needs a person, so it reopens
    again = post("102", conversation="100", reply_to="100", at=closed_at + timedelta(minutes=30))
    assert feed(config, [again])["reopened"] == 1
    assert only_case(store).status == "new"


# -- the life cycle ---------------------------------------------------------------------------

REACH: dict[str, list[str]] = {
    "new": [],
    "claimed": ["claim"],
    "responded": ["claim", "respond"],
    "resolved": ["claim", "resolve"],
    "moved_private": ["move_private"],
    "no_action": ["no_action"],
}
RESULT = {
    "claim": "claimed",
    "release": "new",
    "respond": "responded",
    "resolve": "resolved",
    "move_private": "moved_private",
    "no_action": "no_action",
    "reroute": "new",
}


@pytest.mark.parametrize("status", CASE_STATUSES)
@pytest.mark.parametrize("action", AGENT_ACTIONS)
def test_cases_every_transition_is_allowed_or_rejected(
    agents: Config, status: str, action: str
) -> None:
    config = agents
    feed(config, [post("100")])
    for step in REACH[status]:
        cases.act(config, "case:x:100", step, agent="ana")
    allowed = status in ACTIONS_BY_NAME[action].from_statuses
    queue = "care" if action == "reroute" else None
    if allowed:
        case = cases.act(config, "case:x:100", action, agent="ana", queue=queue)
        assert case.status == RESULT[action]
        event = open_store(config).cases.events(case.id)[-1]
        assert (event.action, event.from_status, event.to_status, event.actor) == (
            action,
            status,
            RESULT[action],
            "ana",
        )
    else:
        with pytest.raises(TransitionError, match=f"case case:x:100 is {status}: it cannot"):
            cases.act(config, "case:x:100", action, agent="ana", queue=queue)
        assert only_case(open_store(config)).status == status  # unchanged


def test_cases_claim_release_and_holder(agents: Config) -> None:
    config = agents
    feed(config, [post("100")])
    assert cases.act(config, "case:x:100", "claim", agent="ana").assignee == "ana"
    with pytest.raises(ConflictError, match="held by ana, not ben"):
        cases.act(config, "case:x:100", "resolve", agent="ben")
    with pytest.raises(TransitionError, match="is claimed: it cannot be claimed"):
        cases.act(config, "case:x:100", "claim", agent="ben")
    assert cases.act(config, "case:x:100", "release", agent="ana").assignee is None
    assert cases.act(config, "case:x:100", "claim", agent="ben").assignee == "ben"
    case = cases.act(config, "case:x:100", "respond", agent="ben")
    assert (case.first_response_by, case.first_response_kind) == ("ben", "reply")
    item = open_store(config).queues.get("x:100")
    assert item is not None and (item.status, item.assignee) == ("responded", "ben")


def test_cases_agent_outside_the_queue_or_unknown_is_refused(agents: Config) -> None:
    config = agents
    feed(config, [post("100")])
    with pytest.raises(TransitionError, match="agent sam works sales; case case:x:100 is in"):
        cases.act(config, "case:x:100", "claim", agent="sam")
    with pytest.raises(NotFoundError, match="no agent 'zoe'"):
        cases.act(config, "case:x:100", "claim", agent="zoe")
    with pytest.raises(NotFoundError, match="no case 'case:x:404'"):
        cases.act(config, "case:x:404", "claim", agent="ana")
    with pytest.raises(InvalidValueError, match="unknown action"):
        cases.act(config, "case:x:100", "reopen", agent="ana")  # Earshot's own move


def test_cases_reroute_moves_queue_and_recomputes_the_due_time(agents: Config) -> None:
    config = agents
    feed(config, [post("100")])  # billing: 60 business minutes
    case = cases.act(config, "case:x:100", "reroute", agent="lead", queue="sales")
    # sales: 240 minutes of 09:00-17:30 London weekdays from 10:00 UTC (10:00 GMT) = 14:00
    assert (case.queue, case.status, case.sla_due) == ("sales", "new", T0 + timedelta(hours=4))
    item = open_store(config).queues.get("x:100")
    assert item is not None and item.decision.queue == "sales"
    with pytest.raises(InvalidValueError, match="reroute needs --queue"):
        cases.act(config, "case:x:100", "reroute", agent="lead", queue="nowhere")


def test_cases_respond_with_a_help_article_counts_as_self_service(agents: Config) -> None:
    config = agents
    feed(config, [post("100")])
    article = load_routing(ROOT / "config" / "routing.yaml").articles[0].id
    case = cases.act(config, "case:x:100", "respond", agent="ana", article=article)
    assert case.first_response_kind == "self_service"
    assert open_store(config).cases.events(case.id)[-1].detail["article"]["id"] == article


# -- concurrent claims -----------------------------------------------------------------------


def test_cases_concurrent_claims_exactly_one_wins(agents: Config) -> None:
    """Eight agents claim one case at the same instant, each on its own connection: the
    store's conditional update lets exactly one through."""
    config = agents
    feed(config, [post("100")])
    names = [f"agent{i}" for i in range(8)]
    for name in names:
        cases.add_agent(config, name, queues=["billing"])
    store = open_store(config)
    barrier = threading.Barrier(len(names))
    outcomes: dict[str, str] = {}

    def claim(name: str) -> None:
        barrier.wait()
        try:
            store.cases.apply(
                "case:x:100",
                action="claim",
                from_statuses=("new",),
                to_status="claimed",
                actor=name,
                values={"assignee": name},
            )
            outcomes[name] = "won"
        except ConflictError:
            outcomes[name] = "refused"

    threads = [threading.Thread(target=claim, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    winners = [n for n, o in outcomes.items() if o == "won"]
    assert len(outcomes) == len(names) and len(winners) == 1
    case = only_case(store)
    assert (case.status, case.assignee) == ("claimed", winners[0])
    claims = [e for e in store.cases.events(case.id) if e.action == "claim"]
    assert [e.actor for e in claims] == winners


def test_cases_concurrent_claims_from_processes(agents: Config, tmp_path: Path) -> None:
    """The same through the command line: four `earshot cases claim` processes at once."""
    from tests.services.crash_corpus import earshot

    config = agents
    feed(config, [post("100")])
    for i in range(4):
        cases.add_agent(config, f"p{i}", queues=["billing"])
    processes = [
        earshot(config.path, "cases", "claim", "case:x:100", "--agent", f"p{i}") for i in range(4)
    ]
    codes = []
    for process in processes:
        process.communicate(timeout=300)
        codes.append(process.returncode)
    assert sorted(codes) == [0, 1, 1, 1]
    winner = f"p{codes.index(0)}"
    assert only_case(open_store(config)).assignee == winner


# -- what an agent sees -------------------------------------------------------------------------


def test_cases_show_has_conversation_history_and_linked_networks(agents: Config) -> None:
    config = agents
    from services import authors

    authors.link(config, ["x:dani_reyes", "reddit:burnt_toast_99"], crm_id="C-1001")
    reddit = post(
        "t3_abc",
        handle="burnt_toast_99",
        source="reddit",
        conversation="t3_abc",
        at=T0 - timedelta(days=2),
    )
    feed(config, [reddit])
    feed(
        config,
        [
            post("100"),
            post("101", conversation="100", reply_to="100", at=T0 + timedelta(minutes=3)),
        ],
    )
    view = cases.show(config, "case:x:100")
    assert [p.id for p, _ in view.conversation] == ["x:100", "x:101"]
    assert view.profile is not None and view.profile.id == "crm:C-1001"
    assert [p.id for p in view.earlier_posts] == ["reddit:t3_abc"]
    assert [c.id for c in view.other_open_cases] == ["case:reddit:t3_abc"]
    assert only_customer_key(open_store(config), "case:x:100") == "crm:C-1001"


def only_customer_key(store: Store, case_id: str) -> str:
    case = store.cases.get(case_id)
    assert case is not None
    return case.customer_key
