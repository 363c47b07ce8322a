"""Payment card numbers never reach storage: they are masked where posts enter Earshot, keeping
the last four digits so an agent can still tell which card the customer means."""

from __future__ import annotations

import re

# Card numbers as people write them: 13-19 digits in one run, in groups of four, or grouped
# 4-6-5 (American Express). Never right after "+" (that is a phone number).
CARD = re.compile(
    r"(?<![\d+-])"
    r"(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?|\d{4}[ -]\d{6}[ -]\d{3,5})"
    r"(?![\d-])"
)
MASKED_CARD = re.compile(r"\[CARD …\d{4}\]")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum that every payment card number satisfies."""
    if not digits.isdigit():
        return False
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def card_digits(candidate: str) -> str | None:
    """The digits of ``candidate`` if it is a Luhn-valid card number, else None."""
    digits = re.sub(r"\D", "", candidate)
    return digits if 13 <= len(digits) <= 19 and luhn_valid(digits) else None


def mask_cards(text: str) -> str:
    """Replace every Luhn-valid card number with ``[CARD …1234]`` (its last four digits)."""

    def mask(match: re.Match[str]) -> str:
        digits = card_digits(match.group())
        return f"[CARD …{digits[-4:]}]" if digits else match.group()

    return CARD.sub(mask, text)


def mask_cards_in_bytes(payload: bytes) -> bytes:
    """:func:`mask_cards` for raw payloads, keeping any invalid UTF-8 byte as it was."""
    text = payload.decode("utf-8", errors="surrogateescape")
    masked = mask_cards(text)
    return payload if masked == text else masked.encode("utf-8", errors="surrogateescape")
