"""PII on a generated set of 600 posts: every Luhn-valid card (of every network, written with
every separator people use) and every email (international ones too) found, at least 95% of
phone numbers, and no Luhn-invalid digit run taken for a card."""

from __future__ import annotations

import random
import re

import pytest

from core.config import load_config
from core.redaction import luhn_valid
from nlp.registry import get_classifier
from tests.conftest import ROOT, make_post

FIRST = [
    "jürgen",
    "zoë",
    "amy",
    "ben",
    "cara",
    "dev",
    "eli",
    "fay",
    "gus",
    "hana",
    "ivo",
    "jo",
    "kai",
    "lea",
    "max",
    "nia",
    "oli",
    "pat",
    "raj",
    "sam",
    "tia",
    "uma",
    "उपयोगकर्ता",
    "ผู้ใช้",
    "用户",
]
DOMAINS = [
    "müller.example",
    "παράδειγμα.δοκιμή",
    "example.com",
    "mail.example.co.uk",
    "post.example.org",
    "inbox.example.net",
    "example.io",
    "उदाहरण.भारत",
    "ตัวอย่าง.ไทย",
    "例子.广告",
]
PHRASES = [
    "@HaldenSupport please call me on {x} about my order",
    "my number is {x}, nobody called back",
    "Refund still missing. Card used: {x}. Sort it out",
    "email me at {x} instead, the app is broken",
    "you can reach me at {x} after 6pm 🙏",
    "{x} is my contact, account locked since Monday",
    "ring {x} if the courier can't find the house",
    "charged twice on {x}?? what is going on",
]


def luhn_number(rng: random.Random, length: int, prefix: str) -> str:
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("unreachable")


SEPARATORS = {
    "spaces": " ",
    "dashes": "-",
    "dots": ".",
    "double spaces": "  ",
    "slashes": "/",
    "spaced dashes": " - ",
    "en dashes": "\u2013",
    "no-break spaces": "\u00a0",
    "narrow no-break spaces": "\u202f",
    "underscores": "_",
}
GROUPS = {13: (4, 4, 5), 14: (4, 6, 4), 15: (4, 6, 5), 16: (4, 4, 4, 4), 19: (4, 4, 4, 4, 3)}
"""How each length is printed on cards."""
CARDS = [(16, "4"), (16, "51"), (16, "2221"), (16, "6011"), (16, "35"), (16, "62")]
CARDS += [(15, "37"), (14, "36"), (13, "4"), (19, "4")]
"""(length, network prefix): Visa, Mastercard (both ranges), Discover, JCB, UnionPay,
American Express, Diners, Visa's 13 and 19 digits."""


def card_text(rng: random.Random, digits: str) -> str:
    """A card number as people write it: in one run, or in groups with any separator. A bare
    run of 19 digits is a card only next to a card word (see tests/core/test_redaction.py),
    so those are always written in groups here."""
    style = rng.choice(["plain", "mixed", *SEPARATORS])
    if style == "plain" and len(digits) < 17:
        return digits
    groups, start = [], 0
    for size in GROUPS[len(digits)]:
        groups.append(digits[start : start + size])
        start += size
    if style in ("mixed", "plain"):
        seps = [rng.choice(list(SEPARATORS.values())) for _ in groups[1:]]
        return groups[0] + "".join(s + g for s, g in zip(seps, groups[1:], strict=True))
    return SEPARATORS[style].join(groups)


def phone_text(rng: random.Random) -> str:
    n = lambda k: "".join(str(rng.randint(0, 9)) for _ in range(k))  # noqa: E731
    return rng.choice(
        [
            f"+44 7{n(3)} {n(6)}",
            f"07{n(3)} {n(6)}",
            f"+1 ({n(3)}) {n(3)}-{n(4)}",
            f"({n(3)}) {n(3)}-{n(4)}",
            f"{n(3)}-{n(3)}-{n(4)}",
            f"{n(3)}.{n(3)}.{n(4)}",
            f"+33 6 {n(2)} {n(2)} {n(2)} {n(2)}",
            f"+49 151 {n(8)}",
            f"+44 20 {n(4)} {n(4)}",
            f"07{n(9)}",
        ]
    )


def generated_posts() -> list[tuple[str, str]]:
    """(text, kind) with kind in card, email, phone, invalid_card."""
    rng = random.Random(20261122)
    posts = []
    for i in range(600):
        kind = ["card", "email", "phone", "invalid_card"][i % 4]
        if kind == "card":
            length, prefix = rng.choice(CARDS)
            value = card_text(rng, luhn_number(rng, length, prefix))
        elif kind == "invalid_card":
            digits = luhn_number(rng, 16, "4")
            digits = digits[:-1] + str((int(digits[-1]) + rng.randint(1, 9)) % 10)
            value = card_text(rng, digits)
        elif kind == "email":
            value = f"{rng.choice(FIRST)}{rng.choice(['.', '_', '+halden', ''])}{rng.choice(FIRST)}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}"
        else:
            value = phone_text(rng)
        posts.append((rng.choice(PHRASES).format(x=value), kind))
    return posts


@pytest.fixture(scope="module", params=["pii.spacy.v1", "pii.regex.v1"])
def found(request: pytest.FixtureRequest) -> list[tuple[str, set[str]]]:
    classifier = get_classifier(
        request.param, patterns=load_config(ROOT / "earshot.yaml").pii_patterns
    )
    cases = generated_posts()
    posts = [make_post(text, post_id=f"x:{i}") for i, (text, _) in enumerate(cases)]
    results = classifier.predict(posts, [{} for _ in posts])
    assert all(result.classifier == request.param for result in results)
    return [
        (kind, {span.type for span in result.spans})
        for (_, kind), result in zip(cases, results, strict=True)
    ]


def recall(found: list[tuple[str, set[str]]], kind: str) -> float:
    rows = [types for k, types in found if k == kind]
    return sum(kind in types for types in rows) / len(rows)


def test_pii_generated_set_is_large_enough() -> None:
    assert len(generated_posts()) >= 500


def test_pii_generated_set_writes_cards_every_way() -> None:
    texts = [text for text, kind in generated_posts() if kind == "card"]
    for name, sep in SEPARATORS.items():
        between_digits = re.compile(rf"\d{re.escape(sep)}\d")
        assert sum(bool(between_digits.search(text)) for text in texts) >= 5, name
    assert any(re.search(r"(?<!\d)\d{16}(?!\d)", text) for text in texts)  # one run


def test_pii_finds_every_valid_card(found) -> None:
    assert recall(found, "card") == 1.0


def test_pii_finds_every_email(found) -> None:
    assert recall(found, "email") == 1.0


def test_pii_finds_at_least_95_percent_of_phones(found) -> None:
    assert recall(found, "phone") >= 0.95


def test_pii_never_calls_a_luhn_invalid_run_a_card(found) -> None:
    assert not any("card" in types for kind, types in found if kind == "invalid_card")
    assert not any("card" in types for kind, types in found if kind in ("phone", "email"))
