"""Help articles for self-service answers, and choosing one for a post by similarity.

The similarity is TF-IDF cosine over words and word pairs (folded, stop words removed, plural
and verb endings trimmed), with an article's title and keywords counting more than its summary.
No model: the list is small, the choice must be explainable, and the score is shown.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from core.config import read_yaml
from core.errors import RoutingConfigError
from core.folding import fold

KEYS = {"id", "title", "url", "summary", "keywords"}
_STOP = """a about after again all also am an and any anyone anything are as at be been being but
by can cant could did do does doing dont for from get got had has have having hello help hey hi how
i im if in into is isnt it its ive just me my myself need no not now of on or our out please so
some someone still than thanks that the their them then there these they this to too up us was we
were what when where which while who why will with wont would you your halden should doesn didn
isn aren wasn won go going really very one"""
STOP_WORDS = frozenset(_STOP.split())
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class HelpArticle:
    id: str
    title: str
    url: str
    summary: str = ""
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArticleMatch:
    article: HelpArticle
    score: float
    """Cosine similarity in [0, 1], rounded to 3 decimals."""


def load_articles(path: str | Path) -> tuple[HelpArticle, ...]:
    """Read the help articles: a YAML list of ``{id, title, url, summary, keywords}``."""
    path = Path(path)
    if not path.is_file():
        raise RoutingConfigError(f"{path}: help articles file not found")
    data = read_yaml(path, error=RoutingConfigError)
    if not isinstance(data, list):
        raise RoutingConfigError(f"{path}: expected a list of articles")
    articles: list[HelpArticle] = []
    seen: set[str] = set()
    for i, entry in enumerate(data):
        where = f"{path}: article {i + 1}"
        if not isinstance(entry, dict):
            raise RoutingConfigError(f"{where}: expected a mapping with id, title, url")
        if isinstance(entry.get("id"), str):
            where = f"{path}: article {entry['id']!r}"
        unknown = sorted(set(entry) - KEYS)
        if unknown:
            raise RoutingConfigError(f"{where}: unknown keys {unknown}; expected {sorted(KEYS)}")
        for key in ("id", "title", "url"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise RoutingConfigError(f"{where}: {key} must be a non-empty string")
        if entry["id"] in seen:
            raise RoutingConfigError(f"{where}: duplicate id")
        seen.add(entry["id"])
        summary = entry.get("summary", "")
        keywords = entry.get("keywords") or []
        if not isinstance(summary, str):
            raise RoutingConfigError(f"{where}: summary must be a string")
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            raise RoutingConfigError(f"{where}: keywords must be a list of strings")
        articles.append(
            HelpArticle(entry["id"], entry["title"], entry["url"], summary, tuple(keywords))
        )
    return tuple(articles)


def terms(text: str) -> list[str]:
    """Words (folded, stop words dropped, endings trimmed) and adjacent word pairs."""
    words = [_stem(w) for w in _WORD.findall(fold(text).lower()) if w not in STOP_WORDS]
    words = [w for w in words if len(w) > 1]
    return words + [f"{a} {b}" for a, b in pairwise(words)]


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if suffix in ("ing", "ed") and len(word) > 3 and word[-1] == word[-2]:
                word = word[:-1]  # logged -> log, stopped -> stop
            break
    return word.rstrip("e") if len(word) > 4 else word


class ArticleMatcher:
    """Picks the help article most similar to a post (TF-IDF cosine)."""

    name = "articles_tfidf_v1"

    def __init__(self, articles: Sequence[HelpArticle], *, min_score: float = 0.15) -> None:
        self.articles = tuple(articles)
        self.min_score = min_score
        self._index: tuple[dict[str, float], list[dict[str, float]]] | None = None

    def _build(self) -> tuple[dict[str, float], list[dict[str, float]]]:
        if self._index is None:
            bags = []
            for a in self.articles:
                weighted = " ".join([a.title] * 2 + [" ".join(a.keywords)] * 2 + [a.summary])
                bags.append(Counter(terms(weighted)))
            n = len(bags)
            df = Counter(term for bag in bags for term in bag)
            idf = {t: math.log((1 + n) / (1 + d)) + 1 for t, d in df.items()}
            vectors = [_normalise({t: c * idf[t] for t, c in bag.items()}) for bag in bags]
            self._index = (idf, vectors)
        return self._index

    def rank(self, text: str, top: int = 3) -> list[ArticleMatch]:
        """The ``top`` most similar articles, best first (ties: the order of the file)."""
        if not self.articles:
            return []
        idf, vectors = self._build()
        # A word no article has is as specific as a word can be: it weighs in the query's
        # length, so one shared word in a long unrelated post scores low.
        # (Only whole words count so: a word pair or a number no article has says little.)
        unseen = math.log(1 + len(vectors)) + 1
        query = _normalise(
            {
                t: c * idf.get(t, unseen)
                for t, c in Counter(terms(text)).items()
                if t in idf or (" " not in t and t.isalpha())
            }
        )
        scored = [
            (sum(w * vector.get(t, 0.0) for t, w in query.items()), i)
            for i, vector in enumerate(vectors)
        ]
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        return [
            ArticleMatch(self.articles[i], round(min(1.0, score), 3)) for score, i in scored[:top]
        ]

    def best(self, text: str) -> ArticleMatch | None:
        """The most similar article when it scores at least ``min_score``."""
        ranked = self.rank(text, top=1)
        if ranked and ranked[0].score >= self.min_score and ranked[0].score > 0:
            return ranked[0]
        return None


def _normalise(vector: dict[str, Any]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vector.values()))
    return {t: v / norm for t, v in vector.items()} if norm else {}
