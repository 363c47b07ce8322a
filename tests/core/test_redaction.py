"""Card numbers are masked before anything is stored."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from core.config import load_config
from core.models import DeadLetter
from core.redaction import (
    RedactingFilter,
    luhn_valid,
    mask_cards,
    mask_cards_in_bytes,
    redact_pii,
    redact_pii_in_bytes,
)
from services import pipeline
from services.runtime import open_store
from storage import SqlStore
from tests.conftest import write_config


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("card 4111 1111 1111 1111 charged twice", "card [CARD …1111] charged twice"),
        ("amex 378282246310005.", "amex [CARD …0005]."),
        ("mc 5555-5555-5555-4444?", "mc [CARD …4444]?"),
        ("not a card 4111 1111 1111 1112", "not a card 4111 1111 1111 1112"),
        ("call +44 7700 900123", "call +44 7700 900123"),
        ("order HLD-4410932", "order HLD-4410932"),
        ("dots 4111.1111.1111.1111 ok", "dots [CARD …1111] ok"),
        ("double 4111  1111  1111  1111 ok", "double [CARD …1111] ok"),
        ("mixed 5555 5555-5555.4444 ok", "mixed [CARD …4444] ok"),
        ("slashes 4111/1111/1111/1111", "slashes [CARD …1111]"),
        ("amex 3782 822463 10005", "amex [CARD …0005]"),
        ("card number 4000000000000000006 please", "card number [CARD …0006] please"),
        ("ref 4000000000000000006 please", "ref 4000000000000000006 please"),
    ],
)
def test_mask_cards(text: str, masked: str) -> None:
    assert mask_cards(text) == masked


def luhn_valid_ids(n: int) -> list[str]:
    """``n`` random 18- and 19-digit ids (X's length) that pass the Luhn check."""
    rng = random.Random(20261124)
    found: list[str] = []
    while len(found) < n:
        candidate = str(rng.randrange(10**17, 10**19))
        if luhn_valid(candidate):
            found.append(candidate)
    return found


def test_mask_cards_never_eats_x_ids() -> None:
    for tweet_id in luhn_valid_ids(10_000):
        text = f"see https://x.com/ana/status/{tweet_id} and x.com/i/web/status/{tweet_id}"
        assert mask_cards(text) == text
        assert mask_cards(f"reply to {tweet_id}") == f"reply to {tweet_id}"
        payload = json.dumps({"id": tweet_id, "conversation_id": tweet_id, "text": "card"})
        assert redact_pii_in_bytes(payload.encode()) == payload.encode()


def test_mask_cards_bare_runs_need_a_card_network_prefix() -> None:
    assert mask_cards("ref 4111111111111111") == "ref [CARD …1111]"  # Visa
    assert mask_cards("ref 1111111111111117") == "ref 1111111111111117"  # no network


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("mail jürgen@müller.example now", "mail [EMAIL] now"),
        ("δοκιμή@παράδειγμα.δοκιμή", "[EMAIL]"),
        ("用户@例子.广告 ok", "[EMAIL] ok"),
        ("ana@example.xn--p1ai", "[EMAIL]"),
        ("call +44 7700 900123 today", "call [PHONE] today"),
        ("iban GB82 WEST 1234 5698 7654 32.", "iban [IBAN]."),
        ("card 4111 1111 1111 1111", "card [CARD …1111]"),
        ("on 2026-11-24 at 10:00", "on 2026-11-24 at 10:00"),
    ],
)
def test_redact_pii(text: str, redacted: str) -> None:
    assert redact_pii(text) == redacted


def test_redact_pii_in_bytes_keeps_ids_numbers_and_invalid_utf8() -> None:
    payload = (
        b'{"id": "1790000000000000005", "created_utc": 1790000000, "author_id": "42",'
        b' "text": "caf\xe9 mail me at j\xc3\xbcrgen@m\xc3\xbcller.example or +44 7700 900123"}'
    )
    assert redact_pii_in_bytes(payload) == (
        b'{"id": "1790000000000000005", "created_utc": 1790000000, "author_id": "42",'
        b' "text": "caf\xe9 mail me at [EMAIL] or [PHONE]"}'
    )


def test_redacting_filter_rewrites_messages_args_and_tracebacks() -> None:
    import io
    import logging

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("bad record: %s", "card 4111 1111 1111 1111, jürgen@müller.example")
        try:
            raise ValueError("call +44 7700 900123")
        except ValueError:
            logger.exception("failed for ana@example.com")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "bad record: card [CARD …1111], [EMAIL]" in out
    assert "failed for [EMAIL]" in out and "ValueError: call [PHONE]" in out
    for raw in ("4111 1111", "jürgen@", "ana@example.com", "7700 900123"):
        assert raw not in out


def test_mask_cards_in_bytes_keeps_invalid_utf8() -> None:
    payload = b'{"text": "caf\xe9 4111111111111111"}'
    assert mask_cards_in_bytes(payload) == b'{"text": "caf\xe9 [CARD \xe2\x80\xa61111]"}'


def test_dead_letter_payload_is_stored_masked(store: SqlStore) -> None:
    store.dead_letters.add(
        [DeadLetter("x", "a.jsonl:1", "a.jsonl:1: bad", b'{"text": "4111 1111 1111 1111", ')]
    )
    (letter,) = store.dead_letters.list()
    assert b"4111 1111 1111 1111" not in letter.payload and b"[CARD" in letter.payload


def test_card_number_never_reaches_the_store_but_still_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EARSHOT_HOME", str(tmp_path / "home"))
    feed = tmp_path / "feed"
    feed.mkdir()
    tweet = {
        "id": "77",
        "text": "@HaldenSupport you charged my card 4111 1111 1111 1111 twice, refund please",
        "author_id": "42",
        "created_at": "2026-11-20T09:00:00.000Z",
    }
    broken = dict(tweet, id="78")
    del broken["created_at"]
    page = {
        "data": [tweet, broken],
        "includes": {"users": [{"id": "42", "username": "ana"}]},
        "meta": {},
    }
    (feed / "a.jsonl").write_text(json.dumps(page) + "\n", encoding="utf-8")
    config = load_config(
        write_config(
            tmp_path,
            sources=[
                {"name": "f", "type": "replay", "network": "x", "paths": [str(feed / "*.jsonl")]}
            ],
        )
    )
    pipeline.run_once(config)
    store = open_store(config)
    post = store.posts.get("x:77")
    assert post is not None and "[CARD …1111]" in post.text
    enrichment = store.posts.get_enrichment("x:77")
    assert enrichment is not None and "payment card number in post" in enrichment.private.reasons
    for path in (tmp_path / "home").rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert b"4111 1111 1111 1111" not in content and b"4111111111111111" not in content, (
                path
            )
