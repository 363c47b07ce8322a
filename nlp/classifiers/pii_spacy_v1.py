"""``pii.spacy.v1``: PII and identifiers with spaCy. A blank English pipeline's Matcher finds
emails and links; the validated patterns find phone numbers, payment cards (Luhn-checked),
IBANs (mod-97 checked) and configurable order / account / booking numbers, never inside a
link."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from core.models import PiiResult, PiiSpan, Post
from core.redaction import email_spans
from nlp.pii_patterns import compile_identifiers, find_pii
from nlp.registry import Classifier, Prior, register_classifier

_MAY_NEED_TOKENS = re.compile(r"\S[@\uff20]\S|://|www\.", re.IGNORECASE)


@register_classifier("pii.spacy.v1", assigns=("pii",))
class SpacyPii(Classifier):
    """spaCy tokens decide what is an email or a link; validated patterns find the rest."""

    def __init__(self, *, patterns: Mapping[str, str] | None = None) -> None:
        self.identifiers = compile_identifiers(patterns)
        self._nlp: Any = None
        self._matcher: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        with self._lock:
            if self._nlp is None:
                import spacy
                from spacy.matcher import Matcher

                nlp = spacy.blank("en")
                matcher = Matcher(nlp.vocab)
                matcher.add("email", [[{"LIKE_EMAIL": True}]])
                matcher.add("url", [[{"LIKE_URL": True}]])
                self._nlp, self._matcher = nlp, matcher

    def predict(self, posts: Sequence[Post], prior: Sequence[Prior]) -> list[PiiResult]:
        self._load()
        results: list[PiiResult] = []
        for post in posts:
            if _MAY_NEED_TOKENS.search(post.text):
                spans = self._spans(self._nlp(post.text))
            else:  # no email and no link possible: the validated patterns alone decide
                spans = find_pii(post.text, self.identifiers)
            results.append(PiiResult(tuple(spans), self.name))
        return results

    def _spans(self, doc: Any) -> list[PiiSpan]:
        emails: list[tuple[int, int]] = []
        links: list[tuple[int, int]] = []
        for match_id, start, end in self._matcher(doc):
            span = doc[start:end]
            kind = self._nlp.vocab.strings[match_id]
            (emails if kind == "email" else links).append((span.start_char, span.end_char))
        # Patterns and validators (cards, IBANs, phones, identifiers) over the text; emails
        # come from the tokenizer, and nothing inside a link counts.
        found = [s for s in find_pii(doc.text, self.identifiers) if s.type != "email"]
        found += [PiiSpan("email", a, b) for a, b in emails]
        # spaCy's LIKE_EMAIL misses international addresses (jürgen@müller.example,
        # उपयोगकर्ता@उदाहरण.भारत, 用户＠例子。广告)
        found += [
            PiiSpan("email", start, end)
            for start, end in email_spans(doc.text)
            if not any(a < end and start < b for a, b in emails)
        ]
        kept = [
            s
            for s in found
            if s.type == "email" or not any(a <= s.start < b or a < s.end <= b for a, b in links)
        ]
        chosen: list[PiiSpan] = []
        for span in sorted(kept, key=lambda s: (s.type != "email", s.start)):
            if all(span.end <= c.start or span.start >= c.end for c in chosen):
                chosen.append(span)
        return sorted(chosen, key=lambda s: s.start)
