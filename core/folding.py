"""Accent and case folding for search: one definition, so that every search backend (and the
queries against it) treats ``Café``, ``cafe`` and ``CAFÉ`` as the same word."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """``text`` without accents and case: NFKD, combining marks dropped, casefolded, NFC.

    Letters that are not a base letter plus a mark (``ø``, ``ł``, ``ß``) keep their identity,
    except what casefolding itself changes (``ß`` becomes ``ss``).
    """
    if text.isascii():  # no accents to drop, and casefold is lower for ASCII
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", stripped.casefold())
