"""Finding personal data and identifiers in text (validated patterns), and redacting them.

Emails (international ones too), phone numbers, payment cards (found by context and
Luhn-checked, see :mod:`core.redaction`), mod-97-checked IBANs and configurable identifiers
(order, account and booking numbers). The patterns for cards, emails, phones and IBANs are
:mod:`core.redaction`'s, so that what the classifiers find and what dead letters and logs
redact agree. Both PII classifiers and the pipeline's redaction use these helpers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from core.errors import ConfigError
from core.models import PiiSpan
from core.redaction import (
    CARD,
    EMAIL,
    IBAN,
    MASKED_CARD,
    PHONE,
    URL,
    card_digits,
    iban_valid,
    phone_like,
)

_SEP = r"\s*[:#]?\s*#?\s*"  # "order no: #123", "order #123", "order 123"
DEFAULT_IDENTIFIERS = {
    "order_number": r"(?i)\border\s*(?:number|no\.?|num|id|#)?"
    + _SEP
    + r"([A-Z]{0,4}-?\d{5,12})\b",
    "account_number": r"(?i)\b(?:account|acct|customer)\s*(?:number|no\.?|num|id|#)"
    + _SEP
    + r"([A-Z]{0,4}-?\d{5,12})\b",
    "booking_reference": r"(?i)\b(?:booking|reservation|confirmation)\s*"
    r"(?:ref(?:erence)?|code|number|no\.?|#)" + _SEP + r"([A-Z0-9]{6,10})\b",
}
"""Identifier patterns (group 1 is the identifier); ``pii_patterns`` in the configuration
adds to them or overrides them by name."""
REDACTION = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "card": "[CARD]",
    "iban": "[IBAN]",
    "order_number": "[ORDER]",
    "account_number": "[ACCOUNT]",
    "booking_reference": "[BOOKING]",
}
"""The placeholder of each kind of span in redacted text (others get ``[KIND]``)."""
# When two findings overlap, the more specific (and more sensitive) one wins.
_PRECEDENCE = [
    "card",
    "iban",
    "email",
    "order_number",
    "account_number",
    "booking_reference",
    "phone",
]
_DIGIT = re.compile(r"\d")


def compile_identifiers(patterns: Mapping[str, str] | None = None) -> dict[str, re.Pattern[str]]:
    """The default identifier patterns, with ``patterns`` (from ``pii_patterns``) over them."""
    compiled = {}
    for kind, pattern in {**DEFAULT_IDENTIFIERS, **(patterns or {})}.items():
        try:
            compiled[kind] = re.compile(pattern)
        except re.error as e:
            raise ConfigError(f"pii_patterns.{kind}: invalid regular expression ({e})") from None
    return compiled


def find_pii(text: str, identifiers: Mapping[str, re.Pattern[str]]) -> list[PiiSpan]:
    """Every PII or identifier span in ``text``, without overlaps, in text order."""
    if "@" not in text and not _DIGIT.search(text):
        # Cards, IBANs, phones and emails all need a digit or an "@": only identifiers remain.
        return _choose([s for kind, p in identifiers.items() for s in _spans(kind, p, text)])
    candidates: list[PiiSpan] = []
    links = [m.span() for m in URL.finditer(text)]
    for match in CARD.finditer(text):
        in_link = any(a <= match.start() < b for a, b in links)
        if not in_link and card_digits(match.group(), text[: match.start()]):
            candidates.append(PiiSpan("card", match.start(), match.end()))
    for match in MASKED_CARD.finditer(text):  # masked on the way in; still a card in the post
        candidates.append(PiiSpan("card", match.start(), match.end()))
    for match in IBAN.finditer(text):
        if iban_valid(match.group()):
            candidates.append(PiiSpan("iban", match.start(), match.end()))
    for match in EMAIL.finditer(text):
        candidates.append(PiiSpan("email", match.start(), match.end()))
    for kind, pattern in identifiers.items():
        candidates.extend(_spans(kind, pattern, text))
    for match in PHONE.finditer(text):
        if phone_like(match.group()):
            candidates.append(PiiSpan("phone", match.start(), match.end()))
    return _choose(candidates)


def _spans(kind: str, pattern: re.Pattern[str], text: str) -> list[PiiSpan]:
    group = 1 if pattern.groups else 0
    return [PiiSpan(kind, m.start(group), m.end(group)) for m in pattern.finditer(text)]


def _choose(candidates: list[PiiSpan]) -> list[PiiSpan]:
    """Drop overlaps (the more specific kind wins) and sort by position."""
    rank = {kind: i for i, kind in enumerate(_PRECEDENCE)}
    chosen: list[PiiSpan] = []
    for span in sorted(candidates, key=lambda s: (rank.get(s.type, len(rank)), s.start)):
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def redact(text: str, spans: Sequence[PiiSpan]) -> str:
    """Replace each span with its placeholder (``[EMAIL]``, ``[CARD]``, ...)."""
    parts = []
    last = 0
    for span in sorted(spans, key=lambda s: s.start):
        parts.append(text[last : span.start])
        parts.append(REDACTION.get(span.type, f"[{span.type.upper()}]"))
        last = span.end
    parts.append(text[last:])
    return "".join(parts)
