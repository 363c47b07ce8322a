"""Did the brand's agent move the customer to a private channel? Read from the agent's reply.

A reply moves the conversation private when it asks the customer to send a direct message
(or says one was sent), to follow the account so that a DM is possible, to e-mail, call or
chat, or to share details through a secure link or form. Pointing to a help page, or asking
for details in public, does not.
"""

from __future__ import annotations

import re

_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "asked to send a direct message",
        re.compile(
            r"(?i)\b(?:dm|d\.m\.|direct message|private message|pm|inbox)\b"
            r"|\bmessage us\b|\bsend us a (?:note|message)\b|\bslide into our dms?\b"
        ),
    ),
    ("asked to follow so a DM is possible", re.compile(r"(?i)\bfollow (?:us|and dm|back)\b")),
    (
        "asked to e-mail",
        re.compile(
            r"(?i)\be-?mail (?:us|me)\b|\bemail at\b|\bsend an e-?mail\b|[\w.+-]+@[\w-]+\.\w+"
        ),
    ),
    (
        "asked to call",
        re.compile(
            r"(?i)\b(?:call|ring|phone) (?:us|our|the)\b|\bgive us a (?:call|ring)\b"
            r"|\b(?:call|phone) (?:at|on)\s*\+?\d|\b1-8\d\d\b|\b\d{3}[-. ]\d{3}[-. ]\d{4}\b"
        ),
    ),
    (
        "asked to chat privately",
        re.compile(r"(?i)\b(?:live )?chat with us\b|\bvia (?:live )?chat\b|\bstart a chat\b"),
    ),
    (
        "asked to share details through a secure link",
        re.compile(
            r"(?i)\bsecure (?:link|form|page)\b|\bprivately\b|\bin private\b"
            r"|\btake (?:this|it) offline\b"
        ),
    ),
)


def moved_private(reply: str) -> tuple[bool, str | None]:
    """``(True, reason)`` when the reply moves the customer to a private channel."""
    for reason, pattern in _RULES:
        if pattern.search(reply):
            return True, reason
    return False, None
