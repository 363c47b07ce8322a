"""``language.lingua.v1``: language detection with lingua, which is built for short text (a
tweet, a comment), after a fast path for plainly English posts."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

from core.models import Label, Post
from nlp.registry import Classifier, Prior, register_classifier

LANGUAGES = [
    "ENGLISH",
    "SPANISH",
    "FRENCH",
    "GERMAN",
    "PORTUGUESE",
    "ITALIAN",
    "DUTCH",
    "SWEDISH",
    "DANISH",
    "POLISH",
    "TURKISH",
    "RUSSIAN",
    "ARABIC",
    "HEBREW",
    "HINDI",
    "JAPANESE",
    "CHINESE",
    "KOREAN",
    "INDONESIAN",
    "GREEK",
]
"""The languages a brand in Europe and the Americas hears most; fewer candidates mean fewer
confusions between close languages on short posts."""


@register_classifier("language.lingua.v1", assigns=("language",))
class LinguaLanguage(Classifier):
    """ISO 639-1 code of the most likely language; ``und`` when there is nothing to judge
    (no letters) or lingua is unsure (confidence under ``min_confidence``)."""

    def __init__(self, *, min_confidence: float = 0.3) -> None:
        self.min_confidence = min_confidence
        self._detector: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._detector is None:
                from lingua import Language, LanguageDetectorBuilder

                languages = [getattr(Language, name) for name in LANGUAGES]
                self._detector = LanguageDetectorBuilder.from_languages(*languages).build()
        return self._detector

    def predict(self, posts: Sequence[Post], prior: Sequence[Prior]) -> list[Label]:
        detector = self._load()
        texts = [_letters_only(post.text) for post in posts]
        results = []
        plain = [_plainly_english(t) for t in texts]
        judged = [t for t, easy in zip(texts, plain, strict=True) if t and not easy]
        confidences = iter(
            detector.compute_language_confidence_values_in_parallel(judged) if judged else []
        )
        for text, easy in zip(texts, plain, strict=True):
            if not text:
                results.append(Label("und", 0.0, self.name))
                continue
            if easy:
                results.append(Label("en", 0.99, self.name))
                continue
            ranked = next(confidences)
            top = ranked[0] if ranked else None
            if top is None or top.value < self.min_confidence:
                results.append(Label("und", round(top.value if top else 0.0, 4), self.name))
            else:
                code = top.language.iso_code_639_1.name.lower()
                results.append(Label(code, round(float(top.value), 4), self.name))
        return results


def _letters_only(text: str) -> str:
    """Drop mentions, links and hashtags: they are names, not language."""
    cleaned = re.sub(r"https?://\S+|www\.\S+|[@#]\w+", " ", text[:1000])
    return cleaned if any(c.isalpha() for c in cleaned) else ""


_ENGLISH = frozenset(
    [
        "the",
        "and",
        "is",
        "it",
        "to",
        "of",
        "my",
        "you",
        "this",
        "that",
        "for",
        "was",
        "not",
        "with",
        "have",
        "on",
        "are",
        "but",
        "your",
        "me",
        "they",
        "what",
        "can",
        "why",
        "just",
        "been",
        "can't",
        "don't",
        "it's",
        "i'm",
        "still",
        "has",
        "had",
        "will",
        "would",
        "if",
        "or",
        "at",
        "from",
        "by",
        "be",
        "get",
        "got",
        "any",
        "how",
        "when",
        "where",
        "who",
        "did",
        "does",
        "yet",
        "again",
        "since",
        "after",
        "every",
        "about",
        "there",
        "their",
        "our",
        "we",
        "so",
        "very",
        "thanks",
        "please",
        "hasn't",
        "doesn't",
        "won't",
        "isn't",
        "didn't",
        "i've",
        "you're",
        "that's",
        "they're",
    ]
)
"""English function words. Words that are also common in the other candidate languages
("a", "in", "no", "die", "de") are left out."""
_OTHERS = frozenset(
    [
        "el",
        "la",
        "los",
        "las",
        "que",
        "de",
        "y",
        "en",
        "es",
        "mi",
        "pero",
        "le",
        "les",
        "et",
        "est",
        "une",
        "pour",
        "pas",
        "der",
        "die",
        "das",
        "und",
        "ist",
        "nicht",
        "ich",
        "een",
        "het",
        "niet",
        "il",
        "di",
        "che",
        "non",
        "ma",
        "os",
        "não",
    ]
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def _plainly_english(text: str) -> bool:
    """Text whose letters are all ASCII, with English function words making up a fifth of its
    words (at least two of them) and no common word of the other candidate languages, is
    English: most brand mentions, decided without a model. Emoji, digits and signs such as £
    do not count against it."""
    if not text.isascii() and any(c.isalpha() for c in _NON_ASCII.findall(text)):
        return False
    words = _WORD.findall(text.lower())
    english = sum(w in _ENGLISH for w in words)
    return english >= 2 and english >= len(words) / 5 and not any(w in _OTHERS for w in words)
