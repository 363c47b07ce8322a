"""Personal data kept out of where it must not go.

- **Card numbers never reach storage**: :func:`mask_cards` masks them where posts enter
  Earshot (text, title, display name), keeping the last four digits (``[CARD …1234]``) so that
  an agent can still tell which card the customer means.
- **Dead letters and logs carry no personal data at all**: :func:`redact_pii` also replaces
  emails (international ones too), phone numbers and IBANs with ``[EMAIL]``, ``[PHONE]``,
  ``[IBAN]``; :func:`redact_pii_in_bytes` does it to a raw record and keeps its ids;
  :class:`RedactingFilter` does it to every log record.

Cards are found by context, not by any Luhn-valid run of digits (about 10 % of 19-digit X ids
pass the Luhn check):

- written in groups (``4111 1111 1111 1111``, ``4111.1111.1111.1111``, ``4111  1111 ...``,
  ``4111-1111-...``, ``3782 822463 10005``; separators: spaces, dots, hyphens, slashes,
  underscores, up to three in a row): a card when the digits (13 to 19) pass the Luhn check;
- one bare run of 13 to 16 digits: a card when it passes the Luhn check and starts like a
  card network's number (Visa, Mastercard, American Express, Discover, JCB, Diners, UnionPay,
  Maestro);
- one bare run of 17 to 19 digits (the length of X ids): a card only with a card word
  ("card", "visa", "cc", "tarjeta", "Karte", ...) in the 40 characters before it;
- never inside a link (``https://x.com/a/status/1790...``), never right after ``+`` (a phone
  number), ``/``, ``.``, ``:`` or a letter.

This module is the foundation: it imports nothing of Earshot's. ``nlp.pii_patterns`` uses its
patterns for the PII classifiers.
"""

from __future__ import annotations

import logging
import re

_SEP = r"(?:[ \t\u00a0./_-]{1,3})"
CARD = re.compile(
    r"(?<![\w+./:=#-])"
    r"(?:\d{13,19}"
    rf"|\d{{4}}(?:{_SEP}\d{{4}}){{2,3}}(?:{_SEP}\d{{1,3}})?"
    rf"|\d{{4}}{_SEP}\d{{6}}{_SEP}\d{{3,5}})"
    r"(?![\w-]|[./]\d)"
)
"""Card-number candidates: a bare run of digits or digits in groups (checked further by
:func:`card_digits`)."""
MASKED_CARD = re.compile(r"\[CARD …\d{4}\]")
URL = re.compile(r"(?i)\b(?:https?://|www\.)\S+")
_CARD_WORD = re.compile(
    r"(?i)\b(?:cards?|visa|master\s?card|mc|amex|american express|discover|jcb|maestro|"
    r"credit|debit|cc|cvv|pan|tarjeta|carte|karte|kreditkarte|carta|cartão|kaart)\b"
)
_NETWORK_PREFIX = re.compile(
    r"4|5[1-5]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|3[47]|6011|64[4-9]|65|"
    r"35(?:2[89]|[3-8]\d)|3(?:0[0-5]|[68])|62|5[06-9]|6\d"
)

EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.(?:[^\W\d_]{2,}|xn--[\w-]+)(?![\w-])"
)
"""Email addresses, international ones too (``jürgen@müller.example``, IDN domains)."""
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,5}(?:[ .-]\d{2,8}){1,4}(?![\w])"
    r"|(?<![\w+])\+?\d{10,14}(?!\w)"
)
_DATE = re.compile(r"(19|20)\d\d[ .-]\d{1,2}[ .-]\d{1,2}")


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


def card_digits(candidate: str, context: str = "") -> str | None:
    """The digits of ``candidate`` if it is a card number by the rules above, else None.
    ``context`` is the text just before it (for bare runs of 17 to 19 digits)."""
    digits = re.sub(r"\D", "", candidate)
    if not (13 <= len(digits) <= 19 and luhn_valid(digits)):
        return None
    if not candidate.isdigit():  # written in groups
        return digits
    if len(digits) <= 16:
        return digits if _NETWORK_PREFIX.match(digits) else None
    return digits if _CARD_WORD.search(context[-40:]) else None


def mask_cards(text: str) -> str:
    """Replace every card number with ``[CARD …1234]`` (its last four digits)."""
    if not any(c.isdigit() for c in text):
        return text
    links = [m.span() for m in URL.finditer(text)]

    def mask(match: re.Match[str]) -> str:
        if any(a <= match.start() < b for a, b in links):
            return match.group()
        digits = card_digits(match.group(), text[: match.start()])
        return f"[CARD …{digits[-4:]}]" if digits else match.group()

    return CARD.sub(mask, text)


def iban_valid(candidate: str) -> bool:
    """ISO 13616 check: move the first four characters to the end, mod 97 must be 1."""
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rotated = compact[4:] + compact[:4]
    try:
        return int("".join(str(int(c, 36)) for c in rotated)) % 97 == 1
    except ValueError:
        return False


def phone_like(candidate: str) -> bool:
    """Whether a :data:`PHONE` match has a phone number's length and is not a date."""
    digits = re.sub(r"\D", "", candidate)
    return 9 <= len(digits) <= 15 and not _DATE.fullmatch(candidate)


def redact_pii(text: str) -> str:
    """``text`` with cards masked and emails, IBANs and phone numbers replaced by
    ``[EMAIL]``, ``[IBAN]``, ``[PHONE]``: for dead-letter errors and payloads and for logs."""
    text = mask_cards(text)
    text = EMAIL.sub("[EMAIL]", text)
    text = IBAN.sub(lambda m: "[IBAN]" if iban_valid(m.group()) else m.group(), text)
    return PHONE.sub(lambda m: "[PHONE]" if phone_like(m.group()) else m.group(), text)


# In a raw JSON record, ids and numbers are never personal data: they are left as they are.
_JSON_KEPT = re.compile(
    r'"(?:id|ids|name|[A-Za-z]+_ids?|[A-Za-z]+_token|fullname)"\s*:\s*"[\w-]*"'
    r"|(?<=[:\[,])\s*-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?=\s*[,\]}])"
)


def _id_or_redacted(field: str) -> str:
    """A JSON id field as it is, unless its value is itself a card number or an IBAN."""
    value = field.rsplit(":", 1)[-1].strip().strip('"')
    if IBAN.fullmatch(value) and iban_valid(value):
        return field.replace(value, "[IBAN]")
    return field.replace(value, mask_cards(value))  # ids of 10+ digits are no phone numbers


def redact_pii_in_bytes(payload: bytes) -> bytes:
    """:func:`redact_pii` for a raw record (a dead letter's bytes): JSON ids and numbers are
    kept, so the record can still be identified; invalid UTF-8 bytes are kept as they were."""
    text = payload.decode("utf-8", errors="surrogateescape")
    parts: list[str] = []
    last = 0
    for kept in _JSON_KEPT.finditer(text):
        parts.append(redact_pii(text[last : kept.start()]))
        parts.append(_id_or_redacted(kept.group()))
        last = kept.end()
    parts.append(redact_pii(text[last:]))
    redacted = "".join(parts)
    return payload if redacted == text else redacted.encode("utf-8", errors="surrogateescape")


def mask_cards_in_bytes(payload: bytes) -> bytes:
    """:func:`mask_cards` for raw payloads, keeping any invalid UTF-8 byte as it was."""
    text = payload.decode("utf-8", errors="surrogateescape")
    masked = mask_cards(text)
    return payload if masked == text else masked.encode("utf-8", errors="surrogateescape")


class RedactingFilter(logging.Filter):
    """A logging filter that passes every record's message (with its arguments, and any
    exception text) through :func:`redact_pii`, so no log line carries personal data.

    Install it on handlers (``handler.addFilter(RedactingFilter())``): a handler filter sees
    records from every logger, a logger filter only its own logger's.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_pii(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_pii(record.exc_text)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Add a :class:`RedactingFilter` to every handler of ``logger`` (default: the root
    logger) that has none yet."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
