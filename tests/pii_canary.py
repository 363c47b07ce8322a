"""The PII canary corpus: payment cards in every way people write them, emails (international
ones too), phone numbers and IBANs, all fake but valid (Luhn, mod 97). Tests plant them in
posts, display names, bios and broken records, then grep everything Earshot wrote for
:func:`raw_needles`."""

from __future__ import annotations

import json
import re

CANARY_CARDS = [
    # One Visa test number in every way people write it.
    "4111111111111111",  # one run (the only all-digit canary: it is also a valid tweet id)
    "4111 1111 1111 1111",
    "4111  1111  1111  1111",  # double spaces
    "4111-1111-1111-1111",
    "4111.1111.1111.1111",  # dots
    "4111/1111/1111/1111",  # slashes
    "4111 - 1111 - 1111 - 1111",
    "4111\u20131111\u20131111\u20131111",  # en dashes
    "4111\u00a01111\u00a01111\u00a01111",  # no-break spaces
    "4111\u202f1111\u202f1111\u202f1111",  # narrow no-break spaces (French formatting)
    "4111 1111-1111.1111",  # mixed
    # Other networks and layouts.
    "5555-5555-5555-4444",  # Mastercard
    "2223 0000 4841 0010",  # Mastercard 2-series
    "4012 8888-8888.1881",  # Visa, mixed
    "3782 822463 10005",  # American Express, 4-6-5
    "3056 930902 5904",  # Diners Club, 4-6-4
    "6011/1111/1111/1117",  # Discover, slashes
    "3530.1113.3330.0000",  # JCB, dots
]
CANARY_EMAILS = [
    "ana.canary@example.com",
    "jürgen@müller.example",
    "δοκιμή@παράδειγμα.δοκιμή",
    "zoë+halden@exämple.de",
    "用户@例子.广告",
    "उपयोगकर्ता@उदाहरण.भारत",
]
CANARY_PHONES = [
    "+44 7700 900123",
    "(415) 555-0142",
    "+49 30 901820 77",
    "07700 900 456",
    "+1-202-555-0175",
    "+33 6 12 34 56 78",
]
CANARY_IBANS = [
    "GB82 WEST 1234 5698 7654 32",
    "DE89370400440532013000",
    "DE14 3704 5260 1815 9083 01",  # its digits after "DE14" also pass the Luhn check
]


def card_digits(card: str) -> str:
    return re.sub(r"\D", "", card)


def _escaped(needle: str) -> str:
    """``needle`` as ``json.dumps`` writes it by default (``j\\u00fcrgen@...``)."""
    return json.dumps(needle)[1:-1]


def _punycode(email: str) -> str:
    local, domain = email.split("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}"


def raw_needles() -> list[str]:
    """Strings whose presence anywhere Earshot wrote means a leak: each card as written and
    as bare digits; each email as written, JSON-escaped and with its domain in punycode;
    each phone number as written and as bare digits; each IBAN as written and compact."""
    needles = [*CANARY_CARDS, *(card_digits(c) for c in CANARY_CARDS)]
    needles += [*CANARY_EMAILS, *(_punycode(e) for e in CANARY_EMAILS)]
    needles += [*CANARY_PHONES, *(card_digits(p) for p in CANARY_PHONES)]
    needles += [*CANARY_IBANS, *(i.replace(" ", "") for i in CANARY_IBANS)]
    needles += [_escaped(n) for n in needles]
    return list(dict.fromkeys(needles))


def card_needles() -> list[str]:
    """Cards may appear nowhere at all, not even in the stored post an agent reads."""
    cards = [*CANARY_CARDS, *(card_digits(c) for c in CANARY_CARDS)]
    return list(dict.fromkeys([*cards, *(_escaped(c) for c in cards)]))
