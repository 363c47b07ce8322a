"""Super-users: answers to other people's questions, weighted by what the asker and the
community did with them, across threads and askers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.insights import Activity
from insights import InsightSettings, is_question, score_superusers

AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def post(
    native: str,
    handle: str,
    text: str,
    *,
    thread: str,
    parent: str | None = None,
    minutes: int = 0,
    engagement: int = 0,
    intent: str = "other",
    spam: bool = False,
) -> Activity:
    return Activity(
        post_id=f"reddit:{native}",
        source="reddit",
        handle=handle,
        followers=0,
        created_at=AT - timedelta(days=10) + timedelta(minutes=minutes),
        text=text,
        sentiment="neutral",
        sentiment_score=0.8,
        intent=intent,
        spam=spam,
        engagement=engagement,
        conversation_id=thread,
        in_reply_to_id=parent,
    )


def thread(
    n: int,
    asker: str,
    helper: str,
    *,
    thanks: str | None = None,
    upvotes: int = 0,
    again: bool = False,
) -> list[Activity]:
    t = f"t3_q{n}"
    posts = [
        post(t, asker, "How do I reset the hub?", thread=t),
        post(
            f"t1_a{n}",
            helper,
            "Hold the button 15 seconds.",
            thread=t,
            parent=t,
            minutes=10,
            engagement=upvotes,
        ),
    ]
    if thanks:
        posts.append(post(f"t1_t{n}", asker, thanks, thread=t, parent=f"t1_a{n}", minutes=60))
    if again:
        posts.append(
            post(
                f"t1_g{n}",
                asker,
                "Didn't work, what else can I try?",
                thread=t,
                parent=f"t1_a{n}",
                minutes=90,
            )
        )
    return posts


def score(posts: list[Activity], excluded=lambda a: False):
    found = score_superusers(
        posts,
        at=AT,
        settings=InsightSettings(),
        identity=lambda a: (f"{a.source}:{a.handle}", None, None),
        excluded=excluded,
    )
    return {s.key: s for s in found}


def test_superusers_answer_credit_is_worked_out_exactly() -> None:
    posts = thread(1, "sue", "tess", thanks="That worked, thanks!", upvotes=99)
    posts += thread(2, "ted", "tess")
    found = score(posts)["reddit:tess"]
    # thread 1: 1 + 1.5 (thanked) + 0.5 x log10(100) = 1.0 (upvotes) + 0.5 (did not ask again)
    # thread 2: 1 + 0 + 0 + 0.5
    assert found.score == 4.0 + 1.5
    assert found.components == {"threads": 2.0, "askers": 2.0, "thanked": 1.0, "upvotes": 1.0}
    assert found.evidence == ("reddit:t1_a1", "reddit:t1_a2")  # thanked first


def test_superusers_need_several_threads_and_askers() -> None:
    one_thread = thread(1, "sue", "once", thanks="thanks!")
    same_asker = thread(2, "sue", "buddy") + thread(3, "sue", "buddy")
    found = score(one_thread + same_asker)
    assert "reddit:once" not in found
    assert "reddit:buddy" not in found  # helping one friend twice is not the community


def test_superusers_asking_again_and_self_answers_earn_less() -> None:
    solved = thread(1, "sue", "a") + thread(2, "ted", "a")
    unsolved = thread(3, "sue", "b", again=True) + thread(4, "ted", "b", again=True)
    mine = [
        post("t3_s", "cal", "How do I pair the plug?", thread="t3_s"),
        post("t1_s", "cal", "Never mind, found it", thread="t3_s", parent="t3_s", minutes=5),
    ]
    found = score(solved + unsolved + mine)
    assert found["reddit:a"].score > found["reddit:b"].score
    assert "reddit:cal" not in found


def test_superusers_one_thread_counts_once() -> None:
    posts = thread(1, "sue", "tess") + thread(2, "ted", "tess")
    posts.append(
        post("t1_x", "tess", "Also check the cable.", thread="t3_q1", parent="t3_q1", minutes=20)
    )
    assert score(posts)["reddit:tess"].components["threads"] == 2.0


def test_superusers_brand_and_spam_are_left_out() -> None:
    posts = thread(1, "sue", "HaldenHome_mod") + thread(2, "ted", "HaldenHome_mod")
    spam = [post("t1_z", "spammer", "buy cheap hubs", thread="t3_q1", parent="t3_q1", spam=True)]
    found = score(posts + spam, excluded=lambda a: a.handle == "HaldenHome_mod")
    assert found == {}


def test_superusers_questions_by_intent_or_form() -> None:
    assert is_question(post("t3_1", "a", "Thermostat reads cold", thread="t3_1", intent="question"))
    assert is_question(post("t3_2", "a", "Anyone else seeing E43 on the Therma", thread="t3_2"))
    assert is_question(post("t3_3", "a", "is the app down?", thread="t3_3"))
    assert not is_question(post("t3_4", "a", "Love the new app update", thread="t3_4"))
