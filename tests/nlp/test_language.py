"""Language detection: the plain-English fast path and lingua on team-written posts."""

from __future__ import annotations

import csv

import pytest

from nlp.classifiers.language_lingua_v1 import LinguaLanguage, _letters_only, _plainly_english
from tests.conftest import ROOT, make_post

EVAL = ROOT / "nlp" / "data" / "language_eval.csv"


@pytest.mark.parametrize(
    "text",
    [
        "Halden refunded me without even asking for the box back. Honestly decent of them 👏",
        "Would be great if the app showed the cost in £ not kWh. Nobody thinks in kWh",
        "@HaldenHome my hub has been offline since Tuesday, any fix?",
        "it’s been 3 days and the order still hasn’t moved",
    ],
)
def test_language_fast_path_takes_plain_english(text: str) -> None:
    assert _plainly_english(_letters_only(text))


@pytest.mark.parametrize(
    "text",
    [
        "Mi pedido de Halden no llega y nadie me responde",  # ASCII Spanish
        "Ik wil mijn abonnement opzeggen, de app werkt niet",  # ASCII Dutch
        "Pesanan saya belum sampai juga",  # no English function words
        "Meine Bestellung ist noch nicht da, what is going on?",  # mixed: lingua decides
        "Hub offline again",  # too few function words to be sure
        "Mon colis n'est toujours pas arrivé",
    ],
)
def test_language_fast_path_leaves_the_rest_to_lingua(text: str) -> None:
    assert not _plainly_english(_letters_only(text))


def test_language_lingua_on_team_written_posts() -> None:
    with EVAL.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    posts = [make_post(row["text"], post_id=f"x:{i}") for i, row in enumerate(rows)]
    labels = LinguaLanguage().predict(posts, [{} for _ in posts])
    wrong = [
        (row["text"], row["language"], label.label)
        for row, label in zip(rows, labels, strict=True)
        if label.label != row["language"]
    ]
    assert len({row["language"] for row in rows}) >= 20
    assert len(wrong) <= len(rows) * 0.03, wrong
