"""Card numbers are masked before anything is stored; dead letters and logs carry no personal
data at all."""

from __future__ import annotations

import io
import json
import logging
import random
from collections.abc import Iterator
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


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # separators people use, and what they write right before a card
        ("en dashes 4111\u20131111\u20131111\u20131111", "en dashes [CARD …1111]"),
        ("nbsp 4111\u00a01111\u00a01111\u00a01111", "nbsp [CARD …1111]"),
        ("narrow 4111\u202f1111\u202f1111\u202f1111 !", "narrow [CARD …1111] !"),
        ("spaced 4111 - 1111 - 1111 - 1111", "spaced [CARD …1111]"),
        ("lines 4111\n1111\n1111\n1111", "lines [CARD …1111]"),
        ("card:4111 1111 1111 1111", "card:[CARD …1111]"),
        ("cc#4111111111111111", "cc#[CARD …1111]"),
        ("card no.4111 1111 1111 1111", "card no.[CARD …1111]"),
        ("visa 4222 2222 22222", "visa [CARD …2222]"),  # 13 digits, 4-4-5
        ("diners 3056 930902 5904", "diners [CARD …5904]"),  # 14 digits, 4-6-4
        ("بطاقة ٤١١١١١١١١١١١١١١١", "بطاقة [CARD …1111]"),  # Arabic-Indic digits
        ("４１１１ １１１１ １１１１ １１１１", "[CARD …1111]"),  # full-width digits
        # what is written after a card is not part of it
        ("4111 1111 1111 1111 123 is the cvv", "[CARD …1111] 123 is the cvv"),
        ("4111 1111 1111 1111 12/29", "[CARD …1111] 12/29"),
        ("paid 2024 1111. 4111 1111 1111 1111", "paid 2024 1111. [CARD …1111]"),
        ("two 4111 1111 1111 1111 5555 5555 5555 4444", "two [CARD …1111] [CARD …4444]"),
        # bare runs: a card network's prefix and length; 17 to 19 digits need a card word
        ("4000000000000000006 is my card number", "[CARD …0006] is my card number"),
        ("Kreditkarte 4000000000000000006", "Kreditkarte [CARD …0006]"),
        ("卡号 4000000000000000006", "卡号 [CARD …0006]"),
        ("my card 1790000000000000005", "my card 1790000000000000005"),  # an X id
        ("mir 2200000000000004", "mir [CARD …0004]"),
        ("ms 1732000000000 then", "ms 1732000000000 then"),  # 13 digits, no network
        # never a card: an IBAN (its digits pass Luhn), a phone number, a link
        ("iban DE14 3704 5260 1815 9083 01", "iban DE14 3704 5260 1815 9083 01"),
        ("tel 0049 1511 2345 678", "tel 0049 1511 2345 678"),
        ("https://pay.example/a?n=4111111111111111", "https://pay.example/a?n=4111111111111111"),
        ("mail 4111111111111111@example.com", "mail 4111111111111111@example.com"),
    ],
)
def test_mask_cards_every_way_people_write_them(text: str, masked: str) -> None:
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
        assert redact_pii(text) == text
        assert mask_cards(f"reply to {tweet_id}") == f"reply to {tweet_id}"
        payload = json.dumps({"id": tweet_id, "conversation_id": tweet_id, "text": "card"})
        assert redact_pii_in_bytes(payload.encode()) == payload.encode()


def json_payloads(tweet_id: str) -> Iterator[bytes]:
    """A record quoting ``tweet_id`` as ids are written in raw records, a card word nearby."""
    yield json.dumps({"text": "my card", "in_reply_to_user_id": tweet_id}).encode()
    yield json.dumps({"text": "visa", "id": int(tweet_id), "ids": [int(tweet_id)]}).encode()
    yield json.dumps({"text": "card", "edit_history_tweet_ids": [tweet_id, tweet_id]}).encode()
    yield json.dumps({"text": "card", "authorId": tweet_id}, separators=(",", ":")).encode()
    yield json.dumps({"text": f"card https://x.com/a/status/{tweet_id}"}).encode()
    yield (r'{"text": "card https:\/\/x.com\/a\/status\/' + tweet_id + '"}').encode()
    yield json.dumps({"url": f"https://www.reddit.com/r/a/comments/{tweet_id}/"}).encode()


def test_raw_records_keep_their_ids_next_to_a_card_word() -> None:
    for tweet_id in luhn_valid_ids(10_000):
        for payload in json_payloads(tweet_id):
            assert redact_pii_in_bytes(payload) == payload, payload
            assert mask_cards_in_bytes(payload) == payload, payload


def test_mask_cards_keeps_x_ids_next_to_a_card_word() -> None:
    # X ids start with 1 (no card network does): a card word nearby does not make one a card
    for tweet_id in luhn_valid_ids(2_000):
        if tweet_id.startswith("1"):
            text = f"my card was charged twice, see tweet {tweet_id} please"
            assert mask_cards(text) == text


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
        # international emails: combining marks, full-width @ and ideographic full stop
        ("mail उपयोगकर्ता@उदाहरण.भारत now", "mail [EMAIL] now"),
        ("ผู้ใช้@ตัวอย่าง.ไทย", "[EMAIL]"),
        ("联系 用户＠例子。广告 谢谢", "联系 [EMAIL] 谢谢"),
        ("o'neil@example.com", "o'[EMAIL]"),  # not b'...' of a quoted bytes value
        ("got 'ana@example.com'", "got '[EMAIL]'"),
        # IBANs in lower case, with hyphens, followed by a word; never half taken for a card
        ("gb82 west 1234 5698 7654 32", "[IBAN]"),
        ("GB82-WEST-1234-5698-7654-32", "[IBAN]"),
        ("BE68 5390 0754 7034 THEN", "[IBAN] THEN"),
        ("DE14 3704 5260 1815 9083 01", "[IBAN]"),
        # phone numbers, and numbers in log lines that are none
        ("ring 030/90182077", "ring [PHONE]"),
        ("06.12.34.56.78", "[PHONE]"),
        ("call 4155550142 or 07700900456", "call [PHONE] or [PHONE]"),
        ("since 2026-11-24 10:00:00 UTC", "since 2026-11-24 10:00:00 UTC"),
        ("took 1234.567890 s", "took 1234.567890 s"),
        ("created_utc 1790000000, ms 1732000000000", "created_utc 1790000000, ms 1732000000000"),
        ("from 192.168.100.200", "from 192.168.100.200"),
        ("run 123e4567-e89b-12d3-a456-426614174000", "run 123e4567-e89b-12d3-a456-426614174000"),
        ("see https://x.com/a/status/1790000000005", "see https://x.com/a/status/1790000000005"),
        # values quoted by repr() or JSON in error messages and log lines
        (r"got '4111\xa01111\xa01111\xa01111'", "got '[CARD …1111]'"),
        (r"got '4111\u202f1111\u202f1111\u202f1111'", "got '[CARD …1111]'"),
        (r"'line\n4111 1111 1111 1111'", r"'line\n[CARD …1111]'"),
        (r"raw b'j\xc3\xbcrgen@m\xc3\xbcller.example'", "raw b'[EMAIL]'"),
        (r'"j\u00fcrgen@m\u00fcller.example"', '"[EMAIL]"'),
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


@pytest.mark.parametrize(
    ("payload", "redacted"),
    [
        # JSON escapes are read for what they mean
        (
            rb'{"text": "mail j\u00fcrgen@m\u00fcller.example \u2014 ok"}',
            '{"text": "mail [EMAIL] \u2014 ok"}'.encode(),
        ),
        (rb'{"text": "4111\u00a01111\u00a01111\u00a01111"}', '{"text": "[CARD …1111]"}'.encode()),
        # the key says what a value is
        (b'{"card_number": "4000000000000000006"}', '{"card_number": "[CARD …0006]"}'.encode()),
        (b'{"paid": 4111111111111111}', '{"paid": [CARD …1111]}'.encode()),
        # an id is kept only as a bare number
        (b'{"id": 4111111111111111, "author_id": "42"}', None),
        (b'{"id": "DE89370400440532013000"}', b'{"id": "[IBAN]"}'),
        (b'{"id": "5555-5555-5555-4444"}', '{"id": "[CARD …4444]"}'.encode()),
        (b'{"ids": ["1", "ana@example.com"]}', b'{"ids": ["1", "[EMAIL]"]}'),
        # broken records: a string cut off, invalid UTF-8 outside and inside an escaped string
        (b'{"text": "+44 7700 900123, 4111 1111', b'{"text": "[PHONE], 4111 1111'),
        (
            b'caf\xe9 {"text": "caf\xe9 \\u00e9 ana@example.com"}',
            b'caf\xe9 {"text": "caf\xe9 \xc3\xa9 [EMAIL]"}',
        ),
    ],
)
def test_redact_pii_in_bytes_reads_json(payload: bytes, redacted: bytes | None) -> None:
    assert redact_pii_in_bytes(payload) == (payload if redacted is None else redacted)


def capture(logger_name: str) -> tuple[logging.Logger, io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.propagate = False
    return logger, stream, handler


def test_redacting_filter_survives_wrong_arguments_without_leaking(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logger, stream, handler = capture("test.redaction.arguments")
    try:
        logger.warning("bad record %s %s", "4111 1111 1111 1111")  # one argument missing
        logger.warning("stack for ana@example.com", stack_info=True)
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue() + capsys.readouterr().err
    assert "bad record %s %s (with arguments ('[CARD …1111]',))" in out
    assert "stack for [EMAIL]" in out and "Stack (most recent call last)" in out
    assert "4111 1111" not in out and "ana@example.com" not in out


def test_redacting_filter_rewrites_messages_args_and_tracebacks() -> None:
    logger, stream, handler = capture("test.redaction")
    try:
        logger.warning("bad record: %s", "card 4111 1111 1111 1111, jürgen@müller.example")
        logger.warning(
            "bad record sent to the dead-letter table: %s (%d bytes)",
            "a.jsonl:3 item 0: id must be a numeric id, got '4111.1111.1111.1111'",
            120,
        )
        try:
            raise ValueError("call +44 7700 900123")
        except ValueError:
            logger.exception("failed for ana@example.com")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "bad record: card [CARD …1111], [EMAIL]" in out
    assert "numeric id, got '[CARD …1111]' (120 bytes)" in out
    assert "failed for [EMAIL]" in out and "ValueError: call [PHONE]" in out
    for raw in ("4111 1111", "4111.1111", "jürgen@", "ana@example.com", "7700 900123"):
        assert raw not in out


def test_mask_cards_in_bytes_keeps_invalid_utf8() -> None:
    payload = b'{"text": "caf\xe9 4111111111111111"}'
    assert mask_cards_in_bytes(payload) == b'{"text": "caf\xe9 [CARD \xe2\x80\xa61111]"}'


def test_mask_cards_in_bytes_keeps_emails_and_ids() -> None:
    payload = b'{"text": "card", "id": "4111111111111111", "mail": "ana@example.com"}'
    assert mask_cards_in_bytes(payload) == payload


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
