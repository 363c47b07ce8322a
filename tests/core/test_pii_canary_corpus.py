"""The PII canary corpus is what it says it is, and the foundation's redaction removes every
canary from text, from raw records and from log lines."""

from __future__ import annotations

import io
import json
import logging
import re

from core.redaction import (
    RedactingFilter,
    iban_valid,
    luhn_valid,
    mask_cards,
    mask_cards_in_bytes,
    redact_pii,
    redact_pii_in_bytes,
)
from tests.pii_canary import (
    CANARY_CARDS,
    CANARY_EMAILS,
    CANARY_IBANS,
    CANARY_PHONES,
    card_digits,
    card_needles,
    raw_needles,
)

SECRETS = [*CANARY_CARDS, *CANARY_EMAILS, *CANARY_PHONES, *CANARY_IBANS]


def leaks(text: str) -> list[str]:
    return [needle for needle in raw_needles() if needle in text]


def test_canary_cards_are_valid_and_written_every_way() -> None:
    assert all(luhn_valid(card_digits(card)) for card in CANARY_CARDS)
    assert sum(card.isdigit() for card in CANARY_CARDS) == 1  # the one bare run
    separators = {sep for card in CANARY_CARDS for sep in re.findall(r"\D+", card)}
    for sep in [" ", "  ", "-", ".", "/", " - ", "\u2013", "\u00a0", "\u202f"]:
        assert sep in separators, repr(sep)
    layouts = {tuple(len(g) for g in re.findall(r"\d+", card)) for card in CANARY_CARDS}
    assert {(16,), (4, 4, 4, 4), (4, 6, 5), (4, 6, 4)} <= layouts


def test_canary_ibans_pass_mod_97() -> None:
    assert all(iban_valid(iban) for iban in CANARY_IBANS)


def test_raw_needles_hold_each_secret_in_each_form() -> None:
    needles = raw_needles()
    assert set(SECRETS) <= set(needles)
    assert "4111111111111111" in needles and "4155550142" in needles
    assert "GB82WEST12345698765432" in needles
    assert "j\\u00fcrgen@m\\u00fcller.example" in needles  # as json.dumps writes it
    assert "jürgen@xn--mller-kva.example" in needles  # the domain in punycode
    assert len(needles) == len(set(needles))
    assert set(card_needles()) <= set(needles)


def test_mask_cards_masks_every_canary_card() -> None:
    for card in CANARY_CARDS:
        masked = mask_cards(f"refund to {card} pls")
        assert masked == f"refund to [CARD …{card_digits(card)[-4:]}] pls", repr(card)


def test_redact_pii_leaves_no_canary() -> None:
    for secret in SECRETS:
        redacted = redact_pii(f"x.jsonl:1 item 0: id must be a numeric id, got {secret!r}")
        assert leaks(redacted) == [], (secret, redacted)


def test_raw_records_keep_no_canary_however_they_are_encoded() -> None:
    for secret in SECRETS:
        record = {"id": "1995000000000000000", "text": f"details: {secret}", "name": secret}
        for ensure_ascii in (True, False):
            payload = json.dumps(record, ensure_ascii=ensure_ascii).encode()
            redacted = redact_pii_in_bytes(payload)
            assert leaks(redacted.decode()) == [], (secret, redacted)
            assert b'"id": "1995000000000000000"' in redacted


def test_mask_cards_in_bytes_masks_every_canary_card_only() -> None:
    for secret in SECRETS:
        payload = json.dumps({"text": secret}).encode()
        masked = mask_cards_in_bytes(payload).decode()
        assert [n for n in card_needles() if n in masked] == []
        if secret not in CANARY_CARDS:
            assert masked == payload.decode()


def test_log_lines_carry_no_canary() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test.pii_canary_corpus")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for secret in SECRETS:
            logger.warning("bad record sent to the dead-letter table: %s", f"got {secret!r}")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert out.count("bad record sent to the dead-letter table") == len(SECRETS)
    assert leaks(out) == []
