"""The PII canary corpus: payment cards in every way people write them, emails (international
ones too), phone numbers and IBANs, all fake but valid (Luhn, mod 97). Tests plant them in
posts, display names, bios and broken records, then grep everything Earshot wrote."""

from __future__ import annotations

import re

CANARY_CARDS = [
    "4111111111111111",  # one run
    "4111 1111 1111 1111",
    "4111  1111  1111  1111",  # double spaces
    "5555-5555-5555-4444",
    "5555.5555.5555.4444",  # dots
    "4012 8888-8888.1881",  # mixed
    "3782 822463 10005",  # American Express, 4-6-5
    "6011/1111/1111/1117",  # slashes
]
CANARY_EMAILS = [
    "ana.canary@example.com",
    "jürgen@müller.example",
    "δοκιμή@παράδειγμα.δοκιμή",
    "zoë+halden@exämple.de",
]
CANARY_PHONES = ["+44 7700 900123", "(415) 555-0142", "+49 30 901820 77", "07700 900 456"]
CANARY_IBANS = ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"]


def card_digits(card: str) -> str:
    return re.sub(r"\D", "", card)


def raw_needles() -> list[str]:
    """Strings whose presence anywhere Earshot wrote means a leak: each card as written and as
    bare digits, and every address, phone number and IBAN as written."""
    cards = [*CANARY_CARDS, *(card_digits(c) for c in CANARY_CARDS)]
    return list(dict.fromkeys([*cards, *CANARY_EMAILS, *CANARY_PHONES, *CANARY_IBANS]))


def card_needles() -> list[str]:
    """Cards may appear nowhere at all, not even in the stored post an agent reads."""
    return list(dict.fromkeys([*CANARY_CARDS, *(card_digits(c) for c in CANARY_CARDS)]))
