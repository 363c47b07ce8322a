"""Text normalisation shared by the spam rules: the words of a post without its noise."""

from __future__ import annotations

import re

_NOISE = re.compile(r"https?://\S+|@\w+|[^\w\s]|\d+")
"""Links, mentions, punctuation and digits: what an edited copy of a campaign changes."""


def normalized_words(text: str) -> list[str]:
    """The words of ``text``, lower-cased, without links, mentions, punctuation or digits."""
    return _NOISE.sub(" ", text.lower()).split()
