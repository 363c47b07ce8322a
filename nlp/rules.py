"""First classifiers: lexicons, patterns and validators. Fast, transparent, no training.

They are the baseline the trained models must beat, and the fallback when no model file
is present. Every one returns a result for any text, including empty text.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from core.models import Label, PiiSpan, Post, PrivateDecision
from core.redaction import CARD, MASKED_CARD, card_digits
from nlp.registry import Classifier, register_classifier

# -- sentiment -----------------------------------------------------------------------------


@register_classifier("sentiment.vader.v1", assigns=("sentiment",))
class VaderSentiment(Classifier):
    """VADER's compound score, thresholded at +/-0.05 (the thresholds its authors suggest)."""

    def __init__(self, *, threshold: float = 0.05) -> None:
        self.threshold = threshold
        self._analyzer: Any = None

    def predict(self, posts: Sequence[Post], prior: Sequence[Mapping[str, Any]]) -> list[Label]:
        if self._analyzer is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            self._analyzer = SentimentIntensityAnalyzer()
        results = []
        for post in posts:
            compound = self._analyzer.polarity_scores(post.text[:5000])["compound"]
            if compound >= self.threshold:
                label, score = "positive", 0.5 + compound / 2
            elif compound <= -self.threshold:
                label, score = "negative", 0.5 - compound / 2
            else:
                label, score = "neutral", 1.0 - abs(compound) * 5
            results.append(Label(label, round(score, 4), self.name))
        return results


# -- PII and identifiers -------------------------------------------------------------------

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,5}(?:[ .-]\d{2,8}){1,4}(?![\w])"
    r"|(?<![\w+])\+?\d{10,14}(?!\w)"
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
REDACTION = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "card": "[CARD]",
    "iban": "[IBAN]",
    "order_number": "[ORDER]",
    "account_number": "[ACCOUNT]",
    "booking_reference": "[BOOKING]",
}
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


def find_pii(text: str, identifiers: Mapping[str, re.Pattern[str]]) -> list[PiiSpan]:
    """Every PII or identifier span in ``text``, without overlaps, in text order."""
    if "@" not in text and not _DIGIT.search(text):
        # Cards, IBANs, phones and emails all need a digit or an "@": only identifiers remain.
        return _choose([s for kind, p in identifiers.items() for s in _spans(kind, p, text)])
    candidates: list[PiiSpan] = []
    for match in CARD.finditer(text):
        if card_digits(match.group()):
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
        digits = re.sub(r"\D", "", match.group())
        if 9 <= len(digits) <= 15 and not re.fullmatch(
            r"(19|20)\d\d[ .-]\d{1,2}[ .-]\d{1,2}", match.group()
        ):
            candidates.append(PiiSpan("phone", match.start(), match.end()))
    return _choose(candidates)


_DIGIT = re.compile(r"\d")


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


@register_classifier("pii.regex.v1", assigns=("pii",))
class RegexPii(Classifier):
    """Emails, phones, Luhn-checked cards, mod-97-checked IBANs and configurable identifiers."""

    def __init__(self, *, patterns: Mapping[str, str] | None = None) -> None:
        merged = {**DEFAULT_IDENTIFIERS, **(patterns or {})}
        try:
            self.identifiers = {kind: re.compile(p) for kind, p in merged.items()}
        except re.error as e:
            raise ValueError(f"invalid PII pattern: {e}") from e

    def predict(
        self, posts: Sequence[Post], prior: Sequence[Mapping[str, Any]]
    ) -> list[tuple[PiiSpan, ...]]:
        return [tuple(find_pii(post.text, self.identifiers)) for post in posts]


# -- language ------------------------------------------------------------------------------

_STOPWORDS = {
    "en": "the and is it to of i my you this that for was "
    "not with have on are but your me they just what can why",
    "es": "el la de que y en los se del las por un "
    "una para con no es mi pero muy lo al como más ya",
    "fr": "le la les de des et est un une pour pas que "
    "qui dans je mon ma vous il sur avec mais très ce",
    "de": "der die das und ist nicht ich ein eine mit zu "
    "den von mein meine sie es auf für aber sehr wie",
    "pt": "o a os as de que e do da em um uma para com não é meu minha mas muito por se já",
    "it": "il lo la di che e è un una per non con mi mio ma sono molto del della ho anche ancora",
    "nl": "de het een en is niet ik mijn van dat met voor op zijn maar ook wel nog heb",
}
_STOPWORD_SETS = {lang: set(words.split()) for lang, words in _STOPWORDS.items()}
_SCRIPTS = [
    ("HIRAGANA", "ja"),
    ("KATAKANA", "ja"),
    ("HANGUL", "ko"),
    ("CJK", "zh"),
    ("ARABIC", "ar"),
    ("HEBREW", "he"),
    ("CYRILLIC", "ru"),
    ("GREEK", "el"),
    ("THAI", "th"),
    ("DEVANAGARI", "hi"),
]


@register_classifier("language.stopwords.v1", assigns=("language",))
class StopwordLanguage(Classifier):
    """Script for non-Latin text, function-word counts for seven Latin-script languages."""

    def predict(self, posts: Sequence[Post], prior: Sequence[Mapping[str, Any]]) -> list[Label]:
        return [self._detect(post.text) for post in posts]

    def _detect(self, text: str) -> Label:
        letters = [c for c in text[:2000] if c.isalpha()]
        if not letters:
            return Label("und", 0.0, self.name)
        scripts: Counter[str] = Counter()
        for char in letters:
            name = unicodedata.name(char, "")
            for prefix, lang in _SCRIPTS:
                if name.startswith(prefix):
                    scripts[lang] += 1
                    break
        if scripts:
            lang, count = scripts.most_common(1)[0]
            # Japanese mixes kana with kanji: any kana means Japanese.
            if lang == "zh" and scripts["ja"]:
                lang, count = "ja", count + scripts["ja"]
            if count / len(letters) >= 0.3:
                return Label(lang, round(min(1.0, count / len(letters)), 4), self.name)
        words = re.findall(r"[^\W\d_]+", text[:2000].lower())
        hits = {lang: sum(w in stops for w in words) for lang, stops in _STOPWORD_SETS.items()}
        best = max(hits, key=lambda lang: hits[lang])
        if hits[best] == 0:
            return Label("und", 0.1, self.name)
        ranked = sorted(hits.values(), reverse=True)
        margin = (ranked[0] - ranked[1]) / ranked[0]
        return Label(best, round(0.5 + 0.5 * margin, 4), self.name)


# -- spam ----------------------------------------------------------------------------------

_SPAM_PHRASES = re.compile(
    r"(?i)\b(giveaway|free (?:iphone|gift|money|followers)|claim (?:your|now)|dm (?:me )?to claim|"
    r"click (?:the )?link|link in bio|follow (?:and|&|\+) (?:rt|retweet)|airdrop|crypto|bitcoin|"
    r"forex|earn \$?\d+|cheap followers|promo code|100% (?:free|guaranteed)|whatsapp me)\b"
)
_URL = re.compile(r"https?://\S+|www\.\S+")
_HASHTAG = re.compile(r"#\w+")
_THROWAWAY_HANDLE = re.compile(r"^[A-Za-z]+_?\d{6,}$")


def _near_duplicate_key(text: str) -> str:
    normalized = re.sub(r"https?://\S+|@\w+|[^\w\s]|\d+", " ", text.lower())
    return hashlib.sha1(" ".join(normalized.split()).encode()).hexdigest()


@register_classifier("spam.rules.v1", assigns=("spam",))
class RuleSpam(Classifier):
    """Link farms, giveaway bait, hashtag stuffing, throwaway accounts and copy-paste
    campaigns (the same text from several authors in one batch)."""

    def __init__(self, *, threshold: float = 0.5, campaign_authors: int = 3) -> None:
        self.threshold = threshold
        self.campaign_authors = campaign_authors

    def predict(self, posts: Sequence[Post], prior: Sequence[Mapping[str, Any]]) -> list[Label]:
        authors_by_text: dict[str, set[str]] = {}
        keys = [_near_duplicate_key(post.text) for post in posts]
        for key, post in zip(keys, posts, strict=True):
            if len(post.text) >= 20:
                authors_by_text.setdefault(key, set()).add(post.author.id)
        campaign = [len(authors_by_text.get(key, ())) >= self.campaign_authors for key in keys]
        return self._score(posts, campaign)

    def _score(self, posts: Sequence[Post], campaign: Sequence[bool]) -> list[Label]:
        results = []
        for in_campaign, post in zip(campaign, posts, strict=True):
            signals = []
            if _SPAM_PHRASES.search(post.text):
                signals.append(0.45)
            urls = len(_URL.findall(post.text))
            if urls >= 2:
                signals.append(0.35)
            if len(_HASHTAG.findall(post.text)) >= 5:
                signals.append(0.3)
            if _THROWAWAY_HANDLE.match(post.author.handle) and post.author.followers < 10:
                signals.append(0.3)
            if in_campaign:
                signals.append(0.6)
            score = 1.0 - math.prod(1.0 - s for s in signals)
            label = "spam" if score >= self.threshold else "ham"
            results.append(
                Label(label, round(score if label == "spam" else 1 - score, 4), self.name)
            )
        return results


# -- intent --------------------------------------------------------------------------------


def load_intent_lexicon(path: Path) -> dict[str, list[re.Pattern[str]]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    intents = data.get("intents")
    if not isinstance(intents, dict):
        raise ValueError(f"{path}: expected a mapping 'intents'")
    lexicon = {}
    for intent, spec in intents.items():
        keywords = (spec or {}).get("keywords") or []
        try:
            lexicon[intent] = [re.compile(rf"(?i)(?<!\w){k}(?!\w)") for k in keywords]
        except re.error as e:
            raise ValueError(f"{path}: bad keyword pattern for intent {intent!r}: {e}") from e
    return lexicon


@register_classifier("intent.keywords.v1", assigns=("intent",))
class KeywordIntent(Classifier):
    """The intent whose keywords match most (earlier intents in the file win ties).

    With no keyword match: negative posts are complaints, positive ones praise, questions
    are questions, and the rest ``other``.
    """

    def __init__(self, *, lexicon_path: str | Path) -> None:
        self.lexicon_path = Path(lexicon_path)
        self._lexicon: dict[str, list[re.Pattern[str]]] | None = None

    def predict(self, posts: Sequence[Post], prior: Sequence[Mapping[str, Any]]) -> list[Label]:
        if self._lexicon is None:
            self._lexicon = load_intent_lexicon(self.lexicon_path)
        order = list(self._lexicon)
        results = []
        for post, done in zip(posts, prior, strict=True):
            text = post.text[:5000]
            hits = {i: sum(1 for p in pats if p.search(text)) for i, pats in self._lexicon.items()}
            best = max(order, key=lambda i: (hits[i], -order.index(i)))
            if hits[best]:
                total = sum(hits.values())
                results.append(Label(best, round(0.4 + 0.6 * hits[best] / total, 4), self.name))
                continue
            sentiment = done.get("sentiment")
            if sentiment is not None and sentiment.label == "negative":
                results.append(Label("complaint", 0.4, self.name))
            elif sentiment is not None and sentiment.label == "positive":
                results.append(Label("praise", 0.4, self.name))
            elif "?" in text:
                results.append(Label("question", 0.35, self.name))
            else:
                results.append(Label("other", 0.3, self.name))
        return results


# -- public to private ---------------------------------------------------------------------

_PII_REASONS = {
    "email": "email address in post",
    "phone": "phone number in post",
    "card": "payment card number in post",
    "iban": "bank account (IBAN) in post",
    "order_number": "order number in post",
    "account_number": "account number in post",
    "booking_reference": "booking reference in post",
}
_INTENT_REASONS = {"billing": "billing or refund issue", "account": "login or account problem"}
_DISPUTE = re.compile(
    r"(?i)\b(chargeback|fraud(?:ulent)?|scam(?:med)?|lawyer|legal action|sue|small claims|"
    r"stolen|dispute|report(?:ing)? you to)\b"
)
_PERSONAL = re.compile(
    r"(?i)\b(my (?:home )?address|date of birth|my dob|passport|social security|my ssn)\b"
)


@register_classifier("private.rules.v1", assigns=("private",))
class RulePrivate(Classifier):
    """Move private when the post holds identifiers or personal data, is about billing or a
    login, or is a dispute; never for spam, and not merely because a post is negative."""

    def predict(
        self, posts: Sequence[Post], prior: Sequence[Mapping[str, Any]]
    ) -> list[PrivateDecision]:
        results = []
        for post, done in zip(posts, prior, strict=True):
            spam = done.get("spam")
            if spam is not None and spam.label == "spam":
                results.append(PrivateDecision(False, 0.05, (), self.name))
                continue
            reasons: list[str] = []
            weights: list[float] = []
            for span in done.get("pii", ()):
                reason = _PII_REASONS.get(span.type)
                if reason and reason not in reasons:
                    reasons.append(reason)
                    weights.append(0.9)
            intent = done.get("intent")
            if intent is not None and intent.label in _INTENT_REASONS:
                reasons.append(_INTENT_REASONS[intent.label])
                weights.append(0.6 + 0.3 * intent.score)
            if _DISPUTE.search(post.text):
                reasons.append("dispute that should not be argued in public")
                weights.append(0.7)
            if _PERSONAL.search(post.text):
                reasons.append("personal data in post")
                weights.append(0.8)
            score = 1.0 - math.prod(1.0 - w for w in weights) if weights else 0.05
            results.append(
                PrivateDecision(bool(reasons), round(score, 4), tuple(reasons), self.name)
            )
        return results


def _shingles(text: str, size: int = 3) -> set[str]:
    words = re.sub(r"https?://\S+|@\w+|[^\w\s]|\d+", " ", text.lower()).split()
    if len(words) < size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


# MinHash: 32 hash functions h(x) = a*x + b (mod 2**64, a odd), banded as 16 bands of 2.
# A pair at the 0.7 threshold shares a band with probability 1 - (1 - 0.7**2)**16 > 0.99998.
_SIGNATURE, _BAND = 32, 2


def _seeds(salt: str) -> np.ndarray:
    return np.asarray(
        [
            int.from_bytes(hashlib.sha1(f"{salt}{i}".encode()).digest()[:8], "big")
            for i in range(_SIGNATURE)
        ],
        dtype=np.uint64,
    )


_MULTIPLIERS = _seeds("multiplier") | np.uint64(1)
_OFFSETS = _seeds("offset")


def _signatures(sets: Sequence[set[str]]) -> np.ndarray:
    """MinHash signatures (32 values each) of non-empty shingle sets, for a batch at once.

    Shingles are hashed with CRC-32, not Python's ``hash``, which is salted per process: the
    same posts get the same signatures, and so the same spam labels, on every run."""
    counts = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
    hashes = np.fromiter(
        (zlib.crc32(x.encode()) for s in sets for x in s),
        dtype=np.uint64,
        count=int(counts.sum()),
    )
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    permuted = hashes[:, None] * _MULTIPLIERS[None, :] + _OFFSETS[None, :]  # wraps mod 2**64
    return np.minimum.reduceat(permuted, starts, axis=0)


def near_duplicate_groups(texts: Sequence[str], *, threshold: float = 0.7) -> list[int]:
    """Group index of each text: texts whose word 3-gram sets overlap by at least
    ``threshold`` (Jaccard) share a group. MinHash with banding finds the candidates, so a
    batch costs about linear time; every candidate pair is checked on its exact Jaccard."""
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def similar(a: int, b: int) -> bool:
        union = len(sets[a] | sets[b])
        return bool(union) and len(sets[a] & sets[b]) / union >= threshold

    def join(members: list[int]) -> None:
        # Each member of a bucket joins every earlier representative it is similar to, or
        # becomes one: an unrelated text first in a bucket cannot hide a real pair.
        representatives: list[int] = []
        for member in members:
            matches = [r for r in representatives if similar(r, member)]
            for match in matches:
                parent[find(member)] = find(match)
            if not matches:
                representatives.append(member)

    sets = [_shingles(t) for t in texts]
    candidates = np.asarray([i for i, shingles in enumerate(sets) if len(shingles) >= 3])
    if len(candidates) > 1:  # shorter texts are never taken for copies
        signatures = _signatures([sets[i] for i in candidates])
        # Exact copies (same signature) join their first occurrence; the bands then only
        # need one text per distinct signature.
        signatures, first, inverse = np.unique(
            signatures, axis=0, return_index=True, return_inverse=True
        )
        for i, j in zip(
            candidates.tolist(), candidates[first[inverse.ravel()]].tolist(), strict=True
        ):
            if i != j and similar(i, j):
                parent[find(i)] = find(j)
        candidates = candidates[first]
        bands = signatures.reshape(len(candidates), _SIGNATURE // _BAND, _BAND)
        keys = bands[:, :, 0]  # one 64-bit bucket key per band, mixing the band's values
        for k in range(1, _BAND):
            keys = keys * np.uint64(0x9E3779B97F4A7C15) ^ bands[:, :, k]
        for band in range(keys.shape[1]):
            order = np.argsort(keys[:, band], kind="stable")
            ordered = keys[order, band]
            starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
            ends = np.r_[starts[1:], len(ordered)]
            for run in np.flatnonzero(ends - starts > 1):  # texts that share this band
                join(candidates[order[starts[run] : ends[run]]].tolist())
    return [find(i) for i in range(len(texts))]


@register_classifier("spam.rules.v2", assigns=("spam",))
class NearDuplicateSpam(RuleSpam):
    """v1's signals, with copy-paste campaigns found by near-duplicate text (MinHash over
    word 3-grams, Jaccard >= 0.7) posted by several authors in one batch."""

    def predict(self, posts: Sequence[Post], prior: Sequence[Mapping[str, Any]]) -> list[Label]:
        groups = near_duplicate_groups([post.text[:5000] for post in posts])
        authors: dict[int, set[str]] = {}
        for group, post in zip(groups, posts, strict=True):
            authors.setdefault(group, set()).add(post.author.id)
        campaign = [len(authors[g]) >= self.campaign_authors for g in groups]
        return self._score(posts, campaign)
