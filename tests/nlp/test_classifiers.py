"""Classifier contract (every registered classifier) and the behaviour of the rule set."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.config import load_config
from core.errors import ClassificationError, UnknownClassifierError
from core.models import INTENTS, SENTIMENTS, Label, PiiResult, PiiSpan, PrivateDecision
from core.redaction import luhn_valid
from nlp import available_classifiers, build_pipeline, get_classifier
from nlp.minhash import near_duplicate_groups, shingles
from nlp.pii_patterns import DEFAULT_IDENTIFIERS, find_pii, iban_valid, redact
from nlp.pipeline import ClassifierPipeline
from tests.conftest import ROOT, make_post

EDGE_TEXTS = [
    "",
    "   ",
    "🙄🙄🔥❤️",
    "https://example.com/some/long/path?x=1",
    "refund " * 15_000,  # about 100 KB
    "Halden ハブ が 壊れた, нет связи, لا يعمل",
    "re\u200bfund\u200d please \ufeff",
    "\u202eevil text",
    "\x01\x02 control chars",
]
OPTIONS = {
    "lexicon_path": ROOT / "config" / "intents.yaml",
    "models_dir": load_config(ROOT / "earshot.yaml").models_dir,
}
RULES = {
    "language": "language.stopwords.v1",
    "spam": "spam.rules.v1",
    "sentiment": "sentiment.vader.v1",
    "pii": "pii.regex.v1",
    "intent": "intent.keywords.v1",
    "private": "private.rules.v1",
}


@pytest.fixture(params=sorted(available_classifiers()))
def classifier(request: pytest.FixtureRequest):
    return get_classifier(request.param, **OPTIONS)


def prior_for(n: int) -> list[dict]:
    # What the tasks before intent/private would have produced for neutral text.
    return [
        {
            "language": Label("en", 0.9, "t"),
            "spam": Label("ham", 0.9, "t"),
            "sentiment": Label("neutral", 0.9, "t"),
            "pii": PiiResult((), "t"),
            "intent": Label("other", 0.3, "t"),
        }
        for _ in range(n)
    ]


def test_classifier_returns_one_result_per_post_for_edge_texts(classifier) -> None:
    posts = [make_post(text, post_id=f"x:{i}") for i, text in enumerate(EDGE_TEXTS)]
    results = classifier.predict(posts, prior_for(len(posts)))
    assert len(results) == len(posts)
    for result in results:
        if isinstance(result, Label | PrivateDecision):
            assert 0.0 <= result.score <= 1.0
            assert result.classifier == classifier.name
        else:
            assert isinstance(result, PiiResult)
            assert all(isinstance(span, PiiSpan) for span in result.spans)
            assert result.classifier == classifier.name


def test_classifier_is_registered_with_a_versioned_name(classifier) -> None:
    task, _, version = classifier.name.partition(".")
    assert classifier.assigns == (task,)
    assert version.rsplit(".", 1)[-1].startswith("v")


def test_classifier_empty_batch_gives_empty_result(classifier) -> None:
    assert classifier.predict([], []) == []


@pytest.fixture(scope="module")
def pipeline() -> ClassifierPipeline:
    """The first, rule-based classifiers: their behaviour is spelled out in rules."""
    return ClassifierPipeline(
        {task: get_classifier(name, **OPTIONS) for task, name in RULES.items()}
    )


@pytest.fixture(scope="module")
def configured() -> ClassifierPipeline:
    """What earshot.yaml configures (the trained transformer tier)."""
    return build_pipeline(load_config(ROOT / "earshot.yaml"))


def classify(pipeline: ClassifierPipeline, *texts: str):
    posts = [make_post(t, post_id=f"x:{i}", handle=f"user{i}") for i, t in enumerate(texts)]
    return pipeline.run(posts)


def test_pipeline_result_order_and_ids_follow_input(configured: ClassifierPipeline) -> None:
    results = classify(configured, *[f"post number {i}" for i in range(300)])
    assert [e.post_id for e in results] == [f"x:{i}" for i in range(300)]


@pytest.mark.parametrize("which", ["pipeline", "configured"])
def test_pipeline_labels_are_from_the_taxonomy(which: str, request: pytest.FixtureRequest) -> None:
    for e in classify(request.getfixturevalue(which), *EDGE_TEXTS):
        assert e.intent.label in INTENTS
        assert e.sentiment.label in SENTIMENTS


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I was charged twice for Halden+ this month, I want a refund", "billing"),
        ("My order still hasn't been delivered, tracking hasn't moved", "delivery"),
        ("Can't log in, the password reset link never arrives", "account"),
        ("The app is down again, thermostat not working", "technical"),
        ("How do I set up a schedule on the thermostat?", "question"),
        ("Is the Hub 2 back in stock? Want to buy one", "purchase"),
        ("Cancelling my subscription, switching to Nestwell", "cancel"),
        ("We'd love to become a reseller, who handles partnerships?", "partnership"),
        ("Would be great if the app had a dark mode", "feedback"),
        ("Love my Aura speaker, highly recommend it", "praise"),
        ("Customer service is a joke, totally useless", "complaint"),
        ("Halden opens a store in Leeds", "other"),
    ],
)
def test_intent_keywords_cover_the_taxonomy(
    pipeline: ClassifierPipeline, text: str, intent: str
) -> None:
    (result,) = classify(pipeline, text)
    assert result.intent.label == intent


def test_sentiment_vader_polarity(pipeline: ClassifierPipeline) -> None:
    positive, negative, neutral = classify(
        pipeline,
        "I love it, brilliant support!",
        "Worst purchase ever, awful",
        "The store opens at nine",
    )
    assert (positive.sentiment.label, negative.sentiment.label, neutral.sentiment.label) == (
        "positive",
        "negative",
        "neutral",
    )


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111111111111111", True),
        ("5555555555554444", True),
        ("378282246310005", True),
        ("4111111111111112", False),
    ],
)
def test_luhn_valid_accepts_only_checksummed_numbers(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


def test_iban_valid_checks_mod_97() -> None:
    assert iban_valid("GB82 WEST 1234 5698 7654 32")
    assert iban_valid("DE89370400440532013000")
    assert not iban_valid("GB82 WEST 1234 5698 7654 33")


def pii_types(text: str) -> list[str]:
    import re

    return [
        s.type for s in find_pii(text, {k: re.compile(v) for k, v in DEFAULT_IDENTIFIERS.items()})
    ]


@pytest.mark.parametrize(
    ("text", "types"),
    [
        ("mail me at jo.baker+halden@example.co.uk please", ["email"]),
        ("card 4111 1111 1111 1111 was charged", ["card"]),
        ("card 4111-1111-1111-1112 was charged", []),
        ("call me on +44 7700 900123 after 5", ["phone"]),
        ("call (555) 123-4567", ["phone"]),
        ("pay into GB82 WEST 1234 5698 7654 32", ["iban"]),
        ("order number 88123456 never came", ["order_number"]),
        ("account no: 55512345 is locked", ["account_number"]),
        ("booking ref QX7P2L for friday", ["booking_reference"]),
        ("on 2026-11-02 at 10:30 it broke", []),
        ("I paid 129.99 for 2 units", []),
    ],
)
def test_find_pii_finds_each_type(text: str, types: list[str]) -> None:
    assert pii_types(text) == types


def test_pipeline_redacts_pii_values(pipeline: ClassifierPipeline) -> None:
    (e,) = classify(pipeline, "Order HLD-4410932, card 4111 1111 1111 1111, mail jo@example.com")
    assert e.redacted_text == "Order [ORDER], card [CARD], mail [EMAIL]"
    assert [s.type for s in e.pii] == ["order_number", "card", "email"]
    assert e.results["pii"].classifier == "pii.regex.v1"


def test_redact_without_spans_is_identity() -> None:
    assert redact("nothing here", []) == "nothing here"


def test_private_reasons_name_what_was_found(pipeline: ClassifierPipeline) -> None:
    order, login, vent = classify(
        pipeline,
        "Where is order HLD-6630217? Paid two weeks ago",
        "Can't log in to my account, password reset never arrives",
        "This app update is terrible and ugly",
    )
    assert order.private.move_private and "order number in post" in order.private.reasons
    assert login.private.move_private and "login or account problem" in login.private.reasons
    assert not vent.private.move_private and vent.private.reasons == ()


@pytest.fixture(scope="module")
def conservative() -> ClassifierPipeline:
    """The configured tiers with ``private.rules.v1``, the sample brand's own policy."""
    config = load_config(ROOT / "earshot.yaml")
    return build_pipeline(
        replace(config, classifiers={**config.classifiers, "private": "private.rules.v1"})
    )


def test_private_rules_v1_follows_the_labelled_samples_not_every_negative_post(
    conservative: ClassifierPipeline,
) -> None:
    """The sample brand (Halden) answers device and delivery problems in public: its labels
    are v1's policy; v2 is what agents across brands do (a brand's history teaches which)."""
    from nlp.samples import sample_examples

    examples = sample_examples(ROOT / "samples")
    results = classify(conservative, *[text for text, _ in examples])
    pairs = [
        (row["private"] == "true", e.private.move_private)
        for (_, row), e in zip(examples, results, strict=True)
    ]
    negative_public = [
        e.private.move_private
        for (_, row), e in zip(examples, results, strict=True)
        if row["sentiment"] == "negative" and row["private"] == "false"
    ]
    moved = [want for want, got in pairs if got]
    wanted = [got for want, got in pairs if want]
    assert len(negative_public) >= 50 and sum(negative_public) <= 0.05 * len(negative_public)
    assert sum(moved) >= 0.95 * len(moved)  # precision
    assert sum(wanted) >= 0.95 * len(wanted)  # recall


def test_private_rules_v2_moves_the_customers_own_problem_and_keeps_v1s_reasons(
    configured: ClassifierPipeline, conservative: ClassifierPipeline
) -> None:
    texts = [
        "@HaldenSupport my parcel still hasn't arrived and tracking hasn't moved in 5 days",
        "the app logs me out every time I open it, so annoying",
        "refund for order HLD-1234567 please",
        "thank you so much, the new hub works perfectly!",
        "what time does the Halden store open on Sundays?",
        # spam: bait and two links (a bait text the spam rules miss is up to the intent head)
        "win a free iphone, click the link http://spam.example now http://spam.example/2",
    ]
    new = classify(configured, *texts)
    assert new[5].spam.label == "spam"
    old = classify(conservative, *texts)
    reason = "a problem with the customer's own order, account or service (details needed)"
    assert [e.private.move_private for e in new] == [True, True, True, False, False, False]
    assert reason in new[0].private.reasons and reason in new[1].private.reasons
    assert "order number in post" in new[2].private.reasons
    for before, after in zip(old, new, strict=True):
        assert set(before.private.reasons) <= set(after.private.reasons)  # v1's kept
        assert after.private.score >= before.private.score or not before.private.move_private
    assert 0.5 < new[0].private.score < 0.6  # weak: a brand's history overrules it


def test_language_stopwords_detects_scripts_and_function_words(
    pipeline: ClassifierPipeline,
) -> None:
    results = classify(
        pipeline,
        "¿Alguien más tiene problemas con la app? No puedo encender la calefacción",
        "Le thermostat est vraiment pratique, je le recommande",
        "Die Kamera verbindet sich nicht mit dem WLAN",
        "スピーカーを買いました。音がとても良いです",
        "The app is not working for me this morning",
        "🙄🙄",
    )
    assert [e.language.label for e in results] == ["es", "fr", "de", "ja", "en", "und"]


def test_spam_flags_bait_and_copy_paste_campaigns(pipeline: ClassifierPipeline) -> None:
    campaign = "Halden giveaway! Follow & RT to claim your free speaker http://bit.ly/x #giveaway"
    posts = [make_post(campaign, post_id=f"x:{i}", handle=f"winner_{i}") for i in range(3)]
    posts.append(
        make_post(
            "My thermostat arrived today, setting it up now", post_id="x:9", handle="real_person"
        )
    )
    results = pipeline.run(posts)
    assert [e.spam.label for e in results] == ["spam", "spam", "spam", "ham"]


def test_spam_is_never_moved_private(pipeline: ClassifierPipeline) -> None:
    spam = (
        "Claim your free money at www.a.example www.b.example, DM to claim, order number 12345678"
    )
    (e,) = classify(pipeline, spam)
    assert e.is_spam and not e.private.move_private


def test_pipeline_rejects_missing_task() -> None:
    with pytest.raises(ClassificationError, match="no classifier configured for tasks: intent"):
        ClassifierPipeline(
            {"sentiment": get_classifier("sentiment.vader.v1")}
            | {
                t: get_classifier(n, **OPTIONS)
                for t, n in {
                    "language": "language.stopwords.v1",
                    "spam": "spam.rules.v1",
                    "pii": "pii.regex.v1",
                    "private": "private.rules.v1",
                }.items()
            }
        )


def test_get_classifier_unknown_name_lists_available() -> None:
    with pytest.raises(UnknownClassifierError, match=r"sentiment\.vader\.v1"):
        get_classifier("sentiment.nope.v9")


def test_spam_v2_catches_edited_copies_of_a_campaign() -> None:
    spam = get_classifier("spam.rules.v2")
    texts = [
        "Halden is giving away 500 Aura speakers today only, follow and retweet to claim yours now",
        "Halden is giving away 500 Aura speakers TODAY ONLY!! follow and retweet to claim yours now 🎁",
        "wow Halden is giving away 500 Aura speakers today only, follow and retweet to claim yours",
        "My Aura speaker arrived today and the sound is great, setting it up in the kitchen now",
        "My Aura speaker arrived today and the sound is great, setting it up in the kitchen now",
    ]
    posts = [make_post(t, post_id=f"x:{i}", handle=f"acct{i}") for i, t in enumerate(texts)]
    # Two identical honest posts are not a campaign: it takes three authors.
    assert [label.label for label in spam.predict(posts, [{} for _ in posts])] == [
        "spam",
        "spam",
        "spam",
        "ham",
        "ham",
    ]
    v1 = get_classifier("spam.rules.v1")
    assert [label.label for label in v1.predict(posts, [{} for _ in posts])][:3] != [
        "spam",
        "spam",
        "spam",
    ]


def test_near_duplicate_groups_keep_different_texts_apart() -> None:
    groups = near_duplicate_groups(
        [
            "the app is down again today for everyone",
            "the app is down again today for everyone!",
            "completely different words about a refund request",
        ]
    )
    assert groups[0] == groups[1] != groups[2]


def test_near_duplicate_groups_find_every_edited_copy_above_the_threshold() -> None:
    import random

    rng = random.Random(7)
    vocabulary = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=6)) for _ in range(400)]
    originals = [" ".join(rng.choices(vocabulary, k=40)) for _ in range(300)]
    copies = []
    for text in originals:  # one to three words changed, the kind of edit a campaign makes
        words = text.split()
        for _ in range(rng.randint(1, 3)):
            words[rng.randrange(len(words))] = rng.choice(["wow", "free", "now", "omg"])
        copies.append(" ".join(words))
    groups = near_duplicate_groups(originals + copies)
    close = [
        i
        for i, (a, b) in enumerate(zip(originals, copies, strict=True))
        if len(shingles(a) & shingles(b)) / len(shingles(a) | shingles(b)) >= 0.7
    ]
    assert len(close) >= 100  # the set holds many pairs near the threshold
    assert all(groups[i] == groups[300 + i] for i in close)
    assert len({groups[i] for i in range(300)}) == 300  # the originals stay apart


def test_minhash_signatures_do_not_depend_on_the_process() -> None:
    # Python salts str hashes per process: spam labels must not change from run to run.
    import os
    import subprocess
    import sys

    script = (
        "from nlp.minhash import shingles, signatures\n"
        "print(signatures([shingles('free speakers for everyone who retweets this now')]))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
