"""The trained heads, in both tiers, on posts whose labels nobody would argue about."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.config import load_config
from core.errors import ModelMissingError
from nlp.encoders import encoder_for
from nlp.registry import get_classifier
from nlp.training import (
    LEXICAL,
    Example,
    Head,
    Lexical,
    head_path,
    template_examples,
    training_set,
)
from tests.conftest import ROOT, make_post

MODELS = load_config(ROOT / "earshot.yaml").models_dir
TIERS = ["m2v", "minilm"]

SENTIMENT = [
    ("Thank you so much, the support team was brilliant and fixed it in minutes!", "positive"),
    (
        "Absolutely furious. Third time my order is late and nobody answers. Worst company ever.",
        "negative",
    ),
    ("What time does your Leeds store open on Saturday?", "neutral"),
    ("Love my new headphones, best purchase this year ❤️", "positive"),
    ("Been on hold for an hour, this is a joke", "negative"),
]
INTENT = [
    ("I was charged twice for my subscription this month, I want my money back", "billing"),
    ("My parcel still hasn't arrived and tracking hasn't moved in a week", "delivery"),
    ("I can't log in, the password reset email never comes", "account"),
    ("The app keeps crashing every time I open it", "technical"),
    ("How do I cancel my membership? Switching to a competitor", "cancel"),
    (
        "We run a chain of shops and would like to stock your products, who handles wholesale?",
        "partnership",
    ),
    ("Would be great if the app had a dark mode", "feedback"),
]


@pytest.mark.parametrize("tier", TIERS)
def test_trained_sentiment_on_clear_posts(tier: str) -> None:
    classifier = get_classifier(f"sentiment.{tier}.v1", models_dir=MODELS)
    posts = [make_post(text, post_id=f"x:{i}") for i, (text, _) in enumerate(SENTIMENT)]
    labels = classifier.predict(posts, [{} for _ in posts])
    assert [label.label for label in labels] == [expected for _, expected in SENTIMENT]
    assert all(0.34 < label.score <= 1.0 for label in labels)


@pytest.mark.parametrize("tier", TIERS)
def test_trained_intent_on_clear_posts(tier: str) -> None:
    classifier = get_classifier(f"intent.{tier}.v1", models_dir=MODELS)
    posts = [make_post(text, post_id=f"x:{i}") for i, (text, _) in enumerate(INTENT)]
    labels = classifier.predict(posts, [{} for _ in posts])
    assert [label.label for label in labels] == [expected for _, expected in INTENT]


@pytest.mark.parametrize("tier", TIERS)
def test_trained_intent_of_a_negative_post_is_never_praise_or_other(tier: str) -> None:
    from core.models import Label

    classifier = get_classifier(f"intent.{tier}.v1", models_dir=MODELS)
    texts = [
        "Love my new headphones, best purchase this year",
        "Thank you so much, the support team was brilliant",
        "Saw your new store on the high street today",
        "Well that was the worst flight of my life",
        *[text for text, _ in INTENT],
    ]
    posts = [make_post(text, post_id=f"x:{i}") for i, text in enumerate(texts)]
    negative = [{"sentiment": Label("negative", 0.9, "t")} for _ in posts]
    neutral = [{"sentiment": Label("neutral", 0.9, "t")} for _ in posts]
    probabilities = classifier.probabilities(texts)
    classes = list(classifier.head.classes)
    barred = [classes.index("praise"), classes.index("other")]

    plain = classifier.predict(posts, neutral)
    assert [label.label for label in plain] == [classes[i] for i in probabilities.argmax(1)]
    assert {label.label for label in plain[:3]} & {"praise", "other"}  # the rule has work

    kept = probabilities.copy()
    kept[:, barred] = -1.0
    fallback = [
        classes[row.argmax()] if row.max() >= classifier.SPECIFIC else "complaint" for row in kept
    ]
    labels = classifier.predict(posts, negative)
    assert [label.label for label in labels] == [
        label.label if label.label not in ("praise", "other") else want
        for label, want in zip(plain, fallback, strict=True)
    ]
    assert not {label.label for label in labels} & {"praise", "other"}
    assert labels[3].label == "complaint"
    # Clear intents that are neither praise nor other keep their label.
    assert [label.label for label in labels[4:]] == [expected for _, expected in INTENT]
    for label, row in zip(labels, probabilities, strict=True):
        assert label.score == round(float(row[classes.index(label.label)]), 4)


@pytest.mark.parametrize(
    ("task", "tier"), [(t, tier) for t in ("sentiment", "intent") for tier in TIERS]
)
def test_trained_head_files_are_calibrated_probabilities(task: str, tier: str) -> None:
    head = Head.load(head_path(MODELS, task, tier))
    features = np.random.default_rng(0).normal(size=(20, head.coef.shape[1])).astype(np.float32)
    probabilities = head.predict_proba(features)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert 0.3 <= head.temperature <= 3.0
    assert head.meta["held_out"]["examples"] > 100
    assert head.meta["by_origin"].keys() >= {"template", "samples"}


def test_trained_model_card_names_data_and_licence() -> None:
    card = (MODELS / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "all-MiniLM-L6-v2 (Apache-2.0)" in card
    assert "No external data set is used for training" in card
    for name in ("sentiment.m2v", "sentiment.minilm", "intent.m2v", "intent.minilm"):
        assert f"| {name} |" in card


def test_trained_head_missing_file_says_how_to_build_it(tmp_path: Path) -> None:
    classifier = get_classifier("intent.m2v.v1", models_dir=tmp_path)
    with pytest.raises(ModelMissingError, match="earshot train"):
        classifier.predict([make_post("hello")], [{}])


def test_template_examples_expand_over_every_industry() -> None:
    examples = template_examples("sentiment")
    industries = {e.origin.split(":")[1] for e in examples}
    assert len(industries) == 12
    assert len({e.text for e in examples}) == len(examples)
    assert not any("{" in e.text for e in examples)


def test_training_set_includes_feedback() -> None:
    examples = training_set(
        "intent",
        intents_path=ROOT / "config" / "intents.yaml",
        samples_dir=None,
        feedback=[("my thermostat invoice is wrong", "billing")],
    )
    assert Example("my thermostat invoice is wrong", "billing", "feedback") in examples


@pytest.mark.parametrize(
    ("task", "tier"), [(t, tier) for t in ("sentiment", "intent") for tier in TIERS]
)
def test_trained_head_carries_its_tier_lexical_features(task: str, tier: str) -> None:
    head = Head.load(head_path(MODELS, task, tier))
    assert head.lexical is not None
    assert head.lexical.analyzers == LEXICAL[tier]
    assert head.coef.shape[1] == head.features(["x"], encoder_for(tier, MODELS).encode).shape[1]


def test_trained_head_file_round_trip_keeps_predictions(tmp_path: Path) -> None:
    head = Head.load(head_path(MODELS, "intent", "m2v"))
    encode = encoder_for("m2v", MODELS).encode
    texts = ["is there a fee for topping up by card?", "my parcel is lost", "", "🙂🙂"]
    path = tmp_path / "intent.m2v.v1.json"
    head.save(path)
    again = Head.load(path)
    assert np.allclose(
        head.predict_proba(head.features(texts, encode)),
        again.predict_proba(again.features(texts, encode)),
        atol=1e-5,
    )


def test_lexical_features_come_from_training_words_only() -> None:
    lexical = Lexical.fit(("word", "char"), ["refund my fee", "refund pending", "fee pending"])
    rows = lexical.transform(["pending refund fee", "zzz qqq", ""]).toarray()
    assert rows.shape == (3, lexical.size)
    assert np.allclose(np.linalg.norm(rows[0][: len(lexical.vocabularies[0])]), 1.0)
    assert not rows[1].any() and not rows[2].any()
