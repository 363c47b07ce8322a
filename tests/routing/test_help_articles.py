"""Help articles: loading with clear errors, and the best article for a question by
similarity. The questions below were written for this test, in customers' own words; none
is copied from the samples or from the articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import RoutingConfigError
from routing import ArticleMatcher, load_articles
from tests.conftest import ROOT

ARTICLES = load_articles(ROOT / "config" / "help_articles.yaml")
MATCHER = ArticleMatcher(ARTICLES)


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("how do I factory reset the hub, it's totally unresponsive", "reset-hub"),
        ("Aura Mini keeps saying device not found when I try to add it", "pair-device"),
        ("my camera shows nothing but a grey blur at night", "cam-night-vision"),
        ("is there a way to stop the speaker volume dropping every evening?", "speaker-volume"),
        ("firmware update has been stuck for an hour, do I unplug it?", "firmware-update"),
        ("how long should the doorbell battery last between charges?", "doorbell-battery"),
        ("can't sign in, the verification code never arrives", "app-login"),
        ("how do I set a different heating schedule for weekends", "thermostat-schedule"),
        ("my energy report says zero kwh all week", "energy-report"),
        ("where is my parcel? ordered last week and no tracking", "track-order"),
        ("how do I send back the speaker and get my money back", "returns-refunds"),
        ("is the thermostat still under warranty after 18 months", "warranty"),
        ("how do I cancel my Halden+ subscription", "subscription-billing"),
        ("signal doesn't reach the garage, can I add a second hub?", "multiple-hubs"),
        ("devices keep going offline, is it my wifi router?", "wifi-offline"),
        ("does the doorbell need a chime or can a speaker ring?", "doorbell-battery"),
        ("should the thermostat go in the hallway or near a window", "thermostat-placement"),
        ("how far away does the cam detect motion", "cam-night-vision"),
        (
            "I was charged for my subscription twice, where do I see invoices?",
            "subscription-billing",
        ),
        ("the app logged me out and my password doesn't work", "app-login"),
    ],
)
def test_help_articles_best_match(question: str, article: str) -> None:
    match = MATCHER.best(question)
    assert match is not None, question
    assert match.article.id == article
    assert 0.15 <= match.score <= 1


@pytest.mark.parametrize(
    "text",
    [
        "Love my new Halden setup, best purchase this year!",
        "What is the meaning of life, the universe and everything?",
        "Great match last night, what a goal",
        "lol",
    ],
)
def test_help_articles_no_match_for_off_topic_posts(text: str) -> None:
    assert MATCHER.best(text) is None


def test_help_articles_rank_is_ordered_and_bounded() -> None:
    ranked = MATCHER.rank("reset the hub after a stuck firmware update", top=3)
    assert len(ranked) == 3
    scores = [m.score for m in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)
    assert {ranked[0].article.id, ranked[1].article.id} == {"reset-hub", "firmware-update"}


def test_help_articles_every_article_matches_its_own_title() -> None:
    for article in ARTICLES:
        match = MATCHER.best(article.title)
        assert match is not None and match.article.id == article.id, article.title


def test_help_articles_matcher_without_articles_matches_nothing() -> None:
    assert ArticleMatcher([]).best("reset my hub") is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{a: 1}", "expected a list of articles"),
        ("- just text", "article 1: expected a mapping"),
        ("- {id: a, title: T}", "article 'a': url must be a non-empty string"),
        ("- {id: a, title: T, url: u}\n- {id: a, title: U, url: v}", "article 'a': duplicate id"),
        ("- {id: a, title: T, url: u, body: x}", "article 'a': unknown keys ['body']"),
        ("- {id: a, title: T, url: u, keywords: x}", "keywords must be a list of strings"),
    ],
)
def test_help_articles_load_errors_name_file_and_entry(
    tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "articles.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(RoutingConfigError) as caught:
        load_articles(path)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value)


def test_help_articles_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RoutingConfigError, match="help articles file not found"):
        load_articles(tmp_path / "nope.yaml")
