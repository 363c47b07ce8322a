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

- **digits in groups** (``4111 1111 1111 1111``, ``4111.1111.1111.1111``, ``4111  1111 ...``,
  ``4111-1111-...``, ``4111/1111/...``, ``3782 822463 10005``, mixed): groups of 1 to 8 digits
  joined by one to three separators (any white space, ``.``, ``/``, ``_``, hyphens and dashes;
  not commas, which separate lists). The card is the run of consecutive groups that starts
  with a group of four digits, holds 13 to 19 digits, does not start with 0 and passes the
  Luhn check; a printed layout (4-4-4-4, 4-6-5, 4-6-4, 4-4-4-4-3, ...) with one kind of
  separator is preferred, so the CVV or expiry written after a card is not taken for part
  of it (``4111 1111 1111 1111 123`` masks the first 16 digits);
- **one bare run of 13 to 16 digits**: a card when it passes the Luhn check and starts like a
  card network's number of that length (Visa, Mastercard, American Express, Discover, JCB,
  Diners, UnionPay, Maestro, Mir);
- **one bare run of 17 to 19 digits** (the length of X ids): the same, and a card word
  (``card``, ``visa``, ``cc``, ``credit``, ``tarjeta``, ``Karte``, ``carte``, ``карта``,
  ``卡``, ...) within 40 characters before or after it. X ids start with 1, which no card
  network uses;
- **never** inside a link (``https://x.com/a/status/1790...``, ``reddit.com/r/...``), inside
  a valid IBAN, right after ``+`` (a phone number), ``/``, ``-``, ``@``, a letter or a
  decimal point, or right before ``@`` or a letter;
- in a raw JSON record, the value of an id key (``id``, ``ids``, ``id_str``, ``*_id``,
  ``*_ids``, ``*Id``, ``uuid``) is kept as it is when it is a number or a string of digits
  (``"id": "1790..."``, ``"ids": [1, 2]``); any other id value is redacted like all text.

This module is the foundation: it imports nothing of Earshot's. ``nlp.pii_patterns`` uses its
span finders for the PII classifiers.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Callable


def _combining_marks() -> str:
    """The combining marks (Unicode categories Mn, Mc, Me) of the first two planes, as the
    body of a character class. ``\\w`` leaves them out, yet Devanagari, Thai or Arabic words
    need them (``उदाहरण``, ``ผู้ใช้``)."""
    ranges: list[list[int]] = []
    for code in range(0x20000):
        if unicodedata.category(chr(code))[0] == "M":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "".join(f"{chr(a)}-{chr(b)}" if a != b else chr(a) for a, b in ranges)


_MARK = _combining_marks() + "\u200c\u200d"  # and the zero-width (non-)joiners

URL = re.compile(
    r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)\S+"
    r"|\b(?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?/\S*"
)
"""Links, with a scheme (``https://...``), ``www.`` or a domain and a path (``x.com/a/...``)."""
MASKED_CARD = re.compile(r"\[CARD …\d{4}\]")

EMAIL = re.compile(
    rf"(?<![\w{_MARK}.+-])[\w{_MARK}+-][\w{_MARK}.+-]*"  # local part (jürgen, 用户)
    r"[@\uff20]"  # or the full-width ＠
    rf"(?:[\w{_MARK}-]+[.\u3002\uff0e\uff61])+"  # domain labels; IDNA also takes 。．｡ as dots
    rf"(?:(?:[^\W\d_][{_MARK}]*){{2,}}|xn--[a-z0-9-]+)"  # top-level domain: letters
    rf"(?![\w{_MARK}-])",
    re.IGNORECASE,
)
"""Email addresses, international ones too (``jürgen@müller.example``, ``用户@例子.广告``,
``उपयोगकर्ता@उदाहरण.भारत``, punycode domains)."""

IBAN = re.compile(r"(?i)\b[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,3})?\b")
"""IBAN candidates, in upper or lower case, compact or in groups (checked by
:func:`iban_spans`)."""

PHONE = re.compile(
    r"(?<![\w+./-])(?:"
    r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,5}(?:[ ./-]\d{2,8}){1,4}"
    # one run of digits: international, national (leading 0) or North American
    r"|\+\d{8,14}|0\d{9,12}|1?[2-9]\d{9}|[2-9]\d{10,13}"
    r")(?!\w|[./-]\d)"
)
"""Phone number candidates (checked by :func:`phone_like`). A bare run of digits that starts
with 1 and is not 11 digits long (an epoch time, an X id) is no phone number."""
_NOT_PHONE = re.compile(
    r"\d+[.,]\d+"  # a decimal number
    r"|\d{1,3}(?:\.\d{1,3}){3}"  # an IPv4 address
    r"|(?:(?:19|20)\d\d([./-])\d{1,2}\1\d{1,2}|\d{1,2}([./-])\d{1,2}\2(?:19|20)\d\d)"
    r"(?:[ T]\d{1,2})?"  # a date, perhaps with the hour of a time after it
    r"|(?:19|20)\d\d \d{1,2} \d{1,2}"
)

_SEP = r"[\s./_\u2010-\u2015\u2212\uff0d-]{1,3}"
_CARD = re.compile(
    r"(?<![\w+/@-])(?<!\d[.,:])"
    rf"(?:\d{{1,8}}(?:{_SEP}\d{{1,8}})+|\d{{13,19}})"
    r"(?![\w@-]|[./,:]\d)"
)
_GROUP = re.compile(r"\d+")
# Layouts printed on cards, most common first; other groupings are cards too, but after these.
_LAYOUTS = {
    layout: rank
    for rank, layout in enumerate(
        [
            (4, 4, 4, 4),
            (4, 6, 5),
            (4, 6, 4),
            (4, 4, 4, 4, 3),
            (4, 4, 4, 3),
            (4, 4, 4, 2),
            (4, 4, 4, 1),
            (4, 4, 5),
            (4, 4, 4, 4, 2),
            (4, 4, 4, 4, 1),
        ]
    )
}
_NETWORKS = [
    (re.compile(prefix), lengths)
    for prefix, lengths in [
        (r"4", (13, 16, 19)),  # Visa
        (r"5[1-5]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)", (16,)),  # Mastercard
        (r"3[47]", (15,)),  # American Express
        (r"6011|64[4-9]|65", range(16, 20)),  # Discover
        (r"35(?:2[89]|[3-8]\d)", range(16, 20)),  # JCB
        (r"3(?:0[0-5]|095|[689])", range(14, 20)),  # Diners Club
        (r"62", range(16, 20)),  # UnionPay
        (r"5[06-9]|6\d", range(12, 20)),  # Maestro
        (r"220[0-4]", range(16, 20)),  # Mir
    ]
]
_CARD_WORD = re.compile(
    r"(?i)\w*(?:card|karte|kaart|tarjeta|carte|carta|cart[ãa]o|karta|kartu|kartı|карт)\w*"
    r"|(?<![^\W\d_])(?:visa|master ?card|mc|amex|american express|discover|jcb|maestro|"
    r"union ?pay|diners|credit|debit|cc|cvv|cvc|pan|kort|kreditkort|кредитк\w*)(?![^\W\d_])"
    r"|卡|カード|카드|بطاقة"
)
_CONTEXT = 40  # characters either side of a bare run of 17 to 19 digits searched for a card word


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum that every payment card number satisfies."""
    if not digits.isdecimal():
        return False
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def card_network(digits: str) -> bool:
    """Whether ``digits`` start like a card network's number of that length (the IIN)."""
    return any(len(digits) in lengths and prefix.match(digits) for prefix, lengths in _NETWORKS)


def iban_valid(candidate: str) -> bool:
    """ISO 13616 check: move the first four characters to the end, mod 97 must be 1."""
    compact = re.sub(r"[ -]", "", candidate).upper()
    if not (15 <= len(compact) <= 34 and compact[:2].isalpha() and compact.isascii()):
        return False
    rotated = compact[4:] + compact[:4]
    try:
        return int("".join(str(int(c, 36)) for c in rotated)) % 97 == 1
    except ValueError:
        return False


def phone_like(candidate: str) -> bool:
    """Whether a :data:`PHONE` match has a phone number's length and is not a date, a time,
    a decimal number or an IP address."""
    digits = re.sub(r"\D", "", candidate)
    return 9 <= len(digits) <= 15 and not _NOT_PHONE.fullmatch(candidate)


Span = tuple[int, int]


def _inside(start: int, spans: list[Span]) -> bool:
    return any(a <= start < b for a, b in spans)


def link_spans(text: str) -> list[Span]:
    """Where the links in ``text`` are."""
    return [m.span() for m in URL.finditer(text)]


def iban_spans(text: str) -> list[Span]:
    """Where the valid IBANs (mod 97) in ``text`` are. A candidate that runs on into the next
    word (``BE68 5390 0754 7034 THEN``) is cut back group by group until it is valid."""
    spans = []
    for match in IBAN.finditer(text):
        ends = [match.start() + g.end() for g in re.finditer(r"[A-Za-z0-9]+", match.group())]
        for end in reversed(ends):
            if iban_valid(text[match.start() : end]):
                spans.append((match.start(), end))
                break
    return spans


def email_spans(text: str) -> list[Span]:
    """Where the email addresses in ``text`` are (inside links too: ``?to=ana@example.com``)."""
    return [m.span() for m in EMAIL.finditer(text)]


def phone_spans(text: str) -> list[Span]:
    """Where the phone numbers in ``text`` are, outside links (whose digits are ids)."""
    if not any(c.isdigit() for c in text):
        return []
    links = link_spans(text)
    return [
        m.span()
        for m in PHONE.finditer(text)
        if phone_like(m.group()) and not _inside(m.start(), links)
    ]


def card_spans(text: str, *, context: str = "") -> list[tuple[int, int, str]]:
    """``(start, end, digits)`` of every card number in ``text``, by the rules in this
    module's docstring. ``context`` is text said just before ``text`` (a JSON key such as
    ``card_number``) that may hold the card word a bare run of 17 to 19 digits needs."""
    if not any(c.isdigit() for c in text):
        return []
    protected = link_spans(text) + iban_spans(text)
    found = []
    for match in _CARD.finditer(text):
        if _inside(match.start(), protected):
            continue
        if match.group().isdecimal():
            digits = _ascii(match.group())
            before = (context + " " + text[: match.start()])[-_CONTEXT:]
            after = text[match.end() : match.end() + _CONTEXT]
            if (
                luhn_valid(digits)
                and card_network(digits)
                and (len(digits) <= 16 or _CARD_WORD.search(before) or _CARD_WORD.search(after))
            ):
                found.append((match.start(), match.end(), digits))
        else:
            groups = [
                (match.start() + g.start(), match.start() + g.end())
                for g in _GROUP.finditer(match.group())
            ]
            found.extend(_grouped_cards(text, groups))
    return found


def _ascii(digits: str) -> str:
    """Digits of any script (Arabic-Indic ``٤١١١``, full-width ones) as ASCII ones."""
    return digits if digits.isascii() else "".join(str(int(d)) for d in digits)


def _grouped_cards(text: str, groups: list[Span]) -> list[tuple[int, int, str]]:
    """The cards among consecutive digit groups: the best runs of groups that are cards,
    chosen greedily (printed layout, one kind of separator, longer, earlier), never
    overlapping."""
    windows = []
    for i, (start, _) in enumerate(groups):
        if start + 4 != groups[i][1]:
            continue  # a card starts with a group of four digits
        for j in range(i + 1, len(groups)):
            digits = "".join(text[a:b] for a, b in groups[i : j + 1])
            if len(digits) > 19:
                break
            digits = _ascii(digits)
            if len(digits) < 13 or digits[0] == "0" or not luhn_valid(digits):
                continue
            layout = tuple(b - a for a, b in groups[i : j + 1])
            separators = {text[groups[k][1] : groups[k + 1][0]] for k in range(i, j)}
            rank = (_LAYOUTS.get(layout, len(_LAYOUTS)), len(separators) > 1, -len(digits), i)
            windows.append((rank, i, j, digits))
    chosen: list[tuple[int, int, str]] = []
    used: set[int] = set()
    for _, i, j, digits in sorted(windows):
        if used.isdisjoint(range(i, j + 1)):
            used.update(range(i, j + 1))
            chosen.append((groups[i][0], groups[j][1], digits))
    return sorted(chosen)


def _masked(text: str, spans: list[tuple[int, int, str]]) -> str:
    parts = []
    last = 0
    for start, end, replacement in sorted(spans):
        parts.append(text[last:start])
        parts.append(replacement)
        last = end
    parts.append(text[last:])
    return "".join(parts)


def _mask_cards(text: str, context: str = "") -> str:
    spans = card_spans(text, context=context)
    return _masked(text, [(a, b, f"[CARD …{digits[-4:]}]") for a, b, digits in spans])


def mask_cards(text: str) -> str:
    """Replace every card number with ``[CARD …1234]`` (its last four digits)."""
    return _mask_cards(text)


# Error messages and log lines quote values with repr() or as JSON, which escapes white space
# (``'4111\xa01111...'``) and, for bytes, every non-ASCII character (``j\xc3\xbcrgen@``).
_ESCAPES = re.compile(r"(?:\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[nrtf/\\\"']))+")
_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))")
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "f": "\f"}


def _unescaped(text: str) -> tuple[str, list[Span]]:
    """``text`` with its backslash escapes decoded (runs of ``\\xNN`` as UTF-8 where they
    are, else one character each), and the span of ``text`` each character comes from."""
    chars: list[str] = []
    sources: list[Span] = []
    last = 0
    for run in _ESCAPES.finditer(text):
        chars.extend(text[last : run.start()])
        sources.extend((i, i + 1) for i in range(last, run.start()))
        pending: list[tuple[int, int, int]] = []  # \xNN bytes not yet decoded: (byte, start, end)
        for escape in [*_ESCAPE.finditer(text, run.start(), run.end()), None]:
            if escape is not None and escape.group(1):
                pending.append((int(escape.group(1), 16), escape.start(), escape.end()))
                continue
            _decode_bytes(pending, chars, sources)
            pending = []
            if escape is not None:
                code = escape.group(2) or escape.group(3)
                char = chr(int(code, 16)) if code else escape.group(4)
                chars.append(_SIMPLE_ESCAPES.get(char, char) if not code else char)
                sources.append(escape.span())
        last = run.end()
    chars.extend(text[last:])
    sources.extend((i, i + 1) for i in range(last, len(text)))
    return "".join(chars), sources


def _decode_bytes(
    pending: list[tuple[int, int, int]], chars: list[str], sources: list[Span]
) -> None:
    """Append escaped bytes as UTF-8 characters where they decode, else as Latin-1 ones."""
    i = 0
    while i < len(pending):
        for size in (4, 3, 2, 1):
            chunk = bytes(b for b, _, _ in pending[i : i + size])
            try:
                char = chunk.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if len(chunk) == size and len(char) == 1:
                break
        else:
            char, size = chr(pending[i][0]), 1  # Latin-1, as str's repr writes \xa0
        chars.append(char)
        sources.append((pending[i][1], pending[i + size - 1][2]))
        i += size


def _redact_pii(text: str, context: str = "") -> str:
    if not any(c.isdigit() or c in "@\uff20" for c in text):
        return text
    view, sources = _unescaped(text) if "\\" in text else (text, [])
    # Overlaps: an IBAN is never a card (card_spans skips them), a card before an email
    # (card_spans never takes digits next to "@") before a phone number.
    candidates = [(a, b, "[IBAN]") for a, b in iban_spans(view)]
    candidates += [(a, b, f"[CARD …{d[-4:]}]") for a, b, d in card_spans(view, context=context)]
    candidates += [(a, b, "[EMAIL]") for a, b in email_spans(view)]
    candidates += [(a, b, "[PHONE]") for a, b in phone_spans(view)]
    chosen: list[tuple[int, int, str]] = []
    for span in candidates:
        if all(span[1] <= c[0] or span[0] >= c[1] for c in chosen):
            chosen.append(span)
    if sources:  # back to where the escaped characters were written
        chosen = [(sources[a][0], sources[b - 1][1], r) for a, b, r in chosen]
    return _masked(text, chosen)


def redact_pii(text: str) -> str:
    """``text`` with cards masked (as by :func:`mask_cards`) and emails, IBANs and phone
    numbers replaced by ``[EMAIL]``, ``[IBAN]``, ``[PHONE]``: for dead-letter errors and
    payloads and for log messages."""
    return _redact_pii(text)


# Raw JSON records: every string is redacted (JSON escapes such as "j\u00fcrgen" decoded
# first), except the bare-number value of an id key, so the record can still be identified.
_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_KEY_COLON = re.compile(r"\s*:")
_ID_KEY = re.compile(r"(?i:(?:\w*_)?(?:ids?|uuid|guid)(?:_str)?)|\w*[a-z]Ids?")
_ID_GAP = re.compile(r"\s*:\s*\[?\s*")  # between an id key and its value (or first item)
_ITEM_GAP = re.compile(r"\s*,\s*")
_ID_NUMBERS = re.compile(r"\s*:\s*(?:-?\d+|\[\s*-?\d+(?:\s*,\s*-?\d+)*)")
_DIGITS = re.compile(r"-?[0-9]+")
_NOT_RAW = re.compile("[\ud800-\udc7f\udd00-\udfff]")  # surrogates not from invalid bytes


def _json_string(value: str) -> str:
    """A JSON literal for ``value`` that keeps invalid bytes (decoded with surrogateescape)
    as they were."""
    return _NOT_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, ensure_ascii=False))


def _redact_literal(literal: str, redact: Callable[[str, str], str], context: str) -> str:
    inner = literal[1:-1]
    if "\\" in inner:
        try:
            value = json.loads(literal)
        except ValueError:
            value = None
        if isinstance(value, str):
            redacted = redact(value, context)
            return literal if redacted == value else _json_string(redacted)
    redacted = redact(inner, context)
    return literal if redacted == inner else f'"{redacted}"'


def _redact_json(text: str, redact: Callable[[str, str], str]) -> str:
    """``redact`` over a (maybe broken) JSON text: each string on its own, with its key as
    context; text between strings (numbers, broken parts) as it comes; ids kept."""
    parts: list[str] = []
    last = 0
    key = ""  # the key whose value comes next, if the last string was a key
    id_items = False  # inside the [...] of an id key
    for match in _JSON_STRING.finditer(text):
        gap = text[last : match.start()]
        id_key = bool(key) and _ID_KEY.fullmatch(key) is not None
        if id_key and _ID_GAP.fullmatch(gap):
            id_value, id_items = True, "[" in gap
        else:
            id_items = id_value = id_items and _ITEM_GAP.fullmatch(gap) is not None
        parts.append(_redact_gap(gap, redact, id_key))
        literal = match.group()
        is_key = _KEY_COLON.match(text, match.end()) is not None
        if id_value and _DIGITS.fullmatch(literal[1:-1]):
            parts.append(literal)
        else:
            parts.append(_redact_literal(literal, redact, "" if is_key else key))
        key = (_literal_value(literal) or "_") if is_key else ""
        last = match.end()
    parts.append(_redact_gap(text[last:], redact, bool(key) and bool(_ID_KEY.fullmatch(key))))
    return "".join(parts)


def _literal_value(literal: str) -> str:
    try:
        value = json.loads(literal)
    except ValueError:
        return literal[1:-1]
    return value if isinstance(value, str) else ""


def _redact_gap(gap: str, redact: Callable[[str, str], str], after_id_key: bool) -> str:
    kept = _ID_NUMBERS.match(gap) if after_id_key else None
    if kept is None:
        return redact(gap, "")
    return kept.group() + redact(gap[kept.end() :], "")


def _redact_bytes(payload: bytes, redact: Callable[[str, str], str]) -> bytes:
    text = payload.decode("utf-8", errors="surrogateescape")
    redacted = _redact_json(text, redact)
    if redacted == text:
        return payload
    return redacted.encode("utf-8", errors="surrogateescape")


def redact_pii_in_bytes(payload: bytes) -> bytes:
    """:func:`redact_pii` for a raw record (a dead letter's bytes, JSON or not): the bare
    number values of id keys are kept, so the record can still be identified; strings with
    JSON escapes are redacted by what they mean (``j\\u00fcrgen@...``); invalid UTF-8 bytes
    are kept as they were. Returns ``payload`` itself when there was nothing to redact."""
    return _redact_bytes(payload, _redact_pii)


def mask_cards_in_bytes(payload: bytes) -> bytes:
    """:func:`mask_cards` for a raw record, with the id values and invalid bytes kept as
    :func:`redact_pii_in_bytes` keeps them. Dead letters need :func:`redact_pii_in_bytes`."""
    return _redact_bytes(payload, _mask_cards)


class RedactingFilter(logging.Filter):
    """A logging filter that passes every record's message (with its arguments, and any
    exception text and stack) through :func:`redact_pii`, so no log line carries personal
    data.

    Install it on handlers (``handler.addFilter(RedactingFilter())``): a handler filter sees
    records from every logger, a logger filter only its own logger's. Formatters must print
    the exception from ``record.exc_text`` (as :class:`logging.Formatter` does).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
            failed = False
        except Exception:  # wrong arguments: logging's own report would print them raw
            message = f"{record.msg} (with arguments {record.args!r})"
            failed = True
        redacted = redact_pii(message)
        if failed or redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_pii(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_pii(record.stack_info)
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Add a :class:`RedactingFilter` to every handler of ``logger`` (default: the root
    logger) that has none yet."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
