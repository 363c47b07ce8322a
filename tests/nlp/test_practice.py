"""Each brand's public-to-private practice: the reply detector, and decisions that follow
the brand's own history (a label source that is ignored fails these tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from core.history import PracticeExample
from core.models import Author, PiiResult, PiiSpan, Post
from nlp.classifiers.private_brand_v1 import BrandPrivate, brand_of
from nlp.practice import FILE, MIN_HISTORY, build, load, save
from nlp.reply_private import moved_private

T0 = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("reply", "private"),
    [
        ("@ana Sorry about that! Please DM us your order number and we'll look into it.", True),
        ("@ana We've sent you a direct message with the next steps.", True),
        ("@ana Could you follow us so we can DM you?", True),
        ("@ana Please email us at help@halden.example with the details.", True),
        ("@ana Give us a call on 0800 123 4567 and we'll sort it.", True),
        ("@ana Start a chat with us in the app and an agent will help.", True),
        ("@ana Please use this secure link to share your address.", True),
        ("@ana Restart the hub and it should reconnect. Let us know!", False),
        ("@ana Thanks for the kind words, enjoy the new Aura!", False),
        ("@ana Our status page has the latest on the outage: status.halden.example", False),
    ],
)
def test_reply_detector_reads_what_the_agent_did(reply: str, private: bool) -> None:
    found, reason = moved_private(reply)
    assert found is private
    assert (reason is not None) is private


def post(text: str, *, brand: str | None = None) -> Post:
    return Post(
        id="x:1",
        source="x",
        url="",
        author=Author(id="x:c", handle="customer"),
        text=text,
        created_at=T0,
        brand=brand,
    )


def fake_encode(texts: list[str]) -> np.ndarray:
    """A tiny deterministic embedding: which of three topics the text is about."""
    topics = ("refund", "reset", "love")
    rows = [[1.0 if t in text.lower() else 0.0 for t in topics] + [0.1] for text in texts]
    matrix = np.array(rows, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def history(brand: str, private: bool, n: int = 20) -> list[PracticeExample]:
    texts = ["refund please", "how do I reset the hub", "love it"]
    return [
        PracticeExample(brand, texts[i % 3], private, T0 + timedelta(hours=i)) for i in range(n)
    ]


RULE_PUBLIC = (False, 0.05, ())


def test_practice_follows_each_brands_history() -> None:
    model = build(history("alwaysdm", True) + history("neverdm", False), fake_encode)
    vector = fake_encode(["refund please"])[0]
    move, _, reasons = model.decide("alwaysdm", vector, RULE_PUBLIC)
    assert move is True and reasons[0].startswith("your team moved 10 of 10 similar posts private")
    move, _, reasons = model.decide("neverdm", vector, (True, 0.6, ("billing or refund issue",)))
    assert move is False and reasons[0].startswith("your team moved 0 of 10")


def test_practice_similar_posts_decide_within_a_brand() -> None:
    mixed = [
        PracticeExample("mixed", "refund please", True, T0 + timedelta(hours=i)) for i in range(10)
    ] + [PracticeExample("mixed", "love it", False, T0 + timedelta(hours=i)) for i in range(10)]
    model = build(mixed, fake_encode)
    assert model.decide("mixed", fake_encode(["refund now"])[0], RULE_PUBLIC)[0] is True
    assert model.decide("mixed", fake_encode(["love the hub"])[0], RULE_PUBLIC)[0] is False


def test_practice_too_little_history_falls_back() -> None:
    small = history("newbrand", True, n=MIN_HISTORY - 1)
    model = build(small, fake_encode)
    vector = fake_encode(["refund please"])[0]
    assert model.decide("newbrand", vector, RULE_PUBLIC) == RULE_PUBLIC  # the rules decide
    lots = build(history("a", True, 40) + small, fake_encode)
    move, _, reasons = lots.decide("newbrand", vector, RULE_PUBLIC)
    assert move is True and "across brands" in reasons[-1]


def test_practice_personal_data_always_goes_private() -> None:
    model = build(history("neverdm", False), fake_encode)
    decision = model.decide(
        "neverdm", fake_encode(["refund"])[0], (True, 0.9, ("payment card number in post",))
    )
    assert decision[0] is True


def test_practice_saves_and_loads(tmp_path: Path) -> None:
    model = build(history("alwaysdm", True) + history("neverdm", False), fake_encode)
    loaded = load(save(model, tmp_path / FILE))
    assert set(loaded.brands) == {"alwaysdm", "neverdm"}
    assert loaded.everyone is not None and loaded.everyone.size == 40
    vector = fake_encode(["refund please"])[0]
    assert loaded.decide("alwaysdm", vector, RULE_PUBLIC)[0] is True


def test_brand_of_a_post() -> None:
    brands = frozenset({"haldensupport", "haldenhome"})
    assert brand_of(post("hi", brand="@HaldenSupport"), brands) == "haldensupport"
    assert brand_of(post("@someone @HaldenHome refund?"), brands) == "haldenhome"
    assert brand_of(post("no brand here"), brands) is None


def test_brand_private_without_a_trained_file_is_the_rules(tmp_path: Path) -> None:
    classifier = BrandPrivate(models_dir=tmp_path, brands=["HaldenSupport"])
    pii = PiiResult((PiiSpan("email", 0, 5),), "t")
    (decision,) = classifier.predict([post("mail a@b.example")], [{"pii": pii}])
    assert decision.move_private and decision.reasons == ("email address in post",)
    assert decision.classifier == "private.brand.v1"
