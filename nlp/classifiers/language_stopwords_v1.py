"""``language.stopwords.v1``: language from the script of the letters, else from counts of
function words (seven Latin-script languages)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

from core.models import Label, Post
from nlp.registry import Classifier, Prior, register_classifier

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

    def predict(self, posts: Sequence[Post], prior: Sequence[Prior]) -> list[Label]:
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
