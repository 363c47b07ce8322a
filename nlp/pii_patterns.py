"""Finding personal data and identifiers in text (validated patterns), and redacting them.

Emails (international ones too), phone numbers, payment cards (found by context and
Luhn-checked), mod-97-checked IBANs and configurable identifiers (order, account and booking
numbers). Cards, emails, phones and IBANs are found by :mod:`core.redaction`'s span finders
(whose docstring states the card rule), so that what the classifiers find and what dead
letters and logs redact agree. Both PII classifiers and the pipeline's redaction use these
helpers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from core.errors import ConfigError
from core.models import PiiSpan
from core.redaction import (
    MASKED_CARD,
    card_spans,
    email_spans,
    iban_spans,
    iban_valid,
    phone_spans,
)

__all__ = [
    "DEFAULT_IDENTIFIERS",
    "REDACTION",
    "compile_identifiers",
    "find_pii",
    "iban_valid",
    "redact",
]

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
_MAY_HOLD_PII = re.compile(r"[\d@\uff20]")


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
    if not _MAY_HOLD_PII.search(text):
        # Cards, IBANs, phones and emails all need a digit or an "@": only identifiers remain.
        return _choose([s for kind, p in identifiers.items() for s in _spans(kind, p, text)])
    # Cards never inside a link or an IBAN, phones never inside a link: core.redaction's
    # finders decide, so that the classifiers and the dead-letter redaction agree.
    candidates = [PiiSpan("card", a, b) for a, b, _ in card_spans(text)]
    for match in MASKED_CARD.finditer(text):  # masked on the way in; still a card in the post
        candidates.append(PiiSpan("card", match.start(), match.end()))
    candidates += [PiiSpan("iban", a, b) for a, b in iban_spans(text)]
    candidates += [PiiSpan("email", a, b) for a, b in email_spans(text)]
    for kind, pattern in identifiers.items():
        candidates.extend(_spans(kind, pattern, text))
    candidates += [PiiSpan("phone", a, b) for a, b in phone_spans(text)]
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
