"""Card numbers are masked before anything is stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.config import load_config
from core.models import DeadLetter
from core.redaction import mask_cards, mask_cards_in_bytes
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
    ],
)
def test_mask_cards(text: str, masked: str) -> None:
    assert mask_cards(text) == masked


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
